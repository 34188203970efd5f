#!/usr/bin/env python
"""Recorded long runs: the course's long configurations, run through its command lines, each written
with its provenance to ``seqlib/records/<name>.json`` (package data: a lab reads its records from the
installed package too, with :func:`seqlib.page.recorded`).

    python tools/long_runs.py --list                     # the runs, with their commands
    python tools/long_runs.py day07_copy_lstm_memory     # run one (or several) and write its record
    make long-runs NAMES="day07_copy_lstm_memory"        # the same

A record holds: the command, the commit (``-dirty`` when the tree had changes), the date, the
machine (CPU, cores, instruction set, GPU, torch), the seconds and the reference units the run took,
the seed, and every result. The labs quote a long run only through its record; a test checks the
form of every record and that each name a lab quotes has one.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RECORDS = ROOT / "seqlib" / "records"

# name -> (lab, what it measures, the command's arguments after `python -m`, how to read its results:
# "record" a results file the command writes, "summary" a copy-task run folder, "lab" what a lab
# executed by papermill recorded with seqlib.page.record)
RUNS = {
    "day09_translation_attention": (
        "day09_seq2seq_attention", "Multi30k German to English, additive attention, 4 epochs at 256 units",
        ["seqlib.translation", "--attention", "additive", "--num-epochs", "4", "--seed", "0", "--record", "{out}"],
        "record"),
    "day09_translation_no_attention": (
        "day09_seq2seq_attention", "the same without attention (the fixed summary only)",
        ["seqlib.translation", "--attention", "none", "--num-epochs", "4", "--seed", "0", "--record", "{out}"],
        "record"),
    "day09_translation_input_feeding": (
        "day09_seq2seq_attention", "the same with attention and input feeding (each step's attentional vector fed "
        "into the next step's input)",
        ["seqlib.translation", "--attention", "additive", "--input-feeding", "--num-epochs", "4", "--seed", "0",
         "--record", "{out}"], "record"),
    "day07_copy_lstm_memory": (
        "day07_copy_task", "copy task, LSTM with 128 units trained at L = O = 20 (63 bits: 0.5 bits per unit), "
        "30 epochs of 8,000 sequences, tested at L = 40",
        ["seqlib.copy_task", "-c", "lstm", "-iseq", "20", "-oseq", "20", "-tseq", "40", "-toseq", "20", "-p", "2",
         "-ep", "30", "-lr", "0.003", "-trs", "8000", "-ts", "1000", "-s", "0", "-l", "{folder}"], "summary"),
    "day06_char_lstm_long": (
        "day06_text_generation", "the lab itself with 40 rounds of training instead of 12 (6,000 updates, about "
        "six passes over the text) for every character model, the LSTM with its first seed",
        ["papermill", "labs/day06_text_generation.ipynb", "{notebook}", "-p", "NUM_ROUNDS", "40",
         "-y", "LSTM_SEEDS: [0]", "--cwd", "labs", "--no-progress-bar"], "lab"),
    **{f"day06_tuning_lr_{size}": (
        "day06_text_generation", f"the lab with TUNING = True (trained on the first 90% of the training text, "
        f"scored on its last tenth), every character model at learning rate {lr:g}, the LSTM with its first seed",
        ["papermill", "labs/day06_text_generation.ipynb", "{notebook}", "-p", "TUNING", "True",
         # {{ }}: what the .format of each argument turns into { }
         "-y", f"LR: {{{{lstm: {lr}, rnn: {lr}, gru: {lr}}}}}", "-y", "LSTM_SEEDS: [0]", "--cwd", "labs",
         "--no-progress-bar"], "lab") for size, lr in (("low", 0.004), ("high", 0.008))},
    "day07_copy_lstm_assignment": (
        "day07_copy_task", "the assignment's scale: LSTM trained at L = 100, O = 50, tested at L = 500",
        ["seqlib.copy_task", "-c", "lstm", "-iseq", "100", "-tseq", "500", "-oseq", "50", "-toseq", "50",
         "-ep", "10", "-lr", "0.001", "-s", "0", "-l", "{folder}"], "summary"),
}


def commit() -> str:
    def git(*args):
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    sha = git("rev-parse", "HEAD") or "unknown"
    return sha + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")


def machine() -> dict:
    from tools.reference import machine as cpu

    import torch

    gpu = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None
    return {**cpu(), "gpu": gpu}


def threads() -> int:
    """The threads a run's matrix products may use: ``OMP_NUM_THREADS`` where set, else every core."""
    return int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count() or 1)


def run(name: str, log=print) -> dict:
    """Run one long configuration and write its record; return the record."""
    from tools.reference import reference_seconds, units

    lab, what, argv, kind = RUNS[name]
    with tempfile.TemporaryDirectory(prefix=f"seqlib-{name}-") as tmp:
        out, folder, notebook = Path(tmp) / "results.json", Path(tmp) / "run", Path(tmp) / f"{name}.ipynb"
        args = [a.format(out=out, folder=folder, notebook=notebook) for a in argv]
        shown = ["python", "-m", *(a.format(out="results.json", folder=name, notebook=f"{name}.ipynb")
                                   for a in argv)]
        log(f"{name}: {shlex.join(shown)}")
        at = commit()  # the code that runs: read before, as the tree may change while it runs
        ref = reference_seconds(repeats=3)
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", *args], cwd=ROOT, check=True,
                       env={**os.environ, "TQDM_DISABLE": os.environ.get("TQDM_DISABLE", "1"), "SEQLIB_SMOKE": "0"})
        seconds = time.perf_counter() - start
        results = (json.loads(out.read_text()) if kind == "record" else _lab_results(notebook) if kind == "lab"
                   else _summary(folder / "summary.json"))
    record = {"name": name, "lab": lab, "what": what, "command": shlex.join(shown), "commit": at,
              "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": machine(), "threads": threads(), "seconds": round(seconds, 1), "reference_seconds": round(ref, 3),
              "units": round(units(seconds, ref), 2), "seed": 0, "results": results}
    RECORDS.mkdir(exist_ok=True)
    (RECORDS / f"{name}.json").write_text(json.dumps(record, indent=1) + "\n")
    log(f"{name}: {seconds:.0f} s ({record['units']} units) -> seqlib/records/{name}.json")
    return record


def _lab_results(path: Path) -> dict:
    """What an executed lab recorded (``seqlib.page.record``), as the build collects it."""
    import nbformat

    from seqlib.page.results import collect

    return collect(nbformat.read(path, as_version=4))


def _summary(path: Path) -> dict:
    """The results of a copy-task run folder's summary.json."""
    summary = json.loads(path.read_text())
    L, P, O = summary["train_lengths"]
    config, history = summary["config"], summary.get("history", {})
    return {"train_lengths": [L, P, O], "num_params": summary["num_params"], "num_hiddens": config["num_hiddens"],
            "epochs": config["num_epochs"], "lr": config["lr"],
            "updates": config["num_epochs"] * math.ceil(config["train_samples"] / config["batch_size"]),
            **{f"test_{k}": v for k, v in summary["test"].items() if isinstance(v, (int, float))},
            "test_seq_len": config["test_seq_len"],
            **({"train_copy_acc_last_epoch": history["train_copy_acc"][-1]}
               if history.get("train_copy_acc") else {})}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="runs to make (see --list)")
    ap.add_argument("--list", action="store_true", help="list the runs and their commands")
    args = ap.parse_args(argv)
    unknown = [n for n in args.names if n not in RUNS]
    if unknown or not (args.names or args.list):
        ap.error(f"name one or more runs of: {', '.join(RUNS)}" + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    if args.list:
        for name, (lab, what, argv_, _) in RUNS.items():
            state = "recorded" if (RECORDS / f"{name}.json").exists() else "not recorded yet"
            print(f"{name} ({lab}, {state}): {what}\n    python -m {' '.join(argv_)}")
        return 0
    for name in args.names:
        run(name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
