"""Small utilities every lab uses: seeding, the device, progress bars, showing source and tables.

==========================  ===============================================================
``seed_everything(seed)``   seed Python, NumPy and PyTorch; return a NumPy generator
``default_device()``        the lab's ``DEVICE``: a GPU when PyTorch sees one, else the CPU;
                            the environment variable ``SEQLIB_DEVICE`` overrides it
``progress(iterable)``      a tqdm bar (notebook widget, or the build's terminal)
``show_source(obj)``        display a function's or class's source in the notebook (a long
                            one collapsed, behind a toggle)
``num_params(model)``       the number of trainable numbers of any model
``show_table(header, rows)``  a results table: HTML in the notebook and the book, text elsewhere
==========================  ===============================================================
"""

from __future__ import annotations

import html
import os
import random
import sys
import textwrap

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


#: Longest source (in lines) that :func:`show_source` shows open; a longer one is collapsed.
SHOW_SOURCE_MAX_LINES = 30


def show_source(obj, *, docstring: bool = True, max_lines: int = SHOW_SOURCE_MAX_LINES) -> None:
    """Display the source code of a function or class in the notebook (nothing of seqlib is hidden).

    ``show_source(seqlib.fused.lstm_scan)`` shows the code with syntax highlighting in Jupyter,
    Colab and the book (long lines wrap instead of running off the page); outside a notebook it
    prints the code. ``docstring=False`` leaves out the docstring (the lines that teach are the
    code's). A source longer than ``max_lines`` lines is shown collapsed, behind a toggle that
    names the object, its length and its file: library code a curious reader may open.
    """
    import inspect

    max_lines = non_negative_int(max_lines, "max_lines", hint="(longest source shown open, in lines)")
    try:
        source = inspect.getsource(obj)
    except (TypeError, OSError) as err:  # not a function, class, method or module; or no source file
        raise ArgumentTypeError(f"obj must be a function, class, method or module written in Python, "
                                f"got {obj!r:.60} ({type(obj).__name__}): {err}; "
                                f"pass the object itself, e.g. show_source(seqlib.fused.lstm_scan)") from None
    source = textwrap.dedent(source)
    if not docstring:
        source = _without_docstring(source)
    name = ".".join(part for part in (getattr(obj, "__module__", None), getattr(obj, "__qualname__", None))
                    if part) or getattr(obj, "__name__", "source")
    num_lines = len(source.rstrip("\n").splitlines())
    if num_lines <= max_lines:
        bundle = {"text/html": _highlighted(source), "text/plain": source.rstrip("\n")}
    else:
        try:
            where = os.path.relpath(inspect.getsourcefile(obj) or "", os.path.dirname(os.path.dirname(__file__)))
        except (TypeError, ValueError):
            where = ""
        where = f", {where}" if where and not where.startswith("..") else ""
        summary = f"Source of <code>{html.escape(name)}</code> ({num_lines} lines{html.escape(where)}): click to show"
        bundle = {"text/html": f"<details class=\"seqlib-source\"><summary>{summary}</summary>\n"
                               f"{_highlighted(source)}</details>",
                  "text/plain": f"[source of {name}: {num_lines} lines, collapsed]"}
    if _in_ipython():
        from IPython.display import display

        display(bundle, raw=True)
    else:
        print(source.rstrip("\n"))


def _without_docstring(source: str) -> str:
    """``source`` (one function or class, dedented) without the docstring of its first definition."""
    import ast

    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or not node.body:
        return source
    first = node.body[0]
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return source
    lines = source.splitlines(keepends=True)
    del lines[first.lineno - 1:first.end_lineno]
    if first.lineno - 1 < len(lines) and not lines[first.lineno - 1].strip():
        del lines[first.lineno - 1]  # the blank line after the docstring
    return "".join(lines)


def _highlighted(source: str) -> str:
    """Python source as a ``<pre>`` block with inline colours (no stylesheet needed) that wraps long lines."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    body = highlight(source, PythonLexer(), HtmlFormatter(noclasses=True, nowrap=True))
    return ('<pre style="white-space: pre-wrap; overflow-wrap: anywhere; background: #f8f8f8; '
            f'padding: 0.5em; font-size: 0.85em; line-height: 125%; margin: 0.3em 0">{body}</pre>')


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def num_params(model) -> int:
    """Number of trainable numbers of a model: an ``nn.Module`` or anything with ``parameters()``."""
    if not hasattr(model, "parameters"):
        raise TypeError(f"num_params needs a model with a parameters() method, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def show_table(header, rows, *, note: str | None = None, display_it: bool = True):
    """Show a table of results: an HTML table in the notebook and the book, aligned text elsewhere.

    ``header`` is a sequence of column names, ``rows`` a sequence of rows (values are shown with
    ``str``; format numbers before). Numeric-looking columns are right-aligned. ``note`` is a
    small line under the table. Shows it and returns ``None`` (so that a table left as a cell's
    last line does not print twice); ``display_it=False`` shows nothing and returns the
    ``{"text/html": ..., "text/plain": ...}`` bundle.
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
        return None
    return bundle
