"""Instant feedback on the exercises of Day 2 (LSTM and GRU from scratch).

Each check runs the student's code on small random inputs, compares it with
``torch.nn`` (``nn.LSTMCell``, ``nn.GRUCell``, parameter counts of ``nn.RNN``/``nn.GRU``/
``nn.LSTM``), prints specific feedback ("✅ ..." or "❌ ... because ...; hint: ...") and
returns ``True`` or ``False``. A check never raises on a wrong answer: the student's
errors are caught and explained.
"""

from __future__ import annotations

import itertools
import traceback

import torch
from torch import nn

__all__ = ["check_lstm_step", "check_gru_step", "check_param_count"]

_ATOL = 1e-5


def _say(ok: bool, message: str) -> bool:
    print(("✅ " if ok else "❌ ") + message)
    return ok


def _short_error(err: BaseException) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    where = f" (line {frames[-1].lineno}: {frames[-1].line})" if frames and frames[-1].line else ""
    return f"{type(err).__name__}: {err}{where}"


def _as_tensor(x):
    try:
        return torch.as_tensor(x, dtype=torch.float64) if x is not None else None
    except Exception:  # noqa: BLE001 - anything we cannot turn into numbers
        return None


def _random_cell(cls, num_inputs, num_hiddens, seed):
    """A float64 torch cell with random weights and clearly non-zero, distinct biases."""
    g = torch.Generator().manual_seed(seed)
    cell = cls(num_inputs, num_hiddens, dtype=torch.float64)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.6)
    return cell


def _cases(cls, seed):
    """Random problems for the student's step: a float64 torch cell (``cls``), its stacked
    weights and inputs x, h, c, in two sizes (non-square weights; batch size 3, then 1)."""
    for batch_size, num_inputs, num_hiddens, seed in ((3, 5, 4, seed), (1, 2, 6, seed + 1)):
        cell = _random_cell(cls, num_inputs, num_hiddens, seed)
        g = torch.Generator().manual_seed(seed + 100)
        x = torch.randn(batch_size, num_inputs, generator=g, dtype=torch.float64)
        h = torch.randn(batch_size, num_hiddens, generator=g, dtype=torch.float64) * 0.5
        c = torch.randn(batch_size, num_hiddens, generator=g, dtype=torch.float64)
        W = [t.detach().clone() for t in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
        sizes = f"(batch_size={batch_size}, num_inputs={num_inputs}, num_hiddens={num_hiddens})"
        yield cell, x, h, c, W, sizes


def _call(fn, name, args, blocks, sizes):
    """Run the student's ``fn`` on copies of ``args``: ``(output, None)`` or ``(None, feedback)``."""
    copies = [tuple(a.clone() for a in arg) if isinstance(arg, tuple) else arg.clone() for arg in args]
    try:
        with torch.no_grad():
            return fn(*copies), None
    except Exception as err:  # noqa: BLE001 - explain, never raise
        shape_error = any(word in str(err) for word in ("mat", "shape", "size"))
        hint = (f"W_ih has shape ({blocks}*num_hiddens, num_inputs): multiply as x @ W_ih.T"
                if shape_error else "run your function on small tensors and print the shapes")
        return None, f"{name} raised {_short_error(err)} on sizes {sizes}; hint: {hint}"


# ----------------------------------------------------------------------------------------
# Exercise: one LSTM step in nn.LSTMCell's layout
# ----------------------------------------------------------------------------------------

def _lstm_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo", biases=2, g_act=torch.tanh,
                  h_tanh=True):
    """An LSTM step with a known mistake built in (to name the student's mistake)."""
    pre = x @ W_ih.T + h @ W_hh.T + (b_ih if biases >= 1 else 0) + (b_hh if biases == 2 else 0)
    blocks = dict(zip(order, pre.chunk(4, dim=1)))
    i, f, g, o = (torch.sigmoid(blocks["i"]), torch.sigmoid(blocks["f"]), g_act(blocks["g"]),
                  torch.sigmoid(blocks["o"]))
    c_new = f * c + i * g
    return (o * torch.tanh(c_new) if h_tanh else o * c_new), c_new


def _lstm_diagnosis(H, C, args):
    """What the student's (H, C) equals, among common mistakes; None if nothing matches."""
    x, h, c = args[0], args[1][0], args[1][1]
    W = args[2:]

    def same(a, b):
        return a.shape == b.shape and torch.allclose(a, b, atol=_ATOL)

    if same(H, h) and same(C, c):
        return "you returned the old state unchanged", "compute the four gates, then C and H"
    for order in ("".join(p) for p in itertools.permutations("ifgo")):
        if order != "ifgo":
            h_v, c_v = _lstm_variant(x, h, c, *W, order=order)
            if same(H, h_v) and same(C, c_v):
                return (f"you read the stacked gates in the order {', '.join(order)}",
                        "PyTorch stacks the four blocks of W_ih, W_hh and the biases as i, f, g, o "
                        "(input, forget, candidate g, output): use .chunk(4, dim=1) in that order")
    h_v, c_v = _lstm_variant(x, h, c, *W, biases=1)
    if same(H, h_v) and same(C, c_v):
        return "you used only b_ih", "nn.LSTMCell adds both biases: b_ih + b_hh"
    h_v, c_v = _lstm_variant(x, h, c, *W, biases=0)
    if same(H, h_v) and same(C, c_v):
        return "you left out the biases", "add b_ih + b_hh to the pre-activations"
    h_v, c_v = _lstm_variant(x, h, c, *W, g_act=torch.sigmoid)
    if same(H, h_v) and same(C, c_v):
        return "the candidate g went through a sigmoid", "the candidate uses tanh (values in -1..1), only i, f, o are sigmoids"
    h_v, c_v = _lstm_variant(x, h, c, *W, h_tanh=False)
    if same(H, h_v):
        return "you computed H = o * C", "the hidden state squashes the cell first: H = o * tanh(C)"
    return None


def check_lstm_step(lstm_step) -> bool:
    """Check ``lstm_step(x, (h, c), W_ih, W_hh, b_ih, b_hh) -> (h_new, c_new)`` against ``nn.LSTMCell``.

    Layout of ``nn.LSTMCell``: ``W_ih`` is ``(4*num_hiddens, num_inputs)``, ``W_hh`` is
    ``(4*num_hiddens, num_hiddens)``, the blocks stacked in the order i, f, g, o;
    ``x`` is ``(batch_size, num_inputs)``, ``h`` and ``c`` are ``(batch_size, num_hiddens)``.
    """
    if not callable(lstm_step):
        return _say(False, f"check_lstm_step needs your function, got {type(lstm_step).__name__}; "
                           "hint: pass the function itself, check_lstm_step(lstm_step)")
    for cell, x, h, c, W, shapes in _cases(nn.LSTMCell, seed=0):
        args = (x, (h, c), *W)
        with torch.no_grad():
            want_h, want_c = cell(x, (h, c))
        out, failure = _call(lstm_step, "lstm_step", args, 4, shapes)
        if failure:
            return _say(False, failure)
        if out is None:
            return _say(False, "lstm_step returned None; hint: return the new state as a tuple (h_new, c_new)")
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            return _say(False, f"lstm_step should return the tuple (h_new, c_new), got "
                               f"{type(out).__name__}; hint: `return h_new, c_new`")
        H, C = (_as_tensor(o) for o in out)
        if H is None or C is None:
            return _say(False, "lstm_step returned something that is not a pair of tensors")
        for name, got, want in (("h_new", H, want_h), ("c_new", C, want_c)):
            if got.shape != want.shape:
                return _say(False, f"{name} has shape {tuple(got.shape)}, expected {tuple(want.shape)} "
                                   f"for sizes {shapes}; hint: each gate is (batch_size, num_hiddens): "
                                   "split the 4*num_hiddens columns with .chunk(4, dim=1)")
        ok_h = torch.allclose(H, want_h, atol=_ATOL)
        ok_c = torch.allclose(C, want_c, atol=_ATOL)
        if ok_h and ok_c:
            continue
        diag = _lstm_diagnosis(H, C, args)
        err = max((H - want_h).abs().max().item(), (C - want_c).abs().max().item())
        if diag:
            return _say(False, f"your step differs from nn.LSTMCell (max |diff| {err:.2g}) because {diag[0]}; "
                               f"hint: {diag[1]}")
        if ok_c:
            return _say(False, "c_new matches nn.LSTMCell but h_new does not; hint: h_new = o * tanh(c_new) "
                               "with o the output gate (the 4th block)")
        return _say(False, f"(h_new, c_new) differ from nn.LSTMCell (max |diff| {err:.2g}) for sizes {shapes}; "
                           "hint: gates = x @ W_ih.T + h @ W_hh.T + b_ih + b_hh, split as i, f, g, o; "
                           "c_new = f*c + i*g; h_new = o*tanh(c_new)")
    return _say(True, "lstm_step matches nn.LSTMCell (batch sizes 3 and 1, two shapes)")


# ----------------------------------------------------------------------------------------
# Exercise: one GRU step in nn.GRUCell's layout
# ----------------------------------------------------------------------------------------

def _gru_variant(x, h, W_ih, W_hh, b_ih, b_hh, order="rzn", reset_before=False, swap_z=False, biases=2):
    gi = dict(zip(order, (x @ W_ih.T + (b_ih if biases >= 1 else 0)).chunk(3, dim=1)))
    gh = dict(zip(order, (h @ W_hh.T + (b_hh if biases == 2 else 0)).chunk(3, dim=1)))
    r = torch.sigmoid(gi["r"] + gh["r"])
    z = torch.sigmoid(gi["z"] + gh["z"])
    if reset_before:
        W_hn = dict(zip(order, W_hh.chunk(3, dim=0)))["n"]
        b_hn = dict(zip(order, b_hh.chunk(3)))["n"]
        n = torch.tanh(gi["n"] + (r * h) @ W_hn.T + b_hn)
    else:
        n = torch.tanh(gi["n"] + r * gh["n"])
    return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h


def _gru_diagnosis(H, args):
    x, h, W = args[0], args[1], args[2:]

    def same(a, b):
        return a.shape == b.shape and torch.allclose(a, b, atol=_ATOL)

    if same(H, h):
        return "you returned the old state unchanged", "compute r, z and the candidate n, then mix n and h with z"
    if same(H, _gru_variant(x, h, *W, swap_z=True)):
        return ("you swapped the roles of z and 1 - z",
                "PyTorch keeps the old state where the update gate is 1: h_new = (1 - z) * n + z * h")
    if same(H, _gru_variant(x, h, *W, reset_before=True)):
        return ("you reset the state before the product, (r * h) @ W_hn.T: the D2L / Cho et al. form",
                "nn.GRUCell applies r after it: n = tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))")
    for order in ("".join(p) for p in itertools.permutations("rzn")):
        if order != "rzn" and same(H, _gru_variant(x, h, *W, order=order)):
            return (f"you read the stacked blocks in the order {', '.join(order)}",
                    "PyTorch stacks the GRU's blocks as r, z, n (reset, update, candidate)")
    if same(H, _gru_variant(x, h, *W, biases=1)):
        return "you used only b_ih", "nn.GRUCell has two biases; b_hh's n block sits inside r * (...)"
    if same(H, _gru_variant(x, h, *W, biases=0)):
        return "you left out the biases", "add b_ih to the input terms and b_hh to the recurrent terms"
    return None


def check_gru_step(gru_step) -> bool:
    """Check ``gru_step(x, h, W_ih, W_hh, b_ih, b_hh) -> h_new`` against ``nn.GRUCell``.

    Layout of ``nn.GRUCell``: ``W_ih`` is ``(3*num_hiddens, num_inputs)``, ``W_hh`` is
    ``(3*num_hiddens, num_hiddens)``, the blocks stacked r, z, n; same for the two biases.
    """
    if not callable(gru_step):
        return _say(False, f"check_gru_step needs your function, got {type(gru_step).__name__}; "
                           "hint: pass the function itself, check_gru_step(gru_step)")
    for cell, x, h, _, W, shapes in _cases(nn.GRUCell, seed=10):
        with torch.no_grad():
            want = cell(x, h)
        out, failure = _call(gru_step, "gru_step", (x, h, *W), 3, shapes)
        if failure:
            return _say(False, failure)
        if out is None:
            return _say(False, "gru_step returned None; hint: return the new hidden state h_new (one tensor)")
        if isinstance(out, (tuple, list)):
            return _say(False, f"gru_step returned a {type(out).__name__} of {len(out)} items; "
                               "hint: a GRU has no cell state, return h_new alone")
        H = _as_tensor(out)
        if H is None or H.shape != want.shape:
            got = "something that is not a tensor" if H is None else f"shape {tuple(H.shape)}"
            return _say(False, f"gru_step returned {got}, expected shape {tuple(want.shape)} for sizes {shapes}; "
                               "hint: split the 3*num_hiddens columns with .chunk(3, dim=1)")
        if torch.allclose(H, want, atol=_ATOL):
            continue
        diag = _gru_diagnosis(H, (x, h, *W))
        err = (H - want).abs().max().item()
        if diag:
            return _say(False, f"h_new differs from nn.GRUCell (max |diff| {err:.2g}) because {diag[0]}; "
                               f"hint: {diag[1]}")
        return _say(False, f"h_new differs from nn.GRUCell (max |diff| {err:.2g}) for sizes {shapes}; hint: "
                           "r, z from sigmoid(x @ W_i*.T + b_i* + h @ W_h*.T + b_h*); "
                           "n = tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn)); h_new = (1 - z) * n + z * h")
    return _say(True, "gru_step matches nn.GRUCell (batch sizes 3 and 1, two shapes)")


# ----------------------------------------------------------------------------------------
# Exercise: predict the parameter counts
# ----------------------------------------------------------------------------------------

_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}
_MODULES = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}


def _count_diagnosis(kind, got, d, h):
    k = _BLOCKS[kind]
    weights = k * h * (d + h)
    if got == weights + k * h:
        return "you counted one bias vector per block; PyTorch keeps two (bias_ih and bias_hh)"
    if got == weights:
        return "you left out the biases: 2 bias vectors of length hidden_size per block"
    for other_kind, other in _BLOCKS.items():
        if other != k and got == other * h * (d + h) + 2 * other * h:
            return (f"that is the count for {other} block(s) ({other_kind.upper()}); "
                    f"an {kind.upper()} has {k} block(s)")
    if got == k * h * d + 2 * k * h or got == k * h * h + 2 * k * h:
        return "you missed one of the two weight matrices (input-to-hidden and hidden-to-hidden)"
    return ("it does not match a count we recognise; per gate block: W_ih (hidden x input) + "
            "W_hh (hidden x hidden) + bias_ih + bias_hh")


def check_param_count(counts, num_inputs: int = 10, num_hiddens: int = 20) -> bool:
    """Check predicted parameter counts ``{"rnn": n, "gru": n, "lstm": n}`` of one-layer
    ``nn.RNN``/``nn.GRU``/``nn.LSTM`` with ``input_size=num_inputs``, ``hidden_size=num_hiddens``."""
    if not isinstance(counts, dict):
        return _say(False, f"give a dict like {{'rnn': 123, 'gru': 456, 'lstm': 789}}, got {type(counts).__name__}")
    missing = [k for k in _BLOCKS if k not in counts]
    if missing:
        return _say(False, f"your dict is missing {', '.join(map(repr, missing))}; "
                           "hint: predict all three: 'rnn', 'gru', 'lstm'")
    all_ok = True
    for kind in _BLOCKS:
        module = _MODULES[kind](num_inputs, num_hiddens)
        want = sum(p.numel() for p in module.parameters())
        got = counts[kind]
        label = f"nn.{kind.upper()}(input_size={num_inputs}, hidden_size={num_hiddens})"
        if got is None or isinstance(got, bool) or not isinstance(got, int):
            _say(False, f"{label}: fill in a whole number (got {got!r}); hint: "
                        "count W_ih, W_hh and the two biases of each gate block")
            all_ok = False
        elif got == want:
            _say(True, f"{label}: {want} parameters")
        else:
            _say(False, f"{label}: {got} is not right because {_count_diagnosis(kind, got, num_inputs, num_hiddens)}")
            all_ok = False
    return all_ok
