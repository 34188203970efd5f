r"""Variable-length batches: padding, masks, masked pooling, collate, length buckets, both directions.

A batch pads its sentences on the right to the longest one and keeps their true lengths; everything
downstream ignores the padding. One dataset, collate and loader serve Days 5, 8 and 9::

    PaddedDataset     items (tuples of fields) and a pad value per field (None: not padded)
    collate           B items -> (field 0 padded (B, T), lengths (B,), the other fields batched)
    make_loader       a DataLoader of collate batches; shuffle=True: length buckets, seeded

    SentenceDataset   (token ids, label)             -> X, lengths, y              (Day 5)
    TaggedDataset     (word ids, forms, tag ids)     -> X, lengths, C, C_index, Y  (Day 8, seqlib.tagging)
    PairDataset       (source, target in, target out) -> src, src_len, tgt_in, tgt_out (Day 9, seqlib.translation)

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

An **empty sentence** has no state: the datasets and :func:`collate` refuse it; what runs inside a model
(masks, poolings, reversal) checks nothing.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from seqlib import validation
from seqlib.text import PAD_IDX, UNK_IDX, Vocab

__all__ = ["PaddedDataset", "collate", "SentenceDataset", "LengthBucketSampler", "make_loader", "padding_mask",
           "masked_mean", "masked_max", "drop_words", "init_embedding", "reverse_padded", "bidirectional_states"]


class PaddedDataset(torch.utils.data.Dataset):
    """Items that are tuples of fields, and how :func:`collate` batches each field (``pad_values``): a number
    pads that field's 1-d tensors on the right, ``None`` stacks it (numbers) or keeps a list (word forms).
    An item's length for bucketing is that of its longest padded field.
    """

    def __init__(self, items, pad_values: Sequence = (PAD_IDX, None)):
        self.items, self.pad_values = list(items), tuple(pad_values)
        padded = [k for k, v in enumerate(self.pad_values) if v is not None]
        self.lengths = [max(len(item[k]) for k in padded) for item in self.items]
        validation.lengths(torch.tensor([len(item[0]) for item in self.items], dtype=torch.long), "the item lengths",
                           hint="drop empty sentences")

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def collate(self, batch):
        return collate(batch, self.pad_values)


def collate(batch, pad_values: Sequence = (PAD_IDX, None)):
    """Batch items field by field, the lengths of the first field after it: ``(ids, label)`` items give
    ``(X (B, T), lengths (B,), y (B,))``, X right-padded with ``<pad>``; ``(a, b, c)`` items give
    ``(A, lengths, B, C)``. An empty first field (a sentence without tokens) is a ``ValueError``."""
    validation.sequence(batch, "batch", non_empty=True, what="a list of items (tuples of fields)")
    lengths = validation.lengths([len(item[0]) for item in batch], "the lengths", hint="drop empty sentences")
    fields = []
    for values, pad in zip(zip(*batch), pad_values):
        if pad is not None:
            fields.append(nn.utils.rnn.pad_sequence(list(values), batch_first=True, padding_value=pad))
        elif isinstance(values[0], (int, float, torch.Tensor)):
            fields.append(torch.stack([torch.as_tensor(v) for v in values]))
        else:
            fields.append(list(values))
    return fields[0], lengths, *fields[1:]


class SentenceDataset(PaddedDataset):
    """Sentences encoded by :meth:`seqlib.text.Vocab.encode` (cut to ``max_len`` tokens) and their labels:
    item ``i`` is ``(token ids, float label)``."""

    def __init__(self, sentences: Sequence[str], labels: Sequence[int], vocab: Vocab,
                 max_len: int | None = None):
        validation.sequence(sentences, "sentences", of=str, what="a list of sentences (strings)")
        if max_len is not None:
            max_len = validation.positive_int(max_len, "max_len", hint="(tokens kept per sentence) or None")
        validation.sequence(labels, "labels", what="a list of labels (numbers), one per sentence")
        labels = torch.as_tensor(np.asarray(labels, dtype=np.float32)).reshape(-1)
        validation.same_length(sentences, labels, "sentences and labels", hint="give one label per sentence")
        ids = [torch.tensor(vocab.encode(s)[:max_len], dtype=torch.long) for s in sentences]
        super().__init__(zip(ids, labels))


class LengthBucketSampler(torch.utils.data.Sampler):
    """Batches of similar lengths (less padding), in a random order that changes every epoch: each epoch
    shuffles the items, sorts them by length within pools of ``pool`` batches, cuts the pools into batches
    and shuffles the batches, all drawn from one ``numpy.random.default_rng(seed)`` (reproducible).
    """

    def __init__(self, lengths, batch_size, seed, pool=50):
        self.batch_size, self.pool = (validation.positive_int(v, n)
                                      for v, n in ((batch_size, "batch_size"), (pool, "pool")))
        self.lengths = np.asarray(validation.sequence(lengths, "lengths", what="a list of lengths, one per item"))
        self.rng = np.random.default_rng(validation.non_negative_int(seed, "seed"))

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


def make_loader(dataset: PaddedDataset, batch_size: int = 64, shuffle: bool = False,
                seed: int = 0) -> torch.utils.data.DataLoader:
    """A DataLoader of the dataset's :meth:`~PaddedDataset.collate` batches, in the dataset's order, or with
    ``shuffle=True`` in batches of similar lengths (:class:`LengthBucketSampler`, seeded)."""
    batch_size = validation.positive_int(batch_size, "batch_size")
    validation.require(isinstance(dataset, PaddedDataset), "dataset must be a seqlib.batching.PaddedDataset, "
                       f"got {type(dataset).__name__}", TypeError)
    if shuffle:
        sampler = LengthBucketSampler(dataset.lengths, batch_size, seed)
        return torch.utils.data.DataLoader(dataset, batch_sampler=sampler, collate_fn=dataset.collate)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, collate_fn=dataset.collate)


def padding_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Boolean (B, T) mask, True at real tokens: ``mask[b, t] = t < lengths[b]`` (on the device of ``lengths``)."""
    lengths = torch.as_tensor(lengths)
    T = int(lengths.max()) if max_len is None else max_len
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def masked_mean(H: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""Mean of the states of the real tokens, :math:`\bar{\mathbf{h}}_b`: H (B, T, D), mask (B, T) bool -> (B, D)."""
    m = mask.unsqueeze(-1)
    return H.masked_fill(~m, 0.0).sum(1) / m.sum(1).clamp(min=1).to(H.dtype)


def masked_max(H: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""Feature-wise maximum over the real tokens, :math:`\hat{h}_{bd}`: H (B, T, D), mask (B, T) bool -> (B, D)."""
    return H.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


def drop_words(X: torch.Tensor, p: float, pad_idx: int = PAD_IDX, unk_idx: int = UNK_IDX) -> torch.Tensor:
    """Word dropout: each real token of X (B, T) becomes ``<unk>`` with probability ``p`` (trains ``<unk>``)."""
    return X.masked_fill((torch.rand(X.shape, device=X.device) < p) & (X != pad_idx), unk_idx)


def init_embedding(embedding: nn.Embedding, scale: float, pad_idx: int = PAD_IDX) -> nn.Embedding:
    """Embeddings uniform in ``[-scale, scale]`` (Kim 2014: 0.25), the ``<pad>`` row zero."""
    with torch.no_grad():
        embedding.weight.uniform_(-scale, scale)
        embedding.weight[pad_idx] = 0
    return embedding


def reverse_padded(X: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first ``lengths[b]`` steps of every row of ``X`` (B, T, ...); the padding stays where it is.

    ``[[a, b, c, pad], [d, e, pad, pad]]`` -> ``[[c, b, a, pad], [e, d, pad, pad]]``. Its own inverse.
    """
    T = X.shape[1]
    t = torch.arange(T, device=X.device).expand(X.shape[0], T)
    L = torch.as_tensor(lengths).to(X.device).unsqueeze(1)
    index = torch.where(t < L, L - 1 - t, t)
    return X.gather(1, index.view(*index.shape, *[1] * (X.dim() - 2)).expand_as(X))


def bidirectional_states(forward_rnn: nn.Module, backward_rnn: nn.Module, E: torch.Tensor,
                         lengths: torch.Tensor) -> torch.Tensor:
    """``[h_fwd ; h_bwd]`` (B, T, 2h) from two one-way ``batch_first`` networks, zeros at padding.

    The backward network reads each sentence reversed within its length (:func:`reverse_padded`); both
    read their padding after the real words, so the states of the real words equal those of a packed
    batch, with PyTorch's fused kernel over the whole batch.
    """
    forward = forward_rnn(E)[0]
    backward = reverse_padded(backward_rnn(reverse_padded(E, lengths))[0], lengths)
    mask = padding_mask(lengths.to(E.device), E.shape[1]).unsqueeze(-1)
    return torch.cat([forward, backward], dim=-1).masked_fill(~mask, 0.0)
