"""The Day 9 exercise checks accept right answers, explain wrong ones in the one format and never raise."""

import torch

from seqlib import decoding
from seqlib.checks.day09 import beam_case, check_attention_step, check_beam_search
from seqlib.checks.feedback import Verdict

PASSED, FAILED = Verdict(True), Verdict(False)


def attention_step(s, K, H, mask, W_q, v, use_mask=True):
    scores = torch.tanh((s @ W_q.T)[:, None, :] + K) @ v          # (B, S)
    if use_mask:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return (weights[:, :, None] * H).sum(1), weights


def beam_search(step, state, bos, eos, max_len, beam_width, alpha, keep=None, reorder=True):
    """The lab's answer; ``keep(totals, log_probs, width)`` -> (scores, parents, tokens) can replace its
    choice of the extensions kept, and ``reorder=False`` leave the state's rows where they are, to make
    the known mistakes."""
    log_probs, state = step(state, torch.tensor([bos]))
    prefixes, totals, finished = [[]], torch.zeros(1, dtype=torch.float64), []
    for t in range(max_len):
        V = log_probs.shape[1]
        if keep is None:
            scores, flat = (totals[:, None] + log_probs).reshape(-1).topk(min(beam_width, log_probs.numel()))
            parents, tokens = flat // V, flat % V
        else:
            scores, parents, tokens = keep(totals, log_probs, beam_width)
        live, kept = [], []
        for score, parent, token in zip(scores.tolist(), parents.tolist(), tokens.tolist()):
            prefix = prefixes[parent] + [token]
            if token == eos or t + 1 == max_len:
                finished.append((prefix, score))
            else:
                live.append((prefix, score))
                kept.append(parent)
        if not live:
            break
        prefixes, totals = [p for p, _ in live], torch.tensor([s for _, s in live], dtype=torch.float64)
        rows = kept if reorder else [min(k, len(state) - 1) for k in range(len(kept))]
        log_probs, state = step(decoding.reorder(state, rows), torch.tensor([p[-1] for p in prefixes]))
    return max(finished, key=lambda out: out[1] / len(out[0]) ** alpha)


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


def test_check_beam_search_feedback(capsys):
    assert check_beam_search(beam_search) == PASSED
    assert capsys.readouterr().out.startswith("✅")

    def per_prefix(totals, log_probs, beam_width):
        best, token = log_probs.max(dim=1)
        scores, order = torch.sort(totals + best, descending=True)
        return scores[:beam_width], order[:beam_width], token[order][:beam_width]
    assert check_beam_search(lambda *a: beam_search(*a, keep=per_prefix)) == FAILED
    out = capsys.readouterr().out
    assert "best extension" in out or "better log P" in out, out
    assert check_beam_search(lambda *a: beam_search(*a[:-1], 0.0)) == FAILED  # alpha ignored
    out = capsys.readouterr().out
    assert "total log-probability" in out or "better log P" in out, out

    assert check_beam_search(lambda *a: beam_search(*a, reorder=False)) == FAILED
    out = capsys.readouterr().out
    assert "parent's state" in out or "better log P" in out, out
    assert check_beam_search(lambda *a: (beam_search(*a)[0], 0.0)) == FAILED
    assert "not that of the returned tokens" in capsys.readouterr().out
    assert check_beam_search(lambda *a: ([a[2]] + beam_search(*a)[0], beam_search(*a)[1])) == FAILED
    assert "starts with <bos>" in capsys.readouterr().out
    assert check_beam_search(lambda *a: ([-1, a[3]], beam_search(*a)[1])) == FAILED  # -1 would index from the end
    assert "outside 0.." in capsys.readouterr().out
    assert check_beam_search(lambda *a: beam_search(*a)[0]) == FAILED
    assert "pair (tokens, log_prob)" in capsys.readouterr().out
    assert check_beam_search(lambda *a: 1 / 0) == FAILED
    assert check_beam_search(lambda *a: None) == FAILED


def test_the_beam_search_cases_are_models_where_beam_and_greedy_differ():
    """The cases must tell the mistakes apart: on some of them the best output is not greedy's."""
    differ = 0
    for seed in range(20):
        step, state, bos, eos, max_len, width, alpha = beam_case(seed)
        greedy = decoding.greedy(step, state, [bos], max_len, eos=eos)
        tokens = greedy.tokens[0, :int(greedy.lengths[0])].tolist()
        differ += tokens != beam_search(step, state, bos, eos, max_len, width, alpha)[0]
    assert differ >= 5


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
