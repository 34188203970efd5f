#!/usr/bin/env python
"""The three editions of every lab, generated from its master in ``labs/``; never edited by hand.

    python tools/editions.py            # write editions/student/ and editions/autograder/ (make editions),
                                        # and editions/instructor/ when `make book` has executed the labs
    python tools/editions.py --check    # exit 1 if a committed edition is not what the generator makes

- **student** (``editions/student/<lab>.ipynb``, committed): what a student opens (the book's Colab,
  Binder and download buttons point at it);
- **autograder** (``editions/autograder/<lab>.py``, not committed: ``make grade`` makes its own): the
  cell ``make grade`` runs after a submission's own: each exercise's check, imported afresh, on the student's names; the checks draw
  their cases anew at every call, so the cases are hidden and a hard-coded answer fails;
- **instructor** (``editions/instructor/<lab>.ipynb``, not committed): the master as ``make book``
  executed it (``_build/executed/``), solutions and outputs included.

The master marks its answers as otter-grader and nbgrader read them: in a code cell, the lines from
``# BEGIN SOLUTION`` to ``# END SOLUTION``; in a markdown cell, the text from ``<!-- BEGIN SOLUTION -->``
to ``<!-- END SOLUTION -->`` (the collapsed model answers). The student's edition

- drops every solution region; a code cell left empty is dropped, a model answer becomes a line for
  the student's own (``*Your answer:*``), so each exercise keeps only its stub cell;
- has no outputs, no execution counts and no metadata but the cells' tags, the kernel and
  ``metadata.seqlib`` (the lab's budget, and ``edition: student``);
- runs top to bottom as it is: the stubs raise ``NotImplementedError``, the checks say "not written
  yet", and a later cell that needs an exercise's function runs on the course's own until the
  student's passes (``yours_or_ours``), saying so.
"""

from __future__ import annotations

import argparse
import copy
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from tools.course import lab_notebooks  # noqa: E402

STUDENT_DIR = ROOT / "editions" / "student"
AUTOGRADER_DIR = ROOT / "editions" / "autograder"
INSTRUCTOR_DIR = ROOT / "editions" / "instructor"
EXECUTED_DIR = ROOT / "_build" / "executed"
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
    from tools.grade import grading_cell

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
        exercises = [r for r in solution_regions(nbformat.read(master, as_version=4)) if r.lstrip().startswith("#")]
        if not args.check and exercises:
            AUTOGRADER_DIR.mkdir(exist_ok=True)  # a lab without code exercises has no autograder
            (AUTOGRADER_DIR / f"{master.stem}.py").write_text(autograder(master.stem, grading_cell))
        executed = EXECUTED_DIR / master.name
        if not args.check and executed.exists():
            INSTRUCTOR_DIR.mkdir(exist_ok=True)
            shutil.copy(executed, INSTRUCTOR_DIR / master.name)
            print(f"{(INSTRUCTOR_DIR / master.name).relative_to(ROOT)}: copied from {executed.relative_to(ROOT)}")
        elif not args.check:
            print(f"{master.stem}: no instructors' edition yet (`make book` executes the labs)")
    if args.check and stale:
        print("Run `make editions` and commit editions/student/.", file=sys.stderr)
        return 1
    return 0


def autograder(lab: str, grading_cell) -> str:
    """The autograder of ``lab``: the grading cell, with a header saying what it is."""
    return (f"# Autograder of {lab}, generated by tools/editions.py from labs/{lab}.ipynb: do not edit.\n"
            "# `make grade` runs it as the last cell of each submission; it prints one line, SEQLIB-GRADE\n"
            "# and a JSON list of {check, passed, feedback}, one per exercise.\n" + grading_cell(lab))


if __name__ == "__main__":
    sys.exit(main())
