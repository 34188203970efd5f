#!/usr/bin/env python
"""Execute the labs with papermill and render the book with Jupyter Book 1.

    python tools/build.py                 # full mode, output in _build/
    python tools/build.py --smoke --out _build/smoke
    python tools/build.py --force         # re-execute every lab
    python tools/build.py --smoke --executed-from DIR   # render labs executed elsewhere (make test: nbval)

Steps:
0. In full mode, time the reference workload (:mod:`tools.reference`) as the labs will run
   (as many copies side by side as labs, one thread each), before the labs and again after them
   (:func:`settle_reference`): lab times are reported in seconds and in machine-independent
   reference units (one unit is about a minute on a CI-class 2-core machine), against each
   lab's budget in units (:func:`tools.course.lab_budget`). Smoke runs report seconds only.
1. Execute every lab listed in ``_toc.yml`` with papermill (:func:`tools.execute.run_lab`: the
   lab's folder as working directory, ``SEQLIB_SMOKE`` set for the kernel, kernels over IPC),
   as many labs at a time as there are cores (``--jobs``), longest first, each with its share
   of the cores' threads. A lab is re-executed only when its
   notebook, ``seqlib`` or the requirements changed since its last successful execution
   in the same mode (the key is stored in ``<out>/executed/manifest.json``).
   A failing lab is reported with its cell and error; the other labs still run.
2. Collect per-lab run times and the numbers each lab recorded with
   ``seqlib.page.record`` into ``<out>/results.json`` (raw names) and the "Results at a glance"
   page (:mod:`tools.results_page`), which shows them as ``book/results_catalogue.yml`` says:
   grouped into comparisons, each number with a plain-language label, its unit and what it is
   compared with.
3. Stage the book (config, pages, executed labs at the same relative paths, so launch
   buttons point at the right notebook) in ``<out>/src`` and render it with
   ``jupyter-book build -W -n --keep-going`` (execution off: papermill already ran the
   labs) into ``<out>/html``, with ``timings.json`` beside ``index.html``.
Exit status is non-zero if any lab failed or the rendering reported a warning.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from seqlib.page.results import RESULTS_MIME, collect  # noqa: E402
from tools import reference  # noqa: E402
from tools.course import lab_budget, lab_title, toc_labs  # noqa: E402
from tools.execute import run_lab  # noqa: E402
from tools.results_page import (  # noqa: E402
    CATALOGUE, catalogue_gaps, check_catalogue, load_catalogue, results_page)


def cache_key(lab: Path, smoke: bool) -> str:
    """Hash of everything a lab's executed copy depends on."""
    h = hashlib.sha256(f"smoke={smoke}\n{lab.name}\n".encode())
    h.update(lab.read_bytes())
    for path in [ROOT / "requirements.txt", *sorted((ROOT / "seqlib").rglob("*.py"))]:
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


def execute(lab: Path, out: Path, smoke: bool, timeout: int, limit: float | None = None,
            threads: int | None = None) -> dict:
    """Run one lab with papermill (:func:`tools.execute.run_lab`); return its manifest entry.

    A lab that failed leaves no numbers behind: ``results`` is filled only from a successful run.
    """
    entry = run_lab(lab, out, smoke=smoke, timeout=timeout, limit=limit, threads=threads,
                    env={"SEQLIB_PROGRESS": "terminal"},  # progress bars in the build's terminal
                    log=lambda msg: print(msg, flush=True))
    ok = entry["status"] == "ok" and out.exists()
    entry["results"] = collect(nbformat.read(out, as_version=4)) if ok else {}
    return entry


def already_executed(lab: Path, folder: Path, out: Path) -> dict:
    """The manifest entry of ``lab`` as executed elsewhere (``folder/<lab>.ipynb``, copied to ``out``):
    failed if it is missing or a cell printed an error; its seconds from ``metadata.seqlib.nbval_seconds``."""
    source = folder / lab.name
    if not source.exists():
        return {"status": "failed", "seconds": 0.0, "hangs": 0, "results": {},
                "error": f"{source} does not exist: the lab was not executed there"}
    nb = nbformat.read(source, as_version=4)
    nbformat.write(nb, out)
    errors = [f"cell {i}: {o.get('ename')}: {o.get('evalue')}" for i, c in enumerate(nb.cells)
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    return {"status": "failed" if errors else "ok", "error": errors[0] if errors else None, "hangs": 0,
            "seconds": float(nb.metadata.get("seqlib", {}).get("nbval_seconds", 0.0)),
            "results": {} if errors else collect(nb)}


def failure_notebook(name: str, error: str) -> nbformat.NotebookNode:
    """The page of a lab whose run produced no notebook at all (e.g. its file is not valid JSON)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(
        f"# {name}: this lab failed to run\n\nThe build could not execute this lab, so this page has "
        f"none of its content and no numbers of it were recorded. The error:\n\n```text\n{error}\n```\n")]
    return nb


def schedule(labs: list[Path], previous: dict) -> list[Path]:
    """Longest first: with labs run side by side, starting the long ones early keeps the build's
    wall time close to the longest lab's. A lab's length is its previous run's seconds; a lab
    never run here counts as its budget (reference units, about a minute each), ties going to the
    later day (the later labs are the heavier ones)."""
    def expected(item):
        position, lab = item
        seconds = previous.get(lab.stem, {}).get("seconds")
        return (-(seconds if seconds is not None else 60.0 * lab_budget(lab.stem)), -position)

    return [lab for _, lab in sorted(enumerate(labs), key=expected)]


def lab_units(entries: dict, reference_seconds: float | None) -> None:
    """Add ``units`` (the lab's seconds in reference units) and ``budget`` to each entry, in place.

    A cached lab keeps the units of the run that produced it (its seconds were measured on the
    machine of that run, whose reference time it kept)."""
    for name, e in entries.items():
        ref = e.get("reference_seconds") or reference_seconds
        e["reference_seconds"] = ref
        e["units"] = round(reference.units(e["seconds"], ref), 2) if ref else None
        e["budget"] = lab_budget(name)


def stage(src: Path, executed: dict[str, Path], page: str, toc: Path, failed: dict | None = None) -> None:
    """Lay out the book to render: same relative paths as the repository.

    ``failed`` maps the labs that produced no executed notebook to their error: their page says so."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.copy2(ROOT / "_config.yml", src / "_config.yml")
    shutil.copy2(toc, src / "_toc.yml")
    shutil.copytree(ROOT / "book", src / "book")
    (src / "book" / "results.md").write_text(page)
    (src / "labs").mkdir()
    shutil.copytree(ROOT / "editions", src / "_editions" / "editions")   # the lab pages' buttons open these
    for name, path in executed.items():
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:  # the recorded numbers are collected already; HTML shows their table
            for output in cell.get("outputs", []):
                output.get("data", {}).pop(RESULTS_MIME, None)
        nbformat.write(nb, src / "labs" / f"{name}.ipynb")
    for name, error in (failed or {}).items():
        if name not in executed:
            nbformat.write(failure_notebook(name, error), src / "labs" / f"{name}.ipynb")


def render(src: Path, out: Path) -> int:
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb), "build", str(src), "--path-output", str(out / "render"), "-W", "-n", "--keep-going", "--quiet"]
    print("Rendering:", " ".join(cmd), flush=True)
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in proc.stdout:  # Jupyter Book's own "pages are here" lines name the scratch folder
        if "render/_build/html" not in line and "paste this line directly" not in line:
            print(line, end="", flush=True)
    code = proc.wait()
    html = out / "html"
    if html.exists():
        shutil.rmtree(html)
    built = out / "render" / "_build" / "html"
    if built.exists():
        shutil.move(str(built), str(html))
    return code


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--smoke", action="store_true", help="execute the labs in smoke mode (seconds each)")
    ap.add_argument("--out", type=Path, default=ROOT / "_build", help="output folder (default _build)")
    ap.add_argument("--force", action="store_true", help="re-execute every lab, ignoring the cache")
    ap.add_argument("--timeout", type=int, default=None,
                    help="per-cell timeout in seconds (default 900 in full mode, 300 in smoke mode)")
    ap.add_argument("--jobs", type=int, default=None,
                    help="labs executed at the same time (default: the number of CPU cores)")
    ap.add_argument("--toc", type=Path, default=ROOT / "_toc.yml", help="table of contents (default _toc.yml)")
    ap.add_argument("--executed-from", type=Path, default=None, metavar="FOLDER",
                    help="render the labs as already executed in FOLDER (<lab>.ipynb, e.g. nbval's runs in "
                         "make test) instead of executing them")
    args = ap.parse_args(argv)
    out: Path = args.out.resolve()
    mode = "smoke" if args.smoke else "full"
    timeout = args.timeout or (300 if args.smoke else 900)
    cores = os.cpu_count() or 1
    jobs = max(1, args.jobs or cores)
    exec_dir = out / "executed"
    exec_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = exec_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}

    labs = toc_labs(args.toc.resolve())
    missing = [str(p) for p in labs if not p.exists()]
    if missing:
        print(f"_toc.yml lists labs that do not exist: {', '.join(missing)}", file=sys.stderr)
        return 2
    catalogue = load_catalogue()
    problems = check_catalogue(catalogue)
    if problems:  # before hours of lab execution
        print(f"{CATALOGUE.relative_to(ROOT)} is malformed:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2

    total_start = time.perf_counter()
    entries: dict[str, dict] = {}
    todo: list[Path] = []
    for lab in labs:
        name = lab.stem
        target = exec_dir / f"{name}.ipynb"
        old = manifest.get(name)
        if not args.force and old and old["key"] == cache_key(lab, args.smoke) and old["status"] == "ok" \
                and target.exists():
            print(f"{name}: unchanged since its last run ({old['seconds']:.1f} s), not re-executed", flush=True)
            entries[name] = dict(old, cached=True)
        else:
            todo.append(lab)

    machine = reference.machine()
    # Labs side by side, each with its share of the cores (a lab alone gets them all).
    side = min(jobs, max(len(todo), 1))
    threads = max(1, cores // side)
    ref = None
    if todo and args.executed_from:
        print(f"Labs as executed in {args.executed_from} (not executed here: no units)", flush=True)
    elif todo and args.smoke:  # budgets are for full runs: a smoke run's units would mean nothing
        print("Smoke mode: lab times in seconds only (reference units are for full runs)", flush=True)
    elif todo:  # the machine's speed now, before the labs load it, timed as the labs will run
        ref = reference_seconds_or_none(side)
        if ref:
            print(f"Reference workload: {ref:.2f} s on this machine ({machine['cpu']}, {machine['cores']} cores, "
                  f"{machine['isa']}; {side} side by side, as the labs run): "
                  f"one reference unit = {reference.minutes_per_unit(ref):.2f} min here", flush=True)
    exec_start = time.perf_counter()

    def run(lab: Path) -> tuple[str, dict]:
        name = lab.stem
        print(f"{name}: executing ({mode} mode, {threads} thread{'s' * (threads > 1)}) ...", flush=True)
        key = cache_key(lab, args.smoke)
        if args.executed_from:
            entry = dict(already_executed(lab, args.executed_from, exec_dir / f"{name}.ipynb"), key=key,
                         cached=False, executed_at=dt.datetime.now().isoformat(timespec="seconds"))
            print(f"{name}: {entry['status']}, taken from {args.executed_from}", flush=True)
            return name, entry
        entry = dict(execute(lab, exec_dir / f"{name}.ipynb", args.smoke, timeout, threads=threads),
                     key=key, cached=False, executed_at=dt.datetime.now().isoformat(timespec="seconds"),
                     reference_seconds=ref, threads=threads)
        if entry["status"] == "ok":
            print(f"{name}: ok in {entry['seconds']:.1f} s", flush=True)
        else:
            print(f"{name}: FAILED after {entry['seconds']:.1f} s in {lab.name}: {entry['error']}", flush=True)
        return name, entry

    with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
        for name, entry in pool.map(run, schedule(todo, manifest)):
            entries[name] = entry
            manifest[name] = {k: v for k, v in entry.items() if k != "cached"}
            manifest_path.write_text(json.dumps(manifest, indent=2))
    exec_wall = time.perf_counter() - exec_start
    if ref and not args.smoke:  # and after them: a shared machine's speed drifts during a long build
        ref = settle_reference(ref, reference_seconds_or_none(side))
        for name, entry in entries.items():
            if not entry["cached"]:
                entry["reference_seconds"] = manifest[name]["reference_seconds"] = ref
        manifest_path.write_text(json.dumps(manifest, indent=2))
    entries = {lab.stem: entries[lab.stem] for lab in labs}  # book order
    lab_units(entries, ref)
    ran = [e for e in entries.values() if not e["cached"]]
    wall = {"seconds": round(exec_wall, 1), "sum_seconds": round(sum(e["seconds"] for e in ran), 1),
            "jobs": min(jobs, max(len(todo), 1))} if ran and not args.executed_from else None

    executed = {n: exec_dir / f"{n}.ipynb" for n in entries if (exec_dir / f"{n}.ipynb").exists()}
    failed = {n: e["error"] or "unknown error" for n, e in entries.items() if e["status"] != "ok"}
    page = results_page(entries, mode, machine, wall, catalogue, {lab.stem: lab_title(lab) for lab in labs})
    for name, keys in (catalogue_gaps(entries, catalogue) if not args.smoke else {}).items():  # smoke runs less
        print(f"{name}: the results catalogue names keys this lab did not record (left out of the results "
              f"page): {', '.join(keys)}", flush=True)
    keys = ("status", "seconds", "units", "budget", "cached", "executed_at", "hangs", "results", "error")
    summary = {
        "mode": mode,
        "built_at": dt.datetime.now().isoformat(timespec="seconds"),
        "cpu_count": cores,
        "machine": machine,
        "reference_seconds": ref,
        "reference_conditions": {"side_by_side": side, "threads": 1} if ref else None,
        "execution": wall,
        "labs": {n: {k: e[k] for k in keys if k in e} for n, e in entries.items()},
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))

    stage(out / "src", executed, page, args.toc, failed)
    code = render(out / "src", out)
    html = out / "html"
    if html.exists():
        timings = {n: {k: e.get(k) for k in ("status", "seconds", "units", "budget", "cached", "hangs")}
                   for n, e in entries.items()}
        shutil.copy2(out / "results.json", html / "results.json")   # instructors compare theirs with it
        (html / "timings.json").write_text(json.dumps(
            {"mode": mode, "machine": machine, "reference_seconds": ref, "execution": wall, "labs": timings},
            indent=2))

    print(table(entries, machine, ref, wall, time.perf_counter() - total_start))
    print(f"(results in {out / 'results.json'})")
    over = [n for n, e in entries.items() if e.get("units") is not None and e["units"] > e["budget"]]
    if over and not args.smoke:
        print(f"\nOver budget (reference units): {', '.join(over)}", file=sys.stderr)
    hung = [n for n, e in entries.items() if e.get("hangs")]
    if hung:
        print(f"\nWARNING: the hang guard stopped {', '.join(hung)} (see above); this should not happen",
              file=sys.stderr)
    if failed:
        print(f"\nFAILED labs: {', '.join(failed)} (the error is shown above and in the rendered page)",
              file=sys.stderr)
    if code != 0:
        print(f"\njupyter-book reported warnings or errors (exit {code}): see the log above", file=sys.stderr)
    if failed or code != 0:
        return 1
    print(f"\nThe book is ready: {html / 'index.html'}")
    return 0


def settle_reference(before: float, after: float | None, drift: float = 0.15) -> float:
    """The reference time for this build's units: the mean of the runs before and after the labs
    (``before`` alone if the second could not run). Says so when the two differ by more than
    ``drift``: the machine's speed changed during the build, and the units are that uncertain."""
    if not after:
        return before
    ref = (before + after) / 2
    note = ""
    if abs(after - before) > drift * min(before, after):
        note = (f"; they differ by {abs(after - before) / min(before, after):.0%}: the machine's speed changed "
                "during the build, so the units below are uncertain by about that much")
    print(f"Reference workload: {before:.2f} s before the labs, {after:.2f} s after; units use the mean, "
          f"{ref:.2f} s (1 unit = {reference.minutes_per_unit(ref):.2f} min){note}", flush=True)
    return ref


def reference_seconds_or_none(copies: int = 1, threads: int = 1, repeats: int = 5) -> float | None:
    """The reference workload's time here, ``copies`` side by side on ``threads`` threads each (as the
    labs run); ``None`` (units not shown) if it cannot run."""
    try:
        return reference.side_by_side(copies, threads, repeats)
    except Exception as err:  # noqa: BLE001 - the build goes on without units, and says so
        print(f"(reference workload failed, lab times in seconds only: {type(err).__name__}: {err})", flush=True)
        return None


def table(entries: dict, machine: dict, ref: float | None, wall: dict | None, total: float) -> str:
    """The build's closing table: per lab seconds, reference units, budget, how it ran."""
    width = max([len(n) for n in entries] + [3])
    lines = ["", f"{'lab':<{width}}  {'status':<7} {'seconds':>8} {'units':>6} {'budget':>6}  note"]
    for n, e in entries.items():
        u = "–" if e.get("units") is None else f"{e['units']:.1f}"
        note = "cached" if e["cached"] else "executed"
        if e.get("units") is not None and e["units"] > e["budget"]:
            note += ", OVER BUDGET"
        if e.get("hangs"):
            note += f", hang guard fired {e['hangs']}x"
        lines.append(f"{n:<{width}}  {e['status']:<7} {e['seconds']:>8.1f} {u:>6} {e['budget']:>6}  {note}")
    lines.append(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['isa']}, torch {machine['torch']}"
                 + (f"; reference workload {ref:.2f} s (1 unit = {reference.minutes_per_unit(ref):.2f} min here)"
                    if ref else ""))
    if wall:
        lines.append(f"labs executed {wall['jobs']} at a time: {wall['seconds']:.1f} s wall for "
                     f"{wall['sum_seconds']:.1f} s of lab time ({wall['seconds'] / max(wall['sum_seconds'], 1e-9):.0%})")
    lines.append(f"build took {total:.1f} s in all")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
