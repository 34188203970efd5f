"""The whole book, built in smoke mode, and looked at in a real (headless) browser."""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tools.course import repository_url, toc_labs

pytestmark = pytest.mark.book
LABS = [p.stem for p in toc_labs()]


def test_smoke_build_succeeds_with_every_lab_executed(smoke_book):
    assert smoke_book["returncode"] == 0, smoke_book["log"][-4000:]
    results = smoke_book["results"]
    assert results["mode"] == "smoke"
    assert list(results["labs"]) == LABS
    for name, lab in results["labs"].items():
        assert lab["status"] == "ok", f"{name}: {lab.get('error')}"
        assert lab["seconds"] > 0 and lab["results"], f"{name} recorded no results"


def test_every_page_and_the_timing_table_are_rendered(smoke_book):
    html = smoke_book["html"]
    assert (html / "index.html").exists()
    for name in LABS:
        assert (html / "labs" / f"{name}.html").exists()
    for page in ("setup", "instructors", "results", "references"):
        assert (html / "book" / f"{page}.html").exists()
    assert (html / "timings.json").exists()
    results_page = (html / "book" / "results.html").read_text()
    for name in LABS:
        assert name in results_page


@pytest.mark.parametrize("lab", LABS)
def test_lab_page_has_its_figures_and_a_colab_link(smoke_book, lab):
    html = smoke_book["html"]
    page = (html / "labs" / f"{lab}.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    assert any("_images/" in src for src in images), "no figure rendered"
    for src in images:
        if not src.startswith(("http", "data:")):
            assert (html / "labs" / src).resolve().exists(), f"missing image {src}"
    colab = f"https://colab.research.google.com/github/{urlparse(repository_url()).path.strip('/')}/blob/main/labs/{lab}.ipynb"
    assert colab in page
    assert 'class="output traceback' not in page, "the executed lab shows an error output"


# --- the browser check -----------------------------------------------------------------------

def _chromium():
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if browser and driver:
        return browser, driver
    message = ("headless Chromium is not installed (Debian: apt-get install chromium chromium-driver; "
               "`make test` installs them when it runs as root)")
    if os.environ.get("CI") == "true":
        pytest.fail(message + ": under CI the browser test must run")
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(smoke_book):
    """Serve the built HTML on 127.0.0.1 for the browser."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(smoke_book["html"]))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = _chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,2000"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(driver_path), options=opts)
    drv.set_page_load_timeout(60)
    yield drv
    drv.quit()


def _own_console_errors(logs, site):
    """Console errors of the book itself.

    Offline test machines cannot reach the CDNs the theme loads MathJax and the widget
    manager from; a failed load of an *external* resource is reported by the network layer
    ("net::ERR_...") and is not an error of the book. Everything else counts.
    """
    errors, offline = [], []
    for entry in logs:
        if entry["level"] != "SEVERE":
            continue
        msg = entry["message"]
        url = msg.split(" ", 1)[0]
        if "net::ERR_" in msg and url.startswith("http") and not url.startswith(site):
            offline.append(url)
        else:
            errors.append(msg)
    return errors, offline


@pytest.mark.browser
@pytest.mark.parametrize("path", ["book/index.html"] + [f"labs/{lab}.html" for lab in LABS])
def test_page_loads_without_console_errors_and_every_image_loads(browser, site, path):
    browser.get(f"{site}/{path}")
    browser.execute_script("window.scrollTo(0, document.body.scrollHeight);")  # lazy images
    broken = browser.execute_script(
        "return Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src);"
    )
    assert broken == [], f"images that did not load on {path}: {broken}"
    errors, offline = _own_console_errors(browser.get_log("browser"), site)
    assert errors == [], f"console errors on {path}: {errors}"
    if offline:
        print(f"{path}: external resources unreachable offline (not counted): {sorted(set(offline))}")
    title = browser.title
    assert title and "404" not in title


@pytest.mark.browser
@pytest.mark.parametrize("lab", LABS)
def test_colab_launch_link_points_at_the_lab_notebook(browser, site, lab):
    browser.get(f"{site}/labs/{lab}.html")
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a')).map(a => a.href).filter(h => h.includes('colab'));"
    )
    repo = urlparse(repository_url()).path.strip("/")
    assert f"https://colab.research.google.com/github/{repo}/blob/main/labs/{lab}.ipynb" in links, links
