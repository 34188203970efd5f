"""Curves (static, and live while training), Zipf's law, and minibatch layouts of a corpus.

One-panel functions draw into ``ax`` when given (else a new figure) and return the axes; multi-panel
figures return the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from seqlib.page import show, style
from seqlib.validation import float_array, positive_int, same_length

__all__ = ["plot_curves", "LivePlot", "plot_zipf", "plot_minibatch_layout"]

def plot_curves(curves: Mapping[str, Sequence[float]], *, x=None, xlabel: str = "step",
                ylabel: str = "", title: str | None = None, logy: bool = False,
                marker: str | None = None, fmts: Sequence[str] | None = None, ax=None,
                figsize: tuple[float, float] = (5, 3)):
    """Plot named curves (``{"train loss": [...], ...}``) against ``x`` (default 1, 2, ...); ``fmts``:
    matplotlib formats per curve (``("o-", "s--")``). Returns the axes."""
    if not curves:
        raise ValueError("plot_curves needs at least one curve, e.g. {'loss': losses}")
    ax = style.new_axes(ax, *figsize)
    for k, (name, values) in enumerate(curves.items()):
        values = float_array(values, f"curve {name!r}", ndim=1, what="one-dimensional")
        xs = np.arange(1, len(values) + 1) if x is None else np.asarray(x)
        same_length(values, xs, f"curve {name!r} and x")
        (line,) = ax.plot(xs, values, fmts[k % len(fmts)] if fmts else "-", label=name)
        if marker:
            line.set_marker(marker)
    if x is None:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if logy:
        ax.set_yscale("log")
    ax.set(xlabel=xlabel, ylabel=ylabel)
    if title:
        ax.set_title(title)
    if len(curves) > 1:
        ax.legend()
    ax.grid(alpha=0.3)
    return ax


class LivePlot:
    """Curves that redraw in place while training runs (D2L's ``Animator``, as :mod:`seqlib.d2l` exports it).

    ``add(x, y)`` appends one point per line (``y`` a number or a list, ``None`` skips a line) and redraws
    (in IPython; elsewhere nothing is shown until ``plt.show()``).
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
                 yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1, ncols=1, figsize=(3.5, 2.5), *,
                 title=None):
        self.legend = [] if legend is None else list(legend)
        self.fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
        self.axes = [axes] if nrows * ncols == 1 else list(axes.flat)
        xlim = None if xlim and xlim[0] == xlim[1] else xlim  # D2L's xlim=[10, num_epochs] with 10 epochs
        self.config = dict(xlabel=xlabel, ylabel=ylabel, xlim=xlim, ylim=ylim, xscale=xscale, yscale=yscale,
                           title=title)  # set again after each redraw (ax.cla() clears them)
        self.X, self.Y, self.fmts, self._handle = None, None, fmts, None
        plt.close(self.fig)  # shown through the display handle only, not again at the cell's end

    def add(self, x, y):
        y = list(y) if hasattr(y, "__len__") else [y]
        x = list(x) if hasattr(x, "__len__") else [x] * len(y)
        if self.X is None:
            self.X, self.Y = [[] for _ in y], [[] for _ in y]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a), self.Y[i].append(b)
        ax = self.axes[0]
        ax.cla()
        for x_i, y_i, fmt in zip(self.X, self.Y, self.fmts):
            ax.plot(x_i, y_i, fmt)
        ax.set(**{key: value for key, value in self.config.items() if value is not None})
        if self.legend:
            ax.legend(self.legend)
        ax.grid(True)
        if self.fig.get_layout_engine() is None:  # the course style lays figures out already (constrained)
            self.fig.tight_layout()
        self.show()

    def show(self):
        if not show._in_ipython():
            return
        from IPython.display import display

        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)

def plot_zipf(freqs: dict, ax=None):
    """Frequency against rank on log-log axes, one line per entry of ``freqs`` (label -> counts, any order).

    A straight line of slope :math:`-\\alpha` is Zipf's law :math:`n_i \\propto 1 / i^\\alpha`.
    """
    ax = style.new_axes(ax, 5, 3.5)
    for (label, counts), fmt in zip(freqs.items(), ("-", "--", "-.", ":")):
        counts = np.sort(np.asarray(list(counts)))[::-1]
        ax.loglog(np.arange(1, len(counts) + 1), counts, fmt, label=label)
    ax.set(xlabel="token rank $i$ (most frequent first)", ylabel="frequency $n_i$")
    ax.legend()
    ax.grid(True, which="major", alpha=0.4)
    return ax


def plot_minibatch_layout(corpus_length: int = 35, batch_size: int = 2, num_steps: int = 5, seed: int = 0, *,
                          per_line: int = 18):
    """Where the toy corpus ``0 .. corpus_length - 1`` goes under each scheme of :mod:`seqlib.partitioning`.

    One box per position (wrapped every ``per_line``), coloured by minibatch, labelled with its row ``rK``.
    Returns the figure.
    """
    from seqlib.partitioning import minibatch_layout

    per_line = positive_int(per_line, "per_line", hint="(positions per line of the strip)")
    num_lines = -(-positive_int(corpus_length, "corpus_length") // per_line)
    per_line = -(-corpus_length // num_lines)  # lines of (nearly) equal length
    fig, axes = plt.subplots(2, 1, figsize=style.figsize(2, 1, row_height=0.5 * num_lines + 0.55),
                             layout="constrained")
    cmap = plt.get_cmap("tab10")
    num_batches = 0
    for ax, use_random_iter, title in zip(axes, (True, False), ("random sampling", "sequential partitioning")):
        batch, row = minibatch_layout(corpus_length, batch_size, num_steps, use_random_iter, seed)
        for pos in range(corpus_length):
            used = batch[pos] >= 0
            x, y = pos % per_line, num_lines - 1 - pos // per_line
            ax.add_patch(plt.Rectangle((x + 0.04, y + 0.06), 0.92, 0.88, lw=0,
                                       color=cmap(batch[pos] % 10) if used else (0.88, 0.88, 0.88)))
            color = "white" if used else "0.35"
            ax.text(x + 0.5, y + (0.64 if used else 0.5), str(pos), ha="center", va="center",
                    fontsize=9.5, color=color, fontweight="bold" if used else "normal")
            if used:
                ax.text(x + 0.5, y + 0.28, f"r{row[pos]}", ha="center", va="center", fontsize=8, color=color)
        ax.set(xlim=(0, per_line), ylim=(0, num_lines))
        ax.set_axis_off()
        num_batches = max(num_batches, int(batch.max()) + 1)
        ax.set_title(f"{title}: {int(batch.max()) + 1} minibatches of {batch_size} rows x {num_steps} tokens",
                     loc="left", fontsize=10)
    handles = [Patch(color=cmap(k % 10), label=f"minibatch {k}") for k in range(num_batches)]
    handles.append(Patch(color=(0.88, 0.88, 0.88), label="not an input"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False,
               title="box: position in the corpus, and rK = row K of its minibatch", title_fontsize=9)
    return fig
