"""Checks of Day 7 (the copy task), against :mod:`seqlib.copy_task` and :mod:`seqlib.cells`.

Each check grades cases drawn anew at every call and describes a right answer without printing it, so that
an answer hard-coded for one case fails."""

from __future__ import annotations

import torch

from seqlib import cells
from seqlib.checks.feedback import (Verdict, as_float, as_tensor, first_failure, fresh_seeds, guard, report,
                                    result_of, shaped)
from seqlib.copy_task.task import TOKENS, make_dataset
from seqlib.copy_task.task import copy_scores as course_copy_scores

__all__ = ["copy_case", "check_copy_scores", "check_mlstm_step", "check_mgru_step"]


def copy_case(seed: int):
    """A batch of one length for the scoring exercise, drawn from ``seed``: ``(logits (B, T, 11), Y (B, T))``,
    3 to 6 samples with L 4 to 11, P 1 to 3, O 2 to L; the model's argmax right at 70 or 85 % of the
    copied positions and at every blank, but for these: samples 0 and 1 are copied whole, sample 0 misses
    one blank, sample 2 misses one symbol (so that each known mistake changes a score)."""
    g = torch.Generator().manual_seed(seed)
    B, L, P = 3 + seed % 4, 4 + seed % 8, 1 + seed % 3
    O = 2 + (seed // 7) % (L - 1)
    _, Y = make_dataset(B, L, P, O, seed)
    logits = torch.randn(B, L + P + O, len(TOKENS), generator=g)
    right = torch.rand(B, L + P + O, generator=g) < (0.7 if seed % 2 else 0.85)
    right[:, :L + P] = True  # the blanks, as a trained model gets them, but for one:
    right[:2, L + P:] = True  # samples 0 and 1 copied whole, 0 with a blank missed; 2 with a symbol missed
    right[0, int(torch.randint(L + P, (1,), generator=g))] = False
    right[2, L + P + int(torch.randint(O, (1,), generator=g))] = False
    logits.scatter_add_(2, Y[:, :, None], 5.0 * right[:, :, None].float())  # the target wins where right
    return logits, Y


@guard("copy_scores(logits, Y)")
def check_copy_scores(copy_scores) -> Verdict:
    """Check ``copy_scores(logits, Y)`` -> ``(per_position (O,), sequence)`` against
    :func:`seqlib.copy_task.copy_scores` on batches drawn anew at every call (:func:`copy_case`)."""
    return first_failure(
        lambda seed: _grade_copy_scores(copy_scores, seed), zip(fresh_seeds(3)),
        "copy_scores scores the copied positions only, on 3 batches: the accuracy at each of the last O "
        "positions, and the share of samples copied without an error")


def _grade_copy_scores(copy_scores, seed):
    """``None`` if ``copy_scores`` is right on ``copy_case(seed)``, else the failure reported."""
    logits, Y = copy_case(seed)
    per_position, sequence = course_copy_scores(logits, Y)
    B, T = Y.shape
    O = len(per_position)
    want = (f"for a batch of {B} samples of T = {T} positions, O = {O} of them copied: per_position of shape "
            f"({O},) and sequence, one number in 0..1")
    out = result_of(copy_scores, logits.clone(), Y.clone(), name="copy_scores", expected=want,
                    hint="logits is (B, T, 11) and Y (B, T): the prediction at each position is the argmax over "
                         "the last axis", returns="(per_position, sequence)")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        return report(False, f"copy_scores should return the pair (per_position, sequence), got "
                             f"{type(out).__name__}", "return both", expected=want)
    got, seq = as_tensor(out[0]), as_float(out[1])
    if got is None or got.shape != per_position.shape:
        shape = "not a tensor" if got is None else f"of shape {tuple(got.shape)}"
        hint = ("score the copied positions only: the last O, where the target is not the blank (index 0)"
                if got is not None and got.numel() == T else
                "one accuracy per copied position: a mean over the samples (axis 0) of the last O columns")
        return report(False, f"per_position is {shape}, not ({O},)", hint, expected=want)
    if seq is None:
        return report(False, "sequence is not a number", "the share of samples copied right: a mean over "
                      "the samples", expected=want)
    correct = (logits.argmax(-1) == Y).float()
    if not torch.allclose(got.double(), per_position.double(), atol=1e-5):
        if torch.allclose(got.double(), correct[:, :O].mean(0).double(), atol=1e-5):
            return report(False, "per_position scores the first O positions",
                          "the copied positions are the LAST O: the target is blank while the model reads",
                          expected=want)
        return report(False, "per_position is not the accuracy at each copied position", expected=want,
                      hint="compare the argmax with Y over the last O columns, then average over the samples")
    if abs(seq - float(sequence)) < 1e-5:
        return None
    if abs(seq - float(per_position.mean())) < 1e-5:
        return report(False, "sequence is the mean accuracy of the copied positions",
                      "a sample counts only when ALL its copied positions are right", expected=want)
    if abs(seq - float(correct.min(1).values.mean())) < 1e-5:
        return report(False, "sequence asks every position to be right, the blanks too",
                      "judge a sample on its copied positions only", expected=want)
    return report(False, "sequence is not the share of samples copied without an error", expected=want,
                  hint="a sample is copied when all its copied positions are right; take the share of such samples")


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
