r"""Sequence labelling (Day 8): part-of-speech tagging on Universal Dependencies, from the files to the taggers.

The pieces, in the order a sentence meets them::

    CoNLL-U text --read_conllu--> Treebank: [(words, tags), ...]   (multi-word ranges, empty nodes skipped)
    words --Vocab.for_sentences (forms) / char_vocab (characters)--> ids;  tags --tag_ids--> 0..16 (UPOS)
    TaggedDataset + collate_tagged --> (X, lengths, C, C_index, Y)   one padded batch
    Tagger(X, lengths, C, C_index) --> emissions (B, T, K) --> argmax, or the CRF's Viterbi path

==========  ==================  ===================================================================
X           (B, T) long         word ids (``<unk>`` = 0 for forms unseen in training, ``<pad>`` = 1)
lengths     (B,) long           words per sentence, at least 1
C           (U, W) long         the characters of the U distinct word forms of the batch, padded
C_index     (B, T) long         the row of ``C`` of each word (0 at padding)
Y           (B, T) long         gold tag ids, :data:`PAD_TAG` (= -100, ignored by the loss) at padding
H           (B, T, D) float     states; D = ``num_hiddens``, doubled when bidirectional
emissions   (B, T, K) float     one score per tag (K = 17 universal tags)
==========  ==================  ===================================================================

A bidirectional layer (:func:`seqlib.batching.bidirectional_states`, its equations there) runs a
second recurrent network over each sentence reversed within its length and concatenates the two
states at every position. Baselines: :class:`MostFrequentTag` and NLTK's averaged
perceptron (:func:`perceptron_tagger`). The CRF output layer is :mod:`seqlib.crf`.
"""

from __future__ import annotations

import collections
import re
import weakref
from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from seqlib import validation
from seqlib.batching import bidirectional_states, padding_mask
from seqlib.crf import CRF
from seqlib.text import PAD_IDX, UNK_IDX, Vocab

__all__ = ["UPOS", "PAD_TAG", "Treebank", "read_conllu", "load_treebank", "tag_ids", "spell", "char_vocab",
           "TaggedDataset", "collate_tagged", "CharCNN", "Tagger",
           "predict", "accuracy", "MostFrequentTag", "perceptron_tagger", "tokenize_words", "tag_sentence"]

#: The 17 universal part-of-speech tags of Universal Dependencies (v2), alphabetical: the tag ids.
UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON", "PROPN",
        "PUNCT", "SCONJ", "SYM", "VERB", "X")
PAD_TAG = -100   # the target at padding: torch's cross_entropy ignores it (ignore_index)
_TAG_ID = {tag: i for i, tag in enumerate(UPOS)}


class Treebank(list):
    """Tagged sentences ``[(words, tags), ...]`` (a list), with what was skipped while reading them."""
    multiword_tokens = 0     # ranges such as "15-16 page's" (their words are kept)
    empty_nodes = 0          # enhanced-dependency nodes such as "8.1"

    @property
    def num_words(self) -> int:
        return sum(len(words) for words, _ in self)


def read_conllu(text: str) -> Treebank:
    """The word forms and UPOS tags of every sentence of a CoNLL-U text (parsed by the ``conllu`` package).

    Only syntactic words are kept (integer ids): a multi-word token's range line (``15-16 page's``,
    whose words ``page`` and ``'s`` follow on their own lines) and empty nodes (``8.1``) are skipped
    and counted. A sentence without words is dropped.
    """
    import conllu

    if not isinstance(text, str):
        raise validation.ArgumentTypeError(f"text must be the CoNLL-U text as a string, got {type(text).__name__}")
    bank = Treebank()
    for sentence in conllu.parse(text):
        words, tags = [], []
        for token in sentence:
            if isinstance(token["id"], int):
                words.append(token["form"])
                tags.append(token["upos"])
            elif isinstance(token["id"], tuple) and token["id"][1] == "-":
                bank.multiword_tokens += 1
            else:
                bank.empty_nodes += 1
        if words:
            bank.append((words, tags))
    return bank


def load_treebank(split: str, name: str = "ud-english-lines") -> Treebank:
    """One split (``"train"``, ``"dev"``, ``"test"``) of a treebank in :mod:`seqlib.data` (checksum verified)."""
    from seqlib.data import read_text

    validation.one_of(split, "split", ("train", "dev", "test"))
    return read_conllu(read_text(f"{name}-{split}"))


def tag_ids(tags: Sequence[str]) -> list[int]:
    """UPOS tags -> ids in :data:`UPOS` (``["DET", "NOUN"]`` -> ``[5, 7]``); a tag outside UPOS is an error."""
    validation.sequence(tags, "tags", of=str, what="a list of UPOS tags (strings)")
    unknown = sorted({t for t in tags if t not in _TAG_ID})
    if unknown:
        raise ValueError(f"tags {unknown} are not universal part-of-speech tags; UPOS has {', '.join(UPOS)}")
    return [_TAG_ID[t] for t in tags]


def _check_sentences(sentences, name: str = "sentences") -> list:
    """``sentences`` as a list of ``(words, tags)`` pairs of equal-length lists of strings, or a clear error."""
    validation.sequence(sentences, name, of=(tuple, list), non_empty=True,
                        what="a non-empty list of (words, tags) pairs, as read_conllu gives them")
    for k, pair in enumerate(sentences):
        if len(pair) != 2 or not all(isinstance(p, (list, tuple)) and all(isinstance(x, str) for x in p)
                                     for p in pair) or len(pair[0]) != len(pair[1]):
            raise validation.ArgumentTypeError(f"{name}[{k}] must be a pair (words, tags) of two lists of strings "
                                               f"of the same length, got {pair!r:.80}")
    return list(sentences)


BOW, EOW = "<w>", "</w>"   # begin and end of a word: a character model sees prefixes and suffixes as such


def spell(word: str) -> list[str]:
    """A word as the character model reads it: ``"cats"`` -> ``["<w>", "c", "a", "t", "s", "</w>"]``."""
    if not isinstance(word, str):
        raise validation.ArgumentTypeError(f"word must be a string, got {type(word).__name__}")
    return [BOW, *word, EOW]


def char_vocab(sentences) -> Vocab:
    """The characters of the training words and the word boundaries (``<unk>`` = 0, ``<pad>`` = 1, then by
    frequency)."""
    return Vocab.for_sentences([spell(w) for words, _ in _check_sentences(sentences) for w in words])


class TaggedDataset(torch.utils.data.Dataset):
    """Sentences encoded for a tagger: item ``i`` is ``(word ids (L,), forms, tag ids (L,))``.

    ``words`` is the word-form vocabulary of the training split (``Vocab.for_sentences``: forms
    never seen in training map to ``<unk>``), ``chars`` the character vocabulary
    (:func:`char_vocab`) or ``None`` for taggers that read words only.
    """

    def __init__(self, sentences, words: Vocab, chars: Vocab | None = None):
        if not isinstance(words, Vocab) or (chars is not None and not isinstance(chars, Vocab)):
            raise validation.ArgumentTypeError("words (and chars, if given) must be seqlib.text.Vocab objects")
        sentences = _check_sentences(sentences)
        self.chars = chars
        self.items = [(torch.tensor(words[list(w)], dtype=torch.long), list(w), torch.tensor(tag_ids(t)))
                      for w, t in sentences]

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]


_SPELLED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def collate_tagged(batch, chars: Vocab | None = None):
    """Pad a list of :class:`TaggedDataset` items into ``(X, lengths, C, C_index, Y)`` (shapes: module docstring).

    ``C`` holds the characters of each distinct word form of the batch once (``chars`` encodes
    them; without it ``C`` is a (1, 1) placeholder and ``C_index`` zeros).
    """
    if not batch:
        raise ValueError("batch is empty: pass at least one sentence")
    ids, forms, tags = zip(*batch)
    lengths = torch.tensor([len(x) for x in ids])
    if (lengths == 0).any():
        raise ValueError("a sentence of the batch has no words; drop empty sentences before batching")
    X = nn.utils.rnn.pad_sequence(list(ids), batch_first=True, padding_value=PAD_IDX)
    Y = nn.utils.rnn.pad_sequence(list(tags), batch_first=True, padding_value=PAD_TAG)
    if chars is None:
        return X, lengths, torch.full((1, 1), PAD_IDX), torch.zeros_like(X), Y
    rows: dict[str, int] = {}
    index = np.zeros(X.shape, dtype=np.int64)
    for b, sentence in enumerate(forms):
        index[b, :len(sentence)] = [rows.setdefault(w, len(rows)) for w in sentence]
    spelled = _SPELLED.setdefault(chars, {})           # each form's character ids, encoded once per vocabulary
    C = nn.utils.rnn.pad_sequence([spelled.get(w) if w in spelled else spelled.setdefault(
        w, torch.tensor(chars[spell(w)])) for w in rows], batch_first=True, padding_value=PAD_IDX)
    return X, lengths, C, torch.from_numpy(index), Y


class CharCNN(nn.Module):
    """A word's vector from its characters: embed, convolve (width ``width``), max over the positions.

    ``forward(C)`` with C (U, W) long character ids (``<pad>`` = 1) returns (U, ``num_filters``).
    """

    def __init__(self, num_chars: int, embed_size: int = 30, num_filters: int = 50, width: int = 3):
        super().__init__()
        for name, value in (("num_chars", num_chars), ("embed_size", embed_size), ("num_filters", num_filters),
                            ("width", width)):
            validation.positive_int(value, name)
        self.embedding = nn.Embedding(num_chars, embed_size, padding_idx=PAD_IDX)
        self.conv = nn.Conv1d(embed_size, num_filters, width, padding=width // 2)

    def forward(self, C):
        H = self.conv(self.embedding(C).transpose(1, 2))                      # (U, filters, W)
        return H.masked_fill((C == PAD_IDX).unsqueeze(1), float("-inf")).amax(2)


class Tagger(nn.Module):
    """Word embedding (+ :class:`CharCNN`) -> LSTM layers -> dropout -> linear -> emissions.

    Each layer is one one-way ``nn.LSTM`` per direction, combined by :func:`bidirectional_states`
    (the same parameters, and the same states at real words, as ``nn.LSTM(bidirectional=True)``
    over a packed batch). States at padding are zero.

    ================  ====================================================================
    bidirectional     read each sentence both ways (:func:`bidirectional_states`)
    num_layers        stacked LSTM layers (a deep network: layer 2 reads layer 1's states)
    num_chars         size of the character vocabulary, or ``None`` for words only
    crf               a :class:`seqlib.crf.CRF` output layer instead of independent softmax
    word_dropout      in training, each word id becomes ``<unk>`` with this probability, so the
                      ``<unk>`` vector is trained (forms unseen in training read it)
    ================  ====================================================================

    ``forward(X, lengths, C, C_index)`` -> emissions (B, T, K); ``loss(..., Y)`` is the mean
    cross-entropy over real words, or the CRF's negative log-likelihood; ``decode(emissions, mask)``
    gives tag ids (B, T) (argmax or Viterbi), -1 at padding.
    """

    def __init__(self, num_words: int, num_tags: int = len(UPOS), embed_size: int = 100, num_hiddens: int = 100,
                 num_layers: int = 1, bidirectional: bool = True, num_chars: int | None = None,
                 char_embed: int = 30, char_filters: int = 50, dropout: float = 0.5, word_dropout: float = 0.0,
                 crf: bool = False):
        super().__init__()
        for name, value in (("num_words", num_words), ("num_tags", num_tags), ("embed_size", embed_size),
                            ("num_hiddens", num_hiddens), ("num_layers", num_layers), ("char_embed", char_embed),
                            ("char_filters", char_filters)):
            validation.positive_int(value, name)
        if num_chars is not None:
            validation.positive_int(num_chars, "num_chars", hint="(len(chars)) or None for words only")
        self.dropout_p = validation.probability(dropout, "dropout")
        self.word_dropout = validation.probability(word_dropout, "word_dropout")
        self.embedding = nn.Embedding(num_words, embed_size, padding_idx=PAD_IDX)
        with torch.no_grad():   # small vectors train faster than PyTorch's N(0, 1) (as Day 5's classifier)
            self.embedding.weight.uniform_(-0.1, 0.1)
            self.embedding.weight[PAD_IDX] = 0
        self.chars = CharCNN(num_chars, char_embed, char_filters) if num_chars else None
        inputs = embed_size + (char_filters if num_chars else 0)
        # one one-way LSTM per layer and direction; layer 2 reads layer 1's states, both directions
        directions = 2 if bidirectional else 1
        sizes = [inputs] + [directions * num_hiddens] * (num_layers - 1)
        self.forward_rnns = nn.ModuleList(nn.LSTM(n, num_hiddens, batch_first=True) for n in sizes)
        self.backward_rnns = nn.ModuleList(nn.LSTM(n, num_hiddens, batch_first=True) for n in sizes) \
            if bidirectional else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(num_hiddens * (2 if bidirectional else 1), num_tags)
        self.crf = CRF(num_tags) if crf else None

    def encode(self, X, lengths, C=None, C_index=None):
        """States H (B, T, D) of the last layer, zeros at padding."""
        validation.token_ids(X, "X", self.embedding.num_embeddings)
        lengths = validation.lengths(lengths, "lengths", batch_size=X.shape[0], max_len=X.shape[1])
        if self.training and self.word_dropout > 0:
            drop = (torch.rand(X.shape, device=X.device) < self.word_dropout) & (X != PAD_IDX)
            X = X.masked_fill(drop, UNK_IDX)
        features = self.embedding(X)
        if self.chars is not None:
            features = torch.cat([features, self.chars(C)[C_index]], dim=-1)
        H = self.dropout(features)
        for layer, forward_rnn in enumerate(self.forward_rnns):
            if layer > 0:
                H = self.dropout(H)                   # between layers, as torch.nn.LSTM(dropout=...)
            if self.backward_rnns is None:            # one direction: the padding comes after the words
                mask = padding_mask(lengths.to(X.device), X.shape[1]).unsqueeze(-1)
                H = forward_rnn(H)[0].masked_fill(~mask, 0.0)
            else:
                H = bidirectional_states(forward_rnn, self.backward_rnns[layer], H, lengths)
        return H

    def forward(self, X, lengths, C=None, C_index=None):
        return self.head(self.dropout(self.encode(X, lengths, C, C_index)))

    def loss(self, X, lengths, C, C_index, Y):
        emissions = self(X, lengths, C, C_index)
        if self.crf is None:
            return nn.functional.cross_entropy(emissions.transpose(1, 2), Y, ignore_index=PAD_TAG)
        return self.crf.nll(emissions, Y.clamp(min=0), Y != PAD_TAG)

    def decode(self, emissions, mask):
        """Tag ids (B, T), -1 at padding: the CRF's Viterbi path, or each position's argmax."""
        if self.crf is not None:
            return self.crf.viterbi(emissions, mask)[0]
        return emissions.argmax(-1).masked_fill(~mask, -1)


@torch.no_grad()
def predict(model: Tagger, loader) -> tuple[list[list[int]], list[list[int]]]:
    """``(gold, predicted)`` tag ids of every sentence of ``loader`` (in its order), model in eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    gold, pred = [], []
    try:
        for X, lengths, C, C_index, Y in loader:
            mask = padding_mask(lengths, X.shape[1]).to(device)
            tags = model.decode(model(X.to(device), lengths, C.to(device), C_index.to(device)), mask).cpu()
            for b, L in enumerate(lengths.tolist()):
                gold.append(Y[b, :L].tolist())
                pred.append(tags[b, :L].tolist())
    finally:
        model.train(was_training)
    return gold, pred


def accuracy(gold, pred, select=None) -> float:
    """Share of words whose predicted tag is the gold one; ``select`` (a list of boolean lists) picks words."""
    for name, value in (("gold", gold), ("pred", pred)):
        validation.sequence(value, name, of=(list, tuple, np.ndarray), non_empty=True,
                            what="a list of tag-id lists, one per sentence")
    if select is not None:
        validation.sequence(select, "select", of=(list, tuple, np.ndarray), what="a list of boolean lists")
    g, p = np.concatenate([np.asarray(s) for s in gold]), np.concatenate([np.asarray(s) for s in pred])
    if g.shape != p.shape or len(gold) != len(pred):
        raise ValueError(f"gold has {g.size} words but pred {p.size}: the sentences do not match")
    if select is not None:
        keep = np.concatenate([np.asarray(s, dtype=bool) for s in select])
        g, p = g[keep], p[keep]
    return float((g == p).mean()) if g.size else float("nan")


class MostFrequentTag:
    """The baseline: each word's most frequent tag in training; unseen words get ``unknown``'s rule.

    ``unknown="most_frequent"``: the most frequent tag of all (NOUN). ``"suffix"``: the most
    frequent tag of training words ending in the same three letters, with capitalised words
    PROPN and numbers NUM, falling back to the most frequent tag.
    """

    def __init__(self, unknown: str = "most_frequent"):
        self.unknown = validation.one_of(unknown, "unknown", ("most_frequent", "suffix"))

    def fit(self, sentences) -> MostFrequentTag:
        sentences = _check_sentences(sentences)
        by_word, by_suffix = collections.defaultdict(collections.Counter), collections.defaultdict(collections.Counter)
        for words, tags in sentences:
            for w, t in zip(words, tags):
                by_word[w][t] += 1
                by_suffix[w[-3:].lower()][t] += 1
        self.best = {w: c.most_common(1)[0][0] for w, c in by_word.items()}
        self.suffix = {s: c.most_common(1)[0][0] for s, c in by_suffix.items()}
        self.default = collections.Counter(t for _, tags in sentences for t in tags).most_common(1)[0][0]
        return self

    def tag_word(self, w: str) -> str:
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
        return [self.tag_word(w) for w in words]


def perceptron_tagger(sentences, nr_iter: int = 5, seed: int = 0):
    """NLTK's averaged perceptron tagger trained on ``sentences`` (nothing downloaded); ``.tag(words)``.
    Its training shuffles the sentences with Python's ``random``, seeded here with ``seed``."""
    import random
    from nltk.tag.perceptron import PerceptronTagger

    validation.positive_int(nr_iter, "nr_iter")
    seed = validation.non_negative_int(seed, "seed")
    sentences = _check_sentences(sentences)
    state = random.getstate()
    random.seed(seed)
    try:
        tagger = PerceptronTagger(load=False)
        tagger.train([list(zip(words, tags)) for words, tags in sentences], nr_iter=nr_iter)
    finally:
        random.setstate(state)
    return tagger


_CLITIC = re.compile(r"(n't|'s|'re|'ve|'d|'ll|'m)\b", re.IGNORECASE)
_WORD = re.compile(r"n't|'\w+|\w+(?:[-.]\w+)*|[^\w\s]", re.IGNORECASE)


def tokenize_words(text: str) -> list[str]:
    """Split a typed sentence into words as UD English does, keeping their case:
    ``"The dog doesn't bark."`` -> ``["The", "dog", "does", "n't", "bark", "."]``."""
    if not isinstance(text, str):
        raise validation.ArgumentTypeError(f"text must be a string (a sentence), got {type(text).__name__}")
    return _WORD.findall(_CLITIC.sub(r" \1", text))


@torch.no_grad()
def tag_sentence(model: Tagger, words: Vocab, chars: Vocab | None, tokens: Sequence[str]) -> list[dict]:
    """Tag one tokenised sentence: per word its tag and probability (softmax of the emissions), and the
    CRF's path tag when the model has a CRF. Returns ``[{"word", "tag", "p", "crf", "known"}, ...]``."""
    validation.sequence(tokens, "tokens", of=str, non_empty=True, what="a non-empty list of words")
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        item = (torch.tensor(words[list(tokens)]), list(tokens), torch.zeros(len(tokens), dtype=torch.long))
        X, lengths, C, C_index, _ = collate_tagged([item], chars)
        emissions = model(X.to(device), lengths, C.to(device), C_index.to(device))
        p, best = torch.softmax(emissions[0], -1).max(-1)
        path = model.crf.viterbi(emissions)[0][0].tolist() if model.crf is not None else [None] * len(tokens)
    finally:
        model.train(was_training)
    return [{"word": w, "tag": UPOS[int(t)], "p": float(q), "crf": None if c is None else UPOS[c],
             "known": w in words.token_to_idx} for w, t, q, c in zip(tokens, best, p, path)]
