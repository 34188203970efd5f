"""Instant feedback on the labs' exercises: the one format every check prints.

A check runs the student's answer through :func:`call_student` or :func:`result_of` (a time limit of
:data:`LIMIT` s, exceptions and NaN caught), compares it with ``torch.nn`` or a tested ``seqlib`` function, prints::

    ✅ what was verified
    ❌ what is wrong, and why
       expected: what a right answer gives
       hint: what to try

and returns a :class:`Verdict`. The decorator :func:`guard` makes every check report, never raise.
"""

from __future__ import annotations

import functools
import inspect
import operator
import os
import random
import signal
import textwrap
import threading
import time
import traceback

import numpy as np
import torch

__all__ = ["Verdict", "report", "guard", "call_student", "result_of", "shaped", "first_failure", "fresh_seeds",
           "unlike_last", "as_array", "as_tensor", "as_float", "close", "require_callable", "shape_str",
           "yours_or_ours", "LIMIT"]

#: Seconds one call of the student's code may run (``SEQLIB_CHECK_LIMIT`` sets another; the tests use 0.5).
LIMIT = float(os.environ.get("SEQLIB_CHECK_LIMIT", "5"))

#: Feedback lines wrap at this width (the book's column).
WIDTH = 78


def _wrap(line: str, indent: str) -> list[str]:
    return textwrap.wrap(line, WIDTH, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False, drop_whitespace=True) or [line]


class Verdict(int):
    """True when the answer passed; a bool everywhere, but shows nothing as a cell's last expression."""

    def __new__(cls, ok):
        return super().__new__(cls, bool(ok))

    def __repr__(self) -> str:
        return f"Verdict({bool(self)})"

    def _ipython_display_(self) -> None:
        pass


def report(ok: bool, message: str, hint: str | None = None, *, expected: str | None = None) -> Verdict:
    """Print ``✅ message``, or ``❌ message`` with ``expected:`` and ``hint:`` lines; return the :class:`Verdict`."""
    lines = _wrap(f"{'✅' if ok else '❌'} {message}", "   ")
    for label, text in () if ok else (("expected", expected), ("hint", hint)):
        lines += _wrap(f"   {label}: {text}", "      ") if text else []
    print("\n".join(lines))
    return Verdict(ok)


def require_callable(fn, name: str, definition: str) -> Verdict | None:
    """``None`` if ``fn`` is callable, else the failure reported; ``definition``: ``"rnn_step(x, h)"``, ``"the class C(a)"``."""
    if callable(fn):
        return None
    what = "class" if definition.startswith("the class") else "function"
    got = "None (not defined yet)" if fn is None else f"a {type(fn).__name__}"
    return report(False, f"{name} should be a {what}, got {got}",
                  f"define {definition} first, then pass the {what} itself (not its name or its result)")


class _Stop(Exception):
    """The student's call ran past :data:`LIMIT`, returned NaN, raised or returned None: :func:`guard` reports it."""

    def __init__(self, message: str, hint: str, expected: str | None = None) -> None:
        super().__init__(message)
        self.hint, self.expected = hint, expected


class _TimeUp(BaseException):
    """Raised into the student's code at the limit: a BaseException, so ``except Exception`` cannot swallow it."""


_calls = 0  # calls of students' code so far: what :func:`guard` tells the lab's errors from the answer's by


def guard(*definitions: str):
    """Decorator of every check: it reports, never raises, whatever the student's answer does.

    ``definitions``: how the student defines each function of the check's first arguments, e.g.
    ``"rnn_step(x_t, h_prev, W_xh, W_hh, b_h)"`` (one not callable is reported). A timeout, NaN or an
    answer the check could not compare is reported; an error before any student code ran is the lab's, raised.
    """
    def decorate(check):
        names = list(inspect.signature(check).parameters)

        @functools.wraps(check)
        def checked(*args, **kwargs):
            # the course's function standing in for the student's (yours_or_ours): grade the student's
            args = [getattr(a, STAND_IN, a) for a in args]
            kwargs = {k: getattr(v, STAND_IN, v) for k, v in kwargs.items()}
            given = {**dict(zip(names, args)), **kwargs}
            for name, definition in zip(names, definitions):
                if (failed := require_callable(given.get(name), definition.removeprefix("the class ").split("(")[0],
                                               definition)) is not None:
                    return failed
            calls = _calls
            try:
                return check(*args, **kwargs)
            except _Stop as stop:
                return report(False, str(stop), stop.hint, expected=stop.expected)
            except Exception as err:  # noqa: BLE001 - an answer of any type must get feedback
                if _calls == calls:
                    raise
                return report(False, f"the check could not compare your answer with the reference "
                                      f"({type(err).__name__}: {str(err)[:120]})",
                              "return what the exercise asks for: the types and shapes in the check's docstring "
                              f"(help({check.__name__}))")
        return checked
    return decorate


def _has_nan(value) -> bool:
    if isinstance(value, torch.Tensor):
        return bool(value.is_floating_point() and torch.isnan(value.detach()).any())
    if isinstance(value, (np.ndarray, np.floating, float)):
        return bool(np.issubdtype(np.asarray(value).dtype, np.floating) and np.isnan(value).any())
    return isinstance(value, (tuple, list)) and any(_has_nan(v) for v in value[:10_000])


def _run_with_limit(fn, args):
    """``fn(*args)`` stopped after :data:`LIMIT` s: SIGALRM in the main thread, else a daemon thread."""
    def time_up(*_):
        raise _TimeUp

    if hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGALRM, time_up)
        start, (outer, interval) = time.monotonic(), signal.setitimer(signal.ITIMER_REAL, LIMIT)
        try:
            return fn(*args)
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous if previous is not None else signal.SIG_DFL)
            if outer:  # someone else's timer was running: give it back what is left of it
                signal.setitimer(signal.ITIMER_REAL, max(outer - (time.monotonic() - start), 1e-3), interval)
    box = {}

    def target():
        try:
            box["result"] = fn(*args)
        except BaseException as err:  # noqa: BLE001 - handed to the caller's thread
            box["error"] = err

    worker = threading.Thread(target=target, daemon=True, name="student code")
    worker.start()
    worker.join(LIMIT)
    if worker.is_alive():
        raise _TimeUp
    if "error" in box:
        raise box["error"]
    return box["result"]


def call_student(fn, *args, case: str = ""):
    """``(fn(*args), None)``, or ``(None, error)``: the exception and the student's line, in one line.

    A call past :data:`LIMIT` s or returning NaN ends the check (:func:`guard` reports it, with ``case``).
    """
    global _calls
    _calls += 1
    name, case = getattr(fn, "__name__", ""), case and f" {case}"
    name = name if name.isidentifier() else "your function"
    try:
        result = _run_with_limit(fn, args)
    except _TimeUp:
        raise _Stop(f"{name} did not return within {LIMIT:g} s{case} - an endless loop?",
                    "look for a loop whose condition never changes (a while loop whose variable is never "
                    "updated); run your function on a small input and interrupt it to see where it is") from None
    except NotImplementedError as err:  # a stub as the student's edition hands it out
        stub = traceback.extract_tb(err.__traceback__)[-1].name
        raise _Stop(f"{stub if stub.isidentifier() else name} is not written yet (it raises NotImplementedError)",
                    "replace `raise NotImplementedError` with your code, then run the cell again") from None
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything
        frames = traceback.extract_tb(err.__traceback__)
        where = f" (in: {frames[-1].line})" if len(frames) > 1 and frames[-1].line else ""
        return None, f"{type(err).__name__}: {err}{where}"
    if _has_nan(result):
        raise _Stop(f"{name} returns NaN (not a number){case}",
                    "NaN comes from 0/0, inf - inf, 0 * inf or the log of a negative number: print the "
                    "intermediate values of your function on a small input to find the first NaN")
    return result, None


def result_of(fn, *args, name: str, hint, expected: str | None = None, case: str = "", returns: str = ""):
    """``fn(*args)`` by :func:`call_student`; an exception ends the check (``{name} raised ... {case}``,
    ``hint``: a text or a function of the error), so does ``None`` when the answer ``returns`` something."""
    result, error = call_student(fn, *args)
    if error is not None:
        raise _Stop(f"{name} raised {error}" + (case and f" {case}"), hint(error) if callable(hint) else hint, expected)
    if result is None and returns:
        raise _Stop(f"{name} returned None", f"did you forget `return`? It returns {returns}", expected)
    return result


def shaped(value, name: str, like, *, hint: str, expected: str | None = None, names: tuple = ()):
    """The student's ``value`` as CPU tensors of the shapes and dtype of ``like`` (a tensor, or a tuple of
    tensors named ``names``); anything else ends the check (:func:`guard` reports it, with ``hint``)."""
    many = isinstance(like, tuple)
    if many and not (isinstance(value, (tuple, list)) and len(value) == len(like)):
        raise _Stop(f"{name} should return the tuple ({', '.join(names)}), got {type(value).__name__}", hint, expected)
    got = []
    for part, v, t in zip(names or [name], value if many else [value], like if many else [like]):
        if (g := as_tensor(v, like=t)) is None:
            raise _Stop(f"{part} is a {type(v).__name__}, not a tensor of shape {shape_str(t.shape)}", hint, expected)
        if g.shape != t.shape:
            raise _Stop(f"{part} has shape {shape_str(g.shape)}, not {shape_str(t.shape)}", hint, expected)
        got.append(g)
    return tuple(got) if many else got[0]


def first_failure(grade, cases, passed: str) -> Verdict:
    """The first failure of ``grade(*case)`` (``None`` when right) over ``cases``, else ``passed`` reported."""
    for case in cases:
        if (failed := grade(*case)) is not None:
            return failed
    return report(True, passed)


def fresh_seeds(n: int = 2) -> list[int]:
    """``n`` seeds drawn anew at every call, beside the lab's: a hard-coded answer cannot pass."""
    return [random.SystemRandom().randrange(10**6) for _ in range(n)]


#: What each check graded last, by check (see :func:`unlike_last`).
_LAST_CASE: dict[str, object] = {}


def unlike_last(name: str, draw, key=lambda case: case):
    """``draw(seed)`` on fresh seeds until ``key`` of the case differs from the one check ``name`` graded
    last: where cases are few (a start among 100, an accuracy among the fractions k / 16), the answer
    that passed the last call, returned as it was, must still fail this one. After 100 draws alike (a
    ``draw`` with one case) the last one is taken: the check goes on, never loops."""
    for _ in range(100):
        case = draw(fresh_seeds(1)[0])
        if (key_of := key(case)) != _LAST_CASE.get(name):
            break
    _LAST_CASE[name] = key_of
    return case


def as_array(value) -> np.ndarray | None:
    """``value`` (NumPy array, torch tensor, nested list) as a float64 array; ``None`` if it is not numbers."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):  # any device and dtype (NumPy has no bfloat16)
        value = value.detach().cpu().to(torch.float64 if value.is_floating_point() else value.dtype).numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError, RuntimeError):  # past float64 (10**400); tensors needing grad
        return None


def as_tensor(value, like: torch.Tensor | None = None) -> torch.Tensor | None:
    """``value`` (any container, dtype, device) as a CPU tensor of ``like``'s dtype (float64); ``None`` if not numbers."""
    arr = as_array(value)
    return None if arr is None else torch.as_tensor(arr, dtype=torch.float64 if like is None else like.dtype)


def as_float(value) -> float | None:
    """``value`` (a number, or an array or tensor of one element) as a float; ``None`` otherwise."""
    arr = as_array(value)
    return None if arr is None or arr.size != 1 else float(arr.reshape(-1)[0])


def close(value, like: torch.Tensor, atol: float = 1e-5) -> bool:
    """Whether ``value`` (any container, dtype, device) has the shape of ``like`` and its values (to ``atol``)."""
    got = as_tensor(value, like)
    return got is not None and got.shape == like.shape and torch.allclose(got, like, atol=atol)


def shape_str(shape) -> str:
    """A shape as Python prints a tuple, ``(3,)``; anything else as its shortened ``repr``."""
    try:
        dims = None if isinstance(shape, (str, bytes)) else [operator.index(n) for n in shape]
    except TypeError:  # not iterable, or an item that is not a whole number
        dims = None
    return f"{shape!r:.60}" if dims is None else "(" + ", ".join(map(str, dims)) + ("," if len(dims) == 1 else "") + ")"


#: The attribute of the course's function standing in for a student's (:func:`yours_or_ours`): the student's
#: own, which every check grades instead, so that the grader (which checks the names at the end of the
#: notebook) grades what the student wrote, never the stand-in.
STAND_IN = "__seqlib_stand_in_for__"


def yours_or_ours(passed, yours, ours, name: str):
    """The function the rest of the lab runs on: ``yours`` (the student's) once its check ``passed``, else
    ``ours`` (the course's own), saying so in one line: "Run all" never swaps an answer in silently.
    ``ours`` comes back as a stand-in (a wrapper, or a subclass of a class) that carries ``yours``: every
    check grades ``yours`` in its place, so the grader, which checks the names at the end of the notebook,
    grades what the student wrote."""
    if passed:
        return yours
    print(f"↪ your {name} does not pass its check yet: the cells below run on the course's own "
          f"({ours.__module__}.{ours.__qualname__}) until it does")
    if isinstance(ours, type):
        return type(ours.__name__, (ours,), {STAND_IN: yours, "__module__": ours.__module__,
                                             "__qualname__": ours.__qualname__})

    @functools.wraps(ours)
    def stand_in(*args, **kwargs):
        return ours(*args, **kwargs)

    setattr(stand_in, STAND_IN, yours)
    return stand_in
