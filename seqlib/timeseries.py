"""Time series for the forecasting lab (Day 4): sine waves, sliding windows, honest baselines.

==================================  ==========================================================
:func:`sine_waves`, `sine_splits`   noisy sine waves; splits fixed by a seed
:class:`WindowDataset`              sliding windows, many-to-one or many-to-many
:func:`split_series`                chronological train / val / test parts of one series
:func:`persistence_forecast`        repeat the last value
:func:`fit_ar`, :class:`LinearAR`   ``x_t = c + sum_i a_i x_{t-i}`` by least squares
==================================  ==========================================================
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset

from seqlib.validation import ArgumentTypeError, finite_number, non_negative_int, number_in_range, positive_int, require

__all__ = ["SineWaves", "sine_waves", "sine_splits", "WindowDataset", "split_series",
           "persistence_forecast", "LinearAR", "fit_ar"]


@dataclass(frozen=True, eq=False)
class SineWaves:
    """Sine-wave series: ``values`` (observed, with noise) and ``clean``, both (num_series, length).

    Series ``i`` is ``clean[i, t] = amplitude[i] * sin(2 pi t / period[i] + phase[i])`` and
    ``values[i, t] = clean[i, t] + noise * eps[i, t]`` with ``eps`` standard normal.
    """

    values: np.ndarray
    clean: np.ndarray
    period: np.ndarray
    amplitude: np.ndarray
    phase: np.ndarray
    noise: float

    def __len__(self) -> int:
        return len(self.values)


def _draw(spec, name: str, n: int, rng) -> np.ndarray:
    """A number (the same for every series) or a (low, high) range drawn uniformly per series."""
    if not isinstance(spec, (tuple, list)):
        return np.full(n, number_in_range(spec, name, 0, low_open=True, hint="or a range (low, high)"))
    if len(spec) == 2 and number_in_range(spec[0], name, 0, low_open=True) <= number_in_range(spec[1], name, 0):
        return rng.uniform(spec[0], spec[1], n)
    raise ValueError(f"{name} must be a positive number or a range (low, high) with 0 < low <= high, got {spec!r}")


def sine_waves(num_series: int, length: int, *, noise: float = 0.0, period=20.0, amplitude=1.0,
               rng: np.random.Generator | int | None = None) -> SineWaves:
    """``num_series`` sine waves of ``length`` steps, random phase, plus Gaussian noise of std ``noise`` (no
    forecast beats an MSE of ``noise ** 2``). ``period``, ``amplitude``: numbers, or ``(low, high)`` ranges
    drawn per series. ``rng``: a NumPy ``Generator`` or a seed.
    """
    num_series, length = positive_int(num_series, "num_series"), positive_int(length, "length")
    noise = number_in_range(noise, "noise", 0, hint="the noise's standard deviation")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)
    period = _draw(period, "period", num_series, rng)
    amplitude = _draw(amplitude, "amplitude", num_series, rng)
    phase = rng.uniform(0.0, 2 * np.pi, num_series)
    t = np.arange(length)
    clean = amplitude[:, None] * np.sin(2 * np.pi * t / period[:, None] + phase[:, None])
    values = clean + noise * rng.standard_normal(clean.shape)
    return SineWaves(values.astype(np.float32), clean.astype(np.float32), period, amplitude, phase, float(noise))


def sine_splits(seed: int, length: int, *, noise: float = 0.0, period=20.0, amplitude=1.0,
                **sizes: int) -> dict[str, SineWaves]:
    """Splits of independent sine waves, e.g. ``sine_splits(0, 150, noise=0.2, train=200, val=100, test=500)``;
    each its own generator (``seed`` and the split's name): no split changes with another one's size."""
    seed = non_negative_int(seed, "seed")
    require(sizes, "name the splits and their sizes, e.g. sine_splits(0, 150, train=200, val=100, test=500)")
    return {name: sine_waves(n, length, noise=noise, period=period, amplitude=amplitude,
                             rng=np.random.default_rng([seed, zlib.crc32(name.encode())]))
            for name, n in sizes.items()}


class WindowDataset(Dataset):
    """Sliding windows over one series (shape ``(T,)``) or many (shape ``(num_series, T)``).

    Window ``k`` starts at ``s = k * stride``; its input is ``x[s : s + window]``, its target
    ``x[s + window : s + window + horizon]`` (many-to-one; a scalar when ``horizon == 1``) or
    ``x[s + 1 : s + window + 1]`` (many-to-many). A series of length ``T`` gives
    ``(T - window - horizon) // stride + 1`` windows; none crosses into the next series.

    ================  =====================  =====================================
    item              shape                  meaning
    ================  =====================  =====================================
    ``x``             ``(window,)``          inputs, oldest first
    ``y`` (m-to-one)  ``()`` or ``(horizon,)``  the value(s) after the window
    ``y`` (m-to-m)    ``(window,)``          inputs shifted one step ahead
    ================  =====================  =====================================
    """

    def __init__(self, series, window: int, *, horizon: int = 1, many_to_many: bool = False, stride: int = 1):
        data = _series(series, np.float32)
        window, horizon, stride = map(positive_int, (window, horizon, stride), ("window", "horizon", "stride"))
        self.window, self.horizon, self.stride = window, horizon, stride
        self.many_to_many = bool(many_to_many)
        require(not self.many_to_many or self.horizon == 1, "many_to_many targets are the next values: use horizon=1")
        length = data.shape[1]
        require(length >= self.window + self.horizon, f"series of length {length} are too short for window + horizon")
        self.data = torch.from_numpy(data.copy())   # (num_series, T)
        self.windows_per_series = (length - self.window - self.horizon) // self.stride + 1

    def __len__(self) -> int:
        return self.data.shape[0] * self.windows_per_series

    def position(self, index: int) -> tuple[int, int]:
        """``(series, start)`` of window ``index``."""
        require(-len(self) <= index < len(self), "window index out of range", IndexError)
        series, k = divmod(index % len(self), self.windows_per_series)
        return series, k * self.stride

    def __getitem__(self, index: int):
        series, start = self.position(index)
        row = self.data[series]
        x = row[start:start + self.window]
        if self.many_to_many:
            return x, row[start + 1:start + self.window + 1]
        y = row[start + self.window:start + self.window + self.horizon]
        return x, (y[0] if self.horizon == 1 else y)

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor]:
        """All windows at once: inputs ``(N, window)`` and targets, in index order."""
        span = self.window + (1 if self.many_to_many else self.horizon)
        usable = (self.windows_per_series - 1) * self.stride + span
        blocks = self.data[:, :usable].unfold(1, span, self.stride).reshape(-1, span)
        X = blocks[:, :self.window]
        Y = blocks[:, 1:] if self.many_to_many else blocks[:, self.window:]
        if not self.many_to_many and self.horizon == 1:
            Y = Y[:, 0]
        return X.contiguous(), Y.contiguous()


def split_series(series, num_val: int, num_test: int, window: int):
    """Chronological train / validation / test parts of one series (three 1-d arrays), without leakage:
    the last ``num_test`` values are test targets, the ``num_val`` before them validation targets; those
    parts start ``window`` steps early (inputs reach into the past, targets never overlap).
    """
    data = _numbers(series, "series", np.float32, ndim=(1,))
    num_val, num_test, window = map(positive_int, (num_val, num_test, window), ("num_val", "num_test", "window"))
    n_train = len(data) - num_val - num_test
    require(n_train > window, f"a series of {len(data)} values leaves {n_train} for training, fewer than window + 1")
    val_start, test_start = n_train, n_train + num_val
    return (data[:n_train], data[val_start - window:test_start], data[test_start - window:])


def persistence_forecast(X, horizon: int | None = None):
    """The naive forecast every model must beat: the last value of each window ``X`` (batch, window) ->
    (batch,) or (batch, horizon); tensors in, tensors out."""
    if not isinstance(X, (torch.Tensor, np.ndarray)):
        X = _numbers(X, "X", np.float64)  # nested lists of numbers
    _windows(X, 1)
    last = X[:, -1]
    if horizon is None:
        return last
    horizon = positive_int(horizon, "horizon")
    return last[:, None].repeat(1, horizon) if isinstance(X, torch.Tensor) else np.repeat(last[:, None], horizon, 1)


@dataclass(frozen=True, eq=False)
class LinearAR:
    """A linear autoregressive model of order p: ``x_hat_t = c + a_1 x_{t-1} + ... + a_p x_{t-p}``.

    ``coef``: ``a_1 ... a_p`` (``a_1`` for the most recent value); ``intercept``: ``c``. Called on windows
    ``X`` (batch, window >= p) it predicts the next values (batch,); tensors in, tensors out.
    """

    coef: np.ndarray
    intercept: float

    def __post_init__(self):
        coef = _numbers(self.coef, "coef", np.float64, ndim=(1,))
        require(len(coef) and np.isfinite(coef).all(), f"coef must be finite numbers a_1 ... a_p, got {coef!r}")
        object.__setattr__(self, "coef", coef)
        object.__setattr__(self, "intercept", finite_number(self.intercept, "intercept"))

    @property
    def order(self) -> int:
        return len(self.coef)

    def __call__(self, X):
        p = self.order
        if not isinstance(X, torch.Tensor):
            X = _numbers(X, "X", np.float64)  # an array or nested lists of numbers
        _windows(X, p)
        weights = self.coef[::-1].copy()  # oldest lag first, to match X[:, -p:]
        if isinstance(X, torch.Tensor):
            dtype = X.dtype if X.is_floating_point() else torch.get_default_dtype()
            return X[:, -p:].to(dtype) @ torch.as_tensor(weights, dtype=dtype, device=X.device) + self.intercept
        return X[:, -p:] @ weights + self.intercept


def _numbers(values, name: str, dtype, ndim=None) -> np.ndarray:
    """``values`` (array, tensor, nested lists) as a NumPy array of ``dtype`` with a rank in ``ndim``."""
    if isinstance(values, torch.Tensor):
        values = values.detach().cpu().numpy()
    try:
        data = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError):
        raise ArgumentTypeError(f"{name} must hold numbers, got {str(values)[:40]!r}") from None
    shapes = " or ".join(("(T,)", "(num_series, T)")[:len(ndim or ())])
    require(ndim is None or data.ndim in ndim, f"{name} must have shape {shapes}, got {data.shape}")
    return data


def _windows(X, p: int) -> None:
    require(X.ndim == 2 and X.shape[1] >= p, f"X must be windows (batch, window >= {p} for AR({p})), got {X.shape}")


def _series(series, dtype) -> np.ndarray:
    """One series ``(T,)`` or many ``(num_series, T)`` as a ``(num_series, T)`` array."""
    data = _numbers(series, "series", dtype, ndim=(1, 2))
    return data[None, :] if data.ndim == 1 else data


def fit_ar(series, order: int, *, intercept: bool = True) -> LinearAR:
    """Least-squares AR(``order``) fit on a series (T,) or many (num_series, T): every run of ``order + 1``
    values inside one series is one equation ``x_t = c + sum_i a_i x_{t-i}`` (``intercept=False``: ``c = 0``)."""
    order, data = positive_int(order, "order"), _series(series, np.float64)
    require(data.shape[1] > order, f"series of length {data.shape[1]} are too short to fit AR({order})")
    runs = np.lib.stride_tricks.sliding_window_view(data, order + 1, axis=1).reshape(-1, order + 1)
    lags = runs[:, :order][:, ::-1]  # column i-1 holds x_{t-i}
    design = np.hstack([lags, np.ones((len(runs), 1))]) if intercept else lags
    require(len(runs) >= design.shape[1], f"{len(runs)} equations cannot determine {design.shape[1]} coefficients")
    solution, *_ = np.linalg.lstsq(design, runs[:, order], rcond=None)
    return LinearAR(coef=solution[:order].copy(), intercept=float(solution[order]) if intercept else 0.0)
