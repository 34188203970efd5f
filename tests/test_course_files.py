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
