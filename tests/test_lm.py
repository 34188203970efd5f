"""Parity of every model form: lesson == fast == torch.nn after copying weights, outputs and gradients."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as nnf

from seqlib import cells, decoding, lm, validation
from seqlib.cells import LSTM_VARIANTS
from seqlib.lm import RNNLMFast, RNNModel, concise_model, lesson_model
from seqlib.page import num_params

V, H, B, T = 11, 6, 3, 7
CASES = [("rnn", False), ("lstm", False), ("gru", False), ("gru", True)]


def lesson(cell, reset_after=False, seed=0):
    """A lesson-form model in float64 with weights large enough to make every term count."""
    torch.manual_seed(seed)
    net = lesson_model(cell, V, H, reset_after=reset_after)
    net.params = [(torch.randn_like(p, dtype=torch.float64) * 0.5).requires_grad_() for p in net.params]
    return net


def random_state(net_or_cell, batch_size=B, seed=1):
    g = torch.Generator().manual_seed(seed)
    n = 2 if net_or_cell == "lstm" else 1
    return tuple(torch.randn(batch_size, H, generator=g, dtype=torch.float64) for _ in range(n))


def tokens(seed=2, shape=(B, T)):
    return torch.randint(0, V, shape, generator=torch.Generator().manual_seed(seed))


def loss_of(y_hat, state):
    """A loss that depends on every output and on the final state."""
    return (y_hat.sin().sum() + sum(s.cos().sum() for s in state))


@pytest.mark.parametrize("cell, reset_after", CASES)
def test_fast_form_equals_lesson_form_outputs_states_and_gradients(cell, reset_after):
    net = lesson(cell, reset_after)
    fast = RNNLMFast.from_lesson(net, cell)
    assert fast.reset_after == (reset_after if cell == "gru" else None)
    X, state = tokens(), random_state(cell)
    y1, s1 = net(X, state)
    y2, s2 = fast(X, state)
    assert y1.shape == y2.shape == (T * B, V)
    assert torch.allclose(y1, y2, atol=1e-12)
    assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(s1, s2))
    g1 = torch.autograd.grad(loss_of(y1, s1), net.params)
    g2 = dict(zip([n for n, _ in fast.named_parameters()],
                  torch.autograd.grad(loss_of(y2, s2), list(fast.parameters()))))
    n = {"rnn": 1, "lstm": 4, "gru": 3}[cell]
    assert torch.allclose(torch.cat([g1[3 * k] for k in range(n)], 1), g2["W_x"], atol=1e-10)
    assert torch.allclose(torch.cat([g1[3 * k + 1] for k in range(n)], 1), g2["W_h"], atol=1e-10)
    assert torch.allclose(torch.cat([g1[3 * k + 2] for k in range(n)]), g2["b"], atol=1e-10)
    assert torch.allclose(g1[3 * n], g2["W_hq"], atol=1e-10)
    if reset_after:
        assert torch.allclose(g1[11], g2["b_hh"], atol=1e-10)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_fast_form_equals_torch_nn_outputs_states_and_gradients(cell):
    fast = RNNLMFast.from_lesson(lesson(cell, reset_after=cell == "gru"), cell)
    model = fast.to_torch()
    assert isinstance(model, RNNModel) and num_params(model) == num_params(fast) + (
        model.rnn.bias_hh_l0.numel() - (H if cell == "gru" else 0))
    X, state = tokens(), random_state(cell)
    torch_state = tuple(s[None] for s in state) if cell == "lstm" else state[0][None]
    y1, s1 = fast(X, state)
    y2, s2 = model(X, torch_state)
    s2 = s2 if cell == "lstm" else (s2,)
    assert torch.allclose(y1, y2, atol=1e-10)
    assert all(torch.allclose(a, b[0], atol=1e-10) for a, b in zip(s1, s2))
    g1 = torch.autograd.grad(loss_of(y1, s1), [fast.W_hq, fast.W_x])
    g2 = torch.autograd.grad(loss_of(y2, tuple(s[0] for s in s2)), [model.head.weight, model.rnn.weight_ih_l0])
    assert torch.allclose(g1[0], g2[0].T, atol=1e-10)
    assert torch.allclose(g1[1].sum(), g2[1].sum(), atol=1e-9)  # same numbers, other block order


def test_state_is_carried_across_calls_in_every_form():
    """Two calls of 3 + 4 steps give the same as one call of 7 steps."""
    for cell, reset_after in CASES:
        net = lesson(cell, reset_after)
        fast = RNNLMFast.from_lesson(net, cell)
        X, state = tokens(), random_state(cell)
        for model in (net, fast):
            y_all, s_all = model(X, state)
            y_a, s_a = model(X[:, :3], state)
            y_b, s_b = model(X[:, 3:], s_a)
            assert torch.allclose(torch.cat([y_a, y_b]), y_all, atol=1e-12)
            assert all(torch.allclose(a, b, atol=1e-12) for a, b in zip(s_b, s_all))


@pytest.mark.parametrize("cell, reset_after", CASES)
def test_lesson_form_is_the_cells_looped_plus_the_output_layer(cell, reset_after):
    net = lesson(cell, reset_after)
    names = cells.param_names(cell, reset_after=False)
    p = dict(zip(names, net.params))
    if reset_after:
        p["b_hh"] = net.params[-1]
    W_hq, b_q = net.params[len(names)], net.params[len(names) + 1]
    X, state = tokens(), random_state(cell)
    y, final = net(X, state)
    inputs = nnf.one_hot(X.T, V).double()
    for t in range(T):
        if cell == "rnn":
            state = (cells.rnn_step(inputs[t], *state, p),)
        elif cell == "lstm":
            state = cells.lstm_step(inputs[t], *state, p)
        else:
            state = (cells.gru_step(inputs[t], *state, p, reset_after),)
        assert torch.allclose(y[t * B:(t + 1) * B], state[0] @ W_hq + b_q, atol=1e-12)
    assert torch.allclose(final[-1], state[-1], atol=1e-12)


def test_lesson_parameters_have_d2ls_initialisation_and_names():
    torch.manual_seed(0)
    params = lm.get_gru_params(V, H, "cpu", reset_after=True)
    assert len(params) == 12 and all(p.requires_grad for p in params)
    assert all(torch.equal(params[k], torch.zeros(H)) for k in (2, 5, 8, 11))  # b_r, b_z, b_h, b_hh
    assert torch.equal(params[10], torch.zeros(V))  # b_q
    torch.manual_seed(0)
    W_xh = lm.get_rnn_params(V, H, "cpu")[0]
    torch.manual_seed(0)
    assert torch.equal(W_xh, torch.randn(V, H) * 0.01)  # as the book draws it


def test_variants_differ_and_parameter_counts():
    counts = {v: num_params(RNNLMFast(28, 256, "lstm", variant=v)) for v in LSTM_VARIANTS}
    head = 256 * 28 + 28
    assert counts["lstm"] == 4 * (28 * 256 + 256 * 256 + 256) + head
    assert counts["cifg"] == counts["no_forget"] == 3 * (28 * 256 + 256 * 256 + 256) + head
    assert counts["peephole"] == counts["lstm"] + 3 * 256
    assert num_params(concise_model("lstm", 28, 256)) == counts["lstm"] + 4 * 256  # torch's second bias


def test_no_forget_cell_only_accumulates():
    """Without a forget gate, C_t - C_{t-1} = I_t * C_tilde_t: with a zero candidate the cell never changes."""
    fast = RNNLMFast(V, H, "lstm", variant="no_forget").double()
    with torch.no_grad():
        fast.W_x[:, -H:] = 0
        fast.W_h[:, -H:] = 0
        fast.b[-H:] = 0
    state = random_state("lstm")
    _, (_, C) = fast(tokens(), state)
    assert torch.allclose(C, state[1])


def test_bad_options_are_explained():
    with pytest.raises(ValueError, match="cell must be one of 'rnn', 'lstm', 'gru'; got 'transformer'"):
        RNNLMFast(V, H, "transformer")
    with pytest.raises(ValueError, match="variant must be one of 'lstm', .*; got 'forgetful'"):
        RNNLMFast(V, H, "lstm", variant="forgetful")
    with pytest.raises(ValueError, match="variants are LSTM options"):
        RNNLMFast(V, H, "gru", variant="cifg")
    with pytest.raises(ValueError, match="reset_after=True"):
        RNNLMFast(V, H, "gru", reset_after=False).to_torch()
    with pytest.raises(ValueError, match="variant='cifg'.*only the plain LSTM"):
        RNNLMFast(V, H, "lstm", variant="cifg").to_torch()


def test_models_learn_a_repeating_pattern():
    """A few Adam steps on 'abcabc...' bring every form's loss well below log(V)."""
    X = torch.tensor([[k % 3 + 1 for k in range(i, i + 12)] for i in range(4)])
    y = torch.tensor([[k % 3 + 1 for k in range(i + 1, i + 13)] for i in range(4)]).T.reshape(-1)
    for model in (lesson_model("lstm", 5, 16), RNNLMFast(5, 16, "gru"), concise_model("rnn", 5, 16)):
        torch.manual_seed(0)
        opt = torch.optim.Adam(model.parameters(), lr=0.05)
        for _ in range(60):
            y_hat, _ = model(X, model.begin_state(batch_size=4, device=torch.device("cpu")))
            loss = nnf.cross_entropy(y_hat, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        assert float(loss.detach()) < 0.1, type(model).__name__


def test_dropout_only_while_training_and_keeps_the_mean():
    """The output layer is linear in the hidden states, so averaging many dropout draws gives the eval output."""
    torch.manual_seed(0)
    model = RNNLMFast(V, 64, "rnn", dropout=0.5).double()
    X = tokens(shape=(2, 5))
    state = model.begin_state(2)
    model.eval()
    with torch.no_grad():
        y_eval, _ = model(X, state)
        assert torch.equal(y_eval, model(X, state)[0]), "no randomness in eval mode"
        model.train()
        assert not torch.equal(model(X, state)[0], model(X, state)[0]), "a new mask every call"
        # 2000 draws in one call: 2000 copies of the batch, each unit of each copy masked on its own
        n = 2000
        copies, _ = model(X.repeat(n, 1), tuple(s.repeat(n, 1) for s in state))
        draws = copies.reshape(X.shape[1], n, X.shape[0], V).transpose(0, 1).reshape(n, *y_eval.shape)
    assert torch.allclose(draws.mean(0), y_eval, atol=0.05), "inverted dropout keeps the mean"
    with pytest.raises(ValueError, match="dropout must be in"):
        RNNLMFast(V, H, "rnn", dropout=1.0)


# --- issue 13: bad input gets a clear error, never a silent wrong answer ------------------

def test_batch_first_layer_computes_the_same_function_as_time_major():
    """Issue 13 item 2: a batch_first=True layer used to swap time and batch silently."""
    torch.manual_seed(0)
    for layer in (torch.nn.RNN, torch.nn.LSTM, torch.nn.GRU):
        time_major = RNNModel(layer(V, H), V).double()
        batch_first = RNNModel(layer(V, H, batch_first=True), V).double()
        batch_first.load_state_dict(time_major.state_dict())
        X = torch.randint(0, V, (B, T))
        Y1, s1 = time_major(X, time_major.begin_state(batch_size=B))
        Y2, s2 = batch_first(X, batch_first.begin_state(batch_size=B))
        assert Y1.shape == (T * B, V)
        torch.testing.assert_close(Y1, Y2)
        for a, b in zip(s1 if isinstance(s1, tuple) else (s1,), s2 if isinstance(s2, tuple) else (s2,)):
            torch.testing.assert_close(a, b)


def test_fast_lstm_rejects_a_single_tensor_state_and_wrong_state_shapes():
    """Issue 13 item 3: a single (B, h) tensor was split row-wise into H and C."""
    net = RNNLMFast(V, H, "lstm")
    X = torch.randint(0, V, (2, T))
    with pytest.raises(TypeError, match=r"state must be the tuple \(H, C\).*got a single tensor of shape \(2, 6\)"):
        net(X, torch.zeros(2, H))
    with pytest.raises(ValueError, match=r"H must have shape \(batch_size, num_hiddens\).*batch_size=2.*\(3, 6\)"):
        net(X, net.begin_state(batch_size=3))
    with pytest.raises(ValueError, match=r"C must have shape \(batch_size, num_hiddens\)"):
        net(X, (torch.zeros(2, H), torch.zeros(2, H + 1)))
    with pytest.raises(TypeError, match=r"state must be the tuple \(H,\)"):
        RNNLMFast(V, H, "gru")(X, torch.zeros(2, H))
    with pytest.raises(TypeError, match=r"state must be the tuple \(H, C\)"):
        lesson_model("lstm", V, H)(X, torch.zeros(2, H))


@pytest.mark.parametrize("make", [
    lambda v, h: RNNLMFast(v, h), lambda v, h: RNNLMFast(v, h, "gru"),
    lambda v, h: lesson_model("lstm", v, h), lambda v, h: concise_model("gru", v, h),
])
@pytest.mark.parametrize("sizes, name", [((28, 0), "num_hiddens"), ((28, -3), "num_hiddens"),
                                         ((0, 8), "vocab_size"), ((28, 2.5), "num_hiddens")])
def test_model_constructors_check_their_sizes(make, sizes, name):
    with pytest.raises(ValueError, match=rf"{name} must be a positive integer"):
        make(*sizes)


def test_model_constructors_accept_numpy_integers():
    import numpy as np

    net = RNNLMFast(np.int64(V), np.int64(H))
    assert net.vocab_size == V and type(net.vocab_size) is int
    assert lesson_model("rnn", np.int64(V), np.int32(H)).num_hiddens == H


def test_models_check_their_inputs_once_with_the_lesson_notation():
    net = RNNLMFast(V, H, "rnn")
    state = net.begin_state(batch_size=2)
    with pytest.raises(ValueError, match=r"X must have shape \(batch_size, num_steps\)"):
        net(torch.randint(0, V, (T,)), state)
    with pytest.raises(TypeError, match=r"X must be an integer tensor"):
        net(torch.zeros(2, T), state)
    with pytest.raises(ValueError, match=rf"X holds token indices from 0 to {V - 1}.*got 30"):
        net(torch.full((2, T), 30), state)
    concise = concise_model("lstm", V, H)
    with pytest.raises(ValueError, match=r"X must have shape \(batch_size, num_steps\)"):
        concise(torch.randint(0, V, (T,)), concise.begin_state(batch_size=2))
    wide = RNNModel(torch.nn.LSTM(V + 1, H), V)  # torch itself names the mismatch, at the call
    with pytest.raises(RuntimeError, match=r"input_size"):
        wide(torch.randint(0, V, (2, T)), wide.begin_state(batch_size=2))
    with pytest.raises(TypeError, match=r"rnn_layer must be"):
        RNNModel(torch.nn.Linear(V, H), V)
    with pytest.raises(ValueError, match=r"dropout must be"):
        RNNLMFast(V, H, dropout=1.0)
    with pytest.raises(TypeError, match=r"state must be the tuple \(H,\)"):
        lesson_model("rnn", V, H)(torch.randint(0, V, (2, T)), "state")
    with pytest.raises(ValueError, match=r"state must have shape \(num_layers \* num_directions, batch_size, "):
        concise_model("gru", V, H)(torch.randint(0, V, (2, T)), torch.zeros(2, H))


def _counting_checks(monkeypatch) -> list:
    """Count every call into seqlib.validation (its public functions, replaced by counting wrappers)."""
    calls = []
    for name in validation.__all__:
        check = getattr(validation, name)
        if callable(check) and not isinstance(check, type):
            def counted(*args, _check=check, _name=name, **kwargs):
                calls.append(_name)
                return _check(*args, **kwargs)
            monkeypatch.setattr(validation, name, counted)
    return calls


@pytest.mark.parametrize("make", [lambda: RNNLMFast(V, H, "lstm"), lambda: lesson_model("gru", V, H),
                                  lambda: concise_model("lstm", V, H)])
def test_generating_200_tokens_runs_no_input_check_per_token(make, monkeypatch):
    """Issue 23: the model checks its input once per call; decoding calls forward, which checks nothing."""
    net = make()
    calls = _counting_checks(monkeypatch)
    counts = {}
    for num_tokens in (20, 200):
        calls.clear()
        step = decoding.LMStep(net)
        generated = decoding.sample(step, step.begin_state(1), [1, 2, 3], num_tokens,
                                    generator=torch.Generator().manual_seed(0))
        assert generated.tokens.shape == (1, num_tokens)
        counts[num_tokens] = len(calls)
    assert counts[200] == counts[20], f"input checks per generated token: {counts}"
    calls.clear()
    net(tokens(), net.begin_state(batch_size=B, device="cpu"))  # a call of the model itself checks, once
    assert 0 < calls.count("token_ids") == 1


def test_a_step_function_runs_the_fast_lstm_with_the_same_outputs():
    """``RNNLMFast(step=...)`` (Day 3's Exercise 2) runs the student's fused step: same weights, same outputs."""
    from seqlib.checks.day03 import fused_step
    torch.manual_seed(0)
    fast = RNNLMFast(11, 6, "lstm")
    stepped = RNNLMFast(11, 6, "lstm", step=fused_step)
    stepped.load_state_dict(fast.state_dict())
    X = torch.randint(0, 11, (3, 5))
    state = fast.begin_state(batch_size=3, device="cpu")
    torch.testing.assert_close(stepped(X, state)[0], fast(X, state)[0])
    with pytest.raises(ValueError, match="step= replaces the standard LSTM's step"):
        RNNLMFast(11, 6, "gru", step=fused_step)
