"""Checks of Day 4 (forecasting), against :mod:`seqlib.timeseries`: the sliding windows, the AR(p) fit."""

from __future__ import annotations

import math

import numpy as np
import torch

from seqlib.checks.feedback import (Verdict, as_array, as_float, call_student, first_failure, fresh_seeds, guard,
                                    report, result_of, shape_str, unlike_last)
from seqlib.timeseries import WindowDataset, fit_ar, sine_waves

__all__ = ["check_window_dataset", "check_fit_ar", "ar_coefficients"]


def _numbers(values) -> str:
    """``[0, 1, 2.5]``: a short list of numbers for a message."""
    return "[" + ", ".join(f"{float(v):g}" for v in values) + "]"


@guard("the class SlidingWindows(series, window), a torch.utils.data.Dataset with __init__, __len__ and "
       "__getitem__,")
def check_window_dataset(cls) -> Verdict:
    """Check a Dataset ``cls(series, window)``, ``series`` (num_series, T): item ``i`` is ``(x, y)``, ``x`` the
    ``window`` inputs (float32, (window,)) and ``y`` the value right after them (float32, ()); the windows
    come series by series, each series' from its first start on (the order the lab's loaders rely on)."""
    T, window = 10, 4
    start = unlike_last("window_dataset", lambda seed: int(np.random.default_rng(seed).integers(0, 100)))
    series = np.array([[start + 100 * i + t for t in range(T)] for i in range(2)], dtype=np.float32)
    reference = WindowDataset(series, window)
    want, per_series = len(reference), T - window
    ds = result_of(cls, series, window, name="SlidingWindows(series, window=4)",
                   hint="store the series (as a float32 tensor) and the window in __init__")
    n, err = call_student(len, ds)
    if err or not isinstance(n, int):
        return report(False, f"len(dataset) failed: {err or 'it is not an integer'}",
                      "__len__ must return the number of windows, an int")
    if n != want:
        why = {2 * (per_series + 1): "one too many per series: the last window needs a target after it",
               2 * T - window: "the windows run across both series as if they were one",
               per_series: "only the first series was used: count the windows of every series",
               0: "the dataset is empty"}.get(n, f"that is not the number of windows of 2 series of {T} values, "
                                                 f"window {window}")
        return report(False, f"len(dataset) is {n}: {why}", expected=f"{want} windows",
                      hint="count the starts s of one series whose target x[s + window] is still inside it")
    got = []
    for i in range(n):
        item = result_of(ds.__getitem__, i, name=f"dataset[{i}]", hint="return (x, y) for window i")
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            return report(False, f"dataset[{i}] must be a pair (x, y), got {type(item).__name__}", "return x, y")
        x, y = item
        if not isinstance(x, torch.Tensor) or x.dtype != torch.float32:
            return report(False, f"x must be a float32 tensor, got {type(x).__name__} {getattr(x, 'dtype', '')}",
                          "keep the series as float32 tensors (the dtype of the model's weights) and "
                          "return slices of them", expected="x a float32 tensor")
        xa, ya = as_array(x), as_array(y)
        if xa is None or xa.shape != (window,):
            return report(False, f"x has shape {tuple(x.shape)}", "x holds the `window` consecutive values of "
                          "one series, from the window's start", expected=f"x of shape ({window},): the window "
                          "of one series")
        if not isinstance(y, torch.Tensor) or y.dtype != torch.float32 or y.shape != ():
            got_y = f"{type(y).__name__} {tuple(getattr(y, 'shape', ()))} {getattr(y, 'dtype', '')}".rstrip()
            return report(False, f"y is a {got_y}", "y is the one value right after the window, taken from the "
                          "same float32 tensor as x: a batch stacks the targets into shape (batch,)",
                          expected="y a float32 tensor of shape (), a scalar")
        got.append((tuple(xa), float(ya.reshape(-1)[0])))
    for xa, ya in got:
        if np.ptp(xa) >= 50:
            return report(False, f"the window {_numbers(xa)} mixes two series", expected="every window inside one "
                          "series", hint="split i into a series index and a start inside it (quotient, remainder)")
        if ya == xa[-1]:
            return report(False, f"for x = {_numbers(xa)} the target is {ya:g}, the window's own last value",
                          "the model would see its answer: the target is the value right after the window",
                          expected=f"the target {xa[-1] + 1:g}")
        if ya != xa[-1] + 1:
            return report(False, f"for x = {_numbers(xa)} the target is {ya:g}, but the next value is {xa[-1] + 1:g}",
                          "the target is the one value right after the window's inputs",
                          expected=f"the target {xa[-1] + 1:g}")
    expected = [(tuple(x.tolist()), float(y)) for x, y in (reference[i] for i in range(want))]
    if set(got) != set(expected):
        return report(False, "the windows are aligned but some are missing or repeated", expected=f"each of the "
                      f"{want} windows once", hint="every start s = 0, 1, ..., T - window - 1 of every series, once")
    if got != expected:
        return report(False, "every window is there once, but not in order", expected="the windows of the first "
                      "series, oldest first, then those of the second", hint="index i counts the windows series "
                      "by series: the quotient of i by the windows per series is the series, the remainder the start")
    batch = result_of(lambda: next(iter(torch.utils.data.DataLoader(ds, batch_size=5, shuffle=True))),
                      name="a DataLoader over the dataset", hint="return tensors from __getitem__")
    return report(True, f"{want} windows from 2 series of {T} values, aligned, none crossing series; "
                  f"batches {tuple(batch[0].shape)}")


def ar_coefficients(series, p):
    """The course's own ``fit_ar(series, p)`` of Exercise 2: ``(coef, intercept)`` of the least-squares AR(p)
    fit of :func:`seqlib.timeseries.fit_ar` on ``series`` (num_series, T); ``coef`` (p,) is ``a_1 ... a_p``,
    ``a_1`` the weight of the most recent value."""
    ar = fit_ar(series, p)
    return torch.as_tensor(ar.coef), ar.intercept


def _ar_process(seed: int, p: int = 3) -> np.ndarray:
    """6 series of 30 values of a fresh stationary AR(p) process with an intercept (float64)."""
    rng = np.random.default_rng(seed)
    a = -np.poly(rng.uniform(-0.6, 0.6, p))[1:]  # characteristic roots inside the unit circle
    c = rng.uniform(0.5, 2.0) * rng.choice([-1.0, 1.0])
    x = np.full((6, 80), c / (1 - a.sum()))
    for t in range(p, x.shape[1]):
        x[:, t] = c + x[:, t - p:t][:, ::-1] @ a + rng.normal(size=6)
    return x[:, 50:]  # past the burn-in


def _mistakes(series, p: int) -> dict[str, tuple]:
    """What the usual mistakes fit on ``series``: {mistake: ([a_1 ... a_p, c], what went wrong, hint)}."""
    def fitted(data, intercept=True):
        ar = fit_ar(data, p, intercept=intercept)
        return np.append(ar.coef, ar.intercept)

    runs = np.lib.stride_tricks.sliding_window_view(series, p + 2, axis=1).reshape(-1, p + 2)
    skipped = np.linalg.lstsq(np.hstack([runs[:, p - 1::-1], np.ones((len(runs), 1))]), runs[:, -1], rcond=None)[0]
    ref, order = fitted(series), "every equation is x_t = c + a_1 x_{t-1} + ... + a_p x_{t-p}"
    inside = "every run of p + 1 consecutive values must lie inside one series, its first target x_p"
    return {
        "reversed": (np.append(ref[:p][::-1], ref[p]), "your coefficients come oldest first",
                     "a_1 weighs the most recent value x_{t-1}, a_p the oldest, x_{t-p}"),
        "no intercept": (fitted(series, intercept=False), "the intercept c is missing: the fit is forced through "
                         "0 and the weights bend to make up for the series' mean",
                         "give every equation a constant input 1: its weight is c"),
        "crossing": (fitted(series.reshape(1, -1)), "some windows cross the end of a series into the next one",
                     inside),
        "wrapping": (fitted(np.concatenate([series[:, -p:], series], axis=1)),
                     "some windows wrap around the end of a series to its start", inside),
        "own target": (np.eye(p + 1)[0], "the value to predict is among its own inputs: the lags are off by one",
                       f"{order}: x_t itself is never an input"),
        "skipped": (skipped, "the lags are off by one: x_t is fitted from x_{t-2}, ..., x_{t-p-1}", order),
        "last missing": (fitted(series[:, :-1]), "the last value of each series is never a target: "
                         "an equation per series is missing", "the targets are x_p, ..., x_{T-1}: T - p per series"),
        "first missing": (fitted(series[:, 1:]), "x_p is never a target: an equation per series is missing",
                          "the targets are x_p, ..., x_{T-1}: T - p per series"),
    }


def _ar_case(seed: int, p: int):
    """A fresh AR process whose fit tells every usual mistake apart from the right one."""
    for s in range(seed, seed + 20):
        series = _ar_process(s)
        ar = fit_ar(series, p)
        ref = np.append(ar.coef, ar.intercept)
        if all(np.abs(want - ref).max() > 0.02 for want, *_ in _mistakes(series, p).values()):
            break
    return series, p, ref


@guard("fit_ar(series, p)")
def check_fit_ar(fn) -> Verdict:
    """Check ``fn(series, p)``, ``series`` (num_series, T) -> ``(coef, intercept)``: the least-squares AR(p) fit,
    ``coef`` (p,) = ``a_1 ... a_p``, on two fresh AR processes (against :func:`seqlib.timeseries.fit_ar`) and on
    clean sines of a fresh period, where it must find ``a_1 = 2 cos(omega)``, ``a_2 = -1``, ``c = 0``."""
    cases = [_ar_case(seed, p) for seed, p in zip(fresh_seeds(2), (3, 5))]
    rng = np.random.default_rng(fresh_seeds(1)[0])
    period = rng.uniform(6.0, 40.0)
    waves = sine_waves(4, 40, period=period, amplitude=(0.5, 2.0), rng=rng).clean  # float32, as in the lab
    cases.append((waves, 2, np.array([2 * math.cos(2 * math.pi / period), -1.0, 0.0])))
    return first_failure(lambda *case: _grade_fit_ar(fn, *case), cases,
                         "fit_ar agrees with seqlib.timeseries.fit_ar on 2 fresh AR processes, and on clean "
                         "sines it finds a_1 = 2 cos ω, a_2 = -1, c = 0: a sine obeys an AR(2) recursion exactly")


def _grade_fit_ar(fn, series, p, want):
    """``None`` if ``fn(series, p)`` is right, else the failure reported."""
    sine = p == 2
    what = "clean sine waves (one period, random phases)" if sine else f"{len(series)} series of an AR process"
    expected = ("a_1 = 2 cos ω, a_2 = -1 and c = 0, with ω = 2π / period" if sine
                else "the least-squares a_1 ... a_p and c of seqlib.timeseries.fit_ar")
    out = result_of(fn, series.copy(), p, name=f"fit_ar(series, p={p})", returns="the pair (coef, intercept)",
                    hint="one equation per run of p + 1 values; solve them all at once by least squares",
                    expected=expected)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return report(False, f"fit_ar returned a {type(out).__name__}, not the pair (coef, intercept)",
                      "return the p weights a_1 ... a_p, then the intercept c", expected=expected)
    coef, c = as_array(out[0]), as_float(out[1])
    if coef is None or coef.shape != (p,):
        extra = " (the intercept belongs apart, second)" if coef is not None and coef.shape == (p + 1,) else ""
        return report(False, f"coef has shape {shape_str(getattr(coef, 'shape', None))}, not ({p},){extra}",
                      "coef holds one weight per lag, a_1 ... a_p", expected=expected)
    if c is None:
        return report(False, f"the intercept is a {type(out[1]).__name__}, not one number",
                      "c is the weight of the constant input 1", expected=expected)
    got = np.append(coef, c)
    if np.allclose(got, want, rtol=1e-3, atol=1e-3):
        return None
    if sine:
        return report(False, f"on {what} your AR(2) fit does not continue the waves",
                      "a sine obeys x_{t+1} = 2 cos(ω) x_t - x_{t-1} exactly, whatever its amplitude and phase: "
                      "least squares finds these weights with no error left", expected=expected)
    for guess, why, hint in _mistakes(series, p).values():
        if np.allclose(got, guess, rtol=1e-3, atol=1e-3):
            return report(False, f"AR({p}) on {what}: {why}", hint, expected=expected)
    return report(False, f"AR({p}) on {what}: your coefficients are not the least-squares fit",
                  "minimise the sum over every run of p + 1 values inside a series of "
                  "(x_t - c - a_1 x_{t-1} - ... - a_p x_{t-p})²", expected=expected)
