r"""Sentence classifiers (Day 5): attention pooling, the RNN classifier, its language-model pretraining, a baseline.

:class:`RNNClassifier` turns a padded batch (:mod:`seqlib.batching`) into one logit per sentence:

.. math::

    \text{tokens} \xrightarrow{\text{embedding}} \mathbf{E} \in \mathbb{R}^{B \times T \times e}
    \xrightarrow{\text{RNN / LSTM / GRU (packed)}} \mathbf{H} \in \mathbb{R}^{B \times T \times D}
    \xrightarrow{\text{pooling}} \mathbf{s} \in \mathbb{R}^{B \times D}
    \xrightarrow{\text{dropout, linear}} z \in \mathbb{R}^{B}

with :math:`D` = ``num_hiddens``, doubled when bidirectional. The poolings are the last state,
the masked mean and max (:mod:`seqlib.batching`) and :class:`AttentionPooling`, a learned
weighted average over the real tokens (:math:`m_{bt} = [t < L_b]`):

.. math::

    e_{bt} = \mathbf{v}^\top \tanh(\mathbf{W} \mathbf{h}_{bt} + \mathbf{b}), \qquad
    \alpha_{bt} = \frac{m_{bt} \exp e_{bt}}{\sum_{t'} m_{bt'} \exp e_{bt'}}, \qquad
    \mathbf{s}_b = \sum_t \alpha_{bt}\, \mathbf{h}_{bt} .

==============  ===================  =======================================================
X               (B, T) long          token ids, right-padded with ``<pad>``
lengths         (B,) long            real tokens of each sentence (at least 1)
H               (B, T, D) float      :meth:`RNNClassifier.encode` (zeros at padding)
alpha           (B, T) float         attention weights, 0 at padding, rows sum to 1
logits          (B,) float           ``RNNClassifier.forward``; ``sigmoid`` gives P(positive)
==============  ===================  =======================================================

Also here: :func:`predict_proba` and :func:`attention_html` (raw sentences in, probabilities
and attention weights out, and their HTML rendering for the lab and its widget),
:class:`SentenceLM` (pretrains a classifier's embedding and RNN as a language model on
unlabelled sentences, as Dai & Le 2015 do) and the bag-of-n-grams logistic regression baseline
(:class:`NgramFeatures`, :class:`BagOfNgrams`). Adversarial training is a training objective:
:func:`seqlib.training.adversarial_loss`.

Bad inputs: an **empty sentence** cannot be classified (:func:`seqlib.batching.collate`,
:meth:`RNNClassifier.forward` and :func:`predict_proba` raise ``ValueError`` naming it); an
**all-unknown sentence** is classified from the ``<unk>`` embedding alone: a valid probability,
no error (:func:`predict_proba` reports the share of unknown tokens so that a caller can warn).
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlib.batching import collate, masked_max, masked_mean, padding_mask
from seqlib import validation
from seqlib.text import PAD_IDX, UNK_IDX, Vocab, ngram_features, tokenize_sentence

__all__ = ["AttentionPooling", "RNNClassifier", "predict_proba", "attention_html", "SentenceLM",
           "NgramFeatures", "BagOfNgrams"]


class AttentionPooling(nn.Module):
    r"""Attention pooling: a learned weighted average of the states of the real tokens.

    :math:`e_t = \mathbf{v}^\top \tanh(\mathbf{W} \mathbf{h}_t + \mathbf{b})`, softmax over the real
    tokens, :math:`\mathbf{c} = \sum_t \alpha_t \mathbf{h}_t` (the module docstring has the masked form).
    ``forward(H, mask)`` with H (B, T, D), mask (B, T) bool returns ``(c, alpha)``: c (B, D),
    alpha (B, T) with ``alpha = 0`` at padding and each row summing to 1.
    """

    def __init__(self, num_inputs: int, num_hiddens: int | None = None):
        super().__init__()
        num_inputs = validation.positive_int(num_inputs, "num_inputs", hint="(D, the width of the states)")
        if num_hiddens is not None:
            num_hiddens = validation.positive_int(num_hiddens, "num_hiddens", hint="or None for num_inputs")
        self.W = nn.Linear(num_inputs, num_hiddens or num_inputs)
        self.v = nn.Linear(num_hiddens or num_inputs, 1, bias=False)

    def forward(self, H, mask):
        validation.tensor(H, "H", shape=("batch_size", "num_steps", "num_inputs"), dtype="float",
                          sizes={"num_inputs": self.W.in_features})
        sizes = {"batch_size": H.shape[0], "num_steps": H.shape[1]}
        validation.tensor(mask, "mask", shape=("batch_size", "num_steps"), dtype="bool", sizes=sizes,
                          hint="batch_size and num_steps are those of H; mask is True at real tokens")
        if H.shape[0] and not bool(mask.any(dim=1).all()):
            raise ValueError("mask has a row without any real token: attention needs at least one per sequence")
        scores = self.v(torch.tanh(self.W(H))).squeeze(-1).masked_fill(~mask, float("-inf"))
        a = torch.softmax(scores, dim=1)
        return torch.bmm(a.unsqueeze(1), H).squeeze(1), a


_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_POOLINGS = ("last", "mean", "max", "attention")


class RNNClassifier(nn.Module):
    """Embedding -> recurrent layer(s) over a packed batch -> pooling -> dropout -> linear -> one logit.

    ================ =========================================================================
    cell             ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``
    bidirectional    read the sentence both ways; states are ``2 * num_hiddens`` wide
    pooling          how the states H (B, T, D) become one vector (B, D): ``"last"`` final
                     hidden state (of both directions), ``"mean"`` / ``"max"`` over the real
                     tokens, ``"attention"`` (:class:`AttentionPooling`)
    dropout          on the embeddings and on the pooled vector
    word_dropout     in training, replace each real token by ``<unk>`` with this probability
    embed_init       embeddings start uniform in [-embed_init, embed_init] (Kim 2014 uses 0.25);
                     ``None`` keeps PyTorch's N(0, 1), whose large vectors train slower
    pack             use ``pack_padded_sequence`` (default); ``False`` runs over the padding too
                     (then ``"last"`` reads the state after the padding: a lesson, not a feature)
    ================ =========================================================================

    ``forward(X, lengths)`` with X (B, T) long and lengths (B,) returns logits (B,) (apply
    ``torch.sigmoid`` for probabilities; train with ``BCEWithLogitsLoss``). After a forward
    pass with attention pooling, ``self.last_attention`` holds the weights (B, T).
    """

    def __init__(self, vocab_size: int, embed_size: int = 128, num_hiddens: int = 128,
                 cell: str = "lstm", bidirectional: bool = False, pooling: str = "last",
                 dropout: float = 0.5, num_layers: int = 1, pad_idx: int = PAD_IDX,
                 pack: bool = True, word_dropout: float = 0.0, embed_init: float | None = 0.25,
                 unk_idx: int = UNK_IDX):
        super().__init__()
        validation.one_of(cell, "cell", sorted(_CELLS))
        validation.one_of(pooling, "pooling", _POOLINGS)
        vocab_size = validation.positive_int(vocab_size, "vocab_size", hint="(the number of tokens, len(vocab))")
        embed_size = validation.positive_int(embed_size, "embed_size")
        num_hiddens = validation.positive_int(num_hiddens, "num_hiddens")
        num_layers = validation.positive_int(num_layers, "num_layers")
        dropout = validation.probability(dropout, "dropout")
        word_dropout = validation.probability(word_dropout, "word_dropout")
        pad_idx = int(validation.number_in_range(validation.non_negative_int(pad_idx, "pad_idx"), "pad_idx",
                                                 0, vocab_size - 1, hint="a token index of the vocabulary"))
        unk_idx = int(validation.number_in_range(validation.non_negative_int(unk_idx, "unk_idx"), "unk_idx",
                                                 0, vocab_size - 1, hint="a token index of the vocabulary"))
        if embed_init is not None:
            validation.number_in_range(embed_init, "embed_init", 0, low_open=True, hint="or None")
        self.cell, self.pooling, self.pack = cell, pooling, pack
        self.word_dropout, self.unk_idx = word_dropout, unk_idx
        self.num_directions = 2 if bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=pad_idx)
        if embed_init is not None:
            with torch.no_grad():
                self.embedding.weight.uniform_(-embed_init, embed_init)
                self.embedding.weight[pad_idx] = 0
        self.rnn = _CELLS[cell](embed_size, num_hiddens, num_layers=num_layers, batch_first=True,
                                bidirectional=bidirectional)
        D = num_hiddens * self.num_directions
        self.attention = AttentionPooling(D) if pooling == "attention" else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(D, 1)
        self.last_attention = None

    def _check_batch(self, X, lengths):
        """Once per call: token ids (B, T) within the vocabulary, one length in [1, T] per sentence."""
        validation.token_ids(X, "X", self.embedding.num_embeddings)
        return validation.lengths(lengths, "lengths", batch_size=X.shape[0], max_len=X.shape[1],
                                  hint="one length per sentence of X, each at least one token "
                                       "(empty sentences cannot be classified)")

    def encode(self, X, lengths):
        """States H (B, T, D) (zeros at padding when packed) and final states h_n (layers*dirs, B, h)."""
        lengths = self._check_batch(X, lengths)
        if self.training and self.word_dropout > 0:
            X = self._drop_words(X, lengths)
        E = self.dropout(self.embedding(X))                   # (B, T, embed_size)
        if self.pack:                                         # the RNN skips the padding
            packed = pack_padded_sequence(E, lengths.cpu(), batch_first=True,
                                          enforce_sorted=False)
            out, h_n = self.rnn(packed)
            H, _ = pad_packed_sequence(out, batch_first=True, total_length=X.shape[1])
        else:
            H, h_n = self.rnn(E)
        return H, (h_n[0] if self.cell == "lstm" else h_n)    # an LSTM's h_n is (h, c)

    def _drop_words(self, X, lengths):
        """Word dropout: each real token becomes ``<unk>`` with probability ``word_dropout``."""
        real = padding_mask(lengths.to(X.device), X.shape[1])
        dropped = torch.rand(X.shape, device=X.device) < self.word_dropout
        return X.masked_fill(real & dropped, self.unk_idx)

    def forward(self, X, lengths):
        lengths = self._check_batch(X, lengths)
        H, h_n = self.encode(X, lengths)
        mask = padding_mask(torch.as_tensor(lengths).to(X.device), X.shape[1])
        if self.pooling == "last":       # final layer, both directions: (B, D)
            pooled = torch.cat(list(h_n[-self.num_directions:]), dim=-1)
        elif self.pooling == "mean":
            pooled = masked_mean(H, mask)
        elif self.pooling == "max":
            pooled = masked_max(H, mask)
        else:
            pooled, self.last_attention = self.attention(H, mask)
        return self.head(self.dropout(pooled)).squeeze(-1)


@torch.no_grad()
def predict_proba(model: nn.Module, vocab: Vocab, sentences: Sequence[str]) -> list[dict]:
    """Predicted probability of "positive" for each raw sentence (model in eval mode, on its own device).

    The sentences are split by :func:`seqlib.text.tokenize_sentence` and encoded by ``vocab``.

    Returns one dict per sentence: ``tokens``, ``p_positive``, ``unknown`` (share of tokens
    outside the vocabulary) and ``attention`` (list of weights per token, or ``None`` if the
    model does not pool with attention). Raises ``ValueError`` for an empty sentence.
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    if not isinstance(model, nn.Module):
        raise validation.ArgumentTypeError(f"model must be a classifier (an nn.Module such as RNNClassifier), "
                                           f"got {type(model).__name__}")
    if not isinstance(sentences, Sequence) or not all(isinstance(x, str) for x in sentences):
        raise validation.ArgumentTypeError("sentences must be a string or a list of strings, "
                                           f"got {type(sentences).__name__}")
    if not sentences:
        raise ValueError("sentences is empty: pass at least one sentence to classify")
    tokens = [tokenize_sentence(s) for s in sentences]
    for s, toks in zip(sentences, tokens):
        if not toks:
            raise ValueError(f"sentence {s!r} has no tokens: nothing to classify")
    was_training = model.training
    model.eval()
    try:
        X, lengths, _ = collate([(torch.tensor(vocab.encode(t)), 0.0) for t in tokens])
        device = next(model.parameters()).device
        p = torch.sigmoid(model(X.to(device), lengths)).cpu()
        att = getattr(model, "last_attention", None) if getattr(model, "pooling", None) == "attention" else None
    finally:
        model.train(was_training)
    return [{"tokens": toks, "p_positive": float(p[i]),
             "unknown": sum(t not in vocab.token_to_idx for t in toks) / len(toks),
             "attention": None if att is None else att[i, :len(toks)].cpu().tolist()}
            for i, toks in enumerate(tokens)]


def attention_html(result: dict) -> str:
    """One :func:`predict_proba` result as HTML: the verdict, then each token as dark as its attention weight.

    Without attention weights (another pooling) the tokens are shown plain. The share of unknown
    words is reported when there are any. Tokens are HTML-escaped.
    """
    weights = result["attention"] or [0.0] * len(result["tokens"])
    top = max(weights) or 1.0
    spans = "".join(
        f'<span style="background: rgba(255, 140, 0, {w / top:.2f}); '
        f'padding: 0 2px; display: inline-block">{html.escape(t)}</span>'
        for t, w in zip(result["tokens"], weights))
    p = result["p_positive"]
    verdict = "positive" if p > 0.5 else "negative"
    if result["unknown"]:
        verdict += f", {result['unknown']:.0%} unknown words"
    return (f'<div style="margin: 4px 0; white-space: normal">'
            f"<b>P(positive) = {p:.2f}</b> ({verdict}): {spans}</div>")


# --- pretraining the encoder as a language model ----------------------------------------------

class SentenceLM(nn.Module):
    r"""A language model on the encoder of an :class:`RNNClassifier`, to pretrain it on sentences without labels.

    The classifier's embedding and RNN are shared, not copied: training this model trains
    them in place (its pooling and head are unused). Each direction predicts the neighbouring
    token it has not read yet, the forward one the next token and, for a bidirectional
    encoder, the backward one the previous token (Dai & Le 2015 pretrain a forward LSTM
    this way before fine-tuning it as a classifier):

    .. math::

        \mathcal{L} = -\frac{1}{N} \sum_{b} \Big[ \sum_{t=1}^{L_b - 1}
        \log p_{\rightarrow}(x_{b,t+1} \mid \overrightarrow{\mathbf{h}}_{b,t})
        + \sum_{t=2}^{L_b} \log p_{\leftarrow}(x_{b,t-1} \mid \overleftarrow{\mathbf{h}}_{b,t}) \Big]

    with :math:`L_b` the length of sentence :math:`b` and :math:`N` the number of predictions (:math:`L_b - 1` per
    sentence and direction). Each :math:`p(\cdot \mid \mathbf{h})` is an **adaptive softmax**
    (Grave et al. 2017, :class:`torch.nn.AdaptiveLogSoftmaxWithLoss`): the ``cutoffs[0]``
    most frequent tokens get a full softmax, the rarer ones are grouped into clusters
    predicted with smaller projections, which makes a vocabulary of 9,000 words about six
    times cheaper than a full output layer (it needs the vocabulary ordered by frequency, as
    :meth:`seqlib.text.Vocab.for_sentences` makes it). Cutoffs at or above the vocabulary size are dropped.

    ============== ===================== ====================================================
    X              (B, T) long           token ids, right-padded (as :func:`~seqlib.batching.collate` gives)
    lengths        (B,) long             real tokens of each sentence (at least 1)
    H              (B, T, dirs * h)      the encoder's states (:meth:`RNNClassifier.encode`)
    token_nll      -> (B, T, dirs) float :math:`-\log p` of the token predicted from each state;
                                         0 where nothing is predicted (the last token for
                                         the forward direction, the first for the backward
                                         one, padding)
    forward        -> () float           :math:`\mathcal{L}`, the mean over the N predictions
    ============== ===================== ====================================================

    A batch of one-token sentences has nothing to predict: its loss is 0.
    ``forward(X, lengths)`` returns a loss, so :func:`seqlib.training.fit` trains it with
    ``loss_fn=lambda nll, y: nll`` (the labels of the batch are ignored).
    """

    def __init__(self, classifier: RNNClassifier, cutoffs: Sequence[int] = (500, 2000),
                 div_value: float = 4.0):
        super().__init__()
        if not isinstance(classifier, RNNClassifier):
            raise validation.ArgumentTypeError(f"classifier must be an RNNClassifier (SentenceLM pretrains its "
                                               f"encoder), got {type(classifier).__name__}")
        div_value = validation.number_in_range(div_value, "div_value", 0, low_open=True)
        if isinstance(cutoffs, (str, bytes)) or not isinstance(cutoffs, Sequence):
            raise validation.ArgumentTypeError(f"cutoffs must be a list of increasing token counts, got {cutoffs!r}")
        cutoffs = [validation.positive_int(c, "cutoffs[i]") for c in cutoffs]
        if cutoffs != sorted(set(cutoffs)):
            raise ValueError(f"cutoffs must be strictly increasing, got {cutoffs}")
        self.classifier = classifier
        vocab_size = classifier.embedding.num_embeddings
        self.num_hiddens = classifier.rnn.hidden_size
        cutoffs = [c for c in cutoffs if c < vocab_size] or [vocab_size - 1]
        self.out = nn.ModuleList(
            nn.AdaptiveLogSoftmaxWithLoss(self.num_hiddens, vocab_size, cutoffs, div_value=div_value)
            for _ in range(classifier.num_directions))

    def token_nll(self, X, lengths):
        """Negative log-likelihood of each predicted token, (B, T, dirs); see the class docstring."""
        lengths = self.classifier._check_batch(X, lengths).to(X.device)
        H, _ = self.classifier.encode(X, lengths)             # (B, T, dirs * h)
        has_next = padding_mask(lengths, X.shape[1])[:, 1:]   # (B, T-1): x_{t+1} is real
        h, nll = self.num_hiddens, []
        for d, out in enumerate(self.out):
            H_d = H[..., d * h:(d + 1) * h]                   # the states of direction d
            # forward: the state at t predicts x_{t+1}; backward: the state at t+1 predicts x_t
            src, tgt = (H_d[:, :-1], X[:, 1:]) if d == 0 else (H_d[:, 1:], X[:, :-1])
            picked = -out(src[has_next], tgt[has_next]).output   # -log p of the targets
            nll_d = H.new_zeros(has_next.shape).masked_scatter(has_next, picked)
            nll.append(nn.functional.pad(nll_d, (0, 1) if d == 0 else (1, 0)))  # (B, T)
        return torch.stack(nll, dim=-1)

    def forward(self, X, lengths):
        lengths = self.classifier._check_batch(X, lengths)
        count = (lengths - 1).clamp(min=0).sum() * len(self.out)
        return self.token_nll(X, lengths).sum() / count.clamp(min=1)


# --- the bag-of-n-grams baseline -------------------------------------------------------------

class NgramFeatures:
    """Binary bag-of-n-gram features of tokenised sentences, for :class:`BagOfNgrams`.

    The feature table is a :class:`seqlib.text.Vocab` of the :func:`seqlib.text.ngram_features`
    of the given sentences (``self.vocab``): index 0 is ``<unk>``, "an n-gram never seen", and is
    dropped when encoding; then the n-grams seen at least ``min_freq`` times, most frequent first,
    ties in alphabetical order.
    """

    def __init__(self, tokenized: Iterable[Sequence[str]], n: int = 2, min_freq: int = 1):
        tokenized = list(tokenized) if isinstance(tokenized, Iterable) and not isinstance(tokenized, str) else None
        if tokenized is None or not all(isinstance(t, Sequence) and not isinstance(t, str)
                                        and all(isinstance(w, str) for w in t) for t in tokenized):
            raise validation.ArgumentTypeError("tokenized must be a list of token lists (lists of strings)")
        self.n = validation.positive_int(n, "n", hint="(the longest n-gram)")
        min_freq = validation.positive_int(min_freq, "min_freq", hint="(occurrences to keep an n-gram)")
        self.vocab = Vocab([ngram_features(toks, n) for toks in tokenized], min_freq=min_freq,
                           ties="alphabetical")
        self._encoded: dict[tuple, list[int]] = {}

    def __len__(self):
        return len(self.vocab)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """Feature indices of a sentence's n-grams, unknown ones dropped (remembered: every epoch
        and every seed reads the same sentences, so each is encoded once)."""
        key = tuple(tokens) if isinstance(tokens, (list, tuple)) and all(isinstance(t, str) for t in tokens) else None
        if key is None or key not in self._encoded:
            ids = [i for i in self.vocab[ngram_features(tokens, self.n)] if i != self.vocab.unk]
            if key is None:
                return ids
            self._encoded[key] = ids
        return list(self._encoded[key])

    def batch(self, tokenized: Sequence[Sequence[str]]):
        """``(ids, offsets)`` for :class:`BagOfNgrams` (an ``nn.EmbeddingBag`` input)."""
        if isinstance(tokenized, str) or not isinstance(tokenized, Sequence):
            raise validation.ArgumentTypeError(f"tokenized must be a list of token lists, got {type(tokenized).__name__}")
        if len(tokenized) == 0:
            raise ValueError("tokenized has no sentences: an empty batch has nothing to classify")
        if not all(isinstance(t, Sequence) and not isinstance(t, str) and all(isinstance(w, str) for w in t)
                   for t in tokenized):
            raise validation.ArgumentTypeError("tokenized must be a list of token lists (lists of strings)")
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

    over the distinct n-grams :math:`g` of sentence :math:`x`. ``scale`` (optional,
    (num_features,)) is :math:`r`, e.g. the naive-Bayes log-count ratio of NBSVM
    (Wang & Manning 2012, :meth:`nb_ratio`); without it :math:`r_g = 1`.
    ``forward(ids, offsets)`` -> logits (B,).
    """

    def __init__(self, num_features: int, scale: torch.Tensor | None = None):
        super().__init__()
        num_features = validation.positive_int(num_features, "num_features", hint="(len(features))")
        if scale is not None:
            validation.tensor(scale, "scale", shape=("num_features",), dtype="float",
                              sizes={"num_features": num_features}, finite=True)
        self.bag = nn.EmbeddingBag(num_features, 1, mode="sum")
        nn.init.zeros_(self.bag.weight)
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("scale", scale if scale is not None else torch.ones(num_features))

    def forward(self, ids, offsets):
        validation.token_ids(ids, "ids", self.bag.num_embeddings, shape=("num_ids",),
                             hint="as NgramFeatures.batch gives them")
        validation.tensor(offsets, "offsets", shape=("batch_size",), dtype="integer", non_empty=True,
                          hint="the start of each sentence in ids, as NgramFeatures.batch gives them")
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
