"""Checks of Day 4 (forecasting), against :mod:`seqlib.timeseries`."""

from __future__ import annotations

import math

import numpy as np
import torch

from seqlib.checks.feedback import (Verdict, as_array, as_float, call_student, fresh_seeds, guard, report,
                                    result_of, unlike_last)
from seqlib.timeseries import WindowDataset, persistence_forecast

__all__ = ["check_window_dataset", "check_persistence_mse", "naive_mse"]


def _numbers(values) -> str:
    """``[0, 1, 2.5]``: a short list of numbers for a message."""
    return "[" + ", ".join(f"{float(v):g}" for v in values) + "]"


def naive_mse(X, y) -> float:
    """The course's own persistence MSE: the mean squared error of predicting each window's last value;
    X (num_windows, window), y (num_windows,)."""
    return float(((persistence_forecast(X) - y) ** 2).mean())


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


@guard("persistence_mse(X, y)")
def check_persistence_mse(fn) -> Verdict:
    """Check ``fn(X, y)``, ``X`` (batch, window), ``y`` (batch,): the MSE of predicting each window's last value."""
    X, y = WindowDataset(0.1 * torch.arange(20, dtype=torch.float32), 5).tensors()  # a ramp
    value = result_of(fn, X, y, name="persistence_mse(X, y)",
                      hint="each window's forecast is its last value; compare it with y")
    if (got := as_float(value)) is None:
        return report(False, f"persistence_mse must return one number, got {type(value).__name__}",
                      "average the squared errors over the windows into one number",
                      expected="one number, the mean of the squared errors")
    if not math.isclose(got, 0.01, rel_tol=1e-4):
        if math.isclose(got, 0.1, rel_tol=1e-4):
            why = "that is the mean absolute error (or the root of the MSE): square, take no root"
        elif math.isclose(got, 0.01 * len(y), rel_tol=1e-4):
            why = "the squared errors were summed: take their mean"
        elif math.isclose(got, 0.25, rel_tol=1e-4):
            why = "you repeated the first value of the window, not the last one"
        elif math.isclose(got, 0.0, abs_tol=1e-9):
            why = "the error is zero: did you compare the target with itself?"
        else:
            why = "square each window's error (its last value minus y), then average them"
        return report(False, f"on a ramp 0, 0.1, 0.2, ... you got {got:.4g}", why,
                      expected="0.01: each persistence error on the ramp is 0.1, so the MSE is 0.1²")
    rng = np.random.default_rng(fresh_seeds(1)[0])
    X = torch.tensor(rng.normal(size=(64, 8)), dtype=torch.float32)
    y = torch.tensor(rng.normal(size=64), dtype=torch.float32)
    want = naive_mse(X, y)
    value, err = call_student(fn, X, y)
    if err or (got := as_float(value)) is None or not math.isclose(got, want, rel_tol=1e-4):
        return report(False, f"correct on a ramp but not on random windows (got {err or value!r:.60})",
                      "use the last value of every window (every row of X), not of a few",
                      expected=f"{want:.4g}, the persistence MSE of seqlib.timeseries")
    return report(True, "persistence MSE right: 0.01 on a ramp of steps 0.1, as the reference elsewhere")
