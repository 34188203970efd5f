"""Checks of Day 3 (language models on *The Time Machine*), against ``torch`` / ``torch.nn``."""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlib import cells
from seqlib.checks.feedback import (Verdict, as_float, fresh_seeds, guard, report, result_of, shaped,
                                    unlike_last)
from seqlib.fused import unfuse
from seqlib.validation import positive_int

__all__ = ["check_perplexity", "check_fused_lstm_step", "check_sample_next", "probs_perplexity",
           "fused_step", "sample_token"]


def probs_perplexity(p) -> torch.Tensor:
    """The course's answer to Day 3's Exercise 1: ``exp(-mean log p)``, ``p`` (n,) the probabilities of the true tokens."""
    return torch.exp(-torch.log(torch.as_tensor(p)).mean())


def fused_step(XW_t, H, C, W_h):
    """The course's answer to Day 3's Exercise 2: one fused LSTM step (shapes as in :func:`check_fused_lstm_step`)."""
    return cells.lstm_pointwise((XW_t + H @ W_h).split(H.shape[1], dim=1), C)


def sample_token(logits, temperature, generator) -> int:
    """The course's answer to Day 3's Exercise 3: the argmax at temperature 0, else a draw from softmax(logits / T)."""
    if temperature == 0:
        return int(logits.argmax())
    return int(torch.multinomial(torch.softmax(logits / temperature, 0), 1, generator=generator))


@guard("perplexity_fn(p)")
def check_perplexity(perplexity_fn) -> Verdict:
    """``perplexity_fn(p)``: ``p`` a 1-D tensor of the probabilities a model gave to the true next tokens."""
    g = torch.Generator().manual_seed(fresh_seeds(1)[0])
    cases = [
        (torch.full((10,), 1 / 28), "a model that gives every one of 28 characters 1/28"),
        (torch.ones(5), "a model that is always sure and always right"),
        (torch.rand(2, generator=g) * 0.9 + 0.05, "two random probabilities"),
        (torch.rand(50, generator=g) * 0.9 + 0.05, "50 random probabilities"),
    ]
    for p, what in cases:
        # the reference: exp of the cross-entropy, as torch.nn computes it from log-probabilities
        expected = math.exp(float(nn.functional.nll_loss(torch.log(p)[:, None], torch.zeros(len(p), dtype=torch.long))))
        got = result_of(perplexity_fn, p.clone(), name="perplexity_fn", case=f"for {what}",
                        hint="it receives a 1-D tensor of probabilities")
        if (value := as_float(got)) is None:
            return report(False, f"perplexity_fn returned {type(got).__name__}, not a number, for {what}",
                          "return a float (or a tensor holding one number)", expected=f"{expected:.4g}")
        if not math.isclose(value, expected, rel_tol=1e-4):
            hint = "perplexity is the exponential of the mean cross-entropy (the equation above)"
            if math.isclose(value, 1 / float(p.mean()), rel_tol=1e-4):
                hint = "you took 1 / mean(p), an arithmetic mean; average the *log* probabilities"
            elif math.isclose(value, -float(torch.log(p).mean()), rel_tol=1e-4):
                hint = "that is the cross-entropy; perplexity is its exponential"
            elif math.isclose(value, math.exp(-float(torch.log(p).sum())), rel_tol=1e-4):
                hint = "you summed the log probabilities; take their mean (per token) instead"
            return report(False, f"for {what} you returned {value:.4g}", hint, expected="exp of the mean negative log probability")
    return report(True, "perplexity = exp(-mean log p): 28 for a uniform guess, 1 for a perfect model")


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

        def close(probs):
            return bool((freq - probs).abs().max() < 0.035)

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
