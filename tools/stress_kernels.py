#!/usr/bin/env python
"""Count notebook-execution hangs: run labs many times, several at once, over TCP or IPC kernels.

    python tools/stress_kernels.py --runs 40 --parallel 4 --transport tcp      # tiny notebook
    python tools/stress_kernels.py --runs 20 --parallel 2 --labs               # the labs, smoke mode
    python tools/stress_kernels.py --runs 200 --parallel 4 --widget --limit 40 # one ipywidgets cell

The widget notebook reproduced the build's hang in a few minutes: 4, 5 and 8 of 200 executions
hung (IPC transport, 4 at a time; ipykernel 7.4.0 and 6.29.5), always in its ``slider_plot``
cell, while 150 executions of the plain tiny notebook never did. The cause: a missed wake-up of
the client's shell-socket poll while nbclient sends an ``Output`` widget's state on that socket
(see ``tools.execute._kernel_manager``). With the patient channels: 0 of 200.

A run that has no result after ``--limit`` seconds counts as a hang (the hang guard of
:func:`tools.execute.run_lab` is set to one attempt, so every hang is counted, not retried).
Prints the counts; exit status 1 if any run hung or failed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import nbformat  # noqa: E402

from tools import execute  # noqa: E402
from tools.course import toc_labs  # noqa: E402


def tiny_notebook(folder: Path) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (
        "import os, time\nx = sum(range(10_000))", "print(x)", "time.sleep(0.1)\nx")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "tiny.ipynb"
    nbformat.write(nb, path)
    return path


def widget_notebook(folder: Path) -> Path:
    """Three cells like a lab's last one: a figure function and a ``seqlib.page.slider_plot``."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (
        "import matplotlib.pyplot as plt\nfrom seqlib.page import slider_plot",
        "def draw(a=0.5):\n    fig, ax = plt.subplots(figsize=(2, 2))\n    ax.plot([0, a])\n    plt.show()",
        "slider_plot(draw, a=(0.0, 1.0, 0.1, 0.5))")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "widget.ipynb"
    nbformat.write(nb, path)
    return path


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--parallel", type=int, default=2)
    ap.add_argument("--transport", choices=("ipc", "tcp"), default="ipc")
    kind = ap.add_mutually_exclusive_group()
    kind.add_argument("--labs", action="store_true", help="execute every lab (smoke mode) in each run")
    kind.add_argument("--widget", action="store_true", help="execute a small notebook whose last cell is a widget")
    ap.add_argument("--limit", type=float, default=240.0, help="seconds after which a run counts as hung")
    args = ap.parse_args(argv)
    execute.ATTEMPTS = 1
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        notebooks = toc_labs() if args.labs else [widget_notebook(tmp) if args.widget else tiny_notebook(tmp)]
        jobs = [(k, nb) for k in range(args.runs) for nb in notebooks]

        def one(job):
            k, nb = job
            return execute.run_lab(nb, tmp / f"{nb.stem}-{k}.out.ipynb", smoke=True, timeout=300,
                                   limit=args.limit, transport=args.transport, env={"TQDM_DISABLE": "1"},
                                   threads=1, log=lambda msg: print(msg, flush=True))

        start = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(args.parallel) as pool:
            entries = list(pool.map(one, jobs))
    hangs = sum(e["hangs"] for e in entries)
    failed = sum(e["status"] != "ok" and not e["hangs"] for e in entries)
    print(f"{len(entries)} executions ({args.runs} runs x {len(notebooks)} notebooks, {args.parallel} at a time, "
          f"{args.transport}): {hangs} hung, {failed} failed otherwise, {time.perf_counter() - start:.0f} s")
    return 1 if hangs or failed else 0


if __name__ == "__main__":
    sys.exit(main())
