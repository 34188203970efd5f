"""Checks of Day 3 (language models on *The Time Machine*), against ``torch`` / ``torch.nn``."""

from __future__ import annotations

import functools
import math

import torch
from torch import nn

from seqlib import cells
from seqlib.checks.feedback import (Verdict, as_float, fresh_seeds, guard, report, result_of, shape_str,
                                    shaped, unlike_last)
from seqlib.fused import unfuse
from seqlib.validation import positive_int

__all__ = ["check_perplexity", "check_fused_lstm_step", "check_sample_next", "logits_perplexity",
           "fused_step", "sample_token"]


def logits_perplexity(logits, targets) -> torch.Tensor:
    """The course's answer to Day 3's Exercise 1: ``exp`` of the mean cross-entropy of ``logits`` (n, V)
    against the token indices ``targets`` (n,), as ``torch.nn.functional.cross_entropy`` computes it."""
    return torch.exp(nn.functional.cross_entropy(torch.as_tensor(logits), torch.as_tensor(targets).long()))


def fused_step(XW_t, H, C, W_h):
    """The course's answer to Day 3's Exercise 2: one fused LSTM step (shapes as in :func:`check_fused_lstm_step`)."""
    return cells.lstm_pointwise((XW_t + H @ W_h).split(H.shape[1], dim=1), C)


def sample_token(logits, temperature, generator) -> int:
    """The course's answer to Day 3's Exercise 3: the argmax at temperature 0, else a draw from softmax(logits / T)."""
    if temperature == 0:
        return int(logits.argmax())
    return int(torch.multinomial(torch.softmax(logits / temperature, 0), 1, generator=generator))


def _perplexity_cases(seed: int) -> list[tuple[torch.Tensor, torch.Tensor, str]]:
    """Day 3's Exercise 1, graded: ``(logits, targets, what)``, drawn anew from ``seed``."""
    g = torch.Generator().manual_seed(seed)

    def draw(low, high):
        return int(torch.randint(low, high, (1,), generator=g))

    n, V = draw(20, 60), draw(5, 40)
    equal = torch.full((n, V), float(torch.randn(1, generator=g)) * 5)
    n, V = draw(30, 80), draw(5, 30)
    moderate = torch.randn(n, V, generator=g) * 2
    n, V = draw(300, 500), draw(20, 30)  # rows in the thousands, a few targets far below their row's max
    huge = torch.randint(1000, 3000, (n, 1), generator=g) + torch.randn(n, V, generator=g) * 3
    targets = [torch.randint(0, z.shape[1], (len(z),), generator=g) for z in (equal, moderate, huge)]
    rows = torch.randperm(n, generator=g)[:2]
    huge[rows, targets[2][rows]] = huge[rows].max(1).values - 800 - 200 * torch.rand(2, generator=g)
    return [(equal, targets[0], "equal logits (a model that has learned nothing)"),
            (moderate, targets[1], f"random logits at {moderate.shape[0]} positions over {moderate.shape[1]} tokens "
                                   "(the reference: torch.nn's cross-entropy)"),
            (huge, targets[2], f"logits in the thousands at {n} positions (two targets far below their row's max)")]


def _as_inf_if_nan(fn):
    """``fn``, a NaN result returned as inf: the check names the cause (an underflowed softmax)."""
    @functools.wraps(fn)
    def call(*args):
        got = fn(*args)
        value = as_float(got)
        return math.inf if value is not None and math.isnan(value) else got
    return call


def _mistake(log_value: float, logits: torch.Tensor, targets: torch.Tensor) -> str | None:
    """The known mistake whose perplexity has the log ``log_value`` on this case, if any."""
    log_p, rows = torch.log_softmax(logits.double(), -1), torch.arange(len(targets))
    nll = -log_p[rows, targets]
    mean = float(nll.mean())
    wrong = [
        (float(nll.sum()), "you summed the negative log-likelihoods; take their mean (per token)"),
        (math.log(mean) if mean > 0 else math.nan,
         "that is the cross-entropy (the mean negative log-likelihood); perplexity is its "
         "exponential"),
        (-mean, "the sign: a log-probability is at most 0, so the perplexity is at least 1"),
        (float(-log_p.max(-1).values.mean()), "you took the log-probability of the most likely token (the "
                                                 "argmax), not of the true next token of each position"),
        (float(-log_p[:, targets].mean()), "you took every position's log-probability of every target; take one "
                                            "per position, that of its own target"),
        (float(-torch.log_softmax(logits.double(), 0)[rows, targets].mean()),
         "the softmax normalises over the vocabulary: each row (one position's V logits) sums to 1"),
        (float(-logits.double()[rows, targets].mean()),
         "logits are not log-probabilities: subtract each row's log-sum-exp (normalise) first"),
        (-math.log(float(torch.exp(-nll).mean())),
         "you averaged the probabilities; average their logs (the geometric mean)"),
    ]
    return next((hint for value, hint in wrong if math.isclose(log_value, value, rel_tol=1e-4, abs_tol=1e-3)), None)


UNDERFLOW = ("the softmax underflowed: a probability below what a float holds became 0 and its log -inf (or exp "
             "of a logit overflowed to inf, and inf / inf is NaN); work in log space: log p_i = (z_i - m) - "
             "log sum_j exp(z_j - m), with m the row's max")


@guard("perplexity_fn(logits, targets)")
def check_perplexity(perplexity_fn) -> Verdict:
    """``perplexity_fn(logits, targets)``: ``logits`` (n, V) a model's scores at n positions, ``targets`` (n,)
    the indices of the true next tokens; returns exp(mean negative log-likelihood), one number."""
    for logits, targets, what in _perplexity_cases(fresh_seeds(1)[0]):
        huge = what.startswith("logits in the thousands")
        expected = float(nn.functional.cross_entropy(logits.double(), targets))  # log of the perplexity
        got = result_of(_as_inf_if_nan(perplexity_fn) if huge else perplexity_fn, logits.clone(), targets.clone(),
                        name="perplexity_fn", case=f"for {what}", returns="one number",
                        hint="it receives logits of shape (n, V) and targets of shape (n,), token indices")
        if (value := as_float(got)) is None:
            kind = f"shape {shape_str(got.shape)}" if hasattr(got, "shape") else f"a {type(got).__name__}"
            return report(False, f"perplexity_fn returned {kind}, not one number, for {what}",
                          "average the negative log-likelihood over the n positions, then exponentiate: "
                          "one number (a float or a 0-D tensor)", expected="one number")
        if value > 0 and math.isfinite(value) and math.isclose(math.log(value), expected, abs_tol=1e-3):
            continue
        if not math.isfinite(value):
            return report(False, f"for {what} you returned {value}", UNDERFLOW if huge else
                          "a perplexity that overflows: exponentiate the mean negative log-likelihood "
                          "per token, not the summed one", expected="a finite perplexity")
        hint = _mistake(math.log(value) if value > 0 else math.nan, logits, targets) or (
            UNDERFLOW if huge else "perplexity = exp(-(1/n) sum_t log p_t), p_t the softmax probability of "
                                   "position t's target (the equation above)")
        return report(False, f"for {what} you returned {value:.4g}", hint,
                      expected="exp of the mean negative log-probability of the targets")
    return report(True, "perplexity = exp(mean negative log-likelihood): the vocabulary's size for equal "
                        "logits, exp of torch.nn's cross-entropy, finite for logits in the thousands")


def _torch_lstm_step(XW_t, H, C, W_h, torch_order=False):
    """One step of ``nn.LSTMCell`` on the fused inputs (identity input weights); ``torch_order``: the
    mistake of reading the fused blocks in PyTorch's order i, f, g, o."""
    h = H.shape[1]
    params = unfuse(torch.eye(4 * h, dtype=XW_t.dtype), W_h, torch.zeros(4 * h, dtype=XW_t.dtype), "lstm")
    if torch_order:
        params = {name[:-1] + {"o": "c", "c": "o"}.get(name[-1], name[-1]): value for name, value in params.items()}
    with torch.no_grad():
        return cells.to_torch(params, nn.LSTMCell(4 * h, h, dtype=XW_t.dtype))(XW_t, (H, C))


@guard("step_fn(XW_t, H, C, W_h)")
def check_fused_lstm_step(step_fn) -> Verdict:
    """``step_fn(XW_t, H, C, W_h) -> (H_new, C_new)``: one LSTM step from fused gates ``[I | F | O | C_tilde]``."""
    g, batch_size, h = torch.Generator().manual_seed(fresh_seeds(1)[0]), 3, 4
    XW_t, H, C = (torch.randn(batch_size, n, generator=g, dtype=torch.float64) for n in (4 * h, h, h))
    W_h = torch.randn(h, 4 * h, generator=g, dtype=torch.float64)
    H_ref, C_ref = _torch_lstm_step(XW_t, H, C, W_h)
    got = result_of(step_fn, XW_t.clone(), H.clone(), C.clone(), W_h.clone(), name="step_fn",
                    hint="the gates' pre-activations have shape (batch_size, 4h)")
    H_new, C_new = shaped(got, "step_fn", (H_ref, C_ref), names=("H_new", "C_new"),
                          hint="the result is the pair (H_new, C_new); the (batch_size, 4h) pre-activations hold "
                               "four (batch_size, h) blocks", expected="both of shape (batch_size, h)")
    if torch.allclose(H_new, C_ref) and torch.allclose(C_new, H_ref):
        return report(False, "you returned (C_new, H_new)", "swap them: the hidden state comes first",
                      expected="(H_new, C_new)")
    if torch.allclose(C_new, C_ref, atol=1e-6) and torch.allclose(H_new, H_ref, atol=1e-6):
        return report(True, "same as torch.nn.LSTMCell: one product for all four gates, the rest element-wise")
    hint = "one product with W_h gives all gates: sigmoids for I, F, O, a tanh for C~"
    H_t, C_t = _torch_lstm_step(XW_t, H, C, W_h, torch_order=True)
    if torch.allclose(C_new, C_t) and torch.allclose(H_new, H_t):
        hint = "you used PyTorch's block order (i, f, g, o); ours is I, F, O, then C_tilde"
    elif torch.allclose(C_new, C_ref, atol=1e-6):
        hint = "C_new is right; check H_new against the output-gate equation of Day 2"
    return report(False, "C_new or H_new differs from torch.nn.LSTMCell's step", hint,
                  expected="the (H_new, C_new) of torch.nn.LSTMCell with the same weights")


@guard("sample_fn(logits, temperature, generator)")
def check_sample_next(sample_fn, num_draws: int = 4000) -> Verdict:
    """``sample_fn(logits, temperature, generator) -> int``: greedy at 0, else a draw from softmax(logits / T)
    (``num_draws`` draws per temperature)."""
    num_draws = positive_int(num_draws, "num_draws", hint="(draws per temperature, e.g. 4000)")
    seeds = fresh_seeds(3)  # the draws change at every call, and the logits' order: the argmax moves
    logits = unlike_last("sample_next", lambda seed: torch.tensor([2.0, 1.0, 0.0, -1.0, 0.5])[
        torch.randperm(5, generator=torch.Generator().manual_seed(seed))], key=lambda case: int(case.argmax()))
    got = result_of(sample_fn, logits.clone(), 0.0, torch.Generator().manual_seed(seeds[0]), name="sample_fn",
                    case="at temperature 0", hint="temperature 0 means argmax")
    if as_float(got) != int(logits.argmax()):
        return report(False, f"at temperature 0 you returned {got!r}", "temperature 0 means greedy: the index of "
                      "the largest logit, as an int", expected="the argmax")
    for temperature, seed in zip((0.5, 2.0), seeds[1:]):
        g = torch.Generator().manual_seed(seed)
        counts = torch.zeros(len(logits))
        for _ in range(num_draws):
            got = result_of(sample_fn, logits.clone(), temperature, g, name="sample_fn", case=f"at temperature "
                            f"{temperature}", hint="draw one index from softmax(logits / T), passing the generator")
            index = as_float(got)
            if index is None or index != int(index) or not 0 <= index < len(logits):
                return report(False, f"sample_fn returned {got!r}", "return int(...) of the index drawn",
                              expected=f"a token index, an int in 0..{len(logits) - 1}")
            counts[int(index)] += 1
        freq = counts / num_draws

        def close(probs):  # within 4.5 standard deviations of a frequency (at most sqrt(1/4 / num_draws))
            return bool((freq - probs).abs().max() < 4.5 * math.sqrt(0.25 / num_draws))

        if close(torch.softmax(logits / temperature, 0)):
            continue
        if close(torch.softmax(logits, 0)):
            hint = "the frequencies follow softmax(logits): divide the logits by the temperature first"
        elif close(torch.softmax(logits * temperature, 0)):
            hint = "you multiplied by the temperature; divide: softmax(logits / T)"
        elif counts[int(logits.argmax())] == num_draws:
            hint = "you always return the argmax; for T > 0 draw from the tempered softmax"
        else:
            hint = "draw one index with the probabilities softmax(logits / T), using the generator"
        shown = ", ".join(f"{f:.2f}" for f in freq)
        return report(False, f"at T = {temperature} the frequencies of your draws are [{shown}]", hint,
                      expected=f"frequencies near softmax(logits / {temperature})")
    return report(True, "greedy at T = 0; draws follow softmax(logits / T): sharper below 1, flatter above")
