"""Training throughput of the course's language models: ``python -m seqlib.bench [--json]``.

Measures tokens per second of one training step (forward, backward, SGD update) on the
CPU, for the lesson-form scratch models, the fast scratch models and the ``torch.nn``
models, each with the RNN, LSTM and GRU cell: batch 32, 35 steps, 256 hidden units, the
Time Machine character vocabulary (28 tokens). Inputs are random token indices (the speed
does not depend on the text). Each figure is the best of ``--repeats`` timed runs of
``--seconds`` seconds, which filters out most of the noise of a shared machine; still, read
the numbers as a benchmark of *this* machine at *this* moment, not as constants.

Two reference measurements of the LSTM explain where its speed comes from:
``fast_lstm_autograd`` is the fast form with autograd's backward instead of the hand-written
one (``RNNLMFast(..., manual_bptt=False)``), and ``torch_lstm_onednn_off`` is ``torch.nn.LSTM``
with oneDNN switched off (``torch.backends.mkldnn.flags(enabled=False)``): on a CPU,
``torch.nn.LSTM`` otherwise runs oneDNN's fused LSTM kernel.

    python -m seqlib.bench                  # table
    python -m seqlib.bench --json           # one JSON object: {"lesson_rnn": tokens/s, ...}
    python -m seqlib.bench --threads 2      # torch.set_num_threads(2) first

It ends with the machine's reference time (:mod:`seqlib.reference`): how many minutes one of
the book's reference units (a lab's cost) takes on this machine.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import sys
import time
import warnings

import torch
import torch.nn.functional as nnf

from seqlib import reference
from seqlib.lm import RNNLMFast, concise_model, lesson_model

FORMS = ("lesson", "fast", "torch")
CELLS = ("rnn", "lstm", "gru")
VOCAB_SIZE = 28  # len(Vocab) of the Time Machine's characters: <unk>, space, a-z


def make_model(form: str, cell: str, vocab_size: int = VOCAB_SIZE, num_hiddens: int = 256):
    """The model of ``form`` in ``{"lesson", "fast", "torch"}`` for ``cell`` in ``{"rnn", "lstm", "gru"}``.

    ``"fast_autograd"``: the fast form with autograd's backward pass (see ``manual_bptt``).
    """
    if form == "lesson":
        return lesson_model(cell, vocab_size, num_hiddens)
    if form in ("fast", "fast_autograd"):
        return RNNLMFast(vocab_size, num_hiddens, cell, manual_bptt=form == "fast")
    if form == "torch":
        return concise_model(cell, vocab_size, num_hiddens)
    raise ValueError(f"unknown form {form!r}; choose one of {FORMS}")


def train_step_fn(model, batch_size: int, num_steps: int, lr: float = 0.1, seed: int = 0):
    """A function that does one training step on a fixed random minibatch."""
    g = torch.Generator().manual_seed(seed)
    X = torch.randint(0, model.vocab_size, (batch_size, num_steps), generator=g)
    y = torch.randint(0, model.vocab_size, (batch_size, num_steps), generator=g).T.reshape(-1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)

    def step():
        state = model.begin_state(batch_size=batch_size, device=torch.device("cpu"))
        y_hat, _ = model(X, state)
        loss = nnf.cross_entropy(y_hat, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return step


def tokens_per_second(model, batch_size: int = 32, num_steps: int = 35, seconds: float = 1.0,
                      repeats: int = 3) -> float:
    """Best of ``repeats`` runs of at least ``seconds`` seconds each (after two warm-up steps)."""
    step = train_step_fn(model, batch_size, num_steps)
    step(), step()
    best = 0.0
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            step()
            n += 1
        best = max(best, n * batch_size * num_steps / elapsed)
    return best


@contextlib.contextmanager
def _onednn_switched_off():
    with warnings.catch_warnings():  # the flags' setter warns about TF32 on Intel GPUs, not relevant here
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def run(batch_size: int = 32, num_steps: int = 35, num_hiddens: int = 256, seconds: float = 1.0,
        repeats: int = 3, forms=FORMS, cells=CELLS, log=None, references: bool = True) -> dict:
    """``{"lesson_rnn": tokens/s, ...}`` for every form and cell.

    With ``references`` (and the LSTM among ``cells``) also ``fast_lstm_autograd`` and
    ``torch_lstm_onednn_off`` (see the module's docstring).
    """
    runs = [(form, cell, f"{form}_{cell}") for cell in cells for form in forms]
    if references and "lstm" in cells:
        runs += [("fast_autograd", "lstm", "fast_lstm_autograd"), ("torch", "lstm", "torch_lstm_onednn_off")]
    results = {}
    for form, cell, key in runs:
        torch.manual_seed(0)
        model = make_model(form, cell, VOCAB_SIZE, num_hiddens)
        with _onednn_switched_off() if key.endswith("onednn_off") else contextlib.nullcontext():
            results[key] = tokens_per_second(model, batch_size, num_steps, seconds, repeats)
        if log:
            log(f"{key}: {results[key]:,.0f} tokens/s")
    return results


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
    if "fast_lstm" in results and "torch_lstm_onednn_off" in results:
        lines.append(f"torch.nn.LSTM with oneDNN switched off:             "
                     f"{results['torch_lstm_onednn_off']:>9,.0f} tok/s "
                     f"(fast/torch: {results['fast_lstm'] / results['torch_lstm_onednn_off']:.2f}x)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m seqlib.bench", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--num-steps", type=int, default=35)
    parser.add_argument("--num-hiddens", type=int, default=256)
    parser.add_argument("--seconds", type=float, default=1.0, help="length of one timed run per model")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per model; the best counts")
    args = parser.parse_args(argv)
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


if __name__ == "__main__":
    main()
