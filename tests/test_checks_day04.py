"""The Day 4 exercise checks accept right answers, explain wrong ones and never raise."""

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from seqlib.checks.day04 import ar_coefficients, check_fit_ar, check_window_dataset
from seqlib.checks.feedback import Verdict

PASSED, FAILED = Verdict(True), Verdict(False)  # == compares a check's verdict strictly (None is neither)


def _windows_class(count=lambda T, w: T - w, target=lambda row, s, w: row[s + w], flat=False, dtype=torch.float32,
                   start_major=False):
    class Windows(Dataset):
        def __init__(self, series, window):
            self.series = torch.tensor(np.asarray(series), dtype=dtype)
            if flat:
                self.series = self.series.reshape(1, -1)
            self.window = window
            self.per = count(self.series.shape[1], window)

        def __len__(self):
            return self.series.shape[0] * self.per

        def __getitem__(self, i):
            j, s = divmod(i, self.per)
            if start_major:  # the windows of every series' first start, then of the second start, ...
                s, j = divmod(i, self.series.shape[0])
            row = self.series[j]
            return row[s:s + self.window], target(row, s, self.window)

    return Windows


def test_window_check_accepts_a_correct_dataset(capsys):
    assert check_window_dataset(_windows_class()) == PASSED
    assert capsys.readouterr().out.startswith("✅")


@pytest.mark.parametrize("cls, message", [
    (None, "define the class"),
    (_windows_class(count=lambda T, w: T - w + 1), "the last window needs a target"),
    (_windows_class(target=lambda row, s, w: row[s + w - 1]), "the model would see its answer"),
    (_windows_class(target=lambda row, s, w: row[s + w - 2]), "the next value is"),
    (_windows_class(flat=True), "as if they were one"),
    (_windows_class(dtype=torch.float64), "float32"),
    (_windows_class(target=lambda row, s, w: float(row[s + w])), "y is a float"),
    (_windows_class(target=lambda row, s, w: row[s + w:s + w + 1]), "y is a Tensor (1,)"),
    (_windows_class(start_major=True), "not in order"),
])
def test_window_check_explains_wrong_datasets(cls, message, capsys):
    assert check_window_dataset(cls) == FAILED
    out = capsys.readouterr().out
    assert out.startswith("❌") and message in out and "hint:" in out


def test_window_check_reports_exceptions_of_the_students_code(capsys):
    class Broken(Dataset):
        def __init__(self, series, window):
            raise NotImplementedError("YOUR CODE HERE")

    assert check_window_dataset(Broken) == FAILED
    assert "NotImplementedError" in capsys.readouterr().out


def fit_ar(series, p):
    """A student's least-squares AR(p) fit, in float32: (a_1 ... a_p, c)."""
    x = torch.as_tensor(np.asarray(series), dtype=torch.float32)
    T = x.shape[1]
    lags = torch.stack([x[:, p - i:T - i] for i in range(1, p + 1)], dim=-1).reshape(-1, p)
    design = torch.cat([lags, torch.ones(len(lags), 1)], dim=1)
    w = torch.linalg.lstsq(design, x[:, p:].reshape(-1, 1)).solution[:, 0]
    return w[:p], w[p]


def _fit(series, p, lag=lambda i: i, intercept=True, first=None):
    """fit_ar with a mistake: lag i read as x_{t - lag(i)}, targets from x_first on, maybe no intercept."""
    x = torch.as_tensor(np.asarray(series), dtype=torch.float64)
    first = p if first is None else first
    T = x.shape[1]
    lags = torch.stack([torch.roll(x, lag(i), 1)[:, first:] for i in range(1, p + 1)], dim=-1).reshape(-1, p)
    design = torch.cat([lags, torch.ones(len(lags), 1, dtype=x.dtype)], 1) if intercept else lags
    w = torch.linalg.lstsq(design, x[:, first:].reshape(-1, 1)).solution[:, 0]
    return w[:p], (w[p] if intercept else 0.0)


def _on_rows(f):
    return lambda series, p: fit_ar(f(np.asarray(series)), p)


MISTAKES = [
    (lambda s, p: (fit_ar(s, p)[0].flip(0), fit_ar(s, p)[1]), "oldest first"),
    (lambda s, p: _fit(s, p, intercept=False), "the intercept c is missing"),
    (_on_rows(lambda s: s.reshape(1, -1)), "cross the end of a series into the next"),
    (lambda s, p: _fit(s, p, first=0), "wrap around the end of a series"),
    (lambda s, p: _fit(s, p, lag=lambda i: i - 1), "among its own inputs"),
    (lambda s, p: _fit(s, p, lag=lambda i: i + 1, first=p + 1), "fitted from x_{t-2}"),
    (_on_rows(lambda s: s[:, :-1]), "the last value of each series is never a target"),
    (_on_rows(lambda s: s[:, 1:]), "x_p is never a target"),
    (_on_rows(lambda s: s[:1]), "not the least-squares fit"),
]
WRONG_SHAPES = [
    (None, "define fit_ar"),
    (lambda s, p: None, "returned None"),
    (lambda s, p: fit_ar(s, p)[0], "not the pair (coef, intercept)"),
    (lambda s, p: (torch.cat([*fit_ar(s, p)[0:1], fit_ar(s, p)[1][None]]), 0.0), "the intercept belongs apart"),
    (lambda s, p: (fit_ar(s, p)[0], "c"), "not one number"),
    (lambda s, p: 1 / 0, "ZeroDivisionError"),
    (lambda s, p: fit_ar(s, p) if p != 2 else (torch.tensor([1.0, 0.0]), 0.0), "does not continue the waves"),
]


@pytest.mark.parametrize("fn, message", MISTAKES + WRONG_SHAPES)
def test_fit_ar_check_names_the_mistake(fn, message, capsys):
    assert check_fit_ar(fn) == FAILED
    out = " ".join(line.strip() for line in capsys.readouterr().out.splitlines())
    assert out.startswith("❌") and message in out and ("expected:" in out or fn is None), out


def test_fit_ar_check_accepts_least_squares_in_float32_and_the_course_s_own(capsys):
    assert check_fit_ar(fit_ar) == PASSED
    assert check_fit_ar(ar_coefficients) == PASSED
    assert check_fit_ar(lambda s, p: tuple(v.tolist() for v in fit_ar(s, p))) == PASSED  # a list and a float
    assert capsys.readouterr().out.count("✅") == 3


def test_fit_ar_check_never_prints_the_coefficients_it_grades(monkeypatch, capsys):
    """The sine's weights 2 cos ω and -1 and the AR fits are named, never printed (issue 25)."""
    import seqlib.checks.day04 as day04
    graded = []
    real = day04._grade_fit_ar
    monkeypatch.setattr(day04, "_grade_fit_ar", lambda fn, s, p, want: graded.append(want) or real(fn, s, p, want))
    for fn, _ in MISTAKES + WRONG_SHAPES[2:] + [(fit_ar, "")]:
        check_fit_ar(fn)
    out = capsys.readouterr().out
    numbers = {f"{v:.{d}f}" for want in graded for v in want for d in (2, 3, 4) if abs(v) not in (0.0, 1.0)}
    assert graded and not [n for n in numbers if n in out], numbers & set(out.split())


def test_the_course_s_own_fit_ar_is_seqlib_s():
    x = np.sin(0.3 * np.arange(40.0))[None]
    coef, c = ar_coefficients(x, 2)
    np.testing.assert_allclose(coef, [2 * np.cos(0.3), -1.0], atol=1e-8)
    assert abs(c) < 1e-8


@pytest.mark.wrapped
def test_day04_feedback_fits_the_page_and_keeps_the_solution_secret(capsys):
    """Issue 12: every line a check prints fits the book's column (90 characters), and no hint
    spells out the solution's code."""
    for cls in (_windows_class(), _windows_class(count=lambda T, w: T - w + 1), _windows_class(flat=True),
                _windows_class(target=lambda row, s, w: row[s + w - 1]),
                _windows_class(target=lambda row, s, w: row[s + w - 2]), _windows_class(dtype=torch.float64),
                _windows_class(start_major=True), _windows_class(target=lambda row, s, w: float(row[s + w]))):
        check_window_dataset(cls)
    for fn, _ in MISTAKES + WRONG_SHAPES[1:] + [(fit_ar, "")]:
        check_fit_ar(fn)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 10
    assert all(len(line) <= 90 for line in lines), [line for line in lines if len(line) > 90]
    hints = [line for line in lines if line.lstrip().startswith("hint:")]
    for code in ("divmod", ".mean()", "T - window", "torch.tensor(", "series[j", "lstsq", "torch.", "np.", "[::-1]",
                 "flip", "unfold", "ones("):
        assert not any(code in line for line in hints), code
