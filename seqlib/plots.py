"""Recurring figures of the course: curves, hidden states over time, an unrolled RNN.

Every function draws into ``ax`` when given one (so figures can be composed with
``plt.subplots``), otherwise into a new figure, and returns the axes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import MaxNLocator

__all__ = ["plot_curves", "plot_hidden_states", "draw_unrolled_rnn"]


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def plot_curves(curves: Mapping[str, Sequence[float]], *, x=None, xlabel: str = "step",
                ylabel: str = "", title: str | None = None, logy: bool = False,
                marker: str | None = None, ax=None):
    """Plot named curves (``{"train loss": [...], ...}``) against ``x`` (default 1, 2, ...).

    Returns the axes; one line per curve, with a legend when there is more than one.
    """
    if not curves:
        raise ValueError("plot_curves needs at least one curve, e.g. {'loss': losses}")
    ax = _axes(ax, (5, 3))
    for name, values in curves.items():
        values = np.asarray(values, dtype=float)
        if values.ndim != 1:
            raise ValueError(f"curve {name!r} must be one-dimensional, got shape {values.shape}")
        xs = np.arange(1, len(values) + 1) if x is None else np.asarray(x)
        if len(xs) != len(values):
            raise ValueError(f"curve {name!r} has {len(values)} values but x has {len(xs)}")
        ax.plot(xs, values, marker=marker, label=name)
    if x is None:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


def plot_hidden_states(H, *, kind: str = "lines", step_labels: Sequence[str] | None = None,
                       title: str | None = None, vmax: float = 1.0, ax=None):
    """Hidden states over time: ``H`` has shape (num_steps, num_hiddens).

    ``kind="lines"``: one line per hidden unit against the time step t = 1, 2, ...
    ``kind="heatmap"``: units as rows, time steps as columns, colours in [-vmax, vmax]
    (tanh states lie in (-1, 1)), with a colour bar. ``step_labels`` names the time
    steps (e.g. the input characters; a space is shown as ␣). Returns the axes.
    """
    H = np.asarray(H.detach().cpu() if hasattr(H, "detach") else H, dtype=float)
    if H.ndim != 2:
        raise ValueError(f"H must have shape (num_steps, num_hiddens), got {H.shape}; "
                         "for a batch, pick one example: H[:, 0]")
    num_steps, num_hiddens = H.shape
    if step_labels is not None and len(step_labels) != num_steps:
        raise ValueError(f"{len(step_labels)} step_labels for {num_steps} time steps")
    steps = np.arange(1, num_steps + 1)
    if kind == "lines":
        ax = _axes(ax, (5, 3))
        for j in range(num_hiddens):
            ax.plot(steps, H[:, j], marker="." if num_steps <= 30 else None, label=f"$h_{{t,{j + 1}}}$")
        ax.set_ylim(-1.05 * vmax, 1.05 * vmax)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_ylabel("hidden state")
        if num_hiddens <= 8:
            ax.legend(fontsize="small", ncol=2 if num_hiddens > 4 else 1, loc="best")
        ax.grid(alpha=0.3)
    elif kind == "heatmap":
        ax = _axes(ax, (min(12, max(5, 0.3 * num_steps + 2)), min(4, max(2, 0.25 * num_hiddens + 1))))
        image = ax.imshow(H.T, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax,
                          extent=(0.5, num_steps + 0.5, num_hiddens + 0.5, 0.5), interpolation="nearest")
        ax.figure.colorbar(image, ax=ax, label="$h_{t,j}$")
        ax.set_ylabel("hidden unit $j$")
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        raise ValueError(f"kind must be 'lines' or 'heatmap', got {kind!r}")
    ax.set_xlabel("time step $t$" if step_labels is None else "time step $t$ (input)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if step_labels is not None:
        ax.set_xticks(steps)
        ax.set_xticklabels(["␣" if s == " " else str(s) for s in step_labels])  # ␣ shows a space
    if title:
        ax.set_title(title)
    return ax


def draw_unrolled_rnn(num_steps: int = 4, *, weights: Sequence[str] = ("W_{xh}", "W_{hh}", "W_{hq}"),
                      names: Sequence[str] = ("x", "h", "y"), title: str | None = None, ax=None):
    """Draw an RNN unrolled over ``num_steps`` time steps, with the weights on the arrows.

    Boxes ``x_t`` (bottom), ``h_t`` (middle) and ``y_t`` (top) for t = 1..num_steps plus the
    initial state ``h_0``; arrows x_t -> h_t, h_{t-1} -> h_t and h_t -> y_t are labelled with
    ``weights`` (LaTeX, without dollars), one colour per weight, the same at every step.
    ``names`` are the letters of input, state and output. Returns the axes (axis hidden).
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be at least 1, got {num_steps}")
    if len(weights) != 3 or len(names) != 3:
        raise ValueError("weights and names each need three entries: input->state, state->state, state->output")
    x, h, y = names
    w_in, w_rec, w_out = weights
    colors = {"in": "tab:blue", "rec": "tab:red", "out": "tab:green"}
    dx, rows = 2.2, {"x": 0.0, "h": 1.6, "y": 3.2}
    box_w, box_h = 0.9, 0.55
    ax = _axes(ax, (1.9 * (num_steps + 1), 3.6))

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

    box(0, rows["h"], f"{h}_0", "0.92")
    for t in range(1, num_steps + 1):
        cx = t * dx
        box(cx, rows["x"], f"{x}_{{{t}}}", "#dbe9f6")
        box(cx, rows["h"], f"{h}_{{{t}}}", "#fbe3d6")
        box(cx, rows["y"], f"{y}_{{{t}}}", "#dcefdc")
        arrow((cx, rows["x"] + box_h / 2 + 0.05), (cx, rows["h"] - box_h / 2 - 0.05), w_in, colors["in"], (0.38, 0))
        arrow((cx, rows["h"] + box_h / 2 + 0.05), (cx, rows["y"] - box_h / 2 - 0.05), w_out, colors["out"], (0.38, 0))
        arrow((cx - dx + box_w / 2 + 0.05, rows["h"]), (cx - box_w / 2 - 0.05, rows["h"]), w_rec, colors["rec"], (0, 0.3))
    ax.set_xlim(-0.8, num_steps * dx + 0.8)
    ax.set_ylim(-0.6, rows["y"] + 0.7)
    ax.set_aspect("equal")
    ax.axis("off")
    if title:
        ax.set_title(title)
    return ax
