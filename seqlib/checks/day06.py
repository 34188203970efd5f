"""Checks of Day 6 (text generation), against :func:`seqlib.decoding.filter_logits` and the definitions."""

from __future__ import annotations

import math
import random

import torch

from seqlib.checks.feedback import Verdict, fresh_seeds, guard, report, result_of, shaped
from seqlib.decoding import filter_logits
from seqlib.ngram import to_bits

__all__ = ["check_filter_logits", "check_bits_per_character", "bits_per_char"]


def _kept(x: torch.Tensor) -> list[int]:
    return [i for i, v in enumerate(x.tolist()) if v != float("-inf")]


def _hint(logits, settings, got) -> str:
    T = settings.get("temperature", 1.0)
    if T not in (0, 1) and torch.allclose(got, logits):
        return "divide the logits by the temperature first: logits / temperature"
    if T not in (0, 1) and torch.allclose(got, logits * T):
        return "you multiplied by the temperature: divide the logits by it (a low temperature sharpens)"
    if T == 0:
        return "temperature 0 is the limit of dividing by a tiny T: only the argmax keeps its logit"
    k, p = settings.get("top_k"), settings.get("top_p")
    if k is not None and p is None and len(_kept(got)) != k:
        return f"top-k keeps exactly k = {k} tokens (the k largest logits); you kept {len(_kept(got))}"
    if p is not None:
        probs = torch.softmax(filter_logits(logits, T, k), -1)
        order = torch.argsort(probs, descending=True)
        below = [int(i) for i, c in zip(order, torch.cumsum(probs[order], 0)) if c < p]
        if sorted(_kept(got)) == sorted(below):
            return ("keep the token that makes the mass reach p as well: the smallest set whose "
                    "probability is at least p")
        if k is not None:
            return "apply the filters in order: divide by T, keep the top k, then top-p on what is left"
        return "sort the probabilities from the largest down and keep tokens until their sum reaches p"
    return "every logit you drop becomes float('-inf'); the kept ones keep their (tempered) values"


@guard("filter_fn(logits, temperature, top_k, top_p)")
def check_filter_logits(filter_fn) -> Verdict:
    """``filter_fn(logits, temperature=1.0, top_k=None, top_p=None)`` on a 1-D tensor of logits."""
    g = torch.Generator().manual_seed(fresh_seeds(1)[0])  # new logits, in a new order, at every call
    rand = torch.randn(10, generator=g, dtype=torch.float64) * 2
    lp = torch.log(torch.tensor([0.05, 0.5, 0.1, 0.25, 0.1 - 1e-3, 1e-3]).double())  # no two tie in the top four
    lp = lp[torch.randperm(len(lp), generator=g)]
    for logits, settings, what in [  # from one filter alone to all three together
        (lp, dict(temperature=1.0), "temperature 1 and no other filter (the model itself)"),
        (lp, dict(temperature=0.5), "temperature 0.5"),
        (lp, dict(temperature=0), "temperature 0"),
        (rand, dict(top_k=3), "top_k=3 on 10 tokens"),
        (lp, dict(top_p=0.8), "top_p=0.8 with probabilities 0.5, 0.25, 0.1, ..."),
        (rand, dict(temperature=2.0, top_k=6, top_p=0.6), "temperature 2, then top_k=6, then top_p=0.6"),
    ]:
        expected = filter_logits(logits, **settings)
        full = {"temperature": 1.0, "top_k": None, "top_p": None, **settings}
        got = result_of(filter_fn, logits.clone(), full["temperature"], full["top_k"], full["top_p"],
                        name="filter_fn", case=f"for {what}", hint=lambda error: (
                            "temperature 0 means greedy decoding: keep only the argmax instead of dividing by 0"
                            if "ZeroDivision" in error or settings.get("temperature") == 0 else
                            "it receives a 1-D tensor of logits and the three settings (None means no filter)"))
        got = shaped(got, f"filter_fn's result for {what}", expected,
                     hint="return a tensor of the same shape as logits, with -inf where a token is dropped")
        if _kept(got) != _kept(expected) or not torch.allclose(got[torch.isfinite(expected)],
                                                               expected[torch.isfinite(expected)], atol=1e-6):
            return report(False, f"for {what} you kept tokens {_kept(got)} with values "
                                 f"{[round(v, 2) for v in got[torch.isfinite(got)].tolist()][:6]}",
                          _hint(logits, settings, got), expected=f"tokens {_kept(expected)} kept")
    return report(True, "temperature, top-k and top-p give the same distributions as seqlib.decoding.filter_logits")


def bits_per_char(nats_per_token: float, token_count: int, char_count: int) -> float:
    """The course's own: a loss of ``nats_per_token`` over ``token_count`` tokens of a text of ``char_count``
    characters, in bits per character of that text (the whole text's cost, shared over its characters)."""
    return to_bits(nats_per_token * token_count / char_count)


@guard("bits_per_character(nats_per_token, token_count, char_count)")
def check_bits_per_character(fn) -> Verdict:
    """``fn(nats_per_token, token_count, char_count) -> float``: a loss in nats per token (a word, or a
    character) over a text, as bits per character of that text; cases drawn anew at every call."""
    rng = random.Random(fresh_seeds(1)[0])
    cases = [(1.75, 1000, 1000)] + [(rng.uniform(0.5, 6), rng.randint(200, 5000), 0) for _ in range(3)]
    for nats, tokens, chars in cases:
        chars = chars or int(tokens * rng.uniform(3.5, 6))  # a word is a few characters
        expected = bits_per_char(nats, tokens, chars)
        want = f"{expected:.4g} bits per character"
        case = f"for {nats:.3f} nats per token, {tokens:,} tokens, {chars:,} characters"
        got = result_of(fn, nats, tokens, chars, name="bits_per_character", case=case, returns="a number",
                        expected=want, hint="it receives three numbers: nats per token, tokens, characters")
        try:
            got = float(got)
        except (TypeError, ValueError):
            return report(False, f"bits_per_character returned {got!r:.40} {case}", "return one number",
                          expected=want)
        if math.isclose(got, expected, rel_tol=1e-6):
            continue
        wrong = {nats / math.log(2): "you converted the loss per token, not per character",
                 nats * tokens / chars: "your answer is in nats per character",
                 nats * tokens * math.log(2) / chars: "you multiplied by ln 2",
                 nats / (chars * math.log(2)): "you shared one token's loss over the text, not all of them"}
        message = next((m for value, m in wrong.items() if math.isclose(got, value, rel_tol=1e-6)),
                       f"you returned {got:.4g}")
        return report(False, f"{message} {case}", "the whole text costs nats_per_token x token_count nats; "
                      "share them over its characters, and a bit is ln 2 = 0.693 nats", expected=want)
    return report(True, "bits per character of the text: a word model and a character model can now be "
                        "compared on the same text (1.75 nats per character = 2.52 bits)")
