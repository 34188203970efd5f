"""Serve MathJax from the built book itself, so that formulas render with no network.

Sphinx loads MathJax from a CDN by default; offline, every formula then shows as raw TeX.
The course's copy of MathJax comes from the PyPI package ``django-static-mathjax`` (pinned
in ``requirements.txt``; it ships MathJax 3 as plain files and needs no Django). This
extension checks that the installed copy is the expected release (version and SHA-256 of
the entry script), insists that ``mathjax_path`` in ``_config.yml`` points at the local copy,
and copies the files MathJax needs into ``_static/mathjax/`` of the HTML output.

The MathJax configuration stays the one Jupyter Book sets up (``$...$`` and ``$$...$$`` from
MyST's ``dollarmath``, ``amsmath`` environments): only the script's location changes.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from sphinx.errors import ExtensionError

VERSION = "3.2.2"
ENTRY = "tex-mml-chtml.js"  # the combined component Sphinx's default URL names too
ENTRY_SHA256 = "8aacaa13814e2dd77de7b5f10a7c0cda3a0bcd0af3a2129f8aa7a794f607fd55"
TARGET = "mathjax"  # folder under _static/
MATHJAX_PATH = f"{TARGET}/{ENTRY}"  # Sphinx reads a relative mathjax_path as relative to _static/
PACKAGE = "django-static-mathjax==3.2.2.1"
# What MathJax loads besides the entry script: TeX extensions on demand (input/), the CHTML
# fonts (output/chtml/), the menu, accessibility and speech components (ui/, a11y/, sre/).
FOLDERS = ("input", "output/chtml", "ui", "a11y", "sre", "adaptors")


def source() -> Path:
    """The ``es5`` folder of the installed MathJax, after checking it is the expected release."""
    hint = f"install the course's requirements (`pip install -r requirements.txt`, which has {PACKAGE})"
    try:
        import mathjax  # the import name of django-static-mathjax
    except ImportError as err:
        raise ExtensionError(f"MathJax for the offline book is missing: {hint}") from err
    root = Path(mathjax.__file__).resolve().parent / "static" / "mathjax"
    es5 = root / "es5"
    try:
        version = json.loads((root / "package.json").read_text())["version"]
        digest = hashlib.sha256((es5 / ENTRY).read_bytes()).hexdigest()
    except (OSError, ValueError, KeyError) as err:
        raise ExtensionError(f"MathJax under {root} is incomplete ({err}): {hint}") from err
    if version != VERSION or digest != ENTRY_SHA256:
        raise ExtensionError(
            f"MathJax under {root} is version {version} with {ENTRY} sha256 {digest}; the book expects "
            f"{VERSION} with sha256 {ENTRY_SHA256}: {hint}, or update VERSION and ENTRY_SHA256 in {__file__}")
    return es5


def files(es5: Path) -> list[Path]:
    """The files to publish, relative to ``es5``: the entry script, the folders MathJax loads from, the licence."""
    picked = [Path(ENTRY)]
    for folder in FOLDERS:
        picked += sorted(p.relative_to(es5) for p in (es5 / folder).rglob("*") if p.is_file())
    return picked


def _check_config(app, config) -> None:
    if config.mathjax_path != MATHJAX_PATH:
        raise ExtensionError(
            f"mathjax_path is {config.mathjax_path!r}: set it to {MATHJAX_PATH!r} under sphinx: config: in "
            "_config.yml, so that the book's formulas render without network")


def _copy(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    es5 = source()
    target = Path(app.outdir) / "_static" / TARGET
    for rel in files(es5):
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(es5 / rel, target / rel)
    shutil.copyfile(es5.parent / "LICENSE", target / "LICENSE")


def setup(app):
    source()  # fail at once, before any page is rendered, when MathJax is not installed
    app.connect("config-inited", _check_config)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
