"""Figures that open up a recurrent network: the unrolled RNN, truncated BPTT, one LSTM step, the forget
gate as a time constant, paths of single units. The numbers come from the lab; these only draw them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch

from seqlib.heatmaps import heatmap
from seqlib.page.style import COLUMN_INCHES, new_axes
from seqlib.validation import ArgumentTypeError, finite_number, float_array, one_of, positive_int, same_length

__all__ = ["draw_unrolled_rnn", "draw_truncated_bptt", "forget_half_life", "plot_forget_decay", "plot_forget_bias",
           "plot_lstm_step", "plot_unit_paths"]

_STEP_KEYS = ("I", "F", "O", "C_tilde", "C")


def _vector(name, value, size=None):
    a = float_array(value, name, ndim=1, what="one-dimensional (one value per hidden unit or symbol)")
    if size is not None and len(a) != size:
        raise ValueError(f"{name} has {len(a)} values, expected {size}")
    return a


def draw_unrolled_rnn(num_steps: int = 4, *, weights: Sequence[str] = ("W_{xh}", "W_{hh}", "W_{hq}"),
                      names: Sequence[str] = ("x", "h", "y"), title: str | None = None, ax=None):
    """An RNN unrolled over ``num_steps``: boxes ``x_t``, ``h_t``, ``y_t`` (``names``) and ``h_0``, arrows
    labelled with ``weights`` (LaTeX without dollars: input->state, state->state, state->output). Returns the axes."""
    num_steps = positive_int(num_steps, "num_steps")
    if len(weights) != 3 or len(names) != 3:
        raise ValueError("weights and names each need three entries: input->state, state->state, state->output")
    dx, rows, box_w, box_h = 2.2, (0.0, 1.6, 3.2), 0.9, 0.55  # rows of x, h and y
    gap = box_h / 2 + 0.05
    ax = new_axes(ax, 1.9 * (num_steps + 1), 3.6)

    def box(cx, cy, label, face):
        ax.add_patch(FancyBboxPatch((cx - box_w / 2, cy - box_h / 2), box_w, box_h,
                                    boxstyle="round,pad=0.05", fc=face, ec="0.2", lw=1.2))
        ax.text(cx, cy, f"${label}$", ha="center", va="center", fontsize=13)

    def arrow(start, end, label, color, offset):
        ax.annotate("", xy=end, xytext=start,
                    arrowprops=dict(arrowstyle="-|>", color=color, lw=1.8, shrinkA=0, shrinkB=0))
        mid = ((start[0] + end[0]) / 2 + offset[0], (start[1] + end[1]) / 2 + offset[1])
        ax.text(*mid, f"${label}$", color=color, ha="center", va="center", fontsize=11,
                bbox=dict(fc="white", ec="none", pad=0.5))

    box(0, rows[1], f"{names[1]}_0", "0.92")
    for t in range(1, num_steps + 1):
        cx = t * dx
        for name, row, face in zip(names, rows, ("#dbe9f6", "#fbe3d6", "#dcefdc")):
            box(cx, row, f"{name}_{{{t}}}", face)
        arrow((cx, rows[0] + gap), (cx, rows[1] - gap), weights[0], "tab:blue", (0.38, 0))
        arrow((cx, rows[1] + gap), (cx, rows[2] - gap), weights[2], "tab:green", (0.38, 0))
        arrow((cx - dx + box_w / 2 + 0.05, rows[1]), (cx - box_w / 2 - 0.05, rows[1]), weights[1], "tab:red", (0, 0.3))
    ax.set(xlim=(-0.8, num_steps * dx + 0.8), ylim=(-0.6, rows[2] + 0.7), aspect="equal", title=title or "")
    ax.axis("off")
    return ax


def draw_truncated_bptt(num_steps: int = 12, chunk: int = 4, *, ax=None):
    """States ``H_0 .. H_{num_steps-1}``: values flow forward everywhere, gradients back only inside a
    chunk of ``chunk`` steps (``detach()`` at each cut). Returns the axes."""
    num_steps, chunk = positive_int(num_steps, "num_steps"), positive_int(chunk, "chunk")
    if num_steps < 2:
        raise ValueError(f"num_steps must be at least 2 to show a step, got {num_steps}")
    ax = new_axes(ax, COLUMN_INCHES, 1.7)
    for t in range(num_steps):
        ax.add_patch(plt.Rectangle((t - 0.3, -0.3), 0.6, 0.6, fc="#dbe9f6", ec="k"))
        ax.text(t, 0, f"$H_{{{t}}}$", ha="center", va="center", fontsize=9)
        if t == 0:
            continue
        cut = t % chunk == 0
        backward = dict(arrowstyle="->", color="0.7" if cut else "tab:red", ls=":" if cut else "-")
        ax.annotate("", (t - 0.3, 0.12), (t - 0.7, 0.12), arrowprops=dict(arrowstyle="->", color="k"))
        ax.annotate("", (t - 0.7, -0.12), (t - 0.3, -0.12), arrowprops=backward)
        if cut:
            ax.plot([t - 0.5, t - 0.5], [-0.6, 0.6], color="tab:red", ls="--", lw=1)
            ax.text(t - 0.5, -0.8, "detach()", color="tab:red", ha="center", fontsize=9)
    ax.text(-0.35, 0.45, "forward: values", fontsize=9)
    ax.text(-0.35, -0.7, "backward: gradients", fontsize=9, color="tab:red")
    ax.set(xlim=(-0.5, num_steps - 0.5), ylim=(-0.95, 0.7), aspect="equal")
    ax.axis("off")
    return ax


def forget_half_life(b_f: float) -> float:
    """Steps until a memory held by a constant forget gate ``F = sigmoid(b_f)`` is halved:
    ``F ** t = 1/2`` at ``t = ln 2 / (-ln F)`` (``inf`` when ``F`` rounds to 1)."""
    b_f = finite_number(b_f, "b_f")
    log_F = -math.log1p(math.exp(-b_f)) if b_f > -30 else b_f  # ln sigmoid(b_f), stable
    return math.inf if log_F == 0 else math.log(2) / -log_F


def plot_forget_decay(b_f: float, num_steps: int = 80, *, reference: Sequence[float] = (0, 2, 4, 6), ax=None):
    """Memory left, ``F ** t``, of a constant forget gate ``F = sigmoid(b_f)`` (thick, its half-life marked),
    thin curves for the ``reference`` biases. Returns the axes."""
    b_f, num_steps = finite_number(b_f, "b_f"), positive_int(num_steps, "num_steps")
    ax, t = new_axes(ax, COLUMN_INCHES / 2, 2.6), np.arange(num_steps + 1)
    for ref, color in zip(reference, plt.cm.viridis(np.linspace(0, 0.85, max(1, len(reference))))):
        ax.plot(t, (1 / (1 + math.exp(-ref))) ** t, color=color, lw=1, alpha=0.8,
                label=f"$b_f = {ref:g}$: {_steps(forget_half_life(ref))}")
    F, half = 1 / (1 + math.exp(-b_f)), forget_half_life(b_f)
    ax.plot(t, F ** t, color="k", lw=2.5, label=f"$b_f = {b_f:g}$")
    ax.axhline(0.5, color="0.6", lw=0.8, ls=":")
    if half <= num_steps:
        ax.plot([half], [0.5], "o", color="tab:red", ms=7, zorder=3)
        right = half > 0.6 * num_steps
        ax.annotate(f"half-life\n{_steps(half)}", (half, 0.5), xytext=(-8 if right else 8, 8),
                    textcoords="offset points", ha="right" if right else "left", va="bottom",
                    color="tab:red", fontsize=10, fontweight="bold")
    ax.set(xlabel="steps after the write", ylabel="memory left, $F^t$", ylim=(0, 1.03), xlim=(0, num_steps),
           title=f"$b_f = {b_f:g}$: $F = {F:.3f}$, half-life {_steps(half)}")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, title="half-lives, thin lines")
    return ax


def _steps(n: float) -> str:
    return "no decay" if math.isinf(n) else f"{n:.1f} steps" if n < 10 else f"{n:.0f} steps"


def plot_forget_bias(b_f: float, F_trace, offsets, accuracies, *, delta: float, accuracy: float,
                     chance: float | None = None, step_labels=None):
    """Three views of the forget-gate bias: :func:`plot_forget_decay` of ``b_f``; a trained model's
    ``accuracies`` against ``offsets`` added to every forget bias (``(delta, accuracy)`` circled, ``chance``
    dotted); its forget gates ``F_trace`` (num_steps, num_hiddens) with offset ``delta``. Returns the figure."""
    offsets = _vector("offsets", offsets)
    accuracies = _vector("accuracies", accuracies, len(offsets))
    delta, accuracy = finite_number(delta, "delta"), finite_number(accuracy, "accuracy")
    F_trace = float_array(F_trace, "F_trace", ndim=2, what="of shape (num_steps, num_hiddens)")
    fig = plt.figure(figsize=(COLUMN_INCHES, 6.2), layout="constrained")
    top, bottom = fig.subfigures(2, 1, height_ratios=[1.45, 1])
    ax_decay, ax_acc = top.subplots(1, 2)
    plot_forget_decay(b_f, num_steps=len(F_trace), ax=ax_decay)
    ax_acc.plot(offsets, accuracies, "o-", color="tab:blue")
    ax_acc.plot([delta], [accuracy], "o", color="k", ms=12, mfc="none", mew=2)
    if chance is not None:
        ax_acc.axhline(chance, color="k", ls=":", label="chance")
        ax_acc.legend(loc="lower right")
    ax_acc.set(xlabel=r"offset $\Delta$ on every forget bias", ylabel=f"accuracy, length {len(F_trace)}",
               ylim=(0, 1.05), title=f"trained LSTM: accuracy {accuracy:.2f} at $\\Delta = {delta:+g}$")
    heatmap(F_trace, vmin=0, vmax=1, cmap="viridis", ax=bottom.subplots(), step_labels=step_labels,
            colorbar="$F_t$", title=f"trained LSTM: forget gates with $\\Delta = {delta:+g}$ on every bias")
    return fig


def plot_lstm_step(step: Mapping, C_prev, probs, *, symbols: Sequence[str], answer: str, title: str = "",
                   hold: float = 0.95):
    """One LSTM step unit by unit: the gates ``step["I"|"F"|"O"|"C_tilde"|"C"]`` (num_hiddens,), the update
    ``C_t = F_t * C_{t-1} + I_t * C~_t`` from ``C_prev``, and ``probs`` over ``symbols`` (``answer`` green);
    units with ``F > hold`` shaded. Returns the figure."""
    if missing := [k for k in _STEP_KEYS if not isinstance(step, Mapping) or k not in step]:
        raise ArgumentTypeError(f"step must be a dict of the step's values with keys {', '.join(_STEP_KEYS)}; "
                                f"missing {', '.join(missing)}")
    num_hiddens = len(_vector("step['I']", step["I"]))
    values = {k: _vector(f"step[{k!r}]", step[k], num_hiddens) for k in _STEP_KEYS}
    C_prev = _vector("C_prev", C_prev, num_hiddens)
    symbols = [str(s) for s in symbols]
    probs, answer = _vector("probs", probs, len(symbols)), one_of(answer, "answer", symbols)
    units = np.arange(1, num_hiddens + 1)
    fig = plt.figure(figsize=(COLUMN_INCHES, 5.4), layout="constrained")
    grid = fig.add_gridspec(2, 2, width_ratios=[1.7, 1], height_ratios=[1, 1.1])
    ax_gates, ax_cell, ax_answer = fig.add_subplot(grid[0, :]), fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    for ax in (ax_gates, ax_cell):
        for u in units[values["F"] > hold]:
            ax.axvspan(u - 0.5, u + 0.5, color="gold", alpha=0.25, lw=0)
        ax.set(xlim=(0.5, num_hiddens + 0.5), xticks=units[::2] if num_hiddens > 12 else units, xlabel="hidden unit")
    ax_gates.bar(units, values["C_tilde"], color="0.75", label=r"$\tilde C_t$")
    for key, marker, color in (("I", "^", "tab:orange"), ("F", "s", "tab:blue"), ("O", "o", "tab:green")):
        ax_gates.plot(units, values[key], marker, color=color, label=f"${key}_t$")
    ax_gates.axhline(0, color="0.5", lw=0.6)
    ax_gates.set(ylim=(-1.05, 1.05), title="gates" + (f" {title}" if title else "")
                 + f" (shaded: $F_t > {hold:g}$, the unit holds)")
    ax_gates.legend(ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    width = 0.28
    ax_cell.bar(units - width, values["F"] * C_prev, width, color="tab:blue", label=r"$F_t \odot C_{t-1}$ kept")
    ax_cell.bar(units, values["I"] * values["C_tilde"], width, color="tab:orange",
                label=r"$I_t \odot \tilde C_t$ written")
    ax_cell.bar(units + width, values["C"], width, color="k", label="$C_t$ new")
    ax_cell.axhline(0, color="0.5", lw=0.6)
    ax_cell.set(title="cell state update")
    ax_cell.legend(ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.22))
    ax_answer.bar(symbols, probs, color=["tab:green" if s == answer else "0.6" for s in symbols])
    ax_answer.set(ylim=(0, 1), xlabel="symbol (green: right)", ylabel="probability",
                  title="answer if it ended here")
    return fig


def plot_unit_paths(C, H, units: Sequence[int], labels: Sequence[str], *, legend_title: str = ""):
    """Cell (left) and hidden state (right) of the hidden ``units`` (indices from 0, one row each) over time,
    one line per example (``labels``); ``C``, ``H`` (num_steps, num_examples, num_hiddens). Returns the figure."""
    C, H = (float_array(v, name, ndim=3, what="of shape (num_steps, num_examples, num_hiddens)")
            for v, name in ((C, "C"), (H, "H")))
    if C.shape != H.shape:
        raise ValueError(f"C and H must both have shape (num_steps, num_examples, num_hiddens), "
                         f"got {C.shape} and {H.shape}")
    num_steps, num_examples, num_hiddens = C.shape
    units = [int(u) for u in units]
    if not units or any(not 0 <= u < num_hiddens for u in units):
        raise ValueError(f"units must be indices of hidden units in 0..{num_hiddens - 1}, got {units}")
    same_length(labels := [str(s) for s in labels], range(num_examples), "labels and the examples")
    fig, axes = plt.subplots(len(units), 2, figsize=(COLUMN_INCHES, 0.4 + 1.45 * len(units)), sharex=True,
                             squeeze=False, layout="constrained")
    colors = plt.cm.tab10(np.arange(num_examples) % 10)
    steps = np.arange(1, num_steps + 1)
    for row, u in enumerate(units):
        for ex in range(num_examples):
            axes[row, 0].plot(steps, C[:, ex, u], color=colors[ex], lw=1.3, label=labels[ex])
            axes[row, 1].plot(steps, H[:, ex, u], color=colors[ex], lw=1.3)
        axes[row, 0].set_ylabel(f"unit {u + 1}")  # numbered from 1, as in the heatmaps
        axes[row, 1].set_ylim(-1.05, 1.05)
    axes[0, 0].set_title("cell state $C_t$")
    axes[0, 1].set_title("hidden state $H_t$")
    for ax in axes[-1]:
        ax.set_xlabel("time step $t$")
    fig.legend(*axes[0, 0].get_legend_handles_labels(), loc="outside lower center", ncol=min(num_examples, 8),
               title=legend_title or None)
    return fig
