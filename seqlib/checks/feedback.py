"""Instant feedback on the labs' exercises: the one format every check prints.

A check runs the student's answer, compares it with a reference computed by ``torch.nn``
or by a tested function of ``seqlib`` (never by a second copy of the lesson's code), prints
one specific message and returns a :class:`Verdict` (true when the answer passed)::

    ✅ what was verified
    ❌ what is wrong, and why
       expected: what a right answer gives
       hint: what to try

A check never raises on a wrong answer (papermill fails a lab on any error): exceptions
raised by the student's code are caught and explained (:func:`call_student`). Each day's
checks live in ``seqlib.checks.dayNN`` and report through :func:`report`.
"""

from __future__ import annotations

import operator
import traceback

import numpy as np
import torch

__all__ = ["Verdict", "report", "call_student", "as_array", "require_callable", "shape_str"]

PASS, FAIL = "✅", "❌"


#: Feedback lines wrap at this width, so that they fit the book's column without scrolling.
WIDTH = 78


def _wrap(line: str, indent: str) -> list[str]:
    """``line`` wrapped at :data:`WIDTH` characters, continuation lines indented by ``indent``."""
    import textwrap

    return textwrap.wrap(line, WIDTH, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False, drop_whitespace=True) or [line]


class Verdict:
    """What a check returns: true when the student's answer passed, false otherwise.

    It behaves as the bool in ``if``, ``assert``, ``all(...)`` and ``== True``, and, as the
    last expression of a notebook cell, displays nothing: the check has already printed its
    verdict, so the page shows no bare ``True``/``False`` under it.
    """

    __slots__ = ("ok",)

    def __init__(self, ok) -> None:
        self.ok = bool(ok)

    def __bool__(self) -> bool:
        return self.ok

    def __eq__(self, other):
        if isinstance(other, (bool, Verdict)):
            return self.ok == bool(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self.ok)

    def __repr__(self) -> str:
        return f"Verdict({self.ok})"

    def _ipython_display_(self) -> None:
        """Show nothing in Jupyter: the verdict was printed by the check."""


def report(ok: bool, message: str, hint: str | None = None, *, expected: str | None = None) -> Verdict:
    """Print the verdict in the one format of the course; return it as a :class:`Verdict`.

    ``✅ message`` on success. On failure ``❌ message``, then ``expected: ...`` (what a right
    answer gives, when it says more than the message) and ``hint: ...`` (what to try), each
    on its own indented line. ``expected`` and ``hint`` are shown only on failure.
    """
    ok = bool(ok)
    lines = _wrap(f"{PASS if ok else FAIL} {message}", "   ")
    if not ok:
        if expected:
            lines += _wrap(f"   expected: {expected}", "      ")
        if hint:
            lines += _wrap(f"   hint: {hint}", "      ")
    print("\n".join(lines))
    return Verdict(ok)


def require_callable(fn, name: str, definition: str) -> bool | None:
    """``None`` if ``fn`` is callable, else report it (``❌ name should be ...``) and return ``False``.

    ``definition`` is how the student defines it, e.g. ``"rnn_step(x_t, h_prev, W_xh, W_hh, b_h)"``
    or ``"the class SlidingWindows(series, window)"``. Use: ``if (r := require_callable(...)) is
    not None: return r``, or ``failed = require_callable(...)``.
    """
    if callable(fn):
        return None
    what = "class" if definition.startswith("the class") else "function"
    got = "None (not defined yet)" if fn is None else f"a {type(fn).__name__}"
    return report(False, f"{name} should be a {what}, got {got}",
                  f"define {definition} first, then pass the {what} itself (not its name or its result)")


def call_student(fn, *args, **kwargs):
    """Call ``fn(*args, **kwargs)``; return ``(result, None)``, or ``(None, error)`` if it raised.

    ``error`` is a one-line description: the exception, and the student's line that raised it.
    """
    try:
        return fn(*args, **kwargs), None
    except Exception as err:  # noqa: BLE001 - the student's code may raise anything
        frames = traceback.extract_tb(err.__traceback__)
        where = f" (in: {frames[-1].line})" if len(frames) > 1 and frames[-1].line else ""
        return None, f"{type(err).__name__}: {err}{where}"


def as_array(value) -> np.ndarray | None:
    """``value`` (NumPy array, torch tensor, nested list) as a float64 array; ``None`` if it is not numbers."""
    if value is None:
        return None
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer past float64 (10**400)
        return None


def shape_str(shape) -> str:
    """A shape as Python prints a tuple: ``(3,)``, ``(2, 4)``.

    Anything that is not a sequence of whole numbers (``None``, a string, a float) is shown as it is
    (its ``repr``, shortened), so that a check can always print what it received.
    """
    try:
        dims = [operator.index(n) for n in shape]
    except TypeError:  # not iterable, or an item that is not a whole number
        return f"{shape!r:.60}"
    if isinstance(shape, (str, bytes)):
        return f"{shape!r:.60}"
    return "(" + ", ".join(str(n) for n in dims) + ("," if len(dims) == 1 else "") + ")"
