"""One home for each concept: the things issue 23 made single stay single."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "seqlib"
# the benchmark measures the speed of a training step: a workload, not a training loop
WORKLOADS = {"bench.py"}


def _calls(tree: ast.AST, name: str) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == name]


def test_exactly_one_module_runs_a_training_loop():
    """Only seqlib.training calls .backward(): every lab and command line trains through fit."""
    callers = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = str(path.relative_to(PACKAGE))
        if rel in WORKLOADS:
            continue
        lines = _calls(ast.parse(path.read_text()), "backward")
        if lines:
            callers[rel] = lines
    assert set(callers) == {"training.py"}, f"modules that call .backward() (lines): {callers}"


def test_one_in_ipython_and_one_masked_softmax():
    """Module-level functions and classes (a counting model's ``fit`` method is not a training loop)."""
    defs = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defs.setdefault(node.name, []).append(str(path.relative_to(PACKAGE)))
    for name in ("_in_ipython", "masked_softmax", "top_k_accuracy", "mean_std", "fit", "evaluate", "generate",
                 "make_loader", "clip_gradients"):
        assert len(defs.get(name, [])) <= 1, f"{name} is defined in {defs[name]}: one home for each concept"
