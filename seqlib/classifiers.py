r"""Sentence classifiers (Day 5): the RNN classifier, its predictions shown, its language-model pretraining.

:class:`RNNClassifier` turns a padded batch (:mod:`seqlib.batching`) into one logit per sentence:

.. math::

    \text{tokens} \xrightarrow{\text{embedding}} \mathbf{E} \in \mathbb{R}^{B \times T \times e}
    \xrightarrow{\text{RNN / LSTM / GRU (packed)}} \mathbf{H} \in \mathbb{R}^{B \times T \times D}
    \xrightarrow{\text{pooling}} \mathbf{s} \in \mathbb{R}^{B \times D}
    \xrightarrow{\text{dropout, linear}} z \in \mathbb{R}^{B}

with :math:`D` = ``num_hiddens``, doubled when bidirectional. The poolings: the last state, the masked
mean and max (:mod:`seqlib.batching`), attention pooling (:class:`seqlib.attention.AttentionPooling`).

==============  ===================  =======================================================
X               (B, T) long          token ids, right-padded with ``<pad>``
lengths         (B,) long            real tokens of each sentence (at least 1)
H               (B, T, D) float      :meth:`RNNClassifier.encode` (zeros at padding)
alpha           (B, T) float         attention weights, 0 at padding, rows sum to 1
logits          (B,) float           ``RNNClassifier.forward``; ``sigmoid`` gives P(positive)
==============  ===================  =======================================================

Also here: :func:`predict_proba` (raw sentences in, probabilities and attention weights out),
:func:`attention_html` (their HTML) and :class:`SentenceLM` (pretraining the encoder as a language model,
Dai & Le 2015). The bag-of-n-grams baseline: :mod:`seqlib.baselines`.
"""

from __future__ import annotations

import html
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlib import validation
from seqlib.attention import AttentionPooling
from seqlib.batching import collate, drop_words, init_embedding, masked_max, masked_mean, padding_mask
from seqlib.text import PAD_IDX, UNK_IDX, Vocab, tokenize_sentence
from seqlib.training import eval_mode

__all__ = ["RNNClassifier", "predict_proba", "attention_html", "SentenceLM"]


_CELLS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
_POOLINGS = ("last", "mean", "max", "attention")
_LENGTHS = "one length per sentence of X, each at least one token"


class RNNClassifier(nn.Module):
    """Embedding -> recurrent layer(s) over a packed batch -> pooling -> dropout -> linear -> one logit.

    ================ =========================================================================
    cell             ``"rnn"`` (tanh), ``"lstm"`` or ``"gru"``
    bidirectional    read the sentence both ways; states are ``2 * num_hiddens`` wide
    pooling          how the states H (B, T, D) become one vector (B, D): ``"last"`` final
                     hidden state (of both directions), ``"mean"`` / ``"max"`` over the real
                     tokens, ``"attention"`` (:class:`AttentionPooling`), or a function
                     ``pool(H, mask)`` -> (B, D), mask (B, T) True at real tokens (a lab's own)
    dropout          on the embeddings and on the pooled vector
    word_dropout     in training, replace each real token by ``<unk>`` with this probability
    pack             ``pack_padded_sequence`` (default); ``False`` runs over the padding too
                     (then ``"last"`` reads the state after the padding: a lesson, not a feature)
    ================ =========================================================================

    ``forward(X, lengths)`` -> logits (B,) (``BCEWithLogitsLoss``); with attention pooling,
    ``self.last_attention`` then holds the weights (B, T).
    """

    def __init__(self, vocab_size: int, embed_size: int = 128, num_hiddens: int = 128,
                 cell: str = "lstm", bidirectional: bool = False, pooling: str = "last",
                 dropout: float = 0.5, num_layers: int = 1, pad_idx: int = PAD_IDX,
                 pack: bool = True, word_dropout: float = 0.0, unk_idx: int = UNK_IDX):
        super().__init__()
        validation.one_of(cell, "cell", sorted(_CELLS))
        if not callable(pooling):
            validation.one_of(pooling, "pooling", _POOLINGS)
        for name in ("vocab_size", "embed_size", "num_hiddens", "num_layers"):
            validation.positive_int(locals()[name], name)
        for name in ("dropout", "word_dropout"):
            validation.probability(locals()[name], name)
        pad_idx, unk_idx = (validation.index(i, name, vocab_size, hint="a token index of the vocabulary")
                            for i, name in ((pad_idx, "pad_idx"), (unk_idx, "unk_idx")))
        self.cell, self.pooling, self.pack = cell, pooling, pack
        self.pool = pooling if callable(pooling) else {"mean": masked_mean, "max": masked_max}.get(pooling)
        self.word_dropout, self.pad_idx, self.unk_idx = word_dropout, pad_idx, unk_idx
        self.num_directions = 2 if bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=pad_idx)
        init_embedding(self.embedding, 0.25, pad_idx)           # uniform in [-0.25, 0.25]
        self.rnn = _CELLS[cell](embed_size, num_hiddens, num_layers=num_layers, batch_first=True,
                                bidirectional=bidirectional)
        D = num_hiddens * self.num_directions
        self.attention = AttentionPooling(D) if pooling == "attention" else None
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(D, 1)
        self.last_attention = None

    def encode(self, X, lengths):
        """States H (B, T, D) (zeros at padding when packed) and final states h_n (layers*dirs, B, h)."""
        if self.training and self.word_dropout > 0:
            X = drop_words(X, self.word_dropout, self.pad_idx, self.unk_idx)
        E = self.dropout(self.embedding(X))                   # (B, T, embed_size)
        if self.pack:                                         # the RNN skips the padding
            packed = pack_padded_sequence(E, lengths.cpu(), batch_first=True,
                                          enforce_sorted=False)
            out, h_n = self.rnn(packed)
            H, _ = pad_packed_sequence(out, batch_first=True, total_length=X.shape[1])
        else:
            H, h_n = self.rnn(E)
        return H, (h_n[0] if self.cell == "lstm" else h_n)    # an LSTM's h_n is (h, c)

    def forward(self, X, lengths):
        lengths = validation.padded_batch(X, lengths, self.embedding.num_embeddings, hint=_LENGTHS)
        H, h_n = self.encode(X, lengths)
        mask = padding_mask(lengths.to(X.device), X.shape[1])
        if self.pooling == "last":       # final layer, both directions: (B, D)
            pooled = torch.cat(list(h_n[-self.num_directions:]), dim=-1)
        elif self.pooling == "attention":
            pooled, self.last_attention = self.attention(H, mask)
        else:                            # the masked mean or max, or the function given
            pooled = self.pool(H, mask)
        return self.head(self.dropout(pooled)).squeeze(-1)


@torch.no_grad()
def predict_proba(model: nn.Module, vocab: Vocab, sentences: Sequence[str]) -> list[dict]:
    """P(positive) of each raw sentence (:func:`seqlib.text.tokenize_sentence`; model in eval mode): one dict per
    sentence, ``tokens``, ``p_positive``, ``unknown`` (share outside the vocabulary), ``attention`` (or ``None``).
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    validation.sequence(sentences, "sentences", of=str, non_empty=True, what="a string or a list of strings")
    tokens = [tokenize_sentence(s) for s in sentences]
    empty = [s for s, toks in zip(sentences, tokens) if not toks]
    validation.require(not empty, f"sentence {(empty or [''])[0]!r} has no tokens: nothing to classify")
    with eval_mode(model):
        X, lengths, _ = collate([(torch.tensor(vocab.encode(t)), 0.0) for t in tokens])
        device = next(model.parameters()).device
        p = torch.sigmoid(model(X.to(device), lengths)).cpu()
        att = getattr(model, "last_attention", None) if getattr(model, "pooling", None) == "attention" else None
    return [{"tokens": toks, "p_positive": float(p[i]),
             "unknown": sum(t not in vocab.token_to_idx for t in toks) / len(toks),
             "attention": None if att is None else att[i, :len(toks)].cpu().tolist()}
            for i, toks in enumerate(tokens)]


def attention_html(result: dict) -> str:
    """One :func:`predict_proba` result as HTML: the verdict (and the share of unknown words), then each
    token (escaped) as dark as its attention weight, plain without attention."""
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

    The classifier's embedding and RNN are shared: training this model trains them in place. Each
    direction predicts the neighbouring token it has not read yet (Dai & Le 2015):

    .. math::

        \mathcal{L} = -\frac{1}{N} \sum_{b} \Big[ \sum_{t=1}^{L_b - 1}
        \log p_{\rightarrow}(x_{b,t+1} \mid \overrightarrow{\mathbf{h}}_{b,t})
        + \sum_{t=2}^{L_b} \log p_{\leftarrow}(x_{b,t-1} \mid \overleftarrow{\mathbf{h}}_{b,t}) \Big]

    with :math:`L_b` the length of sentence :math:`b` and :math:`N` the number of predictions. Each
    :math:`p(\cdot \mid \mathbf{h})` is an **adaptive softmax** (Grave et al. 2017,
    :class:`torch.nn.AdaptiveLogSoftmaxWithLoss`): a full softmax for the ``cutoffs[0]`` most frequent
    tokens, clusters with smaller projections for rarer ones (cutoffs past the vocabulary are dropped).

    ============== ===================== ====================================================
    X              (B, T) long           token ids, right-padded (as :func:`~seqlib.batching.collate` gives)
    lengths        (B,) long             real tokens of each sentence (at least 1)
    H              (B, T, dirs * h)      the encoder's states (:meth:`RNNClassifier.encode`)
    token_nll      -> (B, T, dirs) float :math:`-\log p` of the token predicted from each state;
                                         0 where nothing is predicted
    forward        -> () float           :math:`\mathcal{L}`, the mean over the N predictions
    ============== ===================== ====================================================

    ``forward`` returns the loss: :func:`seqlib.training.fit` trains it with ``loss_fn=lambda nll, y: nll``.
    """

    def __init__(self, classifier: RNNClassifier, cutoffs: Sequence[int] = (500, 2000),
                 div_value: float = 4.0):
        super().__init__()
        validation.require(isinstance(classifier, RNNClassifier),
                           f"classifier must be an RNNClassifier, got {type(classifier).__name__}", TypeError)
        div_value = validation.number_in_range(div_value, "div_value", 0, low_open=True)
        cutoffs = [validation.positive_int(c, "cutoffs[i]") for c in validation.sequence(cutoffs, "cutoffs")]
        self.classifier = classifier
        vocab_size = classifier.embedding.num_embeddings
        self.num_hiddens = classifier.rnn.hidden_size
        cutoffs = [c for c in cutoffs if c < vocab_size] or [vocab_size - 1]
        self.head = nn.ModuleList(
            nn.AdaptiveLogSoftmaxWithLoss(self.num_hiddens, vocab_size, cutoffs, div_value=div_value)
            for _ in range(classifier.num_directions))

    def token_nll(self, X, lengths):
        """Negative log-likelihood of each predicted token, (B, T, dirs); see the class docstring."""
        lengths = lengths.to(X.device)
        H, _ = self.classifier.encode(X, lengths)             # (B, T, dirs * h)
        has_next = padding_mask(lengths, X.shape[1])[:, 1:]   # (B, T-1): x_{t+1} is real
        h, nll = self.num_hiddens, []
        for d, head in enumerate(self.head):
            H_d = H[..., d * h:(d + 1) * h]                   # the states of direction d
            # forward: the state at t predicts x_{t+1}; backward: the state at t+1 predicts x_t
            src, tgt = (H_d[:, :-1], X[:, 1:]) if d == 0 else (H_d[:, 1:], X[:, :-1])
            picked = -head(src[has_next], tgt[has_next]).output  # -log p of the targets
            nll_d = H.new_zeros(has_next.shape).masked_scatter(has_next, picked)
            nll.append(nn.functional.pad(nll_d, (0, 1) if d == 0 else (1, 0)))  # (B, T)
        return torch.stack(nll, dim=-1)

    def forward(self, X, lengths):
        vocab_size = self.classifier.embedding.num_embeddings
        lengths = validation.padded_batch(X, lengths, vocab_size, hint=_LENGTHS)
        count = (lengths - 1).clamp(min=0).sum() * len(self.head)
        return self.token_nll(X, lengths).sum() / count.clamp(min=1)
