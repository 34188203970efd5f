r"""Sequence labelling (Day 8): part-of-speech taggers over padded batches of words and their characters.

The pieces, in the order a sentence meets them (reading the treebank: :mod:`seqlib.treebank`)::

    words --Vocab.for_sentences (forms) / char_vocab (characters)--> ids;  tags --tag_ids--> 0..16 (UPOS)
    TaggedDataset + seqlib.batching.make_loader --> (X, lengths, C, C_index, Y)   one padded batch
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

Both directions: :func:`seqlib.batching.bidirectional_states`; the CRF: :mod:`seqlib.crf`; the baselines:
:mod:`seqlib.baselines`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from seqlib import validation
from seqlib.batching import PaddedDataset, bidirectional_states, collate, drop_words, init_embedding, padding_mask
from seqlib.crf import CRF
from seqlib.text import PAD_IDX, Vocab
from seqlib.training import eval_mode
from seqlib.treebank import UPOS, check_sentences, tag_ids

__all__ = ["PAD_TAG", "spell", "char_vocab", "TaggedDataset", "CharCNN", "Tagger",
           "predict_tags", "tag_sentence"]

PAD_TAG = -100   # the target at padding: torch's cross_entropy ignores it (ignore_index)
BOW, EOW = "<w>", "</w>"   # begin and end of a word: a character model sees prefixes and suffixes as such


def spell(word: str) -> list[str]:
    """A word as the character model reads it: ``"cats"`` -> ``["<w>", "c", "a", "t", "s", "</w>"]``."""
    return [BOW, *word, EOW]


def char_vocab(sentences) -> Vocab:
    """The characters of the training words and the word boundaries (``<unk>`` 0, ``<pad>`` 1, then by frequency)."""
    return Vocab.for_sentences([spell(w) for words, _ in check_sentences(sentences) for w in words])


class TaggedDataset(PaddedDataset):
    """Sentences encoded for a tagger: item ``i`` is ``(word ids (L,), forms, tag ids (L,))``; a batch
    (:func:`seqlib.batching.make_loader`, :meth:`collate`) is ``(X, lengths, C, C_index, Y)``.

    ``words``: the training split's word forms (``Vocab.for_sentences``), ``chars``: :func:`char_vocab`
    or ``None`` for taggers that read words only; ``tagset``: the tags, in id order (UPOS, or e.g. the
    BIO tags :data:`seqlib.entities.WNUT17_TAGS`).
    """

    def __init__(self, sentences, words: Vocab, chars: Vocab | None = None, tagset: Sequence[str] = UPOS):
        validation.require(isinstance(words, Vocab) and isinstance(chars, (Vocab, type(None))),
                           "words (and chars, if given) must be seqlib.text.Vocab objects", TypeError)
        sentences = check_sentences(sentences)
        self.chars, self.spelled = chars, {}              # each form's character ids, encoded once
        super().__init__(((torch.tensor(words[list(w)], dtype=torch.long), list(w), torch.tensor(tag_ids(t, tagset)))
                          for w, t in sentences), pad_values=(PAD_IDX, None, PAD_TAG))

    def collate(self, batch):
        """``(X, lengths, C, C_index, Y)``: ``C`` spells each distinct form once (no ``chars``: a placeholder)."""
        X, lengths, forms, Y = collate(batch, self.pad_values)
        if self.chars is None:
            return X, lengths, torch.full((1, 1), PAD_IDX), torch.zeros_like(X), Y
        rows: dict[str, int] = {}
        index = np.zeros(X.shape, dtype=np.int64)
        for b, sentence in enumerate(forms):
            index[b, :len(sentence)] = [rows.setdefault(w, len(rows)) for w in sentence]
        for w in rows.keys() - self.spelled.keys():
            self.spelled[w] = torch.tensor(self.chars[spell(w)])
        C = nn.utils.rnn.pad_sequence([self.spelled[w] for w in rows], batch_first=True, padding_value=PAD_IDX)
        return X, lengths, C, torch.from_numpy(index), Y


class CharCNN(nn.Module):
    """A word's vector from its characters: embed, convolve (width ``width``), max over the positions:
    ``forward(C)``, C (U, W) long character ids -> (U, ``num_filters``)."""

    def __init__(self, char_vocab_size: int, char_embed_size: int = 30, num_filters: int = 50, width: int = 3):
        super().__init__()
        for name in ("char_vocab_size", "char_embed_size", "num_filters", "width"):
            validation.positive_int(locals()[name], name)
        self.embedding = nn.Embedding(char_vocab_size, char_embed_size, padding_idx=PAD_IDX)
        self.conv = nn.Conv1d(char_embed_size, num_filters, width, padding=width // 2)

    def forward(self, C):
        H = self.conv(self.embedding(C).transpose(1, 2))                      # (U, filters, W)
        return H.masked_fill((C == PAD_IDX).unsqueeze(1), float("-inf")).amax(2)


class Tagger(nn.Module):
    """Word embedding (+ :class:`CharCNN`) -> LSTM layers -> dropout -> linear -> emissions.

    Each layer is one one-way ``nn.LSTM`` per direction, combined by ``both_ways``, by default
    :func:`bidirectional_states` (the states of ``nn.LSTM(bidirectional=True)`` over a packed batch);
    zeros at padding.

    ================  ====================================================================
    bidirectional     read each sentence both ways (:func:`bidirectional_states`)
    num_layers        stacked LSTM layers (a deep network: layer 2 reads layer 1's states)
    char_vocab_size   size of the character vocabulary (``len(chars)``), or ``None`` for words only
    crf               a :class:`seqlib.crf.CRF` output layer instead of independent softmax
    word_dropout      in training, each word id becomes ``<unk>`` with this probability
    ================  ====================================================================

    ``forward(X, lengths, C, C_index)`` -> emissions (B, T, K); ``loss(..., Y)``: mean cross-entropy over real
    words, or the CRF's NLL; ``decode(emissions, mask)``: tag ids (B, T) (argmax or Viterbi), -1 at padding.
    """

    def __init__(self, vocab_size: int, num_tags: int = len(UPOS), embed_size: int = 100, num_hiddens: int = 100,
                 num_layers: int = 1, bidirectional: bool = True, char_vocab_size: int | None = None,
                 char_embed_size: int = 30, char_filters: int = 50, dropout: float = 0.5, word_dropout: float = 0.0,
                 crf: bool = False):
        super().__init__()
        for name in ("vocab_size", "num_tags", "embed_size", "num_hiddens", "num_layers", "char_embed_size",
                     "char_filters") + (("char_vocab_size",) if char_vocab_size is not None else ()):
            validation.positive_int(locals()[name], name)
        validation.require(vocab_size >= 2, f"vocab_size must be at least 2 (<unk> and <pad>), got {vocab_size}")
        validation.number_in_range(dropout, "dropout", 0, 1, high_open=True)
        self.word_dropout = validation.probability(word_dropout, "word_dropout")
        self.embedding = init_embedding(nn.Embedding(vocab_size, embed_size, padding_idx=PAD_IDX), 0.1)
        self.chars = CharCNN(char_vocab_size, char_embed_size, char_filters) if char_vocab_size else None
        inputs = embed_size + (char_filters if char_vocab_size else 0)
        directions = 2 if bidirectional else 1
        sizes = [inputs] + [directions * num_hiddens] * (num_layers - 1)
        self.forward_rnns = nn.ModuleList(nn.LSTM(n, num_hiddens, batch_first=True) for n in sizes)
        self.backward_rnns = nn.ModuleList(nn.LSTM(n, num_hiddens, batch_first=True) for n in sizes) \
            if bidirectional else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(num_hiddens * (2 if bidirectional else 1), num_tags)
        self.crf = CRF(num_tags) if crf else None
        self.both_ways = bidirectional_states  # a layer's two directions; a lab may put its own in

    def encode(self, X, lengths, C=None, C_index=None):
        """States H (B, T, D) of the last layer, zeros at padding."""
        if self.training and self.word_dropout > 0:
            X = drop_words(X, self.word_dropout)
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
                H = self.both_ways(forward_rnn, self.backward_rnns[layer], H, lengths)
        return H

    def forward(self, X, lengths, C=None, C_index=None):
        lengths = validation.padded_batch(X, lengths, self.embedding.num_embeddings)
        validation.require(self.chars is None or (C is not None and C_index is not None),
                           "this tagger reads characters: pass C and C_index (a TaggedDataset made with chars)")
        return self.head(self.dropout(self.encode(X, lengths, C, C_index)))

    def loss(self, X, lengths, C, C_index, Y):
        return self.emission_loss(self(X, lengths, C, C_index), Y)

    def emission_loss(self, emissions, Y):
        """The loss this tagger trains on, from its emissions (B, T, K) and gold tags Y (B, T), PAD_TAG at
        padding: the CRF's negative log-likelihood per real token, or the softmax's cross-entropy."""
        if self.crf is None:
            return nn.functional.cross_entropy(emissions.transpose(1, 2), Y, ignore_index=PAD_TAG)
        return self.crf.nll(emissions, Y.clamp(min=0), Y != PAD_TAG)

    def decode(self, emissions, mask):
        """Tag ids (B, T), -1 at padding: the CRF's Viterbi path, or each position's argmax."""
        if self.crf is not None:
            return self.crf.viterbi(emissions, mask)[0]
        return emissions.argmax(-1).masked_fill(~mask, -1)


@torch.no_grad()
def predict_tags(model: Tagger, loader, decode=None) -> tuple[list[list[int]], list[list[int]]]:
    """``(gold, predicted)`` tag ids of every sentence of ``loader`` (in its order), model in eval mode.
    ``decode``: a function of one sentence's emissions (L, K) giving its L tag ids (e.g. a Viterbi
    written on the page, with the model's CRF scores); by default the model's own :meth:`Tagger.decode`."""
    device = next(model.parameters()).device
    gold, pred = [], []
    with eval_mode(model):
        for X, lengths, C, C_index, Y in loader:
            mask = padding_mask(lengths, X.shape[1]).to(device)
            emissions = model(X.to(device), lengths, C.to(device), C_index.to(device))
            tags = model.decode(emissions, mask).cpu() if decode is None else None
            for b, L in enumerate(lengths.tolist()):
                gold.append(Y[b, :L].tolist())
                pred.append(tags[b, :L].tolist() if decode is None else [int(y) for y in decode(emissions[b, :L])])
    return gold, pred


@torch.no_grad()
def tag_sentence(model: Tagger, words: Vocab, chars: Vocab | None, tokens: Sequence[str]) -> list[dict]:
    """Tag one tokenised sentence: ``[{"word", "tag", "p", "crf", "known"}, ...]``, per word its tag and
    probability (softmax of the emissions), and the CRF's path tag when the model has a CRF."""
    validation.sequence(tokens, "tokens", of=str, non_empty=True, what="a non-empty list of words")
    validation.require(model.chars is None or chars is not None,
                       "this tagger reads characters: pass chars, the character vocabulary it was trained with")
    with eval_mode(model):
        device = next(model.parameters()).device
        sentence = TaggedDataset([(list(tokens), ["X"] * len(tokens))], words, chars)
        X, lengths, C, C_index, _ = sentence.collate(sentence.items)
        emissions = model(X.to(device), lengths, C.to(device), C_index.to(device))
        p, best = torch.softmax(emissions[0], -1).max(-1)
        path = model.crf.viterbi(emissions)[0][0].tolist() if model.crf is not None else [None] * len(tokens)
    return [{"word": w, "tag": UPOS[int(t)], "p": float(q), "crf": None if c is None else UPOS[c],
             "known": w in words.token_to_idx} for w, t, q, c in zip(tokens, best, p, path)]
