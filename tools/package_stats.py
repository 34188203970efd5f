#!/usr/bin/env python
"""How thin is seqlib? Lines per module, executable lines, and the share that checks input.

    python tools/package_stats.py            # a table, one row per module
    python tools/package_stats.py --json     # the same as JSON

How it counts (an AST pass over every module of ``seqlib``):

- **lines**: physical lines of the file (``wc -l``).
- **executable**: lines spanned by statements, less docstrings, comments and blank lines.
- **checks**: executable lines that only check input:
  an ``if`` whose body ends in ``raise`` (the whole ``if``, its test and its body), a bare
  ``raise`` outside such an ``if`` (an error raised by a boundary; ``raise SystemExit(...)``, a
  command line's exit status, is not a check), an ``assert``, a statement that
  calls a ``seqlib.validation`` function or a function whose name starts with ``_check``/``check_``
  anywhere in it (``x = f(positive_int(n, "n"))`` counts as a check line; outside ``seqlib.checks``,
  where checking is the job), the bodies of functions whose names start with ``_check``, and an
  assignment whose names are read only in the condition of a ``require(...)`` (``ok = ...`` computed
  for the check on the next line).
- **lesson modules**: the modules that hold what a lab teaches (cells, models, training, data
  pipelines for the models); the page helpers, data fetching, command lines, checkpoints and the
  exercise checks are boundaries or plumbing and are listed apart.
"""

from __future__ import annotations

import argparse
import ast
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "seqlib"
# Modules whose job is a boundary or the page, not a lesson (prefix match on the dotted name).
NOT_LESSON = ("seqlib.checks", "seqlib.page", "seqlib.validation", "seqlib.data", "seqlib.cli",
              "seqlib.checkpoint", "seqlib.copy_task.cli", "seqlib.copy_task.__main__",
              "seqlib.translation_cli", "seqlib.__init__", "seqlib.d2l",
              "seqlib.plots", "seqlib.heatmaps", "seqlib.diagrams",
              "seqlib.bench")


def _docstring_lines(tree: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    return lines


def _span(node: ast.AST) -> set[int]:
    return set(range(node.lineno, node.end_lineno + 1))


_COMPOUND = (ast.If, ast.For, ast.While, ast.With, ast.Try, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _is_check_call(stmt: ast.stmt, validation_names: set[str]) -> bool:
    """A simple statement that calls a validation helper anywhere in it."""
    if isinstance(stmt, _COMPOUND):
        return False
    for node in ast.walk(stmt):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        name = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
        if owner == "validation" or name in validation_names or name.startswith(("_check", "check_")):
            return True
    return False


def _exits(node: ast.Raise) -> bool:
    """``raise SystemExit(...)``: a command line's exit status, not an input check."""
    exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
    return isinstance(exc, ast.Name) and exc.id == "SystemExit"


def _conditions_of_checks(tree: ast.AST) -> set[int]:
    """Lines that only compute a check's condition: ``ok = ...`` whose name is read nowhere but in the
    condition of a ``require(...)`` (or of an ``if`` that raises) of the same function."""
    lines: set[int] = set()
    scopes = [tree] + [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    for scope in scopes:
        in_checks, elsewhere = set(), set()
        for node in ast.walk(scope):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) == "require" \
                    and node.args:
                in_checks |= {n.id for n in ast.walk(node.args[0]) if isinstance(n, ast.Name)}
            elif isinstance(node, ast.If) and node.body and isinstance(node.body[-1], ast.Raise):
                in_checks |= {n.id for n in ast.walk(node.test) if isinstance(n, ast.Name)}
        for node in ast.walk(scope):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                elsewhere.add((node.id, node.lineno))
        for stmt in getattr(scope, "body", []):
            if isinstance(stmt, ast.Assign) and all(isinstance(t, ast.Name) for t in stmt.targets):
                names = {t.id for t in stmt.targets}
                reads = {line for name, line in elsewhere if name in names}
                check_lines = {c.lineno for c in ast.walk(scope) if isinstance(c, ast.Call)
                               and getattr(c.func, "attr", getattr(c.func, "id", "")) == "require"}
                if names <= in_checks and reads and reads <= check_lines:
                    lines |= _span(stmt)
    return lines


def module_stats(path: Path) -> dict:
    text = path.read_text()
    tree = ast.parse(text)
    dotted = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    code_lines = set()
    for i, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if s and not s.startswith("#"):
            code_lines.add(i)
    executable = code_lines - _docstring_lines(tree)
    validation_names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("validation"):
            validation_names.update(a.asname or a.name for a in node.names)
    checks: set[int] = set()
    in_checks_package = dotted.startswith("seqlib.checks")
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("_check"):
            checks |= _span(node)
        elif isinstance(node, ast.If) and node.body and isinstance(node.body[-1], ast.Raise) \
                and not _exits(node.body[-1]):
            checks |= _span(node)
        elif isinstance(node, ast.Assert) or isinstance(node, ast.Raise) and not _exits(node):
            checks |= _span(node)
        elif isinstance(node, ast.stmt) and not in_checks_package and _is_check_call(node, validation_names):
            checks |= _span(node)
    checks |= _conditions_of_checks(tree)
    checks &= executable
    return {"module": dotted, "lines": len(text.splitlines()), "executable": len(executable),
            "checks": len(checks), "lesson": not dotted.startswith(NOT_LESSON)}


def package_stats() -> list[dict]:
    return [module_stats(p) for p in sorted(PACKAGE.rglob("*.py"))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    rows = package_stats()
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'module':34} {'lines':>6} {'exec':>6} {'checks':>6} {'share':>6}  lesson")
    for r in rows:
        share = r["checks"] / r["executable"] if r["executable"] else 0.0
        print(f"{r['module']:34} {r['lines']:6d} {r['executable']:6d} {r['checks']:6d} {share:6.0%}  "
              f"{'yes' if r['lesson'] else ''}")
    lesson = [r for r in rows if r["lesson"]]
    total = sum(r["lines"] for r in rows)
    le, lc = sum(r["executable"] for r in lesson), sum(r["checks"] for r in lesson)
    print(f"\nseqlib: {total} lines in {len(rows)} modules")
    print(f"lesson modules: {le} executable lines, {lc} of them checks ({lc / max(le, 1):.1%})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
