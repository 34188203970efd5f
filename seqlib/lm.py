r"""Character-level recurrent language models in three forms: lesson, fast and concise.

Every model maps a minibatch of token indices ``X`` of shape ``(batch_size, num_steps)`` and
a state to logits of shape ``(num_steps * batch_size, vocab_size)`` (time-major rows: first
all sequences at step 0, then step 1, ...; compare with ``Y.T.reshape(-1)``) and the new
state. ``model.begin_state(batch_size=..., device=...)`` gives the zero state. This is the
interface of *Dive into Deep Learning* (classic edition, chapters 8-9).

**Lesson form** (:func:`rnn`, :func:`lstm`, :func:`gru` with :class:`RNNModelScratch`):
the textbook's code. One-hot inputs, one explicit parameter per gate and source, a Python
loop over time that computes each gate with its own matrix products and the output layer at
every step. Parameters come as a list, in the order of ``get_*_params``.

**Fast form** (:class:`RNNLMFast`): the same mathematics, arranged for speed and still
readable:

1. the gates are *fused*: one matrix ``W_h`` of shape ``(num_hiddens, G * num_hiddens)``
   holds the recurrent weights of all ``G`` gates, so each step does **one** matrix product;
2. the input projection of all steps is done **before** the loop, and it is a row lookup
   ``W_x[X]``, not a one-hot matrix product (multiplying a one-hot row by ``W_x`` selects a
   row of ``W_x``);
3. the output layer runs **after** the loop, on all steps at once;
4. for the standard LSTM, the backward pass through time is written out by hand
   (:class:`LSTMWithBPTT`): one matrix product per step each way, the recurrent weights packed
   once per sequence, and the weight gradient of all steps in one product.

**Concise form** (:class:`RNNModel`): ``torch.nn.RNN`` / ``LSTM`` / ``GRU`` plus a linear
output layer on one-hot inputs, exactly D2L's ``RNNModel``.

:meth:`RNNLMFast.from_lesson` and :meth:`RNNLMFast.to_torch` copy weights between the
forms, so that the tests can check that all three compute the same function.
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "get_rnn_params", "init_rnn_state", "rnn",
    "get_lstm_params", "init_lstm_state", "lstm",
    "get_gru_params", "init_gru_state", "gru",
    "RNNModelScratch", "lesson_model",
    "rnn_scan", "lstm_scan", "gru_scan", "LSTM_VARIANTS", "packed_matmul", "LSTMWithBPTT", "lstm_bptt",
    "RNNLMFast",
    "RNNModel", "concise_model", "num_params",
]


# ---------------------------------------------------------------------------------------
# Lesson form (D2L sections 8.5, 9.1, 9.2)
# ---------------------------------------------------------------------------------------

def _normal(shape, device):
    return torch.randn(size=shape, device=device) * 0.01


def _three(num_inputs, num_hiddens, device):
    return (_normal((num_inputs, num_hiddens), device), _normal((num_hiddens, num_hiddens), device),
            torch.zeros(num_hiddens, device=device))


def _with_output_layer(params, vocab_size, num_hiddens, device):
    params = [*params, _normal((num_hiddens, vocab_size), device), torch.zeros(vocab_size, device=device)]
    for param in params:
        param.requires_grad_(True)
    return params


def get_rnn_params(vocab_size: int, num_hiddens: int, device):
    """``[W_xh, W_hh, b_h, W_hq, b_q]``: weights ~ N(0, 0.01^2), biases 0 (as in D2L)."""
    return _with_output_layer(_three(vocab_size, num_hiddens, device), vocab_size, num_hiddens, device)


def init_rnn_state(batch_size: int, num_hiddens: int, device):
    """``(H,)`` with ``H`` zeros of shape ``(batch_size, num_hiddens)``."""
    return (torch.zeros((batch_size, num_hiddens), device=device),)


def rnn(inputs, state, params):
    r"""Plain RNN over a sequence, lesson form.

    .. math::  H_t = \tanh(X_t W_{xh} + H_{t-1} W_{hh} + b_h), \qquad  O_t = H_t W_{hq} + b_q

    ==========  ============================================
    ``inputs``  ``(num_steps, batch_size, vocab_size)`` one-hot
    ``state``   ``(H,)``, ``H``: ``(batch_size, num_hiddens)``
    returns     ``(O, (H,))``, ``O``: ``(num_steps * batch_size, vocab_size)``
    ==========  ============================================
    """
    W_xh, W_hh, b_h, W_hq, b_q = params
    H, = state
    outputs = []
    for X in inputs:
        H = torch.tanh(torch.mm(X, W_xh) + torch.mm(H, W_hh) + b_h)
        Y = torch.mm(H, W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)


def get_lstm_params(vocab_size: int, num_hiddens: int, device):
    """``[W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q]`` (D2L 9.2)."""
    gates = [p for _ in "ifoc" for p in _three(vocab_size, num_hiddens, device)]
    return _with_output_layer(gates, vocab_size, num_hiddens, device)


def init_lstm_state(batch_size: int, num_hiddens: int, device):
    """``(H, C)``, both zeros of shape ``(batch_size, num_hiddens)``."""
    return (torch.zeros((batch_size, num_hiddens), device=device),
            torch.zeros((batch_size, num_hiddens), device=device))


def lstm(inputs, state, params):
    r"""LSTM over a sequence, lesson form.

    .. math::

        I_t &= \sigma(X_t W_{xi} + H_{t-1} W_{hi} + b_i), \quad
        F_t = \sigma(X_t W_{xf} + H_{t-1} W_{hf} + b_f), \quad
        O_t = \sigma(X_t W_{xo} + H_{t-1} W_{ho} + b_o)\\
        \tilde C_t &= \tanh(X_t W_{xc} + H_{t-1} W_{hc} + b_c), \quad
        C_t = F_t \odot C_{t-1} + I_t \odot \tilde C_t, \quad
        H_t = O_t \odot \tanh(C_t)

    ==========  ============================================
    ``inputs``  ``(num_steps, batch_size, vocab_size)`` one-hot
    ``state``   ``(H, C)``, each ``(batch_size, num_hiddens)``
    returns     ``(Y, (H, C))``, ``Y``: ``(num_steps * batch_size, vocab_size)``
    ==========  ============================================
    """
    [W_xi, W_hi, b_i, W_xf, W_hf, b_f, W_xo, W_ho, b_o, W_xc, W_hc, b_c, W_hq, b_q] = params
    (H, C) = state
    outputs = []
    for X in inputs:
        I = torch.sigmoid((X @ W_xi) + (H @ W_hi) + b_i)
        F = torch.sigmoid((X @ W_xf) + (H @ W_hf) + b_f)
        O = torch.sigmoid((X @ W_xo) + (H @ W_ho) + b_o)
        C_tilde = torch.tanh((X @ W_xc) + (H @ W_hc) + b_c)
        C = F * C + I * C_tilde
        H = O * torch.tanh(C)
        Y = (H @ W_hq) + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H, C)


def get_gru_params(vocab_size: int, num_hiddens: int, device, reset_after: bool = False):
    """``[W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q]`` (D2L 9.1).

    With ``reset_after=True`` a last entry ``b_hh`` (zeros) is appended: the bias of the
    candidate's recurrent term, which ``torch.nn.GRU`` has (see :func:`gru`).
    """
    params = [p for _ in "zrh" for p in _three(vocab_size, num_hiddens, device)]
    params = _with_output_layer(params, vocab_size, num_hiddens, device)
    if reset_after:
        params.append(torch.zeros(num_hiddens, device=device, requires_grad=True))
    return params


def init_gru_state(batch_size: int, num_hiddens: int, device):
    """``(H,)`` with ``H`` zeros of shape ``(batch_size, num_hiddens)``."""
    return init_rnn_state(batch_size, num_hiddens, device)


def gru(inputs, state, params, reset_after: bool = False):
    r"""GRU over a sequence, lesson form.

    .. math::

        Z_t &= \sigma(X_t W_{xz} + H_{t-1} W_{hz} + b_z), \qquad
        R_t = \sigma(X_t W_{xr} + H_{t-1} W_{hr} + b_r)\\
        \tilde H_t &= \tanh\big(X_t W_{xh} + (R_t \odot H_{t-1}) W_{hh} + b_h\big)
            &\text{(reset\_after=False: Cho et al. 2014, D2L)}\\
        \tilde H_t &= \tanh\big(X_t W_{xh} + b_h + R_t \odot (H_{t-1} W_{hh} + b_{hh})\big)
            &\text{(reset\_after=True: torch.nn.GRU, cuDNN)}\\
        H_t &= Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde H_t

    The two candidates differ only in *where* the reset gate acts: before or after the
    product with ``W_hh``. Resetting after it lets a fast implementation compute the
    recurrent products of all three gates in one matrix product. Use
    ``functools.partial(gru, reset_after=True)`` as the ``forward_fn`` of
    :class:`RNNModelScratch` with parameters from ``get_gru_params(..., reset_after=True)``.
    """
    expected = 12 if reset_after else 11
    if len(params) != expected:
        raise ValueError(f"gru(reset_after={reset_after}) needs {expected} parameters, got {len(params)}; "
                         f"make them with get_gru_params(vocab_size, num_hiddens, device, "
                         f"reset_after={reset_after})")
    W_xz, W_hz, b_z, W_xr, W_hr, b_r, W_xh, W_hh, b_h, W_hq, b_q = params[:11]
    H, = state
    outputs = []
    for X in inputs:
        Z = torch.sigmoid((X @ W_xz) + (H @ W_hz) + b_z)
        R = torch.sigmoid((X @ W_xr) + (H @ W_hr) + b_r)
        if reset_after:
            H_tilde = torch.tanh((X @ W_xh) + b_h + R * ((H @ W_hh) + params[11]))
        else:
            H_tilde = torch.tanh((X @ W_xh) + ((R * H) @ W_hh) + b_h)
        H = Z * H + (1 - Z) * H_tilde
        Y = H @ W_hq + b_q
        outputs.append(Y)
    return torch.cat(outputs, dim=0), (H,)


class RNNModelScratch:
    """A language model from the lesson's three functions (D2L 8.5).

    ``RNNModelScratch(vocab_size, num_hiddens, device, get_params, init_state, forward_fn)``:
    ``net(X, state)`` one-hot encodes ``X`` (``(batch_size, num_steps)`` indices) into
    ``(num_steps, batch_size, vocab_size)`` and calls ``forward_fn(inputs, state, params)``.
    ``net.params`` is the list of parameters; ``net.parameters()`` returns the same list (so
    that optimisers and the course's training loop accept it like an ``nn.Module``).
    """

    def __init__(self, vocab_size, num_hiddens, device, get_params, init_state, forward_fn):
        self.vocab_size, self.num_hiddens = vocab_size, num_hiddens
        self.params = get_params(vocab_size, num_hiddens, device)
        self.init_state, self.forward_fn = init_state, forward_fn

    def __call__(self, X, state):
        X = F.one_hot(X.T, self.vocab_size).type(self.params[0].dtype)  # float32 unless made otherwise
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
    """The lesson-form model for ``cell`` in ``{"rnn", "lstm", "gru"}`` (``reset_after``: GRU only)."""
    if cell not in _LESSON:
        raise ValueError(f"unknown cell {cell!r}; choose one of {sorted(_LESSON)}")
    get_params, init_state, forward_fn = _LESSON[cell]
    if cell == "gru":
        get_params = functools.partial(get_gru_params, reset_after=reset_after)
        forward_fn = functools.partial(gru, reset_after=reset_after)
    elif reset_after:
        raise ValueError("reset_after is a GRU option; leave it False for rnn and lstm")
    return RNNModelScratch(vocab_size, num_hiddens, device or torch.device("cpu"),
                           get_params, init_state, forward_fn)


# ---------------------------------------------------------------------------------------
# Fast form
# ---------------------------------------------------------------------------------------

def rnn_scan(XW, state, W_h):
    r"""Plain RNN over precomputed inputs: :math:`H_t = \tanh(XW_t + H_{t-1} W_h)`.

    ========  ===============================================================
    ``XW``    ``(num_steps, batch_size, num_hiddens)``: :math:`X_t W_{xh} + b_h` for every step
    ``state`` ``(H,)``, ``H``: ``(batch_size, num_hiddens)``
    ``W_h``   ``(num_hiddens, num_hiddens)``
    returns   ``(Hs, (H,))``, ``Hs``: ``(num_steps, batch_size, num_hiddens)``, all states
    ========  ===============================================================
    """
    H, = state
    outputs = []
    for XW_t in XW.unbind(0):
        H = torch.tanh(torch.addmm(XW_t, H, W_h))
        outputs.append(H)
    return torch.stack(outputs), (H,)


LSTM_VARIANTS = {
    "lstm": ("i, f, o", "the standard LSTM with a forget gate (Gers et al. 2000)"),
    "cifg": ("f, o", "coupled input-forget gate: I = 1 - F, what is forgotten is replaced"),
    "no_forget": ("i, o", "no forget gate (F = 1, Hochreiter & Schmidhuber 1997): the cell only adds up"),
    "peephole": ("i, f, o", "peephole connections: the gates also see the cell (w_ci, w_cf, w_co)"),
}


def lstm_scan(XW, state, W_h, variant: str = "lstm", peepholes=None):
    r"""LSTM over precomputed inputs, one fused matrix product per step.

    The pre-activations of all gates come from one product: ``G = XW_t + H @ W_h`` holds the
    sigmoid gates side by side and the candidate :math:`\tilde C_t` last (``h`` columns each):

    ==============  ==================  ===============================================
    ``variant``     sigmoid gates in G  what changes
    ==============  ==================  ===============================================
    ``"lstm"``      I, F, O             :math:`C_t = F_t \odot C_{t-1} + I_t \odot \tilde C_t`
    ``"cifg"``      F, O                :math:`I_t = 1 - F_t` (one gate fewer)
    ``"no_forget"`` I, O                :math:`F_t = 1`: :math:`C_t = C_{t-1} + I_t \odot \tilde C_t`
    ``"peephole"``  I, F, O             :math:`I_t, F_t` also see :math:`w_{ci} \odot C_{t-1}`,
                                        :math:`w_{cf} \odot C_{t-1}`; :math:`O_t` sees :math:`w_{co} \odot C_t`
    ==============  ==================  ===============================================

    and always :math:`H_t = O_t \odot \tanh(C_t)`.

    ==============  ===========================================================
    ``XW``          ``(num_steps, batch_size, G * h)``: input part of the gates, bias included
    ``state``       ``(H, C)``, each ``(batch_size, h)``
    ``W_h``         ``(h, G * h)``, ``G`` = number of sigmoid gates + 1
    ``peepholes``   ``(w_ci, w_cf, w_co)``, each ``(h,)``; ``"peephole"`` only
    returns         ``(Hs, (H, C))``, ``Hs``: ``(num_steps, batch_size, h)``
    ==============  ===========================================================
    """
    H, C = state
    h = H.shape[1]
    outputs = []
    for XW_t in XW.unbind(0):
        G = torch.addmm(XW_t, H, W_h)  # all gates of this step: ONE matrix product
        G_gates, G_c = G.split([G.shape[1] - h, h], dim=1)  # sigmoid gates | candidate
        C_tilde = torch.tanh(G_c)
        if variant == "lstm":
            I, F, O = torch.sigmoid(G_gates).chunk(3, dim=1)
        elif variant == "cifg":
            F, O = torch.sigmoid(G_gates).chunk(2, dim=1)
            I = 1 - F
        elif variant == "no_forget":
            I, O = torch.sigmoid(G_gates).chunk(2, dim=1)
            F = 1
        elif variant == "peephole":
            w_ci, w_cf, w_co = peepholes
            G_i, G_f, G_o = G_gates.chunk(3, dim=1)
            I = torch.sigmoid(G_i + w_ci * C)
            F = torch.sigmoid(G_f + w_cf * C)
        else:
            raise ValueError(f"unknown LSTM variant {variant!r}; choose one of {list(LSTM_VARIANTS)}")
        C = F * C + I * C_tilde
        if variant == "peephole":
            O = torch.sigmoid(G_o + w_co * C)  # the output gate peeks at the new cell
        H = O * torch.tanh(C)
        outputs.append(H)
    return torch.stack(outputs), (H, C)


def packed_matmul(W, batch_size: int):
    r"""A function ``mm(A, C=None)`` that returns ``C + A @ W``, for many ``A`` and one ``W``.

    A matrix library re-arranges ("packs") ``W`` into cache-sized blocks on every call. A
    recurrence multiplies by the same ``W_h`` at every step, so it pays to pack ``W`` once
    and reuse the packed copy: on a CPU with oneDNN (float32) that is what this does, with the
    kernels behind ``torch.nn.Linear`` in compiled models. Elsewhere (a GPU, float64, a build
    without oneDNN) it is plain ``torch.addmm``. Only for use outside autograd: the packed
    product records no gradient.

    ==============  ===========================================
    ``W``           ``(n, m)``
    ``batch_size``  rows of the ``A`` to come (a hint for the packing)
    ``A``, ``C``    ``(batch_size, n)``, ``(batch_size, m)``
    ==============  ===========================================
    """
    if W.device.type == "cpu" and W.dtype == torch.float32 and _onednn_linear_available():
        W_packed = torch.ops.mkldnn._reorder_linear_weight(W.T.contiguous(), batch_size)

        def mm(A, C=None):
            if C is None:
                return torch.ops.mkldnn._linear_pointwise(A, W_packed, None, "none", [], "")
            return torch.ops.mkldnn._linear_pointwise.binary(A, C, W_packed, None, "add")
        return mm
    return lambda A, C=None: A @ W if C is None else torch.addmm(C, A, W)


@functools.cache
def _onednn_linear_available() -> bool:
    try:  # the packed oneDNN linear exists in CPU builds of PyTorch 2.x with oneDNN; check it works
        A, W = torch.ones(2, 3), torch.ones(4, 3)
        W_packed = torch.ops.mkldnn._reorder_linear_weight(W, 2)
        out = torch.ops.mkldnn._linear_pointwise.binary(A, torch.ones(2, 4), W_packed, None, "add")
        return bool(torch.backends.mkldnn.is_available() and torch.equal(out, torch.full((2, 4), 4.0)))
    except (AttributeError, RuntimeError, NotImplementedError):
        return False


class LSTMWithBPTT(torch.autograd.Function):
    r"""The standard LSTM scan with its backward pass through time written out by hand.

    Forward, for :math:`t = 1..T` (as :func:`lstm_scan`, gates ``I, F, O, C~`` in ``G``):

    .. math::

        G_t = XW_t + H_{t-1} W_h, \quad [I_t, F_t, O_t] = \sigma(G_t^{(ifo)}), \quad
        \tilde C_t = \tanh(G_t^{(c)}), \quad
        C_t = F_t \odot C_{t-1} + I_t \odot \tilde C_t, \quad H_t = O_t \odot \tanh(C_t)

    Backward, for :math:`t = T..1`, with :math:`dH` the gradient reaching :math:`H_t` (from the
    output at step :math:`t` and from step :math:`t+1`) and :math:`dC` the one reaching :math:`C_t`:

    .. math::

        dC &\mathrel{+}= dH \odot O_t \odot (1 - \tanh^2 C_t)\\
        dG_t &= \big[dC \odot \tilde C_t,\; dC \odot C_{t-1},\; dH \odot \tanh C_t\big]
                \odot \sigma'  \;\big|\; dC \odot I_t \odot (1 - \tilde C_t^2),
                \qquad \sigma' = s (1 - s) \text{ for each gate } s\\
        dC_{t-1} &= dC \odot F_t, \qquad dH_{t-1} = dG_t W_h^\top + (\text{output gradient at } t-1)

    and, after the loop, the weight gradient of all steps in **one** matrix product,
    :math:`\partial L / \partial W_h = \sum_t H_{t-1}^\top dG_t = [H_0; \dots; H_{T-1}]^\top [dG_1; \dots; dG_T]`,
    and :math:`\partial L / \partial XW_t = dG_t`.

    Why by hand? Most of the time goes into the two matrix products per step. A matrix library
    re-arranges ("packs") ``W_h`` into cache-sized blocks on every call; a packed copy made once
    per sequence (:func:`packed_matmul`) makes each step's product about twice as fast on a CPU,
    but a packed product records no gradient, so autograd cannot go through it: the backward
    pass has to be written out. It also computes the weight gradient in one large product
    instead of :math:`T` small ones. The test suite checks every gradient against autograd and
    against finite differences (``torch.autograd.gradcheck``).

    ==============  ===========================================================
    ``XW``          ``(T, batch_size, 4h)``: input part of the gates, bias included
    ``H``, ``C``    ``(batch_size, h)``: the initial state
    ``W_h``         ``(h, 4h)``
    returns         ``Hs`` ``(T, batch_size, h)`` (all hidden states) and ``C_T`` ``(batch_size, h)``
    ==============  ===========================================================
    """

    @staticmethod
    def forward(ctx, XW, H, C, W_h):
        T, batch_size, four_h = XW.shape
        h = four_h // 4
        mm = packed_matmul(W_h, batch_size)
        gates = XW.new_empty(T, batch_size, 4 * h)  # I, F, O (after sigmoid), C_tilde (after tanh)
        Cs = XW.new_empty(T + 1, batch_size, h)     # C_0 .. C_T
        Hs = XW.new_empty(T + 1, batch_size, h)     # H_0 .. H_T
        tanh_Cs = XW.new_empty(T, batch_size, h)    # tanh(C_1) .. tanh(C_T)
        Hs[0], Cs[0] = H, C
        for t in range(T):
            G = mm(Hs[t], XW[t])  # ONE matrix product per step
            torch.sigmoid(G[:, :3 * h], out=gates[t, :, :3 * h])
            torch.tanh(G[:, 3 * h:], out=gates[t, :, 3 * h:])
            I, F, O, C_tilde = gates[t].chunk(4, dim=1)
            torch.addcmul(F * Cs[t], I, C_tilde, out=Cs[t + 1])
            torch.tanh(Cs[t + 1], out=tanh_Cs[t])
            torch.mul(O, tanh_Cs[t], out=Hs[t + 1])
        ctx.save_for_backward(W_h, gates, Cs, Hs, tanh_Cs)
        return Hs[1:], Cs[T]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dHs, dC_T):
        W_h, gates, Cs, Hs, tanh_Cs = ctx.saved_tensors
        T, batch_size, h = tanh_Cs.shape
        mm_T = packed_matmul(W_h.T, batch_size)
        dG = Hs.new_empty(T, batch_size, 4 * h)
        dH = torch.zeros_like(Hs[0])
        dC = dC_T.clone()
        for t in range(T - 1, -1, -1):
            I, F, O, C_tilde = gates[t].chunk(4, dim=1)
            sigmoids = gates[t, :, :3 * h]
            dH = dH + dHs[t]
            dC += dH * O * (1 - tanh_Cs[t] * tanh_Cs[t])
            d_sigmoids = torch.cat([dC * C_tilde, dC * Cs[t], dH * tanh_Cs[t]], dim=1)
            torch.mul(d_sigmoids, sigmoids * (1 - sigmoids), out=dG[t, :, :3 * h])
            torch.mul(dC * I, 1 - C_tilde * C_tilde, out=dG[t, :, 3 * h:])
            dC = dC * F
            dH = mm_T(dG[t])  # ONE matrix product per step
        dW_h = Hs[:-1].reshape(-1, h).T @ dG.reshape(-1, 4 * h)  # all steps in one product
        return dG, dH, dC, dW_h


def lstm_bptt(XW, state, W_h):
    """:func:`lstm_scan` (standard variant) with the hand-written backward of :class:`LSTMWithBPTT`.

    Same arguments and results as ``lstm_scan(XW, state, W_h)``: ``(Hs, (H, C))``.
    """
    H, C = state
    if XW.shape[0] == 0:
        raise ValueError("XW has no time steps; a sequence needs at least one step")
    Hs, C = LSTMWithBPTT.apply(XW, H, C, W_h)
    return Hs, (Hs[-1], C)


def gru_scan(XW, state, W_h, b_hh, reset_after: bool = True):
    r"""GRU over precomputed inputs (gates Z, R, then the candidate; ``h`` columns each).

    With ``reset_after=True`` (as ``torch.nn.GRU``) the recurrent products of all three
    blocks come from **one** matrix product ``H @ W_h`` per step and the reset gate scales the
    candidate's part afterwards: :math:`\tilde H_t = \tanh(XW^{(h)}_t + R_t \odot (H_{t-1} W_{hh} + b_{hh}))`.
    With ``reset_after=False`` (D2L, Cho et al. 2014) the candidate needs a second product,
    :math:`(R_t \odot H_{t-1}) W_{hh}`, after the gates: two products per step.
    Then :math:`H_t = Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde H_t`.

    ==========  ===========================================================
    ``XW``      ``(num_steps, batch_size, 3h)``: input part of Z, R and the candidate, biases included
    ``state``   ``(H,)``, ``H``: ``(batch_size, h)``
    ``W_h``     ``(h, 3h)``: ``[W_hz | W_hr | W_hh]``
    ``b_hh``    ``(h,)``: candidate's recurrent bias (``reset_after=True`` only, else ``None``)
    returns     ``(Hs, (H,))``, ``Hs``: ``(num_steps, batch_size, h)``
    ==========  ===========================================================
    """
    H, = state
    h = H.shape[1]
    outputs = []
    for XW_t in XW.unbind(0):
        if reset_after:
            G = H @ W_h  # recurrent part of all three blocks: ONE matrix product
            Z, R = torch.sigmoid(XW_t[:, :2 * h] + G[:, :2 * h]).chunk(2, dim=1)
            H_tilde = torch.tanh(XW_t[:, 2 * h:] + R * (G[:, 2 * h:] + b_hh))
        else:
            Z, R = torch.sigmoid(torch.addmm(XW_t[:, :2 * h], H, W_h[:, :2 * h])).chunk(2, dim=1)
            H_tilde = torch.tanh(torch.addmm(XW_t[:, 2 * h:], R * H, W_h[:, 2 * h:]))
        H = Z * H + (1 - Z) * H_tilde
        outputs.append(H)
    return torch.stack(outputs), (H,)


_NUM_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4, "cifg": 3, "no_forget": 3, "peephole": 4}


class RNNLMFast(nn.Module):
    r"""A fast from-scratch language model: ``cell`` in ``{"rnn", "lstm", "gru"}``.

    Parameters (``h`` = ``num_hiddens``, ``V`` = ``vocab_size``, ``G`` blocks: 1 for the RNN,
    3 for the GRU, 4 for the LSTM, 3 for the ``"cifg"`` and ``"no_forget"`` variants):

    ==========  ================  ============================================
    ``W_x``     ``(V, G * h)``    input weights of all blocks; row ``v`` = what token ``v`` adds
    ``W_h``     ``(h, G * h)``    recurrent weights of all blocks, fused
    ``b``       ``(G * h,)``      biases of all blocks
    ``W_hq``    ``(h, V)``        output layer
    ``b_q``     ``(V,)``
    ``b_hh``    ``(h,)``          GRU with ``reset_after=True`` only
    ``w_c*``    ``(h,)``          peephole weights ``w_ci, w_cf, w_co`` (``variant="peephole"``)
    ==========  ================  ============================================

    Forward: ``XW = (W_x + b)[X.T]`` for all steps (a row lookup), then the scan
    (:func:`rnn_scan`, :func:`lstm_scan`, :func:`gru_scan`), then ``Hs @ W_hq + b_q`` for all
    steps. Weights are initialised like ``torch.nn``: uniform in :math:`\pm 1/\sqrt{h}`.
    ``dropout``: while training, each hidden unit fed to the output layer is zeroed with this
    probability (and the others scaled by ``1 / (1 - dropout)``), a regulariser for small corpora.
    ``manual_bptt`` (standard LSTM only): ``True`` runs :func:`lstm_bptt`, whose backward pass is
    written out by hand (faster); ``False`` runs :func:`lstm_scan` and lets autograd derive it.
    Both compute the same function and the same gradients.
    """

    def __init__(self, vocab_size: int, num_hiddens: int, cell: str = "lstm", *,
                 variant: str = "lstm", reset_after: bool = True, dropout: float = 0.0,
                 manual_bptt: bool = True):
        super().__init__()
        if cell not in ("rnn", "lstm", "gru"):
            raise ValueError(f"unknown cell {cell!r}; choose 'rnn', 'lstm' or 'gru'")
        if cell == "lstm" and variant not in LSTM_VARIANTS:
            raise ValueError(f"unknown LSTM variant {variant!r}; choose one of {list(LSTM_VARIANTS)}")
        if cell != "lstm" and variant != "lstm":
            raise ValueError(f"variant={variant!r} is an LSTM option; the {cell} has no variants")
        self.vocab_size, self.num_hiddens, self.cell = vocab_size, num_hiddens, cell
        self.variant = variant if cell == "lstm" else None
        self.reset_after = reset_after if cell == "gru" else None
        if not 0 <= dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {dropout}")
        self.dropout = dropout
        self.manual_bptt = bool(manual_bptt) and cell == "lstm" and variant == "lstm"
        blocks = _NUM_BLOCKS[self.variant or cell] * num_hiddens
        bound = 1 / math.sqrt(num_hiddens)

        def uniform(*shape):
            return nn.Parameter(torch.empty(*shape).uniform_(-bound, bound))

        self.W_x, self.W_h, self.b = uniform(vocab_size, blocks), uniform(num_hiddens, blocks), uniform(blocks)
        self.W_hq, self.b_q = uniform(num_hiddens, vocab_size), uniform(vocab_size)
        if cell == "gru" and reset_after:
            self.b_hh = uniform(num_hiddens)
        if self.variant == "peephole":
            self.w_ci, self.w_cf, self.w_co = uniform(num_hiddens), uniform(num_hiddens), uniform(num_hiddens)

    def forward(self, X, state):
        # Inputs of all steps at once, (num_steps, batch_size, G*h). A one-hot row times W_x is
        # a row of W_x, so look the rows up (F.embedding) instead of multiplying; adding the bias
        # to the V rows first is cheaper than adding it to all num_steps * batch_size of them.
        XW = F.embedding(X.T, self.W_x + self.b)
        if self.cell == "rnn":
            Hs, state = rnn_scan(XW, state, self.W_h)
        elif self.manual_bptt:
            Hs, state = lstm_bptt(XW, state, self.W_h)
        elif self.cell == "lstm":
            peepholes = (self.w_ci, self.w_cf, self.w_co) if self.variant == "peephole" else None
            Hs, state = lstm_scan(XW, state, self.W_h, self.variant, peepholes)
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
        p = [t.detach() for t in net.params]
        reset_after = cell == "gru" and len(p) == 12
        fast = cls(net.vocab_size, net.num_hiddens, cell, reset_after=reset_after).to(p[0].dtype)
        n = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
        gates = [p[3 * k: 3 * k + 3] for k in range(n)]  # (W_x*, W_h*, b_*) per block, lesson order
        with torch.no_grad():
            fast.W_x.copy_(torch.cat([g[0] for g in gates], dim=1))
            fast.W_h.copy_(torch.cat([g[1] for g in gates], dim=1))
            fast.b.copy_(torch.cat([g[2] for g in gates]))
            fast.W_hq.copy_(p[3 * n])
            fast.b_q.copy_(p[3 * n + 1])
            if reset_after:
                fast.b_hh.copy_(p[11])
        return fast.to(p[0].device)

    def to_torch(self) -> "RNNModel":
        """The concise model (``torch.nn`` layer + linear layer) with this model's weights.

        ``torch.nn`` stores ``weight_ih`` as ``(blocks, vocab_size)``, i.e. ``W_x.T``, in its
        own block order: LSTM ``i, f, g, o`` (ours ``i, f, o, c``), GRU ``r, z, n`` (ours
        ``z, r, h``). Only the plain LSTM, and the GRU with ``reset_after=True``, exist there.
        """
        if self.cell == "lstm" and self.variant != "lstm":
            raise ValueError(f"torch.nn.LSTM has no {self.variant!r} variant")
        if self.cell == "gru" and not self.reset_after:
            raise ValueError("torch.nn.GRU computes the reset_after=True candidate; "
                             "build the fast GRU with reset_after=True to compare")
        h = self.num_hiddens
        layer = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[self.cell](self.vocab_size, h)
        order = {"rnn": [0], "lstm": [0, 1, 3, 2], "gru": [1, 0, 2]}[self.cell]

        def reorder(W):  # columns in blocks of h, ours -> torch's order
            return torch.cat([W[..., k * h:(k + 1) * h] for k in order], dim=-1)

        model = RNNModel(layer, self.vocab_size).to(self.W_h.dtype)
        with torch.no_grad():
            layer.weight_ih_l0.copy_(reorder(self.W_x).T)
            layer.weight_hh_l0.copy_(reorder(self.W_h).T)
            layer.bias_ih_l0.copy_(reorder(self.b))
            layer.bias_hh_l0.zero_()
            if self.cell == "gru":
                layer.bias_hh_l0[2 * h:].copy_(self.b_hh)
            model.linear.weight.copy_(self.W_hq.T)
            model.linear.bias.copy_(self.b_q)
        return model.to(self.W_h.device)


# ---------------------------------------------------------------------------------------
# Concise form (D2L 8.6)
# ---------------------------------------------------------------------------------------

class RNNModel(nn.Module):
    """``torch.nn.RNN``/``LSTM``/``GRU`` layer on one-hot inputs plus a linear output layer (D2L 8.6).

    ``RNNModel(rnn_layer, vocab_size)``; ``forward(inputs, state)`` with ``inputs``
    ``(batch_size, num_steps)`` returns ``(num_steps * batch_size, vocab_size)`` logits and the
    new state. ``begin_state(device, batch_size=1)`` (note D2L's argument order; pass keywords).
    """

    def __init__(self, rnn_layer, vocab_size, **kwargs):
        super().__init__(**kwargs)
        self.rnn = rnn_layer
        self.vocab_size = vocab_size
        self.num_hiddens = self.rnn.hidden_size
        self.num_directions = 2 if self.rnn.bidirectional else 1
        self.linear = nn.Linear(self.num_hiddens * self.num_directions, self.vocab_size)

    def forward(self, inputs, state):
        X = F.one_hot(inputs.T.long(), self.vocab_size)
        X = X.to(self.linear.weight.dtype)
        Y, state = self.rnn(X, state)
        output = self.linear(Y.reshape((-1, Y.shape[-1])))
        return output, state

    def begin_state(self, device=None, batch_size=1):
        shape = (self.num_directions * self.rnn.num_layers, batch_size, self.num_hiddens)
        zeros = torch.zeros(shape, device=device, dtype=self.linear.weight.dtype)
        if not isinstance(self.rnn, nn.LSTM):
            return zeros
        return (zeros, zeros.clone())


def concise_model(cell: str, vocab_size: int, num_hiddens: int) -> RNNModel:
    """``RNNModel(nn.RNN/LSTM/GRU(vocab_size, num_hiddens), vocab_size)`` for ``cell`` in rnn, lstm, gru."""
    layers = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}
    if cell not in layers:
        raise ValueError(f"unknown cell {cell!r}; choose one of {sorted(layers)}")
    return RNNModel(layers[cell](vocab_size, num_hiddens), vocab_size)


def num_params(model) -> int:
    """Number of trainable numbers in a model (any form)."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
