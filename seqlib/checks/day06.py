"""Checks of Day 6 (text generation), against :func:`seqlib.decoding.filter_logits` and the definitions."""

from __future__ import annotations

import math
import random

import torch

from seqlib.checks.feedback import Verdict, fresh_seeds, guard, report, result_of, shaped
from seqlib.decoding import filter_logits

__all__ = ["check_filter_logits", "check_bits_and_perplexity"]


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


@guard("convert_fn(nats)")
def check_bits_and_perplexity(convert_fn) -> Verdict:
    """``convert_fn(nats) -> (bits, perplexity)`` for a loss in nats per token."""
    for nats in (0.0, math.log(2), 1.75, *(random.uniform(0.5, 5) for _ in range(2))):
        expected = (nats / math.log(2), math.exp(nats))
        got = result_of(convert_fn, nats, name="convert_fn", case=f"for {nats:.3f} nats",
                        hint="it receives one number (a float)")
        try:
            bits, ppl = (float(v) for v in got)
        except (TypeError, ValueError):
            return report(False, f"convert_fn returned {got!r:.40} for {nats:.3f} nats", "end with `return bits, perplexity`",
                          expected="a pair of numbers (bits, perplexity)")
        if not math.isclose(bits, expected[0], rel_tol=1e-6, abs_tol=1e-9):
            hint = "one bit is ln 2 ≈ 0.693 nats: divide by math.log(2)"
            if math.isclose(bits, nats * math.log(2), rel_tol=1e-6, abs_tol=1e-9):
                hint = "you multiplied by ln 2; a bit is a larger unit than a nat, so divide by math.log(2)"
            return report(False, f"{nats:.3f} nats gave {bits:.4g} bits", hint, expected=f"{expected[0]:.4g} bits")
        if not math.isclose(ppl, expected[1], rel_tol=1e-6):
            hint = "perplexity is e to the loss in nats (or 2 to the loss in bits)"
            if math.isclose(ppl, 2 ** nats, rel_tol=1e-6):
                hint = "2 ** nats mixes units: use math.exp(nats), or 2 ** bits"
            return report(False, f"{nats:.3f} nats gave a perplexity of {ppl:.4g}", hint, expected=f"{expected[1]:.4g}")
    return report(True, "1.75 nats = 2.52 bits per character = a perplexity of 5.75: as unsure as a fair "
                        "choice among about 6 characters")
