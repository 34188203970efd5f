r"""Variable-length batches: padding, masks, masked pooling, collate, length buckets, both directions.

Sentences have different lengths; a batch pads them on the right to the longest one and keeps
their true lengths, and everything downstream must ignore the padding. The pieces::

    SentenceDataset   item i: (token ids (L_i,) long, label () float)    (encoded by Vocab.encode)
    collate           a list of B items -> X (B, T), lengths (B,), y (B,)  padded with <pad>
    make_loader       a DataLoader of collate batches; shuffle=True: length buckets, seeded

================  ==================  ==========================================================
X                 (B, T) long         token ids, right-padded with ``<pad>`` (T = longest)
lengths           (B,) long           real tokens of each sentence, :math:`L_b \ge 1`
mask              (B, T) bool         :func:`padding_mask`: True at real tokens
H                 (B, T, D) float     a state per position (an RNN's outputs)
pooled            (B, D) float        :func:`masked_mean`, :func:`masked_max`
================  ==================  ==========================================================

The padding mask and the masked poolings, with :math:`m_{bt} = [t < L_b]`:

.. math::

    \bar{\mathbf{h}}_b = \frac{\sum_t m_{bt}\, \mathbf{h}_{bt}}{\sum_t m_{bt}}, \qquad
    \hat{h}_{bd} = \max_{t:\, m_{bt} = 1} h_{btd} .

A **bidirectional** recurrent layer over a padded batch (:func:`bidirectional_states`) runs a
second network over each sentence *reversed within its length* (:func:`reverse_padded`: the
padding stays in place) and concatenates the two states at every position:

.. math::

    \overrightarrow{\mathbf{h}}_t = f(\mathbf{x}_t, \overrightarrow{\mathbf{h}}_{t-1}), \qquad
    \overleftarrow{\mathbf{h}}_t = g(\mathbf{x}_t, \overleftarrow{\mathbf{h}}_{t+1}), \qquad
    \mathbf{h}_t = [\overrightarrow{\mathbf{h}}_t ; \overleftarrow{\mathbf{h}}_t] \in \mathbb{R}^{2h} .

Padding positions count for nothing, whatever they hold. An **empty sentence** (length 0) has
no state to classify: :func:`collate` raises ``ValueError`` saying which one it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from seqlib import validation
from seqlib.text import PAD_IDX, Vocab

__all__ = ["SentenceDataset", "collate", "LengthBucketSampler", "make_loader", "padding_mask",
           "masked_mean", "masked_max", "reverse_padded", "bidirectional_states"]


class SentenceDataset(torch.utils.data.Dataset):
    """Encoded sentences and labels: item ``i`` is ``(LongTensor of token ids, float label)``.

    Sentences are encoded with :meth:`seqlib.text.Vocab.encode`; those longer than ``max_len``
    tokens are cut to their first ``max_len`` tokens.
    """

    def __init__(self, sentences: Sequence[str], labels: Sequence[int], vocab: Vocab,
                 max_len: int | None = None):
        if isinstance(sentences, str) or not isinstance(sentences, Sequence) \
                or not all(isinstance(s, str) for s in sentences):
            raise validation.ArgumentTypeError(f"sentences must be a list of strings, got {sentences!r:.60}")
        if not hasattr(vocab, "encode"):
            raise validation.ArgumentTypeError(f"vocab must be a seqlib.text.Vocab, got {type(vocab).__name__}")
        if max_len is not None:
            max_len = validation.positive_int(max_len, "max_len", hint="(tokens kept per sentence) or None")
        if isinstance(labels, str) or not isinstance(labels, (Sequence, np.ndarray, torch.Tensor)):
            raise validation.ArgumentTypeError(f"labels must be a list of numbers, got {type(labels).__name__}")
        if len(sentences) != len(labels):
            raise ValueError(f"{len(sentences)} sentences but {len(labels)} labels: give one label per sentence")
        self.ids = [torch.tensor(vocab.encode(s)[:max_len], dtype=torch.long) for s in sentences]
        self.labels = torch.tensor(labels, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        return self.ids[i], self.labels[i]


def collate(batch, pad_idx: int = PAD_IDX):
    """Pad a list of ``(ids, label)`` pairs into a batch ``(X, lengths, y)`` (as :func:`seqlib.training.fit` wants).

    ======== ============== ====================================================
    X        (B, T) long    token ids, padded on the right with ``pad_idx``; T = longest
    lengths  (B,) long      number of real tokens of each sentence
    y        (B,) float     labels
    ======== ============== ====================================================

    Raises ``ValueError`` for an empty sentence (length 0): it has no state to classify.
    """
    pad_idx = validation.non_negative_int(pad_idx, "pad_idx")
    if not isinstance(batch, Sequence) or len(batch) == 0:
        raise ValueError(f"batch must be a non-empty list of (ids, label) pairs, got "
                         f"{'an empty one' if isinstance(batch, Sequence) else type(batch).__name__}")
    if not all(isinstance(item, (tuple, list)) and len(item) == 2 for item in batch):
        raise validation.ArgumentTypeError("batch must be a list of (ids, label) pairs, as SentenceDataset gives them")
    ids, labels = zip(*batch)
    for k, s in enumerate(ids):
        validation.tensor(s, f"the ids of sentence {k}", shape=("num_tokens",), dtype="integer")
    lengths = torch.tensor([len(s) for s in ids], dtype=torch.long)
    if (lengths == 0).any():
        raise ValueError(f"sentence {int((lengths == 0).nonzero()[0])} of the batch is empty (no tokens); "
                         "drop empty sentences before batching")
    X = nn.utils.rnn.pad_sequence(list(ids), batch_first=True, padding_value=pad_idx)
    return X, lengths, torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in labels])


class LengthBucketSampler(torch.utils.data.Sampler):
    """Batches of similar lengths (less padding), in a random order that changes every epoch.

    Each epoch shuffles the items, sorts them by length within pools of ``pool`` batches, cuts
    the pools into batches and shuffles the order of the batches; all of it is drawn from one
    ``numpy.random.default_rng(seed)``, so the sequence of epochs is reproducible.
    """

    def __init__(self, lengths, batch_size, seed, pool=50):
        batch_size = validation.positive_int(batch_size, "batch_size")
        pool = validation.positive_int(pool, "pool", hint="(batches per pool sorted by length)")
        seed = validation.non_negative_int(seed, "seed")
        lengths = np.asarray(lengths)
        if lengths.ndim != 1 or not np.issubdtype(lengths.dtype, np.integer):
            raise validation.ArgumentTypeError(f"lengths must be a flat list of integers (one per item), "
                                               f"got an array of shape {lengths.shape} and dtype {lengths.dtype}")
        self.lengths, self.batch_size, self.pool = lengths, batch_size, pool
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        order = self.rng.permutation(len(self.lengths))
        chunk = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), chunk):
            part = order[start:start + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches += [part[i:i + self.batch_size].tolist() for i in range(0, len(part), self.batch_size)]
        for k in self.rng.permutation(len(batches)):
            yield batches[k]

    def __len__(self):
        return math.ceil(len(self.lengths) / self.batch_size)


def make_loader(dataset: SentenceDataset, batch_size: int = 64, shuffle: bool = False,
                seed: int = 0) -> torch.utils.data.DataLoader:
    """A DataLoader of :func:`collate` batches.

    ``shuffle=True`` (training): batches of sentences of similar lengths
    (:class:`LengthBucketSampler`), drawn in a random order that is reproducible from ``seed``.
    ``shuffle=False``: the dataset's order.
    """
    batch_size = validation.positive_int(batch_size, "batch_size")
    if not isinstance(dataset, SentenceDataset):
        raise validation.ArgumentTypeError(f"dataset must be a SentenceDataset, got {type(dataset).__name__}")
    if shuffle:
        lengths = [len(s) for s in dataset.ids]
        return torch.utils.data.DataLoader(dataset, batch_sampler=LengthBucketSampler(lengths, batch_size, seed),
                                           collate_fn=collate)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, collate_fn=collate)


def padding_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Boolean (B, T) mask, True at real tokens: ``mask[b, t] = t < lengths[b]`` (on the device of ``lengths``)."""
    if max_len is not None:
        max_len = validation.non_negative_int(max_len, "max_len", hint="(num_steps, the padded length)")
    lengths = validation.lengths(lengths, "lengths", max_len=max_len, min_len=0,
                                 hint="one length per sequence; pass max_len at least the longest length")
    if lengths.numel() == 0 and max_len is None:
        raise ValueError("lengths is empty: pass max_len to make a mask for an empty batch")
    T = int(lengths.max()) if max_len is None else max_len
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def masked_mean(H: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""Mean of the states of the real tokens.

    :math:`\bar{\mathbf{h}}_b = \sum_t m_{bt} \mathbf{h}_{bt} / \sum_t m_{bt}`, with :math:`m` the mask.

    H (B, T, D), mask (B, T) bool -> (B, D). Padding positions do not count, whatever they hold.
    """
    _check_pooling(H, mask)
    m = mask.unsqueeze(-1).to(H.dtype)
    return (H * m).sum(1) / m.sum(1).clamp(min=1)


def masked_max(H: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""Feature-wise maximum over the real tokens: :math:`\hat{h}_{bd} = \max_{t:\, m_{bt} = 1} h_{btd}`.

    H (B, T, D), mask (B, T) bool -> (B, D). Padding is filled with :math:`-\infty` first, so it never wins.
    """
    _check_pooling(H, mask)
    return H.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


def _check_pooling(H, mask):
    validation.tensor(H, "H", shape=("batch_size", "num_steps", "num_hiddens"), dtype="float")
    validation.tensor(mask, "mask", shape=("batch_size", "num_steps"), dtype="bool",
                      sizes={"batch_size": H.shape[0], "num_steps": H.shape[1]},
                      hint="batch_size and num_steps are those of H; make it with padding_mask(lengths, num_steps)")
    if H.shape[0] and not bool(mask.any(dim=1).all()):
        raise ValueError("mask has a row without any real token: an empty sentence has no state to pool; "
                         "drop empty sentences before batching")


def reverse_padded(X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first ``lengths[b]`` steps of every row of ``X`` (B, T, ...); the padding stays where it is.

    ``[[a, b, c, pad], [d, e, pad, pad]]`` -> ``[[c, b, a, pad], [e, d, pad, pad]]``. Its own inverse.
    """
    validation.tensor(X, "X", shape=(("batch_size", "num_steps"), ("batch_size", "num_steps", "num_features")),
                      non_empty=True)
    lengths = validation.lengths(lengths, "lengths", batch_size=X.shape[0], max_len=X.shape[1],
                                 hint="one length per row of X, each from 1 to X.shape[1]")
    T = X.shape[1]
    t = torch.arange(T, device=X.device).expand(X.shape[0], T)
    L = lengths.to(X.device).unsqueeze(1)
    index = torch.where(t < L, L - 1 - t, t)
    return X.gather(1, index.view(*index.shape, *[1] * (X.dim() - 2)).expand_as(X))


def bidirectional_states(forward_rnn: nn.Module, backward_rnn: nn.Module, E: torch.Tensor,
                         lengths: torch.Tensor) -> torch.Tensor:
    """``[h_fwd ; h_bwd]`` (B, T, 2h) from two one-way ``batch_first`` networks, zeros at padding.

    The backward network reads each sentence reversed within its length, so its first step is
    the sentence's last real word, never padding; its outputs are reversed back into place.
    Both read the padded batch as it is: their padding comes after the real words, which a one-way
    network reads before it, so the states of the real words equal those of a packed batch, and
    PyTorch can use its fused kernel for the whole batch (faster on a CPU than a packed batch).
    """
    validation.tensor(E, "E", shape=("batch_size", "num_steps", "num_inputs"), dtype="float", non_empty=True)
    lengths = validation.lengths(lengths, "lengths", batch_size=E.shape[0], max_len=E.shape[1],
                                 hint="one length per sentence of E, each from 1 to E.shape[1]")
    for name, rnn in (("forward_rnn", forward_rnn), ("backward_rnn", backward_rnn)):
        if not isinstance(rnn, nn.RNNBase) or not rnn.batch_first or rnn.bidirectional:
            raise validation.ArgumentTypeError(f"{name} must be a one-directional torch.nn RNN, LSTM or GRU "
                                               f"with batch_first=True, got {rnn!r:.60}")
    forward = forward_rnn(E)[0]
    backward = reverse_padded(backward_rnn(reverse_padded(E, lengths))[0], lengths)
    mask = padding_mask(lengths.to(E.device), E.shape[1]).unsqueeze(-1)
    return torch.cat([forward, backward], dim=-1).masked_fill(~mask, 0.0)
