"""Checks of Day 7 (the copy task), against :mod:`seqlib.copy_task` and :mod:`seqlib.cells`.

The copy task's check grades the lab's sample and two drawn anew at every call, and describes a right
sample without printing it, so that an answer hard-coded for the lab's sample fails."""

from __future__ import annotations

import torch

from seqlib import cells
from seqlib.checks.feedback import Verdict, first_failure, fresh_seeds, guard, report, result_of, shaped
from seqlib.copy_task.task import TOKENS, check_lengths, make_sample, to_text
from seqlib.validation import non_negative_int

__all__ = ["check_copy_sample", "check_mlstm_step", "check_mgru_step"]


def _as_text(value):
    """A string of tokens from a string, or from a sequence / tensor of token indices; ``None`` otherwise."""
    if isinstance(value, str):
        return value
    try:
        ids = value.tolist() if hasattr(value, "tolist") else list(value)  # a tensor, a NumPy array
        if all(isinstance(i, int) and 0 <= i < len(TOKENS) for i in ids):
            return to_text(ids)
        if all(isinstance(i, str) and len(i) == 1 for i in ids):
            return "".join(ids)
    except TypeError:
        return None
    return None


@guard("make_copy_sample(seq_len, padding, output_len, seed)")
def check_copy_sample(make_copy_sample, seq_len: int = 12, padding: int = 3, output_len: int = 5,
                      seed: int = 7) -> Verdict:
    """Check ``make_copy_sample(seq_len, padding, output_len, seed)`` -> ``(x, y)`` against
    :func:`seqlib.copy_task.make_sample` (strings of characters or token indices are both accepted)."""
    cases = [(*check_lengths(seq_len, padding, output_len), non_negative_int(seed, "seed"))]
    cases += [(5 + s % 8, 1 + s % 4, 2 + s % (3 + s % 8), s) for s in fresh_seeds()]  # 2 <= O < L
    return first_failure(
        lambda *case: _grade_copy_sample(make_copy_sample, *case), cases,
        f"make_copy_sample builds the task on {len(cases)} samples: L symbols, P '$', O blanks in; "
        "L + P blanks, then the first O symbols out")


def _grade_copy_sample(make_copy_sample, L, P, O, seed):
    """``None`` if ``make_copy_sample`` is right for these lengths and seed, else the failure reported."""
    want_x, want_y = (to_text(t) for t in make_sample(L, P, O, seed))
    expected = (f"for make_copy_sample({L}, {P}, {O}, {seed}): x = the {L} symbols the seed draws, {P} '$', {O} "
                f"blanks; y = {L + P} blanks, then x's first {O} symbols")
    out = result_of(make_copy_sample, L, P, O, seed, name="make_copy_sample", expected=expected,
                    hint="build the input, then the target, as lists of characters")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return report(False, f"make_copy_sample returned {type(out).__name__}, not a pair (x, y)",
                      "return the input and the target together", expected=expected)
    x, y = (_as_text(v) for v in out)
    if x is None or y is None:
        return report(False, "x and y should be strings (or sequences of token indices 0..10)",
                      "join the characters with ''.join(...)", expected=expected)
    T = L + P + O
    if len(x) != T or len(y) != T:
        return report(False, f"x has {len(x)} positions and y {len(y)}; both need L + P + O = {T}",
                      "the input ends with O blanks, the target starts with L + P blanks", expected=expected)
    if x[L:] != want_x[L:]:
        return report(False, f"after the symbols, x is {x[L:]!r}", f"P = {P} delimiters '$', then O = {O} blanks",
                      expected=expected)
    if x != want_x:
        return report(False, f"x has the right layout but other symbols ({x[:L]!r})",
                      "draw the symbols with np.random.default_rng(seed).integers(9, size=L) as indices into "
                      "ALPHABET, once, in one call", expected=expected)
    if y[:L + P] != " " * (L + P):
        return report(False, f"y should start with L + P = {L + P} blanks; it starts with {y[:L + P]!r}",
                      "nothing is to be output while the model reads", expected=expected)
    if y == want_y:
        return None
    if y[L + P:] == x[:O][::-1]:
        return report(False, "y copies the symbols in reverse order", "copy x's first O symbols in order",
                      expected=expected)
    if y[L + P:] == x[L - O:L]:
        return report(False, "y copies the last O symbols of the input", "the task copies the FIRST O symbols",
                      expected=expected)
    return report(False, f"y ends with {y[L + P:]!r}", "the last O positions hold the first O input symbols",
                  expected=expected)


def _mlstm_cases():
    """Two sizes of inputs, and parameters twice as large as init_params's: the mistakes show clearly.
    The values are drawn anew at every call."""
    for seed, (batch_size, d, h) in zip(fresh_seeds(), ((3, 5, 4), (1, 2, 6))):
        g = torch.Generator().manual_seed(seed)
        p = {k: v * 2.0 for k, v in cells.init_params("mlstm", d, h, dtype=torch.float64, generator=g).items()}
        X, H, C = (torch.randn(batch_size, n, generator=g, dtype=torch.float64) for n in (d, h, h))
        yield X, H, C, p, f"batch_size={batch_size}, num_inputs={d}, num_hiddens={h}"


def _mlstm_diagnosis(H_out, X, H, C, p):
    """A name for a known mistake, or ``None``."""
    lstm_like = {name.replace("W_m", "W_h"): v for name, v in p.items() if name not in ("W_xm", "W_hm")}
    if torch.allclose(H_out, cells.lstm_step(X, H, C, lstm_like)[0], atol=1e-6):
        return ("the gates read H_{t-1}, not M_t: this is the plain LSTM",
                "compute M = (X W_xm) * (H W_hm) first and use it in every gate, with the weights W_m*")
    G = [X @ p["W_x" + g] + (X @ p["W_xm"] + H @ p["W_hm"]) @ p["W_m" + g] + p["b_" + g] for g in "ifoc"]  # M summed
    if torch.allclose(H_out, cells.lstm_pointwise(G, C)[0], atol=1e-6):
        return ("M_t adds the two products; the multiplicative LSTM multiplies them element-wise",
                "M is an element-wise product (*), not a sum")
    return None


@guard("mlstm_step(X, H, C, p)")
def check_mlstm_step(mlstm_step) -> Verdict:
    """Check ``mlstm_step(X, H, C, p)`` -> ``(H, C)`` against :func:`seqlib.cells.mlstm_step`
    (``p``: the parameters of ``seqlib.cells.init_params("mlstm", ...)``)."""
    for X, H, C, p, sizes in _mlstm_cases():
        want_H, want_C = cells.mlstm_step(X, H, C, p)
        expected = f"(H, C), each of shape {tuple(want_H.shape)}, equal to seqlib.cells.mlstm_step's"
        with torch.no_grad():
            out = result_of(mlstm_step, X.clone(), H.clone(), C.clone(), dict(p), name="mlstm_step",
                            case=f"for {sizes}", expected=expected, hint="X is (batch_size, num_inputs): multiply "
                            "as X @ p['W_xi']; M is (batch_size, num_hiddens)")
        H_out, C_out = shaped(out, "mlstm_step", (want_H, want_C), names=("H", "C"), expected=expected,
                              hint="return (H, C), both states; every gate is (batch_size, num_hiddens)")
        if torch.allclose(H_out, want_C, atol=1e-6) and torch.allclose(C_out, want_H, atol=1e-6):
            return report(False, "H and C are swapped", "return (H, C) in this order", expected=expected)
        if not (torch.allclose(H_out, want_H, atol=1e-6) and torch.allclose(C_out, want_C, atol=1e-6)):
            if (known := _mlstm_diagnosis(H_out, X, H, C, p)) is not None:
                return report(False, known[0], known[1], expected=expected)
            which = "C" if not torch.allclose(C_out, want_C, atol=1e-6) else "H"
            return report(False, f"mlstm_step's {which} differs from the reference for {sizes} (max |diff| "
                                 f"{(C_out - want_C if which == 'C' else H_out - want_H).abs().max().item():.3g})",
                          "M_t replaces H_{t-1} in the four gates; then the LSTM's equations", expected=expected)
    return report(True, "mlstm_step matches seqlib.cells.mlstm_step: M_t = (X W_xm) * (H W_hm) drives every gate")


def _mgru_cases():
    """As :func:`_mlstm_cases`, for the multiplicative GRU (no cell state)."""
    for seed, (batch_size, d, h) in zip(fresh_seeds(), ((3, 5, 4), (2, 3, 6))):
        g = torch.Generator().manual_seed(seed)
        p = {k: v * 2.0 for k, v in cells.init_params("mgru", d, h, dtype=torch.float64, generator=g).items()}
        X, H = (torch.randn(batch_size, n, generator=g, dtype=torch.float64) for n in (d, h))
        yield X, H, p, f"batch_size={batch_size}, num_inputs={d}, num_hiddens={h}"


def _mgru_mistakes(X, H, p):
    """What the known mistakes return, each with what is wrong and a hint."""
    M = cells.multiplicative_state(X, H, p)
    Gx = [X @ p["W_xr"] + p["b_r"], X @ p["W_xz"] + p["b_z"], X @ p["W_xh"] + p["b_h"]]
    Gm = (M @ p["W_mr"], M @ p["W_mz"], M @ p["W_mh"])
    R, Z = torch.sigmoid(Gx[0] + Gm[0]), torch.sigmoid(Gx[1] + Gm[1])
    H_tilde = torch.tanh(Gx[2] + R * (Gm[2] + p["b_hh"]))
    M_sum = X @ p["W_xm"] + H @ p["W_hm"]
    plain = {name.replace("W_m", "W_h"): v for name, v in p.items() if name not in ("W_xm", "W_hm")}
    return [
        (cells.gru_step(X, H, plain), "the gates read H_{t-1}, not M_t: this is the plain GRU",
         "compute M = (X W_xm) * (H W_hm) first and use it in the three gates, with the weights W_m*"),
        (cells.gru_pointwise(Gx, [M_sum @ p["W_m" + g] for g in "rzh"], H, b_hh=p["b_hh"]),
         "M_t adds the two products; the multiplicative GRU multiplies them element-wise",
         "M is an element-wise product (*), not a sum"),
        (Z * M + (1 - Z) * H_tilde, "the update interpolates with M_t; it keeps H_{t-1} itself",
         "M_t only drives the gates: H_t = Z * H_{t-1} + (1 - Z) * H~_t"),
        ((1 - Z) * H + Z * H_tilde, "Z_t and 1 - Z_t are swapped",
         "Z_t near 1 keeps the old state: Z_t multiplies H_{t-1}"),
        (torch.tanh(Gx[2] + (R * M) @ p["W_mh"]) * (1 - Z) + Z * H,
         "the reset gate scales M_t before the product, and b_hh is missing",
         "as torch.nn.GRU: R_t scales M_t W_mh + b_hh, after the product"),
    ]


@guard("mgru_step(X, H, p)")
def check_mgru_step(mgru_step) -> Verdict:
    """Check ``mgru_step(X, H, p)`` -> ``H`` against :func:`seqlib.cells.mgru_step`
    (``p``: the parameters of ``seqlib.cells.init_params("mgru", ...)``)."""
    for X, H, p, sizes in _mgru_cases():
        want = cells.mgru_step(X, H, p)
        expected = f"H, of shape {tuple(want.shape)}, equal to seqlib.cells.mgru_step's"
        with torch.no_grad():
            out = result_of(mgru_step, X.clone(), H.clone(), dict(p), name="mgru_step", case=f"for {sizes}",
                            expected=expected, hint="X is (batch_size, num_inputs): multiply as X @ p['W_xr']; "
                            "M is (batch_size, num_hiddens)")
        if isinstance(out, (tuple, list)):
            return report(False, f"mgru_step returns a {type(out).__name__} of {len(out)}",
                          "the GRU has no cell state: return the new H alone", expected=expected)
        H_out = shaped(out, "mgru_step", want, expected=expected,
                       hint="return the new state H alone, (batch_size, num_hiddens)")
        if not torch.allclose(H_out, want, atol=1e-6):
            for wrong, what, hint in _mgru_mistakes(X, H, p):
                if torch.allclose(H_out, wrong, atol=1e-6):
                    return report(False, what, hint, expected=expected)
            return report(False, f"mgru_step's H differs from the reference for {sizes} (max |diff| "
                                 f"{(H_out - want).abs().max().item():.3g})",
                          "M_t replaces H_{t-1} inside the three gates; the update still mixes H_{t-1} "
                          "and the candidate", expected=expected)
    return report(True, "mgru_step matches seqlib.cells.mgru_step: M_t drives the gates, H_{t-1} is kept "
                        "by the update")
