"""seqlib.cells: the from-scratch cells agree with torch.nn and with their equations written out by
hand, have correct gradients, and their constructors and copies fail clearly on bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from seqlib import cells

SHAPES = [  # (num_steps, batch_size, num_inputs, num_hiddens)
    (1, 1, 1, 1),
    (5, 1, 3, 4),
    (7, 4, 5, 3),
    (4, 8, 2, 16),
]
F64 = torch.float64


def _randn(*shape, seed=0, dtype=F64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _torch_module(cls, num_inputs, num_hiddens, seed, dtype=F64):
    torch.manual_seed(seed)
    module = cls(num_inputs, num_hiddens, dtype=dtype)
    with torch.no_grad():  # clearly non-zero, distinct biases so that their roles are tested
        for name, p in module.named_parameters():
            if "bias" in name:
                p.copy_(_randn(*p.shape, seed=seed + 7 + len(name), dtype=dtype) * 0.5)
    return module


# ----------------------------------------------------------------------------------------
# Parity with torch.nn
# ----------------------------------------------------------------------------------------

def _close(a, b):
    torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def _run_both(module, scratch, shape, state_shapes, seed):
    """Run an nn module and its scratch copy on the same inputs and initial state; backpropagate
    the same loss through both. Returns (X_torch, out_torch, final_torch), same for scratch."""
    num_steps, batch_size, num_inputs, num_hiddens = shape
    X = _randn(num_steps, batch_size, num_inputs, seed=seed)
    state = [_randn(batch_size, num_hiddens, seed=seed + 1 + i) for i in range(state_shapes)]
    X_t, X_s = X.clone().requires_grad_(), X.clone().requires_grad_()
    if state_shapes == 2:  # LSTM: (H, C); torch wants a leading layer axis
        out_t, final_t = module(X_t, (state[0][None], state[1][None]))
        out_s, final_s = scratch(X_s, tuple(state))
    else:
        out_t, final_t = module(X_t, state[0][None])
        out_s, final_s = scratch(X_s, state[0])
    assert out_s.shape == (num_steps, batch_size, num_hiddens)
    weights = _randn(*out_s.shape, seed=seed + 5)
    for out, final in ((out_t, final_t), (out_s, final_s)):
        last = final[-1] if isinstance(final, tuple) else final  # C for the LSTM, H for the GRU
        ((out * weights).sum() + last.sum()).backward()
    return (X_t, out_t, final_t), (X_s, out_s, final_s)


@pytest.mark.parametrize("shape", SHAPES)
def test_lstm_scratch_matches_nn_lstm_outputs_states_and_gradients(shape):
    lstm = _torch_module(nn.LSTM, *shape[2:], seed=1)
    scratch = cells.LSTMScratch.from_torch(lstm)
    (X_t, out_t, (H_t, C_t)), (X_s, out_s, (H_s, C_s)) = _run_both(lstm, scratch, shape, 2, seed=2)
    _close(out_s, out_t)
    _close(H_s, H_t[0])
    _close(C_s, C_t[0])
    _close(X_s.grad, X_t.grad)
    grads = cells.from_torch(_grads_as_module(lstm))  # same layout mapping for the gradients
    for name in ("W_xi", "W_hf", "W_xc", "W_ho"):
        _close(getattr(scratch, name).grad, grads[name])
    # each scratch bias receives the gradient of both torch biases, which are equal
    _close(scratch.b_f.grad, lstm.bias_ih_l0.grad.chunk(4)[1])


def _grads_as_module(module):
    """A copy of ``module`` whose parameters hold its gradients (bias_hh zeroed: no double count)."""
    copy = type(module)(module.input_size, module.hidden_size, dtype=F64)
    with torch.no_grad():
        for (name, p), (_, q) in zip(copy.named_parameters(), module.named_parameters()):
            p.copy_(torch.zeros_like(q) if name.startswith("bias_hh") else q.grad)
    return copy


@pytest.mark.parametrize("shape", SHAPES)
def test_gru_scratch_matches_nn_gru_outputs_states_and_gradients(shape):
    gru = _torch_module(nn.GRU, *shape[2:], seed=11)
    scratch = cells.GRUScratch.from_torch(gru)
    (X_t, out_t, H_t), (X_s, out_s, H_s) = _run_both(gru, scratch, shape, 1, seed=12)
    _close(out_s, out_t)
    _close(H_s, H_t[0])
    _close(X_s.grad, X_t.grad)
    _close(scratch.b_hh.grad, gru.bias_hh_l0.grad.chunk(3)[2])  # the candidate's recurrent bias
    _close(scratch.b_h.grad, gru.bias_ih_l0.grad.chunk(3)[2])
    _close(scratch.W_hz.grad, gru.weight_hh_l0.grad.chunk(3)[1].T)
    _close(scratch.W_xr.grad, gru.weight_ih_l0.grad.chunk(3)[0].T)
    _close(scratch.b_r.grad, gru.bias_hh_l0.grad.chunk(3)[0])


def test_step_is_one_time_step_and_no_state_means_zeros():
    lstm, gru = cells.LSTMScratch(3, 4), cells.GRUScratch(3, 4)
    X = torch.randn(5, 2, 3)
    outputs, (H, C) = lstm(X)
    state = lstm.begin_state(2)
    for X_t in X:
        state = lstm.step(X_t, state)
    _close(state[0], H)
    _close(state[1], C)
    H_gru = gru.begin_state(2)
    for X_t in X:
        H_gru = gru.step(X_t, H_gru)
    _close(H_gru, gru(X)[1])


@pytest.mark.parametrize("batch_size", [1, 6])
def test_cells_match_torch_cells_one_step_in_float32(batch_size):
    lstm_cell = _torch_module(nn.LSTMCell, 5, 7, seed=21, dtype=torch.float32)
    gru_cell = _torch_module(nn.GRUCell, 5, 7, seed=22, dtype=torch.float32)
    X = _randn(batch_size, 5, seed=23, dtype=torch.float32)
    H, C = _randn(batch_size, 7, seed=24, dtype=torch.float32), _randn(batch_size, 7, seed=25, dtype=torch.float32)
    H_s, C_s = cells.lstm_step(X, H, C, cells.from_torch(lstm_cell))
    H_t, C_t = lstm_cell(X, (H, C))
    assert H_s.dtype == torch.float32
    torch.testing.assert_close(H_s, H_t, atol=1e-6, rtol=0)
    torch.testing.assert_close(C_s, C_t, atol=1e-6, rtol=0)
    torch.testing.assert_close(cells.gru_step(X, H, cells.from_torch(gru_cell)), gru_cell(X, H), atol=1e-6, rtol=0)


# ----------------------------------------------------------------------------------------
# The two GRU formulations
# ----------------------------------------------------------------------------------------

def test_gru_reset_before_follows_the_d2l_equations():
    p = cells.init_params("gru", 3, 4, reset_after=False, dtype=F64, generator=torch.Generator().manual_seed(1))
    assert "b_hh" not in p
    X, H = _randn(5, 3, seed=2), _randn(5, 4, seed=3)
    R = torch.sigmoid(X @ p["W_xr"] + H @ p["W_hr"] + p["b_r"])
    Z = torch.sigmoid(X @ p["W_xz"] + H @ p["W_hz"] + p["b_z"])
    H_tilde = torch.tanh(X @ p["W_xh"] + (R * H) @ p["W_hh"] + p["b_h"])
    torch.testing.assert_close(cells.gru_step(X, H, p, reset_after=False), Z * H + (1 - Z) * H_tilde)


def test_gru_formulations_differ_and_coincide_when_the_reset_gate_is_open():
    p = cells.init_params("gru", 3, 4, dtype=F64, generator=torch.Generator().manual_seed(4))
    X, H = _randn(5, 3, seed=5), _randn(5, 4, seed=6)
    p_before = {k: v for k, v in p.items() if k != "b_hh"}
    assert (cells.gru_step(X, H, p) - cells.gru_step(X, H, p_before, reset_after=False)).abs().max() > 1e-3
    # With R = 1 (huge b_r) and b_hh = 0 the two candidates are the same function.
    open_gate = dict(p, b_r=torch.full((4,), 50.0, dtype=F64), b_hh=torch.zeros(4, dtype=F64))
    open_before = {k: v for k, v in open_gate.items() if k != "b_hh"}
    torch.testing.assert_close(cells.gru_step(X, H, open_gate),
                               cells.gru_step(X, H, open_before, reset_after=False))


# ----------------------------------------------------------------------------------------
# Gradients: autograd against finite differences
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("batch_size, num_inputs, num_hiddens", [(1, 2, 3), (3, 4, 2)])
def test_lstm_step_gradcheck(batch_size, num_inputs, num_hiddens):
    p = cells.init_params("lstm", num_inputs, num_hiddens, dtype=F64, generator=torch.Generator().manual_seed(0))
    names = list(p)

    def fn(X, H, C, *values):
        return cells.lstm_step(X, H, C, dict(zip(names, values)))

    inputs = [_randn(batch_size, num_inputs, seed=1), _randn(batch_size, num_hiddens, seed=2),
              _randn(batch_size, num_hiddens, seed=3), *p.values()]
    inputs = [t.clone().requires_grad_() for t in inputs]
    assert torch.autograd.gradcheck(fn, inputs)
    assert torch.autograd.gradgradcheck(fn, inputs)


@pytest.mark.parametrize("reset_after", [True, False])
@pytest.mark.parametrize("batch_size, num_inputs, num_hiddens", [(1, 2, 3), (3, 4, 2)])
def test_gru_step_gradcheck(reset_after, batch_size, num_inputs, num_hiddens):
    p = cells.init_params("gru", num_inputs, num_hiddens, reset_after=reset_after, dtype=F64,
                              generator=torch.Generator().manual_seed(0))
    names = list(p)

    def fn(X, H, *values):
        return cells.gru_step(X, H, dict(zip(names, values)), reset_after)

    inputs = [_randn(batch_size, num_inputs, seed=1), _randn(batch_size, num_hiddens, seed=2), *p.values()]
    assert torch.autograd.gradcheck(fn, [t.clone().requires_grad_() for t in inputs])


def test_scratch_modules_train_their_parameters():
    for module in (cells.LSTMScratch(3, 4), cells.GRUScratch(3, 4), cells.GRUScratch(3, 4, reset_after=False)):
        names = [n for n, _ in module.named_parameters()]
        assert names == list(module.names)
        outputs, _ = module(torch.randn(6, 2, 3))
        outputs.sum().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters()), type(module)


# ----------------------------------------------------------------------------------------
# Copying parameters
# ----------------------------------------------------------------------------------------

def test_lstm_copy_round_trip_and_numpy_input():
    p = cells.init_params("lstm", 3, 5, dtype=F64, generator=torch.Generator().manual_seed(0))
    lstm = cells.to_torch({k: v.numpy() for k, v in p.items()}, nn.LSTM(3, 5, dtype=F64))
    assert torch.equal(lstm.bias_hh_l0, torch.zeros(20, dtype=F64))
    assert torch.equal(lstm.weight_ih_l0[5:10], p["W_xf"].T)  # block 1 = forget gate
    assert torch.equal(lstm.weight_hh_l0[10:15], p["W_hc"].T)  # block 2 = candidate g
    back = cells.from_torch(lstm)
    assert list(back) == list(cells.LSTM_PARAM_NAMES)
    for name in p:
        assert torch.equal(back[name], p[name]), name


def test_lstm_from_torch_sums_the_two_biases_and_returns_copies():
    lstm = _torch_module(nn.LSTM, 2, 3, seed=0)
    p = cells.from_torch(lstm)
    torch.testing.assert_close(p["b_o"], lstm.bias_ih_l0[9:12] + lstm.bias_hh_l0[9:12])
    p["W_xi"].add_(1.0)
    assert not torch.equal(p["W_xi"], lstm.weight_ih_l0[:3].T)
    assert not p["W_xi"].requires_grad


def test_gru_copy_round_trip_and_bias_placement():
    gru = _torch_module(nn.GRUCell, 3, 4, seed=0)
    p = cells.from_torch(gru)
    torch.testing.assert_close(p["b_r"], gru.bias_ih[:4] + gru.bias_hh[:4])
    assert torch.equal(p["b_h"], gru.bias_ih[8:]) and torch.equal(p["b_hh"], gru.bias_hh[8:])
    copy = cells.to_torch(p, nn.GRUCell(3, 4, dtype=F64))
    X, H = _randn(2, 3, seed=1), _randn(2, 4, seed=2)
    torch.testing.assert_close(copy(X, H), gru(X, H), atol=1e-12, rtol=0)


def test_load_params_checks_names_and_shapes():
    module = cells.LSTMScratch(3, 4)
    with pytest.raises(ValueError, match="missing"):
        module.load_params({"W_xi": torch.zeros(3, 4)})
    bad = {k: torch.zeros(v.shape) for k, v in module.params.items()}
    bad["W_hf"] = torch.zeros(3, 4)
    with pytest.raises(ValueError, match=r"params\['W_hf'\] has shape \(3, 4\), needs \(4, 4\)"):
        module.load_params(bad)


# ----------------------------------------------------------------------------------------
# Bad input to the copies and the constructors: clear errors
# ----------------------------------------------------------------------------------------

@pytest.fixture
def lstm_params():
    return cells.init_params("lstm", 3, 4, generator=torch.Generator().manual_seed(0))


@pytest.mark.parametrize("module, message", [
    (nn.LSTM(3, 4, num_layers=2), "num_layers=2"),
    (nn.LSTM(3, 4, bidirectional=True), "bidirectional=True"),
    (nn.LSTM(3, 4, proj_size=2), "proj_size=2"),
    (nn.LSTM(3, 4, bias=False), "bias=False"),
    (nn.LSTMCell(3, 4, bias=False), "bias=False"),
    (nn.RNN(3, 4, nonlinearity="relu"), "nonlinearity='relu'"),
    (nn.Linear(3, 4), "expected an nn.RNN, nn.LSTM or nn.GRU"),
])
def test_lstm_copy_rejects_modules_it_cannot_represent(module, message):
    with pytest.raises((ValueError, TypeError), match=message):
        cells.from_torch(module)


def test_scratch_layer_rejects_another_cells_module():
    with pytest.raises(TypeError, match="needs an nn.LSTM or nn.LSTMCell, got GRU"):
        cells.LSTMScratch.from_torch(nn.GRU(3, 4))


def test_copy_to_torch_rejects_mismatched_sizes_and_d2l_gru(lstm_params):
    with pytest.raises(ValueError, match=r"params\['W_xi'\] has shape \(3, 4\), needs \(3, 5\); "
                                         r"the torch module has input_size=3, hidden_size=5"):
        cells.to_torch(lstm_params, nn.LSTM(3, 5))
    with pytest.raises(ValueError, match=r"params is missing W_hf"):
        cells.to_torch({k: v for k, v in lstm_params.items() if k != "W_hf"}, nn.LSTM(3, 4))
    with pytest.raises(TypeError, match=r"params must be a dict"):
        cells.to_torch(list(lstm_params.values()), nn.LSTM(3, 4))
    d2l = cells.init_params("gru", 3, 4, reset_after=False)
    with pytest.raises(ValueError, match="nn.GRU cannot represent exactly"):
        cells.to_torch(d2l, nn.GRU(3, 4))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_init_rejects_bad_sizes(bad):
    with pytest.raises(ValueError, match="positive integer"):
        cells.init_params("lstm", bad, 4)
    with pytest.raises(ValueError, match="positive integer"):
        cells.init_params("gru", 3, bad)


# ----------------------------------------------------------------------------------------
# Every cell and variant against torch.nn or the equations written out by brute force
# ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("shape", SHAPES)
def test_rnn_scratch_matches_nn_rnn_outputs_states_and_gradients(shape):
    rnn = _torch_module(nn.RNN, *shape[2:], seed=31)
    scratch = cells.RNNScratch.from_torch(rnn)
    (X_t, out_t, H_t), (X_s, out_s, H_s) = _run_both(rnn, scratch, shape, 1, seed=32)
    _close(out_s, out_t)
    _close(H_s, H_t[0])
    _close(X_s.grad, X_t.grad)
    _close(scratch.W_hh.grad, rnn.weight_hh_l0.grad.T)
    _close(scratch.b_h.grad, rnn.bias_ih_l0.grad)
    back = cells.to_torch(scratch.params, nn.RNNCell(*shape[2:], dtype=F64))
    X, H = _randn(3, shape[2], seed=33), _randn(3, shape[3], seed=34)
    _close(back(X, H), cells.rnn_step(X, H, scratch.params))


def _sigmoid_by_hand(x):
    return 1 / (1 + torch.exp(-x))


def _lstm_by_hand(X, H, C, p, variant):
    """Each variant's equations, one gate at a time, with a hand-written sigmoid."""
    def pre(g):
        return X @ p[f"W_x{g}"] + H @ p[f"W_h{g}"] + p[f"b_{g}"]

    C_tilde = torch.tanh(pre("c"))
    if variant == "lstm":
        I, F_gate, O = _sigmoid_by_hand(pre("i")), _sigmoid_by_hand(pre("f")), _sigmoid_by_hand(pre("o"))
    elif variant == "cifg":
        F_gate, O = _sigmoid_by_hand(pre("f")), _sigmoid_by_hand(pre("o"))
        I = 1 - F_gate
    elif variant == "no_forget":
        I, O, F_gate = _sigmoid_by_hand(pre("i")), _sigmoid_by_hand(pre("o")), torch.ones_like(C)
    else:
        I = _sigmoid_by_hand(pre("i") + p["w_ci"] * C)
        F_gate = _sigmoid_by_hand(pre("f") + p["w_cf"] * C)
    C_new = F_gate * C + I * C_tilde
    if variant == "peephole":
        O = _sigmoid_by_hand(pre("o") + p["w_co"] * C_new)
    return O * torch.tanh(C_new), C_new


@pytest.mark.parametrize("variant", list(cells.LSTM_VARIANTS))
def test_lstm_variants_follow_their_equations(variant):
    p = cells.init_params(variant, 3, 5, dtype=F64, generator=torch.Generator().manual_seed(40))
    assert tuple(p) == cells.param_names(variant)
    X, H, C = _randn(4, 3, seed=41), _randn(4, 5, seed=42), _randn(4, 5, seed=43)
    H_new, C_new = cells.lstm_step(X, H, C, p, variant)
    H_ref, C_ref = _lstm_by_hand(X, H, C, p, variant)
    _close(H_new, H_ref)
    _close(C_new, C_ref)
    if variant == "lstm":  # and the standard one is nn.LSTMCell
        H_t, C_t = cells.to_torch(p, nn.LSTMCell(3, 5, dtype=F64))(X, (H, C))
        _close(H_new, H_t)
        _close(C_new, C_t)


def test_lstm_variants_differ_from_each_other():
    p = cells.init_params("peephole", 3, 5, dtype=F64, generator=torch.Generator().manual_seed(44))
    X, H, C = _randn(4, 3, seed=45), _randn(4, 5, seed=46), _randn(4, 5, seed=47)
    outputs = [cells.lstm_step(X, H, C, p, v)[1] for v in cells.LSTM_VARIANTS]
    for k in range(len(outputs)):
        for j in range(k):
            assert (outputs[k] - outputs[j]).abs().max() > 1e-3


@pytest.mark.parametrize("reset_after", [True, False])
def test_both_grus_follow_their_equations_by_hand(reset_after):
    p = cells.init_params("gru", 3, 4, reset_after=reset_after, dtype=F64, generator=torch.Generator().manual_seed(50))
    X, H = _randn(5, 3, seed=51), _randn(5, 4, seed=52)
    R = _sigmoid_by_hand(X @ p["W_xr"] + H @ p["W_hr"] + p["b_r"])
    Z = _sigmoid_by_hand(X @ p["W_xz"] + H @ p["W_hz"] + p["b_z"])
    if reset_after:
        H_tilde = torch.tanh(X @ p["W_xh"] + p["b_h"] + R * (H @ p["W_hh"] + p["b_hh"]))
    else:
        H_tilde = torch.tanh(X @ p["W_xh"] + (R * H) @ p["W_hh"] + p["b_h"])
    _close(cells.gru_step(X, H, p, reset_after), Z * H + (1 - Z) * H_tilde)
    if reset_after:  # and it is nn.GRUCell
        _close(cells.gru_step(X, H, p), cells.to_torch(p, nn.GRUCell(3, 4, dtype=F64))(X, H))


# ----------------------------------------------------------------------------------------
# One initialisation, one table of gate orders
# ----------------------------------------------------------------------------------------

def test_init_torch_is_uniform_like_torch_nn_and_d2l_is_small_normal_with_zero_biases():
    p = cells.init_params("lstm", 50, 100, generator=torch.Generator().manual_seed(0))
    bound = 1 / 100 ** 0.5
    for name, value in p.items():
        assert value.abs().max() <= bound and value.abs().max() > 0.9 * bound, name
    q = cells.init_params("gru", 200, 100, init="d2l", generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(q[n], torch.zeros(100)) for n in ("b_r", "b_z", "b_h", "b_hh"))
    assert abs(float(q["W_xr"].std()) - 0.01) < 0.001 and abs(float(q["W_xr"].mean())) < 0.001
    with pytest.raises(ValueError, match="init must be one of .torch., .d2l.; got"):
        cells.init_tensor(3, num_hiddens=3, init="xavier")


def test_init_d2l_draws_like_the_book():
    """D2L's get_params: torch.randn(shape) * 0.01 per weight, in the order W_x, W_h of each gate."""
    torch.manual_seed(0)
    p = cells.init_params("rnn", 5, 3, init="d2l")
    torch.manual_seed(0)
    W_xh, W_hh = torch.randn(5, 3) * 0.01, torch.randn(3, 3) * 0.01
    assert torch.equal(p["W_xh"], W_xh) and torch.equal(p["W_hh"], W_hh)


def test_gate_tables():
    assert cells.GATES["lstm"] == ("i", "f", "o", "c") and cells.TORCH_GATES["lstm"] == ("i", "f", "c", "o")
    assert cells.GATES["gru"] == cells.TORCH_GATES["gru"] == ("r", "z", "h")
    assert set(cells.LSTM_VARIANTS) <= set(cells.GATES)
    assert cells.GRU_PARAM_NAMES[-1] == "b_hh" and cells.param_names("gru", reset_after=False)[-1] == "b_h"
    # nn.LSTM's block k holds our gate TORCH_GATES["lstm"][k]
    p = cells.init_params("lstm", 2, 3, dtype=F64)
    lstm = cells.to_torch(p, nn.LSTM(2, 3, dtype=F64))
    for k, g in enumerate(cells.TORCH_GATES["lstm"]):
        assert torch.equal(lstm.weight_hh_l0.chunk(4)[k], p[f"W_h{g}"].T)


# --- issue 13: sizes get a clear error ----------------------------------------------------------

def test_init_tensor_checks_num_hiddens():
    """Issue 13: init_tensor(num_hiddens=0) raised ZeroDivisionError, a negative one "math domain error"."""
    with pytest.raises(ValueError, match=r"num_hiddens must be a positive integer"):
        cells.init_tensor(3, num_hiddens=0)
    with pytest.raises(ValueError, match=r"num_hiddens must be a positive integer"):
        cells.init_tensor(3, num_hiddens=-2)
    with pytest.raises(ValueError, match=r"shape\[0\] must be a non-negative integer"):
        cells.init_tensor(-3, num_hiddens=2)
