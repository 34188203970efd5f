"""seqlib.checks.day02: correct answers pass, common mistakes get specific feedback, nothing raises."""

from __future__ import annotations

import pytest
import torch

from seqlib.checks.day02 import check_gru_step, check_lstm_step, check_param_count
from seqlib.checks.feedback import Verdict

PASSED, FAILED = Verdict(True), Verdict(False)  # == compares a check's verdict strictly (None is neither)


def _run(check, answer, capsys):
    ok = check(answer)
    out = capsys.readouterr().out
    assert isinstance(ok, Verdict)
    assert out.startswith("✅" if ok else "❌"), out
    return ok, out


# ----------------------------------------------------------------------------------------
# LSTM step (nn.LSTMCell layout)
# ----------------------------------------------------------------------------------------

def lstm_step(x, state, W_ih, W_hh, b_ih, b_hh, order="ifgo", biases="both", g_act=torch.tanh, h_tanh=True):
    h, c = state
    bias = {"both": b_ih + b_hh, "ih": b_ih, "none": 0}[biases]
    blocks = dict(zip(order, (x @ W_ih.T + h @ W_hh.T + bias).chunk(4, dim=1)))
    i, f, g, o = torch.sigmoid(blocks["i"]), torch.sigmoid(blocks["f"]), g_act(blocks["g"]), torch.sigmoid(blocks["o"])
    c_new = f * c + i * g
    return (o * torch.tanh(c_new) if h_tanh else o * c_new), c_new


def test_correct_lstm_step_passes(capsys):
    ok, out = _run(check_lstm_step, lstm_step, capsys)
    assert ok and "matches nn.LSTMCell" in out


def test_lstm_step_returning_numpy_arrays_passes(capsys):
    def as_numpy(*args):
        h, c = lstm_step(*args)
        return h.numpy(), c.numpy()

    assert _run(check_lstm_step, as_numpy, capsys)[0]


@pytest.mark.parametrize("mistake, expected", [
    (dict(order="fiog"), "order f, i, o, g"),
    (dict(order="ifog"), "order i, f, o, g"),
    (dict(biases="ih"), "only b_ih"),
    (dict(biases="none"), "left out the biases"),
    (dict(g_act=torch.sigmoid), "candidate g went through a sigmoid"),
    (dict(h_tanh=False), "h_new = o * c_new"),
])
def test_lstm_mistakes_are_named(capsys, mistake, expected):
    ok, out = _run(check_lstm_step, lambda *args: lstm_step(*args, **mistake), capsys)
    assert not ok
    assert expected in out and "hint:" in out


def test_lstm_stub_and_broken_functions_get_feedback_without_raising(capsys):
    ok, out = _run(check_lstm_step, lambda x, state, *w: state, capsys)
    assert not ok and "old state unchanged" in out
    ok, out = _run(check_lstm_step, lambda *args: None, capsys)
    assert not ok and "returned None" in out
    ok, out = _run(check_lstm_step, lambda x, state, W_ih, *rest: (x @ W_ih, state[1]), capsys)
    assert not ok and "raised RuntimeError" in out and "weights transposed" in out
    ok, out = _run(check_lstm_step, lambda *args: lstm_step(*args)[0], capsys)
    assert not ok and "should return the tuple (h_new, c_new)" in out
    ok, out = _run(check_lstm_step, lambda *args: (torch.zeros(3, 16), torch.zeros(3, 4)), capsys)
    assert not ok and "h_new has shape (3, 16)" in out
    ok, out = _run(check_lstm_step, "lstm_step", capsys)
    assert not ok and "pass the function itself" in out


def test_lstm_step_that_only_works_for_batch_size_above_one_fails(capsys):
    def squeezes(*args):
        h, c = lstm_step(*args)
        return h.squeeze(), c.squeeze()  # breaks the batch axis when batch_size == 1

    ok, out = _run(check_lstm_step, squeezes, capsys)
    assert not ok and "batch_size=1" in out


# ----------------------------------------------------------------------------------------
# GRU step (nn.GRUCell layout)
# ----------------------------------------------------------------------------------------

def gru_step(x, h, W_ih, W_hh, b_ih, b_hh, reset_before=False, swap_z=False, order="rzn"):
    gi = dict(zip(order, (x @ W_ih.T + b_ih).chunk(3, dim=1)))
    gh = dict(zip(order, (h @ W_hh.T + b_hh).chunk(3, dim=1)))
    r, z = torch.sigmoid(gi["r"] + gh["r"]), torch.sigmoid(gi["z"] + gh["z"])
    if reset_before:
        W_hn, b_hn = dict(zip(order, W_hh.chunk(3)))["n"], dict(zip(order, b_hh.chunk(3)))["n"]
        n = torch.tanh(gi["n"] + (r * h) @ W_hn.T + b_hn)
    else:
        n = torch.tanh(gi["n"] + r * gh["n"])
    return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h


def test_correct_gru_step_passes(capsys):
    ok, out = _run(check_gru_step, gru_step, capsys)
    assert ok and "matches nn.GRUCell" in out


@pytest.mark.parametrize("mistake, expected", [
    (dict(reset_before=True), "D2L / Cho et al. form"),
    (dict(swap_z=True), "swapped the roles of z and 1 - z"),
    (dict(order="zrn"), "order z, r, n"),
])
def test_gru_mistakes_are_named(capsys, mistake, expected):
    ok, out = _run(check_gru_step, lambda *args: gru_step(*args, **mistake), capsys)
    assert not ok and expected in out and "hint:" in out


def test_gru_stub_and_broken_functions_get_feedback_without_raising(capsys):
    ok, out = _run(check_gru_step, lambda x, h, *w: h, capsys)
    assert not ok and "old state unchanged" in out
    ok, out = _run(check_gru_step, lambda x, h, *w: (h, h), capsys)
    assert not ok and "a GRU has no cell state" in out
    ok, out = _run(check_gru_step, lambda *args: 1 / 0, capsys)
    assert not ok and "raised ZeroDivisionError" in out


# ----------------------------------------------------------------------------------------
# Parameter counts
# ----------------------------------------------------------------------------------------

def test_right_counts_pass(capsys):
    ok = check_param_count({"rnn": 640, "gru": 1920, "lstm": 2560})
    out = capsys.readouterr().out
    assert ok and out.count("✅") == 3 and "❌" not in out


def test_other_sizes(capsys):
    d, h = 3, 7
    counts = {k: n * (h * d + h * h + 2 * h) for k, n in (("rnn", 1), ("gru", 3), ("lstm", 4))}
    assert check_param_count(counts, num_inputs=d, num_hiddens=h)


@pytest.mark.parametrize("answer, expected", [
    ({"rnn": 620, "gru": 1920, "lstm": 2560}, "one bias vector per block"),
    ({"rnn": 640, "gru": 1800, "lstm": 2560}, "left out the biases"),
    ({"rnn": 640, "gru": 2560, "lstm": 2560}, "count for 4 block(s) (LSTM)"),
    ({"rnn": 640, "gru": 1920, "lstm": 1000}, "does not match a count we recognise"),
])
def test_wrong_counts_are_explained(capsys, answer, expected):
    assert check_param_count(answer) == FAILED
    out = capsys.readouterr().out
    assert expected in out
    assert out.count("✅") == 2  # the other two are still confirmed


def test_stub_and_malformed_answers(capsys):
    assert check_param_count({"rnn": None, "gru": None, "lstm": None}) == FAILED
    assert capsys.readouterr().out.count("fill in a whole number") == 3
    assert check_param_count({"rnn": 640}) == FAILED
    assert "missing 'gru', 'lstm'" in capsys.readouterr().out
    assert check_param_count([640, 1920, 2560]) == FAILED
    assert "give a dict" in capsys.readouterr().out


@pytest.mark.parametrize("sizes", [dict(num_hiddens=0), dict(num_inputs=-1), dict(num_inputs="10")])
def test_check_param_count_rejects_a_bad_size_of_the_lab_naming_it(sizes):
    """A size is the lab author's argument, not the student's answer: a bad one is an error, not False."""
    with pytest.raises(ValueError, match=next(iter(sizes))):
        check_param_count({"rnn": 1, "gru": 1, "lstm": 1}, **sizes)
