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
        "from seqlib.page import record\nrecord(acc=0.5, smoke=int(SMOKE))",
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
    assert "| {doc}`../labs/day01_x` | ok | 12.3 |" in page  # the link shows the lab's title
    assert "| {doc}`../labs/day02_y` | failed | 1.0 |" in page
    assert "| `val_ppl` | 4.123 |" in page and "| `n` | 3 |" in page
    assert "full mode" in page


def test_results_page_is_in_the_toc():
    assert "book/results" in toc_files()


def test_a_failing_lab_is_reported_the_others_still_run_and_the_build_fails(tmp_path, capsys):
    (tmp_path / "labs").mkdir()
    _notebook(tmp_path / "labs" / "day01_ok.ipynb",
              "from seqlib.page import record\nrecord(answer=42)")
    _notebook(tmp_path / "labs" / "day02_bad.ipynb", "x = 1", "1 / 0")
    _notebook(tmp_path / "labs" / "day03_ok.ipynb", "from seqlib.page import record\nrecord(answer=43)")
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
    lab = _notebook(tmp_path / "half.ipynb", "from seqlib.page import record\nrecord(acc=0.9)", "1 / 0")
    entry = build.execute(lab, tmp_path / "out.ipynb", smoke=True, timeout=60)
    assert entry["status"] == "failed" and entry["results"] == {}


def test_a_lab_that_cannot_be_read_publishes_no_stale_page_or_numbers(tmp_path, capsys):
    """Issue 13, item 1: after a good run, a lab whose notebook is broken (not JSON) must not keep
    the old page and numbers: its page says it failed and results.json has no numbers for it."""
    (tmp_path / "labs").mkdir()
    lab = _notebook(tmp_path / "labs" / "day01_fragile.ipynb", "from seqlib.page import record\nrecord(answer=42)")
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
    from tools import reference

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


# --- the results page for people (issue 12, item 5) ---------------------------------------------

TOY_CATALOGUE = {
    "day01_x": [
        {"title": "Which model reads best?", "about": "Lower is\n better.", "unit": "perplexity", "format": ".2f",
         "rows": [
             {"key": "ppl_rnn", "label": "plain RNN", "kind": "baseline"},
             {"key": "ppl_lstm", "label": "LSTM"},
             {"key": "ppl_gone", "label": "a model this run did not record"},
             {"key": "best", "label": "the best model", "unit": "name", "values": {"lstm": "LSTM"}},
             {"text": "at most 4.5", "label": "course target", "kind": "target"},
             {"text": "6.6 to 7.4", "label": "D2L 1.0", "kind": "published"},
         ]},
        {"title": "Accuracy", "unit": "% correct", "scale": 100, "format": ".1f",
         "rows": [{"key": "acc", "label": "test accuracy"},
                  {"key": "sample", "label": "generated text", "unit": "text"},
                  {"key": "loss", "label": "final loss", "unit": "nats", "format": ".3f"}]},
        {"title": "Nothing recorded here", "rows": [{"key": "absent", "label": "absent"}]},
    ],
}


def _toy_entries():
    return {"day01_x": {"status": "ok", "seconds": 123.4, "units": 2.04, "budget": 4,
                        "results": {"ppl_rnn": 5.5658, "ppl_lstm": 4.3777, "best": "lstm", "acc": 0.78023,
                                    "sample": "a | b_c", "loss": 0.12345, "raw_only": 7}},
            "day02_y": {"status": "failed", "seconds": 3.0, "units": 0.05, "budget": 6, "results": {}}}


def test_results_page_shows_catalogued_numbers_with_labels_units_and_comparisons():
    page = build.results_page(_toy_entries(), "full", catalogue=TOY_CATALOGUE,
                              titles={"day01_x": "Day 1: *Toy* lab"})
    assert "## Day 1: *Toy* lab" in page and "## day02_y" in page  # the lab's title, else its name
    assert "Run time: **123 s** on the machine that built this book, **2.0 reference units** (budget 4)." in page
    assert "**It failed**" in page.split("## day02_y", 1)[1]
    assert "### Which model reads best?" in page and "Lower is better." in page
    assert "| result | perplexity | kind of figure |" in page
    assert "| plain RNN | 5.57 | baseline, this run |" in page
    assert "| LSTM | 4.38 | this run |" in page
    assert "| the best model | LSTM | this run |" in page  # a string value, by its catalogue name
    assert "| course target | at most 4.5 | course target |" in page
    assert "| D2L 1.0 | 6.6 to 7.4 | published |" in page
    assert "did not record" not in page  # a catalogued key the run lacks is left out
    assert "| test accuracy | 78.0 | this run |" in page  # scaled to per cent
    assert "| generated text | `a \\| b_c` | this run |" in page  # text quoted literally
    assert "| final loss | 0.123 nats | this run |" in page  # a row's own unit follows its value
    assert "Nothing recorded here" not in page  # a comparison with no recorded number is left out
    # every raw key, catalogued or not, in the collapsed block
    block = page.split(":::{dropdown} All values recorded by this lab", 1)[1].split(":::", 1)[0]
    for key in _toy_entries()["day01_x"]["results"]:
        assert f"| `{key}` |" in block
    assert "| `raw_only` | 7 |" in block
    assert page.count(":::{dropdown}") == 1  # the failed lab recorded nothing: no block


def test_results_catalogue_is_well_formed_and_covers_every_lab():
    catalogue = build.load_catalogue()
    assert build.check_catalogue(catalogue) == []
    from tools.course import toc_labs

    assert set(catalogue) == {lab.stem for lab in toc_labs()}, "one entry per lab of _toc.yml"


def test_check_catalogue_names_each_problem():
    bad = {"day01_x": [
        {"title": "t", "rows": [
            {"key": "a", "text": "1", "label": "both"},
            {"label": "neither"},
            {"key": "b", "label": "fixed kind on a key", "kind": "published"},
            {"text": "1", "label": "unknown kind", "kind": "guess"},
            {"key": "c", "label": "bad format", "format": ".2q"},
            {"key": "d"},
            {"key": "e", "label": "typo", "lable": "x"},
        ]},
        {"rows": []},
    ], "day02_y": []}
    problems = "\n".join(build.check_catalogue(bad))
    for needle in ("'both': give either", "'neither': give either", "'fixed kind on a key': kind 'published'",
                   "'unknown kind': kind 'guess'", "'bad format': bad format", "every row needs a label",
                   "'typo': unknown fields ['lable']", "comparison 2: needs a title", "day02_y: needs a list"):
        assert needle in problems, needle
    assert build.check_catalogue(TOY_CATALOGUE) == []


def test_catalogue_gaps_name_the_keys_a_lab_did_not_record():
    gaps = build.catalogue_gaps(_toy_entries(), TOY_CATALOGUE)
    assert gaps == {"day01_x": ["ppl_gone", "absent"]}  # a failed lab is not asked for its numbers


def test_landing_page_states_each_labs_budget_in_reference_units():
    """Issue 12, item 6: the course map gives each lab's run budget (the notebooks' metadata), not minutes."""
    import re

    from tools.course import lab_budget, toc_labs

    index = (build.ROOT / "book" / "index.md").read_text()
    for lab in toc_labs():
        row = next((line for line in index.splitlines() if f"<../labs/{lab.stem}>" in line), None)
        assert row, f"{lab.stem} is not on the course map"
        budget = lab_budget(lab.stem)
        assert re.search(rf"\|\s*{budget:g} units\s*\|\s*$", row), f"{lab.stem}: budget {budget:g} units: {row}"
    for page in ("index.md", "setup.md", "instructors.md"):
        text = (build.ROOT / "book" / page).read_text()
        assert not re.search(r"\b(under|about|takes?|in)\s+\d+(\.\d+)?\s*(min|minutes|s|seconds)\b", text), page
    assert "make calibrate" in index


# --- the book's own extensions ------------------------------------------------------------------

def _ext(name):
    import importlib
    import sys

    sys.path.insert(0, str(build.ROOT / "book" / "_ext"))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(build.ROOT / "book" / "_ext"))


def test_offline_mathjax_is_the_pinned_release_with_its_fonts_and_extensions():
    mj = _ext("offline_mathjax")
    es5 = mj.source()  # checks version and SHA-256 of the entry script
    files = {str(p) for p in mj.files(es5)}
    assert mj.ENTRY in files
    assert any(f.startswith("output/chtml/fonts/woff-v2/") for f in files)  # the glyphs
    assert "input/tex/extensions/boldsymbol.js" in files  # loaded on demand by \boldsymbol
    import yaml

    config = yaml.safe_load((build.ROOT / "_config.yml").read_text())
    assert config["sphinx"]["config"]["mathjax_path"] == mj.MATHJAX_PATH
    assert "offline_mathjax" in config["sphinx"]["local_extensions"]


def test_bibliography_labels_are_author_year_like_the_citations():
    from pybtex.database import parse_file

    bib = _ext("bib_author_year")
    entries = parse_file(str(build.ROOT / "book" / "references.bib")).entries
    labels = {key: bib.author_year(entry) for key, entry in entries.items()}
    assert labels["elman1990"] == "Elman, 1990"
    assert labels["hochreiter1997"] == "Hochreiter and Schmidhuber, 1997"
    assert labels["d2l2023"] == "Zhang et al., 2023"
    assert labels["cho2014"] == "Cho et al., 2014"  # "van Merriënboer" is not first
    same = [type("E", (), {"persons": e.persons, "fields": e.fields, "key": k})
            for k, e in list(entries.items())[:1]] * 2
    assert list(bib.AuthorYearLabels().format_labels(same))[0].endswith("a")  # a clash gets a, b
    import yaml

    config = yaml.safe_load((build.ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert config["bibtex_default_style"] == bib.STYLE and config["bibtex_reference_style"] == "author_year"


def test_the_reference_is_settled_from_before_and_after_and_drift_is_reported(capsys):
    assert build.settle_reference(2.0, None) == 2.0                     # the second run failed
    assert build.settle_reference(2.0, 2.2) == pytest.approx(2.1)
    assert "uncertain" not in capsys.readouterr().out                   # 10 %: within the drift allowed
    assert build.settle_reference(1.6, 2.4) == pytest.approx(2.0)
    assert "differ by 50%" in capsys.readouterr().out


def test_reference_seconds_is_the_median_of_its_runs(monkeypatch):
    from tools import reference
    times = iter([10.0, 11.0, 20.0, 29.0, 30.0, 33.0])      # the warm-up is not timed: 3 runs
    monkeypatch.setattr(reference, "_workload", lambda: None)
    monkeypatch.setattr(reference.time, "perf_counter", lambda: next(times))
    assert reference.reference_seconds(3) == 3.0                         # runs of 1, 9 and 3 s
    with pytest.raises(ValueError, match="positive integer"):
        reference.reference_seconds(0)


def test_the_reference_is_timed_as_the_labs_run_side_by_side(monkeypatch):
    """Issue 27: the build's labs run two at a time on one thread each, so its reference workload is
    timed the same way: two processes at once, one thread each, the mean of their medians."""
    from tools import reference
    started = []

    class FakeCopy:
        def __init__(self, cmd, **kwargs):
            started.append(cmd)
            self.returncode, self.seconds = 0, 2.0 + len(started)

        def communicate(self):
            return json.dumps({"seconds": self.seconds}), ""

    monkeypatch.setattr(reference.subprocess, "Popen", FakeCopy)
    assert reference.side_by_side(2, 1, repeats=3) == pytest.approx(3.5)   # copies read 3.0 and 4.0 s
    assert len(started) == 2
    assert all(cmd[-4:] == ["--repeats", "3", "--threads", "1"] for cmd in started)
    monkeypatch.setattr(reference, "reference_seconds", lambda repeats, threads: 7.0)
    assert reference.side_by_side(1, 2) == 7.0                              # one copy: alone, in this process
    with pytest.raises(ValueError, match="copies must be a positive integer"):
        reference.side_by_side(0, 1)


def test_labs_executed_elsewhere_are_taken_as_they_ran(tmp_path):
    """make test renders the labs as nbval ran them (build.py --executed-from): a lab whose cells ran
    is ok with its recorded numbers and nbval's seconds; one with an error output failed, and keeps no
    numbers; one that is missing failed and says where it was looked for."""
    from seqlib.page.results import RESULTS_MIME
    from tools import nbval_capture

    lab = _notebook(tmp_path / "day01_x.ipynb", "x = 1", "record(acc=0.5)")
    source = nbformat.read(lab, as_version=4)
    nbval_capture.RUNS[lab.resolve()] = {
        "nb": source, "cells": {0, 1}, "seconds": 3.25,
        "outputs": {0: [], 1: [nbformat.v4.new_output("display_data", data={RESULTS_MIME: {"acc": 0.5}})]}}
    ran = nbval_capture.executed(lab)
    assert [c.execution_count for c in ran.cells] == [1, 2] and ran.metadata["seqlib"]["nbval_seconds"] == 3.2
    (tmp_path / "ran").mkdir()
    nbformat.write(ran, tmp_path / "ran" / lab.name)
    entry = build.already_executed(lab, tmp_path / "ran", tmp_path / "out.ipynb")
    assert entry["status"] == "ok" and entry["results"] == {"acc": 0.5} and entry["seconds"] == 3.2
    assert (tmp_path / "out.ipynb").exists()
    ran.cells[1].outputs.append(nbformat.v4.new_output("error", ename="ZeroDivisionError", evalue="oops",
                                                       traceback=[]))
    nbformat.write(ran, tmp_path / "ran" / lab.name)
    entry = build.already_executed(lab, tmp_path / "ran", tmp_path / "out.ipynb")
    assert entry["status"] == "failed" and "ZeroDivisionError: oops" in entry["error"] and entry["results"] == {}
    entry = build.already_executed(tmp_path / "day02_y.ipynb", tmp_path / "ran", tmp_path / "out2.ipynb")
    assert entry["status"] == "failed" and "was not executed there" in entry["error"]
    del nbval_capture.RUNS[lab.resolve()]
    nbval_capture.RUNS[lab.resolve()] = {"nb": source, "cells": {0, 1}, "outputs": {0: []}, "seconds": 1.0}
    assert nbval_capture.executed(lab) is None  # a cell that did not run: not a whole run
    del nbval_capture.RUNS[lab.resolve()]
