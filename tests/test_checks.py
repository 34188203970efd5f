"""seqlib.checks: right answers pass, usual mistakes get a specific message, nothing raises."""

import numpy as np
import pytest
import torch

from seqlib.checks.feedback import as_array, call_student, report, require_callable, shape_str
from seqlib.checks.day01 import check_rnn_num_params, check_rnn_step
from seqlib.checks.feedback import Verdict

PASSED, FAILED = Verdict(True), Verdict(False)  # == compares a check's verdict strictly (None is neither)


# --- general helpers -------------------------------------------------------------------------

def test_report_prints_verdict_and_hint_only_on_failure(capsys):
    assert report(True, "fine", hint="never shown") == PASSED
    assert capsys.readouterr().out == "✅ fine\n"
    assert report(0, "broken", hint="try this") == FAILED
    assert capsys.readouterr().out == "❌ broken\n   hint: try this\n"


def test_report_has_one_format_mark_message_expected_hint(capsys):
    assert report(False, "h_t has shape (3,)", "keep the batch dimension", expected="shape (1, 3)") == FAILED
    assert capsys.readouterr().out == ("❌ h_t has shape (3,)\n   expected: shape (1, 3)\n"
                                       "   hint: keep the batch dimension\n")
    assert report(True, "right", "hidden", expected="hidden too") == PASSED
    assert capsys.readouterr().out == "✅ right\n"


def test_require_callable_reports_what_is_missing(capsys):
    assert require_callable(len, "f", "f(x)") is None and capsys.readouterr().out == ""
    assert require_callable(None, "f", "f(x)") == FAILED
    out = capsys.readouterr().out
    assert out.startswith("❌ f should be a function, got None") and "define f(x) first" in out
    assert require_callable("f", "f", "f(x)") == FAILED and "pass the function itself" in capsys.readouterr().out
    assert require_callable(None, "Windows", "the class Windows(series)") == FAILED
    assert "should be a class" in capsys.readouterr().out


def test_shape_str_prints_shapes_as_python_tuples():
    assert shape_str((3,)) == "(3,)" and shape_str(np.zeros((2, 4)).shape) == "(2, 4)"
    assert shape_str(torch.zeros(2, 0).shape) == "(2, 0)"
    # not a shape: shown as received, so that a check can always print it (it never raises)
    assert shape_str(None) == "None" and shape_str("x") == "'x'" and shape_str((2.5,)) == "(2.5,)"


def test_call_student_returns_result_or_a_one_line_error():
    assert call_student(lambda a, b: a + b, 1, 2) == (3, None)
    result, error = call_student(lambda: 1 / 0)
    assert result is None and error.startswith("ZeroDivisionError: division by zero")


def test_as_array_accepts_numbers_in_any_container_and_rejects_the_rest():
    np.testing.assert_array_equal(as_array(torch.ones(2, requires_grad=True)), np.ones(2))
    assert as_array([[1, 2]]).shape == (1, 2) and as_array([[1, 2]]).dtype == np.float64
    assert as_array(None) is None and as_array("abc") is None and as_array({"a": 1}) is None
    assert as_array(10**400) is None and as_array([1, 10**400]) is None  # past float64: not comparable


# --- Day 1: rnn_step -------------------------------------------------------------------------

def correct(x_t, h_prev, W_xh, W_hh, b_h):
    return np.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)


def test_check_rnn_step_accepts_a_correct_step_in_numpy_or_torch(capsys):
    assert check_rnn_step(correct) == PASSED
    assert "matches torch.nn.RNNCell" in capsys.readouterr().out

    def in_torch(x_t, h_prev, W_xh, W_hh, b_h):
        cell = torch.nn.RNNCell(W_xh.shape[1], W_xh.shape[0], dtype=torch.float64)
        with torch.no_grad():
            cell.weight_ih.copy_(torch.from_numpy(W_xh))
            cell.weight_hh.copy_(torch.from_numpy(W_hh))
            cell.bias_ih.copy_(torch.from_numpy(b_h))
            cell.bias_hh.zero_()
            return cell(torch.from_numpy(x_t), torch.from_numpy(h_prev))

    assert check_rnn_step(in_torch) == PASSED


def test_check_rnn_step_is_not_fooled_by_modifying_the_inputs_in_place(capsys):
    def in_place(x_t, h_prev, W_xh, W_hh, b_h):
        h_prev[:] = np.tanh(x_t @ W_xh.T + h_prev @ W_hh.T + b_h)
        W_xh *= 0
        return h_prev

    assert check_rnn_step(in_place) == PASSED


@pytest.mark.parametrize(
    "step, expected",
    [
        (lambda x, h, Wx, Wh, b: None, "returned None"),
        (lambda x, h, Wx, Wh, b: x @ Wx.T + h @ Wh.T + b, "the tanh is missing"),
        (lambda x, h, Wx, Wh, b: np.tanh(x @ Wx.T + h @ Wh.T), "the bias b_h is missing"),
        (lambda x, h, Wx, Wh, b: np.tanh(x @ Wx + h @ Wh.T + b), "W_xh is used without transposing"),
        (lambda x, h, Wx, Wh, b: np.tanh(x @ Wx.T + h @ Wh + b), "W_hh is used without transposing"),
        (lambda x, h, Wx, Wh, b: np.tanh(x @ Wx + h @ Wh + b), "both W_xh and W_hh"),
        (lambda x, h, Wx, Wh, b: np.tanh(x @ Wx.T + b), "h_prev is ignored"),
        (lambda x, h, Wx, Wh, b: np.tanh(h @ Wh.T + b), "x_t is ignored"),
        (lambda x, h, Wx, Wh, b: np.maximum(x @ Wx.T + h @ Wh.T + b, 0), "ReLU"),
        (lambda x, h, Wx, Wh, b: np.tanh(Wx @ x.T + Wh @ h.T + b[:, None]), "it is transposed"),
        (lambda x, h, Wx, Wh, b: np.tanh(x @ Wx.T + h @ Wh.T + b).squeeze(), "keep the batch dimension"),
        (lambda x, h, Wx, Wh, b: np.tanh(Wx @ x + Wh @ h + b), "raised ValueError"),
        (lambda x, h, Wx, Wh, b: np.tanh(x @ Wx.T + h @ Wh.T + b) * 1.1, "wrong values"),
        (lambda x, h, Wx, Wh, b: "h_t", "array of numbers"),
        (lambda x, h, Wx, Wh, b: np.full((x.shape[0], Wx.shape[0]), np.nan), "NaN"),
        (lambda x, h, Wx, Wh, b: np.zeros((3, 3)), "expected"),
    ],
    ids=["none", "no-tanh", "no-bias", "W_xh-T", "W_hh-T", "both-T", "no-h", "no-x", "relu",
         "transposed-output", "squeezed", "column-form", "scaled", "string", "nan", "wrong-shape"],
)
def test_check_rnn_step_names_the_mistake_without_raising(capsys, step, expected):
    assert check_rnn_step(step) == FAILED
    out = capsys.readouterr().out
    assert out.startswith("❌ ") and expected in out, out
    assert "hint:" in out


def test_check_rnn_step_reports_a_missing_function(capsys):
    assert check_rnn_step(None) == FAILED
    assert "should be a function" in capsys.readouterr().out


# --- Day 1: parameter count ------------------------------------------------------------------

D, H, Q, T = 28, 32, 28, 35
RIGHT = H * D + H * H + H + Q * H + Q


@pytest.mark.parametrize("answer", [RIGHT, float(RIGHT), np.int64(RIGHT), torch.tensor(RIGHT)])
def test_check_rnn_num_params_accepts_the_right_integer_in_any_numeric_type(capsys, answer):
    assert check_rnn_num_params(answer, D, H, Q, num_steps=T) == PASSED
    out = capsys.readouterr().out
    assert out.startswith(f"✅ {RIGHT} parameters") and "T=35" in out


def test_check_rnn_num_params_agrees_with_torch_nn_for_other_sizes(capsys):
    rnn, head = torch.nn.RNN(3, 7), torch.nn.Linear(7, 2)
    torch_count = sum(p.numel() for p in [*rnn.parameters(), *head.parameters()])
    assert check_rnn_num_params(torch_count - 7, 3, 7, 2) == PASSED  # one hidden bias, not two
    assert check_rnn_num_params(torch_count, 3, 7, 2) == FAILED
    assert "two hidden biases" in capsys.readouterr().out


@pytest.mark.parametrize(
    "answer, expected",
    [
        (RIGHT + H, "two hidden biases"),
        (RIGHT - H - Q, "both biases"),
        (RIGHT - H, "hidden bias b_h"),
        (RIGHT - Q, "output bias b_q"),
        (RIGHT - Q * H - Q, "output layer"),
        (RIGHT - H * H, "recurrent weights W_hh"),
        (RIGHT - H * D, "W_xh"),
        (RIGHT - H * H + H * D, "h×h, not h×d"),
        (RIGHT * T, "per time step"),
        ((H * D + H * H + H) * T + Q * H + Q, "recurrent layer per time step"),
        (12345, "is not right for d=28"),
    ],
)
def test_check_rnn_num_params_explains_wrong_answers(capsys, answer, expected):
    assert check_rnn_num_params(answer, D, H, Q, num_steps=T) == FAILED
    out = capsys.readouterr().out
    assert out.startswith(f"❌ {answer} is not right") and expected in out, out
    assert str(RIGHT) not in out  # the feedback never gives the number away
    if "time step" in expected:
        assert "does not depend on T" in out
    else:
        assert "W_hh is h×h" in out  # the formula, in words


def test_check_rnn_num_params_names_both_weights_when_they_have_the_same_size(capsys):
    # d == q, so leaving out W_xh or W_hq gives the same number: both are named.
    check_rnn_num_params(RIGHT - H * D, D, H, Q)
    out = capsys.readouterr().out
    assert "W_xh" in out and "W_hq" in out


@pytest.mark.parametrize("answer, expected", [(None, "no answer yet"), (2.5, "whole number"),
                                              ("2876", "whole number"), (True, "whole number"),
                                              (float("inf"), "whole number")])
def test_check_rnn_num_params_handles_non_answers(capsys, answer, expected):
    assert check_rnn_num_params(answer, D, H, Q) == FAILED
    assert expected in capsys.readouterr().out


@pytest.mark.parametrize("sizes", [(0, 2, 2), (2, 2.5, 2), (2, 2, True)])
def test_check_rnn_num_params_rejects_bad_sizes_from_the_lab_author(sizes):
    with pytest.raises(ValueError, match="positive integer"):
        check_rnn_num_params(10, *sizes)


@pytest.mark.parametrize("answer", [10**400, -10**400, float("inf"), float("nan"), 1e308 * 10],
                         ids=["10**400", "-10**400", "inf", "nan", "overflowed float"])
def test_check_rnn_num_params_never_raises_on_huge_or_non_finite_answers(capsys, answer):
    """Issue 13: a check reports, it does not raise (10**400 used to raise OverflowError)."""
    assert check_rnn_num_params(answer, D, H, Q) == FAILED
    assert capsys.readouterr().out.startswith("❌")


def test_a_verdict_acts_as_a_bool_and_shows_nothing_in_a_notebook():
    from IPython.core.formatters import DisplayFormatter

    ok, bad = report(True, "fine"), report(False, "wrong")
    assert ok and not bad and ok == True and bad == False  # noqa: E712
    assert ok != bad and all([ok, ok]) and not all([ok, bad])
    assert ok != None and bad != None  # noqa: E711
    data, _ = DisplayFormatter().format(ok)
    assert data == {}, "a check's verdict must not print a bare True/False under the cell"


@pytest.mark.wrapped
def test_feedback_lines_fit_the_book_column(capsys):
    report(False, "the hidden state " * 12, "try " * 40, expected="shape (2, 3) " * 10)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 3 and all(len(line) <= 78 for line in lines)
    assert lines[0].startswith("❌ the hidden state") and lines[1].startswith("   ")
    assert any(line.startswith("   expected: ") for line in lines) and any(line.startswith("   hint: ") for line in lines)
