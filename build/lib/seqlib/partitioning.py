"""Two ways to cut a long corpus into minibatches of (input, target) subsequences.

Both yield ``(X, Y)``, integer tensors ``(batch_size, num_steps)``, ``Y`` = ``X`` shifted by one token,
from a random offset (every epoch sees different cuts); they differ in *which* subsequences go together:

==============================  ==============================================================
:func:`seq_data_iter_random`    non-overlapping subsequences in shuffled order: neighbouring
                                minibatches are unrelated, so the state is reset every minibatch
:func:`seq_data_iter_sequential`  the corpus is cut into ``batch_size`` contiguous rows; row ``r``
                                of a minibatch continues row ``r`` of the one before, so the
                                state can be carried over (and detached) between minibatches
==============================  ==============================================================

Offsets and random draws are D2L's (classic edition, 8.3): the same seed of ``random`` gives the same
minibatches; ``rng=random.Random(seed)`` a private stream. The input is checked once, when made.
"""

from __future__ import annotations

import functools
import random

import numpy as np
import torch

from seqlib import validation
from seqlib.validation import non_negative_int, positive_int, require, sequence

__all__ = ["seq_data_iter_random", "seq_data_iter_sequential", "min_corpus_length",
           "SeqDataLoader", "minibatch_layout"]


def min_corpus_length(batch_size: int, num_steps: int, use_random_iter: bool) -> int:
    """The shortest corpus that gives at least one minibatch whatever the random offset.

    random: offset up to ``num_steps - 1``, then ``batch_size`` subsequences and one more
    token for the last target: ``(batch_size + 1) * num_steps``.
    sequential: offset up to ``num_steps``, then ``batch_size`` rows of ``num_steps`` tokens
    and one more for the targets: ``(batch_size + 1) * num_steps + 1``.
    """
    batch_size, num_steps = positive_int(batch_size, "batch_size"), positive_int(num_steps, "num_steps")
    return (batch_size + 1) * num_steps + (0 if use_random_iter else 1)


def _corpus(corpus, batch_size, num_steps, use_random_iter) -> torch.Tensor:
    """The corpus as a 1-d integer tensor long enough for one minibatch (checked once, where a call enters)."""
    what = "a flat sequence of token indices (ints): encode the text first, e.g. [vocab[t] for t in tokens]"
    corpus = sequence(corpus, "corpus", what=what)
    corpus = torch.as_tensor(corpus) if len(corpus) else torch.zeros(0, dtype=torch.long)
    validation.tensor(corpus, "corpus", shape=("num_tokens",), dtype="integer", hint=f"pass {what}")
    low, need = int(corpus.min()) if len(corpus) else 0, min_corpus_length(batch_size, num_steps, use_random_iter)
    require(low >= 0, f"corpus holds a negative token index ({low}); token indices start at 0")
    require(len(corpus) >= need, f"a corpus of {len(corpus)} is too short for one minibatch: at least {need} tokens")
    return corpus


def _on_checked_corpus(use_random_iter: bool):
    """Decorator: check the corpus and sizes once, when the iterator is made; the lesson's code runs unchecked."""
    def wrap(batches):
        @functools.wraps(batches)
        def iterator(corpus, batch_size: int, num_steps: int, *, rng=None):
            return batches(_corpus(corpus, batch_size, num_steps, use_random_iter), int(batch_size), int(num_steps),
                           rng=rng)
        return iterator
    return wrap


@_on_checked_corpus(use_random_iter=True)
def seq_data_iter_random(corpus, batch_size: int, num_steps: int, *, rng=None):
    """Minibatches of non-overlapping subsequences in random order (state reset every minibatch).

    1. Drop a random number ``offset`` in ``[0, num_steps - 1]`` of leading tokens.
    2. Cut the rest into ``num_subseqs = (len - offset - 1) // num_steps`` subsequences
       (the ``- 1`` leaves room for the target of the last token), shuffle their start positions.
    3. Yield them ``batch_size`` at a time; leftover subsequences are dropped.

    ======  =============================  ===================================
    yields  ``X``: ``(batch_size, num_steps)``  ``Y = corpus[start + 1 : start + 1 + num_steps]``
    ======  =============================  ===================================

    ``rng``: a ``random.Random`` (default: the ``random`` module, as in D2L).
    """
    rng = random if rng is None else rng
    offset = rng.randint(0, num_steps - 1)
    num_subseqs = (len(corpus) - offset - 1) // num_steps
    initial_indices = list(range(offset, offset + num_subseqs * num_steps, num_steps))
    rng.shuffle(initial_indices)
    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        positions = torch.tensor(initial_indices[i: i + batch_size])[:, None] + torch.arange(num_steps)
        yield corpus[positions], corpus[positions + 1]


@_on_checked_corpus(use_random_iter=False)
def seq_data_iter_sequential(corpus, batch_size: int, num_steps: int, *, rng=None):
    """Minibatches that continue each other row by row (state carried over between minibatches).

    1. Drop a random number ``offset`` in ``[0, num_steps]`` of leading tokens.
    2. Keep the largest multiple of ``batch_size`` tokens that still has a next token, and
       reshape inputs and targets into ``batch_size`` contiguous rows.
    3. Walk along the rows ``num_steps`` columns at a time: row ``r`` of minibatch ``k + 1``
       starts where row ``r`` of minibatch ``k`` ended.

    ======  =================================
    yields  ``X``, ``Y``: ``(batch_size, num_steps)``, ``Y`` is ``X`` shifted by one token
    ======  =================================

    ``rng``: a ``random.Random`` (default: the ``random`` module, as in D2L).
    """
    rng = random if rng is None else rng
    offset = rng.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = corpus[offset: offset + num_tokens].reshape(batch_size, -1)
    Ys = corpus[offset + 1: offset + 1 + num_tokens].reshape(batch_size, -1)
    num_batches = Xs.shape[1] // num_steps
    for i in range(0, num_steps * num_batches, num_steps):
        yield Xs[:, i: i + num_steps], Ys[:, i: i + num_steps]


class SeqDataLoader:
    """A re-iterable loader over a corpus: each ``iter()`` is a new epoch with a new random offset.

    ``seed``: the loader's own ``random.Random`` (``None``: the global ``random`` module, as D2L).
    ``batch_size``, ``num_steps`` and ``use_random_iter`` are attributes, as in D2L.
    ``updates_per_epoch``: each ``iter()`` yields this many minibatches and the next one continues the
    pass where it stopped (a new pass, with a new offset, when one runs out): for a corpus too long for
    one epoch (Day 6). ``None``: one epoch is one pass.
    """

    def __init__(self, corpus, batch_size: int, num_steps: int, use_random_iter: bool = False, *,
                 seed: int | None = None, updates_per_epoch: int | None = None):
        self.corpus = _corpus(corpus, batch_size, num_steps, use_random_iter)
        self.batch_size, self.num_steps = int(batch_size), int(num_steps)
        self.use_random_iter = use_random_iter
        self.data_iter_fn = seq_data_iter_random if use_random_iter else seq_data_iter_sequential
        self._batches = self.data_iter_fn.__wrapped__  # the corpus is checked: each epoch runs unchecked
        self.rng = None if seed is None else random.Random(non_negative_int(seed, "seed"))
        self.updates_per_epoch = None if updates_per_epoch is None else positive_int(updates_per_epoch, "updates_per_epoch")
        self._pass = None

    def _new_pass(self):
        return self._batches(self.corpus, self.batch_size, self.num_steps, rng=self.rng)

    def __iter__(self):
        if self.updates_per_epoch is None:
            return self._new_pass()
        return self._continued()

    def _continued(self):
        for _ in range(self.updates_per_epoch):
            batch = next(self._pass, None) if self._pass is not None else None
            if batch is None:  # the first epoch, or the end of the corpus: a new pass, a new offset
                self._pass = self._new_pass()
                batch = next(self._pass)
            yield batch

    def __repr__(self) -> str:
        kind = "random" if self.use_random_iter else "sequential"
        per_epoch = "" if self.updates_per_epoch is None else f", updates_per_epoch={self.updates_per_epoch}"
        return (f"SeqDataLoader({len(self.corpus)} tokens, batch_size={self.batch_size}, "
                f"num_steps={self.num_steps}, {kind}{per_epoch})")


def minibatch_layout(corpus_length: int, batch_size: int, num_steps: int, use_random_iter: bool,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Where each position of a corpus of ``corpus_length`` tokens goes, for the sampling figure.

    Runs the real iterator on the corpus ``0, 1, ..., corpus_length - 1`` and returns two integer
    arrays of length ``corpus_length``: the minibatch and the row each position is an *input* of
    (``-1`` where a position is not used as an input).
    """
    corpus = torch.arange(positive_int(corpus_length, "corpus_length"))
    fn = seq_data_iter_random if use_random_iter else seq_data_iter_sequential
    batch, row = np.full(corpus_length, -1), np.full(corpus_length, -1)
    for k, (X, _) in enumerate(fn(corpus, batch_size, num_steps, rng=random.Random(non_negative_int(seed, "seed")))):
        for r, positions in enumerate(X.tolist()):
            batch[positions] = k
            row[positions] = r
    return batch, row
