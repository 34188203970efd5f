"""The Day 7 exercise checks accept right answers, name known mistakes in the one format and never raise."""

import numpy as np
import torch

from seqlib import cells
from seqlib.checks.day07 import check_copy_sample, check_mgru_step, check_mlstm_step
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


def test_check_mgru_step(capsys):
    assert check_mgru_step(cells.mgru_step) == PASSED
    assert capsys.readouterr().out.startswith("✅")

    def parts(X, H, p, M):
        R = torch.sigmoid(X @ p["W_xr"] + M @ p["W_mr"] + p["b_r"])
        Z = torch.sigmoid(X @ p["W_xz"] + M @ p["W_mz"] + p["b_z"])
        return R, Z, X @ p["W_xh"] + p["b_h"]

    def plain_gru(X, H, p):
        return cells.gru_step(X, H, {k.replace("W_m", "W_h"): v for k, v in p.items()})

    def summed(X, H, p):
        M = X @ p["W_xm"] + H @ p["W_hm"]
        R, Z, A = parts(X, H, p, M)
        return Z * H + (1 - Z) * torch.tanh(A + R * (M @ p["W_mh"] + p["b_hh"]))

    def keeps_M(X, H, p):
        M = (X @ p["W_xm"]) * (H @ p["W_hm"])
        R, Z, A = parts(X, H, p, M)
        return Z * M + (1 - Z) * torch.tanh(A + R * (M @ p["W_mh"] + p["b_hh"]))

    def swapped_Z(X, H, p):
        M = (X @ p["W_xm"]) * (H @ p["W_hm"])
        R, Z, A = parts(X, H, p, M)
        return (1 - Z) * H + Z * torch.tanh(A + R * (M @ p["W_mh"] + p["b_hh"]))

    def reset_before(X, H, p):
        M = (X @ p["W_xm"]) * (H @ p["W_hm"])
        R, Z, A = parts(X, H, p, M)
        return Z * H + (1 - Z) * torch.tanh(A + (R * M) @ p["W_mh"])

    for fn, words in [(plain_gru, "plain GRU"), (summed, "element-wise"), (keeps_M, "keeps H_{t-1} itself"),
                      (swapped_Z, "swapped"), (reset_before, "before the product"),
                      (lambda X, H, p: (H, H), "returns a tuple of 2"), (lambda X, H, p: torch.tanh(H), "differs"),
                      (lambda X, H, p: H @ X, "raised")]:
        assert check_mgru_step(fn) == FAILED
        out = capsys.readouterr().out
        assert out.startswith("❌") and words in out and "expected:" in out, out


def test_day07_hints_guide_without_giving_the_code(capsys):
    check_mgru_step(lambda X, H, p: torch.tanh(H))
    check_mlstm_step(lambda X, H, C, p: (H, C))
    check_copy_sample(lambda L, P, O, s: sample(L, P, O, s + 1))
    out = capsys.readouterr().out
    for code in ("torch.sigmoid(", "lstm_pointwise", "gru_pointwise", "[:O]"):
        assert code not in out, code
