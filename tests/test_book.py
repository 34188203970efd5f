"""The whole book, built in smoke mode, and looked at in a real (headless) browser.

The book is built once per test session (``smoke_book`` in conftest.py). To check a book that is
already built instead, point ``SEQLIB_BOOK_DIR`` at the build's output folder (the one holding
``html/`` and ``results.json``, e.g. ``tools/build.py --smoke --out /tmp/smokebook``):

    SEQLIB_BOOK_DIR=/tmp/smokebook .venv/bin/python -m pytest tests/test_book.py

The browser checks run with the network blocked (every host name but the local server's
resolves to nothing), at a 1280 px wide window, as an offline reader meets the book.
"""

from __future__ import annotations

import json
import os
import re
import struct
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tools import screenshots
from tools.course import repository_url, toc_labs

pytestmark = pytest.mark.book
LABS = [p.stem for p in toc_labs()]
LAB_PAGES = [f"labs/{lab}.html" for lab in LABS]


@pytest.fixture(scope="module")
def book(request):
    """The built book: ``SEQLIB_BOOK_DIR`` when set, else the session's smoke build."""
    folder = os.environ.get("SEQLIB_BOOK_DIR")
    if not folder:
        return request.getfixturevalue("smoke_book")
    out = Path(folder).resolve()
    if not (out / "html" / "index.html").exists():
        pytest.fail(f"SEQLIB_BOOK_DIR={folder} holds no built book (no html/index.html)")
    results = out / "results.json"
    return {"out": out, "html": out / "html", "returncode": None, "log": "(built before the tests)",
            "results": json.loads(results.read_text()) if results.exists() else None}


def test_the_build_succeeds_with_every_lab_executed(book):
    """The session's smoke build, or the book ``SEQLIB_BOOK_DIR`` names (a full ``make book`` too)."""
    if book["returncode"] is not None:  # None: a book built before the tests (SEQLIB_BOOK_DIR)
        assert book["returncode"] == 0, book["log"][-4000:]
    results = book["results"]
    assert results["mode"] == "smoke" if book["returncode"] is not None else results["mode"] in ("smoke", "full")
    assert list(results["labs"]) == LABS
    for name, lab in results["labs"].items():
        assert lab["status"] == "ok", f"{name}: {lab.get('error')}"
        assert lab["seconds"] > 0 and lab["results"], f"{name} recorded no results"


def test_every_page_and_the_timing_table_are_rendered(book):
    html = book["html"]
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
def test_the_model_solutions_pass_every_check(book, lab):
    """In the executed master, each solution region ends with its check: it printed ✅ and no ❌
    (the students' editions keep the stubs, which raise NotImplementedError until filled)."""
    import nbformat

    from tools.editions import CODE_REGION

    ran = nbformat.read(book["out"] / "executed" / f"{lab}.ipynb", as_version=4)
    solutions = [c for c in ran.cells if c.cell_type == "code" and CODE_REGION.search(c.source)]
    if not solutions:
        pytest.skip(f"{lab} has no code exercise")
    for cell in solutions:
        printed = "".join(o.get("text", "") for o in cell.outputs if o.get("output_type") == "stream")
        assert "✅" in printed and "❌" not in printed, f"{lab}: {cell.source[:60]!r} printed {printed[:300]!r}"


@pytest.mark.parametrize("lab", LABS)
def test_lab_page_has_its_figures_and_a_colab_link(book, lab):
    html = book["html"]
    page = (html / "labs" / f"{lab}.html").read_text()
    images = re.findall(r'<img[^>]+src="([^"]+)"', page)
    assert any("_images/" in src for src in images), "no figure rendered"
    for src in images:
        if not src.startswith(("http", "data:")):
            assert (html / "labs" / src).resolve().exists(), f"missing image {src}"
    colab = (f"https://colab.research.google.com/github/{urlparse(repository_url()).path.strip('/')}"
             f"/blob/main/editions/student/{lab}.ipynb")
    assert colab in page
    assert f'href="../editions/student/{lab}.ipynb"' in page, "the download button should give the students' edition"
    edition = (html / "editions" / "student" / f"{lab}.ipynb").read_text()
    assert "BEGIN SOLUTION" not in edition and "model-answer" not in edition
    assert "_sources/labs/" not in page, "a button still offers the master (with its solutions)"
    assert 'class="output traceback' not in page, "the executed lab shows an error output"


def test_math_is_served_by_the_book_itself(book):
    """Issue 12, item 6: MathJax is part of the built site (formulas render with no network)."""
    html = book["html"]
    assert (html / "_static" / "mathjax" / "tex-mml-chtml.js").exists()
    assert (html / "_static" / "mathjax" / "output" / "chtml" / "fonts" / "woff-v2").is_dir()
    for path in LAB_PAGES:
        page = (html / path).read_text()
        sources = re.findall(r'<script[^>]+src="([^"]*mathjax[^"]*)"', page, flags=re.I)
        assert sources, f"{path} loads no MathJax"
        assert all(src.startswith("../_static/mathjax/") for src in sources), f"{path}: {sources}"


def test_bibliography_labels_match_the_author_year_citations(book):
    """Issue 12, item 5: the text cites "[Elman, 1990]", so the bibliography lists [Elman, 1990], not [Elm90]."""
    html = book["html"]
    refs = (html / "book" / "references.html").read_text()
    labels = {_text(m) for m in re.findall(r'<span class="label"><span class="fn-bracket">\[</span>(.*?)'
                                           r'<span class="fn-bracket">\]</span></span>', refs, flags=re.S)}
    assert labels, "the bibliography lists no labelled entries"
    assert all(re.fullmatch(r"\D+, \d{4}[a-z]?", label) for label in labels), sorted(labels)
    cited = set()
    for path in LAB_PAGES + ["index.html"]:
        page = (html / path).read_text()
        for link in re.findall(r'<a class="reference internal" href="[^"]*references\.html#id\d+"[^>]*>(.*?)</a>',
                               page, flags=re.S):
            cited.add(_text(link))
    assert cited, "no citations found in the lab pages"
    assert cited <= labels, f"citations with no bibliography label of the same text: {sorted(cited - labels)}"


def _text(fragment: str) -> str:
    import html as html_lib

    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", "", fragment)).split())


# --- the browser checks ------------------------------------------------------------------------

def _chromium():
    found = screenshots.find_chromium()
    if found:
        return found
    message = ("headless Chromium is not installed (Debian: apt-get install chromium chromium-driver; "
               "`make test` installs them when it runs as root)")
    if os.environ.get("CI") == "true":
        pytest.fail(message + ": under CI the browser test must run")
    pytest.skip(message)


@pytest.fixture(scope="module")
def site(book):
    """Serve the built HTML on 127.0.0.1 for the browser."""
    with screenshots.serve(book["html"]) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, 1280 px wide, with every host but the local server unreachable (offline)."""
    _chromium()
    drv = screenshots.start_browser(screenshots.WIDTH)
    yield drv
    drv.quit()


def _own_console_errors(logs, site):
    """Console errors of the book itself.

    The browser is offline: it cannot reach the CDNs that the theme and myst-nb load require.js
    and the widget manager from. A failed load of an *external* resource is reported by the
    network layer ("net::ERR_...") and is not an error of the book. Everything else counts.
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
@pytest.mark.parametrize("path", ["book/index.html", "book/results.html"] + LAB_PAGES)
def test_page_loads_without_console_errors_and_every_image_loads(browser, site, path):
    screenshots.open_page(browser, f"{site}/{path}")
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
    assert f"https://colab.research.google.com/github/{repo}/blob/main/editions/student/{lab}.ipynb" in links, links


# Math: every formula element typeset, no MathJax error, no raw TeX left in the text of the page
# (code, scripts and typeset formulas aside; hidden solutions and model answers included).
_MATH = r"""
const maths = Array.from(document.querySelectorAll('span.math, div.math'));
const skip = new Set(['PRE', 'CODE', 'SCRIPT', 'STYLE', 'TEXTAREA', 'NOSCRIPT', 'MJX-CONTAINER']);
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {acceptNode(n) {
  for (let e = n.parentElement; e; e = e.parentElement) if (skip.has(e.tagName)) return NodeFilter.FILTER_REJECT;
  return NodeFilter.FILTER_ACCEPT; }});
const texts = [];
while (walker.nextNode()) texts.push(walker.currentNode.nodeValue);
return {
  formulas: maths.length,
  typeset: document.querySelectorAll('mjx-container').length,
  untypeset: maths.filter(m => !m.querySelector('mjx-container')).map(m => m.textContent.trim().slice(0, 80)),
  errors: Array.from(document.querySelectorAll('mjx-merror')).map(
      e => (e.getAttribute('data-mjx-error') || e.textContent).slice(0, 80)),
  text: texts.join(' '),
  scripts: Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s)),
};
"""
# Raw TeX in running text: \( \) \[ \] delimiters, $$, \begin{...}, or $...$ holding a TeX character.
RAW_TEX = re.compile(r"\\\(|\\\[|\$\$|\\begin\{|\$[^$\n]{0,80}?[\\^_{][^$\n]{0,80}?\$")


def _math(browser) -> dict:
    """What the page open in ``browser`` shows of its formulas; ``raw``: snippets of raw TeX in its text."""
    found = browser.execute_script(_MATH)
    found["raw"] = [found["text"][max(0, m.start() - 40): m.end() + 40] for m in RAW_TEX.finditer(found["text"])]
    return found


@pytest.mark.browser
@pytest.mark.parametrize("path", LAB_PAGES)
def test_math_is_typeset_offline(browser, site, path):
    """Issue 12, item 6 (ASSERTION: math). With no network, MathJax (served by the book) typesets every
    formula: MathJax output for each formula element, no MathJax error, no raw TeX left in the text."""
    state = screenshots.open_page(browser, f"{site}/{path}")
    found = _math(browser)
    assert found["scripts"] and all(s.startswith(site) for s in found["scripts"]), \
        f"MathJax must come from the book itself: {found['scripts']}"
    assert state == "typeset", f"{path}: MathJax {state}"
    assert found["formulas"] > 0 and found["typeset"] >= found["formulas"], found
    assert found["untypeset"] == [], f"{path}: formulas left as raw TeX: {found['untypeset'][:10]}"
    assert found["errors"] == [], f"{path}: MathJax could not typeset: {found['errors'][:10]}"
    assert found["raw"] == [], f"{path}: raw TeX in the page's text: {found['raw'][:10]}"


def _png_dpi(path: Path, default: float = 100.0) -> float:
    """Pixels per inch stored in a PNG's pHYs chunk (Matplotlib writes the figure's dpi), else ``default``."""
    try:
        data = path.read_bytes()
    except OSError:
        return default
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos: pos + 8])
        if kind == b"pHYs" and length == 9:
            x, _, unit = struct.unpack(">IIB", data[pos + 8: pos + 17])
            return x * 0.0254 if unit == 1 and x else default
        if kind in (b"IDAT", b"IEND"):
            break
        pos += 12 + length
    return default


_FIGURES = """
return Array.from(document.images).filter(i => /_images\\//.test(i.getAttribute('src') || '')).map(i => {
  const r = i.getBoundingClientRect();
  return {src: i.getAttribute('src'), url: i.currentSrc || i.src, natural: i.naturalWidth, shown: r.width,
          visible: !!i.offsetParent && r.width > 0 && getComputedStyle(i).visibility !== 'hidden'};
});
"""
MIN_PX_PER_INCH = 60


@pytest.mark.browser
@pytest.mark.parametrize("path", LAB_PAGES)
def test_figures_are_shown_large_enough_to_read(browser, site, book, path):
    """Issue 12, item 2 (ASSERTION: figure scale). At a 1280 px window every visible figure is shown at
    >= 60 px per inch of its width (Matplotlib draws fonts in points: 9 pt tick labels at 60 px/in are
    7.5 px tall). A figure wider than the text column is shrunk to fit it and fails here."""
    screenshots.open_page(browser, f"{site}/{path}")
    small = _small_figures(browser, lambda url: book["html"] / unquote(urlparse(url).path).lstrip("/"))
    assert small == [], f"{path}: figures shown at under {MIN_PX_PER_INCH} px per inch:\n  " + "\n  ".join(small)


def _small_figures(browser, local_file) -> list[str]:
    """The visible figures of the open page shown at under MIN_PX_PER_INCH; ``local_file(url)`` is the PNG's path."""
    small = []
    for img in browser.execute_script(_FIGURES):
        if not img["visible"] or not img["natural"]:
            continue
        local = local_file(img["url"])
        dpi = _png_dpi(local) if local.suffix.lower() == ".png" else 100.0
        inches = img["natural"] / dpi
        ppi = img["shown"] / inches
        if ppi < MIN_PX_PER_INCH:
            small.append(f"{img['src']}: {inches:.1f} in wide ({img['natural']} px at {dpi:.0f} dpi) shown "
                         f"{img['shown']:.0f} px wide = {ppi:.0f} px/in")
    return small


# Output boxes: a visible text output wider than its box (part of a line hidden behind a scroll bar),
# and a visible output box with nothing in it.
_OUTPUTS = r"""
const visible = e => { const r = e.getBoundingClientRect(); return !!e.offsetParent && r.width > 0 && r.height > 0; };
const longest = t => t.split('\n').reduce((a, b) => b.length > a.length ? b : a, '');
const wide = Array.from(document.querySelectorAll('.cell_output pre')).filter(visible)
  .filter(p => p.scrollWidth > p.clientWidth + 2)
  .map(p => ({overflow: p.scrollWidth - p.clientWidth, width: p.clientWidth, line: longest(p.textContent).slice(0, 120)}));
const outside = t => t.getBoundingClientRect().right - t.closest('.cell_output').getBoundingClientRect().right;
const tables = Array.from(document.querySelectorAll('.cell_output table')).filter(visible)  // columns cut off
  .filter(t => outside(t) > 2)
  .map(t => ({overflow: Math.round(outside(t)), width: Math.round(t.closest('.cell_output').getBoundingClientRect().width),
              line: t.innerText.split('\n')[0].slice(0, 120)}));
wide.push(...tables);
const media = 'img, svg, canvas, video, iframe, table, mjx-container, .jupyter-widgets, .widget-subarea';
const boxes = Array.from(document.querySelectorAll('.cell_output, .cell_output > *')).filter(visible);
const blank = boxes.filter(b => !b.querySelector(media) && !b.matches(media) && b.innerText.trim() === '')
  .filter(b => !b.querySelector('script[type="application/vnd.jupyter.widget-view+json"]'));
const empty = blank.filter(b => !blank.some(o => o !== b && b.contains(o)))  // the innermost empty box
  .map(b => {
    const cell = b.closest('.cell');
    const before = cell && cell.querySelector('.cell_input') ? cell.querySelector('.cell_input').innerText.trim() : '';
    return {box: b.className, height: Math.round(b.getBoundingClientRect().height), cell: before.slice(0, 100)};
  });
return {wide, empty};
"""


@pytest.mark.browser
@pytest.mark.parametrize("path", LAB_PAGES)
def test_no_output_is_wider_than_its_box(browser, site, path):
    """Issue 12, item 3 (ASSERTION: output width). No visible text output has lines cut off at the
    column's edge (its scroll width exceeds its box by more than 2 px), and no table runs past it."""
    screenshots.open_page(browser, f"{site}/{path}")
    wide = browser.execute_script(_OUTPUTS)["wide"]
    assert wide == [], f"{path}: outputs wider than the column:\n  " + "\n  ".join(
        f"{w['overflow']} px too wide (box {w['width']} px): {w['line']!r}" for w in wide)


@pytest.mark.browser
@pytest.mark.parametrize("path", LAB_PAGES)
def test_no_empty_output_box(browser, site, path):
    """Issue 12, item 3 (ASSERTION: empty outputs). No visible output box is empty (widget views aside:
    offline they show nothing, and the widget test below checks that each has a static rendering)."""
    screenshots.open_page(browser, f"{site}/{path}")
    empty = browser.execute_script(_OUTPUTS)["empty"]
    assert empty == [], f"{path}: empty output boxes:\n  " + "\n  ".join(
        f"{e['box']} ({e['height']} px) of the cell starting {e['cell']!r}" for e in empty)


# Boxes wider than the article's column (issue 29): display and inline math, tables (Markdown, outputs,
# pandas), figure images and code boxes. Model answers are opened first, so that their math counts.
# A box's layout width counts even where a scroll box or the window cuts it off: that is the problem.
_WIDER_THAN_COLUMN = r"""
document.querySelectorAll('details').forEach(d => { d.open = true; });
const col = document.querySelector('article.bd-article') || document.querySelector('article')
  || document.querySelector('main') || document.body;
const cs = getComputedStyle(col), box = col.getBoundingClientRect();
const right = box.right - parseFloat(cs.paddingRight), width = right - box.left - parseFloat(cs.paddingLeft);
const visible = e => { const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0
  && getComputedStyle(e).visibility !== 'hidden'; };
const tex = m => { try { return MathJax.startup.document.getMathItemsWithin(m)[0].math; }
                   catch (e) { return m.textContent; } };
const found = [];
// inner: the box whose right end counts (the formula itself); scrolls: e is a scroll box whose
// content may run past its own right edge (a display formula's box, a code box)
const check = (kind, e, text, inner, scrolls) => {
  if (!visible(e)) return;
  const r = (inner || e).getBoundingClientRect();
  const over = Math.max(r.right - right, scrolls ? e.scrollWidth - e.clientWidth : 0);
  if (over > 2) found.push({kind, over: Math.round(over), width: Math.round(r.width),
                            text: text.replace(/\s+/g, ' ').trim().slice(0, 100)});
};
col.querySelectorAll('mjx-container').forEach(m => {
  const display = m.getAttribute('display') === 'true';
  check(display ? 'math' : 'inline math', display && m.parentElement.matches('.math') ? m.parentElement : m,
        tex(m), m.querySelector('mjx-math') || m, display);
});
col.querySelectorAll('table').forEach(t => check('table', t, t.innerText.split('\n')[0]));
col.querySelectorAll('img').forEach(i => check('figure', i, i.getAttribute('src') || ''));
col.querySelectorAll('.cell_input pre, div.highlight pre').forEach(p => check('code', p, p.innerText, p, true));
return {column: Math.round(width), wide: found};
"""


@pytest.mark.browser
@pytest.mark.parametrize("path", LAB_PAGES + ["book/results.html"])
def test_nothing_is_wider_than_the_column(browser, site, path):
    """Issue 29 (ASSERTION: nothing cut off). At a 1280 px window no formula, table, figure or code box
    of the page is wider than the article's column (688 px): a wider one scrolls inside its box, and
    on a laptop with overlay scroll bars a reader never sees its right end."""
    screenshots.open_page(browser, f"{site}/{path}")
    found = browser.execute_script(_WIDER_THAN_COLUMN)
    assert found["wide"] == [], f"{path}: wider than the {found['column']} px column:\n  " + "\n  ".join(
        f"{w['kind']}, {w['width']} px wide ({w['over']} px too wide): {w['text']!r}" for w in found["wide"])


_WIDGETS = r"""
const views = Array.from(document.querySelectorAll('script[type="application/vnd.jupyter.widget-view+json"]'));
const note = /\b(Jupyter|Colab)\b/;
return views.map(v => {
  const cell = v.closest('.cell') || v.parentElement;
  const output = v.closest('.cell_output') || cell;
  const before = cell.previousElementSibling;
  const near = [cell, before, cell.nextElementSibling].filter(e => e);
  return {
    code: (cell.querySelector('.cell_input') || cell).innerText.trim().split('\n').slice(-1)[0].slice(0, 100),
    // the default drawn by the widget helper (static=True), or by the lab in the cell just before
    static_figure: !!output.querySelector('img, svg') || !!(before && before.matches('.cell')
                   && before.querySelector('.cell_output img, .cell_output svg')),
    note: near.some(e => note.test(e.innerText || '')),
  };
});
"""


@pytest.mark.browser
@pytest.mark.parametrize("path", LAB_PAGES)
def test_every_widget_has_a_static_rendering_or_a_note(browser, site, path):
    """Issue 12, item 6: offline (and in the static book generally) no Python runs behind a slider, so
    each widget's cell (or the cell just before it) shows a static figure, or a note beside it says the
    control works in Jupyter/Colab."""
    screenshots.open_page(browser, f"{site}/{path}")
    bare = [w["code"] for w in browser.execute_script(_WIDGETS) if not (w["static_figure"] or w["note"])]
    assert bare == [], f"{path}: widgets with neither a static rendering nor a note: {bare}"


@pytest.mark.browser
def test_the_page_checks_catch_what_they_look_for(browser, tmp_path):
    """The checks above on a page made to fail each of them, so that they cannot pass by finding nothing."""
    from PIL import Image

    (tmp_path / "_images").mkdir()
    Image.new("RGB", (1000, 200), "white").save(tmp_path / "_images" / "wide.png", dpi=(100, 100))  # 10 in
    Image.new("RGB", (500, 200), "white").save(tmp_path / "_images" / "fine.png", dpi=(100, 100))  # 5 in
    long_line = "x" * 200
    (tmp_path / "page.html").write_text(f"""<!DOCTYPE html><html><head><title>t</title></head><body>
<div style="width: 400px">
<p>Inline <span class="math notranslate nohighlight">\\(x^2\\)</span> and raw $h_t$ and $$y$$.</p>
<div class="cell"><div class="cell_input"><pre>print("too long")</pre></div>
 <div class="cell_output"><div class="output stream"><pre style="overflow-x: auto">{long_line}</pre></div></div></div>
<div class="cell"><div class="cell_input"><pre>nothing()</pre></div>
 <div class="cell_output"><div class="output text_plain" style="height: 20px; border: 1px solid"></div></div></div>
<div class="cell"><div class="cell_output"><img src="_images/wide.png" style="width: 100%">
 <img src="_images/fine.png" style="width: 100%"></div></div>
<div class="cell"><div class="cell_output"><pre>short</pre></div></div>
<div class="cell"><div class="cell_output"><table><tr><td>{long_line}</td></tr></table></div></div>
</div>
<article class="bd-article" style="width: 400px; padding: 0 10px">
<div class="math" style="overflow-x: auto"><mjx-container display="true" style="display: block">
 <mjx-math style="display: inline-block; width: 600px">x</mjx-math></mjx-container></div>
<p>fits: <mjx-container><mjx-math style="display: inline-block; width: 50px">y</mjx-math></mjx-container></p>
<table><tr><td style="white-space: nowrap">wide table {long_line}</td></tr></table>
<table><tr><td>narrow table</td></tr></table>
<img src="_images/fine.png" style="width: 450px">
<div class="highlight"><pre style="overflow-x: auto">code {long_line}</pre></div>
<div class="highlight"><pre>short code</pre></div>
</article></body></html>""")
    browser.get((tmp_path / "page.html").as_uri())
    screenshots.settle(browser)
    found = _math(browser)
    assert found["untypeset"] == ["\\(x^2\\)"] and found["typeset"] == 2  # the column check's two below
    assert any("$h_t$" in r for r in found["raw"]) and any("$$y$$" in r for r in found["raw"])
    small = _small_figures(browser, lambda url: tmp_path / "_images" / Path(unquote(urlparse(url).path)).name)
    assert len(small) == 1 and "wide.png: 10.0 in wide" in small[0] and "40 px/in" in small[0], small
    outputs = browser.execute_script(_OUTPUTS)
    assert [w["line"][:10] for w in outputs["wide"]] == ["x" * 10, "x" * 10]   # the text output and the table
    assert [e["cell"] for e in outputs["empty"]] == ["nothing()"]
    wide = browser.execute_script(_WIDER_THAN_COLUMN)
    assert wide["column"] == 400, wide
    assert [(w["kind"], w["text"][:10]) for w in wide["wide"]] == [
        ("math", "x"), ("table", "wide table"), ("figure", "_images/fi"), ("code", "code xxxxx")], wide
