"""From text to tokens: readers, tokenizers, the one vocabulary, n-grams and splits.

* D2L (classic edition, 8.2), exported unchanged by :mod:`seqlib.d2l`: :func:`preprocess`,
  :func:`read_time_machine`, :func:`tokenize`, :class:`Vocab`, :func:`load_corpus_time_machine`.
* Sentences (Day 5), read by :func:`load_mr` or :func:`load_imdb`, split by :func:`stratified_split`::

    "It doesn't work."  --tokenize_sentence-->  ["it", "does", "n't", "work", "."]
                        --vocab.encode------->  [12, 57, 31, 402, 3]   (<unk> = 0, <pad> = 1)

* :func:`ngram_tuples` (runs of ``n`` tokens), :func:`ngram_features` (bag-of-n-grams features),
  :func:`train_val_split` (the *end* of a corpus as validation text).
"""

from __future__ import annotations

import collections
import collections.abc
import math
import numbers
import re
import unicodedata
from collections.abc import Iterable, Sequence

import numpy as np
import torch

from seqlib import validation
from seqlib.validation import non_negative_int, positive_int, require, sequence

__all__ = ["preprocess", "read_time_machine", "tokenize", "tokenize_sentence", "count_corpus", "Vocab",
           "PAD", "UNK", "PAD_IDX", "UNK_IDX", "load_corpus_time_machine", "load_mr", "load_imdb",
           "stratified_split", "ngram_tuples", "ngram_features", "train_val_split"]

PAD, UNK = "<pad>", "<unk>"
UNK_IDX, PAD_IDX = 0, 1     # the indices Vocab.for_sentences gives them

_NON_LETTERS = re.compile("[^A-Za-z]+")


def preprocess(line: str) -> str:
    """``"The Time-Machine, by H.G. Wells"`` -> ``"the time machine by h g wells"``: every run of
    non-letters becomes one space, stripped and lower-cased."""
    return _NON_LETTERS.sub(" ", line).strip().lower()


def read_time_machine() -> list[str]:
    """The 3,221 lines (blank ones as ``""``) of H. G. Wells' *The Time Machine*, cleaned by :func:`preprocess`."""
    from seqlib.data import fetch

    with open(fetch("timemachine"), encoding="utf-8") as f:
        lines = f.readlines()
    return [preprocess(line) for line in lines]


def tokenize(lines: Sequence[str], token: str = "word") -> list[list[str]]:
    """Split each line into tokens: ``token="word"`` splits at white space, ``"char"`` into characters.

    ``tokenize(["the time"], "char")`` -> ``[["t", "h", "e", " ", "t", "i", "m", "e"]]``.
    """
    validation.one_of(token, "token", ("word", "char"), hint="use token='word' or token='char'")
    sequence(lines, "lines", of=str, what="a list of lines (strings)", hint="wrap one text: tokenize([text], ...)")
    return [line.split() if token == "word" else list(line) for line in lines]


_CLITICS = re.compile(r"(n't|'s|'re|'ve|'d|'ll|'m)\b")
# a word: letters and digits of any script (``[^\W_]``, after NFC); any other visible character: a token
_WORD = r"[^\W_]+"
_TOKEN = re.compile(rf"n't|'[^\W\d_]+|{_WORD}(?:[-']{_WORD})*|[^\w\s]|_")


def tokenize_sentence(text: str) -> list[str]:
    """One sentence -> lower-case word tokens with punctuation and English clitics split off.

    ``"It doesn't work, it's DULL!"`` -> ``["it", "does", "n't", "work", ",", "it", "'s", "dull", "!"]``.
    Hyphenated and non-ASCII words stay whole (``"too-tepid"``, ``"déjà-vu"``); every negation shares ``n't``.
    """
    require(isinstance(text, str), f"text must be a string (one sentence), got {type(text).__name__}", TypeError)
    text = _CLITICS.sub(r" \1", unicodedata.normalize("NFC", text).lower())
    return _TOKEN.findall(text)


def count_corpus(tokens) -> collections.Counter:
    """Count tokens; ``tokens`` is a list of tokens or a list of lines of tokens (flattened first)."""
    sequence(tokens, "tokens", strings=True, what="a list of tokens or a list of lines of tokens")
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
    ``encode(s)``     a sentence (string or tokens) -> indices (Day 5)
    ``decode(ids)``   indices -> tokens, ``<pad>`` dropped (Day 5)
    ================  ==========================================================

    Tokens seen fewer than ``min_freq`` times map to ``<unk>``. Ties in frequency keep the order of
    first appearance (``ties="alphabetical"``: sorted). :meth:`for_sentences`: Day 5's, ``<pad>`` reserved.
    """

    def __init__(self, tokens=None, min_freq: int = 0, reserved_tokens=None, *, ties: str = "first_seen"):
        tokens, reserved_tokens = [] if tokens is None else tokens, list(reserved_tokens or [])
        validation.one_of(ties, "ties", ("first_seen", "alphabetical"))
        min_freq = non_negative_int(min_freq, "min_freq", hint="(tokens seen fewer times map to <unk>)")
        counter = count_corpus(tokens)
        self._token_freqs = sorted(counter.items(), key=lambda x: x[1], reverse=True)  # stable: ties first seen
        if ties == "alphabetical":
            self._token_freqs.sort(key=lambda x: (-x[1], x[0]))
        self.idx_to_token = [UNK] + list(reserved_tokens)
        self.token_to_idx = {token: idx for idx, token in enumerate(self.idx_to_token)}
        for token, freq in self._token_freqs:
            if freq < min_freq:
                break
            if token not in self.token_to_idx:
                self.idx_to_token.append(token)
                self.token_to_idx[token] = len(self.idx_to_token) - 1

    @classmethod
    def for_sentences(cls, tokenized: Iterable[Sequence[str]], min_freq: int = 1) -> Vocab:
        """The vocabulary of tokenised sentences: ``<unk>`` = 0, ``<pad>`` = 1, then every token seen at
        least ``min_freq`` times, most frequent first."""
        positive_int(min_freq, "min_freq")
        tokenized = list(tokenized) if isinstance(tokenized, collections.abc.Iterator) else tokenized  # a generator
        sequence(tokenized, "tokenized", of=(list, tuple), what="a list of tokenised sentences (lists of tokens)")
        return cls([list(t) for t in tokenized], min_freq=min_freq, reserved_tokens=[PAD])

    @classmethod
    def from_tokens(cls, idx_to_token: Sequence[str], token_freqs: Iterable = ()) -> Vocab:
        """The vocabulary with exactly these tokens at these indices (a saved vocabulary, read back):
        ``<unk>`` first, no token twice; ``token_freqs``: the training counts ``[(token, count), ...]``."""
        tokens = [str(t) for t in sequence(idx_to_token, "idx_to_token", of=(str,), what="the tokens in index order")]
        require(tokens[:1] == [UNK], f"idx_to_token must start with {UNK!r} (index 0), got {tokens[:1]}")
        twice = sorted(t for t, count in collections.Counter(tokens).items() if count > 1)[:5]
        require(not twice, f"idx_to_token holds a token more than once: {twice}")
        vocab = cls()
        vocab.idx_to_token = tokens
        vocab.token_to_idx = {token: idx for idx, token in enumerate(tokens)}
        vocab._token_freqs = [(str(t), int(c)) for t, c in token_freqs]
        return vocab

    def __len__(self) -> int:
        return len(self.idx_to_token)

    def __getitem__(self, tokens):
        if not isinstance(tokens, (list, tuple)):
            return self.token_to_idx.get(tokens, self.unk)
        return [self.__getitem__(token) for token in tokens]

    def to_tokens(self, indices):
        """The token of an index, or the tokens of a list (tuple, 1-d tensor, array) of indices, each in ``[0, len)``."""
        if isinstance(indices, (list, tuple)) and not indices:
            return []
        if not isinstance(indices, (list, tuple, torch.Tensor, np.ndarray, np.integer)):  # one index
            indices = min(non_negative_int(indices, "indices", hint="a token index, or a list of them"), 2**63 - 1)
        try:
            ids = torch.as_tensor(indices)
        except (TypeError, ValueError, RuntimeError, OverflowError):
            raise validation.ArgumentTypeError(f"indices must be token indices, got {indices!r:.80}") from None
        ids = validation.token_ids(ids, "indices", len(self), shape=((), ("num_tokens",))).tolist()
        return self.idx_to_token[ids] if isinstance(ids, int) else [self.idx_to_token[i] for i in ids]

    def encode(self, sentence: str | Sequence[str]) -> list[int]:
        """Indices of a sentence (a string is split by :func:`tokenize_sentence` first); ``[]`` for an empty one."""
        if isinstance(sentence, str):
            return self[tokenize_sentence(sentence)]
        sequence(sentence, "sentence", of=str, what="a string or a list of tokens (strings)")
        return self[list(sentence)]

    def decode(self, indices: Iterable[int]) -> list[str]:
        """Tokens of indices with ``<pad>`` dropped (``<unk>`` stays: the word itself is lost)."""
        indices = indices.tolist() if hasattr(indices, "tolist") else list(indices)
        pad = self.token_to_idx.get(PAD)
        return [self.idx_to_token[i] for i in indices if i != pad]

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
    """``(corpus, vocab)``: the Time Machine as 170,580 character indices (the first ``max_tokens`` if
    ``max_tokens > 0``) and its 28-token vocabulary (``<unk>``, space, 26 letters)."""
    if not (isinstance(max_tokens, numbers.Integral) and max_tokens < 0):  # negative: the whole corpus
        max_tokens = non_negative_int(max_tokens, "max_tokens", hint="-1 or 0 keeps the whole corpus")
    lines = read_time_machine()
    tokens = tokenize(lines, "char")
    vocab = Vocab(tokens)
    corpus = [vocab[token] for line in tokens for token in line]
    if max_tokens > 0:
        corpus = corpus[:max_tokens]
    return corpus, vocab


def load_mr() -> tuple[list[str], list[int]]:
    """Pang & Lee's (2005) sentence polarity data v1.0: ``(sentences, labels)``, 5,331 positive (1) then
    5,331 negative (0) snippets."""
    from seqlib import data

    sentences, labels = [], []
    for name, label in (("rt-polarity.pos", 1), ("rt-polarity.neg", 0)):
        lines = [line.strip() for line in data.read_text(name).splitlines()]
        lines = [line for line in lines if line]
        sentences += lines
        labels += [label] * len(lines)
    return sentences, labels


_BR = re.compile(r"<br\s*/?>", re.IGNORECASE)


def load_imdb(split: str = "train", limit: int | None = None) -> tuple[list[str], list[int]]:
    """IMDb reviews of Maas et al. (2011): ``(texts, labels)`` of ``split`` ("train" or "test"), 1 = positive,
    read from the archive without extracting it, positives first, by name; ``<br />`` becomes a space.
    ``limit``: the first ``limit`` reviews of each class."""
    import tarfile

    from seqlib import data

    validation.one_of(split, "split", ("train", "test"))
    found: dict[int, list[tuple[str, str]]] = {1: [], 0: []}
    with tarfile.open(data.fetch("aclImdb")) as tar:
        for member in tar:
            parts = member.name.split("/")
            if (member.isfile() and len(parts) == 4 and parts[0] == "aclImdb" and parts[1] == split
                    and parts[2] in ("pos", "neg") and parts[3].endswith(".txt")):
                text = tar.extractfile(member).read().decode("utf-8", errors="replace")
                found[int(parts[2] == "pos")].append((parts[3], _BR.sub(" ", text).strip()))
    texts, labels = [], []
    for label in (1, 0):
        reviews = [t for _, t in sorted(found[label])][:limit]
        texts += reviews
        labels += [label] * len(reviews)
    return texts, labels


def ngram_tuples(tokens: Sequence, n: int) -> list[tuple]:
    """Every run of ``n`` consecutive tokens, repeats kept, to count them:
    ``ngram_tuples("abcd", 2)`` -> ``[("a","b"), ("b","c"), ("c","d")]``."""
    return list(zip(*(tokens[i:] for i in range(positive_int(n, "n", hint="(the length of the n-grams)")))))


def ngram_features(tokens: Sequence[str], n: int = 2) -> list[str]:
    """The distinct 1- to n-grams of a sentence as strings (words joined by a space), in first-seen order.

    ``ngram_features(["not", "good", "not", "good"], 2)`` -> ``["not", "good", "not good", "good not"]``:
    the binary features of the bag-of-n-grams baseline (:class:`seqlib.baselines.NgramFeatures`).
    """
    n, tokens = positive_int(n, "n"), sequence(tokens, "tokens", of=str, what="a list of tokens (strings)")
    grams = []
    for k in range(1, n + 1):
        grams += [" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1)]
    return list(dict.fromkeys(grams))


def train_val_split(corpus: Sequence, val_fraction: float = 0.1):
    """``(train, val)``: the last ``val_fraction`` of ``corpus`` is validation text (a cut, not a shuffle:
    a stretch of the book the model never reads, so its perplexity measures generalisation)."""
    sequence(corpus, "corpus", strings=True, what="a corpus (a list of token indices or a string)")
    val_fraction = validation.number_in_range(val_fraction, "val_fraction", 0, 1, low_open=True, high_open=True)
    cut = len(corpus) - int(round(len(corpus) * val_fraction))
    require(0 < cut < len(corpus), f"a corpus of {len(corpus)} tokens is too short to hold out {val_fraction:.0%}")
    return corpus[:cut], corpus[cut:]


def stratified_split(labels: Sequence[int], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                     seed: int = 0) -> list[list[int]]:
    """Sorted index lists (one per fraction) that partition ``range(len(labels))``, each with the class mix
    of the whole: every class is shuffled with ``default_rng(seed)`` and cut at the cumulative fractions."""
    labels, seed = sequence(labels, "labels", non_empty=True), non_negative_int(seed, "seed")
    fractions = [float(f) for f in fractions]
    valid = min(fractions) >= 0 and math.isclose(sum(fractions), 1.0, abs_tol=1e-9)
    require(valid, f"fractions must be non-negative and sum to 1, got {fractions}")
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts: list[list[int]] = [[] for _ in fractions]
    bounds = np.cumsum([0.0, *fractions])
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        rng.shuffle(idx)
        cuts = np.round(bounds * len(idx)).astype(int)
        for k in range(len(fractions)):
            parts[k] += idx[cuts[k]:cuts[k + 1]].tolist()
    return [sorted(p) for p in parts]
