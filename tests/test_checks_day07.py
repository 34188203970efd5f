"""The Day 7 exercise checks accept right answers, name known mistakes in the one format and never raise."""

import numpy as np
import torch

from seqlib import cells
from seqlib.checks.day07 import check_copy_scores, check_mgru_step, check_mlstm_step
from seqlib.checks.feedback import Verdict

PASSED, FAILED = Verdict(True), Verdict(False)


def copy_scores(logits, Y):
    correct = logits.argmax(dim=-1) == Y
    O = int((Y[0] != 0).sum())
    copied = correct[:, -O:].float()
    return copied.mean(dim=0), copied.min(dim=1).values.mean()


def test_check_copy_scores_accepts_tensors_arrays_and_lists(capsys):
    assert check_copy_scores(copy_scores) == PASSED
    assert check_copy_scores(lambda l, Y: tuple(v.numpy() for v in copy_scores(l, Y))) == PASSED
    assert check_copy_scores(lambda l, Y: (copy_scores(l, Y)[0].tolist(), float(copy_scores(l, Y)[1]))) == PASSED
    assert capsys.readouterr().out.count("✅") == 3


def test_check_copy_scores_names_mistakes(capsys):
    def all_positions(logits, Y):
        correct = (logits.argmax(-1) == Y).float()
        return correct.mean(0), correct.min(1).values.mean()

    def first_O(logits, Y):
        correct = (logits.argmax(-1) == Y).float()
        O = int((Y[0] != 0).sum())
        return correct[:, :O].mean(0), correct[:, :O].min(1).values.mean()

    def mean_not_whole(logits, Y):
        per_position, _ = copy_scores(logits, Y)
        return per_position, per_position.mean()

    def blanks_too(logits, Y):
        return copy_scores(logits, Y)[0], (logits.argmax(-1) == Y).all(1).float().mean()

    def per_sample(logits, Y):
        correct = (logits.argmax(-1) == Y).float()
        O = int((Y[0] != 0).sum())
        return correct[:, -O:].mean(1), correct[:, -O:].min(1).values.mean()

    cases = [(all_positions, "the last O"), (first_O, "O positions"), (mean_not_whole, "ALL its copied"),
             (blanks_too, "the blanks too"), (lambda *a: None, "returned None"),
             (lambda *a: 1 / 0, "ZeroDivisionError"), (None, "define copy_scores")]
    for fn, words in cases:
        assert check_copy_scores(fn) == FAILED
        out = capsys.readouterr().out
        # where the first O positions are all right, like the copied ones, the mistake shows in sequence
        assert out.startswith("❌") and (words in out or fn is first_O and "not the share" in out), out
    check_copy_scores(per_sample)  # (B,) where (O,) is asked: a shape, unless B == O by chance
    assert "❌" in capsys.readouterr().out


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
    check_copy_scores(lambda logits, Y: (copy_scores(logits, Y)[0], 0.5))
    out = capsys.readouterr().out
    for code in ("torch.sigmoid(", "lstm_pointwise", "gru_pointwise", "[:O]"):
        assert code not in out, code
