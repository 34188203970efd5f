"""tools/student_times.py: a student's time per lab against what the build's units predict."""

from __future__ import annotations

import json

import pytest

from tools import reference, student_times


def _build(tmp_path, labs):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"labs": labs}))
    return str(path)


def test_prediction_and_error():
    """units x minutes per unit x 60 seconds, against the measured seconds."""
    ref = reference.CI_REFERENCE_SECONDS * 2  # a machine half as fast as the CI class: 1 unit = 2 min
    rows = student_times.rows(["a"], {"a": {"units": 3.0, "seconds": 100.0}}, ref, {"a": 300.0})
    assert rows[0]["predicted_seconds"] == pytest.approx(360.0)
    assert rows[0]["error"] == pytest.approx(0.2)
    assert "+20%" in student_times.table(rows, ref)


@pytest.mark.parametrize("labs, argv, message", [
    (None, [], "needs a build's results.json"),
    ({"day01_rnn_forward": {"units": 0.1, "seconds": 6.0}}, ["--labs", "day99"], "unknown lab 'day99'"),
    ({"day01_rnn_forward": {"units": None, "seconds": 6.0}}, ["--labs", "day01_rnn_forward"], "has no units"),
])
def test_refusals_before_any_lab_runs(tmp_path, capsys, labs, argv, message):
    build = ["--build", _build(tmp_path, labs)] if labs is not None else ["--build", str(tmp_path / "none.json")]
    with pytest.raises(SystemExit) as exit_:
        student_times.main(build + argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
