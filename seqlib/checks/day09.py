"""Checks of Day 9 (attention, beam search), against :func:`seqlib.attention.additive_step` and the
ranking rule of :func:`seqlib.decoding.beam_search`. Each grades cases drawn anew at every call, and
describes a right answer without printing its values."""

from __future__ import annotations

import math
import random

import torch

from seqlib import decoding
from seqlib.batching import padding_mask
from seqlib.checks.feedback import Verdict, as_array, as_float, first_failure, fresh_seeds, guard, report, result_of, shaped
from seqlib.attention import additive_step

__all__ = ["attention_case", "check_attention_step", "beam_case", "best_output", "check_beam_search", "check_bleu",
           "sacre_bleu"]


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


def beam_case(seed: int):
    """A small random recurrent model to decode, drawn from ``seed``: ``(step, state, bos, eos, max_len,
    beam_width, alpha)``, the arguments of the beam search exercise. ``step(state, tokens)`` ->
    ``(log_probs (K, V), state)`` updates a hidden state ``(K, 4)`` (so each prefix needs its own), with
    5 to 7 tokens, ``eos = 0``, ``bos = V``, at most 5 to 7 tokens, a width of 2 to 4 and alpha 0.7 or 1."""
    g = torch.Generator().manual_seed(seed)
    V, h = 5 + seed % 3, 4
    E, W = torch.randn(V + 1, h, generator=g, dtype=torch.float64), 0.9 * torch.randn(h, h, generator=g, dtype=torch.float64)
    U = torch.randn(h, V, generator=g, dtype=torch.float64)

    def step(state, tokens):
        state = torch.tanh(state @ W + E[torch.as_tensor(tokens)])
        return torch.log_softmax(state @ U, dim=-1), state

    return step, torch.zeros(1, h, dtype=torch.float64), V, 0, 5 + seed % 3, 2 + seed % 3, (0.7, 1.0)[seed // 3 % 2]


def best_output(step, state, bos, eos, max_len, beam_width, alpha):
    """The course's beam search (:func:`seqlib.decoding.beam_search`) in the exercise's form: the best
    output ``(tokens, log_prob)``, ``tokens`` ending in ``eos`` when it finished."""
    best = decoding.beam_search(step, state, [bos], max_len, beam_width=beam_width, alpha=alpha, eos=eos)[0]
    return best.tokens, best.log_prob


def _beam_with_mistake(step, state, bos, eos, max_len, width, alpha, mistake):
    """A beam search with one known ``mistake``: "per_prefix" (each prefix keeps its best token only),
    "no_finish" (an output goes on after eos), "drop_last" (the prefixes still live after max_len tokens
    are dropped), "total" (outputs ranked by total log-probability, alpha ignored), "no_reorder" (row k
    of the state stays row k, whichever prefix it now holds). Returns its best ``(tokens, log_prob)``."""
    log_probs, state = step(state, torch.tensor([bos]))
    prefixes, totals, finished = [[]], torch.zeros(1, dtype=torch.float64), []
    for t in range(max_len):
        V = log_probs.shape[1]
        if mistake == "per_prefix":
            best, token = log_probs.max(dim=1)
            scores, parents = torch.sort(totals + best, descending=True)
            scores, parents, tokens = scores[:width], parents[:width], token[parents[:width]]
        else:
            scores, flat = (totals[:, None] + log_probs).reshape(-1).topk(min(width, log_probs.numel()))
            parents, tokens = flat // V, flat % V
        live = []
        for score, parent, token in zip(scores.tolist(), parents.tolist(), tokens.tolist()):
            out = (prefixes[parent] + [token], score, parent)
            if (token == eos and mistake != "no_finish") or t + 1 == max_len:
                finished += [out] if t + 1 < max_len or mistake != "drop_last" or token == eos else []
            else:
                live.append(out)
        if not live:
            break
        prefixes, totals = [p for p, _, _ in live], torch.tensor([s for _, s, _ in live], dtype=torch.float64)
        rows = ([p for _, _, p in live] if mistake != "no_reorder" else
                [min(k, len(state) - 1) for k in range(len(live))])
        log_probs, state = step(decoding.reorder(state, torch.tensor(rows)), torch.tensor([p[-1] for p in prefixes]))
    a = 0.0 if mistake == "total" else alpha
    best = max(finished, key=lambda h: h[1] / len(h[0]) ** a) if finished else ([], 0.0)
    return best[0], best[1]


MISTAKES = ("per_prefix", "total", "drop_last", "no_finish", "no_reorder")


def _telling_seeds(at_least: int = 4, at_most: int = 12) -> list[int]:
    """Fresh seeds of :func:`beam_case` until every mistake of :func:`_beam_with_mistake` gives a wrong output (other
    tokens, or a log-probability that is not theirs) on one of them."""
    seeds, untold = [], set(MISTAKES)
    while len(seeds) < at_least or (untold and len(seeds) < at_most):
        seeds.append(seed := fresh_seeds(1)[0])
        case = beam_case(seed)
        right = best_output(*case)[0]
        for mistake in list(untold):
            tokens, claimed = _beam_with_mistake(*case, mistake)
            if tokens != right or (tokens and abs(claimed - _log_prob(case[0], case[1], case[2], tokens)) > 1e-6):
                untold.discard(mistake)
    return seeds


def _log_prob(step, state, bos, tokens) -> float:
    """The log-probability of ``tokens`` after ``bos`` under the model ``step``, read off one row."""
    total, previous = 0.0, bos
    for token in tokens:
        log_probs, state = step(state, torch.tensor([previous]))
        total, previous = total + float(log_probs[0, token]), token
    return total


@guard("beam_search(step, state, bos, eos, max_len, beam_width, alpha)")
def check_beam_search(beam_search) -> Verdict:
    """Check ``beam_search(step, state, bos, eos, max_len, beam_width, alpha)`` -> the best output
    ``(tokens, log_prob)`` of a beam search with finished outputs and length normalisation, against
    :func:`seqlib.decoding.beam_search` on small random recurrent models (:func:`beam_case`) drawn anew at
    every call, enough of them that each known mistake changes at least one output: its output must be as
    good as the course's (the same ``log P / len ** alpha``)."""
    seeds = _telling_seeds()
    return first_failure(
        lambda seed: _grade_beam(beam_search, seed), zip(seeds),
        f"beam_search finds the output the course's beam search finds, on {len(seeds)} random models: the best "
        "extensions over all prefixes, finished outputs set aside at <eos>, each prefix on its own state, "
        "and the outputs ranked by log P / len ** alpha")


def _grade_beam(beam_search, seed):
    """``None`` if ``beam_search`` is right on ``beam_case(seed)``, else the failure reported."""
    step, state, bos, eos, max_len, width, alpha = case = beam_case(seed)
    best_tokens, best = best_output(*case)
    best_score = best / len(best_tokens) ** alpha
    want = (f"the best output of a beam of width {width} (at most {max_len} tokens, alpha = {alpha}) on a random "
            "model, as (tokens, log_prob)")
    out = result_of(beam_search, step, state.clone(), bos, eos, max_len, width, alpha, name="beam_search",
                    expected=want, hint="step(state, tokens) takes the live prefixes' states and last tokens, "
                                        "(K,), and returns their log-probabilities (K, V) and new states")
    pair = isinstance(out, (tuple, list)) and len(out) == 2
    if not pair or (as_array(out[0]) is not None and as_array(out[0]).ndim == 0):  # two token ids, no score
        return report(False, f"beam_search should return the pair (tokens, log_prob), got {type(out).__name__}",
                      "return the best finished output's tokens and its total log-probability", expected=want)
    tokens, claimed = as_array(out[0]), as_float(out[1])
    if tokens is None or tokens.ndim != 1 or len(tokens) == 0 or (tokens != tokens.round()).any():
        return report(False, "the tokens returned are not a non-empty list of token ids",
                      "keep each prefix as a list of ints and return the best one", expected=want)
    if claimed is None:
        return report(False, "the log-probability returned is not a number",
                      "return the output's total log-probability as well", expected=want)
    tokens = [int(k) for k in tokens]
    if eos in tokens[:-1] or tokens[0] == bos:
        return report(False, "an output goes on after <eos>" if eos in tokens[:-1] else "the output starts with <bos>",
                      "an extension that ends in eos is finished: set it aside, and never extend it", expected=want)
    vocab_size = step(state.clone(), torch.tensor([bos]))[0].shape[1]
    if min(tokens) < 0 or max(tokens) >= vocab_size:
        return report(False, f"a token id lies outside 0..{vocab_size - 1}, the model's vocabulary",
                      "a token is a column of log_probs: the flat index modulo V", expected=want)
    if len(tokens) > max_len or (tokens[-1] != eos and len(tokens) < max_len):
        return report(False, f"an output of {len(tokens)} tokens neither ends in <eos> nor reaches max_len",
                      "an output ends at eos, or when it has max_len tokens", expected=want)
    true = _log_prob(step, state.clone(), bos, tokens)
    if abs(claimed - true) > 1e-4:
        return report(False, "the log-probability returned is not that of the returned tokens under the model",
                      "each live prefix continues from its parent's state: pick the states' rows by parent "
                      "(decoding.reorder) before the next step", expected=want)
    score = true / len(tokens) ** alpha
    if abs(score - best_score) <= 1e-4:
        return None
    if score > best_score:
        return report(False, f"beam_search finds a better output than a beam of width {width} can",
                      "keep beam_width prefixes, no more, at every step", expected=want)
    named = [(message, hint) for mistake, message, hint in (
        ("per_prefix", "each prefix keeps only its own best extension",
         "rank all K x V extensions together, so a good prefix may keep several"),
        ("total", "the outputs are ranked by their total log-probability",
         "divide each finished output's log-probability by its length to the power alpha"),
        ("drop_last", "the prefixes still live after max_len tokens are dropped",
         "after max_len tokens every live prefix counts as finished")) if tokens == _beam_with_mistake(*case, mistake)[0]]
    if len(named) == 1:  # one known mistake gives exactly this output
        return report(False, *named[0], expected=want)
    return report(False, f"a beam of width {width} should find an output with a better log P / len ** alpha",
                  "keep the beam_width best extensions over all live prefixes at every step (a finished one "
                  "leaves the beam), and compare finished outputs by log P / len ** alpha", expected=want)


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
