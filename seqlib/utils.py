"""Small utilities every lab uses: seeding, the device, progress bars, showing source and tables.

==========================  ===============================================================
``seed_everything(seed)``   seed Python, NumPy and PyTorch; return a NumPy generator
``default_device()``        the lab's ``DEVICE``: a GPU when PyTorch sees one, else the CPU;
                            the environment variable ``SEQLIB_DEVICE`` overrides it
``progress(iterable)``      a tqdm bar (notebook widget, or the build's terminal)
``show_source(obj)``        display a function's or class's source in the notebook
``num_params(model)``       the number of trainable numbers of any model
``show_table(header, rows)``  a results table: HTML in the notebook and the book, text elsewhere
==========================  ===============================================================
"""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch

from seqlib.validation import ArgumentTypeError, non_negative_int, sequence


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


def default_device() -> torch.device:
    """The device a lab runs on: ``SEQLIB_DEVICE`` if set (``"cpu"``, ``"cuda"``, ``"cuda:1"``, ``"mps"``),
    else the first GPU when PyTorch sees one (a Colab GPU runtime), else the CPU.

    Each lab calls it once, in its parameters cell (``DEVICE = default_device()``), and every model
    and tensor follows ``DEVICE``. An unknown or unavailable device is an error that says so.
    """
    name = os.environ.get("SEQLIB_DEVICE", "").strip()
    if not name:
        return try_gpu()
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as err:
        raise ValueError(f"SEQLIB_DEVICE={name!r} is not a device PyTorch knows ({err}); "
                         "use 'cpu', 'cuda', 'cuda:1' or 'mps', or unset it") from None
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
    }.get(device.type, False)
    if not available:
        raise ValueError(f"SEQLIB_DEVICE={name!r}, but this machine has no such device "
                         f"(CUDA GPUs seen: {torch.cuda.device_count()}); unset SEQLIB_DEVICE or set it to 'cpu'")
    return device


def try_gpu(i: int = 0) -> torch.device:
    """``cuda:i`` if that GPU exists (as on a Colab GPU runtime), else the CPU."""
    i = non_negative_int(i, "i", hint="the index of a GPU: 0 for the first")
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

    ``show_source(seqlib.fused.lstm_scan)`` shows the code with syntax highlighting in Jupyter and in
    the book; outside a notebook it prints the code.
    """
    import inspect

    from IPython.display import Code, display

    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as err:  # not a function, class, method or module; or no source file
        raise ArgumentTypeError(f"obj must be a function, class, method or module written in Python, "
                                f"got {obj!r:.60} ({type(obj).__name__}): {err}; "
                                f"pass the object itself, e.g. show_source(seqlib.fused.lstm_scan)") from None
    display(Code(source, language="python"))


def num_params(model) -> int:
    """Number of trainable numbers of a model: an ``nn.Module`` or anything with ``parameters()``."""
    if not hasattr(model, "parameters"):
        raise TypeError(f"num_params needs a model with a parameters() method, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def show_table(header, rows, *, note: str | None = None, display_it: bool = True):
    """Show a table of results: an HTML table in the notebook and the book, aligned text elsewhere.

    ``header`` is a sequence of column names, ``rows`` a sequence of rows (values are shown with
    ``str``; format numbers before). Numeric-looking columns are right-aligned. ``note`` is a
    small line under the table. Returns the ``{"text/html": ..., "text/plain": ...}`` bundle
    (``display_it=False`` only returns it).
    """
    import html

    header = [str(h) for h in sequence(header, "header", what="a list of column names")]
    sequence(rows, "rows", what="a list of rows (each a list of values)")
    rows = [[str(v) for v in sequence(row, f"rows[{k}]", what="a list of values, one per column")]
            for k, row in enumerate(rows)]
    for k, row in enumerate(rows):
        if len(row) != len(header):
            raise ValueError(f"show_table: row {k} has {len(row)} values but the header has {len(header)} "
                             f"columns ({header}); give one value per column")

    def cell(tag, value, col):
        style = ' style="text-align: right; white-space: nowrap"' if col else ""
        return f"<{tag}{style}>{html.escape(value)}</{tag}>"

    body = "".join("<tr>" + "".join(cell("td", v, j) for j, v in enumerate(row)) + "</tr>" for row in rows)
    markup = ("<table><thead><tr>" + "".join(cell("th", h, j) for j, h in enumerate(header))
              + f"</tr></thead><tbody>{body}</tbody></table>")
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    lines = ["  ".join(v.ljust(w) if j == 0 else v.rjust(w) for j, (v, w) in enumerate(zip(r, widths)))
             for r in [header, *rows]]
    if note:
        markup += f"<p><small>{html.escape(note)}</small></p>"
        lines.append(note)
    bundle = {"text/html": markup, "text/plain": "\n".join(lines)}
    if display_it:
        from IPython.display import display

        display(bundle, raw=True)
    return bundle
