r"""Counting language models: n-grams of tokens (characters on Day 6) with proper smoothing.

An n-gram model of order ``n`` predicts a token ``w`` from its context ``h``, the ``n - 1`` tokens
before it: :math:`P(w \mid h) = c(h\,w) / c(h)` counted in the training text, 0 for an unseen n-gram
(an infinite loss), so held-out text needs *smoothing* (``smoothing=``):

``"add-k"`` (Lidstone; ``k = 1`` is Laplace), ``V`` = ``vocab_size``:

.. math::  P(w \mid h) = (c(h\,w) + k) / (c(h) + k V)

``"kn"``: interpolated Kneser-Ney. Every count loses a discount ``D_n`` and the mass freed goes to
the model of order ``n - 1`` (context ``h'`` = ``h`` without its first token), recursively:

.. math::

    P_n(w \mid h) = \frac{\max(c(h\,w) - D_n, 0)}{c(h)}
                    + \frac{D_n\, N_{1+}(h\,\cdot)}{c(h)}\, P_{n-1}(w \mid h'), \qquad
    P_0(w) = 1 / V

``N1+(h .)``: the distinct tokens seen after ``h``; lower orders count *continuations*, ``N1+(. h w)``;
``D_n = n_1 / (n_1 + 2 n_2)`` (``n_r``: n-grams seen ``r`` times). An unseen context falls back to
``P_{n-1}``. The loss is nats per token after the first. Every n-gram is one integer (its tokens as
digits in base ``V``), counted with ``np.unique``, looked up with ``np.searchsorted``.

======================  =================================  ======================================
``tokens``              ``(num_tokens,)``                  token indices in ``[0, vocab_size)``
``contexts``            ``(batch_size, context_length)``   the tokens before each prediction;
                                                           ``-1`` = no token (left padding)
``log_probs_next``      ``(batch_size, vocab_size)``       log-probabilities of the next token
``log_likelihoods``     ``(num_tokens - 1,)``              ``log P(x_t | context)`` for ``t >= 1``
======================  =================================  ======================================
"""

from __future__ import annotations

import math

import numpy as np
import torch

from seqlib import validation

__all__ = ["NgramLM", "to_bits"]

LN2 = math.log(2.0)


def to_bits(nats: float) -> float:
    """A loss in nats per token as bits per token: ``nats / ln 2``."""
    return validation.finite_number(nats, "nats") / LN2


def _as_tokens(tokens, vocab_size: int, name: str = "tokens") -> np.ndarray:
    """``tokens`` (a list, array or tensor of token indices) as a 1-d ``int64`` array, checked."""
    hint = "encode the text first: vocab[list(text)]"
    try:  # None or a string: an object or text array, which torch refuses
        array = np.asarray(tokens.detach().cpu() if isinstance(tokens, torch.Tensor) else tokens)
        ids = torch.as_tensor(array if array.size else array.astype(np.int64))
    except (TypeError, ValueError, RuntimeError):
        raise validation.ArgumentTypeError(f"{name} must be token indices, got {tokens!r:.40}; {hint}") from None
    return validation.token_ids(ids, name, vocab_size, shape=("num_tokens",), hint=hint).numpy().astype(np.int64)


def _ngram_codes(x: np.ndarray, n: int, V: int) -> np.ndarray:
    """Every run of ``n`` tokens of ``x`` as one integer, its tokens as digits in base ``V``."""
    codes = x[:len(x) - n + 1].copy()
    for i in range(1, n):
        codes = codes * V + x[i:len(x) - n + 1 + i]
    return codes


def _lookup(keys: np.ndarray, values: np.ndarray, query: np.ndarray) -> np.ndarray:
    """``values`` of ``query`` in the sorted ``keys`` (0 where a query is absent)."""
    if len(keys) == 0:
        return np.zeros(query.shape, dtype=values.dtype)
    i = np.minimum(np.searchsorted(keys, query), len(keys) - 1)
    return np.where(keys[i] == query, values[i], 0)


class _Table:
    """The counts of one order: n-gram codes (sorted) and counts, and per context its total and types."""

    def __init__(self, codes: np.ndarray, counts: np.ndarray, V: int):
        self.codes, self.counts = codes, counts
        contexts = codes // V                      # sorted, since codes are
        self.contexts, start = np.unique(contexts, return_index=True)
        self.totals = np.add.reduceat(counts, start) if len(codes) else counts[:0]
        self.types = np.diff(np.append(start, len(codes)))
        n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
        self.discount = min(max(n1 / (n1 + 2 * n2), 0.05), 0.95) if n1 + n2 else 0.5


class NgramLM:
    """An n-gram language model of ``order`` n over token indices ``0 .. vocab_size - 1``.

    ``smoothing="kn"`` (interpolated Kneser-Ney) or ``"add-k"`` with ``k``; ``fit(tokens)`` counts a
    training text, :meth:`loss` is nats per token, :meth:`tune_k` picks ``k`` on a validation text.
    """

    def __init__(self, order: int, vocab_size: int, smoothing: str = "kn", *, k: float = 1.0):
        self.order, self.vocab_size = map(validation.positive_int, (order, vocab_size), ("order", "vocab_size"))
        self.smoothing = validation.one_of(smoothing, "smoothing", ("kn", "add-k"), hint="'kn' = Kneser-Ney")
        self.k = validation.number_in_range(k, "k", 0, low_open=True, hint="the pseudo-count of add-k smoothing")
        validation.require(self.vocab_size ** self.order < 2 ** 62, "too many n-grams to number in 64 bits")
        self._tables: list[_Table] | None = None
        self.num_train_tokens = 0

    def fit(self, tokens) -> "NgramLM":
        """Count the n-grams of orders 1 to ``order`` of a training text; returns the model itself."""
        x = _as_tokens(tokens, self.vocab_size)
        validation.require(len(x) >= self.order, f"a text of {len(x)} tokens has no n-gram of order {self.order}")
        V, tables = self.vocab_size, []
        uniques = [np.unique(_ngram_codes(x, n, V), return_counts=True) for n in range(1, self.order + 1)]
        for n in range(1, self.order + 1):
            codes, counts = uniques[n - 1]
            if self.smoothing == "kn" and n < self.order:
                # continuation counts: how many distinct tokens precede each n-gram, N1+(. h w)
                codes, counts = np.unique(uniques[n][0] % V ** n, return_counts=True)
            tables.append(_Table(codes, counts, V))
        self._tables, self.num_train_tokens = tables, len(x)
        return self

    def _fitted(self) -> list[_Table]:
        validation.require(self._tables is not None, "nothing counted yet: call model.fit(tokens) first", RuntimeError)
        return self._tables

    def _probs(self, contexts: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """``P(targets[b] | contexts[b])`` for every row ``b``; the recursion of the module docstring."""
        V, B = self.vocab_size, len(targets)
        p = np.full(B, 1.0 / V)
        for n, table in enumerate(self._fitted(), start=1):
            m = n - 1                                         # context length of this order
            if m > contexts.shape[1]:
                break
            if m:
                ctx = contexts[:, contexts.shape[1] - m:]
                valid = (ctx >= 0).all(axis=1)
                h = np.zeros(B, dtype=np.int64)
                for j in range(m):
                    h = h * V + np.maximum(ctx[:, j], 0)
            else:
                valid, h = np.ones(B, dtype=bool), np.zeros(B, dtype=np.int64)
            c_hw = _lookup(table.codes, table.counts, h * V + targets).astype(float)
            c_h = _lookup(table.contexts, table.totals, h).astype(float)
            if self.smoothing == "add-k":                     # the highest order with a context decides
                p = np.where(valid, (c_hw + self.k) / (c_h + self.k * V), p)
                continue
            types = _lookup(table.contexts, table.types, h)
            D = table.discount
            with np.errstate(divide="ignore", invalid="ignore"):
                interpolated = (np.maximum(c_hw - D, 0.0) + D * types * p) / c_h
            p = np.where(valid & (c_h > 0), interpolated, p)  # an unseen context falls back to order n - 1
        return p

    def log_probs_next(self, contexts) -> np.ndarray:
        """``log P(w | context)`` for every token ``w``, ``(batch_size, vocab_size)``, of ``contexts``
        ``(batch_size, context_length)`` (``-1``: no token; a 1-d context is one row)."""
        array = np.asarray(contexts.detach().cpu() if isinstance(contexts, torch.Tensor) else contexts)
        array = array[None, :] if array.ndim == 1 else array
        well_formed = array.ndim == 2 and (array.size == 0 or np.issubdtype(array.dtype, np.integer))
        validation.require(well_formed, "contexts must be token indices (batch_size, context_length)", TypeError)
        in_range = array.size == 0 or (array.min() >= -1 and array.max() < self.vocab_size)
        validation.require(in_range, f"contexts hold token indices from 0 to {self.vocab_size - 1}, or -1 for none")
        return self._log_probs_next(array.astype(np.int64, copy=False))

    def _log_probs_next(self, contexts: np.ndarray) -> np.ndarray:
        B, V = len(contexts), self.vocab_size
        with np.errstate(divide="ignore"):
            return np.log(self._probs(np.repeat(contexts, V, axis=0), np.tile(np.arange(V), B)).reshape(B, V))

    def _windows(self, x: np.ndarray) -> np.ndarray:
        """The context of every token after the first: ``(num_tokens - 1, order - 1)``, ``-1``-padded."""
        padded = np.concatenate([np.full(self.order - 1, -1, dtype=np.int64), x])
        return np.lib.stride_tricks.sliding_window_view(padded, self.order - 1)[1:len(x)]

    def _text(self, tokens) -> np.ndarray:
        x = _as_tokens(tokens, self.vocab_size)
        validation.require(len(x) >= 2, "the text needs at least 2 tokens: the first one is only context")
        return x

    def log_likelihoods(self, tokens) -> np.ndarray:
        """``log P(x_t | x_{t-n+1} .. x_{t-1})`` for ``t = 1 .. num_tokens - 1``: shape ``(num_tokens - 1,)``."""
        x = _as_tokens(tokens, self.vocab_size)
        with np.errstate(divide="ignore"):
            return np.log(self._probs(self._windows(x), x[1:]))

    def predictions(self, tokens, *, chunk: int = 256):
        """``(log_probs, targets)`` pairs, ``(N, vocab_size)`` and ``(N,)``, over every token after the first, for
        :func:`seqlib.decoding.top_k_accuracy`; each distinct context scored once, ``chunk`` at a time."""
        x, chunk = self._text(tokens), validation.positive_int(chunk, "chunk")
        contexts, targets = self._windows(x), x[1:]
        unique, inverse = np.unique(contexts, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        order = np.argsort(inverse, kind="stable")
        bounds = np.searchsorted(inverse[order], np.arange(0, len(unique) + chunk, chunk))
        for i, start in enumerate(range(0, len(unique), chunk)):
            log_probs = self._log_probs_next(unique[start:start + chunk])            # (chunk, vocab_size)
            positions = order[bounds[i]:bounds[i + 1]]
            for j in range(0, len(positions), 1024):                                # bounded memory
                where = positions[j:j + 1024]
                yield log_probs[inverse[where] - start], targets[where]

    def loss(self, tokens) -> float:
        """Mean negative log-likelihood per token after the first, in nats (:func:`to_bits`; ``exp``: perplexity)."""
        return float(-self.log_likelihoods(self._text(tokens)).mean())

    def tune_k(self, val_tokens, ks=(1.0, 0.3, 0.1, 0.03, 0.01, 0.003, 0.001)) -> dict[float, float]:
        """Add-k smoothing: the validation loss (nats per token) of every ``k`` in ``ks``; sets ``self.k`` to the
        best. Everything is checked first: a call that fails leaves ``k`` as it was."""
        validation.require(self.smoothing == "add-k", "tune_k tunes add-k smoothing: build with smoothing='add-k'")
        ks = [validation.number_in_range(k, "k", 0, low_open=True) for k in validation.sequence(ks, "ks", non_empty=True)]
        x, before, losses = self._text(val_tokens), self.k, {}
        try:
            for k in ks:
                self.k = k
                losses[k] = self.loss(x)
        finally:
            self.k = before
        self.k = min(losses, key=losses.get)
        return losses

    def begin_state(self, batch_size: int = 1) -> np.ndarray:
        """The empty context of ``batch_size`` rows: shape ``(batch_size, order - 1)``, all ``-1``."""
        return np.full((validation.positive_int(batch_size, "batch_size"), self.order - 1), -1, dtype=np.int64)

    def step(self, state, tokens):
        """Read one token per row, return ``(log_probs, state)``: ``(batch_size, vocab_size)`` log-probabilities
        of the next token (a ``torch.float32`` tensor) and the context shifted by the token read."""
        tokens = np.asarray(tokens.cpu() if isinstance(tokens, torch.Tensor) else tokens, dtype=np.int64)
        state = np.concatenate([state, tokens[:, None]], axis=1)[:, 1:]  # drop the oldest token (order 1: none kept)
        return torch.from_numpy(self._log_probs_next(state)).float(), state

    def __repr__(self) -> str:
        extra = f", k={self.k:g}" if self.smoothing == "add-k" else ""
        fitted = f", fitted on {self.num_train_tokens:,} tokens" if self._tables is not None else ""
        return f"NgramLM(order={self.order}, vocab_size={self.vocab_size}, smoothing={self.smoothing!r}{extra}{fitted})"
