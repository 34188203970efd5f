#!/usr/bin/env python
"""Screenshots of the built book's lab pages and results page, viewport by viewport, as a reader sees them.

    python tools/screenshots.py _build/html /tmp/shots            # every lab page + the results page
    python tools/screenshots.py _build/html /tmp/shots --pages labs/day03_time_machine.html
    python tools/screenshots.py _build/html /tmp/shots --width 1280 --height 900

Serves the built HTML on 127.0.0.1, opens each page in headless Chromium in a 1280 x 900 window
with the network to anything but this machine blocked (so the shots show what an offline reader
gets: the book's own MathJax, no CDN), waits until MathJax has typeset the page and every image
has loaded, then scrolls down the page one window at a time (consecutive shots overlap by
``--overlap`` px, 100 by default) and saves what the window shows each time:
``<out>/<page>/001.png``, ``002.png``, ... Each shot is a real viewport (sticky header included),
not a piece of a page rendered beyond the window, so what lies where is what a reader sees.

Needs ``chromium`` and ``chromedriver`` (Debian: ``apt-get install chromium chromium-driver``;
``make browser`` installs them where it can) and selenium (in requirements.txt). The browser
test (``tests/test_book.py``) uses the same helpers.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import functools
import http.server
import shutil
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WIDTH = 1280  # px: the window the book's pages are checked and shot at
HEIGHT = 900   # px: the window's height for screenshots (a laptop's screen)
# Every host name resolves to nothing except the local server's: CDNs are unreachable, as offline.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"


def find_chromium() -> tuple[str, str] | None:
    """Paths of Chromium and chromedriver, or None when either is missing."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@contextlib.contextmanager
def serve(html: Path):
    """Serve the folder ``html`` on 127.0.0.1 (a free port); yield its base URL."""
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def start_browser(width: int = WIDTH, height: int = 2000, offline: bool = True):
    """Headless Chromium (selenium) with a viewport exactly ``width`` CSS px wide at 1 device px per px."""
    found = find_chromium()
    if not found:
        raise RuntimeError("headless Chromium is not installed (Debian: apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = found[0]
    flags = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", "--hide-scrollbars", f"--window-size={width},{height}"]
    for flag in flags + ([OFFLINE] if offline else []):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(service=Service(found[1]), options=opts)
    drv.set_page_load_timeout(60)
    drv.set_script_timeout(60)
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False})
    return drv


# Resolves once MathJax has typeset the page (or at once when the page loads no MathJax), after every
# image has been loaded (lazy ones included) and the web fonts are ready.
_SETTLE = """
const done = arguments[arguments.length - 1];
const imgs = Array.from(document.images);
imgs.forEach(i => { i.loading = 'eager'; });
const images = Promise.all(imgs.map(i => i.decode().catch(() => null)));
const mj = window.MathJax;
const math = (mj && mj.startup && mj.startup.promise) ? mj.startup.promise.then(() => 'typeset', e => 'failed: ' + e)
  : Promise.resolve(document.querySelector('span.math, div.math') ? 'MathJax did not load' : 'no math');
Promise.all([images, math, document.fonts.ready]).then(([_, m]) => done(m), e => done('error: ' + e));
"""


def settle(drv) -> str:
    """Wait for MathJax, images and fonts of the page open in ``drv``; return MathJax's state:
    ``typeset``, ``no math``, ``MathJax did not load`` or ``failed: ...``."""
    return drv.execute_async_script(_SETTLE)


def open_page(drv, url: str) -> str:
    """Load ``url`` and :func:`settle` it."""
    drv.get(url)
    return settle(drv)


def viewport_pngs(drv, overlap: int = 100):
    """PNGs of the page open in ``drv``, one per window's height from the top to the bottom of the
    page; consecutive shots overlap by ``overlap`` px (the last one ends at the page's bottom)."""
    height = int(drv.execute_script("return window.innerHeight;"))
    total = int(drv.execute_script(
        "return Math.ceil(Math.max(document.documentElement.scrollHeight, document.body.scrollHeight));"))
    step = max(height - overlap, 1)
    tops = list(range(0, max(total - height, 0) + 1, step))
    if tops[-1] < total - height:
        tops.append(total - height)
    for top in tops:
        drv.execute_script("window.scrollTo(0, arguments[0]);", top)
        drv.execute_async_script("const done = arguments[arguments.length - 1];"
                                 "requestAnimationFrame(() => requestAnimationFrame(() => done()));")
        shot = drv.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
        yield base64.b64decode(shot["data"])


def default_pages(html: Path) -> list[str]:
    """Every lab page of the built book (in book order) and the results page, relative to ``html``."""
    from tools.course import toc_labs

    pages = [f"labs/{lab.stem}.html" for lab in toc_labs()]
    return [p for p in pages if (html / p).exists()] + ["book/results.html"]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("html", type=Path, help="the built book's HTML folder (e.g. _build/html)")
    ap.add_argument("out", type=Path, help="folder for the PNG files (created)")
    ap.add_argument("--width", type=int, default=WIDTH, help=f"window width in CSS px (default {WIDTH})")
    ap.add_argument("--height", type=int, default=HEIGHT, help=f"window height in CSS px (default {HEIGHT})")
    ap.add_argument("--overlap", type=int, default=100, help="px shown again at the top of the next shot")
    ap.add_argument("--pages", nargs="*", help="pages relative to the HTML folder (default: labs and results)")
    ap.add_argument("--online", action="store_true", help="do not block the network (CDNs reachable)")
    args = ap.parse_args(argv)
    html = args.html.resolve()
    if not (html / "index.html").exists():
        print(f"{html} holds no built book (no index.html): build it first (tools/build.py)", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    pages = args.pages or default_pages(html)
    drv = start_browser(args.width, args.height, offline=not args.online)
    try:
        with serve(html) as site:
            for page in pages:
                state = open_page(drv, f"{site}/{page}")
                folder = args.out / page.replace("/", "_").removesuffix(".html")
                folder.mkdir(exist_ok=True)
                for old in folder.glob("[0-9][0-9][0-9].png"):
                    old.unlink()
                n = 0
                for n, png in enumerate(viewport_pngs(drv, args.overlap), 1):
                    (folder / f"{n:03d}.png").write_bytes(png)
                print(f"{folder}/  {n} shots ({page}: math {state})", flush=True)
    finally:
        drv.quit()
    return 0


if __name__ == "__main__":
    sys.exit(main())
