r"""The speed forms of the recurrent cells: fused gates, scans, hand-written BPTT.

The equations are those of :mod:`seqlib.cells`, arranged for speed (the inner loops of :mod:`seqlib.lm`,
no checks): **fused** gates, ``W_h`` ``(h, G * h)`` side by side (:func:`fuse`, :func:`unfuse`), one
matrix product per step ``G_t = XW_t + H_{t-1} W_h`` with ``XW`` computed before the loop; the scans
(:func:`rnn_scan`, :func:`lstm_scan`, :func:`gru_scan`); the LSTM's backward pass by hand
(:class:`LSTMWithBPTT`), which writes every step into buffers made once per sequence.
"""

from __future__ import annotations

import torch

from seqlib.cells import GATES, gru_pointwise, lstm_pointwise, param_names, rnn_pointwise

__all__ = ["fuse", "unfuse", "rnn_scan", "lstm_scan", "gru_scan", "LSTMWithBPTT",
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


class LSTMWithBPTT(torch.autograd.Function):
    r"""The standard LSTM scan with its backward pass through time written out by hand.

    Forward, for :math:`t = 1..T`, the equations of :func:`seqlib.cells.lstm_pointwise` (gates
    ``I, F, O, C~``), each result written in place into the buffers the backward pass reads.

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

    Why by hand? Autograd records each operation of each step and, going back, makes a new tensor for
    each of its gradients. By hand, a step is a dozen operations writing in place into buffers made once
    per sequence, and the gradient of ``W_h`` for all steps is one product: training runs about 1.3x as
    fast as with autograd's backward (``make bench``, row ``fast_lstm_autograd``). The tests check every
    gradient against autograd and ``torch.autograd.gradcheck``.

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
        gates = XW.new_empty(T, batch_size, 4 * h)  # I, F, O (after sigmoid), C_tilde (after tanh)
        Cs = XW.new_empty(T + 1, batch_size, h)     # C_0 .. C_T
        Hs = XW.new_empty(T + 1, batch_size, h)     # H_0 .. H_T
        tanh_Cs = XW.new_empty(T, batch_size, h)    # tanh(C_1) .. tanh(C_T)
        Hs[0], Cs[0] = H, C
        # every step's views, made once: the loop below only looks them up
        I, F, O, C_tilde = (gates[..., k * h:(k + 1) * h].unbind(0) for k in range(4))
        G, sigmoids, Hs_t, Cs_t = gates.unbind(0), gates[..., :3 * h].unbind(0), Hs.unbind(0), Cs.unbind(0)
        for t, (XW_t, tanh_C) in enumerate(zip(XW.unbind(0), tanh_Cs.unbind(0))):
            torch.addmm(XW_t, Hs_t[t], W_h, out=G[t])  # ONE matrix product per step
            sigmoids[t].sigmoid_()
            C_tilde[t].tanh_()
            torch.mul(F[t], Cs_t[t], out=Cs_t[t + 1]).addcmul_(I[t], C_tilde[t])
            torch.mul(O[t], torch.tanh(Cs_t[t + 1], out=tanh_C), out=Hs_t[t + 1])
        ctx.save_for_backward(W_h, gates, Cs, Hs, tanh_Cs)
        return Hs[1:], Cs[T]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, dHs, dC_T):
        W_h, gates, Cs, Hs, tanh_Cs = ctx.saved_tensors
        T, batch_size, h = tanh_Cs.shape
        W_h_T = W_h.T
        dG = Hs.new_empty(T, batch_size, 4 * h)
        I, F, O, C_tilde = (gates[..., k * h:(k + 1) * h].unbind(0) for k in range(4))
        dI, dF, dO, dC_tilde = (dG[..., k * h:(k + 1) * h].unbind(0) for k in range(4))
        sigmoids, d_sigmoids = gates[..., :3 * h].unbind(0), dG[..., :3 * h].unbind(0)
        dH, dC = torch.zeros_like(Hs[0]), dC_T.clone()
        one_minus = torch.empty_like(gates[0])  # 1 - s for each gate s, then 1 - C_tilde^2
        one = gates.new_ones(())  # a tensor: 1 - x with a Python 1 would make a tensor of it at every call
        for t in range(T - 1, -1, -1):
            dH = dH + dHs[t]
            torch.addcmul(one, tanh_Cs[t], tanh_Cs[t], value=-1, out=one_minus[:, :h])  # 1 - tanh^2(C_t)
            dC.addcmul_(dH * O[t], one_minus[:, :h])
            torch.mul(dC, C_tilde[t], out=dI[t])
            torch.mul(dC, Cs[t], out=dF[t])
            torch.mul(dH, tanh_Cs[t], out=dO[t])
            torch.sub(one, sigmoids[t], out=one_minus[:, :3 * h])
            d_sigmoids[t].mul_(sigmoids[t]).mul_(one_minus[:, :3 * h])
            torch.addcmul(one, C_tilde[t], C_tilde[t], value=-1, out=one_minus[:, 3 * h:])
            torch.mul(dC, I[t], out=dC_tilde[t]).mul_(one_minus[:, 3 * h:])
            dC.mul_(F[t])
            dH = dG[t] @ W_h_T  # ONE matrix product per step
        dW_h = Hs[:-1].reshape(-1, h).T @ dG.reshape(-1, 4 * h)  # all steps in one product
        return dG, dH, dC, dW_h


def lstm_bptt(XW, state, W_h):
    """``lstm_scan(XW, state, W_h)`` (standard LSTM) with the hand-written backward of :class:`LSTMWithBPTT`."""
    H, C = state
    Hs, C = LSTMWithBPTT.apply(XW, H, C, W_h)
    return Hs, (Hs[-1], C)

