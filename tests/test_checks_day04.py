"""The Day 4 exercise checks accept right answers, explain wrong ones and never raise."""

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from seqlib.checks.day04 import check_persistence_mse, check_window_dataset, naive_mse
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


def _right(X, y):
    return ((X[:, -1] - y) ** 2).mean()


@pytest.mark.parametrize("fn, message", [
    (None, "define persistence_mse"),
    (lambda X, y: None, "must return one number"),
    (lambda X, y: (X[:, -1] - y).abs().mean(), "mean absolute error"),
    (lambda X, y: ((X[:, -1] - y) ** 2).sum(), "summed"),
    (lambda X, y: ((X[:, 0] - y) ** 2).mean(), "first value"),
    (lambda X, y: ((y - y) ** 2).mean(), "zero"),
    (lambda X, y: (X[:, -1] - y) ** 2, "one number"),
    (lambda X, y: 1 / 0, "ZeroDivisionError"),
    (lambda X, y: ((X[:1, -1] - y[:1]) ** 2).mean(), "random windows"),
])
def test_persistence_check_explains_wrong_answers(fn, message, capsys):
    assert check_persistence_mse(fn) == FAILED
    out = capsys.readouterr().out
    assert out.startswith("❌") and message in out


def test_persistence_check_accepts_tensors_and_floats(capsys):
    assert check_persistence_mse(_right) == PASSED
    assert check_persistence_mse(lambda X, y: float(_right(X, y))) == PASSED
    assert capsys.readouterr().out.count("✅") == 2


@pytest.mark.wrapped
def test_day04_feedback_fits_the_page_and_keeps_the_solution_secret(capsys):
    """Issue 12: every line a check prints fits the book's column (90 characters), and no hint
    spells out the solution's code."""
    for cls in (_windows_class(), _windows_class(count=lambda T, w: T - w + 1), _windows_class(flat=True),
                _windows_class(target=lambda row, s, w: row[s + w - 1]),
                _windows_class(target=lambda row, s, w: row[s + w - 2]), _windows_class(dtype=torch.float64),
                _windows_class(start_major=True), _windows_class(target=lambda row, s, w: float(row[s + w]))):
        check_window_dataset(cls)
    for fn in (_right, lambda X, y: None, lambda X, y: (X[:, -1] - y).abs().mean(),
               lambda X, y: ((X[:, -1] - y) ** 2).sum(), lambda X, y: ((X[:, 0] - y) ** 2).mean(),
               lambda X, y: ((X[:1, -1] - y[:1]) ** 2).mean(), lambda X, y: 0.5):
        check_persistence_mse(fn)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 10
    assert all(len(line) <= 90 for line in lines), [line for line in lines if len(line) > 90]
    hints = [line for line in lines if line.lstrip().startswith("hint:")]
    for code in ("divmod", ".mean()", "X[:, -1] - y", "T - window", "torch.tensor(", "series[j"):
        assert not any(code in line for line in hints), code


def test_the_course_s_naive_mse_is_the_mse_of_the_last_value():
    X, y = torch.tensor([[0.0, 1.0], [2.0, 3.0]]), torch.tensor([1.5, 5.0])
    assert naive_mse(X, y) == pytest.approx((0.5 ** 2 + 2.0 ** 2) / 2)
    assert check_persistence_mse(naive_mse) == PASSED
