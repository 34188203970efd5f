"""The multiplicative cells of seqlib.cells (Day 7): their equations by hand, their relation to the
LSTM and GRU (M_t = H_{t-1} gives the base cell back), gradients of all five cells in float64,
the scratch layers. (Parity of the RNN, LSTM and GRU with torch.nn:
tests/test_cells.py.)"""

from __future__ import annotations

import pytest
import torch

from seqlib import cells

F64 = torch.float64


def _randn(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=F64)


def _params(cell, d=3, h=4, seed=0):
    return cells.init_params(cell, d, h, dtype=F64, generator=torch.Generator().manual_seed(seed))


def test_parameter_names_and_shapes():
    p = _params("mlstm", 3, 4)
    assert list(p) == ["W_xm", "W_hm", "W_xi", "W_mi", "b_i", "W_xf", "W_mf", "b_f", "W_xo", "W_mo", "b_o",
                       "W_xc", "W_mc", "b_c"]
    assert p["W_xm"].shape == (3, 4) and p["W_hm"].shape == (4, 4) and p["W_mi"].shape == (4, 4)
    q = _params("mgru", 3, 4)
    assert list(q)[:2] == ["W_xm", "W_hm"] and list(q)[-1] == "b_hh" and q["W_mh"].shape == (4, 4)
    assert cells.MULTIPLICATIVE == {"mlstm": "lstm", "mgru": "gru"}
    with pytest.raises(ValueError, match="reset_after=True only"):
        cells.param_names("mgru", reset_after=False)
    with pytest.raises(ValueError, match="mlstm"):
        cells.param_names("nope")


def test_mlstm_follows_its_equations_by_hand():
    p = _params("mlstm", 3, 4, seed=1)
    X, H, C = _randn(5, 3, seed=2), _randn(5, 4, seed=3), _randn(5, 4, seed=4)
    M = (X @ p["W_xm"]) * (H @ p["W_hm"])
    gate = {g: X @ p[f"W_x{g}"] + M @ p[f"W_m{g}"] + p[f"b_{g}"] for g in "ifoc"}
    C_new = torch.sigmoid(gate["f"]) * C + torch.sigmoid(gate["i"]) * torch.tanh(gate["c"])
    H_new = torch.sigmoid(gate["o"]) * torch.tanh(C_new)
    H_s, C_s = cells.mlstm_step(X, H, C, p)
    torch.testing.assert_close(C_s, C_new)
    torch.testing.assert_close(H_s, H_new)


def test_mgru_follows_its_equations_by_hand():
    p = _params("mgru", 3, 4, seed=5)
    X, H = _randn(5, 3, seed=6), _randn(5, 4, seed=7)
    M = (X @ p["W_xm"]) * (H @ p["W_hm"])
    R = torch.sigmoid(X @ p["W_xr"] + M @ p["W_mr"] + p["b_r"])
    Z = torch.sigmoid(X @ p["W_xz"] + M @ p["W_mz"] + p["b_z"])
    H_tilde = torch.tanh(X @ p["W_xh"] + p["b_h"] + R * (M @ p["W_mh"] + p["b_hh"]))
    torch.testing.assert_close(cells.mgru_step(X, H, p), Z * H + (1 - Z) * H_tilde)


def _identity_m(p, X):
    """Make M_t = H_{t-1}: X's first feature is 1 and W_xm reads only it; W_hm = I."""
    X = X.clone()
    X[:, 0] = 1.0
    h = p["W_hm"].shape[0]
    W_xm = torch.zeros_like(p["W_xm"])
    W_xm[0] = 1.0
    return dict(p, W_xm=W_xm, W_hm=torch.eye(h, dtype=F64)), X


@pytest.mark.parametrize("cell, base", [("mlstm", "lstm"), ("mgru", "gru")])
def test_with_m_equal_to_h_the_multiplicative_cell_is_its_base_cell(cell, base):
    p, X = _identity_m(_params(cell, 3, 4, seed=8), _randn(6, 3, seed=9))
    base_params = {name.replace("W_m", "W_h"): v for name, v in p.items() if name not in ("W_xm", "W_hm")}
    H, C = _randn(6, 4, seed=10), _randn(6, 4, seed=11)
    if cell == "mlstm":
        for a, b in zip(cells.mlstm_step(X, H, C, p), cells.lstm_step(X, H, C, base_params)):
            torch.testing.assert_close(a, b)
    else:
        torch.testing.assert_close(cells.mgru_step(X, H, p), cells.gru_step(X, H, base_params))
    assert (cells.multiplicative_state(X, H, p) - H).abs().max() == 0


def _state(cell, batch_size, h, seed):
    if cell in ("lstm", "mlstm"):
        return [_randn(batch_size, h, seed=seed), _randn(batch_size, h, seed=seed + 1)]
    return [_randn(batch_size, h, seed=seed)]


CELL_FUNCTIONS = {"rnn": cells.rnn_step, "lstm": cells.lstm_step, "gru": cells.gru_step,
                  "mlstm": cells.mlstm_step, "mgru": cells.mgru_step}


@pytest.mark.parametrize("cell", list(CELL_FUNCTIONS))
@pytest.mark.parametrize("batch_size, num_inputs, num_hiddens", [(1, 2, 3), (3, 4, 2)])
def test_all_five_cells_gradcheck_in_float64(cell, batch_size, num_inputs, num_hiddens):
    p = _params(cell, num_inputs, num_hiddens)
    names = list(p)
    fn = CELL_FUNCTIONS[cell]
    state = _state(cell, batch_size, num_hiddens, seed=2)

    def f(X, *rest):
        s, values = rest[:len(state)], rest[len(state):]
        return fn(X, *s, dict(zip(names, values)))

    inputs = [_randn(batch_size, num_inputs, seed=1), *state, *p.values()]
    assert torch.autograd.gradcheck(f, [t.clone().requires_grad_() for t in inputs])


@pytest.mark.parametrize("cell", list(cells.SCRATCH_LAYERS))
def test_scratch_layers_step_through_time_and_train_every_parameter(cell):
    layer = cells.SCRATCH_LAYERS[cell](3, 4, dtype=F64)
    X = _randn(5, 2, 3, seed=3)
    outputs, final = layer(X)
    state = layer.begin_state(2)
    for X_t in X:
        state = layer.step(X_t, state)
    for a, b in zip(final if isinstance(final, tuple) else (final,), state if isinstance(state, tuple) else (state,)):
        torch.testing.assert_close(a, b)
    assert outputs.shape == (5, 2, 4)
    (outputs.sum() + (final[1] if isinstance(final, tuple) else final).sum()).backward()
    assert [n for n, _ in layer.named_parameters()] == list(cells.param_names(cell))
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in layer.parameters())


@pytest.mark.parametrize("cell", list(cells.SCRATCH_LAYERS))
def test_state_carried_across_chunks_equals_the_whole_sequence(cell):
    layer = cells.SCRATCH_LAYERS[cell](3, 4, dtype=F64)
    X = _randn(9, 2, 3, seed=4)
    whole, final = layer(X)
    first, state = layer(X[:4])
    second, state = layer(X[4:], state)
    torch.testing.assert_close(torch.cat([first, second]), whole)
    for a, b in zip(state if isinstance(state, tuple) else (state,), final if isinstance(final, tuple) else (final,)):
        torch.testing.assert_close(a, b)


def test_a_scratch_layer_copies_only_its_own_torch_module():
    with pytest.raises(TypeError, match="MGRUScratch.from_torch needs"):
        cells.MGRUScratch.from_torch(torch.nn.GRU(3, 4))
