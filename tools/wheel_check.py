#!/usr/bin/env python
"""Do the labs run from the package alone, outside the repository, as a student opens them?

    python tools/wheel_check.py                      # every lab's students' edition, unfilled
    python tools/wheel_check.py day08_sequence_labelling day09_seq2seq_attention
    python tools/wheel_check.py --edition master     # the masters (solutions in) instead
    make wheel-check                                 # the same, with one job per core

1. builds ``seqlib``'s wheel (``pip wheel --no-deps``, from a copy of its sources: nothing is written
   into the repository);
2. makes a fresh virtual environment and installs the wheel alone, with what a notebook needs to
   run (``ipykernel``, ``nbclient``): only the dependencies the wheel declares come with it (at the
   versions of ``requirements.txt``, as constraints: an unpinned torch would pull CUDA);
3. copies each lab (by default its students' edition, ``editions/student/``: the exercises unfilled,
   their stubs raising ``NotImplementedError``) into an empty folder of its own, outside the
   repository, and runs it there top to bottom in that environment, in smoke mode (the data from
   ``SEQLIB_DATA_DIR`` when set).

A lab that imports a package the wheel does not declare stops at ``ModuleNotFoundError``: it fails
here, by name, with its failing cell. Prints one line per lab and the seconds of each step; exits 1
if any lab failed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

RUN = """
import sys, nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
nb = nbformat.read(sys.argv[1], as_version=4)
try:
    NotebookClient(nb, timeout=int(sys.argv[2]), kernel_name="python3").execute()
except CellExecutionError as e:
    print(str(e)[-1500:], file=sys.stderr)
    sys.exit(1)
"""


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def build_environment(work: Path, log=print) -> Path:
    """Build the wheel and install it alone into a fresh environment under ``work``; its python."""
    start = time.perf_counter()
    source = work / "source"   # a copy of what the wheel is made of: pip's build leaves build/ in the tree
    shutil.copytree(ROOT / "seqlib", source / "seqlib", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", str(work / "dist"), str(source)])
    wheel = next((work / "dist").glob("seqlib-*.whl"))
    constraints = work / "constraints.txt"
    constraints.write_text("".join(line + "\n" for line in (ROOT / "requirements.txt").read_text().splitlines()
                                   if line.strip() and not line.lstrip().startswith(("#", "-e"))))
    _run([sys.executable, "-m", "venv", str(work / "env")])
    python = work / "env" / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "--quiet", str(wheel), "ipykernel", "nbclient", "-c", str(constraints)])
    log(f"wheel {wheel.name} installed alone in a fresh environment: {time.perf_counter() - start:.0f} s")
    return python


def run_lab(python: Path, lab: Path, work: Path, timeout: int = 300) -> tuple[str, float, str]:
    """Run ``lab`` in an empty folder of its own with ``python``'s environment: (status, seconds, error)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{lab.stem}-", dir=work))
    shutil.copy(lab, folder / lab.name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER"))}
    env.update({"SEQLIB_SMOKE": "1", "TQDM_DISABLE": "1", "MPLBACKEND": "Agg", "HOME": str(folder),
                "PATH": f"{python.parent}{os.pathsep}{env.get('PATH', '')}"})
    start = time.perf_counter()
    proc = subprocess.run([str(python), "-c", RUN, lab.name, str(timeout)], cwd=folder, env=env,
                          text=True, capture_output=True)
    seconds = time.perf_counter() - start
    return ("ok" if proc.returncode == 0 else "FAILED"), seconds, proc.stderr.strip()[-1500:]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("labs", nargs="*", help="lab names (default: every lab in labs/)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="labs run at the same time")
    ap.add_argument("--edition", choices=("student", "master"), default="student",
                    help="the students' editions, unfilled (default), or the masters in labs/")
    args = ap.parse_args(argv)
    folder = ROOT / "labs" if args.edition == "master" else ROOT / "editions" / "student"
    labs = [folder / f"{name}.ipynb" for name in args.labs] or sorted(folder.glob("*.ipynb"))
    missing = [str(p) for p in labs if not p.exists()]
    if missing:
        ap.error(f"no such lab: {', '.join(missing)}")
    with tempfile.TemporaryDirectory(prefix="seqlib-wheel-") as tmp:
        work = Path(tmp)
        try:
            python = build_environment(work)
        except subprocess.CalledProcessError as e:
            print(f"could not build or install the wheel: {' '.join(map(str, e.cmd[:4]))} ...\n{e.stderr[-1500:]}")
            return 1
        with ThreadPoolExecutor(max(1, args.jobs)) as pool:
            outcomes = list(pool.map(lambda lab: run_lab(python, lab, work), labs))
    failed = 0
    for lab, (status, seconds, error) in zip(labs, outcomes):
        print(f"{lab.stem:28} {status:6} {seconds:6.0f} s")
        if status != "ok":
            failed += 1
            print("   " + error.replace("\n", "\n   "))
    print(f"{len(labs) - failed} of {len(labs)} labs ({args.edition} edition) ran from the wheel alone, "
          "outside the repository")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
