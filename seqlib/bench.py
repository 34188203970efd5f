"""Training throughput (tokens/s of forward, backward, SGD) of the language models' three forms (Day 3).

Lesson-form scratch, fast scratch and ``torch.nn`` models, each with RNN, LSTM and GRU: batch 32, 35
steps, 256 hidden units, 28 characters, random token ids; each figure the best of ``repeats`` runs of
``seconds`` s. References: ``fast_lstm_autograd`` (autograd's backward, not the hand-written one),
``fast_lstm_fresh_pages`` (freed memory handed back to the system, glibc's default:
:func:`seqlib.page.keep_freed_memory`) and ``torch_lstm_onednn_off`` (``torch.nn.LSTM`` without oneDNN's
fused kernel). :func:`profile` splits a training step's time by kind of work. ``make bench`` runs it.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
import warnings

import torch
import torch.nn.functional as nnf

from seqlib.lm import RNNLMFast, concise_model, lesson_model
from seqlib.page.runtime import keep_freed_memory

FORMS = ("lesson", "fast", "torch")
CELLS = ("rnn", "lstm", "gru")
VOCAB_SIZE = 28  # len(Vocab) of the Time Machine's characters: <unk>, space, a-z


def make_model(form: str, cell: str, vocab_size: int = VOCAB_SIZE, num_hiddens: int = 256):
    """The model of ``form`` (:data:`FORMS`, or ``"fast_autograd"``) for ``cell`` (:data:`CELLS`)."""
    if form == "lesson":
        return lesson_model(cell, vocab_size, num_hiddens)
    if form in ("fast", "fast_autograd"):
        return RNNLMFast(vocab_size, num_hiddens, cell, manual_bptt=form == "fast")
    if form == "torch":
        return concise_model(cell, vocab_size, num_hiddens)
    raise ValueError(f"unknown form {form!r}; choose one of {FORMS}")


def _training_step(model, batch_size: int, num_steps: int):
    """One training step (forward, backward, SGD update) of ``model`` on a fixed random minibatch."""
    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, model.vocab_size, (batch_size, num_steps), generator=g)
    y = torch.randint(0, model.vocab_size, (batch_size, num_steps), generator=g).T.reshape(-1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def step():
        with torch.profiler.record_function("forward"):
            y_hat, _ = model(X, model.begin_state(batch_size=batch_size, device=torch.device("cpu")))
            loss = nnf.cross_entropy(y_hat, y)
        with torch.profiler.record_function("backward"):
            optimizer.zero_grad()
            loss.backward()
        with torch.profiler.record_function("update"):
            optimizer.step()
    return step


def tokens_per_second(model, batch_size: int = 32, num_steps: int = 35, seconds: float = 1.0,
                      repeats: int = 3) -> float:
    """Best of ``repeats`` runs of at least ``seconds`` seconds each of training steps on one fixed random
    minibatch (after two warm-up steps)."""
    step = _training_step(model, batch_size, num_steps)
    step(), step()
    best = 0.0
    for _ in range(repeats):
        n, start = 0, time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds:
            step()
            n += 1
        best = max(best, n * batch_size * num_steps / elapsed)
    return best


def _in_fresh_process(form, cell, batch_size, num_steps, num_hiddens, seconds, repeats) -> float:
    """:func:`tokens_per_second` of a new model in a new Python process, on as many threads as this one."""
    code = (f"import torch; from seqlib import bench; torch.set_num_threads({torch.get_num_threads()}); "
            f"torch.manual_seed(0); model = bench.make_model({form!r}, {cell!r}, {VOCAB_SIZE}, {num_hiddens}); "
            f"print(bench.tokens_per_second(model, {batch_size}, {num_steps}, {seconds}, {repeats}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout.split()[-1])


@contextlib.contextmanager
def _onednn_switched_off():
    with warnings.catch_warnings():  # the setter warns about TF32 on Intel GPUs
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def run(batch_size: int = 32, num_steps: int = 35, num_hiddens: int = 256, seconds: float = 1.0,
        repeats: int = 3, forms=FORMS, cells=CELLS, log=None, references: bool = True) -> dict:
    """``{"lesson_rnn": tokens/s, ...}`` for every form and cell (and the three ``references``); ``log(line)``.
    Freed memory is kept (:func:`seqlib.page.keep_freed_memory`), as in the labs, and stays kept after;
    ``fast_lstm_fresh_pages`` runs in a new Python process that leaves the C library's default."""
    runs = [(form, cell, f"{form}_{cell}") for cell in cells for form in forms]
    if references and "lstm" in cells:
        runs += [("fast_autograd", "lstm", "fast_lstm_autograd"), ("fast", "lstm", "fast_lstm_fresh_pages"),
                 ("torch", "lstm", "torch_lstm_onednn_off")]
    results = {}
    keep_freed_memory()
    for form, cell, key in runs:
        if key.endswith("fresh_pages"):  # a new process: this one's heap already holds freed memory
            results[key] = _in_fresh_process(form, cell, batch_size, num_steps, num_hiddens, seconds, repeats)
        else:
            torch.manual_seed(0)
            model = make_model(form, cell, VOCAB_SIZE, num_hiddens)
            with _onednn_switched_off() if key.endswith("onednn_off") else contextlib.nullcontext():
                results[key] = tokens_per_second(model, batch_size, num_steps, seconds, repeats)
        if log:
            log(f"{key}: {results[key]:,.0f} tokens/s")
    return results


#: What :func:`profile` counts as each kind of work, by the operator's name.
KINDS = {"matrix products": ("aten::mm", "aten::addmm", "aten::bmm", "aten::linear", "mkldnn::_linear"),
         "element-wise": ("aten::sigmoid", "aten::tanh", "aten::mul", "aten::add", "aten::sub", "aten::rsub",
                          "aten::addcmul", "aten::div", "aten::neg", "aten::where", "aten::threshold",
                          "aten::_log_softmax", "aten::nll_loss", "aten::_softmax"),
         "oneDNN's fused LSTM": ("aten::mkldnn_rnn",)}


@contextlib.contextmanager
def _quiet_stderr():
    """File descriptor 2 sent to the null device for the block: what C++ code writes there (the
    profiler's start and stop lines) reaches neither the terminal nor a notebook."""
    sys.stderr.flush()
    saved, null = os.dup(2), os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved), os.close(null)


def profile(model, batch_size: int = 32, num_steps: int = 35, steps: int = 10) -> dict:
    """Where a training step of ``model`` spends its time: ``{(phase, kind): ms per step}``.

    ``phase`` is ``"forward"`` (with the loss), ``"backward"`` or ``"update"``; ``kind`` is a key of
    :data:`KINDS`, ``"other operators"`` (copies, lookups, new tensors, views) or ``"Python and
    dispatch"``: the time outside every PyTorch operator (the Python loops, autograd's bookkeeping,
    calling the operators). Measured by ``torch.profiler`` over ``steps`` steps after two warm-up steps;
    the profiler adds a little to each call, which lands in "Python and dispatch"."""
    step = _training_step(model, batch_size, num_steps)
    step(), step()
    prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU])
    with _quiet_stderr():  # the profiler's C++ side writes a line at each start and stop
        prof.start()
    try:
        for _ in range(steps):
            step()
    finally:
        with _quiet_stderr():
            prof.stop()
    times = {}

    def add(event, phase):
        if event.name.startswith(("aten::", "mkldnn::")):
            kind = next((k for k, names in KINDS.items() if event.name.startswith(names)), "other operators")
        else:  # a phase, a Python autograd Function, autograd's engine, the optimizer: Python's own time
            kind = "Python and dispatch"
        times[phase, kind] = times.get((phase, kind), 0.0) + event.self_cpu_time_total / 1e3 / steps
        for child in event.cpu_children:
            add(child, phase)

    for event in prof.events():
        if event.name in ("forward", "backward", "update") and event.cpu_parent is None:
            add(event, event.name)
    return times


def profile_table(profiles: dict) -> tuple[list, list]:
    """``(header, rows)`` for :func:`seqlib.page.show_table`: one row per kind of work (and a total), two
    columns per form of ``profiles`` (``{form: profile(...)}``), forward and backward, in ms per step;
    "–" where a form has no such work (oneDNN's kernel in a from-scratch form)."""
    kinds = [*KINDS, "other operators", "Python and dispatch"]
    columns = [(form, phase) for form in profiles for phase in ("forward", "backward")]
    header = ["ms per step"] + [f"{form} {dict(forward='fwd', backward='bwd')[phase]}" for form, phase in columns]
    rows = [[kind] + [f"{profiles[form][phase, kind]:.1f}" if (phase, kind) in profiles[form] else "–"
                      for form, phase in columns] for kind in kinds]
    totals = [f"{sum(profiles[form].get((phase, kind), 0.0) for kind in kinds):.1f}" for form, phase in columns]
    return header, rows + [["total"] + totals]
