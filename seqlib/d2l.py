"""The classic *Dive into Deep Learning* API of chapters 8-9 (PyTorch edition), on the course's code.

Code written against the book runs with only its import changed::

    from d2l import torch as d2l      # before
    from seqlib import d2l            # after

    train_iter, vocab = d2l.load_data_time_machine(batch_size=32, num_steps=35)
    net = d2l.RNNModelScratch(len(vocab), 512, d2l.try_gpu(), get_params, init_rnn_state, rnn)
    d2l.train_ch8(net, train_iter, vocab, lr=1, num_epochs=500, device=d2l.try_gpu())

Names, signatures, defaults (``max_tokens=10000`` in :func:`load_data_time_machine`) and
semantics are the book's. The functions *are* the course's (from :mod:`seqlib.text`,
:mod:`seqlib.partitioning`, :mod:`seqlib.lm`, :mod:`seqlib.lm_train`, :mod:`seqlib.page`); this
module only adds the names the book uses and the book's small utilities (``Timer``,
``Accumulator``, ``sgd``). Differences, all on inputs the book's code would mishandle: a
corpus too short for one minibatch raises ``ValueError`` (the book yields nothing),
:func:`predict_ch8` with an empty prefix raises ``ValueError`` (the book: ``IndexError``).
The book's d2l package itself does not import on this course's environment (it pins old
NumPy/Matplotlib and needs torchvision).
"""

from __future__ import annotations

import time

import numpy as np
import torch
from torch import nn

from seqlib.lm import RNNModel, RNNModelScratch
from seqlib.lm_train import predict, train_epoch
from seqlib.plots import LivePlot as Animator
from seqlib.partitioning import SeqDataLoader as _CourseLoader
from seqlib.partitioning import seq_data_iter_random, seq_data_iter_sequential
from seqlib.text import Vocab, count_corpus, load_corpus_time_machine, read_time_machine, tokenize
from seqlib.training import clip_gradients
from seqlib.page.runtime import try_gpu
from seqlib.validation import number_in_range as _number_in_range
from seqlib.validation import positive_int as _positive_int

__all__ = ["read_time_machine", "tokenize", "count_corpus", "Vocab", "load_corpus_time_machine",
           "seq_data_iter_random", "seq_data_iter_sequential", "SeqDataLoader", "load_data_time_machine",
           "RNNModelScratch", "RNNModel", "grad_clipping", "sgd", "train_epoch_ch8", "train_ch8",
           "predict_ch8", "Timer", "Accumulator", "Animator", "try_gpu"]


class SeqDataLoader(_CourseLoader):
    """An iterator to load the Time Machine's characters (D2L 8.3).

    ``SeqDataLoader(batch_size, num_steps, use_random_iter, max_tokens)``; has ``corpus``,
    ``vocab``, ``batch_size``, ``num_steps`` and ``data_iter_fn`` like the book's.
    """

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
    batch_size = _positive_int(batch_size, "batch_size")
    lr = _number_in_range(lr, "lr", 0, low_open=True)
    with torch.no_grad():
        for param in params:
            param -= lr * param.grad / batch_size
            param.grad.zero_()


train_epoch_ch8 = train_epoch
predict_ch8 = predict


def train_ch8(net, train_iter, vocab, lr, num_epochs, device, use_random_iter=False):
    """Train a model (D2L 8.5): SGD with learning rate ``lr``, clipping at 1, plot every 10 epochs.

    Prints the final perplexity, the speed and two predictions, as the book does.
    """
    num_epochs = _positive_int(num_epochs, "num_epochs")
    lr = _number_in_range(lr, "lr", 0, low_open=True, hint="the book uses lr=1")
    loss = nn.CrossEntropyLoss()
    animator = Animator(xlabel="epoch", ylabel="perplexity", legend=["train"], xlim=[10, num_epochs])
    if isinstance(net, nn.Module):
        updater = torch.optim.SGD(net.parameters(), lr)
    else:
        def updater(batch_size):
            return sgd(net.params, lr, batch_size)

    def predict_fn(prefix):
        return predict_ch8(prefix, 50, net, vocab, device)

    for epoch in range(num_epochs):
        ppl, speed = train_epoch_ch8(net, train_iter, loss, updater, device, use_random_iter)
        if (epoch + 1) % 10 == 0:
            print(predict_fn("time traveller"))
            animator.add(epoch + 1, [ppl])
    print(f"perplexity {ppl:.1f}, {speed:.1f} tokens/sec {str(device)}")
    print(predict_fn("time traveller"))
    print(predict_fn("traveller"))


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
        self.data = [0.0] * _positive_int(n, "n")

    def add(self, *args):
        """Add each value to its sum. The book passes the loss tensor itself (``l * y.numel()``):
        tensors are detached first, so that PyTorch does not warn about converting a tensor that
        requires grad to a number (which the book's PyTorch did not)."""
        self.data = [a + float(b.detach() if isinstance(b, torch.Tensor) else b) for a, b in zip(self.data, args)]

    def reset(self):
        self.data = [0.0] * len(self.data)

    def __getitem__(self, idx):
        return self.data[idx]

