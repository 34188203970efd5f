"""The one validation layer: each helper returns the checked value or names the argument, the value and a fix."""

import math

import numpy as np
import pytest
import torch

from seqlib import validation as v


@pytest.mark.parametrize("value", [1, 3, np.int64(3), np.int32(7), np.uint8(2)])
def test_positive_int_accepts_python_and_numpy_integers(value):
    got = v.positive_int(value, "num_hiddens")
    assert got == int(value) and type(got) is int


@pytest.mark.parametrize("value, error", [(0, ValueError), (-2, ValueError), (np.int64(0), ValueError),
                                          (2.5, TypeError), (2.0, TypeError), ("3", TypeError),
                                          (True, TypeError), (None, TypeError), (torch.tensor(3), TypeError)])
def test_positive_int_rejects_non_positive_and_non_integers_naming_the_argument(value, error):
    with pytest.raises(error, match=r"num_hiddens must be a positive integer.*got"):
        v.positive_int(value, "num_hiddens")


def test_a_type_error_is_also_a_value_error_for_callers_that_catch_bad_arguments_as_value_errors():
    with pytest.raises(ValueError):
        v.positive_int(2.5, "batch_size")
    assert issubclass(v.ArgumentTypeError, TypeError) and issubclass(v.ArgumentTypeError, ValueError)


def test_positive_int_appends_the_hint():
    with pytest.raises(ValueError, match=r"got -1; \(epochs without improvement\)"):
        v.positive_int(-1, "patience", hint="(epochs without improvement)")


def test_non_negative_int():
    assert v.non_negative_int(0, "seed") == 0 and v.non_negative_int(np.int64(5), "seed") == 5
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer.*got -1"):
        v.non_negative_int(-1, "seed")
    with pytest.raises(TypeError, match=r"seed must be a non-negative integer.*got False"):
        v.non_negative_int(False, "seed")


def test_finite_number_and_ranges():
    assert v.finite_number(np.float32(0.5), "lr") == 0.5
    assert v.finite_number(torch.tensor(2.0), "lr") == 2.0
    assert v.number_in_range(1e-3, "lr", 0, low_open=True) == 1e-3
    assert v.probability(0, "dropout") == 0.0 and v.probability(1, "dropout") == 1.0
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match=r"lr must be a finite number"):
            v.finite_number(bad, "lr")
    with pytest.raises(TypeError, match=r"lr must be a number, got '0.1'"):
        v.finite_number("0.1", "lr")
    with pytest.raises(ValueError, match=r"lr must be positive \(> 0\), got 0"):
        v.number_in_range(0, "lr", 0, low_open=True)
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\], got 1.5"):
        v.probability(1.5, "dropout")
    with pytest.raises(ValueError, match=r"theta must be <= 10, got 11"):
        v.number_in_range(11, "theta", high=10)


def test_one_of():
    assert v.one_of("lstm", "cell", ("rnn", "lstm", "gru")) == "lstm"
    with pytest.raises(ValueError, match=r"cell must be one of 'rnn', 'lstm', 'gru'; got 'LSTMs'"):
        v.one_of("LSTMs", "cell", ("rnn", "lstm", "gru"))
    with pytest.raises(ValueError, match=r"got \[1\]"):
        v.one_of([1], "cell", {"rnn", "lstm"})


def test_tensor_accepts_the_expected_tensor_and_returns_it():
    X = torch.zeros(4, 7, dtype=torch.long)
    assert v.tensor(X, "X", shape=("batch_size", "num_steps"), dtype="integer", sizes={"batch_size": 4}) is X


def test_tensor_message_names_the_argument_the_shape_in_the_lesson_notation_and_what_was_received():
    X = torch.zeros(16, 35, dtype=torch.long)
    with pytest.raises(ValueError) as err:
        v.tensor(X, "X", shape=("batch_size", "num_steps"), sizes={"batch_size": 32})
    text = str(err.value)
    assert "X must have shape (batch_size, num_steps) [batch_size=32]" in text
    assert "got a tensor of shape (16, 35) and dtype torch.int64" in text
    assert "its batch_size is 16, not 32" in text
    with pytest.raises(ValueError, match=r"it has 1 dimension\(s\), expected 2"):
        v.tensor(torch.zeros(3), "X", shape=("batch_size", "num_steps"))


def test_tensor_rejects_non_tensors_and_wrong_dtype_families_with_a_fix():
    with pytest.raises(TypeError, match=r"X must be a torch.Tensor of shape \(batch_size, num_steps\), got a "
                                        r"ndarray of shape \(2, 3\); convert it with torch.as_tensor"):
        v.tensor(np.zeros((2, 3)), "X", shape=("batch_size", "num_steps"))
    with pytest.raises(TypeError, match=r"X must be an integer tensor \(token indices: use .long\(\)\)"):
        v.tensor(torch.zeros(2, 3), "X", dtype="integer")
    with pytest.raises(TypeError, match=r"inputs must be a floating-point tensor"):
        v.tensor(torch.zeros(2, 3, dtype=torch.long), "inputs", dtype="float")


def test_tensor_alternative_shapes_exact_sizes_finite_and_non_empty():
    y = torch.zeros(5, 1)
    assert v.tensor(y, "y", shape=(("batch_size",), ("batch_size", 1))) is y
    with pytest.raises(ValueError, match=r"y must have shape \(batch_size,\) or \(batch_size, 1\).*none of them"):
        v.tensor(torch.zeros(5, 2), "y", shape=(("batch_size",), ("batch_size", 1)))
    with pytest.raises(ValueError, match=r"X contains NaN or infinite values"):
        v.tensor(torch.tensor([1.0, math.nan]), "X", finite=True)
    with pytest.raises(ValueError, match=r"X is empty"):
        v.tensor(torch.zeros(0, 3), "X", non_empty=True)
    assert v._shape_text(("batch_size",)) == "(batch_size,)"


def test_token_ids():
    X = torch.tensor([[0, 4], [2, 3]])
    assert v.token_ids(X, "X", 5) is X
    with pytest.raises(ValueError, match=r"X holds token indices from 0 to 4 \(vocab_size=5\); got 5"):
        v.token_ids(X + 1, "X", 5)
    with pytest.raises(ValueError, match=r"got -1"):
        v.token_ids(X - 1, "X", 5)
    with pytest.raises(TypeError, match=r"X must be an integer tensor"):
        v.token_ids(X.float(), "X", 5)


def test_state_is_a_tuple_of_tensors_of_the_named_shape():
    H, C = torch.zeros(2, 3), torch.zeros(2, 3)
    sizes = {"batch_size": 2, "num_hiddens": 3}
    assert v.state((H, C), "state", ("H", "C"), sizes=sizes) == (H, C)
    with pytest.raises(TypeError, match=r"state must be the tuple \(H, C\), each of shape \(batch_size, num_hiddens\); "
                                        r"got a single tensor of shape \(2, 3\); an LSTM carries a cell state"):
        v.state(H, "state", ("H", "C"), sizes=sizes)
    with pytest.raises(TypeError, match=r"state must be the tuple \(H,\).*got a tuple of 2 items"):
        v.state((H, C), "state", ("H",), sizes=sizes)
    with pytest.raises(ValueError, match=r"C must have shape \(batch_size, num_hiddens\) \[batch_size=2, num_hiddens=3\]"):
        v.state((H, torch.zeros(2, 4)), "state", ("H", "C"), sizes=sizes)


def test_lengths():
    got = v.lengths([3, 1], batch_size=2, max_len=3)
    assert got.dtype == torch.long and got.tolist() == [3, 1]
    assert v.lengths(np.array([2, 2]), max_len=2).tolist() == [2, 2]
    with pytest.raises(ValueError, match=r"lengths must have shape \(batch_size,\) \[batch_size=3\].*\(2,\)"):
        v.lengths([3, 1], batch_size=3)
    with pytest.raises(ValueError, match=r"at least one token \(a length of 0 was given\)"):
        v.lengths([3, 0])
    with pytest.raises(ValueError, match=r"lengths must be at most num_steps=2.*got 3"):
        v.lengths([3, 1], max_len=2)
    with pytest.raises(TypeError, match=r"lengths must be an integer tensor"):
        v.lengths([2.5, 1.0])
    assert v.lengths([0, 2], min_len=0).tolist() == [0, 2]


def test_sequence_accepts_lists_tuples_and_arrays_and_names_a_bad_item():
    lines = ["a b", "c"]
    assert v.sequence(lines, "lines", of=str) is lines
    assert v.sequence(("a",), "tokens", of=str) == ("a",)
    assert len(v.sequence(np.array([1, 2]), "labels", non_empty=True)) == 2
    assert v.sequence("abc", "corpus", strings=True) == "abc"
    for bad in (None, 3, "one string", b"bytes", {"a": 1}, {"a"}, np.array(3)):
        with pytest.raises(TypeError, match=r"lines must be a list of str, got"):
            v.sequence(bad, "lines", of=str)
    with pytest.raises(TypeError, match=r"lines must be a list of lines, but lines\[1\] is 2 \(int\)"):
        v.sequence(["a", 2], "lines", of=str, what="a list of lines")
    with pytest.raises(ValueError, match=r"labels is empty; pass a list with at least one item"):
        v.sequence([], "labels", non_empty=True)


def test_float_array_converts_tensors_and_names_a_wrong_rank():
    import numpy as np

    from seqlib.validation import float_array

    a = float_array(torch.ones(2, 3, requires_grad=True), "H", ndim=2, what="a matrix")
    assert isinstance(a, np.ndarray) and a.dtype == float and a.shape == (2, 3)
    assert float_array([1, 2], "x", ndim=1, what="a vector").tolist() == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"^H must be a matrix, got shape \(3,\); pick one$"):
        float_array(np.zeros(3), "H", ndim=2, what="a matrix", hint="pick one")
