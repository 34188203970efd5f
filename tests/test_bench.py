"""seqlib.bench (Day 3's throughput of the model forms) and the course's benchmark, tools/bench.py:
every model form and cell is measured; the table and the JSON output have the documented keys."""

from __future__ import annotations

import json

import pytest
import torch

from seqlib import bench
from tools import bench as course_bench

KEYS = {f"{form}_{cell}" for form in ("lesson", "fast", "torch") for cell in ("rnn", "lstm", "gru")}
REFERENCES = {"fast_lstm_autograd", "fast_lstm_fresh_pages", "torch_lstm_onednn_off"}


def test_run_measures_every_form_and_cell():
    results = bench.run(batch_size=2, num_steps=3, num_hiddens=8, seconds=0.01, repeats=1)
    assert set(results) == KEYS | REFERENCES and all(v > 0 for v in results.values())
    text = course_bench.table(results)
    lines = text.splitlines()
    assert lines[0].split()[:2] == ["cell", "lesson"] and [line.split()[0] for line in lines[1:4]] == list(bench.CELLS)
    assert "autograd" in text and "oneDNN switched off" in text and "freed memory given back" in text


def test_references_only_with_the_lstm_and_on_request():
    assert set(bench.run(2, 3, 8, 0.01, 1, cells=("gru",))) == {"lesson_gru", "fast_gru", "torch_gru"}
    assert "torch_lstm_onednn_off" not in bench.run(2, 3, 8, 0.01, 1, cells=("lstm",), references=False)
    assert torch.backends.mkldnn.enabled  # switched back on


def test_json_output(capsys, monkeypatch):
    monkeypatch.setattr(course_bench.reference, "reference_seconds", lambda: 3.5)  # its own test: test_build
    assert course_bench.main(["--json", "--num-hiddens", "8", "--batch-size", "2", "--num-steps", "3",
                              "--seconds", "0.01", "--repeats", "1"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert KEYS <= set(out) and all(out[k] > 0 for k in KEYS)
    assert out["config"]["num_hiddens"] == 8 and out["config"]["vocab_size"] == 28
    assert out["config"]["minutes_per_unit"] == pytest.approx(3.5 / course_bench.reference.CI_REFERENCE_SECONDS)


def test_models_of_each_form_have_the_same_size_but_for_torch_second_bias():
    from seqlib.page import num_params

    for cell, blocks in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        lesson, fast, torch_ = (num_params(bench.make_model(f, cell, 28, 16)) for f in bench.FORMS)
        assert lesson == fast - (16 if cell == "gru" else 0)  # the fast GRU has b_hh (reset_after)
        assert torch_ == lesson + blocks * 16


def test_profile_splits_each_phase_by_kind_of_work(capfd):
    """Every phase of a step is there; the fast form's time is matrix products, element-wise work, other
    operators and Python; nothing reaches the terminal (or a notebook): the profiler's C++ start and stop
    lines are silenced."""
    torch.manual_seed(0)
    times = bench.profile(bench.make_model("fast", "lstm", 28, 16), batch_size=4, num_steps=5, steps=2)
    assert capfd.readouterr().err == ""
    kinds = set(bench.KINDS) | {"other operators", "Python and dispatch"}
    assert {phase for phase, _ in times} == {"forward", "backward", "update"}
    assert {kind for _, kind in times} <= kinds and all(v >= 0 for v in times.values())
    for kind in ("matrix products", "element-wise", "Python and dispatch"):
        assert times["forward", kind] > 0 and times["backward", kind] > 0
    assert ("forward", "oneDNN's fused LSTM") not in times  # the fast form runs no oneDNN kernel


def test_fresh_pages_reference_runs_in_a_new_process(monkeypatch):
    """The reference measures a process whose heap never kept freed memory; this one keeps it after."""
    calls, fresh = [], []
    monkeypatch.setattr(bench, "keep_freed_memory", lambda keep=True: calls.append(keep))
    monkeypatch.setattr(bench, "_in_fresh_process", lambda *args: fresh.append(args) or 1.0)
    results = bench.run(2, 3, 8, 0.01, 1, cells=("lstm",))
    assert results["fast_lstm_fresh_pages"] == 1.0 and fresh == [("fast", "lstm", 2, 3, 8, 0.01, 1)]
    assert calls == [True]


def test_a_fresh_process_measures_a_model():
    assert bench._in_fresh_process("fast", "lstm", 2, 3, 8, 0.01, 1) > 0


def test_profile_of_torch_lstm_finds_onednn_kernel():
    torch.manual_seed(0)
    times = bench.profile(bench.make_model("torch", "lstm", 28, 16), batch_size=4, num_steps=5, steps=1)
    if torch.backends.mkldnn.is_available():
        assert times["forward", "oneDNN's fused LSTM"] > 0


def test_profile_table_has_a_row_per_kind_a_total_and_a_dash_for_work_a_form_lacks():
    profiles = {"fast": {("forward", "matrix products"): 2.0, ("forward", "element-wise"): 1.0,
                         ("backward", "matrix products"): 4.0, ("update", "element-wise"): 9.0},
                "torch": {("forward", "oneDNN's fused LSTM"): 3.0, ("backward", "oneDNN's fused LSTM"): 5.0}}
    header, rows = bench.profile_table(profiles)
    assert header == ["ms per step", "fast fwd", "fast bwd", "torch fwd", "torch bwd"]
    table = {row[0]: row[1:] for row in rows}
    assert table["matrix products"] == ["2.0", "4.0", "–", "–"]
    assert table["oneDNN's fused LSTM"] == ["–", "–", "3.0", "5.0"]
    assert table["total"] == ["3.0", "4.0", "3.0", "5.0"]  # the update is not in the table
    assert list(table)[-1] == "total" and len(rows) == len(bench.KINDS) + 3
