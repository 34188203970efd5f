"""The course's files follow the conventions the build, nbval and Colab rely on (CONTRIBUTING.md)."""

from __future__ import annotations

import nbformat
import pytest

from tools.course import ROOT, is_checked, lab_notebooks, repository_url, toc_files, toc_labs
from tools.normalize import normalize, text

LABS = lab_notebooks()


def test_every_lab_is_in_the_toc_and_every_toc_lab_exists():
    in_toc = {p.resolve() for p in toc_labs()}
    on_disk = {p.resolve() for p in LABS}
    assert on_disk - in_toc == set(), "labs missing from _toc.yml"
    assert in_toc - on_disk == set(), "_toc.yml names labs that do not exist"
    assert LABS, "no lab found in labs/"


def test_every_toc_page_exists():
    for f in toc_files():
        assert (ROOT / f"{f}.md").exists() or (ROOT / f"{f}.ipynb").exists(), f


def test_labs_are_in_day_order_in_the_toc():
    names = [p.stem for p in toc_labs()]
    assert names == sorted(names)


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_lab_is_normalised(lab):
    committed = lab.read_text()
    assert text(normalize(nbformat.reads(committed, as_version=4))) == committed, (
        f"{lab.name} is not normalised: run `make normalize` (or `make refresh`) and commit"
    )


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_lab_starts_with_title_install_and_parameters_cells(lab):
    nb = nbformat.read(lab, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# Day ")
    install, params = code[0], code[1]
    assert f'"seqlib @ git+{repository_url()}"' in install.source
    assert "import seqlib" in install.source and "except ImportError" in install.source
    assert "remove-cell" in install.metadata.get("tags", [])
    assert "parameters" in params.metadata.get("tags", [])
    assert 'os.environ.get("SEQLIB_SMOKE"' in params.source
    assert nb.metadata.kernelspec.name == "python3"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_lab_has_checked_cells_with_reference_outputs_and_records_results(lab):
    nb = nbformat.read(lab, as_version=4)
    checked = [c for c in nb.cells if is_checked(c)]
    assert checked, f"{lab.name} has no # NBVAL_CHECK_OUTPUT cell"
    for c in checked:
        assert c.outputs and c.execution_count, f"checked cell without reference output: {c.source[:60]!r}"
    assert any("record(" in c.source for c in nb.cells if c.cell_type == "code"), "lab records no results"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_solutions_are_hidden(lab):
    nb = nbformat.read(lab, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code" and c.source.lstrip().startswith("# Solution"):
            assert "hide-input" in c.metadata.get("tags", []), c.source[:60]
            assert c.metadata.get("jupyter", {}).get("source_hidden") is True, c.source[:60]


def _modules():
    """Every module of seqlib, dotted (``seqlib.cells``, ``seqlib.checks.day02``), private ones excluded."""
    package = ROOT / "seqlib"
    names = []
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(ROOT).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if any(p.startswith("_") for p in parts) or len(parts) == 1:
            continue
        names.append(".".join(parts))
    return names


@pytest.mark.parametrize("module", _modules())
def test_every_module_is_in_the_package_index(module):
    """seqlib/__init__.py lists every module with its one-line job (and a subpackage lists its own)."""
    import importlib

    parent = module.rsplit(".", 1)[0]
    index = importlib.import_module(parent).__doc__ or ""
    assert f"``{module}``" in index, (
        f"{module} is missing from the index in {parent.replace('.', '/')}/__init__.py: "
        f"add a line ``{module}``  <its one-line job>")


def test_the_package_index_names_no_missing_module():
    import re

    import seqlib

    listed = set(re.findall(r"``(seqlib(?:\.\w+)+)``", seqlib.__doc__))
    assert listed - set(_modules()) == set(), "seqlib/__init__.py lists modules that do not exist"


def test_no_module_is_too_long():
    """No module grows past a few hundred lines: split by concept when one does."""
    long = {str(p.relative_to(ROOT)): n for p in (ROOT / "seqlib").rglob("*.py")
            if (n := len(p.read_text().splitlines())) > 450}
    assert not long, f"modules over 450 lines, split them by concept: {long}"


def test_docstrings_use_one_math_style():
    """Docstring math is reStructuredText (``:math:`...``` inline, ``.. math::`` blocks), never ``$...$``."""
    import ast
    import re

    offenders = []
    for path in sorted((ROOT / "seqlib").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node, clean=False) or ""
                if re.search(r"\$[^$\s][^$]*\$", doc.replace("$SEQLIB", "")):
                    offenders.append(f"{path.relative_to(ROOT)}:{getattr(node, 'name', '<module>')}")
    assert not offenders, f"docstrings with $...$ math (use :math:`...` or .. math::): {offenders}"
