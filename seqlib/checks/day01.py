"""Checks of Day 1 (the RNN forward pass): one RNN step, the parameter count of an RNN."""

from __future__ import annotations

import functools
import math
import numbers

import numpy as np
import torch
from torch import nn

from seqlib.checks.feedback import Verdict, as_array, fresh_seeds, guard, report, result_of, shape_str
from seqlib.validation import positive_int

__all__ = ["check_rnn_step", "check_rnn_num_params", "batched_rnn_step"]


# (batch_size, num_inputs, num_hiddens): square weights first (a transposed W_xh gives wrong values we can name)
_RNN_STEP_CASES = [(2, 4, 4), (1, 3, 5), (5, 3, 5), (3, 6, 2), (1, 1, 1)]
_ATOL = 1e-6


def batched_rnn_step(x_t, h_prev, W_xh, W_hh, b_h):
    """The course's answer to Day 1's Exercise 1: ``h_t = tanh(x_t W_xh^T + h_prev W_hh^T + b_h)``, rows are
    examples (shapes as in :func:`check_rnn_step`)."""
    return np.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)


def _rnn_cell_case(batch_size, num_inputs, num_hiddens, seed):
    """Random float64 inputs and a ``nn.RNNCell`` holding the same W_xh, W_hh, b_h (b_hh = 0)."""
    randn = functools.partial(torch.randn, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    x_t, h_prev = randn(batch_size, num_inputs), randn(batch_size, num_hiddens) * 0.5
    W_xh, W_hh, b_h = randn(num_hiddens, num_inputs), randn(num_hiddens, num_hiddens) * 0.5, randn(num_hiddens)
    cell = nn.RNNCell(num_inputs, num_hiddens, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(W_xh)
        cell.weight_hh.copy_(W_hh)
        cell.bias_ih.copy_(b_h)
        cell.bias_hh.zero_()
        expected = cell(x_t, h_prev).numpy()
    return tuple(t.numpy() for t in (x_t, h_prev, W_xh, W_hh, b_h)), expected


def _rnn_step_mistakes(x_t, h_prev, W_xh, W_hh, b_h):
    """(output, what went wrong, hint) for the usual mistakes in one RNN step."""
    xw, hw = x_t @ W_xh.T, h_prev @ W_hh.T
    pre = xw + hw + b_h
    out = [
        (pre, "your output is the pre-activation: the tanh is missing",
         "h_t is the tanh of the sum, a squashed value in (-1, 1)"),
        (np.tanh(xw + hw), "the bias b_h is missing", "the bias is part of the sum inside the tanh"),
        (np.tanh(xw + b_h), "h_prev is ignored, so the RNN has no memory",
         "the new state depends on the previous one through W_hh"),
        (np.tanh(hw + b_h), "x_t is ignored", "the new state depends on the input through W_xh"),
        (np.tanh(xw + h_prev @ W_hh + b_h), "W_hh is used without transposing it",
         "rows are examples: the row form of W_hh h_{t-1} multiplies by the transpose of W_hh"),
        (np.maximum(pre, 0), "you used ReLU instead of tanh", "the RNN's nonlinearity is tanh, values in (-1, 1)"),
        (1 / (1 + np.exp(-pre)), "you used a sigmoid instead of tanh", "the RNN's nonlinearity is tanh, values in (-1, 1)"),
    ]
    if W_xh.shape[0] == W_xh.shape[1]:  # only square W_xh can be used untransposed without an error
        out += [
            (np.tanh(x_t @ W_xh + hw + b_h), "W_xh is used without transposing it",
             "W_xh has shape (num_hiddens, num_inputs): the row form of W_xh x_t multiplies by its transpose"),
            (np.tanh(x_t @ W_xh + h_prev @ W_hh + b_h), "both W_xh and W_hh are used without transposing them",
             "rows are examples: both weights enter the row form transposed, as in the batched equation"),
        ]
    return out


@guard("rnn_step(x_t, h_prev, W_xh, W_hh, b_h)")
def check_rnn_step(rnn_step) -> Verdict:
    """Check ``rnn_step(x_t, h_prev, W_xh, W_hh, b_h) -> h_t`` against ``torch.nn.RNNCell``.

    The batched RNN step, rows are examples:
    ``h_t = tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)``

    ============  ==========================
    argument      shape
    ============  ==========================
    ``x_t``       (batch_size, num_inputs)
    ``h_prev``    (batch_size, num_hiddens)
    ``W_xh``      (num_hiddens, num_inputs)
    ``W_hh``      (num_hiddens, num_hiddens)
    ``b_h``       (num_hiddens,)
    returns       (batch_size, num_hiddens)
    ============  ==========================

    Reference: ``nn.RNNCell`` (float64, ``bias_ih = b_h``, ``bias_hh = 0``), on several shapes, the values
    drawn anew at every call.
    """
    for seed, (batch_size, num_inputs, num_hiddens) in zip(fresh_seeds(len(_RNN_STEP_CASES)), _RNN_STEP_CASES):
        args, expected = _rnn_cell_case(batch_size, num_inputs, num_hiddens, seed)
        case = f"batch_size={batch_size}, num_inputs={num_inputs}, num_hiddens={num_hiddens}"
        want = f"h_t, an array of shape {shape_str(expected.shape)}"
        got = as_array(result_of(rnn_step, *(a.copy() for a in args), name="rnn_step", case=f"for {case}",
                                 hint="check the shapes: x_t holds one example per row, (batch_size, num_inputs), "
                                      "and W_xh is (num_hiddens, num_inputs): the batched equation "
                                      "multiplies rows by the transposed weights",
                                 expected=want, returns="h_t"))
        if got is None:
            return report(False, "rnn_step should return an array of numbers", "return a NumPy array", expected=want)
        if got.shape != expected.shape:
            if got.shape == expected.T.shape and np.allclose(got, expected.T, atol=_ATOL):
                why, hint = "it is transposed", "rows are examples: one row per example, (batch_size, num_hiddens)"
            elif got.size == expected.size and np.allclose(got.reshape(expected.shape), expected, atol=_ATOL):
                why, hint = "the values are right but a dimension is missing", "keep the batch dimension, even for batch_size=1"
            else:
                why, hint = "", "the result should have one row per example and one column per hidden unit"
            return report(False, f"rnn_step returned shape {shape_str(got.shape)} for {case}" + (why and f": {why}"),
                          hint, expected=f"shape {shape_str(expected.shape)}, (batch_size, num_hiddens)")
        if not np.all(np.isfinite(got)):
            return report(False, f"rnn_step returned NaN or infinite values for {case}",
                          "h_t is a tanh, which keeps it in (-1, 1)", expected="values of tanh, in (-1, 1)")
        if np.allclose(got, expected, atol=_ATOL):
            continue
        for wrong, why, hint in _rnn_step_mistakes(*args):
            if np.allclose(got, wrong, atol=_ATOL):
                return report(False, f"rnn_step is not right for {case}: {why}", hint,
                              expected="the output of nn.RNNCell with the same weights")
        err = np.abs(got - expected).max()
        return report(False, f"rnn_step gives wrong values for {case}: max |yours - nn.RNNCell| = {err:.3g}",
                      "compare each term with h_t = tanh(x_t W_xh^T + h_prev W_hh^T + b_h)",
                      expected="the output of nn.RNNCell with the same weights (to 1e-6)")
    batches = sorted({b for b, _, _ in _RNN_STEP_CASES})
    return report(True, f"rnn_step matches torch.nn.RNNCell on {len(_RNN_STEP_CASES)} shapes, batch sizes "
                        f"{', '.join(map(str, batches[:-1]))} and {batches[-1]}")


@guard()
def check_rnn_num_params(answer, num_inputs: int, num_hiddens: int, num_outputs: int,
                         num_steps: int | None = None) -> Verdict:
    """Check a parameter count of the RNN ``h_t = tanh(W_xh x_t + W_hh h_{t-1} + b_h)``, ``y_t = W_hq h_t + b_q``.

    d = ``num_inputs``, h = ``num_hiddens``, q = ``num_outputs``; ``num_steps`` (T, optional), which the
    count must not depend on. Usual mistakes are named without giving the number away.
    """
    d, h, q = (positive_int(n, name) for n, name in ((num_inputs, "num_inputs"), (num_hiddens, "num_hiddens"),
                                                     (num_outputs, "num_outputs")))
    if answer is None or answer is Ellipsis:
        return report(False, "no answer yet", "replace None with your count, an integer", expected="a whole number")
    arr = as_array(answer) if isinstance(answer, (np.ndarray, torch.Tensor)) else None
    if arr is not None and arr.size == 1:
        answer = arr.item()  # a one-element array or tensor
    if (isinstance(answer, bool) or not isinstance(answer, numbers.Real)
            or (not isinstance(answer, numbers.Integral)  # an int of any size is whole (10**400 too)
                and (not math.isfinite(answer) or answer != int(answer)))):
        return report(False, f"the answer should be a whole number, got {answer!r}",
                      "a parameter count is an integer", expected="a whole number")
    answer = int(answer)
    truth = sum(p.numel() for name, p in nn.RNN(d, h).named_parameters() if name != "bias_hh_l0") + sum(
        p.numel() for p in nn.Linear(h, q).parameters())  # the equations' parameters: nn.RNN's bias_hh left out
    if answer == truth:
        return report(True, f"{answer} parameters = h·d + h·h + h + q·h + q (d={d}, h={h}, q={q})"
                            + (f"; T={num_steps} plays no part" if num_steps else ""))
    mistakes = [
        (truth + h, "that is what torch.nn.RNN reports: it keeps two hidden biases (b_ih and b_hh); "
                    "the equations have one, b_h"),
        (truth - h - q, "you left out both biases, b_h and b_q"),
        (truth - h, "you left out the hidden bias b_h"),
        (truth - q, "you left out the output bias b_q"),
        (truth - q * h - q, "you left out the output layer W_hq, b_q"),
        (truth - h * h, "you left out the recurrent weights W_hh (h×h)"),
        (truth - h * d, "you left out the input weights W_xh (h×d)"),
        (truth - q * h, "you left out the output weights W_hq (q×h)"),
        (truth - h * h + h * d, "W_hh maps h_{t-1} (size h) to size h, so it is h×h, not h×d"),
    ]
    if num_steps and num_steps > 1:
        mistakes += [
            (truth * num_steps, f"you counted one copy of every parameter per time step (×{num_steps})"),
            ((h * d + h * h + h) * num_steps + q * h + q,
             f"you counted one copy of the recurrent layer per time step (×{num_steps})"),
        ]
    why = [text for value, text in mistakes if value == answer and value != truth]
    formula = ("count the entries of each parameter: W_xh is h×d, W_hh is h×h, b_h has h, "
               "W_hq is q×h and b_q has q; the same weights serve every time step")
    if why:
        hint = ("parameters are shared across time: the count does not depend on T"
                if "time step" in why[0] else formula)
        return report(False, f"{answer} is not right: " + "; or ".join(why), hint,
                      expected=f"the count of the equations' parameters for d={d}, h={h}, q={q}")
    return report(False, f"{answer} is not right for d={d}, h={h}, q={q}", formula,
                  expected="h·d + h·h + h + q·h + q (one hidden bias)")
