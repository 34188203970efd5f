"""Every lab runs where a student opens it: from seqlib's wheel alone, outside the repository (issue 26).

The wheel is built from the sources and installed alone in a fresh environment (uv: seconds; only the
distributions it declares come with it). Each students' edition, unfilled, is copied into an empty folder
of its own and run there top to bottom in smoke mode. ``make wheel-check`` does the same with one lab per
core and prints each lab's seconds.
"""

from __future__ import annotations

import subprocess

import nbformat
import pytest

from tools.editions import STUDENT_DIR
from tools.wheel_check import ROOT, run_all


@pytest.mark.book
def test_every_students_edition_runs_unfilled_from_the_wheel_alone_outside_the_repository(tmp_path):
    labs = sorted(STUDENT_DIR.glob("*.ipynb"))
    assert len(labs) >= 10
    outcomes = run_all(labs, tmp_path, jobs=1, log=lambda line: None)
    failed = {lab.stem: error for lab, (status, _, error, _) in zip(labs, outcomes) if status != "ok"}
    assert not failed, failed
    python = tmp_path / "env" / "bin" / "python"
    where = subprocess.run([str(python), "-c", "import seqlib; print(seqlib.__file__)"], cwd=tmp_path,
                           text=True, capture_output=True, check=True).stdout.strip()
    assert where.startswith(str(tmp_path / "env")) and not where.startswith(str(ROOT)), where
    for lab, (_, _, _, executed) in zip(labs, outcomes):
        ran = nbformat.read(executed, as_version=4)
        printed = "".join(o.get("text", "") for c in ran.cells if c.cell_type == "code" for o in c.outputs)
        assert "not yet" in printed.lower() or "❌" in printed, f"{lab.stem}: the unfilled exercises got no feedback"
