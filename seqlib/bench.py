"""Training throughput (tokens/s of forward, backward, SGD) of the language models' three forms (Day 3).

Lesson-form scratch, fast scratch and ``torch.nn`` models, each with RNN, LSTM and GRU: batch 32, 35
steps, 256 hidden units, 28 characters, random token ids; each figure the best of ``repeats`` runs of
``seconds`` s. References: ``fast_lstm_autograd`` (autograd's backward, not the hand-written one) and
``torch_lstm_onednn_off`` (``torch.nn.LSTM`` without oneDNN's fused kernel). ``make bench`` runs it.
"""

from __future__ import annotations

import contextlib
import time
import warnings

import torch
import torch.nn.functional as nnf

from seqlib.lm import RNNLMFast, concise_model, lesson_model

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


def tokens_per_second(model, batch_size: int = 32, num_steps: int = 35, seconds: float = 1.0,
                      repeats: int = 3) -> float:
    """Best of ``repeats`` runs of at least ``seconds`` seconds each of training steps on one fixed random
    minibatch (after two warm-up steps)."""
    g = torch.Generator().manual_seed(0)
    X = torch.randint(0, model.vocab_size, (batch_size, num_steps), generator=g)
    y = torch.randint(0, model.vocab_size, (batch_size, num_steps), generator=g).T.reshape(-1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)

    def step():
        y_hat, _ = model(X, model.begin_state(batch_size=batch_size, device=torch.device("cpu")))
        optimizer.zero_grad()
        nnf.cross_entropy(y_hat, y).backward()
        optimizer.step()

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
    with warnings.catch_warnings():  # the setter warns about TF32 on Intel GPUs
        warnings.simplefilter("ignore", UserWarning)
        with torch.backends.mkldnn.flags(enabled=False):
            yield


def run(batch_size: int = 32, num_steps: int = 35, num_hiddens: int = 256, seconds: float = 1.0,
        repeats: int = 3, forms=FORMS, cells=CELLS, log=None, references: bool = True) -> dict:
    """``{"lesson_rnn": tokens/s, ...}`` for every form and cell (and the two ``references``); ``log(line)``."""
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
