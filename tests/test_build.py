"""The build pipeline (tools/build.py) on tiny notebooks made here."""

from __future__ import annotations

import json

import nbformat
import pytest

from tools import build
from tools.course import toc_files


def _notebook(path, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_execute_collects_recorded_results_and_smoke_flag(tmp_path):
    lab = _notebook(
        tmp_path / "ok.ipynb",
        "import os\nSMOKE = os.environ['SEQLIB_SMOKE'] == '1'",
        "from seqlib.results import record\nrecord(acc=0.5, smoke=int(SMOKE))",
    )
    entry = build.execute(lab, tmp_path / "out.ipynb", smoke=True, timeout=60)
    assert entry["status"] == "ok" and entry["error"] is None
    assert entry["results"] == {"acc": 0.5, "smoke": 1}
    assert entry["seconds"] > 0


def test_execute_reports_the_failing_cell_and_error(tmp_path):
    lab = _notebook(tmp_path / "bad.ipynb", "x = 1", "raise ValueError('shapes do not match')", "y = 2")
    entry = build.execute(lab, tmp_path / "out.ipynb", smoke=True, timeout=60)
    assert entry["status"] == "failed"
    assert "cell 1" in entry["error"] and "ValueError: shapes do not match" in entry["error"]
    assert "raise ValueError" in entry["error"]  # the failing source is shown
    assert (tmp_path / "out.ipynb").exists()  # the partial run is kept for the book


def test_cache_key_changes_with_the_notebook_and_the_mode(tmp_path, monkeypatch):
    lab = build.ROOT / "labs" / "day01_rnn_forward.ipynb"
    key = build.cache_key(lab, smoke=False)
    assert key == build.cache_key(lab, smoke=False)
    assert key != build.cache_key(lab, smoke=True)
    copy = tmp_path / "labs" / "x.ipynb"
    copy.parent.mkdir()
    copy.write_text(lab.read_text())
    monkeypatch.setattr(build, "ROOT", tmp_path)
    (tmp_path / "requirements.txt").write_text("")
    (tmp_path / "seqlib").mkdir()
    (tmp_path / "seqlib" / "a.py").write_text("A = 1\n")
    k1 = build.cache_key(copy, smoke=False)
    (tmp_path / "seqlib" / "a.py").write_text("A = 2\n")
    assert build.cache_key(copy, smoke=False) != k1, "a change in seqlib must re-execute the labs"
    k2 = build.cache_key(copy, smoke=False)
    copy.write_text(copy.read_text() + " ")
    assert build.cache_key(copy, smoke=False) != k2


def test_results_page_lists_every_lab_with_time_status_and_numbers():
    page = build.results_page(
        {"day01_x": {"status": "ok", "seconds": 12.34, "results": {"val_ppl": 4.123456, "n": 3}},
         "day02_y": {"status": "failed", "seconds": 1.0, "results": {}}},
        "full",
    )
    assert "| {doc}`day01_x <../labs/day01_x>` | ok | 12.3 |" in page
    assert "| {doc}`day02_y <../labs/day02_y>` | failed | 1.0 |" in page
    assert "| `val_ppl` | 4.123 |" in page and "| `n` | 3 |" in page
    assert "full mode" in page


def test_results_page_is_in_the_toc():
    assert "book/results" in toc_files()


def test_a_failing_lab_is_reported_the_others_still_run_and_the_build_fails(tmp_path, capsys):
    (tmp_path / "labs").mkdir()
    _notebook(tmp_path / "labs" / "day01_ok.ipynb",
              "from seqlib.results import record\nrecord(answer=42)")
    _notebook(tmp_path / "labs" / "day02_bad.ipynb", "x = 1", "1 / 0")
    _notebook(tmp_path / "labs" / "day03_ok.ipynb", "from seqlib.results import record\nrecord(answer=43)")
    toc = tmp_path / "_toc.yml"
    toc.write_text(
        "format: jb-book\nroot: book/index\nchapters:\n"
        "  - file: labs/day01_ok\n  - file: labs/day02_bad\n  - file: labs/day03_ok\n"
        "  - file: book/setup\n  - file: book/instructors\n  - file: book/results\n  - file: book/references\n"
    )
    code = build.main(["--smoke", "--out", str(tmp_path / "out"), "--toc", str(toc)])
    log = capsys.readouterr()
    assert code == 1
    assert "FAILED after" in log.out and "day02_bad" in log.out and "ZeroDivisionError" in log.out
    assert "FAILED labs: day02_bad" in log.err
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert {n: lab["status"] for n, lab in results["labs"].items()} == {
        "day01_ok": "ok", "day02_bad": "failed", "day03_ok": "ok"}
    assert results["labs"]["day03_ok"]["results"] == {"answer": 43}  # ran after the failure
    assert (tmp_path / "out" / "html" / "labs" / "day02_bad.html").exists()  # rendered with its error
    # a second run re-executes only what is not up to date: the failed lab
    build.main(["--smoke", "--out", str(tmp_path / "out"), "--toc", str(toc)])
    log = capsys.readouterr().out
    assert "day01_ok: unchanged" in log and "day03_ok: unchanged" in log
    assert "day02_bad: executing" in log


def test_a_hung_lab_is_stopped_and_run_again(tmp_path, monkeypatch):
    lab = tmp_path / "day09_sleepy.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import pathlib, time\n"
        "flag = pathlib.Path('ran_once')\n"
        "if not flag.exists():\n"
        "    flag.touch()\n"
        "    time.sleep(60)  # the first attempt hangs")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, lab)
    entry = build.execute(lab, tmp_path / "out.ipynb", smoke=True, timeout=120, limit=15)
    assert entry["status"] == "ok", entry["error"]  # stopped after 15 s, the second attempt ran through
    assert (tmp_path / "ran_once").exists()


def test_a_failed_lab_leaves_no_numbers_behind_even_from_cells_before_the_error(tmp_path):
    lab = _notebook(tmp_path / "half.ipynb", "from seqlib.results import record\nrecord(acc=0.9)", "1 / 0")
    entry = build.execute(lab, tmp_path / "out.ipynb", smoke=True, timeout=60)
    assert entry["status"] == "failed" and entry["results"] == {}


def test_a_lab_that_cannot_be_read_publishes_no_stale_page_or_numbers(tmp_path, capsys):
    """Issue 13, item 1: after a good run, a lab whose notebook is broken (not JSON) must not keep
    the old page and numbers: its page says it failed and results.json has no numbers for it."""
    (tmp_path / "labs").mkdir()
    lab = _notebook(tmp_path / "labs" / "day01_fragile.ipynb", "from seqlib.results import record\nrecord(answer=42)")
    toc = tmp_path / "_toc.yml"
    toc.write_text("format: jb-book\nroot: book/index\nchapters:\n  - file: labs/day01_fragile\n"
                   "  - file: book/setup\n  - file: book/instructors\n  - file: book/results\n  - file: book/references\n")
    out = tmp_path / "out"
    build.main(["--smoke", "--out", str(out), "--toc", str(toc)])  # renders with warnings: the real index
    assert json.loads((out / "results.json").read_text())["labs"]["day01_fragile"]["results"] == {"answer": 42}
    lab.write_text("{ this is not a notebook")
    assert build.main(["--smoke", "--out", str(out), "--toc", str(toc)]) == 1
    capsys.readouterr()
    lab_result = json.loads((out / "results.json").read_text())["labs"]["day01_fragile"]
    assert lab_result["status"] == "failed" and lab_result["results"] == {}
    page = (out / "html" / "labs" / "day01_fragile.html").read_text()
    assert "failed to run" in page and "42" not in page.split("failed to run", 1)[1]
    assert not (out / "executed" / "day01_fragile.ipynb").exists()


def test_reference_units_budget_and_parallel_wall_time_are_computed_and_shown():
    from seqlib import reference

    # one unit is a minute on a machine whose reference time is the CI class's
    ci = reference.CI_REFERENCE_SECONDS
    assert reference.units(60.0, ci) == pytest.approx(1.0)
    assert reference.units(60.0, 2 * ci) == pytest.approx(0.5)  # a machine twice as slow: same lab, same units
    assert reference.minutes_per_unit(2 * ci) == pytest.approx(2.0)
    with pytest.raises(ValueError, match="reference"):
        reference.units(10.0, 0.0)
    entries = {
        "day01_x": {"status": "ok", "seconds": 120.0, "cached": False, "results": {}},
        "day03_time_machine": {"status": "ok", "seconds": 600.0, "cached": True, "results": {},
                               "reference_seconds": 2 * ci},  # cached: keeps its own machine's reference
    }
    build.lab_units(entries, ci)
    assert entries["day01_x"]["units"] == pytest.approx(2.0) and entries["day01_x"]["budget"] == 4
    assert entries["day03_time_machine"]["units"] == pytest.approx(5.0)
    assert entries["day03_time_machine"]["budget"] == 6  # declared in the notebook's metadata
    machine = {"cpu": "Test CPU", "cores": 2, "isa": "AVX2", "torch": "2.13.0"}
    wall = {"seconds": 300.0, "sum_seconds": 600.0, "jobs": 2}
    page = build.results_page(entries, "full", machine, wall)
    assert "| reference units | budget (units) |" in page and "| 2.0 | 4 |" in page and "Test CPU" in page
    assert "300 s of wall time for 600 s of lab time (50%)" in page
    entries["day01_x"]["units"] = 4.5
    text = build.table(entries, machine, ci, wall, 310.0)
    assert "OVER BUDGET" in text and "300.0 s wall for 600.0 s of lab time (50%)" in text
    assert "Test CPU, 2 cores, AVX2" in text


def test_labs_are_scheduled_longest_first_unknown_ones_by_their_budget():
    from pathlib import Path

    labs = [Path(f"labs/{n}.ipynb") for n in ("a", "b", "c", "new", "newer")]
    previous = {"a": {"seconds": 10}, "b": {"seconds": 300}, "c": {"seconds": 60}}
    # never run: their budget (4 units, about 240 s), the later one first
    assert [p.stem for p in build.schedule(labs, previous)] == ["b", "newer", "new", "c", "a"]
    fresh = [Path(f"labs/{n}.ipynb") for n in ("day01_x", "day03_time_machine", "day05_y")]
    assert build.schedule(fresh, {})[0].stem == "day03_time_machine"  # budget 6
