"""tools/compare_results.py: which recorded results moved beyond their seed spread."""

from __future__ import annotations

import json

import pytest

from tools.compare_results import compare, load, main


def _results(tmp_path, name, labs):
    path = tmp_path / name
    path.write_text(json.dumps({"labs": {lab: {"results": r, "seconds": 1.0} for lab, r in labs.items()}}))
    return str(path)


def test_a_number_moves_only_beyond_twice_its_spread_or_the_tolerance():
    reference = {"day05": {"acc": 0.80, "acc_std": 0.03, "ppl": 10.0, "cell": "gru", "lab_seconds": 100.0,
                           "tokens_per_s_lstm": 5e4}}
    mine = {"day05": {"acc": 0.83, "acc_std": 0.01, "ppl": 10.4, "cell": "gru", "extra": 1}}
    rows = {r["name"]: r for r in compare(mine, reference)}
    assert rows["acc"]["moved"] is False and rows["acc"]["allowed"] == pytest.approx(0.06)
    assert rows["acc"]["spread"] == "2 x std over seeds"
    assert rows["ppl"]["moved"] is False and rows["ppl"]["allowed"] == pytest.approx(0.5)
    assert rows["cell"]["moved"] is False and rows["extra"]["moved"] is None
    assert "acc_std" not in rows and "lab_seconds" not in rows and "tokens_per_s_lstm" not in rows
    assert {r["name"]: r["moved"] for r in compare({"day05": {"acc": 0.70}}, reference)}["acc"] is True
    assert compare({"day05": {"ppl": 10.6}}, reference, tolerance=0.05)[-1]["moved"] is True


def test_the_command_names_what_moved_and_exits_1(tmp_path, capsys):
    ref = _results(tmp_path, "ref.json", {"day03": {"val_ppl_lstm": 4.0}, "day06": {"loss": 1.6}})
    same = _results(tmp_path, "same.json", {"day03": {"val_ppl_lstm": 4.1}, "day06": {"loss": 1.6}})
    moved = _results(tmp_path, "moved.json", {"day03": {"val_ppl_lstm": 5.0}, "day06": {"loss": 1.6}})
    assert main([same, ref]) == 0
    assert "none moved beyond its spread" in capsys.readouterr().out
    assert main([moved, ref]) == 1
    assert "1 moved beyond their spread: day03: val_ppl_lstm" in capsys.readouterr().out


def test_what_is_not_a_results_file_is_refused_by_name(tmp_path):
    with pytest.raises(SystemExit, match="no such file"):
        load(str(tmp_path / "missing.json"))
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(SystemExit, match="not a results.json of make book"):
        load(str(tmp_path / "other.json"))


def test_a_spread_named_with_std_inside_the_name_is_used_and_not_compared():
    """Day 7 records copy_acc_std_rnn_len6 as the spread of copy_acc_rnn_len6."""
    reference = {"day07": {"copy_acc_rnn_len6": 0.28, "copy_acc_std_rnn_len6": 0.05}}
    mine = {"day07": {"copy_acc_rnn_len6": 0.32, "copy_acc_std_rnn_len6": 0.02}}
    rows = {r["name"]: r for r in compare(mine, reference)}
    assert set(rows) == {"copy_acc_rnn_len6"}
    assert rows["copy_acc_rnn_len6"]["allowed"] == 0.1 and not rows["copy_acc_rnn_len6"]["moved"]
