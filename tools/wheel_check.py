#!/usr/bin/env python
"""Do the labs run from the package alone, outside the repository, as a student opens them?

    python tools/wheel_check.py                      # every lab's students' edition, unfilled
    python tools/wheel_check.py day08_sequence_labelling day09_seq2seq_attention
    python tools/wheel_check.py --edition master     # the masters (solutions in) instead
    make wheel-check                                 # the same, with one job per core

1. builds ``seqlib``'s wheel (``pip wheel --no-deps``, from a copy of its sources: nothing is written
   into the repository);
2. makes a fresh virtual environment and installs the wheel alone, with what a notebook needs to
   run (``ipykernel``, ``nbclient``): only the dependencies the wheel declares come with it, at the
   versions this environment was tested with (exact constraints, local builds included: an unpinned
   torch would pull CUDA). uv installs it in seconds, from the sources pip is configured with; where
   uv is missing or fails, pip does (a minute or two);
3. copies each lab (by default its students' edition, ``editions/student/``: the exercises unfilled,
   their stubs raising ``NotImplementedError``) into an empty folder of its own, outside the
   repository, and runs it there top to bottom in that environment, in smoke mode (the data from
   ``SEQLIB_DATA_DIR`` when set).

The labs may write bytecode into the fresh environment (``PYTHONDONTWRITEBYTECODE`` is dropped): the
first lab compiles what it imports, the others reuse it, instead of each compiling torch again.

A lab that imports a package the wheel does not declare stops at ``ModuleNotFoundError``: it fails
here, by name, with its failing cell. Prints one line per lab and the seconds of each step; exits 1
if any lab failed.
"""

from __future__ import annotations

import argparse
import importlib.metadata as metadata
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
finally:
    nbformat.write(nb, sys.argv[3])
"""


def _run(cmd, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw)


def tested_versions() -> list[str]:
    """``name==version`` of every distribution in this environment but seqlib: the versions it was tested
    with, local builds included (``torch==2.13.0+cpu``)."""
    pins = {dist.metadata["Name"].lower(): dist.version for dist in metadata.distributions()}
    pins.pop("seqlib", None)
    return sorted(f"{name}=={version}" for name, version in pins.items())


def pip_sources() -> list[str]:
    """pip's configured sources (indexes, find-links, constraints) as uv's options: uv reads no pip.conf.
    Local folders and ``file://`` addresses that do not exist are left out, as pip ignores them; every
    index is searched for the best version, as pip does (uv stops at the first index with the name)."""
    listed = subprocess.run([sys.executable, "-m", "pip", "config", "list"], text=True, capture_output=True).stdout
    options = {"index-url": "--index-url", "extra-index-url": "--extra-index-url", "find-links": "--find-links",
               "constraint": "--constraint"}
    found = []
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        option = options.get(key.rsplit(".", 1)[-1])
        for item in value.strip("'\"").split() if option else ():
            local = item.removeprefix("file://")
            if item.startswith(("http://", "https://")) or Path(local).exists():
                found += [option, item]
    return found + ["--index-strategy", "unsafe-best-match"]  # pip's way: the best version of every index


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
    constraints.write_text("".join(pin + "\n" for pin in tested_versions()))
    packages = [str(wheel), "ipykernel", "nbclient", "-c", str(constraints)]
    _run([sys.executable, "-m", "venv", str(work / "env")])
    python = work / "env" / "bin" / "python"
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    try:
        if uv is None:
            raise FileNotFoundError("uv is not installed")
        # --native-tls: the system's certificates, as pip uses them (a registry behind a local CA)
        _run([uv, "pip", "install", "--quiet", "--native-tls", "--python", str(python), *pip_sources(), *packages])
        how = "uv"
    except (OSError, subprocess.CalledProcessError) as e:  # pip, slower: it unpacks torch in one thread
        log(f"uv could not install the wheel ({getattr(e, 'stderr', '') or e}".strip()[:300] + "); pip does")
        _run([str(python), "-m", "pip", "install", "--quiet", "--no-compile", *packages])
        how = "pip"
    log(f"wheel {wheel.name} installed alone in a fresh environment with {how}: "
        f"{time.perf_counter() - start:.0f} s")
    return python


def run_lab(python: Path, lab: Path, work: Path, timeout: int = 300) -> tuple[str, float, str, Path]:
    """Run ``lab`` in an empty folder of its own with ``python``'s environment: (status, seconds, error, the
    executed notebook)."""
    folder = Path(tempfile.mkdtemp(prefix=f"{lab.stem}-", dir=work))
    shutil.copy(lab, folder / lab.name)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHONPATH", "VIRTUAL_ENV", "JUPYTER", "PYTHONDONTWRITEBYTECODE"))}
    env.update({"SEQLIB_SMOKE": "1", "TQDM_DISABLE": "1", "MPLBACKEND": "Agg", "HOME": str(folder),
                "PATH": f"{python.parent}{os.pathsep}{env.get('PATH', '')}"})
    executed = folder / f"{lab.stem}.executed.ipynb"
    start = time.perf_counter()
    proc = subprocess.run([str(python), "-c", RUN, lab.name, str(timeout), executed.name], cwd=folder, env=env,
                          text=True, capture_output=True)
    seconds = time.perf_counter() - start
    return ("ok" if proc.returncode == 0 else "FAILED"), seconds, proc.stderr.strip()[-1500:], executed


def run_all(labs: list[Path], work: Path, jobs: int = 1, log=print) -> list[tuple[str, float, str, Path]]:
    """Build the environment under ``work`` and run every lab there, ``jobs`` at a time; one outcome per lab
    (see :func:`run_lab`). Raises ``subprocess.CalledProcessError`` if the wheel cannot be built or installed."""
    python = build_environment(work, log=log)
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        return list(pool.map(lambda lab: run_lab(python, lab, work), labs))


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
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="seqlib-wheel-") as tmp:
        try:
            outcomes = run_all(labs, Path(tmp), args.jobs)
        except subprocess.CalledProcessError as e:
            print(f"could not build or install the wheel: {' '.join(map(str, e.cmd[:4]))} ...\n{e.stderr[-1500:]}")
            return 1
    failed = 0
    for lab, (status, seconds, error, _) in zip(labs, outcomes):
        print(f"{lab.stem:28} {status:6} {seconds:6.0f} s")
        if status != "ok":
            failed += 1
            print("   " + error.replace("\n", "\n   "))
    print(f"{len(labs) - failed} of {len(labs)} labs ({args.edition} edition) ran from the wheel alone, "
          f"outside the repository: {time.perf_counter() - start:.0f} s wall")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
