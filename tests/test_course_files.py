"""The course's files follow the conventions the build, nbval and Colab rely on (CONTRIBUTING.md)."""

from __future__ import annotations

import re
from pathlib import Path

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
    assert checked, f"{lab.name} has no cell tagged nbval-check-output"
    for c in checked:
        assert c.outputs and c.execution_count, f"checked cell without reference output: {c.source[:60]!r}"
    assert any("record(" in c.source for c in nb.cells if c.cell_type == "code"), "lab records no results"
    markers = [c.source[:60] for c in nb.cells if "NBVAL_" in c.source]
    assert not markers, f"nbval markers belong in cell tags, not in the code a reader sees: {markers}"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_solutions_keep_their_secret(lab):
    """A solution's code AND output stay behind one toggle: in the book (tag ``hide-cell``) and in Jupyter."""
    nb = nbformat.read(lab, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code" and c.source.lstrip().startswith("# Solution"):
            tags = c.metadata.get("tags", [])
            assert "hide-cell" in tags and "hide-input" not in tags, \
                f"solution cell needs the tag hide-cell (not hide-input): {c.source[:60]!r}"
            jupyter = c.metadata.get("jupyter", {})
            assert jupyter.get("source_hidden") is True and jupyter.get("outputs_hidden") is True, \
                f"solution cell needs metadata jupyter.source_hidden and outputs_hidden: {c.source[:60]!r}"


# A run time or a speed ratio written by hand in a lab's text (it contradicts the run on another
# machine): numbers from a run are quoted with seqlib.page.say, costs in reference units.
_NUMBER = r"(?:\d+(?:[.,]\d+)?|one|two|three|four|five|six|seven|eight|nine|ten|a few|several|a couple of)"
HAND_WRITTEN_TIMING = re.compile(
    # (a student's study time is not a run time: "about 90 minutes of reading and exercises" is fine)
    rf"\b{_NUMBER}(?:\s*(?:-|–|to)\s*{_NUMBER})?\s*(?:seconds?|secs?|minutes?|mins?|hours?|hrs?)\b"
    r"(?!\s+(?:of reading|of study|of work|with the exercises))"
    r"|\b\d+(?:\.\d+)?\s?s\s+(?:per|each|a|on|for|in)\b"
    r"|\b\d+(?:\.\d+)?\s*(?:x|×)\s*(?:faster|slower|quicker|the speed|as fast)"
    r"|\b\d+(?:\.\d+)?\s*%\s*(?:faster|slower|quicker|speed-?up|more throughput)"
    r"|\b(?:twice|thrice|several times|many times|\d+ times)\s+(?:faster|slower|quicker|as fast)",
    re.IGNORECASE)


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_lab_text_states_no_hand_written_run_time_or_speed_ratio(lab):
    nb = nbformat.read(lab, as_version=4)
    found = [m.group(0) for c in nb.cells if c.cell_type == "markdown"
             for m in HAND_WRITTEN_TIMING.finditer(c.source)]
    assert not found, (f"{lab.name}: hand-written run times or speed ratios in the text: {found}; quote "
                       "the run's numbers with seqlib.page.say(f'...') in a remove-input cell, and "
                       "state a lab's cost as its budget in reference units")


def test_the_timing_pattern_catches_what_readers_tripped_over():
    for text in ("takes one to two minutes", "about 3 minutes", "about 50 s per seed", "2x faster",
                 "about 30% faster", "several times faster", "about 3.7 minutes", "under four minutes", "takes 12 seconds"):
        assert HAND_WRITTEN_TIMING.search(text), text
    for text in ("a budget of 4 reference units", "time step t", "35 s_t", "the 1990s", "4 layers",
                 "about 90 minutes of reading and exercises", "2.5 hours with the exercises"):
        assert not HAND_WRITTEN_TIMING.search(text), text


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_plumbing_cells_are_out_of_sight(lab):
    """Prose from the run shows as text only; recorded results belong on the results page."""
    nb = nbformat.read(lab, as_version=4)
    for c in nb.cells:
        if c.cell_type != "code":
            continue
        tags = set(c.metadata.get("tags", []))
        if re.search(r"^\s*say\(", c.source, re.MULTILINE):
            assert tags & {"remove-input", "remove-cell"}, f"a say(...) cell must be tagged remove-input: {c.source[:60]!r}"
        if re.search(r"^\s*record\(", c.source, re.MULTILINE):
            assert "remove-cell" in tags, f"a record(...) cell must be tagged remove-cell: {c.source[:60]!r}"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_lab_figures_fit_the_column(lab):
    """No hand-set figure wider than the book's column (seqlib.page.COLUMN_INCHES), and the course style is on."""
    from seqlib.page import COLUMN_INCHES

    nb = nbformat.read(lab, as_version=4)
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    widths = [float(w) for w in re.findall(r"figsize\s*=\s*\(\s*(\d+(?:\.\d+)?)\s*,", code)]
    assert all(w <= COLUMN_INCHES for w in widths), f"{lab.name}: figures {widths} in wide; at most {COLUMN_INCHES}"
    assert "use_course_style()" in code, f"{lab.name} does not call seqlib.page.use_course_style()"


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


def test_the_instructors_page_lists_every_data_file_for_offline_use():
    from seqlib.data import REGISTRY

    page = (ROOT / "book" / "instructors.md").read_text()
    missing = [ds.file for ds in REGISTRY.values() if Path(ds.file).name not in page]
    assert not missing, f"book/instructors.md does not list {missing} for offline use"
