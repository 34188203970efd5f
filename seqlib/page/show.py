"""Showing things on the page: a function's source, a table, any MIME bundle (HTML in Jupyter, Colab
and the book; plain text elsewhere).
"""

from __future__ import annotations

import ast
import html
import inspect
import io
import os
import re
import textwrap
import tokenize

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


def show_source(obj, *, docstring: bool = False, max_lines: int = 30) -> None:
    """Show the highlighted source of a function, class or module as the lesson reads it, e.g.
    ``show_source(seqlib.fused.lstm_scan)``: the input checks at its top are left out (a line says how
    many), and so is the docstring unless ``docstring=True``; a trailing comment too long for the book's
    column is shown above its code; a wrapped line hangs under its own indentation; a source longer than
    ``max_lines`` is collapsed.
    """
    max_lines = non_negative_int(max_lines, "max_lines", hint="(longest source shown open, in lines)")
    try:
        source = textwrap.dedent(inspect.getsource(obj))
    except (TypeError, OSError) as err:  # not a function, class, method or module; or no source file
        raise ArgumentTypeError(f"obj must be a function, class, method or module written in Python, "
                                f"got {obj!r:.60} ({type(obj).__name__}): {err}; "
                                f"pass the object itself, e.g. show_source(seqlib.fused.lstm_scan)") from None
    module = vars(inspect.getmodule(obj) or os)
    checkers = {n for n, v in module.items() if getattr(v, "__module__", "") == "seqlib.validation"} | {"validation"}
    source, checks = _without_checks(source if docstring else _without_docstring(source), checkers)
    source = _comments_above(source.rstrip("\n"))
    name = ".".join(filter(None, (getattr(obj, "__module__", None), getattr(obj, "__qualname__", None)))) \
        or getattr(obj, "__name__", "")
    note = f"# ({checks} line{'s' * (checks > 1)} checking the input left out)\n" if checks else ""
    num_lines = len(source.splitlines())
    if num_lines <= max_lines:
        _display({"text/html": _highlighted(source, note), "text/plain": note + source})
        return
    where = os.path.relpath(inspect.getsourcefile(inspect.unwrap(obj)) or "", os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    where = "" if where.startswith("..") else f", {where}"
    summary = f"Source of <code>{html.escape(name)}</code> ({num_lines} lines{html.escape(where)}): click to show"
    _display({"text/html": f"<details class=\"seqlib-source\"><summary>{summary}</summary>\n"
                           f"{_highlighted(source, note)}</details>",
              "text/plain": f"[source of {name}: {num_lines} lines, collapsed]"}, plain=note + source)


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


def _is_check(stmt: ast.stmt, checkers: set) -> bool:
    """A statement that only checks input: an ``if`` that raises, or a call of ``seqlib.validation`` (``checkers``:
    its names in the module)."""
    if isinstance(stmt, ast.If):
        return bool(stmt.body) and isinstance(stmt.body[-1], ast.Raise) and not stmt.orelse
    if not (isinstance(stmt, (ast.Expr, ast.Assign)) and isinstance(stmt.value, ast.Call)):
        return False
    func = stmt.value.func
    name = getattr(func, "id", getattr(func, "attr", ""))
    checking = (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in checkers
                or isinstance(func, ast.Name) and name in checkers or name.startswith(("_check", "check_")))
    if isinstance(stmt, ast.Assign):  # x = validation.f(x, ...): the same value, checked
        passed = {n.id for a in stmt.value.args for n in ast.walk(a) if isinstance(n, ast.Name)}
        return checking and all(isinstance(t, ast.Name) and t.id in passed for t in stmt.targets)
    return checking


def _without_checks(source: str, checkers: set) -> tuple[str, int]:
    """``source`` without the input checks of its function bodies (and of their loops' bodies), and how many
    lines they took."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # not a whole definition (a lambda's line): show it as it is
        return source, 0
    drop = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            for stmt in body[:-1]:  # the checks, wherever they stand; the last statement is the work
                if _is_check(stmt, checkers):
                    drop |= set(range(stmt.lineno, stmt.end_lineno + 1))
        elif isinstance(node, (ast.For, ast.While, ast.With)):  # a check of each item (a reader's line)
            checks = [stmt for stmt in node.body if _is_check(stmt, checkers)]
            if len(checks) < len(node.body):  # never the whole block
                drop |= {i for stmt in checks for i in range(stmt.lineno, stmt.end_lineno + 1)}
    lines = source.splitlines(keepends=True)
    return "".join(line for i, line in enumerate(lines, 1) if i not in drop), len(drop)


#: The characters of code the book's column shows on one line (Jupyter and Colab show more).
WIDTH = 80


def _comments_above(source: str) -> str:
    """``source`` with each trailing comment that takes its line past :data:`WIDTH` moved onto a line of its
    own above the code, so that the comment, not the code, is what reads as one line."""
    try:
        comments = {tok.start[0]: tok.start[1] for tok in tokenize.generate_tokens(io.StringIO(source).readline)
                    if tok.type == tokenize.COMMENT}
    except (tokenize.TokenError, SyntaxError):  # not whole code: show it as it is
        return source
    lines = source.split("\n")
    for i in sorted(comments, reverse=True):
        line, col = lines[i - 1], comments[i]
        if len(line) > WIDTH and line[:col].strip():  # a comment after code
            indent = line[:len(line) - len(line.lstrip())]
            lines[i - 1:i] = [indent + line[col:], line[:col].rstrip()]
    return "\n".join(lines)


def _highlighted(source: str, note: str = "") -> str:
    """The source highlighted line by line (colours inline: no stylesheet needed in Jupyter, Colab or the
    book); a line too long for the column wraps and hangs four characters under its own indentation."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    rows = []
    for line in (note + source).splitlines():
        indent = len(line) - len(line.lstrip(" "))
        body = highlight(line.lstrip(" "), PythonLexer(), HtmlFormatter(noclasses=True, nowrap=True)).rstrip("\n")
        rows.append(f'<div style="padding-left: {indent + 4}ch; text-indent: -4ch">{body or "&nbsp;"}</div>')
    return ('<pre style="white-space: pre-wrap; overflow-wrap: anywhere; background: #f8f8f8; '
            'padding: 0.5em; font-size: 0.85em; line-height: 125%; margin: 0.3em 0">' + "".join(rows) + "</pre>")


#: A cell that is a number, with its unit or spread: "95.2 %", "1,234", "−0.31 ± 0.02", "1.64×", "0.1 to 0.3".
_NUMBER = re.compile(r"[-+−]?\d[\d,]*(?:\.\d+)?(?:e[-+]?\d+)?\s*(?:%|×|x|s|ms|k|M)?"
                     r"(?:\s*(?:±|to|/)\s*[-+−]?\d[\d,]*(?:\.\d+)?\s*(?:%|×|x|s|ms|k|M)?)?")
#: A cell that holds no value.
_EMPTY = ("", "-", "–", "—")


def show_table(header, rows, *, note: str | None = None) -> None:
    """Show a table (HTML, or aligned text): ``header`` names, ``rows`` of ``str``-able values, a small ``note``.
    A column of numbers aligns right, a column of words left."""
    header = [str(h) for h in sequence(header, "header", what="a list of column names")]
    sequence(rows, "rows", what="a list of rows (each a list of values)")
    rows = [[str(v) for v in sequence(row, f"rows[{k}]", what="a list of values, one per column")]
            for k, row in enumerate(rows)]
    for k, row in enumerate(rows):
        same_length(row, header, f"rows[{k}] and the header {header}", hint="give one value per column")

    # a column of numbers aligns right (digits under digits), a column of words left: right when its numbers
    # outnumber its other values ("counts" or "below 41.86" among numbers); an empty cell does not count
    def numbers_lead(values) -> bool:
        filled = [v.strip() for v in values if v.strip() not in _EMPTY]
        return 2 * sum(bool(_NUMBER.fullmatch(v)) for v in filled) > len(filled)

    right = [numbers_lead([row[j] for row in rows]) for j in range(len(header))]

    def cell(tag, value, col):
        style = ' style="text-align: right; white-space: nowrap"' if right[col] else ""
        return f"<{tag}{style}>{html.escape(value)}</{tag}>"

    body = "".join("<tr>" + "".join(cell("td", v, j) for j, v in enumerate(row)) + "</tr>" for row in rows)
    markup = ("<table><thead><tr>" + "".join(cell("th", h, j) for j, h in enumerate(header))
              + f"</tr></thead><tbody>{body}</tbody></table>")
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]
    lines = ["  ".join(v.rjust(w) if right[j] else v.ljust(w) for j, (v, w) in enumerate(zip(r, widths))).rstrip()
             for r in [header, *rows]]
    if note:
        markup += f"<p><small>{html.escape(note)}</small></p>"
        lines.append(note)
    _display({"text/html": markup, "text/plain": "\n".join(lines)})
