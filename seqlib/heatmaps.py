r"""Heatmaps over time: the course's one heatmap helper, hidden states, LSTM gates, cell vs hidden state.

:func:`heatmap` takes ``(num_steps, num_units)`` and puts time :math:`t = 1, \dots, T` left to right, unit
:math:`j` bottom to top. Fixed colour scales: 0..1 for sigmoid gates, -1..1 for tanh quantities.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

from seqlib.page.style import COLUMN_INCHES, new_axes
from seqlib.validation import float_array, number_in_range, one_of, same_length

__all__ = ["heatmap", "plot_hidden_states", "plot_gates", "plot_cell_vs_hidden"]


def _steps_by_units(name, value):
    return float_array(value, name, ndim=2, what="of shape (num_steps, num_hiddens) for one example",
                       hint=f"for a batch, pick one example first, e.g. {name}[:, 0]")


LABEL_INCHES = 0.2  # room for one step label on the time axis (a character at 9 points, and a gap)


def _labels(labels):
    return ["␣" if label == " " else str(label) for label in labels]


def _time_axis(ax, num_steps, step_labels, xlabel=None):
    """Time steps 1..num_steps on the x axis, labelled with ``step_labels`` thinned to what fits."""
    if step_labels is None:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel(xlabel or "time step $t$")
        return
    same_length(step_labels := list(step_labels), range(num_steps), "step_labels and the time steps")
    fit = max(5, int(ax.get_window_extent().width / ax.figure.dpi / LABEL_INCHES))  # labels along the axes
    every = -(-num_steps // fit)  # ceil: at most as many labels as fit
    ticks = list(range(1, num_steps + 1, every))
    ax.set_xticks(ticks, _labels(step_labels[t - 1] for t in ticks))
    if max(len(str(label)) for label in step_labels) > 1:
        ax.tick_params(axis="x", labelrotation=90)
    ax.set_xlabel((xlabel or "time step $t$, labelled with its input") + (f" (every {every})" if every > 1 else ""))


def heatmap(M, *, vmin: float = -1.0, vmax: float = 1.0, cmap: str = "RdBu_r", title: str | None = None,
            step_labels: Sequence[str] | None = None, ylabel: str = "hidden unit $j$",
            colorbar: str | bool = True, xlabel: str | None = None, ax=None):
    """The course's one heatmap: ``M`` (num_steps, num_units), column ``t`` = ``M[t - 1]``, unit 1 at the bottom.

    Colours span [``vmin``, ``vmax``] whatever the data; ``step_labels`` label the time axis;
    ``colorbar``: a bool or its label. Returns the image.
    """
    M, vmax = _steps_by_units("M", M), number_in_range(vmax, "vmax", vmin, low_open=True, hint="need vmin < vmax")
    num_steps, num_units = M.shape
    ax = new_axes(ax, max(5, 0.3 * num_steps + 2), min(4, max(2, 0.2 * num_units + 1)))
    image = ax.imshow(M.T, aspect="auto", origin="lower", cmap=cmap, vmin=vmin, vmax=vmax,
                      extent=(0.5, num_steps + 0.5, 0.5, num_units + 0.5), interpolation="nearest")
    if colorbar is not False:
        ax.figure.colorbar(image, ax=ax, fraction=0.05, pad=0.02,
                           label=colorbar if isinstance(colorbar, str) else None)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel)
    _time_axis(ax, num_steps, step_labels, xlabel)
    if title:
        ax.set_title(title)
    return image


def plot_hidden_states(H, *, kind: str = "lines", step_labels: Sequence[str] | None = None,
                       title: str | None = None, vmax: float = 1.0, ax=None):
    """Hidden states ``H`` (num_steps, num_hiddens): one line per unit (``kind="lines"``) or a
    :func:`heatmap` in [-vmax, vmax] (``kind="heatmap"``). Returns the axes."""
    H, kind = _steps_by_units("H", H), one_of(kind, "kind", ("lines", "heatmap"))
    num_steps, num_hiddens = H.shape
    if kind == "heatmap":
        return heatmap(H, vmin=-vmax, vmax=vmax, step_labels=step_labels, title=title, colorbar="$h_{t,j}$",
                       ax=ax).axes
    ax = new_axes(ax, 5, 3)
    ax.plot(np.arange(1, num_steps + 1), H, marker="." if num_steps <= 30 else None,
            label=[f"$h_{{t,{j + 1}}}$" for j in range(num_hiddens)])
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set(ylim=(-1.05 * vmax, 1.05 * vmax), ylabel="hidden state")
    if num_hiddens <= 8:
        ax.legend(ncol=2 if num_hiddens > 4 else 1, loc="best")  # the course style's legend size
    ax.grid(alpha=0.3)
    _time_axis(ax, num_steps, step_labels)
    if title:
        ax.set_title(title)
    return ax


#: The panels of :func:`plot_gates`: key in the gates dict -> (title, lowest, highest colour, colour map).
_GATE_PANELS = {
    "I": ("input gate $I_t$", 0.0, 1.0, "viridis"),
    "F": ("forget gate $F_t$", 0.0, 1.0, "viridis"),
    "O": ("output gate $O_t$", 0.0, 1.0, "viridis"),
    "C_tilde": (r"candidate $\tilde{C}_t$", -1.0, 1.0, "RdBu_r"),
}


def _stacked(panels, *, ncols=1, step_labels=None, title=None, figsize=None):
    """Heatmaps ``{title: (M, vmin, vmax, cmap)}`` in rows of ``ncols`` panels sharing their axes."""
    nrows, num_hiddens = len(panels) // ncols, next(iter(panels.values()))[0].shape[1]
    row_inches = 0.75 + 0.06 * min(num_hiddens, 40)  # a title, and room for every unit to show
    fig, axes = plt.subplots(nrows, ncols, sharex=True, sharey=True, squeeze=False, layout="constrained",
                             figsize=figsize or (COLUMN_INCHES, nrows * row_inches + 0.5 + (0.3 if title else 0)))
    for i, (ax, (name, (M, vmin, vmax, cmap))) in enumerate(zip(axes.flat, panels.items())):
        heatmap(M, vmin=vmin, vmax=vmax, cmap=cmap, title=name, step_labels=step_labels, ax=ax)
        if i // ncols < nrows - 1:
            ax.set_xlabel("")
        if i % ncols:
            ax.set_ylabel("")
    if title:
        fig.suptitle(title)
    return fig


def plot_gates(gates, *, step_labels=None, title=None, ncols: int = 1, figsize=None):
    """Heatmaps of the LSTM gates ``gates["I"|"F"|"O"|"C_tilde"]`` (num_steps, num_hiddens) of one example,
    in 0..1 (the candidate -1..1); ``ncols`` 1 (four rows) or 2 (a 2 x 2 grid). Returns the figure."""
    if missing := [k for k in _GATE_PANELS if k not in gates]:
        raise ValueError(f"gates is missing {', '.join(missing)}; expected keys {', '.join(_GATE_PANELS)}")
    one_of(ncols, "ncols", (1, 2), hint="1 (four rows) or 2 (a 2 x 2 grid)")
    arrays = {k: _steps_by_units(f"gates['{k}']", gates[k]) for k in _GATE_PANELS}
    for key, a in arrays.items():
        if a.shape != arrays["I"].shape:
            raise ValueError(f"gates[{key!r}] has shape {a.shape}, gates['I'] has {arrays['I'].shape}")
    return _stacked({name: (arrays[k], *rest) for k, (name, *rest) in _GATE_PANELS.items()}, ncols=ncols,
                    step_labels=step_labels, title=title, figsize=figsize)


def plot_cell_vs_hidden(C, H, *, c_max=None, step_labels=None, title=None, figsize=None):
    """Cell state ``C`` (top, range ``±c_max``, default ``max(1, max|C|)``) and hidden state ``H`` (bottom,
    ±1), both (num_steps, num_hiddens), of one example. Returns the figure."""
    C, H = _steps_by_units("C", C), _steps_by_units("H", H)
    if C.shape != H.shape:
        raise ValueError(f"C and H must have the same shape, got {C.shape} and {H.shape}")
    largest = float(np.abs(C).max())
    c_max = max(1.0, largest) if c_max is None else number_in_range(c_max, "c_max", 0, low_open=True)
    c_title = f"cell state $C_t$ (range ±{c_max:.2g}" + (f", clipped; max |C| = {largest:.2g})"
                                                         if largest > c_max else ")")
    return _stacked({c_title: (C, -c_max, c_max, "RdBu_r"), "hidden state $H_t$ (range ±1)": (H, -1, 1, "RdBu_r")},
                    step_labels=step_labels, title=title, figsize=figsize)
