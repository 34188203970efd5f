"""The Day 9 exercise checks accept right answers, explain wrong ones in the one format and never raise."""

import torch

from seqlib.checks.day09 import check_attention_step, check_beam_step
from seqlib.checks.feedback import Verdict

PASSED, FAILED = Verdict(True), Verdict(False)


def attention_step(s, K, H, mask, W_q, v, use_mask=True):
    scores = torch.tanh((s @ W_q.T)[:, None, :] + K) @ v          # (B, S)
    if use_mask:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * H).sum(1), weights


def beam_step(totals, log_probs, beam_width):
    V = log_probs.shape[1]
    scores, flat = torch.sort((totals[:, None] + log_probs).reshape(-1), descending=True, stable=True)
    return scores[:beam_width], flat[:beam_width] // V, flat[:beam_width] % V


def test_check_attention_step_feedback(capsys):
    assert check_attention_step(attention_step) == PASSED
    assert capsys.readouterr().out.startswith("✅")
    assert check_attention_step(lambda *a: attention_step(*a, use_mask=False)) == FAILED
    out = capsys.readouterr().out
    assert out.startswith("❌") and "padding receives attention" in out and "-inf" in out and "expected:" in out

    def wrong_axis(s, K, H, mask, W_q, v):
        c, w = attention_step(s, K, H, mask, W_q, v)
        return c, torch.softmax(w, dim=0)
    assert check_attention_step(wrong_axis) == FAILED
    out = capsys.readouterr().out
    assert "padding receives attention" in out or "sum to 1" in out

    def wrong_context(s, K, H, mask, W_q, v):
        c, w = attention_step(s, K, H, mask, W_q, v)
        return (w[:, :, None] * K).sum(1)[:, :H.shape[-1]], w
    assert check_attention_step(wrong_context) == FAILED
    assert "context is not" in capsys.readouterr().out
    assert check_attention_step(lambda *a: 1 / 0) == FAILED
    assert "ZeroDivisionError" in capsys.readouterr().out
    assert check_attention_step(lambda *a: None) == FAILED
    assert check_attention_step(None) == FAILED
    assert "define attention_step" in capsys.readouterr().out


def test_check_beam_step_feedback(capsys):
    assert check_beam_step(beam_step) == PASSED
    assert capsys.readouterr().out.startswith("✅")

    def per_prefix(totals, log_probs, beam_width):
        best, tok = log_probs.max(dim=1)
        scores, order = torch.sort(totals + best, descending=True)
        return scores[:beam_width], order[:beam_width], tok[order][:beam_width]
    assert check_beam_step(per_prefix) == FAILED
    assert "best extension of each prefix" in capsys.readouterr().out
    assert check_beam_step(lambda t, lp, k: beam_step(torch.zeros_like(t), lp, k)) == FAILED
    assert "last token only" in capsys.readouterr().out

    def swapped(totals, log_probs, beam_width):
        s, p, t = beam_step(totals, log_probs, beam_width)
        return s, t, p
    assert check_beam_step(swapped) == FAILED
    assert "i // V" in capsys.readouterr().out
    assert check_beam_step(lambda t, lp, k: beam_step(t, lp, 2 * k)) == FAILED
    assert "not beam_width per prefix" in capsys.readouterr().out
    assert check_beam_step(lambda *a: 1 / 0) == FAILED
    assert check_beam_step(lambda *a: None) == FAILED
