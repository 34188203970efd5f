"""Figures of an LSTM's insides: gate heatmaps and cell state vs hidden state.

Heatmaps put time on the horizontal axis and hidden units on the vertical axis. Colour
scales are fixed so that figures can be compared: 0..1 for the sigmoid gates (0 = closed,
1 = open), -1..1 for tanh quantities (the candidate and the hidden state).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

__all__ = ["GATES", "plot_gates", "plot_cell_vs_hidden"]

# key in the gates dict -> (title, colour range, colour map)
GATES = {
    "I": ("input gate $I_t$", (0.0, 1.0), "viridis"),
    "F": ("forget gate $F_t$", (0.0, 1.0), "viridis"),
    "O": ("output gate $O_t$", (0.0, 1.0), "viridis"),
    "C_tilde": (r"candidate $\tilde{C}_t$", (-1.0, 1.0), "RdBu_r"),
}


def _as_2d(name, value):
    a = np.asarray(value, dtype=float)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (num_steps, num_hiddens) for one example; got shape "
                         f"{a.shape}. Select one example first, e.g. gates['{name}'][:, 0].")
    return a


def _time_axis(ax, num_steps, labels, max_labels=30):
    if labels is not None:
        labels = list(labels)
        if len(labels) != num_steps:
            raise ValueError(f"step_labels has {len(labels)} entries for {num_steps} time steps")
        every = -(-num_steps // max_labels)  # ceil: at most max_labels labels
        ticks = list(range(0, num_steps, every))
        ax.set_xticks(ticks, [str(labels[t]) for t in ticks], fontsize=7 if len(ticks) > 15 else None)
        ax.set_xlabel("time step $t$, labelled with its input" + (f" (every {every})" if every > 1 else ""))
    else:
        ax.set_xlabel("time step $t$")


def _heatmap(ax, a, vrange, cmap, title, labels):
    im = ax.imshow(a.T, aspect="auto", origin="lower", vmin=vrange[0], vmax=vrange[1], cmap=cmap,
                   interpolation="nearest")
    ax.set_title(title)
    ax.set_ylabel("hidden unit")
    _time_axis(ax, a.shape[0], labels)
    return im


def plot_gates(gates, *, step_labels=None, title=None, figsize=None):
    """Heatmaps of the four LSTM gate activations of one example, in a 2 x 2 grid.

    ``gates`` maps ``"I"``, ``"F"``, ``"O"``, ``"C_tilde"`` to arrays of shape
    ``(num_steps, num_hiddens)`` (extra keys are ignored). Sigmoid gates use the fixed
    colour range 0..1, the tanh candidate -1..1. ``step_labels`` (one per time step)
    labels the time axis, e.g. with the input symbols. Returns the figure.
    """
    missing = [k for k in GATES if k not in gates]
    if missing:
        raise ValueError(f"gates is missing {', '.join(missing)}; expected keys {', '.join(GATES)}")
    arrays = {k: _as_2d(k, gates[k]) for k in GATES}
    num_steps, num_hiddens = arrays["I"].shape
    for key, a in arrays.items():
        if a.shape != (num_steps, num_hiddens):
            raise ValueError(f"gates[{key!r}] has shape {a.shape}, gates['I'] has {(num_steps, num_hiddens)}")
    if figsize is None:
        figsize = (12, 2 * (1.4 + 0.11 * num_hiddens))
    fig, axes = plt.subplots(2, 2, figsize=figsize, sharex=True, sharey=True, layout="constrained")
    for ax, (key, (name, vrange, cmap)) in zip(axes.flat, GATES.items()):
        im = _heatmap(ax, arrays[key], vrange, cmap, name, step_labels)
        fig.colorbar(im, ax=ax, fraction=0.05, pad=0.02)
    for ax in axes[0]:
        ax.set_xlabel("")
    for ax in axes[:, 1]:
        ax.set_ylabel("")
    if title:
        fig.suptitle(title)
    return fig


def plot_cell_vs_hidden(C, H, *, c_max=None, step_labels=None, title=None, figsize=None):
    """Cell state ``C`` and hidden state ``H`` of one example, side by side.

    ``C`` and ``H`` have shape ``(num_steps, num_hiddens)``. ``H = O * tanh(C)`` lies in
    -1..1 (fixed colour range). ``C`` is not bounded: its colour range is ``±c_max``
    (default ``max(1, max|C|)``); larger values get the end colours, and the title says so.
    Returns the figure.
    """
    C, H = _as_2d("C", C), _as_2d("H", H)
    if C.shape != H.shape:
        raise ValueError(f"C and H must have the same shape, got {C.shape} and {H.shape}")
    largest = float(np.abs(C).max())
    if c_max is None:
        c_max = max(1.0, largest)
    elif not c_max > 0:
        raise ValueError(f"c_max must be positive, got {c_max!r}")
    clipped = largest > c_max
    c_title = f"cell state $C_t$ (range ±{c_max:.2g}" + (f", clipped; max |C| = {largest:.2g})" if clipped else ")")
    if figsize is None:
        figsize = (12, 1.4 + 0.11 * C.shape[1] + 0.6)
    fig, axes = plt.subplots(1, 2, figsize=figsize, sharey=True, layout="constrained")
    im = _heatmap(axes[0], C, (-c_max, c_max), "RdBu_r", c_title, step_labels)
    fig.colorbar(im, ax=axes[0], fraction=0.08, pad=0.02)
    im = _heatmap(axes[1], H, (-1.0, 1.0), "RdBu_r", "hidden state $H_t$ (range ±1)", step_labels)
    axes[1].set_ylabel("")
    fig.colorbar(im, ax=axes[1], fraction=0.08, pad=0.02)
    if title:
        fig.suptitle(title)
    return fig
