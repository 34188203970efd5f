#!/usr/bin/env python
"""Normalise the lab notebooks for git (nbstripout does the stripping).

    python tools/normalize.py            # strip every lab in place
    python tools/normalize.py --refresh  # re-execute (smoke mode), refresh reference outputs, strip
    python tools/normalize.py --check    # list labs that are not normalised; exit 1 if any

A normalised lab keeps outputs and execution counts only in the cells tagged
``nbval-check-output`` (their reference outputs, which nbval compares); every other
cell has no output and no execution count; notebook and cell metadata written by
tools (widget state, papermill, timings) is removed, tags are kept; the install cell
installs ``seqlib`` from the repository URL of ``_config.yml``.
"""

from __future__ import annotations

import argparse
import copy
import os
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
from nbstripout import strip_output  # noqa: E402

from tools.course import is_checked, lab_notebooks, repository_url  # noqa: E402

EXTRA_KEYS = [
    "metadata.signature", "metadata.widgets", "metadata.papermill", "metadata.language_info",
    "metadata.colab", "metadata.accelerator",
    "cell.metadata.collapsed", "cell.metadata.scrolled", "cell.metadata.ExecuteTime",
    "cell.metadata.execution", "cell.metadata.papermill", "cell.metadata.heading_collapsed",
    "cell.metadata.hidden", "cell.metadata.outputId", "cell.metadata.colab",
]
INSTALL = re.compile(r'"seqlib @ git\+[^"]*"')


def normalize(nb):
    """Return a normalised copy of ``nb`` (an nbformat notebook)."""
    nb = copy.deepcopy(nb)
    kept = {}
    for i, cell in enumerate(nb.cells):
        if is_checked(cell):
            cell.metadata["keep_output"] = True  # nbstripout's per-cell switch
            kept[i] = cell.get("execution_count")
    strip_output(nb, keep_output=False, keep_count=False, keep_id=True, extra_keys=EXTRA_KEYS)
    url = repository_url()
    for i, cell in enumerate(nb.cells):
        cell.metadata.pop("keep_output", None)
        if i in kept:
            cell.execution_count = kept[i]
        if cell.cell_type == "code" and INSTALL.search(cell.source):
            cell.source = INSTALL.sub(f'"seqlib @ git+{url}"', cell.source)
    return nb


def text(nb) -> str:
    return nbformat.writes(nb) + "\n"


def refresh(path: Path):
    """Execute ``path`` in smoke mode and return it with the marked cells' new outputs."""
    from tools.execute import run_lab

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / path.name
        entry = run_lab(path, out, smoke=True, timeout=300, env={"TQDM_DISABLE": "1"})
        if entry["status"] != "ok":
            raise RuntimeError(f"{path.name} failed in smoke mode: {entry['error']}")
        ran = nbformat.read(out, as_version=4)
    if len(ran.cells) != len(nb.cells):
        raise RuntimeError(f"{path}: executed copy has {len(ran.cells)} cells, source {len(nb.cells)}")
    for cell, done in zip(nb.cells, ran.cells):
        if is_checked(cell):
            cell.outputs = done.outputs
            cell.execution_count = done.execution_count
    return nb


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("labs", nargs="*", type=Path, help="notebooks (default: every lab in labs/)")
    mode = ap.add_mutually_exclusive_group()
    mode.add_argument("--check", action="store_true", help="only report labs that are not normalised")
    mode.add_argument("--refresh", action="store_true", help="re-execute in smoke mode to refresh reference outputs")
    args = ap.parse_args(argv)
    paths = [p.resolve() for p in args.labs] or lab_notebooks()
    dirty = []
    for path in paths:
        before = path.read_text()
        nb = refresh(path) if args.refresh else nbformat.reads(before, as_version=4)
        after = text(normalize(nb))
        if after != before:
            dirty.append(path)
            if not args.check:
                path.write_text(after)
        checked = sum(is_checked(c) for c in nb.cells)
        state = ("NOT normalised" if args.check else "normalised") if after != before else "already normalised"
        print(f"{path.relative_to(ROOT)}: {state} ({checked} checked cells)")
    if args.check and dirty:
        print("Run `make normalize` (or `make refresh` after editing a lab) and commit the result.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
