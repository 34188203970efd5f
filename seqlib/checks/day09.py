"""Checks of Day 9 (attention, beam search), against :func:`seqlib.attention.additive_step` and the
ranking rule of :func:`seqlib.decoding.beam_search`. Each grades cases drawn anew at every call, and
describes a right answer without printing its values."""

from __future__ import annotations

import math
import random

import torch

from seqlib.batching import padding_mask
from seqlib.checks.feedback import Verdict, as_float, first_failure, fresh_seeds, guard, report, result_of, shaped
from seqlib.attention import additive_step

__all__ = ["attention_case", "check_attention_step", "beam_case", "check_beam_step", "check_bleu", "sacre_bleu"]


def attention_case(seed: int = 9):
    """The inputs of the attention exercise: ``s (B, h), K (B, S, a), H (B, S, k), mask (B, S), W_q (a, h),
    v (a,)``, values and sizes (B 2 or 3, S 5 to 7) drawn from ``seed``; the padding of ``H`` and ``K``
    holds large values."""
    g = torch.Generator().manual_seed(seed)
    B, S, h, k, a = 2 + seed % 2, 5 + seed % 3, 3, 4, 6
    mask = padding_mask(torch.randint(1, S, (B,), generator=g), S)
    H = torch.randn(B, S, k, generator=g).masked_fill(~mask[:, :, None], 50.0)
    K = (H @ torch.randn(a, k, generator=g).T).masked_fill(~mask[:, :, None], 50.0)
    return torch.randn(B, h, generator=g), K, H, mask, torch.randn(a, h, generator=g), torch.randn(a, generator=g)


@guard("attention_step(s, K, H, mask, W_q, v)")
def check_attention_step(attention_step) -> Verdict:
    """Check ``attention_step(s, K, H, mask, W_q, v)`` -> ``(context (B, k), weights (B, S))``: additive
    attention for one decoder step, the keys ``K`` projected beforehand, padding masked; against
    :func:`seqlib.attention.additive_step` on three cases drawn anew at every call."""
    return first_failure(
        lambda seed: _grade_attention(attention_step, seed), zip(fresh_seeds(3)),
        "attention_step gives the additive attention weights (0 on padding, rows summing to 1) and the context "
        "vector of one decoder step, on 3 cases")


def _grade_attention(attention_step, seed):
    """``None`` if ``attention_step`` is right on ``attention_case(seed)``, else the failure reported."""
    args = s, K, H, mask, W_q, v = attention_case(seed)
    context, weights = additive_step(*args)
    want = f"a context of shape {tuple(context.shape)} = (B, k) and weights of shape {tuple(weights.shape)} = (B, S)"
    out = result_of(attention_step, *(t.clone() for t in args), name="attention_step", expected=want,
                    hint="the query's term W_q s is (B, a), the keys K are (B, S, a): give the query's term a "
                         "source axis so that it adds to every key")
    c, w = shaped(out, "attention_step", (context, weights), names=("context", "weights"), expected=want,
                  hint="return context, weights; the scores have one value per source position: (B, S); the "
                       "context is a weighted sum of the rows of H over S")
    pad_weight = float(w.masked_select(~mask).abs().sum())
    if pad_weight > 1e-6:
        return report(False, f"the padding receives attention weight ({pad_weight:.3g} in all)",
                      "give the padding positions a score of -inf before the softmax, so that their weight is 0",
                      expected="weight 0 at every padding position")
    if not torch.allclose(w.sum(-1), torch.ones(len(w)), atol=1e-5):
        return report(False, "the weights of a row do not sum to 1",
                      "the softmax runs over the source positions", expected="rows that sum to 1")
    if not torch.allclose(w, weights, atol=1e-5):
        return report(False, f"the weights differ from additive attention's (max |diff| "
                             f"{float((w - weights).abs().max()):.3g})",
                      "e_i = v . tanh(W_q s + k_i), then a masked softmax", expected=want)
    if not torch.allclose(c, context, atol=1e-4):
        return report(False, "the weights are right but the context is not",
                      "the context is the weighted average of the values H (not of the keys K)", expected=want)
    return None


def beam_case(seed: int | None = None):
    """One step of beam search, midway: ``totals (K,)`` (log-probabilities of the K live prefixes),
    ``log_probs (K, V)`` (their next-token distributions) and ``beam_width``: the lab's case, or with
    a ``seed`` one drawn at random (2 to 4 prefixes, 3 to 6 tokens, a width from 2 to K)."""
    if seed is not None:
        g = torch.Generator().manual_seed(seed)
        K, V = 2 + seed % 3, 3 + seed % 4
        return (torch.log_softmax(torch.randn(K, generator=g, dtype=torch.float64), 0),
                torch.log_softmax(2 * torch.randn(K, V, generator=g, dtype=torch.float64), 1), 2 + seed % (K - 1))
    totals = torch.log(torch.tensor([0.5, 0.4, 0.1], dtype=torch.float64))
    log_probs = torch.log(torch.tensor([[0.30, 0.35, 0.35, 1e-9], [0.90, 0.05, 0.05, 1e-9],
                                        [0.20, 0.30, 0.20, 0.30]], dtype=torch.float64))
    return totals, log_probs, 3


def _reference_beam(totals, log_probs, width):
    V = log_probs.shape[1]
    scores, flat = torch.sort((totals[:, None] + log_probs).reshape(-1), descending=True, stable=True)
    return scores[:width], flat[:width] // V, flat[:width] % V


@guard("beam_step(totals, log_probs, beam_width)")
def check_beam_step(beam_step) -> Verdict:
    """Check ``beam_step(totals, log_probs, beam_width)`` -> ``(scores, parents, tokens)``: the ``beam_width``
    best extensions over all live prefixes (not per prefix), best first."""
    return first_failure(
        lambda seed: _grade_beam(beam_step, seed), [(None,), *zip(fresh_seeds())],
        "beam_step keeps the beam_width best extensions over all prefixes (in the lab's case the best one "
        "extends the second prefix, and the first prefix keeps two)")


def _grade_beam(beam_step, seed):
    """``None`` if ``beam_step`` is right on ``beam_case(seed)``, else the failure reported."""
    totals, log_probs, width = beam_case(seed)
    scores, parents, tokens = _reference_beam(totals, log_probs, width)
    want = (f"for beam_case({'' if seed is None else seed}): the {width} best of the {log_probs.numel()} extensions, "
            "best first, as (scores, parents, tokens)")
    out = result_of(beam_step, totals, log_probs, width, name="beam_step", expected=want, hint="totals is (K,) "
                    "and log_probs (K, V): an extension scores its prefix's total plus its token's log-probability, "
                    "and all K x V extensions compete together")
    got = shaped(out, "beam_step", (scores, parents, tokens), names=("scores", "parents", "tokens"), expected=want,
                 hint=f"return three tensors of beam_width = {width} extensions in all, not beam_width per prefix")
    if not torch.allclose(got[0], scores, atol=1e-6):
        per_row = totals + log_probs.max(dim=1).values
        if torch.allclose(torch.sort(got[0], descending=True).values,
                          torch.sort(per_row, descending=True).values, atol=1e-6):
            return report(False, "beam_step keeps the best extension of each prefix", expected=want,
                          hint="rank all K x V extensions together (flatten), so a good prefix may keep several")
        if torch.allclose(got[0], _reference_beam(torch.zeros_like(totals), log_probs, width)[0], atol=1e-6):
            return report(False, "beam_step ranks by the last token only",
                          "add each prefix's total log-probability to the log-probabilities of its extensions", expected=want)
        return report(False, f"the scores {[round(x, 3) for x in got[0].tolist()]} are not the best ones",
                      "sort the flattened totals[:, None] + log_probs in descending order", expected=want)
    if got[1].tolist() != parents.tolist() or got[2].tolist() != tokens.tolist():
        return report(False, f"the scores are right but parents {got[1].long().tolist()} / tokens "
                             f"{got[2].long().tolist()} are not", expected=want,
                      hint="where a score sits among the K x V extensions says which prefix and which token it "
                           "extends: work the prefix and the token back from its position")
    return None


def sacre_bleu(hypotheses, references) -> float:
    """The course's own corpus BLEU (0..100) of token lists, one reference each: sacreBLEU on the tokens
    as given (``tokenize="none"``), without smoothing."""
    import sacrebleu

    return float(sacrebleu.corpus_bleu([" ".join(h) for h in hypotheses], [[" ".join(r) for r in references]],
                                       tokenize="none", smooth_method="none", force=True).score)


def _bleu_corpus(rng):
    """A corpus of 3 to 6 sentences over 8 words, outputs near their references and shorter."""
    words = "a man dog runs on the grass red".split()
    refs, hyps = [], []
    for _ in range(rng.randint(3, 6)):
        ref = [rng.choice(words) for _ in range(rng.randint(6, 12))]
        hyp = [w if rng.random() < 0.8 else rng.choice(words) for w in ref][:len(ref) - rng.randint(2, 3)]
        refs.append(ref)
        hyps.append(hyp + [hyp[0]] * rng.randint(0, 1))  # a repeated word: clipping counts; still short
    return hyps, refs


@guard("bleu(hypotheses, references)")
def check_bleu(bleu) -> Verdict:
    """Check ``bleu(hypotheses, references)`` -> corpus BLEU in 0..100 (lists of token lists, one reference
    per sentence; n-grams up to 4) against sacreBLEU on corpora drawn anew at every call."""
    rng = random.Random(fresh_seeds(1)[0])
    for _ in range(3):
        hyps, refs = _bleu_corpus(rng)
        expected = sacre_bleu(hyps, refs)
        want = f"{expected:.2f} for this corpus of {len(hyps)} sentences (sacreBLEU, tokens as given)"
        got = as_float(result_of(bleu, [list(h) for h in hyps], [list(r) for r in refs], name="bleu", expected=want,
                                 hint="it receives two lists of sentences, each a list of words", returns="a number"))
        if got is None:
            return report(False, "bleu should return one number", "BLEU is one score for the whole corpus",
                          expected=want)
        if abs(got - expected) < 1e-3:
            continue
        if abs(got - expected / 100) < 1e-5:
            return report(False, "your BLEU is on a 0..1 scale", "report it in 0..100, as sacreBLEU does",
                          expected=want)
        unclipped = _bleu_variants(hyps, refs)
        if abs(got - unclipped["unclipped"]) < 1e-3:
            return report(False, "an n-gram the output repeats is counted more often than the reference has it",
                          "clip each n-gram's count at its count in the reference", expected=want)
        if abs(got - unclipped["no_brevity"]) < 1e-3:
            return report(False, "short outputs are not penalised", "multiply by the brevity penalty "
                          "exp(1 - r / c) when the outputs' total length c is below the references' r",
                          expected=want)
        if abs(got - unclipped["per_sentence"]) < 1e-3:
            return report(False, "you averaged sentence scores", "corpus BLEU adds the clipped matches and the "
                          "n-gram counts over all sentences first, then takes the precisions", expected=want)
        return report(False, f"bleu gives {got:.2f}", expected=want,
                      hint="p_n = clipped n-gram matches / output n-grams, summed over the corpus, n = 1..4; "
                           "BLEU = 100 * BP * exp(mean of log p_n), BP = min(1, exp(1 - r / c))")
    return report(True, "your BLEU equals sacreBLEU's on 3 corpora: clipped n-gram precisions, their geometric "
                        "mean and the brevity penalty")


def _bleu_variants(hyps, refs) -> dict:
    """The usual mistakes' scores: without clipping, without the brevity penalty, a mean of sentence scores."""
    def score(pairs, clip=True, brevity=True):
        matches, totals, c, r = [0] * 4, [0] * 4, 0, 0
        for h, ref in pairs:
            c, r = c + len(h), r + len(ref)
            for n in range(1, 5):
                grams = [tuple(h[i:i + n]) for i in range(len(h) - n + 1)]
                ref_grams = [tuple(ref[i:i + n]) for i in range(len(ref) - n + 1)]
                counts = {g: grams.count(g) for g in set(grams)}
                matches[n - 1] += sum(min(k, ref_grams.count(g)) if clip else k * (g in ref_grams)
                                      for g, k in counts.items())
                totals[n - 1] += len(grams)
        if min(matches) == 0:
            return 0.0
        bp = min(1.0, math.exp(1 - r / c)) if brevity else 1.0
        return 100 * bp * math.exp(sum(math.log(m / t) for m, t in zip(matches, totals)) / 4)
    pairs = list(zip(hyps, refs))
    return {"unclipped": score(pairs, clip=False), "no_brevity": score(pairs, brevity=False),
            "per_sentence": sum(score([p]) for p in pairs) / len(pairs)}
