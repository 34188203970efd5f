r"""Lab costs that mean the same on every machine: a reference workload and *reference units*.

The same lab takes 8 minutes on one 2-core machine and 24 on another, so seconds say more
about the machine than about the lab. The build therefore times a small, fixed **reference
workload** on the machine at hand (what the labs do, in miniature: one-thread training steps of
small recurrent models, from scratch and ``torch.nn``, and two-thread steps of a 256-unit
``torch.nn.LSTM``), and reports each lab's cost as

.. math::

    \text{units} = \frac{\text{lab seconds}}{\text{reference seconds on this machine}}
                   \cdot \frac{\text{reference seconds on the CI machine class}}{60}

so that **one unit is about one minute on a 2-core machine of the class CI runs on**
(:data:`CI_REFERENCE_SECONDS` was measured on one). A lab's budget is stated in units: a
budget of 4 means about 4 minutes there. To predict a lab's time on your machine, multiply its
units by ``minutes_per_unit()`` (``make calibrate``, i.e. ``python -m tools.reference``, prints it).

========================  ===============================================================
``reference_seconds()``   time the reference workload here (median of ``repeats``), seconds
``units(seconds, ref)``   a lab's seconds as reference units, given this machine's reference
``minutes_per_unit(ref)`` how many minutes one unit takes on this machine
``machine()``             the CPU, its cores and instruction set, torch's build: where it ran
========================  ===============================================================
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from seqlib import cli  # noqa: E402

__all__ = ["CI_REFERENCE_SECONDS", "reference_seconds", "units", "minutes_per_unit", "machine"]

# The reference workload's time on a 2-core machine of the CI class (AMD EPYC with AVX-512,
# torch 2.13.0+cpu), measured with `python -m tools.reference` on the idle machine, three runs
# (1.73-1.76 s): one unit = one minute there. Slower machines of the same class (the issue that
# introduced units measured one about twice as slow) simply take more minutes per unit.
CI_REFERENCE_SECONDS = 1.75


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
    """The fixed reference workload (about 1.75 s on a CI-class machine)."""
    from seqlib.lm import RNNLMFast

    g = torch.Generator().manual_seed(0)
    V = 28
    X = torch.randint(0, V, (35, 32), generator=g)
    y = torch.randint(0, V, (35 * 32,), generator=g)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)  # most labs: small models, one thread
        torch.manual_seed(0)
        _train_steps(_TinyLM(nn.GRU(32, 64), V, 64), X, y, steps=80)
        torch.manual_seed(0)
        fast = RNNLMFast(V, 64, "lstm")  # a from-scratch model: Python steps, small products
        state = fast.begin_state(batch_size=32)
        optimizer = torch.optim.SGD(fast.parameters(), lr=0.1)
        for _ in range(80):
            optimizer.zero_grad()
            out, _ = fast(X.T, state)
            nn.functional.cross_entropy(out, y).backward()
            optimizer.step()
        torch.set_num_threads(min(2, os.cpu_count() or 1))  # Day 3: 256 units on two threads
        torch.manual_seed(0)
        _train_steps(_TinyLM(nn.LSTM(32, 256), V, 256), X, y, steps=40)
    finally:
        torch.set_num_threads(threads)


def reference_seconds(repeats: int = 5) -> float:
    """Seconds the reference workload takes on this machine now: the median of ``repeats`` runs
    (after one warm-up run).

    The median, not the best: on a shared machine single runs drift both ways (15 % apart within a
    minute on the machine where this was measured), and the fastest run is the one least like the
    minutes a lab then takes. On an idle, steady machine the two agree."""
    if not isinstance(repeats, int) or repeats < 1:
        raise ValueError(f"repeats must be a positive integer, got {repeats!r}")
    _workload()  # warm-up: allocator, oneDNN primitives, lazy imports
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        _workload()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


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
                     [("--repeats", 5, cli.POSITIVE, "timed runs of the workload; the median counts")], argv)
    reference = reference_seconds(args.repeats)
    print(describe(reference))
    print(f"A lab of B units takes about B x {minutes_per_unit(reference):.2f} minutes on this machine.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
