"""The checks that run where a user crosses into seqlib (constructors, a model's call, loaders, ...).

Each helper returns the checked value (a NumPy integer as an ``int``) or raises ``ArgumentTypeError`` (a
``TypeError`` and a ``ValueError``) for the wrong kind of value, ``ValueError`` for one out of range; the
message names the argument and what was received and ends with ``hint``: a call site is one line.

===============================================  ==============================================
``positive_int(value, name)``                    an integer >= 1 (``int`` or NumPy integer, no bool)
``non_negative_int(value, name)``                an integer >= 0
``finite_number(value, name)``                   a real number that is not NaN or infinite
``number_in_range(value, name, low, high)``      a finite number in ``[low, high]`` (ends optional, open)
``probability(value, name)``                     a number in ``[0, 1]``
``one_of(value, name, choices)``                 one of a set of names
``function(value, name, usage)``                 a callable (``optional``: or ``None``)
``loader(value, name)``                          an iterable of batches with at least one batch
``sequence(value, name, of=...)``                a list, tuple or array (not one string) of ``of`` items
``tensor(value, name, shape=..., ...)``          a ``torch.Tensor`` of the expected rank, dtype and sizes
``token_ids(X, name, vocab_size)``               an integer tensor of token indices in ``[0, vocab_size)``
``lengths(value, name, batch_size, max_len)``    the lengths of a padded batch: one integer per sequence
``padded_batch(X, lens, vocab_size)``            a model's input: token ids and their lengths
``state(value, name, ("H", "C"), shape=...)``    a recurrent state: the tuple of tensors a model carries
``float_array(value, name, ndim=...)``            an array (tensor, NumPy, lists) as NumPy floats
``same_length(a, b, names)``                     two sequences that go one for one (outputs and targets)
``pairs(outputs, targets)``                      two lists of ``of`` items that go one for one
``index(value, name, size)``                     an integer in ``[0, size)`` (a token or tag index)
``require(ok, message, error=ValueError)``       any other boundary condition, in one line
===============================================  ==============================================

Shapes are in the lesson's notation: ``tensor(X, "X", shape=("batch_size", "num_steps"),
sizes={"batch_size": 32})`` fails with ``X must have shape (batch_size, num_steps) [batch_size=32],
got a tensor of shape (16, 35) and dtype torch.int64: its batch_size is 16, not 32``.
"""

from __future__ import annotations

import math
import numbers

import torch

__all__ = ["ArgumentTypeError", "float_array", "positive_int", "non_negative_int", "finite_number", "number_in_range",
           "probability", "one_of", "function", "loader", "sequence", "tensor", "token_ids", "lengths",
           "padded_batch", "state", "same_length", "pairs", "index", "require"]


class ArgumentTypeError(TypeError, ValueError):
    """An argument of the wrong kind (a float where a size goes); also a ``ValueError``, a bad argument."""


def _hint(hint: str) -> str:
    return f"; {hint}" if hint else ""


def positive_int(value, name: str, *, hint: str = "") -> int:
    """``value`` as an ``int`` if it is an integer >= 1 (``int`` or NumPy integer, not a bool): a size."""
    return _int_at_least(value, name, 1, "a positive integer", "1 or more", "1, 2, 32", hint)


def non_negative_int(value, name: str, *, hint: str = "") -> int:
    """``value`` as an ``int`` if it is an integer >= 0 (``int`` or NumPy integer, not a bool)."""
    return _int_at_least(value, name, 0, "a non-negative integer", "0 or more", "0, 1, 10", hint)


def _int_at_least(value, name, low, kind, bound, examples, hint) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise ArgumentTypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})"
                                f"{_hint(hint) or f'; pass a whole number such as {examples}'}")
    if value < low:
        raise ValueError(f"{name} must be {kind} ({bound}), got {value!r}"
                         f"{_hint(hint) or f'; pass a whole number such as {examples}'}")
    return int(value)


def finite_number(value, name: str, *, hint: str = "") -> float:
    """``value`` as a ``float`` if it is a real number (int, float, NumPy scalar, 0-d tensor), not NaN/inf."""
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not value.is_complex():
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ArgumentTypeError(f"{name} must be a number, got {value!r} ({type(value).__name__}){_hint(hint)}")
    if not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number, got {value!r}{_hint(hint)}")
    return float(value)


def number_in_range(value, name: str, low: float | None = None, high: float | None = None, *,
                    low_open: bool = False, high_open: bool = False, hint: str = "") -> float:
    """``value`` as a ``float`` if it is a finite number between ``low`` and ``high`` (``None``: unbounded;
    ``low_open`` / ``high_open`` exclude the end: ``number_in_range(lr, "lr", 0, low_open=True)``)."""
    x = finite_number(value, name, hint=hint)
    too_low = low is not None and (x <= low if low_open else x < low)
    too_high = high is not None and (x >= high if high_open else x > high)
    if too_low or too_high:
        if low is None:
            where = f"{'<' if high_open else '<='} {high:g}"
        elif high is None and low == 0:
            where = "positive (> 0)" if low_open else "non-negative (>= 0)"
        elif high is None:
            where = f"{'>' if low_open else '>='} {low:g}"
        else:
            where = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{name} must be {where}, got {value!r}{_hint(hint)}")
    return x


def probability(value, name: str, *, hint: str = "") -> float:
    """``value`` as a ``float`` if it is a number in ``[0, 1]`` (a dropout rate, a proportion)."""
    return number_in_range(value, name, 0.0, 1.0, hint=hint)


def one_of(value, name: str, choices, *, hint: str = ""):
    """``value`` unchanged if it is one of ``choices`` (names such as ``"lstm"``), else a ``ValueError``."""
    choices = list(choices)
    try:
        ok = value in choices
    except TypeError:  # an unhashable value against a set or dict
        ok = False
    if not ok:
        listed = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {listed}; got {value!r}{_hint(hint)}")
    return value


def function(value, name: str, usage: str, *, optional: bool = False):
    """``value`` unchanged if it is callable (or ``None`` when ``optional``); ``usage`` shows the call."""
    if not (callable(value) or optional and value is None):
        raise ArgumentTypeError(f"{name} must be a function {usage}, got {type(value).__name__}")
    return value


def loader(value, name: str, *, optional: bool = False):
    """``value`` unchanged if it is an iterable of batches (a ``DataLoader``) with at least one batch."""
    if optional and value is None:
        return value
    if isinstance(value, (torch.Tensor, tuple)) or not hasattr(value, "__iter__"):
        raise ArgumentTypeError(f"{name} must be an iterable of batches such as a DataLoader, got "
                                f"{type(value).__name__}; wrap tensors: DataLoader(TensorDataset(X, y), batch_size=...)")
    if hasattr(value, "__len__") and len(value) == 0:
        raise ValueError(f"{name} has no batches: is the data set empty, or drop_last=True with fewer examples "
                         "than batch_size?")
    return value


def sequence(value, name: str, *, of=None, non_empty: bool = False, strings: bool = False, what: str = "",
             hint: str = ""):
    """``value`` unchanged if it has ``len`` and indexing (list, tuple, array, 1-d tensor) and is not a dict,
    a set or one string (``strings=True``: a string of characters). ``of``: the type(s) of every item
    (``lines[2]`` is named); ``non_empty``: at least one item; ``what``: how the message names it."""
    kinds = of if isinstance(of, tuple) else (of,) if of is not None else ()
    what = what or ("a list" + (" of " + " or ".join(k.__name__ for k in kinds) if kinds else ""))
    is_text = isinstance(value, (str, bytes, bytearray))
    try:
        size = len(value) if hasattr(value, "__getitem__") else None
    except TypeError:  # a 0-d array or tensor
        size = None
    if size is None or isinstance(value, (dict, set, frozenset)) or (is_text and not (strings and isinstance(value, str))):
        got = f"one string {value[:40]!r}" if is_text else f"{value!r:.60} ({type(value).__name__})"
        raise ArgumentTypeError(f"{name} must be {what}, got {got}{_hint(hint)}")
    if non_empty and size == 0:
        raise ValueError(f"{name} is empty; pass {what} with at least one item{_hint(hint)}")
    if kinds:
        for i, item in enumerate(value):
            if not isinstance(item, kinds) or isinstance(item, bool) and bool not in kinds:
                raise ArgumentTypeError(f"{name} must be {what}, but {name}[{i}] is {item!r:.60} "
                                        f"({type(item).__name__}){_hint(hint)}")
    return value


def same_length(a, b, names: str, *, hint: str = "") -> None:
    """A ``ValueError`` unless ``len(a) == len(b)``; ``names`` says which, e.g. ``"outputs and targets"``."""
    if len(a) != len(b):
        raise ValueError(f"{names} must go one for one, got {len(a)} and {len(b)}{_hint(hint)}")


def pairs(outputs, targets, names=("outputs", "targets"), *, of=str, non_empty: bool = True,
          what: str = "", hint: str = "") -> tuple[list, list]:
    """``outputs`` and ``targets`` as lists if both are a :func:`sequence` of ``of`` items
    (``targets`` not empty unless ``non_empty=False``) that go one for one (:func:`same_length`)."""
    sequence(outputs, names[0], of=of, what=what)
    sequence(targets, names[1], of=of, non_empty=non_empty, what=what)
    same_length(outputs, targets, f"{names[0]} and {names[1]}", hint=hint)
    return list(outputs), list(targets)


def index(value, name: str, size: int, *, hint: str = "") -> int:
    """``value`` as an ``int`` if it is an integer in ``[0, size)``: an index of a vocabulary or tag set."""
    return int(number_in_range(non_negative_int(value, name, hint=hint), name, 0, size - 1, hint=hint))


def require(ok, message: str, error: type = ValueError) -> None:
    """Raise ``error(message)`` unless ``ok``: a boundary's condition that no helper above covers
    (``error=TypeError`` raises an ``ArgumentTypeError``, a wrong kind of value)."""
    if not ok:
        raise (ArgumentTypeError if error is TypeError else error)(message)


_DTYPE_FAMILIES = {
    "float": (lambda t: t.is_floating_point(), "a floating-point tensor (use .float())"),
    "integer": (lambda t: not t.is_floating_point() and not t.is_complex() and t.dtype != torch.bool,
                "an integer tensor (token indices: use .long())"),
    "bool": (lambda t: t.dtype == torch.bool, "a boolean tensor (use .bool())"),
    "number": (lambda t: t.dtype != torch.bool and not t.is_complex(), "a real-valued tensor"),
}


def float_array(value, name: str, *, ndim: int, what: str, hint: str = ""):
    """``value`` (array, tensor on any device, nested list) as a NumPy float array with ``ndim`` dimensions."""
    import numpy as np

    if hasattr(value, "detach"):
        value = value.detach().cpu()
    a = np.asarray(value, dtype=float)
    if a.ndim != ndim:
        raise ValueError(f"{name} must be {what}, got shape {a.shape}{_hint(hint)}")
    return a


def _shape_text(shape) -> str:
    parts = [str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def tensor(value, name: str, *, shape=None, dtype: str | None = None, sizes: dict | None = None,
           finite: bool = False, non_empty: bool = False, hint: str = "") -> torch.Tensor:
    """``value`` unchanged if it is a ``torch.Tensor`` as the lesson expects.

    ``shape``: dimension names (``("batch_size", "num_steps")``) or ints, checks the rank; a tuple of
    shapes accepts any of them. ``dtype``: ``"float"``, ``"integer"``, ``"bool"`` or ``"number"``.
    ``sizes``: ``{"num_hiddens": 64}``, sizes of named dimensions. ``finite``: no NaN or inf (one
    reduction). ``non_empty``: at least one element.
    """
    sizes = dict(sizes or {})
    if not isinstance(value, torch.Tensor):
        what = type(value).__name__
        if hasattr(value, "shape"):
            what += f" of shape {tuple(value.shape)}"
        expected = f" of shape {_shape_text(shape)}" if shape is not None and _is_single(shape) else ""
        if value is None:
            raise ArgumentTypeError(f"{name} must be a torch.Tensor{expected}, got None{_hint(hint)}")
        raise ArgumentTypeError(f"{name} must be a torch.Tensor{expected}, got a {what}; "
                                f"convert it with torch.as_tensor(...){_hint(hint)}")
    received = f"got a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if dtype is not None:
        test, wanted = _DTYPE_FAMILIES[dtype]
        if not test(value):
            raise ArgumentTypeError(f"{name} must be {wanted}, {received}{_hint(hint)}")
    if shape is not None:
        candidates = [tuple(shape)] if _is_single(shape) else [tuple(s) for s in shape]
        problems = [_shape_problem(value, s, sizes) for s in candidates]
        if all(problems):
            expected = " or ".join(_shape_text(s) for s in candidates)
            known = ", ".join(f"{k}={v}" for k, v in sizes.items())
            problem = problems[0] if len(candidates) == 1 else "it matches none of them"
            raise ValueError(f"{name} must have shape {expected}" + (f" [{known}]" if known else "")
                             + f", {received}: {problem}{_hint(hint)}")
    if non_empty and value.numel() == 0:
        raise ValueError(f"{name} is empty ({received}); pass at least one example{_hint(hint)}")
    if finite and (value.is_floating_point() or value.is_complex()) and value.numel() \
            and not bool(torch.isfinite(value).all()):
        raise ValueError(f"{name} contains NaN or infinite values ({received}); "
                         f"check the data or lower the learning rate{_hint(hint)}")
    return value


def _is_single(shape) -> bool:
    return not any(isinstance(s, (tuple, list)) for s in shape)


def _shape_problem(value: torch.Tensor, shape: tuple, sizes: dict) -> str:
    if value.dim() != len(shape):
        return f"it has {value.dim()} dimension(s), expected {len(shape)}"
    for axis, dim in enumerate(shape):
        want = dim if isinstance(dim, int) else sizes.get(dim)
        if want is not None and value.shape[axis] != want:
            return f"its {dim if isinstance(dim, str) else f'dimension {axis}'} is {value.shape[axis]}, not {want}"
    return ""


def token_ids(value, name: str, vocab_size: int, *, shape=("batch_size", "num_steps"), sizes: dict | None = None,
              hint: str = "") -> torch.Tensor:
    """``value`` unchanged if it is an integer tensor of ``shape`` whose entries are token indices
    in ``[0, vocab_size)`` (one reduction over the tensor), else a clear error."""
    tensor(value, name, shape=shape, dtype="integer", sizes=sizes, hint=hint)
    if value.numel():
        low, high = torch.aminmax(value)
        low, high = int(low), int(high)
        if low < 0 or high >= vocab_size:
            bad = low if low < 0 else high
            raise ValueError(f"{name} holds token indices from 0 to {vocab_size - 1} (vocab_size={vocab_size}); "
                             f"got {bad}: encode the text with the model's vocabulary, or build the model "
                             f"with vocab_size=len(vocab){_hint(hint)}")
    return value


def state(value, name: str, parts=("H",), *, shape=("batch_size", "num_hiddens"), sizes: dict | None = None,
          dtype: str | None = "float", hint: str = ""):
    """``value`` unchanged if it is the tuple (or list) of ``len(parts)`` tensors a recurrent model carries,
    each of ``shape`` (checked against ``sizes``): ``state(s, "state", ("H", "C"), sizes=...)``; ``parts=()``:
    one bare tensor (``torch.nn.RNN`` and ``GRU`` carry ``H`` alone)."""
    parts = tuple(parts)
    if not parts:
        return tensor(value, name, shape=shape, sizes=sizes, dtype=dtype, hint=hint or "use model.begin_state()")
    tuple_text = "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
    each = f"{'each ' if len(parts) > 1 else ''}of shape {_shape_text(shape)}"
    if isinstance(value, torch.Tensor):
        raise ArgumentTypeError(
            f"{name} must be the tuple {tuple_text}, {each}; got a single tensor of shape {tuple(value.shape)}"
            + ("; an LSTM carries a cell state C besides H: pass (H, C)" if parts == ("H", "C") else
               "; wrap it as (H,)") + f", or use model.begin_state(...){_hint(hint)}")
    if not isinstance(value, (tuple, list)) or len(value) != len(parts):
        what = f"a {type(value).__name__} of {len(value)} items" if isinstance(value, (tuple, list)) \
            else f"a {type(value).__name__}"
        raise ArgumentTypeError(f"{name} must be the tuple {tuple_text}, {each}; got {what}; "
                                f"use model.begin_state(...){_hint(hint)}")
    for part, item in zip(parts, value):
        tensor(item, part, shape=shape, sizes=sizes, dtype=dtype, hint=hint)
    return value


def lengths(value, name: str = "lengths", *, batch_size: int | None = None, max_len: int | None = None,
            min_len: int = 1, hint: str = "") -> torch.Tensor:
    """The lengths of a padded batch as a ``torch.long`` tensor of shape ``(batch_size,)``, each in
    ``[min_len, max_len]``; a list or NumPy array is converted. One reduction over the lengths."""
    if isinstance(value, (list, tuple)) or type(value).__module__ == "numpy":
        try:
            value = torch.as_tensor(value)
        except (TypeError, ValueError, RuntimeError):
            pass
    sizes = {"batch_size": batch_size} if batch_size is not None else None
    tensor(value, name, shape=("batch_size",), dtype="integer", sizes=sizes,
           hint=hint or "one length per sequence of the batch, e.g. from seqlib.batching.collate")
    if value.numel():
        low, high = (int(v) for v in torch.aminmax(value))
        if low < min_len:
            raise ValueError(f"{name} must be at least {min_len}: every sequence needs at least "
                             f"{'one token' if min_len == 1 else f'{min_len} tokens'} (a length of {low} was given)"
                             f"{_hint(hint) or '; drop empty sequences before batching'}")
        if max_len is not None and high > max_len:
            raise ValueError(f"{name} must be at most num_steps={max_len} (the padded length); got {high}"
                             f"{_hint(hint) or '; the lengths do not belong to this batch'}")
    return value.long()


def padded_batch(X, lens, vocab_size: int, *, names=("X", "lengths"),
                 shape=("batch_size", "num_steps"), hint: str = "") -> torch.Tensor:
    """A model's input over a right-padded batch: token ids ``X`` of ``shape`` (:func:`token_ids`)
    and their lengths ``lens``, one per row of ``X`` (:func:`lengths`); returns the lengths."""
    token_ids(X, names[0], vocab_size, shape=shape)
    return lengths(lens, names[1], batch_size=X.shape[0], max_len=X.shape[1], hint=hint)
