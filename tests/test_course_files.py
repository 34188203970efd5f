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
    assert "SMOKE" not in params.source, "the parameters cell shows the lab's own sizes; smoke sizes go below it"
    smoke = code[2]
    assert 'os.environ.get("SEQLIB_SMOKE"' in smoke.source and "remove-cell" in smoke.metadata.get("tags", [])
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


CODE_WIDTH = 85  # characters: the widest code line the book's column shows without scrolling


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_visible_code_fits_the_column(lab):
    """No code cell a reader sees scrolls sideways: every line of a visible code cell (all but
    ``remove-cell``/``remove-input``; ``hide-input``/``hide-cell`` open on a click) fits the column."""
    nb = nbformat.read(lab, as_version=4)
    too_long = []
    for c in nb.cells:
        if c.cell_type != "code" or {"remove-cell", "remove-input"} & set(c.metadata.get("tags", [])):
            continue
        first = c.source.splitlines()[0] if c.source else ""
        too_long += [f"cell {first!r}: {len(line)} characters: {line!r}"
                     for line in c.source.splitlines() if len(line) > CODE_WIDTH]
    assert not too_long, (f"{lab.name}: visible code lines longer than {CODE_WIDTH} characters "
                          "(rewrap them: break argument lists, split strings, comments above the line):\n"
                          + "\n".join(too_long))


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


def _names(source: str) -> tuple[set[str], set[str]]:
    """(names a cell binds at its top level, names it reads that it does not bind itself)."""
    import ast

    lines = [ln[:len(ln) - len(ln.lstrip())] + "pass" if ln.lstrip().startswith(("%", "!")) else ln
             for ln in source.splitlines()]                      # IPython magics: a statement, no names
    tree = ast.parse("\n".join(lines))
    stored = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del))}
    stored |= {a.arg for n in ast.walk(tree) if isinstance(n, ast.arguments)
               for a in [*n.posonlyargs, *n.args, *n.kwonlyargs, n.vararg, n.kwarg] if a}
    stored |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    top = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.For)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            top |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            top |= {(a.asname or a.name).split(".")[0] for a in node.names}
    reads = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}
    return top, reads - stored


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_no_visible_cell_uses_what_only_a_removed_cell_defines(lab):
    """A reader (and a student who reruns a cell) must see where every name comes from: a name that a
    shown cell uses is never defined only in a cell the page removes (remove-cell, remove-input)."""
    removed_only: dict[str, int] = {}
    shown: set[str] = set()
    problems = []
    for i, cell in enumerate(nbformat.read(lab, as_version=4).cells):
        if cell.cell_type != "code":
            continue
        tags = set(cell.metadata.get("tags", []))
        defined, reads = _names(cell.source)
        removed = bool(tags & {"remove-cell", "remove-input"})
        if not removed:
            problems += [f"cell {i} uses {n!r} from removed cell {removed_only[n]}" for n in reads if n in removed_only]
        for name in defined:
            if removed and name not in shown:
                removed_only.setdefault(name, i)
            elif not removed:
                shown.add(name)
                removed_only.pop(name, None)
    assert not problems, f"{lab.name}: {problems}"


# --- the page agrees with itself (issue 29) ------------------------------------------------------

def _course_map() -> dict[str, list[str]]:
    """The course map of book/index.md: day ("8", "8B") -> its row's cells."""
    rows = {}
    for line in (ROOT / "book" / "index.md").read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and re.fullmatch(r"\d+[A-Z]?", cells[0]):
            rows[cells[0]] = cells
    return rows


@pytest.mark.parametrize("lab", toc_labs(), ids=lambda p: p.stem)
def test_study_time_and_budget_have_one_source(lab):
    """A lab's study time lives in its metadata (``seqlib.study_hours``) and its run budget in
    ``seqlib.budget`` (or the default): the lab's introduction, the course map of book/index.md and
    the results page state those values (the map once said 2.5 h where the lab said "a two-hour
    session"), and no text claims that the lab *fits* its budget (the results page measures that)."""
    from tools.course import lab_budget, lab_study_hours
    from tools.results_page import results_page

    hours, budget = lab_study_hours(lab.stem), lab_budget(lab.stem)
    assert hours, f"{lab.name}: give the study time in hours in the metadata: \"seqlib\": {{\"study_hours\": 2}}"
    nb = nbformat.read(lab, as_version=4)
    intro = nb.cells[0].source
    said = re.findall(r"\*\*Study time:\*\* about (\d+(?:\.\d+)?) hours? of reading(?: and exercises)?", intro)
    assert said == [f"{hours:g}"], f"{lab.name}: the introduction should say **Study time:** about {hours:g} hours ..."
    units = re.findall(r"\*\*Run budget:\*\* (\d+(?:\.\d+)?) reference units", intro)
    assert units == [f"{budget:g}"], f"{lab.name}: the introduction should say **Run budget:** {budget:g} reference units"
    number, part = re.match(r"day(\d+)([a-z]?)", lab.stem).groups()
    day = f"{int(number)}{part.upper()}"
    row = _course_map().get(day)
    assert row, f"book/index.md's course map has no row for day {day}"
    assert f"{lab.stem}>" in row[1], f"course map row {day} links {row[1]!r}, not {lab.stem}"
    assert row[-2:] == [f"{hours:g} h", f"{budget:g} units"], \
        f"course map, day {day}: {row[-2:]}, the lab's metadata: {hours:g} h, {budget:g} units"
    page = results_page({lab.stem: {"status": "ok", "seconds": 60.0, "units": 1.0, "budget": budget}}, "full")
    assert f"| {budget} | {hours:g} |" in page, "the results page's run-time table shows budget and study time"
    claims = [m.group(0) for c in nb.cells if c.cell_type == "markdown"
              for m in re.finditer(r"\bfits? (?:a|the course's|its) budget\b[^.]*", c.source)]
    assert not claims, f"{lab.name}: the text claims the lab fits its budget (the results page measures it): {claims}"


@pytest.mark.parametrize("lab", toc_labs(), ids=lambda p: p.stem)
def test_a_labs_run_time_is_stated_only_on_the_results_page(lab):
    """The build measures each lab's run time once (results page); a closing note that times the lab
    itself gives another number (Day 6's 175 s beside the build's 183 s)."""
    nb = nbformat.read(lab, as_version=4)
    notes = [c.source[:60] for c in nb.cells if c.cell_type == "code"
             and not {"remove-cell"} & set(c.metadata.get("tags", []))
             and re.search(r"\{[^{}\n]*\b(?:lab_seconds|LAB_START|lab_start)\b[^{}\n]*\}", c.source)]  # an f-string field
    assert not notes, f"{lab.name}: cells that show the lab's own run time: {notes}"


def test_the_results_catalogue_shows_no_lab_timing_of_its_own():
    catalogue = (ROOT / "book" / "results_catalogue.yml").read_text()
    assert "key: lab_seconds" not in catalogue, "the results page's run-time table is the one home of a lab's run time"


# A number formatted in an f-string: {expression:.Nf} or {expression:.N%}
_FORMATTED = re.compile(r"\{([A-Za-z_][\w.\[\]'\" ,]*?)\s*:\s*[+ ]?[,_]?\.(\d+)([f%])\}")


@pytest.mark.parametrize("lab", toc_labs(), ids=lambda p: p.stem)
def test_prose_rounds_a_number_as_the_output_above_it(lab):
    """A sentence written by ``say`` quotes a number that a shown cell above it (since the last
    Markdown cell) printed with the same rounding: Day 2 printed 99.8 % and said "100 %"."""
    nb = nbformat.read(lab, as_version=4)
    shown: dict[tuple[str, str], set[str]] = {}
    clashes = []
    for c in nb.cells:
        if c.cell_type == "markdown":
            shown = {}
            continue
        tags = set(c.metadata.get("tags", []))
        if "remove-cell" in tags:
            continue
        found = {(m.group(1).replace(" ", ""), m.group(3), m.group(2)) for m in _FORMATTED.finditer(c.source)}
        if "remove-input" in tags and re.search(r"\bsay\(", c.source):
            clashes += [f"{{{expr}:.{digits}{kind}}} after {{{expr}:.{sorted(shown[expr, kind])[0]}{kind}}}"
                        for expr, kind, digits in found
                        if (expr, kind) in shown and digits not in shown[expr, kind]]
        else:
            for expr, kind, digits in found:
                shown.setdefault((expr, kind), set()).add(digits)
    assert not clashes, f"{lab.name}: prose rounds differently from the output above it: {clashes}"


_UNROUNDED_DIFFERENCE = re.compile(r"\{\s*100\s*\*\s*\([^{}]*?\s-\s[^{}]*?\)\s*:\s*[+ ]?\.\d+f\s*\}")


@pytest.mark.parametrize("lab", toc_labs(), ids=lambda p: p.stem)
def test_differences_are_taken_of_the_rounded_values_shown(lab):
    """A difference in points is the difference of the two rounded values that the table shows
    (77.4 - 76.8 = +0.6), not of the unrounded ones (+0.5 beside a table that reads +0.6)."""
    nb = nbformat.read(lab, as_version=4)
    found = [m.group(0) for c in nb.cells if c.cell_type == "code"
             and "remove-cell" not in c.metadata.get("tags", []) for m in _UNROUNDED_DIFFERENCE.finditer(c.source)]
    assert not found, f"{lab.name}: differences of unrounded values: {found}"


_SIZE = re.compile(r"(?:labelsize|fontsize)\s*=\s*(\d+(?:\.\d+)?)")


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_tick_labels_are_readable(lab):
    """Tick labels set by hand are 9 pt or more (the course style's size): Day 8's tag names at 7 pt
    were about 7 px tall on the page."""
    nb = nbformat.read(lab, as_version=4)
    small = [line.strip() for c in nb.cells if c.cell_type == "code" for line in c.source.splitlines()
             if "tick" in line and any(float(size) < 9 for size in _SIZE.findall(line))]
    assert not small, f"{lab.name}: tick labels under 9 pt: {small}"
