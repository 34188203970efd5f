"""The course's benchmark: ``make bench`` (``python -m tools.bench [--json]``).

Training throughput of every model form and cell (:mod:`seqlib.bench`, which Day 3 uses on its
page), as a table with the fast/lesson and fast/torch ratios, then the machine's reference time
(:mod:`tools.reference`): how many minutes one of the book's reference units takes here.

    python -m tools.bench                  # table
    python -m tools.bench --json           # one JSON object: {"lesson_rnn": tokens/s, ..., "config": {...}}
    python -m tools.bench --threads 2      # torch.set_num_threads(2) first
"""

from __future__ import annotations

import json
import platform
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from seqlib import cli  # noqa: E402
from seqlib.bench import CELLS, FORMS, VOCAB_SIZE, run  # noqa: E402
from tools import reference  # noqa: E402

OPTIONS = [  # (flags, default, rule, help)
    ("--json", False, bool, "print one JSON object instead of a table"),
    ("--threads", None, cli.POSITIVE, "torch.set_num_threads first (default: torch's own)"),
    ("--batch-size", 32, cli.POSITIVE, "batch size"),
    ("--num-steps", 35, cli.POSITIVE, "time steps per sequence"),
    ("--num-hiddens", 256, cli.POSITIVE, "hidden units"),
    ("--seconds", 1.0, cli.POSITIVE_NUMBER, "length of one timed run per model"),
    ("--repeats", 3, cli.POSITIVE, "timed runs per model; the best counts"),
]


def table(results: dict) -> str:
    """A text table: one row per cell, one column per form, plus the fast/lesson and fast/torch ratios."""
    lines = [f"{'cell':<6}" + "".join(f"{f + ' tok/s':>14}" for f in FORMS) + f"{'fast/lesson':>13}{'fast/torch':>12}"]
    for cell in CELLS:
        if not all(f"{f}_{cell}" in results for f in FORMS):
            continue
        row = [results[f"{f}_{cell}"] for f in FORMS]
        lines.append(f"{cell:<6}" + "".join(f"{v:>14,.0f}" for v in row)
                     + f"{row[1] / row[0]:>12.1f}x{row[1] / row[2]:>11.2f}x")
    if "fast_lstm" in results and "fast_lstm_autograd" in results:
        lines.append(f"\nfast LSTM, backward by autograd instead of by hand: "
                     f"{results['fast_lstm_autograd']:>9,.0f} tok/s "
                     f"(hand-written BPTT: {results['fast_lstm'] / results['fast_lstm_autograd']:.2f}x)")
    if "fast_lstm" in results and "fast_lstm_fresh_pages" in results:
        lines.append(f"fast LSTM, freed memory given back (glibc's default): "
                     f"{results['fast_lstm_fresh_pages']:>9,.0f} tok/s "
                     f"(keeping it: {results['fast_lstm'] / results['fast_lstm_fresh_pages']:.2f}x)")
    if "fast_lstm" in results and "torch_lstm_onednn_off" in results:
        lines.append(f"torch.nn.LSTM with oneDNN switched off:             "
                     f"{results['torch_lstm_onednn_off']:>9,.0f} tok/s "
                     f"(fast/torch: {results['fast_lstm'] / results['torch_lstm_onednn_off']:.2f}x)")
    return "\n".join(lines)


def main(argv=None) -> int:
    args = cli.parse("python -m tools.bench", "Training throughput of every model form and cell.", OPTIONS, argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    log = None if args.json else (lambda msg: print(msg, file=sys.stderr, flush=True))
    results = run(args.batch_size, args.num_steps, args.num_hiddens, args.seconds, args.repeats, log=log)
    ref = reference.reference_seconds()
    if args.json:
        meta = {"batch_size": args.batch_size, "num_steps": args.num_steps, "num_hiddens": args.num_hiddens,
                "vocab_size": VOCAB_SIZE, "threads": torch.get_num_threads(), "torch": torch.__version__,
                "reference_seconds": ref, "minutes_per_unit": reference.minutes_per_unit(ref),
                "machine": reference.machine()}
        print(json.dumps({**results, "config": meta}))
    else:
        print(f"Training throughput, tokens/second (forward + backward + SGD update), CPU, "
              f"{torch.get_num_threads()} threads, torch {torch.__version__}, {platform.machine()}\n"
              f"batch {args.batch_size} x {args.num_steps} steps, {args.num_hiddens} hidden units, "
              f"vocabulary {VOCAB_SIZE}; best of {args.repeats} runs of {args.seconds:g} s\n")
        print(table(results))
        print(f"\nMachine: {reference.describe(ref)}.\nA lab's cost in the book is in reference units: "
              f"multiply it by {reference.minutes_per_unit(ref):.2f} for minutes on this machine.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
