import json
import math

import numpy as np
import pytest
import torch

from seqlib.page.results import RESULTS_MIME, collect, record


def test_record_returns_clean_python_values(capsys):
    got = record(val_ppl_lstm=np.float32(4.25), steps=np.int64(300), loss=torch.tensor(0.5), note="cpu")
    assert got == {"val_ppl_lstm": pytest.approx(4.25), "steps": 300, "loss": 0.5, "note": "cpu"}
    assert type(got["steps"]) is int and type(got["val_ppl_lstm"]) is float
    json.dumps(got)  # JSON-serialisable, so the build can write results.json
    shown = capsys.readouterr().out
    assert "val_ppl_lstm" in shown and "4.25" in shown


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({}, ValueError, "at least one"),
        ({"ValPPL": 1.0}, ValueError, "lower_snake_case"),
        ({"acc": math.nan}, ValueError, "finite"),
        ({"acc": float("inf")}, ValueError, "finite"),
        ({"ok": True}, TypeError, "bool"),
        ({"acc": [0.9]}, TypeError, "list"),
    ],
)
def test_record_rejects_bad_input_with_a_clear_message(kwargs, error, message):
    with pytest.raises(error, match=message):
        record(**kwargs)


def test_collect_reads_recorded_values_from_notebook_outputs_later_ones_win():
    def cell(data):
        return {"cell_type": "code", "outputs": [{"output_type": "display_data", "data": data}]}

    nb = {"cells": [
        {"cell_type": "markdown", "source": "x"},
        cell({RESULTS_MIME: {"a": 1, "b": 2.0}, "text/plain": "t"}),
        cell({"text/plain": "no results here"}),
        cell({RESULTS_MIME: {"b": 3.0}}),
    ]}
    assert collect(nb) == {"a": 1, "b": 3.0}
    assert collect({"cells": []}) == {}


def test_record_outside_jupyter_prints_a_readable_table_not_a_mime_dict():
    """Issue 13: record() in plain Python (IPython installed, no kernel) printed the raw MIME bundle."""
    import subprocess
    import sys
    from pathlib import Path

    code = "from seqlib.page import record; record(val_ppl=4.25, steps=3)"
    env = {**__import__("os").environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                         timeout=120, check=True).stdout
    assert out.startswith("Recorded results:") and "val_ppl" in out and "4.25" in out
    assert "text/html" not in out and RESULTS_MIME not in out and "{" not in out


def test_say_shows_markdown_and_rejects_an_empty_text(capsys, monkeypatch):
    from seqlib.page import results, show

    results.say("The fused form ran **1.5x** as fast.")
    assert capsys.readouterr().out == "The fused form ran **1.5x** as fast.\n"
    shown = []
    monkeypatch.setattr(show, "_in_ipython", lambda: True)
    monkeypatch.setattr("IPython.display.display", lambda obj, raw: shown.append(obj))
    results.say("**2.0x**")
    record(acc=0.5)
    assert shown[0] == {"text/markdown": "**2.0x**", "text/plain": "**2.0x**"}
    assert shown[1][RESULTS_MIME] == {"acc": 0.5} and "<table" in shown[1]["text/html"]
    for bad in ("", "  ", None, 3.5):
        with pytest.raises(TypeError, match="say\\(\\) needs the text"):
            results.say(bad)


def test_mean_std_and_its_format_over_seeds():
    from seqlib.page import mean_pm_std, mean_std

    mean, std = mean_std([0.9, 0.95, 1.0])
    assert mean == pytest.approx(0.95) and std == pytest.approx(np.std([0.9, 0.95, 1.0]))
    assert mean_std([0.5]) == (0.5, 0.0)
    assert mean_pm_std([0.9, 0.95, 1.0]) == "95.0% ± 4.1%"
    assert mean_pm_std([0.951, 0.9512], ".1%", ".2%") == "95.1% ± 0.01%"
    assert mean_pm_std([0.5]) == "50.0%"
    with pytest.raises(ValueError, match="empty"):
        mean_std([])
