"""seqlib.timeseries: sine data, sliding windows (lengths, alignment, no leakage), baselines."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.utils.data import DataLoader

from seqlib.timeseries import (LinearAR, WindowDataset, fit_ar, persistence_forecast, sine_splits, sine_waves,
                               split_series)

# ---------------------------------------------------------------------------- sine waves


def test_sine_waves_follow_their_formula_and_noise_level():
    data = sine_waves(400, 200, noise=0.3, period=(10, 40), amplitude=(0.5, 1.5), rng=1)
    assert data.values.shape == data.clean.shape == (400, 200)
    assert data.values.dtype == np.float32
    t = np.arange(200)
    formula = data.amplitude[:, None] * np.sin(2 * np.pi * t / data.period[:, None] + data.phase[:, None])
    np.testing.assert_allclose(data.clean, formula, atol=1e-5)
    assert 10 <= data.period.min() and data.period.max() <= 40
    assert 0.5 <= data.amplitude.min() and data.amplitude.max() <= 1.5
    noise = data.values - data.clean
    assert abs(noise.std() - 0.3) < 0.01 and abs(noise.mean()) < 0.01


def test_fixed_period_and_amplitude_by_default():
    data = sine_waves(5, 30, rng=0)
    assert np.all(data.period == 20.0) and np.all(data.amplitude == 1.0)
    np.testing.assert_array_equal(data.values, data.clean)


@pytest.mark.parametrize("kwargs, match", [
    (dict(noise=-0.1), "noise"), (dict(period=0), "period"), (dict(period=(5, 2)), "period"),
    (dict(amplitude="big"), "amplitude"),
])
def test_sine_waves_reject_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        sine_waves(3, 10, **kwargs)


def test_splits_are_fixed_by_seed_and_independent_of_each_others_sizes():
    a = sine_splits(7, 60, noise=0.1, train=20, val=5, test=10)
    b = sine_splits(7, 60, noise=0.1, train=50, test=10, val=5)
    np.testing.assert_array_equal(a["test"].values, b["test"].values)
    np.testing.assert_array_equal(a["val"].values, b["val"].values)
    c = sine_splits(8, 60, noise=0.1, train=20, val=5, test=10)
    assert not np.allclose(a["test"].values, c["test"].values)


def test_no_series_is_shared_between_splits():
    splits = sine_splits(0, 80, noise=0.0, train=100, val=30, test=30)
    rows = {name: {tuple(np.round(r, 5)) for r in s.values} for name, s in splits.items()}
    assert not rows["train"] & rows["val"] and not rows["train"] & rows["test"] and not rows["val"] & rows["test"]
    # nor any window: windows of clean sines with the same period coincide only for the same phase
    phases = {name: set(np.round(s.phase, 8)) for name, s in splits.items()}
    assert not phases["train"] & phases["test"]


# ---------------------------------------------------------------------------- windows


def _labelled(num_series, length):
    """Series whose values say where they are: 1000 * series + t."""
    return np.array([[1000 * i + t for t in range(length)] for i in range(num_series)], dtype=np.float32)


@settings(max_examples=60, deadline=None)
@given(num_series=st.integers(1, 4), length=st.integers(2, 40), window=st.integers(1, 12),
       horizon=st.integers(1, 5), stride=st.integers(1, 4))
def test_window_count_and_alignment_many_to_one(num_series, length, window, horizon, stride):
    series = _labelled(num_series, length)
    if length < window + horizon:
        with pytest.raises(ValueError, match="too short"):
            WindowDataset(series, window, horizon=horizon, stride=stride)
        return
    ds = WindowDataset(series, window, horizon=horizon, stride=stride)
    assert len(ds) == num_series * ((length - window - horizon) // stride + 1)
    X, Y = ds.tensors()
    assert X.shape == (len(ds), window)
    assert Y.shape == ((len(ds),) if horizon == 1 else (len(ds), horizon))
    for i in range(len(ds)):
        x, y = ds[i]
        j, s = ds.position(i)
        assert torch.equal(x, X[i]) and torch.equal(y, Y[i])
        assert x.tolist() == [1000 * j + t for t in range(s, s + window)]
        # the target starts right after the last input, in the same series
        assert y.reshape(-1).tolist() == [1000 * j + t for t in range(s + window, s + window + horizon)]


def test_many_to_many_targets_are_the_inputs_shifted_by_one():
    ds = WindowDataset(_labelled(2, 12), 5, many_to_many=True, stride=2)
    assert len(ds) == 2 * ((12 - 5 - 1) // 2 + 1)
    for i in range(len(ds)):
        x, y = ds[i]
        assert x.shape == y.shape == (5,)
        assert torch.equal(x[1:], y[:-1]) and y[-1] == x[-1] + 1
    X, Y = ds.tensors()
    assert torch.equal(X[:, 1:], Y[:, :-1])


def test_windows_never_cross_series():
    ds = WindowDataset(_labelled(3, 9), 4, horizon=2)
    X, Y = ds.tensors()
    both = torch.cat([X, Y], 1)
    assert (both.max(1).values - both.min(1).values < 1000).all()


def test_window_dataset_works_with_a_shuffled_dataloader():
    ds = WindowDataset(sine_waves(8, 30, rng=0).values, 10)
    xb, yb = next(iter(DataLoader(ds, batch_size=16, shuffle=True)))
    assert xb.shape == (16, 10) and yb.shape == (16,) and xb.dtype == torch.float32


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(window=0), ValueError, "window"), (dict(window=3, stride=0), ValueError, "stride"),
    (dict(window=3, horizon=2, many_to_many=True), ValueError, "horizon=1"),
    (dict(window=30), ValueError, "too short"),
])
def test_window_dataset_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        WindowDataset(np.zeros((2, 20)), **kwargs)


def test_window_index_out_of_range():
    ds = WindowDataset(np.zeros(10), 3)
    with pytest.raises(IndexError):
        ds[len(ds)]


@pytest.mark.parametrize("num_val, num_test, window", [(10, 15, 5), (1, 1, 1), (20, 30, 12)])
def test_chronological_split_has_disjoint_targets_that_cover_the_future(num_val, num_test, window):
    series = np.arange(100, dtype=np.float32)  # value == time step
    parts = split_series(series, num_val, num_test, window)
    targets = []
    for part in parts:
        _, y = WindowDataset(part, window).tensors()
        targets.append(set(y.tolist()))
    train, val, test = targets
    assert not train & val and not train & test and not val & test
    assert max(train) < min(val) and max(val) < min(test)
    assert val == set(range(100 - num_test - num_val, 100 - num_test))
    assert test == set(range(100 - num_test, 100))


def test_split_series_rejects_too_little_training_data():
    with pytest.raises(ValueError, match="leaves 4 for training"):
        split_series(np.zeros(20), 8, 8, 10)


# ---------------------------------------------------------------------------- baselines


def test_persistence_repeats_the_last_value():
    X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 7.0]])
    assert persistence_forecast(X).tolist() == [3.0, 7.0]
    assert persistence_forecast(X, 2).tolist() == [[3.0, 3.0], [7.0, 7.0]]
    assert persistence_forecast(X.numpy(), 2).tolist() == [[3.0, 3.0], [7.0, 7.0]]


def test_persistence_error_on_a_ramp_is_the_step():
    ds = WindowDataset(0.5 * np.arange(30), 6)
    X, y = ds.tensors()
    assert torch.allclose((persistence_forecast(X) - y).abs(), torch.full_like(y, 0.5))


@pytest.mark.parametrize("period", [7.0, 20.0, 33.3])
def test_ar2_predicts_a_clean_sine_exactly(period):
    # sin(w(t+1)) = 2 cos(w) sin(wt) - sin(w(t-1)): an exact AR(2) recursion
    data = sine_waves(4, 120, period=period, amplitude=(0.5, 2.0), rng=3)
    ar = fit_ar(data.values, 2)
    w = 2 * np.pi / period
    np.testing.assert_allclose(ar.coef, [2 * np.cos(w), -1.0], atol=1e-6)
    assert abs(ar.intercept) < 1e-6
    test = sine_waves(50, 60, period=period, amplitude=(0.5, 2.0), rng=9)
    X, y = WindowDataset(test.values, 10).tensors()
    assert (ar(X.double()) - y.double()).abs().max() < 1e-4  # float32 data
    assert np.abs(ar(X.numpy().astype(np.float64)) - y.numpy()).max() < 1e-4


def test_ar_recovers_known_coefficients_of_a_noisy_process():
    rng = np.random.default_rng(0)
    x = np.zeros(20000)
    for t in range(2, len(x)):
        x[t] = 0.3 + 0.6 * x[t - 1] - 0.2 * x[t - 2] + rng.normal()
    ar = fit_ar(x, 2)
    np.testing.assert_allclose(ar.coef, [0.6, -0.2], atol=0.02)
    assert abs(ar.intercept - 0.3) < 0.03
    assert fit_ar(x, 3).coef[2] == pytest.approx(0.0, abs=0.02)
    assert fit_ar(x, 2, intercept=False).intercept == 0.0


def test_ar_rejects_short_windows_and_series():
    ar = fit_ar(np.sin(np.arange(50.0)), 3)
    with pytest.raises(ValueError, match="AR\\(3\\)"):
        ar(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="too short"):
        fit_ar(np.zeros(3), 3)
    with pytest.raises(ValueError, match="order"):
        fit_ar(np.zeros(30), 0)


@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.uint8])
def test_linear_ar_on_integer_windows_computes_in_floating_point(dtype):
    """Issue 13 item 10: integer windows used to truncate the coefficients (3.0 instead of 3.73)."""
    model = LinearAR(coef=np.array([0.73, 0.5]), intercept=0.25)
    X = torch.tensor([[1, 2], [3, 4]], dtype=dtype)
    expected = torch.tensor([0.5 * 1 + 0.73 * 2 + 0.25, 0.5 * 3 + 0.73 * 4 + 0.25])
    got = model(X)
    assert got.is_floating_point()
    torch.testing.assert_close(got, expected, check_dtype=False)
    np.testing.assert_allclose(model(X.numpy()), expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(model([[1, 2], [3, 4]]), expected.numpy(), rtol=1e-6)
