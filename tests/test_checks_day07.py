"""The Day 7 exercise checks accept right answers, name known mistakes in the one format and never raise."""

import numpy as np
import torch

from seqlib import cells
from seqlib.checks.day07 import check_copy_sample, check_mlstm_step
from seqlib.checks.feedback import Verdict
from seqlib.copy_task import ALPHABET, make_sample

PASSED, FAILED = Verdict(True), Verdict(False)


def sample(L, P, O, seed):
    symbols = "".join(ALPHABET[k] for k in np.random.default_rng(seed).integers(9, size=L))
    return symbols + "$" * P + " " * O, " " * (L + P) + symbols[:O]


def test_check_copy_sample_accepts_strings_and_indices(capsys):
    assert check_copy_sample(sample) == PASSED
    assert check_copy_sample(lambda L, P, O, s: make_sample(L, P, O, s)) == PASSED
    assert check_copy_sample(lambda L, P, O, s: tuple(t.tolist() for t in make_sample(L, P, O, s))) == PASSED
    assert capsys.readouterr().out.count("✅") == 3


def test_check_copy_sample_names_mistakes(capsys):
    def reverse(L, P, O, s):
        x, y = sample(L, P, O, s)
        return x, y[:L + P] + x[:O][::-1]

    def last(L, P, O, s):
        x, y = sample(L, P, O, s)
        return x, y[:L + P] + x[L - O:L]

    def other_rng(L, P, O, s):
        return sample(L, P, O, s + 1)

    def no_blanks(L, P, O, s):
        x, y = sample(L, P, O, s)
        return x[:L + P], y

    cases = [(reverse, "reverse order"), (last, "last O symbols"), (other_rng, "other symbols"),
             (no_blanks, "positions"), (lambda *a: None, "not a pair"), (lambda *a: 1 / 0, "ZeroDivisionError"),
             (None, "define make_copy_sample")]
    for fn, words in cases:
        assert check_copy_sample(fn) == FAILED
        out = capsys.readouterr().out
        assert out.startswith("❌") and words in out, out


def test_check_mlstm_step(capsys):
    assert check_mlstm_step(cells.mlstm_step) == PASSED
    assert capsys.readouterr().out.startswith("✅")

    def plain_lstm(X, H, C, p):
        return cells.lstm_step(X, H, C, {k.replace("W_m", "W_h"): v for k, v in p.items()})

    def summed(X, H, C, p):
        M = X @ p["W_xm"] + H @ p["W_hm"]
        G = [X @ p["W_x" + g] + M @ p["W_m" + g] + p["b_" + g] for g in "ifoc"]
        return cells.lstm_pointwise(G, C)

    def swapped(X, H, C, p):
        return cells.mlstm_step(X, H, C, p)[::-1]

    for fn, words in [(plain_lstm, "plain LSTM"), (summed, "element-wise"), (swapped, "swapped"),
                      (lambda X, H, C, p: cells.mlstm_step(X, H, C, p)[0], "should return the tuple (H, C)"),
                      (lambda X, H, C, p: (H, C), "differs"), (lambda X, H, C, p: H @ X, "raised")]:
        assert check_mlstm_step(fn) == FAILED
        out = capsys.readouterr().out
        assert out.startswith("❌") and words in out and "expected:" in out, out


def test_day07_hints_guide_without_giving_the_code(capsys):
    check_mlstm_step(lambda X, H, C, p: (H, C))
    check_copy_sample(lambda L, P, O, s: sample(L, P, O, s + 1))
    out = capsys.readouterr().out
    for code in ("torch.sigmoid(", "lstm_pointwise", "[:O]"):
        assert code not in out, code
