"""The classic *Dive into Deep Learning* API of chapters 8-9 (PyTorch edition), on the course's code.

Code written against the book runs with only its import changed::

    from d2l import torch as d2l      # before
    from seqlib import d2l            # after

    train_iter, vocab = d2l.load_data_time_machine(batch_size=32, num_steps=35)
    net = d2l.RNNModelScratch(len(vocab), 512, d2l.try_gpu(), get_params, init_rnn_state, rnn)
    d2l.train_ch8(net, train_iter, vocab, lr=1, num_epochs=500, device=d2l.try_gpu())

Names, signatures, defaults and semantics are the book's; training is one call of :func:`seqlib.training.fit`,
generation :func:`seqlib.decoding.generate`; plus the book's ``Timer``, ``Accumulator`` and ``sgd``.
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from seqlib import validation as _validation
from seqlib.decoding import generate
from seqlib.lm import RNNModel, RNNModelScratch
from seqlib.plots import LivePlot as Animator
from seqlib.partitioning import SeqDataLoader as _CourseLoader, seq_data_iter_random, seq_data_iter_sequential
from seqlib.text import Vocab, count_corpus, load_corpus_time_machine, read_time_machine, tokenize
from seqlib.training import clip_gradients, fit, trainable_parameters
from seqlib.page.runtime import try_gpu

__all__ = ["read_time_machine", "tokenize", "count_corpus", "Vocab", "load_corpus_time_machine",
           "seq_data_iter_random", "seq_data_iter_sequential", "SeqDataLoader", "load_data_time_machine",
           "RNNModelScratch", "RNNModel", "grad_clipping", "sgd", "train_epoch_ch8", "train_ch8",
           "predict_ch8", "Timer", "Accumulator", "Animator", "try_gpu"]


class SeqDataLoader(_CourseLoader):
    """An iterator over the Time Machine's characters (D2L 8.3), with the book's attributes and ``vocab``."""

    def __init__(self, batch_size, num_steps, use_random_iter, max_tokens):
        corpus, self.vocab = load_corpus_time_machine(max_tokens)
        super().__init__(corpus, batch_size, num_steps, use_random_iter)


def load_data_time_machine(batch_size, num_steps, use_random_iter=False, max_tokens=10000):
    """``(data_iter, vocab)`` for the first ``max_tokens`` characters of the Time Machine (D2L 8.3)."""
    data_iter = SeqDataLoader(batch_size, num_steps, use_random_iter, max_tokens)
    return data_iter, data_iter.vocab


def grad_clipping(net, theta):
    """Clip the gradients of ``net`` (module or scratch model) to global norm ``theta`` (D2L 8.5)."""
    clip_gradients(net, theta)


def sgd(params, lr, batch_size):
    """Minibatch stochastic gradient descent (D2L 3.2): ``param -= lr * grad / batch_size``, grads zeroed."""
    batch_size = _validation.positive_int(batch_size, "batch_size")
    lr = _validation.number_in_range(lr, "lr", 0, low_open=True)
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


class _Updater(torch.optim.Optimizer):
    """The book's updater function (``updater(batch_size)``, e.g. ``sgd``) as an optimizer for ``fit``."""

    def __init__(self, params, updater):
        super().__init__(params, {"lr": float("nan")})
        self.updater = updater

    def step(self, closure=None):
        self.updater(batch_size=1)


def _fit_ch8(net, train_iter, loss, updater, device, use_random_iter, num_epochs, on_epoch=None):
    """The book's training (8.5) as one call of :func:`fit`: loss per token, clipping at 1."""
    _validation.loader(train_iter, "train_iter")
    if not isinstance(updater, torch.optim.Optimizer):
        updater = _Updater(trainable_parameters(net), updater)
    return fit(net, train_iter, loss_fn=lambda y_hat, Y: loss(y_hat, Y.T.reshape(-1).long()).mean(),
               optimizer=updater, num_epochs=num_epochs, clip_grad_norm=1, restore_best=False, device=device,
               state="reset" if use_random_iter else "carry", progress=False, on_epoch=on_epoch)


def train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter):
    """Train a model for one epoch (D2L 8.5): ``(perplexity, tokens per second)``; ``updater`` an optimizer
    or a function ``updater(batch_size=...)`` such as :func:`sgd`."""
    history = _fit_ch8(net, train_iter, loss, updater, device, use_random_iter, 1)
    return history.train_ppl[-1], history.tokens_per_s


def predict_ch8(prefix, num_preds, net, vocab, device=None):
    """Generate ``num_preds`` characters after ``prefix``, greedily (D2L 8.5): :func:`seqlib.decoding.generate`."""
    return generate(net, vocab, prefix, _validation.non_negative_int(num_preds, "num_preds"), device=device)


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False):
    """Train a model (D2L 8.5): SGD with learning rate ``lr``, clipping at 1, a plot every 10 epochs; prints
    the final perplexity, the speed and two predictions, as the book does."""
    num_epochs = _validation.positive_int(num_epochs, "num_epochs")
    lr = _validation.number_in_range(lr, "lr", 0, low_open=True, hint="the book uses lr=1")
    animator = Animator(xlabel="epoch", ylabel="perplexity", legend=["train"], xlim=[10, num_epochs])

    def every_10(history):
        if history.epochs[-1] % 10 == 0:
            print(predict_ch8("time traveller", 50, net, vocab, device))
            animator.add(history.epochs[-1], [history.train_ppl[-1]])

    # the book's sgd(params, lr, batch_size=1) for a scratch model is plain SGD: one update for both
    history = _fit_ch8(net, train_iter, nn.CrossEntropyLoss(), torch.optim.SGD(trainable_parameters(net), lr),
                       device, use_random_iter, num_epochs, every_10)
    speed = history.train_tokens[-1] / history.train_time[-1]
    print(f"perplexity {history.train_ppl[-1]:.1f}, {speed:.1f} tokens/sec {str(device)}")
    print(predict_ch8("time traveller", 50, net, vocab, device))
    print(predict_ch8("traveller", 50, net, vocab, device))


class Timer:
    """Record multiple running times (D2L 2.x)."""

    def __init__(self):
        self.times = []
        self.start()

    def start(self):
        self.tik = time.time()

    def stop(self):
        self.times.append(time.time() - self.tik)
        return self.times[-1]

    def avg(self):
        return sum(self.times) / len(self.times)

    def sum(self):
        return sum(self.times)

    def cumsum(self):
        return np.array(self.times).cumsum().tolist()


class Accumulator:
    """For accumulating sums over ``n`` variables (D2L 3.6)."""

    def __init__(self, n):
        self.data = [0.0] * _validation.positive_int(n, "n")

    def add(self, *args):
        """Add each value to its sum (tensors detached first: the book passes ``l * y.numel()``)."""
        self.data = [a + float(b.detach() if isinstance(b, torch.Tensor) else b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]

