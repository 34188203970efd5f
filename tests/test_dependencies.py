"""Every third-party import of seqlib and of the labs is declared in pyproject.toml.

A student who installs the course package alone (Colab: ``%pip install git+...``) gets only the
distributions that pyproject.toml declares; an import whose distribution is missing there stops a
lab with ``ModuleNotFoundError`` outside this repository (where requirements.txt is not used).
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import json
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {_normalise(re.split(r"[ <>=!~;\[]", dep, maxsplit=1)[0]) for dep in project["dependencies"]}


def _imports(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _cell_source(cell) -> str:
    # IPython magics and shell escapes are not Python: keep the line count, drop the line.
    lines = [ln[: len(ln) - len(ln.lstrip())] + "pass" if ln.lstrip().startswith(("%", "!")) else ln
             for ln in "".join(cell["source"]).splitlines()]
    return "\n".join(lines)


def third_party_imports() -> dict[str, set[str]]:
    """Top-level module name -> the files (package modules, labs) that import it."""
    found: dict[str, set[str]] = {}
    sources = [(p, p.read_text()) for p in sorted((ROOT / "seqlib").rglob("*.py"))]
    for lab in sorted((ROOT / "labs").glob("*.ipynb")):
        cells = json.loads(lab.read_text())["cells"]
        sources += [(lab, _cell_source(c)) for c in cells if c["cell_type"] == "code"]
    for path, source in sources:
        for name in _imports(source):
            if name in sys.stdlib_module_names or name in ("seqlib", "tools", "__future__"):
                continue
            found.setdefault(name, set()).add(str(path.relative_to(ROOT)))
    return found


def test_every_imported_distribution_is_declared():
    owners = md.packages_distributions()
    wanted = declared()
    missing = []
    for module, files in sorted(third_party_imports().items()):
        dists = {_normalise(d) for d in owners.get(module, [])}
        assert dists, f"{module} (imported by {sorted(files)}) is not installed here: add it to requirements.txt"
        if not dists & wanted:
            missing.append(f"{module} ({'/'.join(sorted(dists))}), imported by {', '.join(sorted(files)[:3])}")
    assert not missing, ("imports whose distribution pyproject.toml does not declare (add each with a loose "
                         "lower bound that Colab's versions satisfy):\n  " + "\n  ".join(missing))


def test_declared_dependencies_are_pinned_for_the_tests():
    """requirements.txt pins every declared distribution: the tested versions."""
    pins = {_normalise(m.group(1)) for m in re.finditer(r"^([A-Za-z0-9_.\-]+)==", (ROOT / "requirements.txt").read_text(), re.M)}
    assert declared() <= pins, f"declared but not pinned in requirements.txt: {sorted(declared() - pins)}"
