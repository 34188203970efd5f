r"""Attention over a padded batch: the masked softmax, additive and dot-product scores, attention pooling.

A query :math:`\mathbf{q}_t` scores every key :math:`\mathbf{k}_i`; a softmax over the real positions
(mask :math:`m_i`) gives the weights, and the context is the weighted average of the keys:

.. math::

    \alpha_{ti} = \frac{m_i \exp(e_{ti})}{\sum_j m_j \exp(e_{tj})}, \qquad
    \mathbf{c}_t = \sum_i \alpha_{ti} \mathbf{k}_i

    e_{ti} = \mathbf{v}^\top \tanh(\mathbf{W}_q \mathbf{q}_t + \mathbf{W}_k \mathbf{k}_i)
    \ \text{(additive, Bahdanau)}, \qquad
    e_{ti} = \frac{(\mathbf{W}_q \mathbf{q}_t)^\top (\mathbf{W}_k \mathbf{k}_i)}{\sqrt{d}}
    \ \text{(scaled dot product)}

**Attention pooling** (Day 5) has one learned query: :math:`e_t = \mathbf{v}^\top \tanh(\mathbf{W}
\mathbf{h}_t + \mathbf{b})` and :math:`\mathbf{s} = \sum_t \alpha_t \mathbf{h}_t`, one vector per sentence.

==========  ===============  ===================================================
queries     (B, T, q)        e.g. the decoder's states
keys        (B, S, k)        e.g. the encoder's states (also the values)
mask        (B, S) bool      True at real positions (``seqlib.batching.padding_mask``)
weights     (B, T, S)        rows sum to 1 over the real positions, 0 at padding
context     (B, T, k)        the weighted average of the keys
==========  ===============  ===================================================

These run inside a model's forward and check nothing but their sizes; a row without any real position
(an empty sentence) would give NaN weights: the models and loaders refuse empty sentences.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from seqlib import validation

__all__ = ["masked_softmax", "additive_step", "AdditiveAttention", "DotProductAttention", "AttentionPooling"]


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Softmax over the last axis of ``scores`` (B, T, S) or (B, S) that gives padding (``mask`` (B, S)
    False) exactly zero weight: :math:`\\alpha_{ti} = m_i e^{e_{ti}} / \\sum_j m_j e^{e_{tj}}`."""
    if scores.dim() == 3:
        mask = mask[:, None, :]                     # the same mask for every query
    return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)


def additive_step(s, K, H, mask, W_q, v):
    r"""One decoder step of additive (Bahdanau) attention, the keys projected beforehand:

    .. math::

        e_i = \mathbf{v}^\top \tanh(\mathbf{W}_q \mathbf{s} + \mathbf{k}_i), \qquad
        \boldsymbol{\alpha} = \text{masked softmax}(\mathbf{e}), \qquad
        \mathbf{c} = \sum_i \alpha_i \mathbf{h}_i

    ========  ==============  ===================================================
    ``s``     (B, q)          the query (the decoder's state)
    ``K``     (B, S, a)       the keys :math:`\mathbf{k}_i = \mathbf{W}_k \mathbf{h}_i`, once per sentence
    ``H``     (B, S, k)       the values (the encoder's states)
    ``mask``  (B, S) bool     True at real positions
    ``W_q``   (a, q)
    ``v``     (a,)
    returns   (B, k), (B, S)  the context :math:`\mathbf{c}` and the weights :math:`\boldsymbol{\alpha}`
    ========  ==============  ===================================================

    Day 9's students write this function; the decoder then attends through theirs.
    """
    weights = masked_softmax(torch.tanh((s @ W_q.T)[:, None, :] + K) @ v, mask)
    return torch.bmm(weights[:, None, :], H)[:, 0], weights


class AdditiveAttention(nn.Module):
    r"""Bahdanau's score
    :math:`e_{ti} = \mathbf{v}^\top \tanh(\mathbf{W}_q \mathbf{s}_t + \mathbf{W}_k \mathbf{h}_i)`: the keys
    projected once, then one :func:`additive_step` per query (``step``: another function of the same
    signature, e.g. the one a student wrote).

    ``forward(queries (B, T, q), keys (B, S, k), mask (B, S))`` -> ``context (B, T, k), weights (B, T, S)``.
    """

    def __init__(self, query_size: int, key_size: int, num_hiddens: int, step=None):
        super().__init__()
        validation.positive_int(num_hiddens, "num_hiddens")
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)
        self.v = nn.Linear(num_hiddens, 1, bias=False)
        self.step = additive_step if step is None else validation.function(
            step, "step", "step(s, K, H, mask, W_q, v) -> (context, weights), e.g. seqlib.attention.additive_step")

    def forward(self, queries, keys, mask):
        K = self.W_k(keys)                                                    # (B, S, a): once per sentence
        steps = [self.step(q_t, K, keys, mask, self.W_q.weight, self.v.weight[0]) for q_t in queries.unbind(1)]
        return torch.stack([c for c, _ in steps], 1), torch.stack([w for _, w in steps], 1)


class DotProductAttention(nn.Module):
    r"""Scaled dot-product score
    :math:`e_{ti} = (\mathbf{W}_q \mathbf{s}_t)^\top (\mathbf{W}_k \mathbf{h}_i) / \sqrt{d}`,
    the transformer's (same shapes as :class:`AdditiveAttention`), for all queries at once."""

    def __init__(self, query_size: int, key_size: int, num_hiddens: int):
        super().__init__()
        self.d = validation.positive_int(num_hiddens, "num_hiddens")
        self.W_q = nn.Linear(query_size, num_hiddens, bias=False)
        self.W_k = nn.Linear(key_size, num_hiddens, bias=False)

    def scores(self, queries, keys):
        return self.W_q(queries) @ self.W_k(keys).transpose(1, 2) / math.sqrt(self.d)

    def forward(self, queries, keys, mask):
        weights = masked_softmax(self.scores(queries, keys), mask)
        return weights @ keys, weights


class AttentionPooling(nn.Module):
    r"""A learned weighted average of the states of the real tokens (one query per sentence).

    ``forward(H (B, T, D), mask (B, T))`` -> ``(s (B, D), alpha (B, T))``, ``alpha = 0`` at padding.
    """

    def __init__(self, num_inputs: int, num_hiddens: int | None = None):
        super().__init__()
        num_inputs = validation.positive_int(num_inputs, "num_inputs", hint="(D, the width of the states)")
        num_hiddens = num_inputs if num_hiddens is None else validation.positive_int(num_hiddens, "num_hiddens")
        self.W = nn.Linear(num_inputs, num_hiddens)
        self.v = nn.Linear(num_hiddens, 1, bias=False)

    def forward(self, H, mask):
        alpha = masked_softmax(self.v(torch.tanh(self.W(H))).squeeze(-1), mask)     # (B, T)
        return torch.bmm(alpha.unsqueeze(1), H).squeeze(1), alpha
