#!/usr/bin/env python
"""Execute the labs with papermill and render the book with Jupyter Book 1.

    python tools/build.py                 # full mode, output in _build/
    python tools/build.py --smoke --out _build/smoke
    python tools/build.py --force         # re-execute every lab

Steps:
1. Execute every lab listed in ``_toc.yml`` with papermill (the lab's folder as working
   directory, ``SEQLIB_SMOKE`` set for the kernel). A lab is re-executed only when its
   notebook, ``seqlib`` or the requirements changed since its last successful execution
   in the same mode (the key is stored in ``<out>/executed/manifest.json``).
   A failing lab is reported with its cell and error; the other labs still run.
2. Collect per-lab run times and the numbers each lab recorded with
   ``seqlib.results.record`` into ``<out>/results.json`` and the "Results at a glance" page.
3. Stage the book (config, pages, executed labs at the same relative paths, so launch
   buttons point at the right notebook) in ``<out>/src`` and render it with
   ``jupyter-book build -W -n --keep-going`` (execution off: papermill already ran the
   labs) into ``<out>/html``, with ``timings.json`` beside ``index.html``.
Exit status is non-zero if any lab failed or the rendering reported a warning.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import multiprocessing
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402
import papermill  # noqa: E402

from seqlib.results import RESULTS_MIME, collect  # noqa: E402
from tools.course import toc_labs  # noqa: E402

KERNEL = "python3"


def cache_key(lab: Path, smoke: bool) -> str:
    """Hash of everything a lab's executed copy depends on."""
    h = hashlib.sha256(f"smoke={smoke}\n{lab.name}\n".encode())
    h.update(lab.read_bytes())
    for path in [ROOT / "requirements.txt", *sorted((ROOT / "seqlib").rglob("*.py"))]:
        h.update(str(path.relative_to(ROOT)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


# A whole lab may take at most this long (seconds) before it counts as hung. Rarely, papermill's
# client and an idle kernel both wait for a message neither will send; the per-cell timeout does
# not end that wait, so each lab runs in a child process that is stopped and started again.
LAB_LIMIT = {True: 240, False: 3600}  # smoke labs take well under a minute, full ones minutes
ATTEMPTS = 2


def execute(lab: Path, out: Path, smoke: bool, timeout: int, limit: float | None = None) -> dict:
    """Run one lab with papermill; return its manifest entry.

    The run happens in a child process; one that is still running after ``limit`` seconds
    (default ``LAB_LIMIT[smoke]``) is stopped and the lab run once more (``ATTEMPTS`` in all).
    """
    limit = limit or LAB_LIMIT[smoke]
    start = time.perf_counter()
    context = multiprocessing.get_context("fork")
    for attempt in range(1, ATTEMPTS + 1):
        queue = context.Queue()
        child = context.Process(target=_execute_in_child, args=(lab, out, smoke, timeout, queue))
        child.start()
        child.join(limit)
        if child.is_alive():  # hung: the kernel dies with its parent (ipykernel's parent poller)
            child.kill()
            child.join()
            entry = {"status": "failed", "error": f"no result after {limit:.0f} s (attempt {attempt} of "
                                                  f"{ATTEMPTS}): the notebook client or kernel hung"}
            print(f"    {lab.stem}: {entry['error']}", flush=True)
            continue
        entry = queue.get() if not queue.empty() else {
            "status": "failed", "error": f"the papermill process ended with exit code {child.exitcode}"}
        break
    entry["seconds"] = round(time.perf_counter() - start, 1)
    entry["results"] = collect(nbformat.read(out, as_version=4)) if out.exists() else {}
    return entry


def _execute_in_child(lab: Path, out: Path, smoke: bool, timeout: int, queue) -> None:
    """Body of :func:`execute`, in the child process: papermill, then the entry into ``queue``."""
    # Progress bars of the labs' training loops go to this terminal, not into the book.
    os.environ.update({"SEQLIB_SMOKE": "1" if smoke else "0", "SEQLIB_PROGRESS": "terminal"})
    entry = {"status": "ok", "error": None}
    try:
        papermill.execute_notebook(
            str(lab), str(out), cwd=str(lab.parent), kernel_name=KERNEL,
            progress_bar=False, execution_timeout=timeout, log_output=False,
        )
    except papermill.PapermillExecutionError as err:
        source = err.source if isinstance(err.source, str) else "".join(err.source)
        first = "\n".join("      | " + line for line in source.splitlines()[:6])
        entry = {"status": "failed",
                 "error": f"cell {err.cell_index} (execution count {err.exec_count}): "
                          f"{err.ename}: {err.evalue}\n{first}"}
    except Exception as err:  # kernel died, timeout, unreadable notebook
        entry = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
    queue.put(entry)


def results_page(labs: dict, mode: str) -> str:
    """Markdown of the "Results at a glance" page."""
    lines = [
        "# Results at a glance", "",
        f"Every lab of this book was executed in **{mode} mode** when the book was built "
        f"({dt.date.today().isoformat()}, {os.cpu_count()} CPU cores). The numbers below are the ones "
        "each lab recorded while it ran; `make book` writes the same data to `_build/results.json`, "
        "so you can compare your own run with this one. Run times depend on the CPU; "
        "perplexities and accuracies should agree to within a few percent.", "",
        "## Run time per lab", "",
        "| lab | status | run time (s) |", "|---|---|---|",
    ]
    for name, e in labs.items():
        lines.append(f"| {{doc}}`{name} <../labs/{name}>` | {e['status']} | {e['seconds']:.1f} |")
    for name, e in labs.items():
        if e["results"]:
            lines += ["", f"## {name}", "", "| result | value |", "|---|---|"]
            for k, v in e["results"].items():
                shown = f"{v:.4g}" if isinstance(v, float) else str(v)
                lines.append(f"| `{k}` | {shown} |")
    return "\n".join(lines) + "\n"


def stage(src: Path, executed: dict[str, Path], page: str, toc: Path) -> None:
    """Lay out the book to render: same relative paths as the repository."""
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.copy2(ROOT / "_config.yml", src / "_config.yml")
    shutil.copy2(toc, src / "_toc.yml")
    shutil.copytree(ROOT / "book", src / "book")
    (src / "book" / "results.md").write_text(page)
    (src / "labs").mkdir()
    for name, path in executed.items():
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:  # the recorded numbers are collected already; HTML shows their table
            for output in cell.get("outputs", []):
                output.get("data", {}).pop(RESULTS_MIME, None)
        nbformat.write(nb, src / "labs" / f"{name}.ipynb")


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
    ap.add_argument("--toc", type=Path, default=ROOT / "_toc.yml", help="table of contents (default _toc.yml)")
    args = ap.parse_args(argv)
    out: Path = args.out.resolve()
    mode = "smoke" if args.smoke else "full"
    timeout = args.timeout or (300 if args.smoke else 900)
    exec_dir = out / "executed"
    exec_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = exec_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}

    labs = toc_labs(args.toc.resolve())
    missing = [str(p) for p in labs if not p.exists()]
    if missing:
        print(f"_toc.yml lists labs that do not exist: {', '.join(missing)}", file=sys.stderr)
        return 2

    total_start = time.perf_counter()
    entries: dict[str, dict] = {}
    executed: dict[str, Path] = {}
    for i, lab in enumerate(labs, 1):
        name = lab.stem
        target = exec_dir / f"{name}.ipynb"
        key = cache_key(lab, args.smoke)
        old = manifest.get(name)
        if not args.force and old and old["key"] == key and old["status"] == "ok" and target.exists():
            print(f"[{i}/{len(labs)}] {name}: unchanged since its last run ({old['seconds']:.1f} s), not re-executed", flush=True)
            entry = dict(old, cached=True)
        else:
            print(f"[{i}/{len(labs)}] {name}: executing ({mode} mode) ...", flush=True)
            entry = dict(execute(lab, target, args.smoke, timeout), key=key, cached=False,
                         executed_at=dt.datetime.now().isoformat(timespec="seconds"))
            if entry["status"] == "ok":
                print(f"    ok in {entry['seconds']:.1f} s", flush=True)
            else:
                print(f"    FAILED after {entry['seconds']:.1f} s in {lab.name}: {entry['error']}", flush=True)
            manifest[name] = {k: v for k, v in entry.items() if k != "cached"}
            manifest_path.write_text(json.dumps(manifest, indent=2))
        entries[name] = entry
        if target.exists():
            executed[name] = target

    page = results_page(entries, mode)
    summary = {
        "mode": mode,
        "built_at": dt.datetime.now().isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "labs": {n: {k: e[k] for k in ("status", "seconds", "cached", "executed_at", "results", "error") if k in e}
                 for n, e in entries.items()},
    }
    (out / "results.json").write_text(json.dumps(summary, indent=2))

    stage(out / "src", executed, page, args.toc)
    code = render(out / "src", out)
    html = out / "html"
    if html.exists():
        timings = {n: {"status": e["status"], "seconds": e["seconds"], "cached": e["cached"]} for n, e in entries.items()}
        (html / "timings.json").write_text(json.dumps({"mode": mode, "labs": timings}, indent=2))

    width = max(len(n) for n in entries) if entries else 4
    print(f"\n{'lab':<{width}}  {'status':<7} {'seconds':>8}  note")
    for n, e in entries.items():
        print(f"{n:<{width}}  {e['status']:<7} {e['seconds']:>8.1f}  {'cached' if e['cached'] else 'executed'}")
    print(f"(build took {time.perf_counter() - total_start:.1f} s; results in {out / 'results.json'})")

    failed = [n for n, e in entries.items() if e["status"] != "ok"]
    if failed:
        print(f"\nFAILED labs: {', '.join(failed)} (the error is shown above and in the rendered page)", file=sys.stderr)
    if code != 0:
        print(f"\njupyter-book reported warnings or errors (exit {code}): see the log above", file=sys.stderr)
    if failed or code != 0:
        return 1
    print(f"\nThe book is ready: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
