r"""Character-level recurrent language models in three forms: lesson, fast and concise.

Every model maps token indices ``X`` ``(batch_size, num_steps)`` and a state to logits
``(num_steps * batch_size, vocab_size)`` (time-major rows, compare with ``Y.T.reshape(-1)``) and the
new state; ``model.begin_state(batch_size=..., device=...)`` gives the zero state (D2L, classic
edition, chapters 8-9).

==========================  =================================================================
:func:`rnn`, :func:`lstm`,  lesson form (with :class:`RNNModelScratch`, :func:`lesson_model`): one-hot
:func:`gru`                 inputs, one parameter per gate and source, a Python loop over time
                            calling the cell's step (:mod:`seqlib.cells`); parameters as a list in
                            the order of ``get_*_params``: the gates' (:data:`seqlib.cells.GATES`),
                            then ``W_hq, b_q``
:class:`RNNLMFast`          fast form (:mod:`seqlib.fused`): fused gates, the input projection as a
                            row lookup ``W_x[X]``, the output layer on all steps at once, the
                            LSTM's backward pass written out by hand
:class:`RNNModel`           concise form, :func:`concise_model`: ``torch.nn.RNN``/``LSTM``/``GRU`` on
                            one-hot inputs plus a linear ``head`` (D2L's ``RNNModel``)
==========================  =================================================================

:meth:`RNNLMFast.from_lesson` and :meth:`RNNLMFast.to_torch` copy weights between the forms (the
parity tests). ``model(X, state)`` checks ``X`` and ``state`` once (:func:`_check_call`);
``model.forward`` checks nothing (decoding calls it once per generated token).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as nnf
from torch import nn

from seqlib import cells, validation
from seqlib.fused import fuse, gru_scan, lstm_bptt, lstm_scan, rnn_scan, unfuse

__all__ = [
    "get_rnn_params", "init_rnn_state", "rnn",
    "get_lstm_params", "init_lstm_state", "lstm",
    "get_gru_params", "init_gru_state", "gru",
    "RNNModelScratch", "lesson_model",
    "RNNLMFast",
    "RNNModel", "concise_model",
]


# Lesson form (D2L sections 8.5, 9.1, 9.2)

def _sizes(vocab_size, num_hiddens):
    """``(vocab_size, num_hiddens)`` as positive ints."""
    return validation.positive_int(vocab_size, "vocab_size"), validation.positive_int(num_hiddens, "num_hiddens")


def _check_call(model, args, kwargs) -> None:
    """The one input check of a language model's call ``model(X, state)`` (a forward pre-hook of the
    ``nn.Module`` forms): ``X`` token indices ``(batch_size, num_steps)`` below ``vocab_size``, ``state``
    what ``model.begin_state(batch_size=...)`` makes. Never run per time step or per generated token."""
    X, state = (dict(zip(("X", "state"), args), **kwargs).get(k) for k in ("X", "state"))
    validation.token_ids(X, "X", model.vocab_size)
    sizes = {**getattr(model, "state_layers", {}), "batch_size": X.shape[0], "num_hiddens": model.num_hiddens}
    validation.state(state, "state", model.state_parts, shape=tuple(sizes), sizes=sizes)  # parts (): a bare H


def _lesson_names(cell, reset_after=False):
    """Names of the lesson form's parameter list: the cell's, the output layer's, then ``b_hh``."""
    names = cells.param_names(cell, reset_after=False) + ("W_hq", "b_q")
    return names + ("b_hh",) if reset_after else names


def _get_params(cell, vocab_size, num_hiddens, device, reset_after=False):
    """The lesson form's parameters: weights ~ N(0, 0.01^2), biases 0 (D2L's initialisation)."""
    vocab_size, num_hiddens = _sizes(vocab_size, num_hiddens)
    p = cells.init_params(cell, vocab_size, num_hiddens, reset_after=reset_after, init="d2l", device=device)
    p["W_hq"] = cells.init_tensor(num_hiddens, vocab_size, num_hiddens=num_hiddens, init="d2l", device=device)
    p["b_q"] = cells.init_tensor(vocab_size, num_hiddens=num_hiddens, bias=True, init="d2l", device=device)
    return [p[name].requires_grad_(True) for name in _lesson_names(cell, reset_after)]


def get_rnn_params(vocab_size: int, num_hiddens: int, device):
    """``[W_xh, W_hh, b_h, W_hq, b_q]``: weights ~ N(0, 0.01^2), biases 0 (as in D2L)."""
    return _get_params("rnn", vocab_size, num_hiddens, device)


def init_rnn_state(batch_size: int, num_hiddens: int, device):
    """``(H,)`` with ``H`` zeros of shape ``(batch_size, num_hiddens)``."""
    return (torch.zeros((batch_size, num_hiddens), device=device),)


def rnn(inputs, state, params):
    r"""Plain RNN over a sequence, lesson form: :func:`seqlib.cells.rnn_step`, then the output layer.

    .. math::  H_t = \tanh(X_t W_{xh} + H_{t-1} W_{hh} + b_h), \qquad  Y_t = H_t W_{hq} + b_q

    ==========  ============================================
    ``inputs``  ``(num_steps, batch_size, vocab_size)`` one-hot
    ``state``   ``(H,)``, ``H``: ``(batch_size, num_hiddens)``
    returns     ``(Y, (H,))``, ``Y``: ``(num_steps * batch_size, vocab_size)``
    ==========  ============================================
    """
    p = dict(zip(_lesson_names("rnn"), params))
    H, = state
    outputs = []
    for X in inputs:
        H = cells.rnn_step(X, H, p)
        outputs.append(H @ p["W_hq"] + p["b_q"])
    return torch.cat(outputs, dim=0), (H,)


def get_lstm_params(vocab_size: int, num_hiddens: int, device):
    """``[W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q]`` (D2L 9.2)."""
    return _get_params("lstm", vocab_size, num_hiddens, device)


def init_lstm_state(batch_size: int, num_hiddens: int, device):
    """``(H, C)``, both zeros of shape ``(batch_size, num_hiddens)``."""
    return (torch.zeros((batch_size, num_hiddens), device=device),
            torch.zeros((batch_size, num_hiddens), device=device))


def lstm(inputs, state, params):
    r"""LSTM over a sequence, lesson form: :func:`seqlib.cells.lstm_step` (the equations of
    :func:`seqlib.cells.lstm_pointwise`), then the output layer :math:`Y_t = H_t W_{hq} + b_q`.

    ==========  ============================================
    ``inputs``  ``(num_steps, batch_size, vocab_size)`` one-hot
    ``state``   ``(H, C)``, each ``(batch_size, num_hiddens)``
    returns     ``(Y, (H, C))``, ``Y``: ``(num_steps * batch_size, vocab_size)``
    ==========  ============================================
    """
    p = dict(zip(_lesson_names("lstm"), params))
    H, C = state
    outputs = []
    for X in inputs:
        H, C = cells.lstm_step(X, H, C, p)
        outputs.append(H @ p["W_hq"] + p["b_q"])
    return torch.cat(outputs, dim=0), (H, C)


def get_gru_params(vocab_size: int, num_hiddens: int, device, reset_after: bool = False):
    """``[W_xr, W_hr, b_r, W_xz, W_hz, b_z, W_xh, W_hh, b_h, W_hq, b_q]`` (D2L 9.1 lists z first), then
    ``b_hh`` (zeros) with ``reset_after=True``: the candidate's recurrent bias of ``torch.nn.GRU``."""
    return _get_params("gru", vocab_size, num_hiddens, device, reset_after)


init_gru_state = init_rnn_state  # a GRU carries H alone, as the plain RNN does


def gru(inputs, state, params, reset_after: bool = False):
    r"""GRU over a sequence, lesson form: :func:`seqlib.cells.gru_step` (the equations of
    :func:`seqlib.cells.gru_pointwise`), then the output layer :math:`Y_t = H_t W_{hq} + b_q`.

    ``reset_after=False`` (D2L, Cho et al. 2014) resets the state before the product with ``W_hh``,
    ``True`` (``torch.nn.GRU``, parameters of ``get_gru_params(..., reset_after=True)``) after it.
    Shapes as :func:`rnn`.
    """
    p = dict(zip(_lesson_names("gru", reset_after), params))
    H, = state
    outputs = []
    for X in inputs:
        H = cells.gru_step(X, H, p, reset_after)
        outputs.append(H @ p["W_hq"] + p["b_q"])
    return torch.cat(outputs, dim=0), (H,)


class RNNModelScratch:
    """A language model from the lesson's three functions (D2L 8.5).

    ``net(X, state)`` checks ``X`` and ``state`` once, then :meth:`forward` one-hot encodes ``X`` into
    ``(num_steps, batch_size, vocab_size)`` and calls ``forward_fn(inputs, state, params)``. ``net.params``
    is the list of parameters, also ``net.parameters()`` (an optimiser and :func:`seqlib.training.fit` take it).
    """

    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
        vocab_size, num_hiddens = _sizes(vocab_size, num_hiddens)
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn
        self.state_parts = ("H", "C")[:len(init_state(1, num_hiddens, device))]

    def __call__(self, X, state):
        _check_call(self, (X, state), {})
        return self.forward(X, state)

    def forward(self, X, state):
        X = nnf.one_hot(X.T.long(), self.vocab_size).type(self.params[0].dtype)  # float32 unless made otherwise
        return self.forward_fn(X, state, self.params)

    def begin_state(self, batch_size, device):
        return self.init_state(batch_size, self.num_hiddens, device)

    def parameters(self):
        return list(self.params)

    def train(self, mode: bool = True):  # no dropout or batch norm: nothing to switch
        return self

    def eval(self):
        return self


_LESSON = {
    "rnn": (get_rnn_params, init_rnn_state, rnn),
    "lstm": (get_lstm_params, init_lstm_state, lstm),
    "gru": (get_gru_params, init_gru_state, gru),
}


def lesson_model(cell: str, vocab_size: int, num_hiddens: int, device=None, *,
                 reset_after: bool = False) -> RNNModelScratch:
    """The lesson-form model for ``cell`` in ``{"rnn", "lstm", "gru"}`` (``reset_after``: GRU only, else ignored)."""
    get_params, init_state, forward_fn = _LESSON[validation.one_of(cell, "cell", sorted(_LESSON))]
    if cell == "gru":
        get_params = functools.partial(get_gru_params, reset_after=reset_after)
        forward_fn = functools.partial(gru, reset_after=reset_after)
    return RNNModelScratch(vocab_size, num_hiddens, device or torch.device("cpu"),
                           get_params, init_state, forward_fn)


# Fast form

class RNNLMFast(nn.Module):
    r"""A fast from-scratch language model: ``cell`` in ``{"rnn", "lstm", "gru"}``.

    Parameters (``h`` = ``num_hiddens``, ``V`` = ``vocab_size``, ``G`` gates in the order of
    :data:`seqlib.cells.GATES`: 1 for the RNN, 3 for the GRU (r, z, h), 4 for the LSTM
    (i, f, o, c), 3 for the ``"cifg"`` and ``"no_forget"`` variants):

    ==========  ================  ============================================
    ``W_x``     ``(V, G * h)``    input weights of all gates; row ``v`` = what token ``v`` adds
    ``W_h``     ``(h, G * h)``    recurrent weights of all gates, fused (:func:`seqlib.fused.fuse`)
    ``b``       ``(G * h,)``      biases of all gates
    ``W_hq``    ``(h, V)``        output layer
    ``b_q``     ``(V,)``
    ``b_hh``    ``(h,)``          GRU with ``reset_after=True`` only
    ``w_c*``    ``(h,)``          peephole weights ``w_ci, w_cf, w_co`` (``variant="peephole"``)
    ==========  ================  ============================================

    Forward: ``XW = (W_x + b)[X.T]`` (a row lookup), the scan (:mod:`seqlib.fused`), then ``Hs @ W_hq + b_q``
    for all steps; weights initialised like ``torch.nn``. ``dropout``: inverted dropout on the units fed to
    the output layer. ``manual_bptt`` (standard LSTM): :func:`seqlib.fused.lstm_bptt`, else autograd.
    ``step`` (standard LSTM): a function ``step(XW_t, H, C, W_h) -> (H, C)`` that runs each step, autograd.
    """

    def __init__(self, vocab_size: int, num_hiddens: int, cell: str = "lstm", *,
                 variant: str = "lstm", reset_after: bool = True, dropout: float = 0.0,
                 manual_bptt: bool = True, step=None):
        super().__init__()
        validation.one_of(cell, "cell", ("rnn", "lstm", "gru"))
        variants = cells.LSTM_VARIANTS if cell == "lstm" else ["lstm"]
        validation.one_of(variant, "variant", variants, hint="the variants are LSTM options")
        vocab_size, num_hiddens = _sizes(vocab_size, num_hiddens)
        self.vocab_size, self.num_hiddens, self.cell = vocab_size, num_hiddens, cell
        self.state_parts = ("H", "C") if cell == "lstm" else ("H",)
        self.register_forward_pre_hook(_check_call, with_kwargs=True)
        self.variant = variant if cell == "lstm" else None
        self.reset_after = reset_after if cell == "gru" else None
        self.dropout = validation.number_in_range(dropout, "dropout", 0.0, 1.0, high_open=True)
        validation.require(step is None or (callable(step) and cell == "lstm" and variant == "lstm"),
                           "step= replaces the standard LSTM's step: a function step(XW_t, H, C, W_h)")
        self.step = step
        self.manual_bptt = bool(manual_bptt) and cell == "lstm" and variant == "lstm" and step is None
        blocks = len(cells.GATES[self.variant or cell]) * num_hiddens

        def init(*shape):
            return nn.Parameter(cells.init_tensor(*shape, num_hiddens=num_hiddens))

        self.W_x, self.W_h, self.b = init(vocab_size, blocks), init(num_hiddens, blocks), init(blocks)
        self.W_hq, self.b_q = init(num_hiddens, vocab_size), init(vocab_size)
        if cell == "gru" and reset_after:
            self.b_hh = init(num_hiddens)
        if self.variant == "peephole":
            self.w_ci, self.w_cf, self.w_co = init(num_hiddens), init(num_hiddens), init(num_hiddens)

    def forward(self, X, state):
        # inputs of all steps (num_steps, batch_size, G*h): one-hot times W_x is a row lookup, the bias on V rows
        XW = nnf.embedding(X.T, self.W_x + self.b)
        if self.cell == "rnn":
            Hs, state = rnn_scan(XW, state, self.W_h)
        elif self.manual_bptt:
            Hs, state = lstm_bptt(XW, state, self.W_h)
        elif self.cell == "lstm":
            peepholes = (self.w_ci, self.w_cf, self.w_co) if self.variant == "peephole" else None
            Hs, state = lstm_scan(XW, state, self.W_h, self.variant, peepholes, self.step)
        else:
            Hs, state = gru_scan(XW, state, self.W_h, getattr(self, "b_hh", None), self.reset_after)
        if self.training and self.dropout > 0:  # inverted dropout: zero a unit with probability p,
            keep = 1 - self.dropout               # scale the others by 1 / (1 - p) to keep the mean
            Hs = Hs * (torch.rand_like(Hs) < keep) / keep
        Y = torch.addmm(self.b_q, Hs.reshape(-1, self.num_hiddens), self.W_hq)  # all steps at once
        return Y, state

    def begin_state(self, batch_size: int = 1, device=None):
        device = device if device is not None else self.W_h.device
        zeros = torch.zeros((batch_size, self.num_hiddens), device=device, dtype=self.W_h.dtype)
        return (zeros, zeros.clone()) if self.cell == "lstm" else (zeros,)

    def extra_repr(self) -> str:
        extra = f", variant={self.variant!r}" if self.cell == "lstm" else ""
        extra += f", reset_after={self.reset_after}" if self.cell == "gru" else ""
        extra += f", dropout={self.dropout}" if self.dropout else ""
        return f"vocab_size={self.vocab_size}, num_hiddens={self.num_hiddens}, cell={self.cell!r}{extra}"

    # -- copying weights between the forms (for the parity tests) ---------------------------

    @classmethod
    def from_lesson(cls, net: RNNModelScratch, cell: str) -> "RNNLMFast":
        """A fast model with the weights of the lesson-form model ``net`` (same function, same numbers)."""
        reset_after = cell == "gru" and len(net.params) == len(_lesson_names("gru", reset_after=True))
        p = dict(zip(_lesson_names(cell, reset_after), (t.detach() for t in net.params)))
        fast = cls(net.vocab_size, net.num_hiddens, cell, reset_after=reset_after).to(p["W_hq"].dtype)
        with torch.no_grad():
            for target, value in zip((fast.W_x, fast.W_h, fast.b), fuse(p, cell)):
                target.copy_(value)
            fast.W_hq.copy_(p["W_hq"])
            fast.b_q.copy_(p["b_q"])
            if reset_after:
                fast.b_hh.copy_(p["b_hh"])
        return fast.to(p["W_hq"].device)

    def to_torch(self) -> "RNNModel":
        """The concise model (``torch.nn`` layer + linear layer) with this model's weights.

        The gates are unfused (:func:`seqlib.fused.unfuse`) and copied by :func:`seqlib.cells.to_torch`.
        Only the plain LSTM and the GRU with ``reset_after=True`` exist in ``torch.nn``.
        """
        ok = self.variant in (None, "lstm") and self.reset_after is not False
        validation.require(ok, f"torch.nn lacks RNNLMFast({self.extra_repr()}): only the plain LSTM, reset_after=True GRU")
        layer = _TORCH_LAYERS[self.cell](self.vocab_size, self.num_hiddens)
        model = RNNModel(layer, self.vocab_size).to(dtype=self.W_h.dtype, device=self.W_h.device)
        with torch.no_grad():
            params = unfuse(self.W_x, self.W_h, self.b, self.cell)
            if self.cell == "gru":
                params["b_hh"] = self.b_hh
            cells.to_torch(params, layer)
            model.head.weight.copy_(self.W_hq.T)
            model.head.bias.copy_(self.b_q)
        return model


# Concise form (D2L 8.6)

class RNNModel(nn.Module):
    """``torch.nn.RNN``/``LSTM``/``GRU`` layer on one-hot inputs plus a linear output layer (D2L 8.6).

    ``model(X, state)`` returns time-major logits and the new state; the output layer is ``head`` (D2L's
    ``linear``); the layer's ``input_size`` must be ``vocab_size``. ``begin_state(device, batch_size=1)``:
    D2L's argument order (pass keywords). A ``batch_first=True`` layer computes the same function.
    """

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        validation.require(isinstance(rnn_layer, nn.RNNBase), "rnn_layer must be an nn.RNN, LSTM or GRU", TypeError)
        vocab_size = _sizes(vocab_size, rnn_layer.hidden_size)[0]
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.num_directions = 2 if self.rnn.bidirectional else 1
        self.state_parts = ("H", "C") if isinstance(rnn_layer, nn.LSTM) else ()  # nn.RNN, nn.GRU: H alone, no tuple
        self.state_layers = {"num_layers * num_directions": self.rnn.num_layers * self.num_directions}
        self.head = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)
        self.register_forward_pre_hook(_check_call, with_kwargs=True)

    def forward(self, X, state):
        # a batch_first layer reads (batch_size, num_steps, vocab_size); the rows out are time-major either way
        inputs = nnf.one_hot((X if self.rnn.batch_first else X.T).long(), self.vocab_size)
        H, state = self.rnn(inputs.to(self.head.weight.dtype), state)
        H = H.transpose(0, 1) if self.rnn.batch_first else H
        Y = self.head(H.reshape((-1, H.shape[-1])))
        return Y, state

    def begin_state(self, device=None, batch_size=1):
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        zeros = torch.zeros(shape, device=device, dtype=self.head.weight.dtype)
        return (zeros, zeros.clone()) if isinstance(self.rnn, nn.LSTM) else zeros


def concise_model(cell: str, vocab_size: int, num_hiddens: int) -> RNNModel:
    """``RNNModel(nn.RNN/LSTM/GRU(vocab_size, num_hiddens), vocab_size)`` for ``cell`` in rnn, lstm, gru."""
    layer = _TORCH_LAYERS[validation.one_of(cell, "cell", sorted(_TORCH_LAYERS))]
    vocab_size, num_hiddens = _sizes(vocab_size, num_hiddens)
    return RNNModel(layer(vocab_size, num_hiddens), vocab_size)


_TORCH_LAYERS = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
