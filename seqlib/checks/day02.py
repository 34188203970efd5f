"""Checks of Day 2 (LSTM and GRU from scratch), against ``nn.LSTMCell``, ``nn.GRUCell`` and the
parameter counts of ``nn.RNN``/``nn.GRU``/``nn.LSTM``; known mistakes are named."""

from __future__ import annotations

import itertools
import numbers

import torch
from torch import nn

from seqlib import cells
from seqlib.checks.feedback import Verdict, close, fresh_seeds, guard, report, result_of, shaped
from seqlib.validation import positive_int

__all__ = ["check_lstm_step", "check_gru_step", "check_param_count", "lstm_cell_step", "gru_cell_step"]


def _cases(cls):
    """A float64 ``cls`` cell (random weights, clearly non-zero biases), its stacked weights and inputs x, h, c,
    in two sizes (batch 3, then 1), drawn anew at every call."""
    for (batch_size, num_inputs, num_hiddens), seed in zip(((3, 5, 4), (1, 2, 6)), fresh_seeds()):
        g, cell = torch.Generator().manual_seed(seed), cls(num_inputs, num_hiddens, dtype=torch.float64)
        with torch.no_grad():
            for p in cell.parameters():
                p.copy_(torch.randn(p.shape, generator=g, dtype=torch.float64) * 0.6)
        g = torch.Generator().manual_seed(seed + 100)
        x = torch.randn(batch_size, num_inputs, generator=g, dtype=torch.float64)
        h = torch.randn(batch_size, num_hiddens, generator=g, dtype=torch.float64) * 0.5
        c = torch.randn(batch_size, num_hiddens, generator=g, dtype=torch.float64)
        W = [t.detach().clone() for t in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
        yield cell, x, h, c, W, f"batch_size={batch_size}, num_inputs={num_inputs}, num_hiddens={num_hiddens}"


def _run(fn, name, args, blocks, sizes, returns):
    """The student's ``fn`` on copies of ``args`` (:func:`result_of`)."""
    copies = [tuple(a.clone() for a in arg) if isinstance(arg, tuple) else arg.clone() for arg in args]
    with torch.no_grad():
        return result_of(fn, *copies, name=name, case=f"for {sizes}", returns=returns, hint=lambda error: (
            f"W_ih has shape ({blocks}*num_hiddens, num_inputs) and x one example per row: rows meet the "
            "weights transposed"
            if any(word in error for word in ("mat", "shape", "size"))
            else "run your function on small tensors and print the shapes"))


def _lstm_variant(x, h, c, W_ih, W_hh, b_ih, b_hh, order="ifgo", biases=2, g_act=torch.tanh,
                  h_tanh=True):
    """An LSTM step with a known mistake built in (to name the student's mistake), from the
    element-wise part :func:`seqlib.cells.lstm_pointwise` on mistaken pre-activations."""
    pre = x @ W_ih.T + h @ W_hh.T + (b_ih if biases >= 1 else 0) + (b_hh if biases == 2 else 0)
    blocks = dict(zip(order, pre.chunk(4, dim=1)))
    G = [blocks[g] for g in "ifog"]  # our gate order i, f, o, c; PyTorch's g is our candidate c
    if g_act is torch.sigmoid:  # tanh(atanh(s)) = s: the candidate becomes sigmoid(g)
        G[3] = torch.atanh(torch.sigmoid(G[3]))
    H, C = cells.lstm_pointwise(G, c)
    return (H if h_tanh else torch.sigmoid(G[2]) * C), C  # the mistake h_new = o * c_new


def _lstm_diagnosis(H, C, x, h, c, W):
    """``(what went wrong, hint)`` if the student's (H, C) equals a known mistake, else None."""
    if close(H, h) and close(C, c):
        return "you returned the old state unchanged", "compute the four gates, then c_new and h_new"
    mistakes = [(dict(order="".join(p)), f"you read the stacked gates in the order {', '.join(p)}",
                 "PyTorch stacks the four blocks of W_ih, W_hh and the biases as i, f, g, o "
                 "(input, forget, candidate g, output): read the four column blocks in that order")
                for p in itertools.permutations("ifgo") if p != tuple("ifgo")]
    mistakes += [
        (dict(biases=1), "you used only b_ih", "nn.LSTMCell adds both biases: b_ih + b_hh"),
        (dict(biases=0), "you left out the biases", "add b_ih + b_hh to the pre-activations"),
        (dict(g_act=torch.sigmoid), "the candidate g went through a sigmoid",
         "the candidate uses tanh (values in -1..1); only i, f, o are sigmoids"),
    ]
    for kwargs, why, hint in mistakes:
        h_v, c_v = _lstm_variant(x, h, c, *W, **kwargs)
        if close(H, h_v) and close(C, c_v):
            return why, hint
    if close(H, _lstm_variant(x, h, c, *W, h_tanh=False)[0]):
        return "you computed h_new = o * c_new", "the hidden state squashes the cell first: o * tanh(c_new)"
    return None


@guard("lstm_step(x, (h, c), W_ih, W_hh, b_ih, b_hh)")
def check_lstm_step(lstm_step) -> Verdict:
    """Check ``lstm_step(x, (h, c), W_ih, W_hh, b_ih, b_hh) -> (h_new, c_new)`` against ``nn.LSTMCell``:
    ``W_ih`` (4h, d), ``W_hh`` (4h, h), blocks i, f, g, o; ``x`` (B, d), ``h`` and ``c`` (B, h)."""
    for cell, x, h, c, W, sizes in _cases(nn.LSTMCell):
        with torch.no_grad():
            want_h, want_c = cell(x, (h, c))
        out = _run(lstm_step, "lstm_step", (x, (h, c), *W), 4, sizes, "the new state as a tuple (h_new, c_new)")
        H, C = shaped(out, "lstm_step", (want_h, want_c), names=("h_new", "c_new"),
                      hint="the result is the pair (h_new, c_new); each gate is (batch_size, num_hiddens), one "
                           "of the four blocks of the 4*num_hiddens columns; keep the batch dimension",
                      expected=f"(h_new, c_new) for {sizes}, each (batch_size, num_hiddens)")
        ok_h, ok_c = close(H, want_h), close(C, want_c)
        if ok_h and ok_c:
            continue
        err = max((H - want_h).abs().max().item(), (C - want_c).abs().max().item())
        if diagnosis := _lstm_diagnosis(H, C, x, h, c, W):
            return report(False, f"lstm_step: {diagnosis[0]} (max |diff| {err:.2g} from nn.LSTMCell)",
                          diagnosis[1], expected="the (h_new, c_new) of nn.LSTMCell with the same weights")
        if ok_c:
            return report(False, "c_new matches nn.LSTMCell but h_new does not",
                          "h_new = o * tanh(c_new), with o the output gate (the 4th block)")
        return report(False, f"(h_new, c_new) differ from nn.LSTMCell (max |diff| {err:.2g}) for {sizes}",
                      "pre-activations: both products plus both biases, blocks i, f, g, o; then the cell update",
                      expected="the (h_new, c_new) of nn.LSTMCell with the same weights")
    return report(True, "lstm_step matches nn.LSTMCell (batch sizes 3 and 1, two shapes)")


def _gru_variant(x, h, W_ih, W_hh, b_ih, b_hh, order="rzn", reset_before=False, swap_z=False,
                 biases=2):
    """A GRU step with a known mistake built in, from :func:`seqlib.cells.gru_pointwise` on
    mistaken pre-activations."""
    gi = dict(zip(order, (x @ W_ih.T + (b_ih if biases >= 1 else 0)).chunk(3, dim=1)))
    gh = dict(zip(order, (h @ W_hh.T + (b_hh if biases == 2 else 0)).chunk(3, dim=1)))
    sign = -1 if swap_z else 1  # sigmoid(-a) = 1 - sigmoid(a): the roles of z and 1 - z swapped
    Gx, Gh = [gi["r"], sign * gi["z"], gi["n"]], [gh["r"], sign * gh["z"], gh["n"]]
    if reset_before:
        W_hn = dict(zip(order, W_hh.chunk(3, dim=0)))["n"]
        Gx[2] = Gx[2] + dict(zip(order, b_hh.chunk(3)))["n"]  # b_hn
        return cells.gru_pointwise(Gx, Gh[:2], h, reset_after=False, W_hh=W_hn.T)
    return cells.gru_pointwise(Gx, Gh, h, b_hh=0)


def lstm_cell_step(x, state, W_ih, W_hh, b_ih, b_hh):
    """The course's answer to Day 2's Exercise 1: one ``nn.LSTMCell`` step, ``state = (h, c)`` -> ``(h_new, c_new)``."""
    return _lstm_variant(x, *state, W_ih, W_hh, b_ih, b_hh)


def gru_cell_step(x, h, W_ih, W_hh, b_ih, b_hh):
    """The course's answer to Day 2's Exercise 2: one ``nn.GRUCell`` step, ``h`` -> ``h_new``."""
    return _gru_variant(x, h, W_ih, W_hh, b_ih, b_hh)


def _gru_diagnosis(H, x, h, W):
    if close(H, h):
        return "you returned the old state unchanged", "compute r, z and the candidate n, then mix n and h with z"
    mistakes = [
        (dict(swap_z=True), "you swapped the roles of z and 1 - z",
         "PyTorch keeps the old state where the update gate is 1: h_new = (1 - z) * n + z * h"),
        (dict(reset_before=True), "you reset the state before the product, (r * h) @ W_hn.T: the D2L / "
                                  "Cho et al. form",
         "nn.GRUCell applies r after the product: to the state's candidate term, bias b_hn included"),
    ]
    mistakes += [(dict(order="".join(p)), f"you read the stacked blocks in the order {', '.join(p)}",
                  "PyTorch stacks the GRU's blocks as r, z, n (reset, update, candidate)")
                 for p in itertools.permutations("rzn") if p != tuple("rzn")]
    mistakes += [
        (dict(biases=1), "you used only b_ih", "nn.GRUCell has two biases; b_hh's n block sits inside r * (...)"),
        (dict(biases=0), "you left out the biases", "add b_ih to the input terms and b_hh to the recurrent terms"),
    ]
    for kwargs, why, hint in mistakes:
        if close(H, _gru_variant(x, h, *W, **kwargs)):
            return why, hint
    return None


@guard("gru_step(x, h, W_ih, W_hh, b_ih, b_hh)")
def check_gru_step(gru_step) -> Verdict:
    """Check ``gru_step(x, h, W_ih, W_hh, b_ih, b_hh) -> h_new`` against ``nn.GRUCell``:
    ``W_ih`` (3h, d), ``W_hh`` (3h, h), blocks (and biases) r, z, n."""
    for cell, x, h, _, W, sizes in _cases(nn.GRUCell):
        with torch.no_grad():
            want = cell(x, h)
        out = _run(gru_step, "gru_step", (x, h, *W), 3, sizes, "the new hidden state h_new (one tensor)")
        if isinstance(out, (tuple, list)):
            return report(False, f"gru_step returned a {type(out).__name__} of {len(out)} items",
                          "a GRU has no cell state: return h_new alone")
        H = shaped(out, "h_new", want, expected=f"h_new for {sizes}, (batch_size, num_hiddens)",
                   hint="each gate is one of the three blocks of the 3*num_hiddens columns, (batch_size, "
                        "num_hiddens); keep the batch dimension")
        if close(H, want):
            continue
        err = (H - want).abs().max().item()
        if diagnosis := _gru_diagnosis(H, x, h, W):
            return report(False, f"gru_step: {diagnosis[0]} (max |diff| {err:.2g} from nn.GRUCell)",
                          diagnosis[1], expected="the h_new of nn.GRUCell with the same weights")
        return report(False, f"h_new differs from nn.GRUCell (max |diff| {err:.2g}) for {sizes}",
                      "r, z: sigmoids of input + state terms; n: r after the state product; z = 1 keeps h",
                      expected="the h_new of nn.GRUCell with the same weights")
    return report(True, "gru_step matches nn.GRUCell (batch sizes 3 and 1, two shapes)")


_BLOCKS = {"rnn": 1, "gru": 3, "lstm": 4}


def _count_diagnosis(kind, got, d, h):
    k, weights = _BLOCKS[kind], _BLOCKS[kind] * h * (d + h)
    if got == weights + k * h:
        return "you counted one bias vector per block; PyTorch keeps two (bias_ih and bias_hh)"
    if got == weights:
        return "you left out the biases: 2 bias vectors of length hidden_size per block"
    for other_kind, other in _BLOCKS.items():
        if other != k and got == other * h * (d + h) + 2 * other * h:
            return (f"that is the count for {other} block(s) ({other_kind.upper()}); "
                    f"an {kind.upper()} has {k} block(s)")
    if got in (k * h * d + 2 * k * h, k * h * h + 2 * k * h):
        return "you missed one of the two weight matrices (input-to-hidden and hidden-to-hidden)"
    return "it does not match a count we recognise"


@guard()
def check_param_count(counts, num_inputs: int = 10, num_hiddens: int = 20) -> Verdict:
    """Check predicted parameter counts ``{"rnn": n, "gru": n, "lstm": n}`` of one-layer
    ``nn.RNN``/``nn.GRU``/``nn.LSTM`` with ``input_size=num_inputs``, ``hidden_size=num_hiddens``.

    One line per layer; true only if all three are right.
    """
    num_inputs, num_hiddens = positive_int(num_inputs, "num_inputs"), positive_int(num_hiddens, "num_hiddens")
    if not isinstance(counts, dict):
        return report(False, f"the answer is a {type(counts).__name__}", "give a dict of three whole numbers",
                      expected="a dict like {'rnn': 123, 'gru': 456, 'lstm': 789}")
    if missing := [k for k in _BLOCKS if k not in counts]:
        return report(False, f"your dict is missing {', '.join(map(repr, missing))}",
                      "predict all three: 'rnn', 'gru', 'lstm'")
    formula = "per gate block: W_ih (hidden x input), W_hh (hidden x hidden), two biases"
    results = []
    for kind in _BLOCKS:
        want = sum(p.numel() for p in getattr(nn, kind.upper())(num_inputs, num_hiddens).parameters())
        got, label = counts[kind], f"nn.{kind.upper()}(input_size={num_inputs}, hidden_size={num_hiddens})"
        if isinstance(got, bool) or not isinstance(got, numbers.Integral):
            results.append(report(False, f"{label}: fill in a whole number (got {got!r})", formula,
                                  expected="a whole number"))
        elif got == want:
            results.append(report(True, f"{label}: {want} parameters"))
        else:
            results.append(report(False, f"{label}: {got} is not right: "
                                  f"{_count_diagnosis(kind, got, num_inputs, num_hiddens)}", formula,
                                  expected="the count of torch.nn, which keeps two bias vectors per block"))
    return Verdict(all(results))
