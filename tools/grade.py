#!/usr/bin/env python
"""Grade the labs students hand back, with the course's own checks, in one command.

    python tools/grade.py SUBMISSIONS [--out grades] [--cell-timeout 120] [--limit 900] [--jobs 1]
    make grade SUBMISSIONS=folder

``SUBMISSIONS`` holds the notebooks, as ``<student>/<lab>.ipynb`` or ``<student>_<lab>.ipynb``
(``<lab>`` as in ``labs/``, e.g. ``day06_text_generation``; a students' edition also names its lab in
``metadata.seqlib.lab``). For each one, apart from the others:

1. a copy runs in a new empty folder (its working directory and ``HOME``), offline (``SEQLIB_DATA_DIR``
   as set for the grader), in smoke mode, with a time limit per cell (``--cell-timeout``: a cell that
   runs longer is interrupted, and the run goes on) and for the whole notebook (``--limit``); a cell
   that raises does not stop the run;
2. after its last cell, a grading cell imports the lab's checks afresh (a notebook that redefined or
   patched them changes nothing) and runs each exercise's check on the student's function, on new
   random cases each time (the checks' own hidden cases), each call under the checks' time limit;
3. the grade is the share of the lab's exercises whose check passed.

Writes ``<out>/grades.csv`` (one row per submission: student, lab, one column per exercise (1 passed,
0 not), score, status, note) and ``<out>/feedback/<student>_<lab>.md`` (each check's feedback in its
own words, and what went wrong while the notebook ran). A submission that loops, crashes, deletes
files or edits the checks gets its grade and a note; it never stops the run. The copies run as the
grader's user: grade on a machine (or container) you can afford to lose files on, as with any code
you did not write.

The exercises of a lab are the check calls in its master's solutions (``# BEGIN SOLUTION`` regions).
"""

from __future__ import annotations

import argparse
import ast
import csv
import json
import multiprocessing
import os
import shutil
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from tools.course import lab_notebooks  # noqa: E402
from tools.editions import CODE_REGION  # noqa: E402

MARK = "SEQLIB-GRADE "   # the grading cell's one output line starts with this


def exercises(lab: str) -> list[tuple[str, str]]:
    """``(check name, the call as written)`` for each exercise of ``lab``: the last check call of each
    solution region of its master."""
    master = nbformat.read(ROOT / "labs" / f"{lab}.ipynb", as_version=4)
    found = []
    for cell in master.cells:
        if cell.cell_type != "code":
            continue
        for region in CODE_REGION.findall(cell.source):
            calls = [node.value for node in ast.parse(region).body
                     if isinstance(node, (ast.Expr, ast.Assign)) and isinstance(node.value, ast.Call)
                     and isinstance(node.value.func, ast.Name) and node.value.func.id.startswith("check_")]
            found += [(call.func.id, ast.get_source_segment(region, call)) for call in calls[-1:]]
    if not found:
        raise ValueError(f"{lab} has no exercise: no check call inside a # BEGIN SOLUTION region")
    return found


def grading_cell(lab: str) -> str:
    """The cell run after the submission's own: the lab's checks, imported afresh, on the student's names."""
    module = f"seqlib.checks.{lab[:5]}"
    calls = ",\n    ".join(f"({name!r}, lambda: _checks.{call})" for name, call in exercises(lab))
    return f"""\
import contextlib as _cl, importlib as _il, io as _io, json as _json, sys as _sys
for _name in [m for m in list(_sys.modules) if m.startswith("seqlib.checks")]:
    del _sys.modules[_name]
_checks = _il.import_module({module!r})
_results = []
for _name, _call in [
    {calls},
]:
    _out = _io.StringIO()
    try:
        with _cl.redirect_stdout(_out):
            _ok = bool(_call())
    except BaseException as _e:  # a name the student never defined, or worse
        _ok = False
        _out.write(f"❌ could not run {{_name}}: {{type(_e).__name__}}: {{_e}}")
    _results.append({{"check": _name, "passed": _ok, "feedback": _out.getvalue().strip()}})
print({MARK!r} + _json.dumps(_results))
"""


def identify(rel: Path, nb, labs: list[str]) -> tuple[str, str]:
    """``(student, lab)`` of the submission at ``rel`` (its path in the folder), from its metadata or name."""
    lab = nb.metadata.get("seqlib", {}).get("lab") if nb is not None else None
    rel = rel.with_suffix("")
    lab = lab if lab in labs else next((name for name in labs if name in rel.name), None)
    if lab is None:
        raise SystemExit(f"{rel}.ipynb: which lab is it? Name it <student>/<lab>.ipynb (labs: {', '.join(labs)})")
    student = rel.parent.as_posix() if rel.parent != Path(".") else (rel.name.replace(lab, "").strip("_-") or rel.name)
    return student.replace("/", "_"), lab


def _execute(path: str, folder: str, cell_timeout: int, env: dict, queue) -> None:
    """Child process: run the notebook in ``folder`` with every cell's errors kept, put it on ``queue``."""
    from nbclient import NotebookClient

    os.environ.update(env)
    os.chdir(folder)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3", allow_errors=True,
                            interrupt_on_timeout=True, resources={"metadata": {"path": folder}})
    try:
        client.execute()
    except Exception as e:  # the kernel died, or a cell could not be interrupted
        nb.metadata["grade_error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    queue.put(nbformat.writes(nb))


def run_submission(nb, lab: str, *, cell_timeout: int, limit: int) -> dict:
    """Run one submission (a notebook read into memory) apart from the others and grade it:
    ``{"results": [{"check", "passed", "feedback"}, ...], "notes": [...]}``."""
    if nb is None:
        return {"results": [], "notes": ["not a readable notebook: graded 0"]}
    notes = []
    nb.cells = [c for c in nb.cells if c.cell_type != "raw"]
    nb.cells.append(nbformat.v4.new_code_cell(grading_cell(lab)))
    folder = Path(tempfile.mkdtemp(prefix="seqlib-grade-"))
    copy = folder / "submission.ipynb"
    nbformat.write(nb, copy)
    env = {"HOME": str(folder), "SEQLIB_SMOKE": "1", "TQDM_DISABLE": "1", "MPLBACKEND": "Agg"}
    context = multiprocessing.get_context("forkserver")
    queue = context.Queue()
    child = context.Process(target=_execute, args=(str(copy), str(folder), cell_timeout, env, queue))
    child.start()
    try:
        ran = nbformat.reads(queue.get(timeout=limit), as_version=4)
    except Exception:  # queue.Empty: over the limit
        ran = None
    child.join(10)
    if child.is_alive():
        child.kill()
    if not copy.exists():
        notes.append("the notebook deleted files in its own folder")
    shutil.rmtree(folder, ignore_errors=True)
    if ran is None:
        return {"results": [], "notes": notes + [f"the notebook did not finish within {limit} s: graded 0"]}
    if ran.metadata.get("grade_error"):
        notes.append(f"the run stopped: {ran.metadata['grade_error']}")
    for i, cell in enumerate(ran.cells[:-1], 1):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                what = "ran past the time limit and was interrupted" if out.get("ename") == "KeyboardInterrupt" \
                    else f"raised {out.get('ename')}: {out.get('evalue', '')[:160]}"
                notes.append(f"cell {i} {what}")
    text = "".join(o.get("text", "") for o in ran.cells[-1].get("outputs", []) if o.get("output_type") == "stream")
    line = next((ln for ln in text.splitlines() if ln.startswith(MARK)), None)
    if line is None:
        return {"results": [], "notes": notes + ["the grading cell did not run to the end: graded 0"]}
    return {"results": json.loads(line[len(MARK):]), "notes": notes}


def grade(submissions: Path, out: Path, *, cell_timeout: int = 120, limit: int = 900, jobs: int = 1,
          log=print) -> list[dict]:
    """Grade every notebook under ``submissions``; write ``out/grades.csv`` and ``out/feedback/``.

    Every submission is read into memory first and every file is written at the end, so that no
    submission can delete another or the grades of those run before it."""
    labs = [p.stem for p in lab_notebooks()]
    paths = sorted(p for p in submissions.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)
    if not paths:
        raise SystemExit(f"no notebooks under {submissions}")
    loaded = []
    for path in paths:
        try:
            nb = nbformat.read(path, as_version=4)
        except Exception:  # not JSON, not a notebook: graded 0 with a note
            nb = None
        loaded.append((*identify(path.relative_to(submissions), nb, labs), nb))

    def one(item):
        student, lab, nb = item
        return run_submission(nb, lab, cell_timeout=cell_timeout, limit=limit)

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        outcomes = list(pool.map(one, loaded))
    rows, feedback = [], {}
    for (student, lab, _), graded in zip(loaded, outcomes):
        names = [name for name, _ in exercises(lab)]
        passed = {r["check"]: r["passed"] for r in graded["results"]}
        score = sum(passed.get(n, False) for n in names) / len(names)
        row = {"student": student, "lab": lab, **{n: int(passed.get(n, False)) for n in names},
               "score": round(score, 3), "status": "graded" if graded["results"] else "not graded",
               "note": "; ".join(graded["notes"])}
        rows.append(row)
        lines = [f"# {student}: {lab}", "", f"Score: {score:.0%} ({sum(passed.get(n, False) for n in names)} "
                 f"of {len(names)} checks passed)", ""]
        for r in graded["results"]:
            lines += [f"## {r['check']}", "", "```", r["feedback"] or ("passed" if r["passed"] else "no feedback"),
                      "```", ""]
        if graded["notes"]:
            lines += ["## While the notebook ran", ""] + [f"- {n}" for n in graded["notes"]] + [""]
        feedback[f"{student}_{lab}.md"] = "\n".join(lines)
        log(f"{student:20} {lab:28} {score:6.0%}  {row['status']}{'  (' + row['note'] + ')' if row['note'] else ''}")
    (out / "feedback").mkdir(parents=True, exist_ok=True)
    for name, text in feedback.items():
        (out / "feedback" / name).write_text(text)
    fields = ["student", "lab"] + list(dict.fromkeys(k for r in rows for k in r
                                                     if k not in ("student", "lab", "score", "status", "note"))) \
        + ["score", "status", "note"]
    with open(out / "grades.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields, restval="")
        writer.writeheader()
        writer.writerows(rows)
    log(f"grades: {out / 'grades.csv'}; feedback: {out / 'feedback'}")
    return rows


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("submissions", type=Path, help="folder of submitted notebooks")
    ap.add_argument("--out", type=Path, default=Path("grades"), help="where grades.csv and feedback/ go")
    ap.add_argument("--cell-timeout", type=int, default=120, help="seconds one cell may run (default 120)")
    ap.add_argument("--limit", type=int, default=900, help="seconds one notebook may run (default 900)")
    ap.add_argument("--jobs", type=int, default=1, help="notebooks run at the same time (default 1)")
    args = ap.parse_args(argv)
    if not args.submissions.is_dir():
        ap.error(f"SUBMISSIONS must be a folder of notebooks, got {args.submissions}")
    if args.cell_timeout < 1 or args.limit < 1 or args.jobs < 1:
        ap.error("--cell-timeout and --limit must be at least 1 second, --jobs at least 1")
    grade(args.submissions, args.out, cell_timeout=args.cell_timeout, limit=args.limit, jobs=args.jobs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
