#!/usr/bin/env python
"""How long each lab takes a student, and how well its reference units predicted it.

    python -m tools.student_times --build _build/results.json                # every lab
    python -m tools.student_times --build _build/results.json --labs day06_text_generation
    python -m tools.student_times --build _build/results.json --out times.json

Each lab runs **alone, as a student runs it**: papermill, full mode, one kernel, every core (no thread
limit), nothing else running. The reference workload is timed as ``make calibrate`` times it, alone, on
one thread and on every core, before the labs and after them. For each lab the table shows the student's
seconds, the build's seconds and units (from the build's ``results.json``: two labs side by side, one
thread each), the seconds the units predict here (units x minutes per unit x 60, the minutes per unit of
the reference run as the lab runs: on one thread if it calls ``torch.set_num_threads(1)``, else on every
core) and the error of that prediction, ``predicted / measured - 1``. Keep the machine quiet while it
runs: it is a timing.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from seqlib import cli  # noqa: E402
from tools import reference  # noqa: E402
from tools.course import lab_threads, toc_labs  # noqa: E402
from tools.execute import run_lab  # noqa: E402

OPTIONS = [  # (flags, default, rule, help): seqlib.cli's one style
    ("--build", None, cli.TEXT, "the build's results.json (make book writes _build/results.json)"),
    ("--labs", None, cli.TEXT, "comma-separated lab names (default: every lab of _toc.yml)"),
    ("--out", None, cli.TEXT, "also write the rows as JSON to this file"),
    ("--timeout", 1800, cli.POSITIVE, "seconds one cell may run"),
]


def _check(args) -> None:
    build = Path(args.build) if args.build else None
    if build is None or not build.is_file():
        raise cli.Refused("build", f"needs a build's results.json, got {args.build!r} (run make book first)")
    try:
        labs = json.loads(build.read_text())["labs"]
    except (ValueError, KeyError) as err:
        raise cli.Refused("build", f"{build} is not a build's results.json ({type(err).__name__}: {err})")
    known = [lab.stem for lab in toc_labs(ROOT / "_toc.yml")]
    names = known if args.labs is None else [n.strip() for n in args.labs.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise cli.Refused("labs", f"unknown lab {unknown[0]!r}; the labs are {', '.join(known)}")
    missing = [n for n in names if labs.get(n, {}).get("units") is None]
    if missing:
        raise cli.Refused("build", f"{build} has no units for {', '.join(missing)} (a full build's results.json)")
    args.build_labs, args.names = labs, names


def rows(names, build_labs, reference_seconds: dict, student_seconds: dict, threads: dict) -> list[dict]:
    """One row per lab: measured, build and predicted seconds, units and the prediction's error;
    ``reference_seconds`` and ``threads`` by lab kind, ``"one"`` or ``"all"`` (every core)."""
    out = []
    for name in names:
        units = build_labs[name]["units"]
        predicted = units * reference.minutes_per_unit(reference_seconds[threads[name]]) * 60
        measured = student_seconds[name]
        out.append({"lab": name, "threads": threads[name], "student_seconds": round(measured, 1),
                    "build_seconds": build_labs[name]["seconds"], "units": units,
                    "predicted_seconds": round(predicted, 1), "error": round(predicted / measured - 1, 3)})
    return out


def table(rows_: list[dict], reference_seconds: dict) -> str:
    lines = [f"{'lab':<28} {'threads':>7} {'student s':>9} {'build s':>8} {'units':>6} {'predicted s':>11} "
             f"{'error':>7}"]
    for r in rows_:
        lines.append(f"{r['lab']:<28} {r['threads']:>7} {r['student_seconds']:>9.1f} {r['build_seconds']:>8.1f} "
                     f"{r['units']:>6.2f} {r['predicted_seconds']:>11.1f} {r['error']:>+7.0%}")
    worst = max(rows_, key=lambda r: abs(r["error"]))
    lines.append("\nReference workload alone (make calibrate): " + ", ".join(
        f"{kind} thread{'s' * (kind == 'all')} {sec:.2f} s (1 unit = {reference.minutes_per_unit(sec):.2f} min)"
        for kind, sec in reference_seconds.items()) + f"; largest error {worst['error']:+.0%} ({worst['lab']})")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = cli.parse("python -m tools.student_times", "How long each lab takes a student, against its units.",
                     OPTIONS, argv, check=_check)
    def references() -> dict:
        return {"one": reference.reference_seconds(), "all": reference.reference_seconds(threads=None)}

    before = references()
    print(f"Reference workload alone: {before}", flush=True)
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="seqlib-student-") as folder:
        for name in args.names:
            lab = ROOT / "labs" / f"{name}.ipynb"
            entry = run_lab(lab, Path(folder) / lab.name, smoke=False, timeout=args.timeout, threads=None,
                            log=lambda msg: print(msg, flush=True))
            if entry["status"] != "ok":
                print(f"{name}: FAILED: {entry['error']}", file=sys.stderr)
                return 1
            seconds[name] = entry["seconds"]  # as the build counts a lab's time
            print(f"{name}: {seconds[name]:.1f} s alone", flush=True)
    after = references()
    ref = {kind: statistics.fmean([before[kind], after[kind]]) for kind in before}
    print(f"Reference workload alone: {before} before the labs, {after} after", flush=True)
    result = rows(args.names, args.build_labs, ref, seconds, {name: lab_threads(name) for name in args.names})
    print(table(result, ref))
    if args.out:
        Path(args.out).write_text(json.dumps({"machine": reference.machine(), "reference_seconds": ref,
                                              "reference_before_after": [before, after], "labs": result},
                                             indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
