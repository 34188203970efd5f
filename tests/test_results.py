import json
import math

import numpy as np
import pytest
import torch

from seqlib.results import RESULTS_MIME, collect, record


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
