r"""The baselines a neural model must beat: a bag of n-grams for sentences (Day 5), counting taggers (Day 8).

- :class:`NgramFeatures` and :class:`BagOfNgrams`: logistic regression on binary bag-of-n-gram
  features, optionally with NBSVM's naive-Bayes scaling (Day 5)
- :class:`MostFrequentTag`: each word's most frequent training tag, a rule for unseen words (Day 8)
- :func:`perceptron_tagger`: NLTK's averaged perceptron tagger, trained on the treebank (Day 8)
- :class:`Gazetteer`: the named entities seen in training, found again by longest match (Day 8 part B)
"""

from __future__ import annotations

import collections
import re
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from seqlib import validation
from seqlib.entities import bio_spans
from seqlib.text import Vocab, ngram_features
from seqlib.treebank import check_sentences

__all__ = ["NgramFeatures", "BagOfNgrams", "MostFrequentTag", "perceptron_tagger", "Gazetteer"]


class NgramFeatures:
    """Binary bag-of-n-gram features of tokenised sentences, for :class:`BagOfNgrams`: ``self.vocab`` holds
    ``<unk>`` (dropped when encoding), then the n-grams seen ``min_freq`` times or more, most frequent first."""

    def __init__(self, tokenized: Sequence[Sequence[str]], n: int = 2, min_freq: int = 1):
        validation.sequence(tokenized, "tokenized", of=(list, tuple), what="a list of token lists (lists of strings)")
        self.n, min_freq = validation.positive_int(n, "n"), validation.positive_int(min_freq, "min_freq")
        self.vocab = Vocab([ngram_features(toks, n) for toks in tokenized], min_freq=min_freq,
                           ties="alphabetical")
        self._encoded: dict[tuple, list[int]] = {}

    def __len__(self):
        return len(self.vocab)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Feature indices of a sentence's n-grams, unknown ones dropped (each sentence encoded once)."""
        key = tuple(tokens)
        if key not in self._encoded:
            self._encoded[key] = [i for i in self.vocab[ngram_features(tokens, self.n)] if i != self.vocab.unk]
        return list(self._encoded[key])

    def batch(self, tokenized: Sequence[Sequence[str]]):
        """``(ids, offsets)`` for :class:`BagOfNgrams` (an ``nn.EmbeddingBag`` input)."""
        validation.sequence(tokenized, "tokenized", of=(list, tuple), non_empty=True, what="a list of token lists")
        encoded = [self.encode(t) for t in tokenized]
        offsets = torch.tensor([0, *np.cumsum([len(e) for e in encoded])[:-1]], dtype=torch.long)
        return torch.tensor([i for e in encoded for i in e], dtype=torch.long), offsets

    def collate(self, batch):
        """A list of ``(tokens, label)`` pairs -> ``(ids, offsets, y)``, a batch for :func:`seqlib.training.fit`."""
        tokens, labels = zip(*batch)
        return (*self.batch(tokens), torch.tensor(labels, dtype=torch.float32))


class BagOfNgrams(nn.Module):
    r"""Logistic regression on binary bag-of-n-gram features (:class:`NgramFeatures`).

    .. math::

        z = b + \sum_{g \in x} r_g w_g

    over the distinct n-grams :math:`g` of sentence :math:`x`; ``scale`` (num_features,) is :math:`r`,
    e.g. NBSVM's naive-Bayes log-count ratio (Wang & Manning 2012, :meth:`nb_ratio`), else 1.
    ``forward(ids, offsets)`` -> logits (B,).
    """

    def __init__(self, num_features: int, scale: torch.Tensor | None = None):
        super().__init__()
        n = validation.positive_int(num_features, "num_features", hint="(len(features))")
        if scale is not None:
            validation.tensor(scale, "scale", shape=("num_features",), sizes={"num_features": n}, dtype="float", finite=True)
        self.bag = nn.EmbeddingBag(n, 1, mode="sum")
        nn.init.zeros_(self.bag.weight)
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("scale", scale if scale is not None else torch.ones(n))

    def forward(self, ids, offsets):
        validation.token_ids(ids, "ids", self.bag.num_embeddings, shape=("num_ids",), hint="from NgramFeatures.batch")
        validation.require(int(offsets.max()) <= len(ids), "offsets point past the end of ids: use NgramFeatures.batch")
        return self.bag(ids, offsets, per_sample_weights=self.scale[ids]).squeeze(-1) + self.bias

    @staticmethod
    def nb_ratio(ids, offsets, y, num_features: int, alpha: float = 1.0) -> torch.Tensor:
        r"""Naive-Bayes log-count ratio of binary features (``ids, offsets`` as :meth:`NgramFeatures.batch` gives).

        .. math::

            r = \log \frac{(\alpha + p) / \lVert \alpha + p \rVert_1}{(\alpha + q) / \lVert \alpha + q \rVert_1}

        with :math:`p`, :math:`q` the number of positive and negative sentences holding each feature.
        """
        sample = torch.repeat_interleave(torch.arange(len(offsets)),
                                         torch.diff(torch.cat([offsets, torch.tensor([len(ids)])])))
        p = torch.full((num_features,), alpha).index_add_(0, ids, (y[sample] == 1).float())
        q = torch.full((num_features,), alpha).index_add_(0, ids, (y[sample] == 0).float())
        return torch.log(p / p.sum()) - torch.log(q / q.sum())


class MostFrequentTag:
    """Each word's most frequent tag in training; an unseen word gets, with ``unknown="most_frequent"``, the
    most frequent tag of all (NOUN), with ``"suffix"``: NUM for a number, PROPN if capitalised, else the
    most frequent tag of training words with the same last three letters (or of all).
    """

    def __init__(self, unknown: str = "most_frequent"):
        self.unknown = validation.one_of(unknown, "unknown", ("most_frequent", "suffix"))

    def fit(self, sentences) -> MostFrequentTag:
        sentences = check_sentences(sentences)
        by_word, by_suffix = collections.defaultdict(collections.Counter), collections.defaultdict(collections.Counter)
        for words, tags in sentences:
            for w, t in zip(words, tags):
                by_word[w][t] += 1
                by_suffix[w[-3:].lower()][t] += 1
        self.best = {w: c.most_common(1)[0][0] for w, c in by_word.items()}
        self.suffix = {s: c.most_common(1)[0][0] for s, c in by_suffix.items()}
        self.default = collections.Counter(t for _, tags in sentences for t in tags).most_common(1)[0][0]
        return self

    def _tag_word(self, w: str) -> str:
        if w in self.best:
            return self.best[w]
        if self.unknown == "most_frequent":
            return self.default
        if re.fullmatch(r"[\d.,:/-]+", w) and any(ch.isdigit() for ch in w):
            return "NUM"
        if w[:1].isupper():
            return "PROPN"
        return self.suffix.get(w[-3:].lower(), self.default)

    def tag(self, words: Sequence[str]) -> list[str]:
        validation.sequence(words, "words", of=str, what="a list of words (tokenize_words(text))")
        validation.require(hasattr(self, "best"), "not trained yet: call .fit(sentences) first", RuntimeError)
        return [self._tag_word(w) for w in words]


def perceptron_tagger(sentences, nr_iter: int = 5, seed: int = 0):
    """NLTK's averaged perceptron tagger trained on ``sentences`` (nothing downloaded); ``.tag(words)``.
    Its training shuffles with Python's ``random``, seeded with ``seed`` (the global state is restored)."""
    import random
    from nltk.tag.perceptron import PerceptronTagger

    nr_iter, seed = validation.positive_int(nr_iter, "nr_iter"), validation.non_negative_int(seed, "seed")
    sentences = check_sentences(sentences)
    state = random.getstate()
    random.seed(seed)
    try:
        tagger = PerceptronTagger(load=False)
        tagger.train([list(zip(words, tags)) for words, tags in sentences], nr_iter=nr_iter)
    finally:
        random.setstate(state)
    return tagger


class Gazetteer:
    """A list of names: every entity of the training sentences (its words, :func:`seqlib.entities.bio_spans`)
    with its most frequent type. :meth:`tag` reads a sentence left to right and, at each word, tags the
    longest listed entity that starts there (``B-X I-X ...``), else ``O``; words match exactly, or with
    ``ignore_case`` in lower case.
    """

    def __init__(self, ignore_case: bool = False):
        self.ignore_case = bool(ignore_case)

    def _key(self, words) -> tuple[str, ...]:
        return tuple(w.lower() for w in words) if self.ignore_case else tuple(words)

    def fit(self, sentences) -> Gazetteer:
        counts = collections.defaultdict(collections.Counter)
        for words, tags in check_sentences(sentences):
            for kind, start, end in bio_spans(tags):
                counts[self._key(words[start:end])][kind] += 1
        self.entries = {form: c.most_common(1)[0][0] for form, c in counts.items()}
        self.longest = max(map(len, self.entries), default=0)
        return self

    def tag(self, words: Sequence[str]) -> list[str]:
        validation.sequence(words, "words", of=str, what="a list of words")
        validation.require(hasattr(self, "entries"), "not trained yet: call .fit(sentences) first", RuntimeError)
        key, tags, t = self._key(words), [], 0
        while t < len(key):
            n = next((n for n in range(min(self.longest, len(key) - t), 0, -1) if key[t:t + n] in self.entries), 0)
            if n == 0:
                tags.append("O")
                t += 1
                continue
            kind = self.entries[key[t:t + n]]
            tags += [f"B-{kind}"] + [f"I-{kind}"] * (n - 1)
            t += n
        return tags
