r"""Sequence to sequence: a bidirectional GRU encoder, a GRU decoder, with or without attention (Day 9).

The encoder reads the source in both directions; the decoder writes the target one token at a time,
trained with **teacher forcing** (it reads the true :math:`y_{t-1}`, :math:`y_0` = ``<bos>``) up to ``<eos>``.

.. math::

    \mathbf{h}_i = [\overrightarrow{\mathbf{h}}_i; \overleftarrow{\mathbf{h}}_i], \qquad
    \mathbf{c} = [\overrightarrow{\mathbf{h}}_S; \overleftarrow{\mathbf{h}}_1], \qquad
    \mathbf{s}_0 = \tanh(\mathbf{W}_s \mathbf{c})

    \mathbf{s}_t = \mathrm{GRU}(\mathbf{s}_{t-1}, [\mathbf{e}(y_{t-1}); \mathbf{c}])
    \ \text{(no attention)}, \qquad
    \mathbf{s}_t = \mathrm{GRU}(\mathbf{s}_{t-1}, \mathbf{e}(y_{t-1})) \ \text{(attention)}

    \mathbf{s}_t = \mathrm{GRU}(\mathbf{s}_{t-1}, [\mathbf{e}(y_{t-1}); \tilde{\mathbf{o}}_{t-1}]),
    \quad \tilde{\mathbf{o}}_0 = \mathbf{0} \ \text{(attention with input feeding)}

    \alpha_{ti} = \frac{m_i \exp(e_{ti})}{\sum_j m_j \exp(e_{tj})}, \qquad
    \mathbf{c}_t = \sum_i \alpha_{ti} \mathbf{h}_i, \qquad
    \tilde{\mathbf{o}}_t = \tanh(\mathbf{W}_o [\mathbf{s}_t; \mathbf{c}_t]), \qquad
    P(y_t \mid y_{<t}, x) = \mathrm{softmax}(\mathbf{W}_v \tilde{\mathbf{o}}_t)

**Without attention** the fixed summary :math:`\mathbf{c}` is all the decoder gets (the bottleneck);
**with attention** (:mod:`seqlib.attention`) it looks back at every real source position *after* the
recurrent step (Luong et al.'s placement: teacher forcing is one ``nn.GRU`` call). With **input feeding**
(Luong et al.) the GRU also reads the last step's attentional vector :math:`\tilde{\mathbf{o}}_{t-1}`, so
what it attended to informs its next step, as in Bahdanau et al.'s design; the decoder then runs one step
at a time, teacher forcing included. :math:`\mathbf{W}_v`: ``head``.

=====================  ===================  ==========================================
``src``                ``(B, S)`` long      source ids, right-padded with ``<pad>``
``src_len``            ``(B,)`` long        real source tokens :math:`S_b \ge 1`
``tgt_in``             ``(B, T)`` long      ``<bos> y_1 .. y_{T-1}`` (teacher forcing)
``H`` (enc. outputs)   ``(B, S, 2h)``       :math:`\mathbf{h}_i`, both directions
``mask``               ``(B, S)`` bool      :math:`m_i`: True at real source tokens
``logits``             ``(B, T, V)``        next-token scores
``weights``            ``(B, T, S)``        :math:`\alpha_{ti}`, rows sum to 1 over real positions
=====================  ===================  ==========================================

Decoding: :mod:`seqlib.decoding` through :class:`Seq2SeqStep` (its ``step(state, tokens)`` protocol).
"""

from __future__ import annotations

import numbers

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from seqlib import decoding, validation
from seqlib.attention import AdditiveAttention, DotProductAttention
from seqlib.batching import padding_mask
from seqlib.text import PAD_IDX

__all__ = ["Encoder", "Decoder", "Seq2Seq", "sequence_loss", "Seq2SeqStep", "translate_greedy", "translate_beam", "plot_attention"]

ATTENTIONS = (None, "additive", "dot")


class Encoder(nn.Module):
    """Embedding, bidirectional GRU over the real tokens (packed): ``(src, src_len)`` -> ``H (B, S, 2h), c (B, 2h)``."""

    def __init__(self, vocab_size: int, embed_size: int, num_hiddens: int, dropout: float = 0.0):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=PAD_IDX)
        self.rnn = nn.GRU(embed_size, num_hiddens, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, src, src_len):
        X = self.dropout(self.embedding(src))
        packed = pack_padded_sequence(X, src_len.cpu(), batch_first=True, enforce_sorted=False)
        out, h_n = self.rnn(packed)
        H, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        return H, torch.cat([h_n[0], h_n[1]], dim=-1)


class Decoder(nn.Module):
    """A GRU decoder; ``attention`` is ``None`` (the fixed summary only), ``"additive"`` or ``"dot"``;
    ``input_feeding`` feeds each step's attentional vector into the next step's input.

    ``forward(tgt_in (B, T), state, H, c, mask)`` -> ``logits (B, T, V), state, weights (B, T, S) or None``;
    ``state`` is ``s (1, B, h)``, with input feeding ``(s, o)`` (``o (B, h)``: :meth:`begin_state`).
    """

    def __init__(self, vocab_size: int, embed_size: int, num_hiddens: int, enc_size: int,
                 attention: str | None = "additive", dropout: float = 0.0, attention_step=None,
                 input_feeding: bool = False):
        super().__init__()
        self.attention_kind = validation.one_of(attention, "attention", ATTENTIONS)
        validation.require(attention_step is None or attention == "additive",
                           "attention_step is one step of additive attention: use it with attention='additive'")
        self.input_feeding = validation.one_of(input_feeding, "input_feeding", (False, True))
        validation.require(attention or not input_feeding, "input feeding feeds back what attention read: "
                                                           "use it with attention='additive' or 'dot'")
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=PAD_IDX)
        extra = num_hiddens if input_feeding else 0 if attention else enc_size
        self.rnn = nn.GRU(embed_size + extra, num_hiddens, batch_first=True)
        self.attention = None if attention is None else \
            AdditiveAttention(num_hiddens, enc_size, num_hiddens, attention_step) if attention == "additive" else \
            DotProductAttention(num_hiddens, enc_size, num_hiddens)
        self.W_o = nn.Linear(num_hiddens + enc_size, num_hiddens)
        self.head = nn.Linear(num_hiddens, vocab_size)
        self.dropout = nn.Dropout(dropout)

    def begin_state(self, s):
        """The decoder's first state from ``s_0 (1, B, h)``: ``s_0``, with input feeding ``(s_0, 0)``."""
        return (s, s.new_zeros(s.shape[1:])) if self.input_feeding else s

    def _read(self, S_dec, H, c, mask):
        """The attentional vectors ``O (B, T, h)`` of the states ``S_dec (B, T, h)``, and the weights."""
        if self.attention is None:
            context, weights = c[:, None, :].expand(-1, S_dec.shape[1], -1), None
        else:
            context, weights = self.attention(S_dec, H, mask)                # (B, T, 2h), (B, T, S)
        return torch.tanh(self.W_o(self.dropout(torch.cat([S_dec, context], dim=-1)))), weights

    def forward(self, tgt_in, state, H, c, mask):
        X = self.dropout(self.embedding(tgt_in))                              # (B, T, e)
        if self.input_feeding:  # step by step: each input holds the last step's attentional vector
            (s, o), O, weights = state, [], []
            for t in range(X.shape[1]):
                S_t, s = self.rnn(torch.cat([X[:, t:t + 1], o[:, None]], dim=-1), s)
                O_t, w_t = self._read(S_t, H, c, mask)
                o = O_t[:, 0]
                O.append(O_t)
                weights.append(w_t)
            return self.head(self.dropout(torch.cat(O, 1))), (s, o), torch.cat(weights, 1)
        if self.attention is None:
            X = torch.cat([X, c[:, None, :].expand(-1, X.shape[1], -1)], dim=-1)
        S_dec, state = self.rnn(X, state)                                     # (B, T, h)
        O, weights = self._read(S_dec, H, c, mask)
        return self.head(self.dropout(O)), state, weights


class Seq2Seq(nn.Module):
    """Encoder and decoder: ``model(src, src_len, tgt_in)`` -> ``logits (B, T, V)`` (teacher forcing);
    ``forward_with_weights`` also returns the attention weights ``(B, T, S)`` (``None`` without attention).
    ``attention_step``: the function of one additive attention step the decoder calls
    (:func:`seqlib.attention.additive_step` by default; Day 9 passes the student's); ``input_feeding``:
    see :class:`Decoder`.
    """

    def __init__(self, src_vocab_size: int, tgt_vocab_size: int, embed_size: int = 64, num_hiddens: int = 128,
                 attention: str | None = "additive", dropout: float = 0.0, attention_step=None,
                 input_feeding: bool = False):
        super().__init__()
        for name in ("src_vocab_size", "tgt_vocab_size", "embed_size", "num_hiddens"):
            validation.positive_int(locals()[name], name)
        validation.number_in_range(dropout, "dropout", 0, 1, high_open=True)
        self.config = dict(src_vocab_size=src_vocab_size, tgt_vocab_size=tgt_vocab_size, embed_size=embed_size,
                           num_hiddens=num_hiddens, attention=attention, dropout=dropout,
                           input_feeding=input_feeding)
        self.encoder = Encoder(src_vocab_size, embed_size, num_hiddens, dropout)
        self.decoder = Decoder(tgt_vocab_size, embed_size, num_hiddens, 2 * num_hiddens, attention, dropout,
                               attention_step, input_feeding)
        self.W_s = nn.Linear(2 * num_hiddens, num_hiddens)

    def encode(self, src, src_len):
        """``(H, c, s_0, mask)`` of a source batch."""
        src_len = validation.padded_batch(src, src_len, self.config["src_vocab_size"],
                                          names=("src", "src_len"), shape=("batch_size", "src_len"))
        H, c = self.encoder(src, src_len)
        return H, c, torch.tanh(self.W_s(c))[None], padding_mask(src_len.to(src.device), src.shape[1])

    def forward_with_weights(self, src, src_len, tgt_in):
        H, c, s, mask = self.encode(src, src_len)
        validation.token_ids(tgt_in, "tgt_in", self.config["tgt_vocab_size"], shape=(len(src), "tgt_len"))
        logits, _, weights = self.decoder(tgt_in, self.decoder.begin_state(s), H, c, mask)
        return logits, weights

    def forward(self, src, src_len, tgt_in):
        return self.forward_with_weights(src, src_len, tgt_in)[0]


def sequence_loss(logits: torch.Tensor, target: torch.Tensor, pad_idx: int = PAD_IDX) -> torch.Tensor:
    """Mean cross-entropy over the real target tokens (``pad_idx`` ignored): ``logits (B, T, V)``, ``target (B, T)``."""
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1),
                                       ignore_index=pad_idx)


class Seq2SeqStep:
    """The :mod:`seqlib.decoding` protocol for a :class:`Seq2Seq` (in evaluation mode): ``step(state, tokens)``
    -> ``(log_probs (B, V), state)``; ``begin_state(src, src_len)`` encodes a source batch. The state
    ``(s, H, c, mask)`` is batch-first (``s`` as ``(B, 1, h)``; with input feeding ``(s, o)``), so beam search
    reorders it along dimension 0.
    """

    batch_dim = 0

    def __init__(self, model: Seq2Seq):
        validation.require(isinstance(model, Seq2Seq), f"model must be a Seq2Seq, got {type(model).__name__}", TypeError)
        self.model = model.eval()
        self.device = next(model.parameters()).device

    @torch.no_grad()
    def begin_state(self, src, src_len):
        H, c, s, mask = self.model.encode(torch.as_tensor(src).to(self.device), torch.as_tensor(src_len))
        return _swap(self.model.decoder.begin_state(s)), H, c, mask

    @torch.no_grad()
    def __call__(self, state, tokens):
        s, H, c, mask = state
        logits, s_new, _ = self.model.decoder(torch.as_tensor(tokens).to(self.device)[:, None], _swap(s), H, c, mask)
        return torch.log_softmax(logits[:, 0].float(), dim=-1), (_swap(s_new), H, c, mask)


def _swap(state):
    """The decoder's state with ``s`` between ``(1, B, h)`` and batch-first ``(B, 1, h)`` (``o`` is batch-first)."""
    if isinstance(state, tuple):
        return state[0].transpose(0, 1).contiguous(), state[1]
    return state.transpose(0, 1).contiguous()


def _special(value, name, model):
    """A token index of the output vocabulary (``bos``, ``eos``)."""
    return validation.index(value, name, model.config["tgt_vocab_size"], hint="an index of the output vocabulary")


def _cut(tokens, eos):
    tokens = list(tokens)
    return tokens[:tokens.index(eos)] if eos in tokens else tokens


def translate_greedy(model: Seq2Seq, src, src_len, *, bos: int, eos: int, max_len: int) -> list[list[int]]:
    """Greedy outputs of a source batch (``seqlib.decoding.sample`` at temperature 0, one row per source),
    each cut before its ``<eos>``."""
    step = Seq2SeqStep(model)
    bos, eos = _special(bos, "bos", model), _special(eos, "eos", model)
    max_len = validation.positive_int(max_len, "max_len", hint="(most output tokens)")
    out = decoding.sample(step, step.begin_state(src, src_len), [bos], max_len, num_samples=len(src_len),
                          temperature=0.0, eos=eos)
    return [_cut(row, eos) for row in out.tokens.tolist()]


def translate_beam(model: Seq2Seq, src_ids, *, bos: int, eos: int, max_len: int, beam_width: int = 4,
                   alpha: float = 1.0) -> list[int]:
    """The best output of one source (a list of ids) by ``seqlib.decoding.beam_search``, cut before ``<eos>``
    (scores ``log P / len ** alpha``; ``beam_width=1`` is greedy decoding)."""
    step = Seq2SeqStep(model)
    bos, eos = _special(bos, "bos", model), _special(eos, "eos", model)
    validation.sequence(src_ids, "src_ids", of=numbers.Integral, non_empty=True, what="a list of source token ids")
    src = torch.as_tensor([list(src_ids)])
    state = step.begin_state(src, torch.tensor([src.shape[1]]))
    best = decoding.beam_search(step, state, [bos], max_len, beam_width=beam_width, alpha=alpha, eos=eos)[0]
    return _cut(best.tokens, eos)


def plot_attention(weights, src_tokens, out_tokens, *, title: str | None = None, ax=None):
    """Heatmap of one example's attention ``weights`` ``(T_out, S_in)``, colours 0..1: output tokens along the
    x axis (time, :func:`seqlib.heatmaps.heatmap`), input tokens down the y axis in reading order. Returns the axes."""
    from seqlib.heatmaps import heatmap

    W = validation.float_array(weights, "weights", ndim=2, what="of shape (output length, input length)")
    shape = (len(out_tokens), len(src_tokens))
    validation.require(W.shape == shape, f"weights has shape {W.shape}, not (output length, input length) = {shape}")
    image = heatmap(W, vmin=0.0, vmax=1.0, cmap="viridis", step_labels=[str(t) for t in out_tokens],
                    ylabel="input", colorbar="attention weight", title=title, ax=ax)
    ax = image.axes
    ax.set_yticks(range(1, len(src_tokens) + 1), ["␣" if t == " " else str(t) for t in src_tokens])
    ax.invert_yaxis()
    ax.set_xlabel("output")
    if max(len(str(t)) for t in out_tokens) > 1:
        ax.tick_params(axis="x", labelrotation=90)
    return ax
