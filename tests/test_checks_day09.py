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
    assert "parents" in (out := capsys.readouterr().out) and "which prefix and which token" in out
    assert check_beam_step(lambda t, lp, k: beam_step(t, lp, 2 * k)) == FAILED
    assert "not beam_width per prefix" in capsys.readouterr().out
    assert check_beam_step(lambda *a: 1 / 0) == FAILED
    assert check_beam_step(lambda *a: None) == FAILED


def _bleu(hyps, refs):
    """Corpus BLEU written out: clipped n-gram precisions summed over the corpus, brevity penalty."""
    import collections
    import math

    matches, totals, c, r = [0] * 4, [0] * 4, 0, 0
    for h, ref in zip(hyps, refs):
        c, r = c + len(h), r + len(ref)
        for n in range(1, 5):
            hc = collections.Counter(tuple(h[i:i + n]) for i in range(len(h) - n + 1))
            rc = collections.Counter(tuple(ref[i:i + n]) for i in range(len(ref) - n + 1))
            matches[n - 1] += sum(min(k, rc[g]) for g, k in hc.items())
            totals[n - 1] += max(0, len(h) - n + 1)
    if min(matches) == 0:
        return 0.0
    return 100 * min(1, math.exp(1 - r / c)) * math.exp(sum(math.log(m / t) for m, t in zip(matches, totals)) / 4)


def test_check_bleu_agrees_with_sacrebleu_and_names_the_usual_mistakes(capsys):
    from seqlib.checks.day09 import _bleu_variants, check_bleu, sacre_bleu

    assert check_bleu(_bleu) == PASSED and check_bleu(sacre_bleu) == PASSED
    capsys.readouterr()
    assert check_bleu(lambda h, r: _bleu(h, r) / 100) == FAILED
    assert "0..1 scale" in capsys.readouterr().out
    assert check_bleu(lambda h, r: _bleu_variants(h, r)["unclipped"]) == FAILED
    assert "clip" in capsys.readouterr().out
    assert check_bleu(lambda h, r: _bleu_variants(h, r)["no_brevity"]) == FAILED
    assert "brevity penalty" in capsys.readouterr().out
    assert check_bleu(lambda h, r: _bleu_variants(h, r)["per_sentence"]) == FAILED
    assert "averaged sentence scores" in capsys.readouterr().out
