"""Sentence classification (Day 5): tokens, vocabulary, the MR data set, batches, pooling, models.

The vocabulary is Day 3's :class:`seqlib.text.Vocab` (:func:`build_vocab` reserves ``<pad>``).
The pieces, in the order a sentence meets them::

    "It doesn't work."  --tokenize-->  ["it", "does", "n't", "work", "."]
                        --encode---->  [12, 57, 31, 402, 3]      (build_vocab: <unk> = 0, <pad> = 1)
    a batch of B such   --collate--->  X (B, T) padded with <pad>, lengths (B,), y (B,)
                        --RNNClassifier: embedding -> packed RNN -> pooling -> linear--> logits (B,)

Also here: :func:`load_mr` (Pang & Lee's sentence polarity data through :mod:`seqlib.data`),
:func:`load_imdb` (the IMDb reviews of Maas et al. 2011, online only),
:func:`stratified_split`, :func:`padding_mask` and the masked poolings, :class:`SentenceLM`
(pretrains a classifier's embedding and RNN as a language model on unlabelled sentences, as
Dai & Le 2015 do), and the bag-of-n-grams logistic regression baseline (:class:`BagOfNgrams`).

Documented behaviour for bad inputs:

- an **empty sentence** (no tokens after :func:`tokenize`) cannot be classified:
  :func:`collate`, :meth:`RNNClassifier.forward` (a length of 0) and :func:`predict_proba`
  raise ``ValueError`` saying which sentence is empty;
- an **all-unknown sentence** (every token outside the vocabulary) is encoded as ``<unk>``
  ids and classified from the ``<unk>`` embedding alone: a valid probability, no error
  (:func:`predict_proba` reports the share of unknown tokens so that a caller can warn).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlib.text import Vocab

__all__ = ["PAD", "UNK", "PAD_IDX", "UNK_IDX", "tokenize", "build_vocab", "encode", "decode",
           "load_mr", "load_imdb", "stratified_split", "SentenceDataset", "collate", "make_loader", "padding_mask", "masked_mean", "masked_max",
           "AttentionPooling", "RNNClassifier", "SentenceLM", "adversarial_loss", "predict_proba", "ngrams", "NgramVocab",
           "BagOfNgrams", "count_parameters"]

PAD, UNK = "<pad>", "<unk>"
UNK_IDX, PAD_IDX = 0, 1     # the indices build_vocab gives them

_CLITICS = re.compile(r"(n't|'s|'re|'ve|'d|'ll|'m)\b")
_TOKEN = re.compile(r"n't|'[a-z]+|[a-z0-9]+(?:[-'][a-z0-9]+)*|[^\sa-z0-9]")


def tokenize(text: str) -> list[str]:
    """Lower-case word tokens with punctuation and English clitics split off.

    ``"It doesn't work, it's DULL!"`` -> ``["it", "does", "n't", "work", ",", "it", "'s", "dull", "!"]``.
    Hyphenated words stay whole (``"too-tepid"``). MR is already lower-cased and spaced around
    most punctuation; splitting ``n't`` makes every negation share one token. An empty or
    blank text gives ``[]``.
    """
    if not isinstance(text, str):
        raise TypeError(f"tokenize expects a string, got {type(text).__name__}")
    text = _CLITICS.sub(r" \1", text.lower())
    return _TOKEN.findall(text)


def build_vocab(tokenized: Iterable[Sequence[str]], min_freq: int = 1) -> Vocab:
    """Day 3's :class:`seqlib.text.Vocab` of tokenised sentences, with ``<pad>`` reserved.

    ``<unk>`` is index 0 (:data:`UNK_IDX`), ``<pad>`` index 1 (:data:`PAD_IDX`), then every
    token seen at least ``min_freq`` times, most frequent first (ties in order of first
    appearance). Rare and unseen tokens map to ``<unk>``.
    """
    if not isinstance(min_freq, int) or isinstance(min_freq, bool) or min_freq < 1:
        raise ValueError(f"min_freq must be a positive integer, got {min_freq!r}")
    if isinstance(tokenized, str):
        raise TypeError("build_vocab expects tokenised sentences (lists of tokens), not one string; "
                        "use build_vocab([tokenize(s) for s in sentences])")
    vocab = Vocab([list(t) for t in tokenized], min_freq=min_freq, reserved_tokens=[PAD])
    assert vocab[UNK] == UNK_IDX and vocab[PAD] == PAD_IDX
    return vocab


def encode(vocab: Vocab, sentence: str | Sequence[str]) -> list[int]:
    """Indices of a sentence (a string is tokenised first); ``[]`` for an empty sentence."""
    tokens = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
    return vocab[tokens]


def decode(vocab: Vocab, indices: Iterable[int]) -> list[str]:
    """Tokens of indices with ``<pad>`` dropped (``<unk>`` stays: the word itself is lost)."""
    indices = indices.tolist() if hasattr(indices, "tolist") else list(indices)
    return [vocab.idx_to_token[i] for i in indices if i != PAD_IDX]


def load_mr() -> tuple[list[str], list[int]]:
    """Pang & Lee's (2005) sentence polarity data v1.0: 5,331 positive then 5,331 negative snippets.

    Returns ``(sentences, labels)`` with label 1 = positive, 0 = negative, read through
    :func:`seqlib.data.read_text` (checksum-verified; ``$SEQLIB_DATA_DIR`` first).
    """
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
    """IMDb reviews of Maas et al. (2011): ``(texts, labels)`` of ``split`` ("train" or "test"), 1 = positive.

    Reads the archive ``aclImdb_v1.tar.gz`` (84 MB, fetched and checksum-verified by
    :func:`seqlib.data.fetch` ``("aclImdb")``; it is not in the offline mirror, so this needs
    the internet once) without extracting it: the reviews are the members
    ``aclImdb/<split>/pos/*.txt`` and ``.../neg/*.txt``, in the archive's order of names, positives
    first. HTML line breaks (``<br />``) become spaces. ``limit`` keeps the first ``limit`` reviews
    of each class.
    """
    import tarfile

    from seqlib import data

    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
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
    if not texts:
        raise ValueError(f"the archive holds no reviews under aclImdb/{split}/pos or aclImdb/{split}/neg")
    return texts, labels


def stratified_split(labels: Sequence[int], fractions: Sequence[float] = (0.8, 0.1, 0.1),
                     seed: int = 0) -> list[list[int]]:
    """Index lists (one per fraction) that partition ``range(len(labels))``, each with the class mix of the whole.

    Every class is shuffled with ``numpy.random.default_rng(seed)`` and cut at the cumulative
    fractions (rounded), so the split depends only on the labels, the fractions and the seed.
    The returned lists are sorted.
    """
    fractions = [float(f) for f in fractions]
    if any(f < 0 for f in fractions) or not math.isclose(sum(fractions), 1.0, abs_tol=1e-9):
        raise ValueError(f"fractions must be non-negative and sum to 1, got {fractions}")
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


class SentenceDataset(torch.utils.data.Dataset):
    """Encoded sentences and labels: item ``i`` is ``(LongTensor of token ids, float label)``.

    Sentences longer than ``max_len`` tokens are cut to their first ``max_len`` tokens.
    """

    def __init__(self, sentences: Sequence[str], labels: Sequence[int], vocab: Vocab,
                 max_len: int | None = None):
        if len(sentences) != len(labels):
            raise ValueError(f"{len(sentences)} sentences but {len(labels)} labels")
        self.ids = [torch.tensor(encode(vocab, s)[:max_len], dtype=torch.long) for s in sentences]
        self.labels = torch.tensor(labels, dtype=torch.float32)

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i):
        return self.ids[i], self.labels[i]


def collate(batch, pad_idx: int = PAD_IDX):
    """Pad a list of ``(ids, label)`` pairs into a batch ``(X, lengths, y)`` (as :func:`seqlib.training.fit` wants).

    ======== ============== ====================================================
    X        (B, T) long    token ids, padded on the right with ``pad_idx``; T = longest
    lengths  (B,) long      number of real tokens of each sentence
    y        (B,) float     labels
    ======== ============== ====================================================

    Raises ``ValueError`` for an empty sentence (length 0): it has no state to classify.
    """
    ids, labels = zip(*batch)
    lengths = torch.tensor([len(s) for s in ids], dtype=torch.long)
    if (lengths == 0).any():
        raise ValueError(f"sentence {int((lengths == 0).nonzero()[0])} of the batch is empty (no tokens); "
                         "drop empty sentences before batching")
    X = nn.utils.rnn.pad_sequence(list(ids), batch_first=True, padding_value=pad_idx)
    return X, lengths, torch.stack([torch.as_tensor(v, dtype=torch.float32) for v in labels])


class _BucketSampler(torch.utils.data.Sampler):
    """Batches of similar lengths (less padding), in a random order that changes every epoch."""

    def __init__(self, lengths, batch_size, seed, pool=50):
        self.lengths, self.batch_size, self.pool = np.asarray(lengths), batch_size, pool
        self.rng = np.random.default_rng(seed)

    def __iter__(self):
        order = self.rng.permutation(len(self.lengths))
        chunk = self.batch_size * self.pool
        batches = []
        for start in range(0, len(order), chunk):
            part = order[start:start + chunk]
            part = part[np.argsort(self.lengths[part], kind="stable")]
            batches += [part[i:i + self.batch_size].tolist() for i in range(0, len(part), self.batch_size)]
        for k in self.rng.permutation(len(batches)):
            yield batches[k]

    def __len__(self):
        return math.ceil(len(self.lengths) / self.batch_size)


def make_loader(dataset: SentenceDataset, batch_size: int = 64, shuffle: bool = False,
                seed: int = 0) -> torch.utils.data.DataLoader:
    """A DataLoader of :func:`collate` batches.

    ``shuffle=True`` (training): batches of sentences of similar lengths, drawn in a random
    order that is reproducible from ``seed``. ``shuffle=False``: the dataset's order.
    """
    if shuffle:
        lengths = [len(s) for s in dataset.ids]
        return torch.utils.data.DataLoader(dataset, batch_sampler=_BucketSampler(lengths, batch_size, seed),
                                           collate_fn=collate)
    return torch.utils.data.DataLoader(dataset, batch_size=batch_size, collate_fn=collate)


def padding_mask(lengths: torch.Tensor, max_len: int | None = None) -> torch.Tensor:
    """Boolean (B, T) mask, True at real tokens: ``mask[b, t] = t < lengths[b]``."""
    lengths = torch.as_tensor(lengths)
    T = int(lengths.max()) if max_len is None else max_len
    return torch.arange(T, device=lengths.device)[None, :] < lengths[:, None]


def masked_mean(H: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""Mean of the states of the real tokens: $\bar h_b = \sum_t m_{bt} h_{bt} / \sum_t m_{bt}$.

    H (B, T, D), mask (B, T) bool -> (B, D). Padding positions do not count, whatever they hold.
    """
    m = mask.unsqueeze(-1).to(H.dtype)
    return (H * m).sum(1) / m.sum(1).clamp(min=1)


def masked_max(H: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Feature-wise maximum over the real tokens. H (B, T, D), mask (B, T) bool -> (B, D)."""
    return H.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


class AttentionPooling(nn.Module):
    r"""Attention pooling: a learned weighted average of the states of the real tokens.

    $$ s_t = v^\top \tanh(W h_t), \quad a = \mathrm{softmax}(s \text{ over real tokens}), \quad c = \sum_t a_t h_t $$

    ``forward(H, mask)`` with H (B, T, D), mask (B, T) bool returns ``(c, a)``: c (B, D), a (B, T)
    with ``a = 0`` at padding and each row summing to 1.
    """

    def __init__(self, num_inputs: int, num_hiddens: int | None = None):
        super().__init__()
        self.W = nn.Linear(num_inputs, num_hiddens or num_inputs)
        self.v = nn.Linear(num_hiddens or num_inputs, 1, bias=False)

    def forward(self, H, mask):
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
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}, got {cell!r}")
        if pooling not in _POOLINGS:
            raise ValueError(f"pooling must be one of {_POOLINGS}, got {pooling!r}")
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

    def encode(self, X, lengths):
        """States H (B, T, D) (zeros at padding when packed) and final states h_n (layers*dirs, B, h)."""
        if (torch.as_tensor(lengths) <= 0).any():
            raise ValueError("every sentence needs at least one token (a length of 0 was given); "
                             "empty sentences cannot be classified")
        if self.training and self.word_dropout > 0:
            real = padding_mask(torch.as_tensor(lengths).to(X.device), X.shape[1])
            X = X.masked_fill(real & (torch.rand(X.shape, device=X.device) < self.word_dropout), self.unk_idx)
        E = self.dropout(self.embedding(X))                          # (B, T, embed_size)
        if self.pack:
            packed = pack_padded_sequence(E, torch.as_tensor(lengths).cpu(), batch_first=True,
                                          enforce_sorted=False)
            out, h_n = self.rnn(packed)
            H, _ = pad_packed_sequence(out, batch_first=True, total_length=X.shape[1])
        else:
            H, h_n = self.rnn(E)
        return H, (h_n[0] if self.cell == "lstm" else h_n)

    def forward(self, X, lengths):
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
    """Predicted probability of "positive" for each raw sentence (model in eval mode).

    Returns one dict per sentence: ``tokens``, ``p_positive``, ``unknown`` (share of tokens
    outside the vocabulary) and ``attention`` (list of weights per token, or ``None`` if the
    model does not pool with attention). Raises ``ValueError`` for an empty sentence.
    """
    if isinstance(sentences, str):
        sentences = [sentences]
    tokens = [tokenize(s) for s in sentences]
    for s, toks in zip(sentences, tokens):
        if not toks:
            raise ValueError(f"sentence {s!r} has no tokens: nothing to classify")
    was_training = model.training
    model.eval()
    try:
        X, lengths, _ = collate([(torch.tensor(encode(vocab, t)), 0.0) for t in tokens])
        device = next(model.parameters()).device
        p = torch.sigmoid(model(X.to(device), lengths)).cpu()
        att = getattr(model, "last_attention", None) if getattr(model, "pooling", None) == "attention" else None
    finally:
        model.train(was_training)
    return [{"tokens": toks, "p_positive": float(p[i]),
             "unknown": sum(t not in vocab.token_to_idx for t in toks) / len(toks),
             "attention": None if att is None else att[i, :len(toks)].cpu().tolist()}
            for i, toks in enumerate(tokens)]


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


# --- pretraining the encoder as a language model ----------------------------------------------

class SentenceLM(nn.Module):
    r"""A language model on the encoder of an :class:`RNNClassifier`, to pretrain it on sentences without labels.

    The classifier's embedding and RNN are shared, not copied: training this model trains
    them in place (its pooling and head are unused). Each direction predicts the neighbouring
    token it has not read yet, the forward one the next token and, for a bidirectional
    encoder, the backward one the previous token (Dai & Le 2015 pretrain a forward LSTM
    this way before fine-tuning it as a classifier):

    $$ \mathcal{L} = -\frac{1}{N} \sum_{b} \Big[ \sum_{t=1}^{L_b - 1} \log p_{\rightarrow}(x_{b,t+1} \mid \overrightarrow{\mathbf{h}}_{b,t})
       + \sum_{t=2}^{L_b} \log p_{\leftarrow}(x_{b,t-1} \mid \overleftarrow{\mathbf{h}}_{b,t}) \Big] $$

    with $L_b$ the length of sentence $b$ and $N$ the number of predictions ($L_b - 1$ per
    sentence and direction). Each $p(\cdot \mid \mathbf{h})$ is an **adaptive softmax**
    (Grave et al. 2017, :class:`torch.nn.AdaptiveLogSoftmaxWithLoss`): the ``cutoffs[0]``
    most frequent tokens get a full softmax, the rarer ones are grouped into clusters
    predicted with smaller projections, which makes a vocabulary of 9,000 words about six
    times cheaper than a full output layer (it needs the vocabulary ordered by frequency, as
    :func:`build_vocab` makes it). Cutoffs at or above the vocabulary size are dropped.

    ============== ===================== ====================================================
    X              (B, T) long           token ids, right-padded (as :func:`collate` gives)
    lengths        (B,) long             real tokens of each sentence (at least 1)
    H              (B, T, dirs * h)      the encoder's states (:meth:`RNNClassifier.encode`)
    token_nll      -> (B, T, dirs) float $-\log p$ of the token predicted from each state;
                                         0 where nothing is predicted (the last token for
                                         the forward direction, the first for the backward
                                         one, padding)
    forward        -> () float           $\mathcal{L}$, the mean over the $N$ predictions
    ============== ===================== ====================================================

    A batch of one-token sentences has nothing to predict: its loss is 0.
    ``forward(X, lengths)`` returns a loss, so :func:`seqlib.training.fit` trains it with
    ``loss_fn=lambda nll, y: nll`` (the labels of the batch are ignored).
    """

    def __init__(self, classifier: RNNClassifier, cutoffs: Sequence[int] = (500, 2000),
                 div_value: float = 4.0):
        super().__init__()
        if not isinstance(classifier, RNNClassifier):
            raise TypeError(f"SentenceLM pretrains the encoder of an RNNClassifier, got {type(classifier).__name__}")
        self.classifier = classifier
        vocab_size = classifier.embedding.num_embeddings
        self.num_hiddens = classifier.rnn.hidden_size
        cutoffs = [c for c in cutoffs if c < vocab_size] or [vocab_size - 1]
        self.out = nn.ModuleList(
            nn.AdaptiveLogSoftmaxWithLoss(self.num_hiddens, vocab_size, cutoffs, div_value=div_value)
            for _ in range(classifier.num_directions))

    def token_nll(self, X, lengths):
        """Negative log-likelihood of each predicted token, (B, T, dirs); see the class docstring."""
        lengths = torch.as_tensor(lengths).to(X.device)
        H, _ = self.classifier.encode(X, lengths)                 # (B, T, dirs * h)
        has_next = padding_mask(lengths, X.shape[1])[:, 1:]      # (B, T-1): x_{t+1} is a real token
        nll = []
        for d, out in enumerate(self.out):
            H_d = H[..., d * self.num_hiddens:(d + 1) * self.num_hiddens]
            # forward: the state at t predicts x_{t+1}; backward: the state at t+1 predicts x_t
            src, tgt = (H_d[:, :-1], X[:, 1:]) if d == 0 else (H_d[:, 1:], X[:, :-1])
            picked = -out(src[has_next], tgt[has_next]).output    # only the targets' log-probabilities
            nll_d = H.new_zeros(has_next.shape).masked_scatter(has_next, picked)
            nll.append(nn.functional.pad(nll_d, (0, 1) if d == 0 else (1, 0)))   # back to (B, T)
        return torch.stack(nll, dim=-1)

    def forward(self, X, lengths):
        lengths = torch.as_tensor(lengths)
        count = (lengths - 1).clamp(min=0).sum() * len(self.out)
        return self.token_nll(X, lengths).sum() / count.clamp(min=1)


# --- adversarial training on the word embeddings ---------------------------------------------

def adversarial_loss(epsilon: float, loss_fn=None):
    r"""A ``train_loss`` for :func:`seqlib.training.fit`: the loss plus the loss under the worst small change of the word vectors.

    Adversarial training (Miyato, Dai & Goodfellow 2017) perturbs the embedded sentence
    :math:`E` (the output of ``model.embedding``) in the direction that increases the loss
    most, to first order, and trains on both:

    .. math::

        g = \nabla_E\, \mathcal{L}(E), \qquad r = \epsilon\, \frac{g}{\lVert g \rVert_2}, \qquad
        \mathcal{L}_{\text{train}} = \mathcal{L}(E) + \mathcal{L}(E + r)

    with the norm taken per sentence (over all its positions and dimensions) and :math:`r` held
    constant (no gradient flows through it). Padding positions get no perturbation, since the
    loss does not depend on them. The cost is one more forward and one more backward pass per
    batch. The clean loss is backpropagated here (that gives :math:`g` and the clean loss's
    parameter gradients at once); :func:`seqlib.training.fit` backpropagates the perturbed
    loss, and the gradients add up. The value returned is :math:`\mathcal{L}_{\text{train}}`.

    ==================  ===============================  ==================================
    ``inputs``          ``(X, lengths)``                 as ``model(X, lengths)`` takes them
    ``E``, ``g``, ``r`` ``(batch, T, embed_size)``       ``model.embedding``'s output
    returns             ``()``                           :math:`\mathcal{L}_{\text{train}}`
    ==================  ===============================  ==================================

    ``model`` must have an ``embedding`` module (:class:`RNNClassifier` has); ``loss_fn``
    defaults to ``BCEWithLogitsLoss``. Usage: ``fit(model, ..., loss_fn=nn.BCEWithLogitsLoss(),
    train_loss=adversarial_loss(0.5))``.
    """
    if not epsilon > 0:
        raise ValueError(f"epsilon must be positive (the size of the perturbation), got {epsilon}")
    loss_fn = loss_fn if loss_fn is not None else nn.BCEWithLogitsLoss()

    def train_loss(model, inputs, target):
        if not isinstance(getattr(model, "embedding", None), nn.Module):
            raise TypeError(f"adversarial_loss perturbs model.embedding; {type(model).__name__} has none")
        embedded = []
        hook = model.embedding.register_forward_hook(lambda module, args, E: embedded.append(E))
        try:
            clean = loss_fn(model(*inputs), target)
        finally:
            hook.remove()
        E = embedded[0]
        E.retain_grad()
        clean.backward()  # the clean loss's gradients go into .grad; and g into E.grad
        g = E.grad
        norm = g.flatten(1).norm(dim=1).clamp_min(1e-12).view(-1, *([1] * (g.dim() - 1)))
        r = epsilon * g / norm
        hook = model.embedding.register_forward_hook(lambda module, args, E: E + r)
        try:
            perturbed = loss_fn(model(*inputs), target)
        finally:
            hook.remove()
        return perturbed + clean.detach()  # fit backpropagates the perturbed part; the clean one is done

    return train_loss


# --- the bag-of-n-grams baseline -------------------------------------------------------------

def ngrams(tokens: Sequence[str], n: int = 2) -> list[str]:
    """Distinct 1- to n-grams of a token list (bigrams joined by a space), in first-seen order."""
    grams = []
    for k in range(1, n + 1):
        grams += [" ".join(tokens[i:i + k]) for i in range(len(tokens) - k + 1)]
    return list(dict.fromkeys(grams))


class NgramVocab:
    """Feature table of a bag of n-grams: index 0 is reserved for "unknown n-gram" (ignored)."""

    def __init__(self, tokenized: Iterable[Sequence[str]], n: int = 2, min_freq: int = 1):
        self.n = n
        counts = Counter(g for toks in tokenized for g in ngrams(toks, n))
        kept = sorted((g for g, c in counts.items() if c >= min_freq), key=lambda g: (-counts[g], g))
        self.idx_to_gram = ["<unk>", *kept]
        self.gram_to_idx = {g: i for i, g in enumerate(self.idx_to_gram)}

    def __len__(self):
        return len(self.idx_to_gram)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        return [i for i in (self.gram_to_idx.get(g, 0) for g in ngrams(tokens, self.n)) if i]

    def batch(self, tokenized: Sequence[Sequence[str]]):
        """``(ids, offsets)`` for :class:`BagOfNgrams` (an ``nn.EmbeddingBag`` input)."""
        encoded = [self.encode(t) for t in tokenized]
        offsets = torch.tensor([0, *np.cumsum([len(e) for e in encoded])[:-1]], dtype=torch.long)
        return torch.tensor([i for e in encoded for i in e], dtype=torch.long), offsets

    def collate(self, batch):
        """A list of ``(tokens, label)`` pairs -> ``(ids, offsets, y)``, a batch for :func:`seqlib.training.fit`."""
        tokens, labels = zip(*batch)
        return (*self.batch(tokens), torch.tensor(labels, dtype=torch.float32))


class BagOfNgrams(nn.Module):
    r"""Logistic regression on binary bag-of-n-gram features: $z = b + \sum_{g \in x} r_g w_g$.

    ``scale`` (optional, (num_features,)) multiplies each feature, e.g. by the naive-Bayes
    log-count ratio $r$ of NBSVM (Wang & Manning 2012); without it $r_g = 1$.
    ``forward(ids, offsets)`` -> logits (B,).
    """

    def __init__(self, num_features: int, scale: torch.Tensor | None = None):
        super().__init__()
        self.bag = nn.EmbeddingBag(num_features, 1, mode="sum")
        nn.init.zeros_(self.bag.weight)
        self.bias = nn.Parameter(torch.zeros(1))
        self.register_buffer("scale", scale if scale is not None else torch.ones(num_features))

    def forward(self, ids, offsets):
        return self.bag(ids, offsets, per_sample_weights=self.scale[ids]).squeeze(-1) + self.bias

    @staticmethod
    def nb_ratio(ids, offsets, y, num_features: int, alpha: float = 1.0) -> torch.Tensor:
        r"""Naive-Bayes log-count ratio $r = \log\frac{(\alpha + p)/\lVert \alpha + p\rVert_1}{(\alpha + q)/\lVert \alpha + q\rVert_1}$ of binary features."""
        sample = torch.repeat_interleave(torch.arange(len(offsets)),
                                         torch.diff(torch.cat([offsets, torch.tensor([len(ids)])])))
        p = torch.full((num_features,), alpha).index_add_(0, ids, (y[sample] == 1).float())
        q = torch.full((num_features,), alpha).index_add_(0, ids, (y[sample] == 0).float())
        return torch.log(p / p.sum()) - torch.log(q / q.sum())
