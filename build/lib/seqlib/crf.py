r"""A linear-chain conditional random field (CRF) output layer, written from scratch (Day 8).

A CRF scores a whole tag path :math:`\mathbf{y}` from the network's **emissions** :math:`\mathbf{E}`
(a score per position and tag), learned **transitions** :math:`A_{ij}` (tag i then j) and start and end scores:

.. math::

    s(\mathbf{y}) = \pi_{y_1} + \sum_{t=1}^{T} E_{t, y_t} + \sum_{t=2}^{T} A_{y_{t-1}, y_t} + \omega_{y_T},
    \qquad p(\mathbf{y} \mid \mathbf{x}) = \frac{\exp s(\mathbf{y})}{Z}, \qquad
    Z = \sum_{\mathbf{y}'} \exp s(\mathbf{y}') .

The **forward algorithm** sums the :math:`K^T` paths in :math:`O(T K^2)`, in log space:

.. math::

    \alpha_1(j) = \pi_j + E_{1j}, \qquad
    \alpha_t(j) = E_{tj} + \log \sum_i \exp\big(\alpha_{t-1}(i) + A_{ij}\big), \qquad
    \log Z = \log \sum_j \exp\big(\alpha_T(j) + \omega_j\big) .

**Viterbi decoding** takes a max instead and follows the back-pointers from the best last tag:

.. math::

    \delta_t(j) = E_{tj} + \max_i \big(\delta_{t-1}(i) + A_{ij}\big), \qquad
    b_t(j) = \operatorname{argmax}_i \big(\delta_{t-1}(i) + A_{ij}\big) .

Training minimises the negative log-likelihood :math:`\log Z - s(\mathbf{y})` of the gold path.

=============  ===============  =========================================================
emissions      (B, T, K) float  the network's score of each tag at each position
tags           (B, T) long      a tag path per sentence (values at padding are ignored)
mask           (B, T) bool      True at real tokens: a prefix of each row, at least one
transitions    (K, K)           :math:`A_{ij}`, from tag i (row) to tag j (column)
start, end     (K,)             :math:`\pi` and :math:`\omega`
score, log_Z   (B,)             :meth:`CRF.score`, :meth:`CRF.log_partition`
best paths     (B, T) long      :meth:`CRF.viterbi`, -1 at padding
=============  ===============  =========================================================

:func:`brute_force` enumerates every path of one short sentence, to check the forward algorithm and Viterbi.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from seqlib import validation

__all__ = ["CRF", "brute_force"]


_EMISSIONS = ("batch_size", "num_steps", "num_tags")
_PREFIX = "mask must be True on a prefix of each row: real tokens (at least one), then padding"


class CRF(nn.Module):
    """A linear-chain CRF over ``num_tags`` tags: learned transition, start and end scores (zero at first:
    then the CRF is independent softmax). ``score`` and ``log_partition`` are the equations above
    (``mask=None``: every position is real); ``nll`` (the loss, mean over real tokens) and ``viterbi``
    check their input once per call.
    """

    def __init__(self, num_tags: int):
        super().__init__()
        self.num_tags = validation.positive_int(num_tags, "num_tags", hint="(K, the number of tags)")
        self.transitions = nn.Parameter(torch.zeros(num_tags, num_tags))
        self.start = nn.Parameter(torch.zeros(num_tags))
        self.end = nn.Parameter(torch.zeros(num_tags))

    def _check(self, emissions, mask, tags=None):
        validation.tensor(emissions, "emissions", shape=_EMISSIONS, dtype="float", sizes={"num_tags": self.num_tags}, non_empty=True)
        mask = torch.ones_like(emissions[..., 0], dtype=torch.bool) if mask is None else mask
        validation.tensor(mask, "mask", shape=tuple(emissions.shape[:2]), dtype="bool", hint="True at real tokens")
        validation.require(bool(mask[:, 0].all()) and torch.equal(mask, mask.cummin(1).values), _PREFIX)
        if tags is not None:
            validation.tensor(tags, "tags", shape=tuple(mask.shape), dtype="integer")
            validation.token_ids(tags[mask], "tags at real tokens", self.num_tags, shape=("num_real",))
        return mask

    def nll(self, emissions, tags, mask=None):
        """Negative log-likelihood of the gold paths, summed over sentences, divided by the real tokens."""
        mask = self._check(emissions, mask, tags)
        return (self.log_partition(emissions, mask) - self.score(emissions, tags, mask)).sum() / mask.sum()

    def score(self, emissions, tags, mask=None):
        """:math:`s(\\mathbf{y})` of the given tag paths: (B, T, K), (B, T), (B, T) -> (B,)."""
        mask = emissions.new_ones(emissions.shape[:2], dtype=torch.bool) if mask is None else mask
        tags = tags.masked_fill(~mask, 0)
        m = mask.to(emissions.dtype)
        emit = emissions.gather(2, tags.unsqueeze(-1)).squeeze(-1)             # E[t, y_t]: (B, T)
        trans = self.transitions[tags[:, :-1], tags[:, 1:]]                     # A[y_{t-1}, y_t]
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)        # y_T of each sentence
        return (self.start[tags[:, 0]] + (emit * m).sum(1) + (trans * m[:, 1:]).sum(1) + self.end[last])

    def log_partition(self, emissions, mask=None):
        """:math:`\\log Z` by the forward algorithm in log space: (B, T, K), (B, T) -> (B,)."""
        alpha = self.start + emissions[:, 0]                                    # (B, K)
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + self.transitions, dim=1) + emissions[:, t]
            alpha = step if mask is None else torch.where(mask[:, t:t + 1], step, alpha)  # padding: keep alpha
        return torch.logsumexp(alpha + self.end, dim=1)

    @torch.no_grad()
    def viterbi(self, emissions, mask=None):
        """Best paths (B, T) long (-1 at padding) and their scores (B,), by Viterbi decoding."""
        mask = self._check(emissions, mask)
        B, T, K = emissions.shape
        delta = self.start + emissions[:, 0]
        identity = torch.arange(K, device=emissions.device).expand(B, K)
        pointers = []
        for t in range(1, T):
            best, arg = (delta.unsqueeze(2) + self.transitions).max(dim=1)      # over the previous tag i
            real = mask[:, t:t + 1]
            delta = torch.where(real, best + emissions[:, t], delta)
            pointers.append(torch.where(real, arg, identity))                   # padding: stay put
        scores, tag = (delta + self.end).max(dim=1)
        path = [tag]
        for arg in reversed(pointers):
            tag = arg.gather(1, tag.unsqueeze(1)).squeeze(1)
            path.append(tag)
        paths = torch.stack(path[::-1], dim=1)
        return paths.masked_fill(~mask, -1), scores


def brute_force(emissions, transitions, start, end):
    """Every path of one sentence, enumerated: ``(log_Z, best_path, best_score)``.

    ``emissions`` (T, K), ``transitions`` (K, K), ``start`` and ``end`` (K,): at most 100,000 paths.
    """
    T, K = emissions.shape
    validation.require(K ** T <= 100_000, f"{K}^{T} = {K ** T:,} paths are too many to enumerate")
    scores, paths = [], list(itertools.product(range(K), repeat=T))
    for y in paths:
        s = start[y[0]] + end[y[-1]] + sum(emissions[t, y[t]] for t in range(T))
        scores.append(s + sum(transitions[y[t - 1], y[t]] for t in range(1, T)))
    scores = torch.stack([torch.as_tensor(s, dtype=emissions.dtype) for s in scores])
    best = int(scores.argmax())
    return torch.logsumexp(scores, dim=0), list(paths[best]), scores[best]
