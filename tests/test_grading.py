"""Grading in one command (tools/grade.py): four submissions of Day 1 - right, wrong, an endless loop,
and one that deletes files and edits the checks - each get the expected grade and note, and none
stops the others."""

from __future__ import annotations

import csv
import re

import nbformat
import pytest

from tools.course import ROOT
from tools.editions import STUDENT_DIR
from tools.grade import exercises, grade, grading_cell, identify

LAB = "day01_rnn_forward"


def test_the_exercises_of_every_lab_are_its_solutions_check_calls():
    assert [name for name, _ in exercises(LAB)] == ["check_rnn_step", "check_rnn_num_params"]
    cell = grading_cell(LAB)
    assert "_checks.check_rnn_num_params(answer, num_inputs=28" in cell
    compile(cell, "grading cell", "exec")


def test_a_submission_is_known_by_its_folder_or_its_name(tmp_path):
    labs = [LAB, "day06_text_generation"]
    nb = nbformat.v4.new_notebook()
    assert identify(tmp_path.joinpath("ann", f"{LAB}.ipynb").relative_to(tmp_path), nb, labs) == ("ann", LAB)
    assert identify(tmp_path.joinpath(f"bob_{LAB}.ipynb").relative_to(tmp_path), nb, labs) == ("bob", LAB)
    nb.metadata["seqlib"] = {"lab": "day06_text_generation"}
    assert identify(tmp_path.joinpath("cy.ipynb").relative_to(tmp_path), nb, labs) == ("cy", "day06_text_generation")
    with pytest.raises(SystemExit, match="which lab is it"):
        identify(tmp_path.joinpath("dee.ipynb").relative_to(tmp_path), nbformat.v4.new_notebook(), labs)


def _edited(nb, old, new):
    for cell in nb.cells:
        if cell.cell_type == "code" and old in cell.source:
            cell.source = cell.source.replace(old, new)
            return nb
    raise AssertionError(f"{old!r} not in the notebook")


@pytest.mark.book
def test_four_submissions_get_their_grades_and_notes(tmp_path):
    subs = tmp_path / "submissions"
    student = nbformat.read(STUDENT_DIR / f"{LAB}.ipynb", as_version=4)
    right = nbformat.read(ROOT / "labs" / f"{LAB}.ipynb", as_version=4)          # the master: its solutions
    loop = _edited(nbformat.read(STUDENT_DIR / f"{LAB}.ipynb", as_version=4),
                   "answer = None", "answer = 32 * 28 + 32 * 32 + 32 + 28 * 32 + 28")
    loop.cells.insert(3, nbformat.v4.new_code_cell("while True:\n    pass"))
    loop = _edited(loop, "def rnn_step(x_t, h_prev, W_xh, W_hh, b_h):",
                   "def rnn_step(x_t, h_prev, W_xh, W_hh, b_h):\n    while True:\n        pass")
    vandal = nbformat.read(STUDENT_DIR / f"{LAB}.ipynb", as_version=4)
    vandal.cells.insert(3, nbformat.v4.new_code_cell(
        "import os, shutil\n"
        "for name in os.listdir('.'):\n    os.remove(name)\n"
        f"shutil.rmtree({str(subs)!r}, ignore_errors=True)\n"
        "import seqlib.checks.day01 as c\nc.check_rnn_step = lambda f: True"))
    vandal.cells.append(nbformat.v4.new_code_cell("check_rnn_step = lambda f: True"))
    for name, nb in {"right": right, "wrong": student, "loop": loop, "vandal": vandal}.items():
        (subs / name).mkdir(parents=True)
        nbformat.write(nb, subs / name / f"{LAB}.ipynb")

    rows = grade(subs, tmp_path / "grades", cell_timeout=20, limit=600, jobs=2, log=lambda *a: None)  # the loop: 20 s

    by = {r["student"]: r for r in rows}
    assert set(by) == {"right", "wrong", "loop", "vandal"}
    assert by["right"]["score"] == 1.0 and by["right"]["note"] == ""
    assert by["wrong"]["score"] == 0.0 and by["wrong"]["status"] == "graded"
    assert by["loop"]["check_rnn_step"] == 0 and by["loop"]["check_rnn_num_params"] == 1
    assert by["loop"]["score"] == 0.5 and "interrupted" in by["loop"]["note"]
    assert by["vandal"]["score"] == 0.0, "patching the checks in the notebook must not pass them"
    assert "deleted files" in by["vandal"]["note"]
    with open(tmp_path / "grades" / "grades.csv") as f:
        table = list(csv.DictReader(f))
    assert [r["student"] for r in table] == ["loop", "right", "vandal", "wrong"]
    assert list(table[0])[:4] == ["student", "lab", "check_rnn_step", "check_rnn_num_params"]
    feedback = (tmp_path / "grades" / "feedback" / f"loop_{LAB}.md").read_text()
    assert re.search(r"did not return within [\d.]+ s", feedback), feedback
    assert "Score: 50% (1 of 2 checks passed)" in feedback
