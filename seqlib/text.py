"""From text to tokens: preprocessing, tokenization, the vocabulary and the Time Machine corpus.

The functions follow *Dive into Deep Learning* (classic PyTorch edition, section 8.2) and
keep its semantics, so that :mod:`seqlib.d2l` can export them unchanged:

* :func:`preprocess` cleans one line: every run of non-letters becomes one space, the line
  is stripped and lower-cased. :func:`read_time_machine` applies it line by line and keeps
  the lines (joined without separator they make the 170,580-character corpus).
* :func:`tokenize` splits lines into word or character tokens.
* :class:`Vocab` maps tokens to indices and back, most frequent tokens first, index 0 is
  ``<unk>``.
* :func:`load_corpus_time_machine` returns the character corpus as a list of indices.

Course extras: :func:`ngrams` for Zipf's law and :func:`train_val_split`, which holds out
the *end* of a corpus as validation text.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence

__all__ = ["preprocess", "read_time_machine", "tokenize", "count_corpus", "Vocab",
           "load_corpus_time_machine", "ngrams", "train_val_split"]

_NON_LETTERS = re.compile("[^A-Za-z]+")


def preprocess(line: str) -> str:
    """``"The Time-Machine, by H.G. Wells"`` -> ``"the time machine by h g wells"``.

    Every run of characters other than ``A-Z``/``a-z`` becomes one space; the result is
    stripped and lower-cased. An empty or non-letter line becomes ``""``.
    """
    return _NON_LETTERS.sub(" ", line).strip().lower()


def read_time_machine() -> list[str]:
    """The lines of H. G. Wells' *The Time Machine*, each cleaned by :func:`preprocess`.

    Blank lines stay (as ``""``), so there are 3,221 lines; joined they hold 170,580
    characters. The file comes from :func:`seqlib.data.fetch` (checksum verified).
    """
    from seqlib.data import fetch

    with open(fetch("timemachine"), encoding="utf-8") as f:
        lines = f.readlines()
    return [preprocess(line) for line in lines]


def tokenize(lines: Sequence[str], token: str = "word") -> list[list[str]]:
    """Split each line into tokens: ``token="word"`` splits at white space, ``"char"`` into characters.

    ``tokenize(["the time"], "char")`` -> ``[["t", "h", "e", " ", "t", "i", "m", "e"]]``.
    """
    if isinstance(lines, str):
        raise TypeError("tokenize expects a list of lines, not one string; wrap it: tokenize([text], ...)")
    if token == "word":
        return [line.split() for line in lines]
    if token == "char":
        return [list(line) for line in lines]
    raise ValueError(f"unknown token type {token!r}; use token='word' or token='char'")


def count_corpus(tokens) -> collections.Counter:
    """Count tokens; ``tokens`` is a list of tokens or a list of lines of tokens (flattened first)."""
    if len(tokens) == 0 or isinstance(tokens[0], list):
        tokens = [token for line in tokens for token in line]
    return collections.Counter(tokens)


class Vocab:
    """A vocabulary: token <-> index, most frequent tokens first.

    ================  ==========================================================
    ``idx_to_token``  list: ``["<unk>", *reserved_tokens, *tokens by frequency]``
    ``token_to_idx``  dict: the inverse mapping
    ``vocab[token]``  its index; an unknown token gives ``vocab.unk`` (= 0)
    ``vocab[[t, ...]]``  a list (or tuple) of tokens gives a list of indices
    ``to_tokens(i)``  index (or list of indices) back to token(s)
    ``token_freqs``   ``[(token, count), ...]``, most frequent first
    ================  ==========================================================

    Tokens seen fewer than ``min_freq`` times are left out (they map to ``<unk>``). Ties in
    frequency keep the order in which the tokens first appear in the text.
    """

    def __init__(self, tokens=None, min_freq: int = 0, reserved_tokens=None):
        if tokens is None:
            tokens = []
        if reserved_tokens is None:
            reserved_tokens = []
        counter = count_corpus(tokens)
        self._token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)
        self.idx_to_token = ["<unk>"] + list(reserved_tokens)
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices):
        if hasattr(indices, "tolist"):  # a tensor or an array
            indices = indices.tolist()
        if not isinstance(indices, (list, tuple)):
            return self.idx_to_token[indices]
        return [self.idx_to_token[index] for index in indices]

    @property
    def unk(self) -> int:
        """Index of the unknown token ``<unk>``: 0."""
        return 0

    @property
    def token_freqs(self) -> list[tuple]:
        return self._token_freqs

    def __repr__(self) -> str:
        head = ", ".join(repr(t) for t in self.idx_to_token[:8])
        return f"Vocab({len(self)} tokens: {head}{', ...' if len(self) > 8 else ''})"


def load_corpus_time_machine(max_tokens: int = -1):
    """``(corpus, vocab)``: the Time Machine as character indices and its character vocabulary.

    ``corpus`` is a list of ints (170,580 of them; the first ``max_tokens`` if
    ``max_tokens > 0``), ``vocab`` has 28 tokens: ``<unk>``, space and the 26 letters.
    """
    lines = read_time_machine()
    tokens = tokenize(lines, "char")
    vocab = Vocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab


def ngrams(tokens: Sequence, n: int) -> list[tuple]:
    """All runs of ``n`` consecutive tokens: ``ngrams("abcd", 2)`` -> ``[("a","b"), ("b","c"), ("c","d")]``."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return list(zip(*(tokens[i:] for i in range(n))))


def train_val_split(corpus: Sequence, val_fraction: float = 0.1):
    """``(train, val)``: the last ``val_fraction`` of ``corpus`` is validation text, the rest training text.

    The split is a cut, not a shuffle: the validation text is a stretch of the book the model
    never reads during training, so its perplexity measures generalisation, not memory.
    """
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1 (exclusive), got {val_fraction}")
    cut = len(corpus) - int(round(len(corpus) * val_fraction))
    if cut <= 0 or cut >= len(corpus):
        raise ValueError(f"a corpus of {len(corpus)} tokens is too short to hold out {val_fraction:.0%}")
    return corpus[:cut], corpus[cut:]
