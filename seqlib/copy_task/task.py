r"""The copy task: samples, batches, and the accuracies that say whether a model copies.

One sample has ``L`` random symbols from the alphabet ``a x c r y w b t o``, then ``P``
delimiters (:data:`DELIMITER`, the dollar sign), then blanks ``" "``; the target is blank for
the first ``L + P`` positions, then the first ``O`` symbols of the input (``O <= L``); both have
length ``T = L + P + O``::

    input   a x c r y $ $ _ _ _        L = 5, P = 2, O = 3  (_ is the blank)
    target  _ _ _ _ _ _ _ a x c

Tokens (11 in all), as indices of :func:`vocab`, a :class:`seqlib.text.Vocab` whose unknown token
(index 0) is the blank:

=========  ==========  =================================================
index      token       role
=========  ==========  =================================================
0          ``" "``     the blank (``<unk>`` of the vocabulary)
1          dollar      the delimiter: the input is over, start copying
2 .. 10    ``a .. o``  the 9 symbols of :data:`ALPHABET`, in that order
=========  ==========  =================================================

Shapes: ``X`` and ``Y`` are ``(num_samples, T)`` integer tensors; the copied positions are the
last ``O`` columns. Accuracy over all ``T`` positions flatters a model: one
that copies nothing scores ``(L + P) / T`` (:func:`blank_baseline`); what matters is the accuracy
on the copied positions.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from seqlib import validation
from seqlib.text import Vocab

__all__ = ["ALPHABET", "DELIMITER", "BLANK", "TOKENS", "NUM_SYMBOLS", "BLANK_IDX", "DELIMITER_IDX", "vocab",
           "check_lengths", "make_sample", "make_dataset", "to_text", "copy_scores", "accuracies",
           "blank_baseline", "bits_to_store"]

ALPHABET = ("a", "x", "c", "r", "y", "w", "b", "t", "o")
DELIMITER, BLANK = "$", " "
TOKENS = (BLANK, DELIMITER) + ALPHABET
"""The 11 tokens in index order: the blank, the delimiter, the 9 symbols."""
NUM_SYMBOLS = len(ALPHABET)
BLANK_IDX, DELIMITER_IDX = 0, 1


def vocab() -> Vocab:
    """The copy task's vocabulary: ``<unk>`` (the blank) = 0, ``$`` = 1, then ``a x c r y w b t o`` = 2..10.

    A :class:`seqlib.text.Vocab`, so that a model saves with :mod:`seqlib.checkpoint`; a blank
    ``" "`` is an unknown token and maps to 0.
    """
    return Vocab(list(ALPHABET), reserved_tokens=[DELIMITER])


def check_lengths(seq_len, padding, output_len, *, names=("seq_len", "padding", "output_len")) -> tuple[int, int, int]:
    """``(L, P, O)`` checked: positive integers with ``O <= L``; errors name the argument (``names``)."""
    L, P, O = (validation.positive_int(v, name) for v, name in zip((seq_len, padding, output_len), names))
    validation.number_in_range(O, names[2], high=L, hint=f"it must not be longer than {names[0]} ({L})")
    return L, P, O


def _symbols(rng: np.random.Generator, num_samples: int, L: int) -> np.ndarray:
    """``(num_samples, L)`` symbol indices 2..10: ``rng.integers(NUM_SYMBOLS, size=...)`` shifted by 2."""
    return rng.integers(NUM_SYMBOLS, size=(num_samples, L)) + 2


def _assemble(symbols: np.ndarray, P: int, O: int) -> tuple[torch.Tensor, torch.Tensor]:
    n, L = symbols.shape
    X = np.full((n, L + P + O), BLANK_IDX, dtype=np.int64)
    Y = np.full((n, L + P + O), BLANK_IDX, dtype=np.int64)
    X[:, :L] = symbols
    X[:, L:L + P] = DELIMITER_IDX
    Y[:, L + P:] = symbols[:, :O]
    return torch.from_numpy(X), torch.from_numpy(Y)


def make_sample(seq_len: int, padding: int, output_len: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """One sample ``(x, y)``, each of shape ``(L + P + O,)``, drawn from ``np.random.default_rng(seed)``.

    The ``L`` symbols are ``ALPHABET[k]`` for ``k`` in ``rng.integers(9, size=L)`` (indices ``k + 2``).
    """
    X, Y = make_dataset(1, seq_len, padding, output_len, seed)
    return X[0], Y[0]


def make_dataset(num_samples: int, seq_len: int, padding: int, output_len: int, seed: int) -> tuple[torch.Tensor,
                                                                                                   torch.Tensor]:
    """``(X, Y)``: ``num_samples`` samples, each ``(num_samples, L + P + O)``, from ``default_rng(seed)``.

    ``seq_len`` may also be a ``(low, high)`` pair (training on mixed lengths): each sample's
    ``L`` is drawn uniformly from ``low .. high`` (``low >= output_len``), ``O`` stays ``output_len``;
    the samples are then a list of ``(x, y)`` pairs of different lengths (:func:`seqlib.copy_task.fit_options`
    batches them by length).
    """
    num_samples = validation.positive_int(num_samples, "num_samples")
    seed = validation.non_negative_int(seed, "seed")
    rng = np.random.default_rng(seed)
    if isinstance(seq_len, (tuple, list)):
        low, high = seq_len
        for i, L in enumerate((low, high)):
            check_lengths(L, padding, output_len, names=(f"seq_len[{i}]", "padding", "output_len"))
        pairs = (_assemble(_symbols(rng, 1, int(L)), padding, output_len) for L in rng.integers(low, high + 1,
                                                                                               size=num_samples))
        return [(X[0], Y[0]) for X, Y in pairs]
    L, P, O = check_lengths(seq_len, padding, output_len)
    return _assemble(_symbols(rng, num_samples, L), P, O)


def to_text(ids) -> str:
    """Token indices (a sequence or 1-d tensor) as characters: ``"axc$$   "``."""
    ids = [int(i) for i in (ids.tolist() if isinstance(ids, torch.Tensor) else ids)]
    validation.require(all(0 <= i < len(TOKENS) for i in ids), f"to_text: token ids must lie in 0..10, got {ids}")
    return "".join(TOKENS[i] for i in ids)


def copy_scores(logits: torch.Tensor, Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(per_position, sequence)`` of a batch of one length: ``per_position`` ``(O,)``, the accuracy at
    each copied position, and ``sequence``, the share of samples whose copied positions are all right.

    ``logits`` ``(batch_size, T, 11)``, ``Y`` ``(batch_size, T)``; the copied positions are the last
    ``O``, those whose target is a symbol (not the blank, index 0).
    """
    correct = logits.argmax(dim=-1) == Y
    O = int((Y[0] != BLANK_IDX).sum())
    copied = correct[:, Y.shape[1] - O:].float()
    return copied.mean(dim=0), copied.min(dim=1).values.mean()


def accuracies(logits: torch.Tensor, Y: torch.Tensor, scores=copy_scores) -> dict:
    """The accuracies of a batch of one length: ``all`` positions, the ``copy`` positions (the mean of
    ``per_position``), ``per_position`` and ``sequence`` from ``scores(logits, Y)`` (:func:`copy_scores`,
    or a student's own)."""
    per_position, sequence = scores(logits, Y)
    per_position = torch.as_tensor(per_position, dtype=torch.float32).cpu()
    return {"all": (logits.argmax(-1) == Y).float().mean().item(), "copy": per_position.mean().item(),
            "per_position": per_position, "sequence": float(sequence)}


def blank_baseline(seq_len: int, padding: int, output_len: int) -> float:
    """All-position accuracy of a model that always outputs the blank: ``(L + P) / (L + P + O)``."""
    L, P, O = check_lengths(seq_len, padding, output_len)
    return (L + P) / (L + P + O)


def bits_to_store(output_len: int) -> float:
    """Bits the state must hold to copy ``output_len`` symbols: ``O * log2(9)``."""
    return validation.positive_int(output_len, "output_len") * math.log2(NUM_SYMBOLS)
