#!/usr/bin/env python
"""The students' edition of every lab, generated from its master in ``labs/``; never edited by hand.

    python tools/editions.py            # write editions/student/<lab>.ipynb (make editions)
    python tools/editions.py --check    # exit 1 if a committed edition is not what the generator makes

The master marks its answers as otter-grader and nbgrader read them: in a code cell, the lines from
``# BEGIN SOLUTION`` to ``# END SOLUTION``; in a markdown cell, the text from ``<!-- BEGIN SOLUTION -->``
to ``<!-- END SOLUTION -->`` (the collapsed model answers). The student's edition

- drops every solution region; a code cell left empty is dropped, a model answer becomes a line for
  the student's own (``*Your answer:*``), so each exercise keeps only its stub cell;
- has no outputs, no execution counts and no metadata but the cells' tags, the kernel and
  ``metadata.seqlib`` (the lab's budget, and ``edition: student``);
- runs top to bottom as it is: the stubs return placeholders, the checks say what is missing.

The instructors' edition is the master as ``make book`` executed it, solutions and outputs included:
``_build/executed/<lab>.ipynb``.
"""

from __future__ import annotations

import argparse
import copy
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from tools.course import lab_notebooks  # noqa: E402

STUDENT_DIR = ROOT / "editions" / "student"
CODE_REGION = re.compile(r"^[ \t]*# BEGIN SOLUTION\b.*?^[ \t]*# END SOLUTION[^\n]*\n?", re.S | re.M)
MARKDOWN_REGION = re.compile(r"([ \t]*)<!-- BEGIN SOLUTION -->.*?<!-- END SOLUTION -->", re.S)
MARKERS = ("BEGIN SOLUTION", "END SOLUTION")


def solution_regions(nb) -> list[str]:
    """The text of every solution region of a master notebook, in order."""
    regions = []
    for cell in nb.cells:
        pattern = CODE_REGION if cell.cell_type == "code" else MARKDOWN_REGION
        regions += [m.group(0) for m in pattern.finditer(cell.source)]
    return regions


def student_edition(nb, name: str):
    """The student's edition of the master notebook ``nb`` (an nbformat notebook) of the lab ``name``."""
    master = nb
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            source = CODE_REGION.sub("", cell.source)
            if not source.strip():
                continue
        else:
            source = MARKDOWN_REGION.sub(lambda m: f"{m.group(1)}*Your answer:*", cell.source)
        if any(marker in source for marker in MARKERS):
            raise ValueError(f"{name}: a solution marker without its pair in a cell starting "
                             f"{cell.source[:60]!r}: close each BEGIN SOLUTION with END SOLUTION")
        cell.source = source
        tags = cell.get("metadata", {}).get("tags", [])
        cell.metadata = {"tags": tags} if tags else {}
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
    nb.cells = cells
    nb.metadata = {"kernelspec": master.metadata.get("kernelspec", {}),
                   "seqlib": {**master.metadata.get("seqlib", {}), "edition": "student", "lab": name}}
    return nb


def text(nb) -> str:
    return nbformat.writes(nb) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true", help="only report editions that differ; exit 1 if any")
    args = ap.parse_args(argv)
    stale = []
    STUDENT_DIR.mkdir(parents=True, exist_ok=True)
    for master in lab_notebooks():
        target = STUDENT_DIR / master.name
        made = text(student_edition(nbformat.read(master, as_version=4), master.stem))
        if not target.exists() or target.read_text() != made:
            stale.append(target)
            if not args.check:
                target.write_text(made)
        state = "up to date" if target not in stale else "stale" if args.check else "written"
        print(f"{target.relative_to(ROOT)}: {state}")
    if args.check and stale:
        print("Run `make editions` and commit editions/student/.", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
