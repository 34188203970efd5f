"""tools/student_times.py: a student's time per lab against what the build's units predict."""

from __future__ import annotations

import json

import pytest

from tools import reference, student_times


def _build(tmp_path, labs):
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"labs": labs}))
    return str(path)


def test_prediction_and_error_with_the_reference_run_as_the_lab_runs():
    """units x minutes per unit x 60 seconds, the reference on one thread or on every core as the lab."""
    ci = reference.CI_REFERENCE_SECONDS
    ref = {"one": ci * 2, "all": ci}  # one thread: 1 unit = 2 min; every core: 1 unit = 1 min
    build = {"a": {"units": 3.0, "seconds": 100.0}, "b": {"units": 3.0, "seconds": 100.0}}
    rows = student_times.rows(["a", "b"], build, ref, {"a": 300.0, "b": 200.0}, {"a": "one", "b": "all"})
    assert [r["predicted_seconds"] for r in rows] == [pytest.approx(360.0), pytest.approx(180.0)]
    assert [r["error"] for r in rows] == [pytest.approx(0.2), pytest.approx(-0.1)]
    assert "+20%" in student_times.table(rows, ref) and "-10%" in student_times.table(rows, ref)


def test_lab_threads_reads_the_notebook():
    from tools.course import lab_threads

    assert lab_threads("day01_rnn_forward") == "one" and lab_threads("day03_time_machine") == "all"


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


def test_calibrate_prints_a_conversion_for_one_thread_labs_and_one_for_every_core(monkeypatch, capsys):
    """make calibrate: minutes per unit on one thread and on every core, and which labs take which."""
    times = {1: reference.CI_REFERENCE_SECONDS * 2, None: reference.CI_REFERENCE_SECONDS}
    monkeypatch.setattr(reference, "reference_seconds", lambda repeats=5, threads=1: times[threads])
    assert reference.main(["--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "B x 2.00 minutes here if it runs on one thread (day01" in out
    assert "B x 1.00 if it uses every core (day03, day06, day09" in out
