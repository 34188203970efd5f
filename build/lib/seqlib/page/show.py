"""Showing things on the page: a function's source, a table, any MIME bundle (HTML in Jupyter, Colab
and the book; plain text elsewhere).
"""

from __future__ import annotations

import ast
import html
import inspect
import os
import textwrap

from seqlib.validation import ArgumentTypeError, non_negative_int, same_length, sequence


def _in_ipython() -> bool:
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    return get_ipython() is not None


def _display(bundle: dict, plain: str | None = None) -> None:
    """Show ``bundle`` in IPython, else print ``plain`` (default: its ``text/plain``)."""
    if _in_ipython():
        from IPython.display import display

        display(bundle, raw=True)
    else:
        print(bundle["text/plain"] if plain is None else plain)


def show_source(obj, *, docstring: bool = True, max_lines: int = 30) -> None:
    """Show the highlighted source of a function, class or module, e.g. ``show_source(seqlib.fused.lstm_scan)``.

    ``docstring=False`` leaves out the docstring; a source longer than ``max_lines`` is collapsed.
    """
    max_lines = non_negative_int(max_lines, "max_lines", hint="(longest source shown open, in lines)")
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as err:  # not a function, class, method or module; or no source file
        raise ArgumentTypeError(f"obj must be a function, class, method or module written in Python, "
                                f"got {obj!r:.60} ({type(obj).__name__}): {err}; "
                                f"pass the object itself, e.g. show_source(seqlib.fused.lstm_scan)") from None
    source = (source if docstring else _without_docstring(source)).rstrip("\n")
    name = ".".join(filter(None, (getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)))) \
        or getattr(obj, "__name__", "")
    num_lines = len(source.splitlines())
    if num_lines <= max_lines:
        _display({"text/html": _highlighted(source), "text/plain": source})
        return
    where = os.path.relpath(inspect.getsourcefile(obj) or "", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    where = "" if where.startswith("..") else f", {where}"
    summary = f"Source of <code>{html.escape(name)}</code> ({num_lines} lines{html.escape(where)}): click to show"
    _display({"text/html": f"<details class=\"seqlib-source\"><summary>{summary}</summary>\n"
                           f"{_highlighted(source)}</details>",
              "text/plain": f"[source of {name}: {num_lines} lines, collapsed]"}, plain=source)


def _without_docstring(source: str) -> str:
    """``source`` (one function or class, dedented) without the docstring of its first definition."""
    node = ast.parse(source).body[0]
    first = node.body[0] if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) else None
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str)):
        return source
    lines = source.splitlines(keepends=True)
    del lines[first.lineno - 1:first.end_lineno]
    if first.lineno - 1 < len(lines) and not lines[first.lineno - 1].strip():
        del lines[first.lineno - 1]  # the blank line after the docstring
    return "".join(lines)


def _highlighted(source: str) -> str:
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    body = highlight(source, PythonLexer(), HtmlFormatter(noclasses=True, nowrap=True))
    return ('<pre style="white-space: pre-wrap; overflow-wrap: anywhere; background: #f8f8f8; '
            f'padding: 0.5em; font-size: 0.85em; line-height: 125%; margin: 0.3em 0">{body}</pre>')


def show_table(header, rows, *, note: str | None = None) -> None:
    """Show a table (HTML, or aligned text): ``header`` names, ``rows`` of ``str``-able values, a small ``note``."""
    header = [str(h) for h in sequence(header, "header", what="a list of column names")]
    sequence(rows, "rows", what="a list of rows (each a list of values)")
    rows = [[str(v) for v in sequence(row, f"rows[{k}]", what="a list of values, one per column")]
            for k, row in enumerate(rows)]
    for k, row in enumerate(rows):
        same_length(row, header, f"rows[{k}] and the header {header}", hint="give one value per column")

    def cell(tag, value, col):
        style = ' style="text-align: right; white-space: nowrap"' if col else ""
        return f"<{tag}{style}>{html.escape(value)}</{tag}>"

    body = "".join("<tr>" + "".join(cell("td", v, j) for j, v in enumerate(row)) + "</tr>" for row in rows)
    markup = ("<table><thead><tr>" + "".join(cell("th", h, j) for j, h in enumerate(header))
              + f"</tr></thead><tbody>{body}</tbody></table>")
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    lines = ["  ".join(v.rjust(w) if j else v.ljust(w) for j, (v, w) in enumerate(zip(r, widths)))
             for r in [header, *rows]]
    if note:
        markup += f"<p><small>{html.escape(note)}</small></p>"
        lines.append(note)
    _display({"text/html": markup, "text/plain": "\n".join(lines)})
