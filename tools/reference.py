r"""Lab costs that mean the same on every machine: a reference workload and *reference units*.

The same lab takes 8 minutes on one 2-core machine and 24 on another, so seconds say more
about the machine than about the lab. A lab's cost is therefore stated relative to a small,
fixed **reference workload** (what the labs spend their time on, in miniature: training steps
of a small ``torch.nn.GRU`` language model, of the from-scratch LSTM whose steps are Python
calls, of a 256-unit ``torch.nn.LSTM``, and of an embedding and output layer over a
5,000-word vocabulary), on **one thread**, as seven of the ten labs run (they call
``torch.set_num_threads(1)``), and timed **under the conditions of what it is compared with**:

* the build runs two labs side by side, so it times two copies of the workload side by side
  (:func:`side_by_side`);
* a student runs one lab alone, so ``make calibrate`` times one copy alone
  (:func:`reference_seconds`), on one thread for the labs that call ``torch.set_num_threads(1)`` and
  on every core for the others (``tools.course.lab_threads``), and prints both conversions.

A lab's cost is

.. math::

    \text{units} = \frac{\text{lab seconds}}{\text{reference seconds, same conditions}}
                   \cdot \frac{\text{CI reference seconds}}{60}

so that **one unit is about one minute on a 2-core machine of the class CI runs on**
(:data:`CI_REFERENCE_SECONDS`). A lab's budget is stated in units. To predict a lab's time on
your machine, multiply its units by ``minutes_per_unit()`` (``make calibrate``, i.e.
``python -m tools.reference``, prints it).

Why the conditions: on the CI-class machine (2-core Intel Xeon, quiet, full mode; the table in
``book/setup.md``, measured with ``tools/student_times.py``), the labs that run on one thread took
within 10 % of what their units predicted from the one-thread reference, alone as a student runs
them. The labs that keep two threads (Days 3, 6, 9) ran 1.2-1.5x faster alone than one thread each
beside another lab in the build; predicted from the one-thread reference they came out up to 35 %
(AVX-512) and 55 % (AVX2) too long, from the reference on every core within -12 % to +9 %. So
``make calibrate`` prints both conversions, and says which labs take which
(``tools.course.lab_threads``). A two-thread run is fragile on two cores: Day 3's epochs ran 10x
slower while a low-priority process kept the other core busy.

=========================  =============================================================
``reference_seconds()``    the workload here, alone (median of ``repeats``; ``threads``)
``side_by_side(n, t)``     ``n`` copies at once, ``t`` threads each: the mean of their medians
``units(seconds, ref)``    a lab's seconds as reference units, given the reference time
``minutes_per_unit(ref)``  how many minutes one unit takes on this machine
``machine()``              the CPU, its cores and instruction set, torch's build: where it ran
=========================  =============================================================
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from seqlib import cli  # noqa: E402
from seqlib.page.runtime import keep_freed_memory  # noqa: E402

__all__ = ["CI_REFERENCE_SECONDS", "OPTIONS", "reference_seconds", "side_by_side", "units", "minutes_per_unit",
           "machine"]

# The reference workload's time alone, one thread, on a 2-core machine of the CI class (Intel Xeon with
# AVX-512 and AMX, torch 2.13.0+cpu, freed memory kept as in the labs): one unit = one minute there.
# Measured there on 2026-12-06, quiet: 1.666 and 1.694 s (two copies side by side: 1.684 s each).
CI_REFERENCE_SECONDS = 1.68

OPTIONS = [  # (flags, default, rule, help): seqlib.cli's one style
    ("--repeats", 5, cli.POSITIVE, "timed runs of the workload; the median counts"),
    ("--threads", 1, cli.POSITIVE, "torch threads of each copy (default 1, as most labs run)"),
    ("--side-by-side", 1, cli.POSITIVE, "copies timed at once (the build: as many as labs side by side)"),
    ("--json", False, bool, "print one JSON object: seconds, minutes per unit, machine"),
]


def _train_steps(model, X, y, steps: int) -> None:
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(steps):
        optimizer.zero_grad()
        out, _ = model(X)
        loss = loss_fn(out.reshape(-1, out.shape[-1]), y)
        loss.backward()
        optimizer.step()


class _TinyLM(nn.Module):
    """Embedding, one recurrent layer, a linear layer: the shape of the labs' models."""

    def __init__(self, layer: nn.Module, vocab_size: int, num_hiddens: int):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, layer.input_size)
        self.rnn = layer
        self.linear = nn.Linear(num_hiddens, vocab_size)

    def forward(self, X):
        H, state = self.rnn(self.embedding(X))
        return self.linear(H), state


def _workload() -> None:
    """The fixed reference workload, on torch's current number of threads (the caller sets them)."""
    from seqlib.lm import RNNLMFast

    g = torch.Generator().manual_seed(0)
    V, W = 28, 5000  # characters; words
    X = torch.randint(0, V, (35, 32), generator=g)
    y = torch.randint(0, V, (35 * 32,), generator=g)
    torch.manual_seed(0)  # small torch.nn cells (Days 4, 5, 8, 9)
    _train_steps(_TinyLM(nn.GRU(32, 64), V, 64), X, y, steps=80)
    torch.manual_seed(0)  # a from-scratch model: Python steps, small products (Days 2, 3, 7)
    fast = RNNLMFast(V, 64, "lstm")
    state = fast.begin_state(batch_size=32)
    optimizer = torch.optim.SGD(fast.parameters(), lr=0.1)
    for _ in range(80):
        optimizer.zero_grad()
        out, _ = fast(X.T, state)
        nn.functional.cross_entropy(out, y).backward()
        optimizer.step()
    torch.manual_seed(0)  # 256 units: the recurrent kernel's matrix products (Days 3, 6)
    _train_steps(_TinyLM(nn.LSTM(32, 256), V, 256), X, y, steps=40)
    Xw = torch.randint(0, W, (20, 64), generator=g)
    yw = torch.randint(0, W, (20 * 64,), generator=g)
    torch.manual_seed(0)  # embedding lookups, an output layer and softmax over words (Days 6, 8, 9)
    _train_steps(_TinyLM(nn.GRU(64, 128), W, 128), Xw, yw, steps=8)


def reference_seconds(repeats: int = 5, threads: int | None = 1) -> float:
    """Seconds the reference workload takes on this machine now, alone, on ``threads`` torch threads
    (default one, as the labs; ``None``: torch's current setting): the median of ``repeats`` runs after
    one warm-up run.

    The median, not the best: on a shared machine single runs drift both ways (15 % apart within a
    minute on the machine where this was measured), and the fastest run is the one least like the
    minutes a lab then takes. On an idle, steady machine the two agree."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    if threads is not None and (not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    keep_freed_memory()  # as every lab does at its top
    before = torch.get_num_threads()
    try:
        if threads:
            torch.set_num_threads(threads)
        _workload()  # warm-up: allocator, oneDNN primitives, lazy imports
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            _workload()
            times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(before)
    return statistics.median(times)


def side_by_side(copies: int, threads: int = 1, repeats: int = 5) -> float:
    """The reference time as ``copies`` labs side by side see it: that many processes time the
    workload at once, each on ``threads`` threads; the mean of their medians, in seconds.
    ``copies=1`` times it alone in this process."""
    for name, value in (("copies", copies), ("threads", threads), ("repeats", repeats)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if copies == 1:
        return reference_seconds(repeats, threads)
    cmd = [sys.executable, "-m", "tools.reference", "--json", "--repeats", str(repeats), "--threads", str(threads)]
    procs = [subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(copies)]
    seconds = []
    for proc in procs:
        out, err = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a copy of the reference workload failed (exit {proc.returncode}): "
                               f"{err.strip().splitlines()[-1] if err.strip() else 'no message'}")
        seconds.append(json.loads(out)["seconds"])
    return statistics.fmean(seconds)


def units(seconds: float, reference: float) -> float:
    """``seconds`` of a lab on a machine whose reference time is ``reference``, in reference units."""
    if not reference > 0:
        raise ValueError(f"reference must be a positive number of seconds, got {reference!r}")
    if seconds < 0:
        raise ValueError(f"seconds must be >= 0, got {seconds!r}")
    return seconds / reference * CI_REFERENCE_SECONDS / 60.0


def minutes_per_unit(reference: float) -> float:
    """Minutes one reference unit takes on a machine whose reference time is ``reference``."""
    if not reference > 0:
        raise ValueError(f"reference must be a positive number of seconds, got {reference!r}")
    return reference / CI_REFERENCE_SECONDS


def machine() -> dict:
    """Where it ran: CPU model, cores, the instruction set PyTorch uses, torch's version."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    capability = getattr(torch.backends.cpu, "get_cpu_capability", lambda: "unknown")()
    return {"cpu": model, "cores": os.cpu_count(), "isa": capability, "torch": torch.__version__}


def describe(reference: float) -> str:
    """One line: the machine and its reference time."""
    m = machine()
    return (f"{m['cpu']}, {m['cores']} cores, {m['isa']}, torch {m['torch']}: reference workload "
            f"{reference:.2f} s, so one unit = {minutes_per_unit(reference):.2f} min here")


def main(argv=None) -> int:
    args = cli.parse("python -m tools.reference", "How many minutes one reference unit takes on this machine.",
                     OPTIONS, argv)
    threads = args.threads
    reference = side_by_side(args.side_by_side, threads, args.repeats)
    if args.json:
        print(json.dumps({"seconds": reference, "minutes_per_unit": minutes_per_unit(reference),
                          "threads": threads, "side_by_side": args.side_by_side, "machine": machine()}))
        return 0
    print(describe(reference) + (f" ({args.side_by_side} copies side by side, {threads} thread(s) each)"
                                 if args.side_by_side > 1 else f" (alone, {threads} thread(s))"))
    if args.side_by_side > 1 or threads != 1:
        print(f"A lab of B units takes about B x {minutes_per_unit(reference):.2f} minutes on this machine.")
        return 0
    # a student's run: alone, on one thread or on every core, as the lab runs
    from tools.course import lab_threads, toc_labs

    every_core = reference_seconds(args.repeats, threads=None)
    labs = {kind: [lab.stem.split("_")[0] for lab in toc_labs() if lab_threads(lab.stem) == kind]
            for kind in ("one", "all")}
    print(f"A lab of B units takes about B x {minutes_per_unit(reference):.2f} minutes here if it runs on one "
          f"thread ({', '.join(labs['one'])}),\nand B x {minutes_per_unit(every_core):.2f} if it uses every core "
          f"({', '.join(labs['all'])}; the workload on {torch.get_num_threads()} threads: {every_core:.2f} s).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
