r"""The speed forms of the recurrent cells: fused gates, scans, packed weights, hand-written BPTT.

The equations are those of :mod:`seqlib.cells`, arranged for speed (the inner loops of :mod:`seqlib.lm`,
no checks): **fused** gates, ``W_h`` ``(h, G * h)`` side by side (:func:`fuse`, :func:`unfuse`), one
matrix product per step ``G_t = XW_t + H_{t-1} W_h`` with ``XW`` computed before the loop; the scans
(:func:`rnn_scan`, :func:`lstm_scan`, :func:`gru_scan`); the LSTM's backward pass by hand
(:class:`LSTMWithBPTT`) with ``W_h`` packed once per sequence (:func:`packed_matmul`, the course's
only call of private PyTorch operators, ``torch.ops.mkldnn``).
"""

from __future__ import annotations

import functools

import torch

from seqlib.cells import GATES, gru_pointwise, lstm_pointwise, param_names, rnn_pointwise

__all__ = ["fuse", "unfuse", "rnn_scan", "lstm_scan", "gru_scan", "packed_matmul", "LSTMWithBPTT",
           "lstm_bptt"]


def fuse(params, cell: str):
    """``(W_x, W_h, b)``: the per-gate parameters of ``cell`` (names of :func:`seqlib.cells.param_names`)
    side by side in the gate order of :data:`seqlib.cells.GATES`.

    ==========  =====================  ==========================================
    ``W_x``     ``(d, G * h)``          ``[W_x* for each gate *]``
    ``W_h``     ``(h, G * h)``          ``[W_h* for each gate *]``
    ``b``       ``(G * h,)``            ``[b_* for each gate *]``
    ==========  =====================  ==========================================

    Other parameters (the GRU's ``b_hh``, peepholes) are not fused; take them from ``params``.
    """
    gates = GATES[cell]
    return (torch.cat([params[f"W_x{g}"] for g in gates], dim=1),
            torch.cat([params[f"W_h{g}"] for g in gates], dim=1),
            torch.cat([params[f"b_{g}"] for g in gates]))


def unfuse(W_x, W_h, b, cell: str) -> dict:
    """The inverse of :func:`fuse`: ``{"W_x*": ..., "W_h*": ..., "b_*": ...}`` for each gate of ``cell``
    (views of the fused tensors, in the order of :func:`seqlib.cells.param_names`)."""
    h = W_h.shape[0]
    params = {}
    for k, g in enumerate(GATES[cell]):
        block = slice(k * h, (k + 1) * h)
        params[f"W_x{g}"], params[f"W_h{g}"], params[f"b_{g}"] = W_x[:, block], W_h[:, block], b[block]
    return {n: params[n] for n in param_names(cell, reset_after=False) if n in params}


def rnn_scan(XW, state, W_h):
    r"""Plain RNN over precomputed inputs: :math:`H_t = \tanh(XW_t + H_{t-1} W_h)`.

    ========  ===============================================================
    ``XW``    ``(num_steps, batch_size, h)``: :math:`X_t W_{xh} + b_h` for every step
    ``state`` ``(H,)``, ``H``: ``(batch_size, h)``
    ``W_h``   ``(h, h)``
    returns   ``(Hs, (H,))``, ``Hs``: ``(num_steps, batch_size, h)``, all states
    ========  ===============================================================
    """
    H, = state
    outputs = []
    for XW_t in XW.unbind(0):
        H = rnn_pointwise(torch.addmm(XW_t, H, W_h))
        outputs.append(H)
    return torch.stack(outputs), (H,)


def lstm_scan(XW, state, W_h, variant: str = "lstm", peepholes=None, step=None):
    r"""LSTM over precomputed inputs: one fused matrix product per step, then :func:`seqlib.cells.lstm_pointwise`.

    :math:`G_t = XW_t + H_{t-1} W_h` holds the pre-activations of the variant's gates side by
    side (``h`` columns each, order of :data:`seqlib.cells.GATES`: ``"lstm"`` and ``"peephole"``
    I, F, O, C~; ``"cifg"`` F, O, C~; ``"no_forget"`` I, O, C~).

    ==============  ===========================================================
    ``XW``          ``(num_steps, batch_size, G * h)``: input part of the gates, bias included
    ``state``       ``(H, C)``, each ``(batch_size, h)``
    ``W_h``         ``(h, G * h)``
    ``peepholes``   ``(w_ci, w_cf, w_co)``, each ``(h,)``; ``"peephole"`` only
    ``step``        ``step(XW_t, H, C, W_h) -> (H, C)`` instead (Day 3's Exercise 2), ``"lstm"`` only
    returns         ``(Hs, (H, C))``, ``Hs``: ``(num_steps, batch_size, h)``
    ==============  ===========================================================
    """
    H, C = state
    h = H.shape[1]
    outputs = []
    for XW_t in XW.unbind(0):
        if step is not None:
            H, C = step(XW_t, H, C, W_h)
            outputs.append(H)
            continue
        G = torch.addmm(XW_t, H, W_h)  # all gates of this step: ONE matrix product
        H, C = lstm_pointwise(G.split(h, dim=1), C, variant, peepholes)
        outputs.append(H)
    return torch.stack(outputs), (H, C)


def gru_scan(XW, state, W_h, b_hh, reset_after: bool = True):
    r"""GRU over precomputed inputs (blocks r, z, h), then :func:`seqlib.cells.gru_pointwise`.

    With ``reset_after=True`` (as ``torch.nn.GRU``) the recurrent parts of all three blocks
    come from **one** matrix product ``H @ W_h`` per step and the reset gate scales the
    candidate's part afterwards. With ``reset_after=False`` (D2L, Cho et al. 2014) the candidate
    needs a second product, :math:`(R_t \odot H_{t-1}) W_{hh}`, after the gates.

    ==========  ===========================================================
    ``XW``      ``(num_steps, batch_size, 3h)``: input part of r, z and the candidate, biases included
    ``state``   ``(H,)``, ``H``: ``(batch_size, h)``
    ``W_h``     ``(h, 3h)``: ``[W_hr | W_hz | W_hh]``
    ``b_hh``    ``(h,)``: candidate's recurrent bias (``reset_after=True`` only, else ``None``)
    returns     ``(Hs, (H,))``, ``Hs``: ``(num_steps, batch_size, h)``
    ==========  ===========================================================
    """
    H, = state
    h = H.shape[1]
    W_h_gates, W_hh = W_h[:, :2 * h], W_h[:, 2 * h:]
    outputs = []
    for XW_t in XW.unbind(0):
        Gx = XW_t.split(h, dim=1)
        if reset_after:  # recurrent part of all three blocks: ONE matrix product
            H = gru_pointwise(Gx, (H @ W_h).split(h, dim=1), H, b_hh=b_hh)
        else:
            H = gru_pointwise(Gx, (H @ W_h_gates).split(h, dim=1), H, reset_after=False, W_hh=W_hh)
        outputs.append(H)
    return torch.stack(outputs), (H,)


def packed_matmul(W, batch_size: int):
    r"""A function ``mm(A, C=None)`` that returns ``C + A @ W``, for many ``A`` and one ``W``.

    A matrix library re-arranges ("packs") ``W`` into cache-sized blocks on every call; a recurrence
    multiplies by the same ``W_h`` at every step, so on a CPU with oneDNN (float32) this packs ``W``
    once. Elsewhere (GPU, float64, no oneDNN) it is plain ``torch.addmm``. Outside autograd only: the
    packed product records no gradient.

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

    Forward, for :math:`t = 1..T`: :func:`seqlib.cells.lstm_pointwise` (gates ``I, F, O, C~``), each
    result written in place into the buffers the backward pass reads.

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

    Why by hand? ``W_h`` packed once per sequence (:func:`packed_matmul`) makes each step's product
    about twice as fast on a CPU, but a packed product records no gradient for autograd. The tests
    check every gradient against autograd and ``torch.autograd.gradcheck``.

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
    """``lstm_scan(XW, state, W_h)`` (standard LSTM) with the hand-written backward of :class:`LSTMWithBPTT`."""
    H, C = state
    Hs, C = LSTMWithBPTT.apply(XW, H, C, W_h)
    return Hs, (Hs[-1], C)

