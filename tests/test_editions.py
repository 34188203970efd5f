"""The students' editions (tools/editions.py): generated from the masters, free of answers, and runnable.

A student's edition is its master less the solution regions; what it must still do is run top to
bottom unfilled. The masters run under nbval, so what can differ is only what the removed solutions
defined: a later cell that used an exercise's name would then run on the stub. The static test below
shows that no later cell does; the smoke run of one whole edition shows it end to end.
"""

from __future__ import annotations

import ast
import re

import nbformat
import pytest

from tools.course import lab_notebooks
from tools.editions import MARKERS, STUDENT_DIR, autograder, solution_regions, student_edition, text

LABS = lab_notebooks()


def _edition(lab):
    return student_edition(nbformat.read(lab, as_version=4), lab.stem)


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_the_committed_edition_is_what_the_generator_makes(lab):
    committed = STUDENT_DIR / lab.name
    assert committed.exists(), f"{committed} is missing: run `make editions` and commit editions/student/"
    assert committed.read_text() == text(_edition(lab)), f"{committed.name} is stale: run `make editions`"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_the_autograder_grades_every_exercise(lab):
    from tools.grade import exercises, grading_cell

    if not any(r.lstrip().startswith("#") for r in solution_regions(nbformat.read(lab, as_version=4))):
        pytest.skip(f"{lab.stem} has no code exercise to grade")

    made = autograder(lab.stem, grading_cell)
    ast.parse(made)
    assert all(f"_checks.{name}(" in made for name, _ in exercises(lab.stem)), "an exercise is not graded"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_no_solution_text_in_a_students_edition(lab):
    master = nbformat.read(lab, as_version=4)
    regions = solution_regions(master)
    assert len(regions) >= 3, f"{lab.name}: expected its exercises' solutions and model answers marked"
    edition = text(_edition(lab))
    rest = "\n".join(re.sub(r"<!-- BEGIN SOLUTION -->.*?<!-- END SOLUTION -->|# BEGIN SOLUTION.*?# END SOLUTION",
                            "", c.source, flags=re.S) for c in master.cells)
    for marker in (*MARKERS, "model-answer", "Model answer"):
        assert marker not in edition, f"{lab.name}: {marker!r} in the student's edition"
    for region in regions:
        # every line of an answer that the rest of the lab does not also contain (a signature, a check call)
        own = [s for s in (line.strip() for line in region.splitlines())
               if len(s) > 15 and s not in rest and not any(m in s for m in MARKERS)]
        leaked = [s for s in own if s in edition]
        assert not leaked, f"{lab.name}: answer lines in the student's edition: {leaked[:3]}"
    nb = nbformat.reads(edition, as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), "outputs left in"
    assert set(nb.metadata) == {"kernelspec", "seqlib"} and nb.metadata.seqlib["edition"] == "student"


@pytest.mark.parametrize("lab", LABS, ids=lambda p: p.stem)
def test_every_exercise_keeps_its_stub_and_no_later_cell_needs_the_solution(lab):
    """Each solution's check call stays in the edition (in the stub cell), and no cell after a stub
    uses a name that the stub defines (the lab runs the same with or without the student's answer)
    before a cell rebinds it with ``name = yours_or_ours(passed, name, ours, "name")`` (``passed``, or
    ``<name>_passed`` where a lab has several exercises in flight): from there the
    lab runs on the student's function once it passes, else on the course's own, and says which."""
    master = nbformat.read(lab, as_version=4)
    edition = _edition(lab)
    code = [c.source for c in edition.cells if c.cell_type == "code"]
    for region in (r for r in solution_regions(master) if r.lstrip().startswith("# BEGIN")):
        calls = re.findall(r"^(?:\w*passed = )?(check_\w+)\(", region, flags=re.M)
        assert calls, f"{lab.name}: a solution without its check call: {region[:80]!r}"
        stubs = [i for i, src in enumerate(code) if re.search(rf"^(?:\w*passed = )?{calls[-1]}\(", src, re.M)]
        assert stubs, f"{lab.name}: no stub cell calls {calls[-1]} in the student's edition"
        stub = stubs[0]
        defined = {n.name for n in ast.parse(code[stub]).body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        defined |= {t.id for n in ast.parse(code[stub]).body if isinstance(n, ast.Assign)
                    for t in n.targets if isinstance(t, ast.Name)}
        defined = {n for n in defined if not n.endswith("passed")}
        for later in code[stub + 1:]:
            defined -= set(re.findall(r"^(\w+) = yours_or_ours\(\w*passed, \1, ", later, flags=re.M))
            try:
                tree = ast.parse(later)
            except SyntaxError:  # a cell with IPython magics: plain text search
                used = {n for n in defined if re.search(rf"\b{n}\b", later)}
            else:
                used = _free_names(tree) & defined
            assert not used, f"{lab.name}: a later cell uses {sorted(used)} from an exercise stub: {later[:80]!r}"


def _free_names(node, bound=frozenset()) -> set[str]:
    """The names a cell reads that its own functions do not bind as parameters."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        a = node.args
        bound = bound | {x.arg for x in [*a.posonlyargs, *a.args, *a.kwonlyargs, a.vararg, a.kwarg] if x}
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        return set() if node.id in bound else {node.id}
    return set().union(*(_free_names(child, bound) for child in ast.iter_child_nodes(node)))


def test_an_unpaired_marker_is_an_error():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("# BEGIN SOLUTION\nx = 1\n")])
    with pytest.raises(ValueError, match="close each BEGIN SOLUTION with END SOLUTION"):
        student_edition(nb, "lab")
