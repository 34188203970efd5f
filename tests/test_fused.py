"""seqlib.fused: the scans equal the cells looped over time; the hand-written backward pass of the
fast LSTM gives the same function and the same gradients as autograd."""

from __future__ import annotations

import pytest
import torch

from seqlib import cells
from seqlib.fused import LSTMWithBPTT, fuse, gru_scan, lstm_bptt, lstm_scan, rnn_scan, unfuse
from seqlib.lm import RNNLMFast

T, B, h = 6, 3, 5


def inputs(dtype, seed=0, T=T, B=B, h=h):
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_()

    return randn(T, B, 4 * h), randn(B, h), randn(B, h), randn(h, 4 * h)


def test_gradcheck_float64():
    """Every input's gradient (XW, H_0, C_0, W_h) against finite differences, on shapes small
    enough for a full Jacobian (several steps, a batch, hidden units that mix through W_h)."""
    assert torch.autograd.gradcheck(LSTMWithBPTT.apply, inputs(torch.float64, T=3, B=2, h=2))


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_same_outputs_and_gradients_as_autograd_through_lstm_scan(dtype, tol):
    """The hand-written backward equals autograd's, in float64 to rounding and in float32."""
    args = inputs(dtype)
    results = []
    for scan in (lstm_bptt, lstm_scan):
        XW, H0, C0, W_h = [a.detach().clone().requires_grad_() for a in args]
        Hs, (H_T, C_T) = scan(XW, (H0, C0), W_h)
        loss = Hs.sin().sum() + H_T.cos().sum() + (C_T ** 2).sum()  # gradients through H_T and C_T too
        loss.backward()
        results.append([Hs, H_T, C_T, XW.grad, H0.grad, C0.grad, W_h.grad])
    for ours, autograd in zip(*results):
        assert torch.allclose(ours, autograd, atol=tol, rtol=tol)


def test_fast_model_same_gradients_with_and_without_manual_bptt():
    torch.manual_seed(0)
    manual = RNNLMFast(9, h, "lstm")
    auto = RNNLMFast(9, h, "lstm", manual_bptt=False)
    auto.load_state_dict(manual.state_dict())
    assert manual.manual_bptt and not auto.manual_bptt
    X = torch.randint(0, 9, (B, T))
    for net in (manual, auto):
        y_hat, (H_T, C_T) = net(X, net.begin_state(B))
        (y_hat.logsumexp(1).sum() + C_T.sum()).backward()
    for (name, p), q in zip(manual.named_parameters(), auto.parameters()):
        assert torch.allclose(p.grad, q.grad, atol=1e-5), name


def test_manual_bptt_on_a_sequence_of_one_step_and_a_batch_of_one():
    XW, H0, C0, W_h = inputs(torch.float64, T=1, B=1, h=3)
    assert torch.autograd.gradcheck(LSTMWithBPTT.apply, (XW, H0, C0, W_h))


def test_manual_bptt_leaves_its_inputs_unchanged():
    """The forward pass writes into its own buffers, never into XW, the state or W_h."""
    args = inputs(torch.float32)
    before = [a.detach().clone() for a in args]
    Hs, C_T = LSTMWithBPTT.apply(*args)
    (Hs.sum() + C_T.sum()).backward()
    assert all(torch.equal(a.detach(), b) for a, b in zip(args, before))


def test_manual_bptt_only_for_the_standard_lstm():
    assert not RNNLMFast(9, h, "gru").manual_bptt
    assert not RNNLMFast(9, h, "lstm", variant="peephole").manual_bptt


# ----------------------------------------------------------------------------------------
# The fused scans are the cells looped over time
# ----------------------------------------------------------------------------------------

F64 = torch.float64
V, NUM_INPUTS = 9, 4


def _cell_setup(cell, reset_after=True, seed=0):
    """Per-gate parameters, inputs X (T, B, d) and an initial state, float64."""
    g = torch.Generator().manual_seed(seed)
    p = cells.init_params(cell, NUM_INPUTS, h, reset_after=reset_after, dtype=F64, generator=g)
    X = torch.randn(T, B, NUM_INPUTS, generator=g, dtype=F64)
    H0, C0 = torch.randn(B, h, generator=g, dtype=F64), torch.randn(B, h, generator=g, dtype=F64)
    W_x, W_h, b = fuse(p, cell)
    return p, X, H0, C0, X @ W_x + b, W_h


def _close(a, b, tol=1e-12):
    torch.testing.assert_close(a, b, atol=tol, rtol=0)


def test_rnn_scan_is_the_rnn_step_looped():
    p, X, H0, _, XW, W_h = _cell_setup("rnn")
    Hs, (H_T,) = rnn_scan(XW, (H0,), W_h)
    H = H0
    for t in range(T):
        H = cells.rnn_step(X[t], H, p)
        _close(Hs[t], H)
    _close(H_T, H)


@pytest.mark.parametrize("variant", list(cells.LSTM_VARIANTS))
def test_lstm_scan_is_the_lstm_step_looped(variant):
    p, X, H0, C0, XW, W_h = _cell_setup(variant)
    peepholes = tuple(p[n] for n in cells.PEEPHOLES) if variant == "peephole" else None
    assert W_h.shape == (h, len(cells.GATES[variant]) * h)
    Hs, (H_T, C_T) = lstm_scan(XW, (H0, C0), W_h, variant, peepholes)
    state = (H0, C0)
    for t in range(T):
        state = cells.lstm_step(X[t], *state, p, variant)
        _close(Hs[t], state[0])
    _close(H_T, state[0])
    _close(C_T, state[1])


def test_lstm_bptt_is_the_lstm_step_looped():
    p, X, H0, C0, XW, W_h = _cell_setup("lstm", seed=3)
    Hs, (H_T, C_T) = lstm_bptt(XW, (H0, C0), W_h)
    scratch = cells.LSTMScratch(NUM_INPUTS, h, dtype=F64).load_params(p)
    outputs, (H_s, C_s) = scratch(X, (H0, C0))
    _close(Hs, outputs)
    _close(C_T, C_s)


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_scan_is_the_gru_step_looped(reset_after):
    p, X, H0, _, XW, W_h = _cell_setup("gru", reset_after)
    Hs, (H_T,) = gru_scan(XW, (H0,), W_h, p.get("b_hh"), reset_after)
    H = H0
    for t in range(T):
        H = cells.gru_step(X[t], H, p, reset_after)
        _close(Hs[t], H)
    _close(H_T, H)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "cifg", "gru"])
def test_fuse_and_unfuse_are_inverse_and_follow_the_gate_table(cell):
    p = cells.init_params(cell, 3, h, reset_after=False)
    W_x, W_h, b = fuse(p, cell)
    gates = cells.GATES[cell]
    assert W_x.shape == (3, len(gates) * h) and W_h.shape == (h, len(gates) * h) and b.shape == (len(gates) * h,)
    assert torch.equal(W_h[:, h:2 * h], p[f"W_h{gates[1]}"]) if len(gates) > 1 else True
    back = unfuse(W_x, W_h, b, cell)
    assert list(back) == list(cells.param_names(cell, reset_after=False))
    assert all(torch.equal(back[n], p[n]) for n in back)
