"""Instant feedback on the labs' exercises.

A check runs the student's answer, compares it with a reference computed by ``torch.nn``
(never by a second copy of the lesson's code), prints one specific message and returns
``True`` or ``False``:

    ✅ what was verified
    ❌ what is wrong, and why
       hint: what to try

A check never raises on a wrong answer (papermill fails a lab on any error): exceptions
raised by the student's code are caught and explained. Each day's checks live in
``seqlib.checks.dayNN`` and report through these helpers.
"""

from __future__ import annotations

import math
import numbers
import traceback

import numpy as np
import torch
from torch import nn

__all__ = ["report", "call_student", "as_array"]

PASS, FAIL = "✅", "❌"


# ----------------------------------------------------------------------------------------
# General helpers
# ----------------------------------------------------------------------------------------

def report(ok: bool, message: str, hint: str | None = None) -> bool:
    """Print ``✅ message`` or ``❌ message`` (plus ``hint:`` on failure); return ``ok`` as a bool."""
    ok = bool(ok)
    text = f"{PASS if ok else FAIL} {message}"
    if hint and not ok:
        text += f"\n   hint: {hint}"
    print(text)
    return ok


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
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return arr


def _shape(shape) -> str:
    return "(" + ", ".join(str(int(n)) for n in shape) + ("," if len(shape) == 1 else "") + ")"


