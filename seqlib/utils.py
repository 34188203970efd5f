"""Small utilities every lab uses: seeding, device choice, progress bars."""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); return a NumPy ``Generator`` seeded the same.

    Use the returned generator for NumPy randomness in a lab (``rng.normal(...)``) so that
    results do not depend on what ran before.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    torch.manual_seed(int(seed))
    return np.random.default_rng(int(seed))


def try_gpu(i: int = 0) -> torch.device:
    """``cuda:i`` if that GPU exists (as on a Colab GPU runtime), else the CPU."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def progress(iterable=None, **kwargs):
    """A tqdm progress bar: a widget in Jupyter, text in a terminal.

    While ``make book`` executes the labs it sets ``SEQLIB_PROGRESS=terminal``: the bar is
    then drawn in the build's terminal (the kernel's own stderr), not stored in the book.
    ``TQDM_DISABLE=1`` turns every bar off (the tests do), the notebook widget too.
    """
    if os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes"):
        kwargs.setdefault("disable", True)  # tqdm reads this variable itself, but its notebook bar does not
    if os.environ.get("SEQLIB_PROGRESS") == "terminal":
        from tqdm.std import tqdm

        kwargs.setdefault("file", _terminal())
        kwargs.setdefault("leave", False)
        return tqdm(iterable, **kwargs)
    from tqdm.auto import tqdm

    return tqdm(iterable, **kwargs)


def _terminal():
    """A text stream to the process's real stderr, past Jupyter's output capture.

    In a Jupyter kernel, file descriptor 2 (``sys.__stderr__``) is a pipe whose content
    ipykernel forwards into the notebook; ``sys.stderr.fileno()`` is the kernel's copy of
    the original stderr, which it does not watch. Outside a kernel both are fd 2.
    """
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 2
    return open(fd, "w", closefd=False)


def show_source(obj) -> None:
    """Display the source code of a function or class in the notebook (nothing of seqlib is hidden).

    ``show_source(seqlib.lm.lstm_scan)`` shows the code with syntax highlighting in Jupyter and in
    the book; outside a notebook it prints the code.
    """
    import inspect

    from IPython.display import Code, display

    display(Code(inspect.getsource(obj), language="python"))
