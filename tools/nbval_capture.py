"""A pytest plugin for ``make test`` (``-p tools.nbval_capture``): the labs run once, by nbval.

``make test`` runs every lab under nbval (the instructors' check) and renders the smoke book that
``tests/test_book.py`` reads. Executing every lab a second time with papermill for that book doubled the
cost of the labs in the test suite, so this plugin keeps what nbval's runs printed, cell by cell, and
writes each lab, executed, once its last cell has run; the book's fixture renders those runs
(``tools/build.py --executed-from``). The pipeline's own execution (papermill, the hang guard, failing
labs) keeps its tests on small notebooks in ``tests/test_build.py``; ``make book`` and ``make smoke-book``
execute with papermill as before.

With pytest-xdist (``--dist loadfile``) each worker runs some labs; the folder they write to is made
once by the controller and passed on in ``SEQLIB_NBVAL_EXECUTED``. The collection is reordered: the
labs first, the book's tests last, so that by the time a worker reaches the book every lab has run
(:func:`wait_for` still waits, should one not have). xdist keeps that order only with
``--no-loadscope-reorder`` (``make test`` passes it); by default it hands out the files with the most
tests first, the book's among them, and that worker then waits for the other worker's labs.

What nbval's runs lack beside papermill's: widget state (``metadata.widgets``; only Day 8 has widgets)
and the updates of a display handle (a live training plot shows its first drawing).
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import pytest

ENV = "SEQLIB_NBVAL_EXECUTED"

#: lab path -> {"nb": the notebook nbval read, "cells": code cells collected, "outputs": {cell: outputs},
#: "seconds": float}
RUNS: dict[Path, dict] = {}


_MADE: list[str] = []  # the folder this process made, removed when the session ends


def pytest_configure(config):
    if not hasattr(config, "workerinput") and not os.environ.get(ENV):  # the controller, or a plain run
        os.environ[ENV] = tempfile.mkdtemp(prefix="nbval-executed-")
        _MADE.append(os.environ[ENV])


def pytest_unconfigure(config):
    for folder in _MADE:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(ENV, None)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """The wheel's test (the longest, on a worker of its own) and the labs first, the book's tests last;
    note which labs (all their code cells) this session runs."""
    def order(item):
        path = Path(str(item.path))
        return (-1 if path.name == "test_wheel.py" else 0 if path.suffix == ".ipynb"
                else 2 if path.name == "test_book.py" else 1)
    items.sort(key=order)  # stable: each kind keeps its order
    for item in items:
        if _is_nbval_cell(item):
            run = RUNS.setdefault(Path(str(item.path)).resolve(),
                                  {"nb": None, "cells": set(), "outputs": {}, "seconds": 0.0})
            run["cells"].add(item.cell_num)


def _is_nbval_cell(item) -> bool:
    return hasattr(item, "cell_num") and hasattr(item, "test_outputs")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    start = time.perf_counter()
    try:
        yield
    finally:
        if _is_nbval_cell(item):
            run = RUNS[Path(str(item.path)).resolve()]
            run["outputs"][item.cell_num] = list(item.test_outputs or [])
            run["seconds"] += time.perf_counter() - start


def pytest_runtest_teardown(item):
    """After a lab's last cell (run or not: a kernel that did not start runs none), write the lab."""
    if not _is_nbval_cell(item):
        return
    run = RUNS[Path(str(item.path)).resolve()]
    run["nb"] = item.parent.nb
    run["outputs"].setdefault(item.cell_num, [])
    if set(run["outputs"]) == run["cells"] and os.environ.get(ENV):
        nb = executed(Path(str(item.path)))
        if nb is not None:
            target = Path(os.environ[ENV]) / Path(str(item.path)).name
            nbformat.write(nb, target.with_suffix(".tmp"))
            target.with_suffix(".tmp").replace(target)  # whole, or not there


def executed(lab: Path) -> nbformat.NotebookNode | None:
    """``lab`` as nbval ran it in this process (outputs and execution counts filled in), or ``None`` if
    nbval did not run every one of its code cells here."""
    run = RUNS.get(Path(lab).resolve())
    if run is None or run["nb"] is None:
        return None
    nb = copy.deepcopy(run["nb"])
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    if set(run["outputs"]) != set(range(len(code))):
        return None
    for count, cell in enumerate(code, 1):
        cell.execution_count = count
        cell.outputs = [nbformat.from_dict(dict(out, execution_count=count) if out.get("output_type") ==
                                           "execute_result" else dict(out)) for out in run["outputs"][count - 1]]
    nb.metadata.setdefault("seqlib", {})["nbval_seconds"] = round(run["seconds"], 1)
    return nb


def collected(labs) -> bool:
    """Whether this session runs every code cell of every lab of ``labs`` under nbval."""
    return all(Path(lab).resolve() in RUNS and RUNS[Path(lab).resolve()]["cells"] ==
               set(range(sum(c.cell_type == "code" for c in nbformat.read(lab, as_version=4).cells)))
               for lab in labs)


def wait_for(labs, timeout: float = 900.0) -> Path | None:
    """The folder holding every lab of ``labs`` as nbval ran it (waiting for the other workers' labs),
    or ``None`` when this session does not run them all or they are not there within ``timeout`` s."""
    folder = os.environ.get(ENV)
    if not folder or not collected(labs):
        return None
    deadline = time.monotonic() + timeout
    while not all((Path(folder) / Path(lab).name).exists() for lab in labs):
        if time.monotonic() > deadline:
            return None
        time.sleep(2)
    return Path(folder)
