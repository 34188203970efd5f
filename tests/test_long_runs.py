"""Recorded long runs (tools/long_runs.py): each record carries its provenance, every record a lab quotes
exists, a run writes a record of that form, and a lab shows a record's provenance with its numbers."""

from __future__ import annotations

import json
import re
from datetime import datetime

import nbformat
import pytest

from tools import long_runs
from tools.course import lab_notebooks

RECORDS = sorted(long_runs.RECORDS.glob("*.json"))


def check_record(rec: dict, name: str) -> None:
    """The form every record has: what ran, where, when, how long, and its results."""
    assert set(rec) >= {"name", "lab", "what", "command", "commit", "date", "machine", "seconds",
                        "reference_seconds", "units", "seed", "results"}, sorted(rec)
    assert rec["name"] == name and rec["name"] in long_runs.RUNS
    assert rec["command"].startswith(("python -m seqlib.", "python -m papermill labs/"))
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", rec["commit"]), rec["commit"]
    assert datetime.fromisoformat(rec["date"]).tzinfo is not None
    assert set(rec["machine"]) >= {"cpu", "cores", "isa", "torch", "gpu"} and rec["threads"] >= 1
    assert rec["seconds"] > 0 and rec["reference_seconds"] > 0 and rec["units"] > 0
    assert isinstance(rec["results"], dict) and rec["results"]
    assert (lab := rec["lab"]) in {p.stem for p in lab_notebooks()}, lab


@pytest.mark.parametrize("path", RECORDS, ids=lambda p: p.stem)
def test_every_record_carries_its_provenance(path):
    check_record(json.loads(path.read_text()), path.stem)


def test_every_record_a_lab_quotes_exists():
    for lab in lab_notebooks():
        nb = nbformat.read(lab, as_version=4)
        quoted = {m for c in nb.cells if c.cell_type == "code" for m in re.findall(r"recorded\(\"(\w+)\"\)", c.source)}
        missing = [n for n in quoted if not (long_runs.RECORDS / f"{n}.json").exists()]
        assert not missing, f"{lab.name} quotes runs never recorded: {missing} (python tools/long_runs.py NAME)"


def test_a_run_writes_a_record_with_its_provenance(tmp_path, monkeypatch):
    """A tiny copy-task run through the command line, as the long ones run."""
    import tools.reference

    monkeypatch.setattr(long_runs, "RECORDS", tmp_path)
    monkeypatch.setattr(tools.reference, "reference_seconds", lambda repeats=3: 1.75)
    monkeypatch.setitem(long_runs.RUNS, "tiny", (
        "day07_copy_task", "a tiny copy task", ["seqlib.copy_task", "-c", "lstm", "-iseq", "3", "-oseq", "2", "-tseq",
                                                "4", "-toseq", "2", "-p", "1", "-ep", "1", "-trs", "64", "-ts", "32",
                                                "-s", "0", "-l", "{folder}"], "summary"))
    rec = long_runs.run("tiny", log=lambda line: None)
    check_record(json.loads((tmp_path / "tiny.json").read_text()), "tiny")
    assert rec["command"].endswith("-l tiny") and rec["results"]["train_lengths"] == [3, 1, 2]
    assert 0 <= rec["results"]["test_copy_acc"] <= 1 and rec["results"]["num_hiddens"] == 128
    assert rec["results"]["updates"] == 2 and 0 <= rec["results"]["train_copy_acc_last_epoch"] <= 1


def test_a_lab_shows_a_records_provenance(tmp_path, monkeypatch, capsys):
    from importlib import resources

    from seqlib.page import recorded

    records = tmp_path / "records"
    records.mkdir()
    rec = {"name": "x", "command": "python -m seqlib.translation --attention none", "commit": "a" * 40,
           "date": "2026-12-05T10:00:00+00:00", "machine": {"cpu": "AMD EPYC", "cores": 2, "isa": "AVX2",
                                                            "torch": "2.13.0+cpu", "gpu": None},
           "threads": 1, "seconds": 3600.0, "units": 62.0, "results": {"bleu_greedy": 30.1}}
    (records / "x.json").write_text(json.dumps(rec))
    monkeypatch.setattr(resources, "files", lambda package: tmp_path)
    assert recorded("x")["results"]["bleu_greedy"] == 30.1
    line = capsys.readouterr().out
    for part in ("`python -m seqlib.translation --attention none`", "aaaaaaa", "AMD EPYC, 2 cores (1 thread), AVX2",
                 "2026-12-05", "3600 s", "62 reference units"):
        assert part in line, (part, line)
    assert "uncommitted" not in line
    (records / "x.json").write_text(json.dumps({**rec, "commit": "b" * 40 + "-dirty"}))
    recorded("x")
    assert "`bbbbbbb` (with uncommitted changes)" in capsys.readouterr().out  # a dirty tree is said, not hidden
    with pytest.raises(FileNotFoundError, match=r"no recorded run named 'y' \(recorded: x\).*tools/long_runs.py y"):
        recorded("y")
