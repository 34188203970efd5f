"""The hand-written backward pass of the fast LSTM: same function, same gradients as autograd."""

from __future__ import annotations

import pytest
import torch

from seqlib.lm import LSTMWithBPTT, RNNLMFast, lstm_bptt, lstm_scan, packed_matmul

T, B, h = 6, 3, 5


def inputs(dtype, seed=0):
    g = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, generator=g, dtype=dtype).requires_grad_()

    return randn(T, B, 4 * h), randn(B, h), randn(B, h), randn(h, 4 * h)


def test_gradcheck_float64():
    """Every input's gradient (XW, H_0, C_0, W_h) against finite differences."""
    assert torch.autograd.gradcheck(LSTMWithBPTT.apply, inputs(torch.float64))


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-12), (torch.float32, 1e-5)])
def test_same_outputs_and_gradients_as_autograd_through_lstm_scan(dtype, tol):
    """float32 runs the packed oneDNN products where available; float64 runs torch.addmm."""
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


def test_manual_bptt_only_for_the_standard_lstm():
    assert not RNNLMFast(9, h, "gru").manual_bptt
    assert not RNNLMFast(9, h, "lstm", variant="peephole").manual_bptt


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_packed_matmul_is_a_matrix_product(dtype):
    g = torch.Generator().manual_seed(0)
    A, W, C = (torch.randn(*s, generator=g, dtype=dtype) for s in [(4, 7), (7, 12), (4, 12)])
    mm = packed_matmul(W, 4)
    assert torch.allclose(mm(A), A @ W, atol=1e-5)
    assert torch.allclose(mm(A, C), C + A @ W, atol=1e-5)


def test_no_time_steps_is_an_error():
    XW, H0, C0, W_h = inputs(torch.float32)
    with pytest.raises(ValueError, match="at least one step"):
        lstm_bptt(XW[:0], (H0, C0), W_h)
