"""Every figure of the course but the heatmaps: curves (static, and live while training), an
unrolled RNN, Zipf's law and where the corpus goes under the two minibatch schemes.

Heatmaps over time (hidden states, LSTM gates, cell vs hidden state) live in
:mod:`seqlib.heatmaps`, around the course's one heatmap helper. Both modules draw whatever
varies over time with time on the horizontal axis: curves against the step or epoch, the
live plot against the epoch, heatmaps with one column per time step.

One-panel functions draw into ``ax`` when given one (to compose figures with
``plt.subplots``), otherwise into a new figure, and return the axes; multi-panel figures
return the figure.

**The course's figure style.** Every lab calls :func:`use_course_style` once: figures are
PNGs at 100 dots per inch, at most :data:`COLUMN_INCHES` wide (the book's text column at a
1280-pixel window), with 10-point text and 9-point tick labels, so that a figure is shown at
(nearly) its natural size and its labels stay legible. :func:`figsize` gives the size of a
figure of ``nrows`` x ``ncols`` panels that fits the column: at most two panels side by side
(three for small ones), more panels go in more rows. Legends sit inside the axes or below
them, never to the right of the figure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import FancyBboxPatch
from matplotlib.ticker import MaxNLocator

__all__ = ["COLUMN_INCHES", "use_course_style", "figsize", "plot_curves", "LivePlot", "draw_unrolled_rnn", "plot_zipf", "plot_minibatch_layout"]


#: The widest a figure may be, in inches: the book's text column (about 700 px at a
#: 1280-px window) at :data:`DPI`. The browser test checks every figure of the book is shown
#: at 60 px or more per inch of its width.
COLUMN_INCHES = 7.0
#: Dots per inch of the course's figures, on screen and in the book.
DPI = 100

_STYLE = {
    "figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": (COLUMN_INCHES, 3.2),
    "figure.constrained_layout.use": True,
    "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10, "figure.titlesize": 11,
    "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9, "legend.title_fontsize": 9,
    "legend.framealpha": 0.85, "axes.spines.top": False, "axes.spines.right": False,
}


def use_course_style() -> None:
    """Set matplotlib to the course's figure style (call once, in a lab's imports cell).

    Figures at 100 dpi, :data:`COLUMN_INCHES` wide by default, 10-pt text and 9-pt tick
    labels and legends, constrained layout (labels never cut off), no top/right spines.
    """
    plt.rcParams.update(_STYLE)


def figsize(nrows: int = 1, ncols: int = 1, *, row_height: float = 2.6,
            width: float = COLUMN_INCHES) -> tuple[float, float]:
    """``(width, height)`` in inches of a figure of ``nrows`` x ``ncols`` panels that fits the column.

    ====================  ==========================================================
    argument              meaning
    ====================  ==========================================================
    ``nrows``, ``ncols``  panels down and across; ``ncols`` at most 3 (put more panels
                          in more rows or in another figure)
    ``row_height``        height of one row of panels, inches
    ``width``             at most :data:`COLUMN_INCHES` (narrower for a small figure)
    ====================  ==========================================================

    Example: ``fig, axes = plt.subplots(2, 2, figsize=figsize(2, 2))``.
    """
    from .validation import finite_number, positive_int

    nrows, ncols = positive_int(nrows, "nrows"), positive_int(ncols, "ncols")
    if ncols > 3:
        raise ValueError(f"ncols={ncols}: at most 3 panels fit side by side in the book's "
                         f"{COLUMN_INCHES}-inch column; use more rows (nrows) or split the figure")
    width = finite_number(width, "width")
    if not 0 < width <= COLUMN_INCHES:
        raise ValueError(f"width={width}: a figure must be between 0 and COLUMN_INCHES={COLUMN_INCHES} "
                         "inches wide to stay legible in the book")
    row_height = finite_number(row_height, "row_height")
    if row_height <= 0:
        raise ValueError(f"row_height={row_height}: must be positive (inches)")
    return (float(width), float(nrows * row_height))


def _axes(ax, figsize):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


# ----------------------------------------------------------------------------------------
# Curves: static, and live while training
# ----------------------------------------------------------------------------------------

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


class LivePlot:
    """Curves that redraw in place while training runs, the epoch (or step) on the x axis
    (D2L's ``Animator``, which :mod:`seqlib.d2l` exports under that name).

    ``LivePlot(xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
    yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1, ncols=1, figsize=(3.5, 2.5))``;
    ``add(x, y)`` appends one point per line (``y`` a number or a list, ``None`` skips a line)
    and redraws. In Jupyter the figure updates in place; an executed notebook (and so the
    book) keeps the final figure; outside IPython nothing is shown until ``plt.show()``.
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
                 yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1, ncols=1, figsize=(3.5, 2.5)):
        self.legend = [] if legend is None else list(legend)
        self.fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
        self.axes = [axes] if nrows * ncols == 1 else list(axes.flat)
        self.config = dict(xlabel=xlabel, ylabel=ylabel, xlim=xlim, ylim=ylim, xscale=xscale, yscale=yscale)
        self.X, self.Y, self.fmts = None, None, fmts
        self._handle = None
        plt.close(self.fig)  # shown through the display handle only, not again at the cell's end

    def _configure(self, ax):
        c = self.config
        ax.set_xlabel(c["xlabel"]), ax.set_ylabel(c["ylabel"])
        ax.set_xscale(c["xscale"]), ax.set_yscale(c["yscale"])
        if c["xlim"] and c["xlim"][0] != c["xlim"][1]:  # D2L's xlim=[10, num_epochs] with 10 epochs
            ax.set_xlim(c["xlim"])
        if c["ylim"]:
            ax.set_ylim(c["ylim"])
        if self.legend:
            ax.legend(self.legend)
        ax.grid(True)

    def add(self, x, y):
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if self.X is None:
            self.X = [[] for _ in range(n)]
        if self.Y is None:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        ax = self.axes[0]
        ax.cla()
        for x_i, y_i, fmt in zip(self.X, self.Y, self.fmts):
            ax.plot(x_i, y_i, fmt)
        self._configure(ax)
        if self.fig.get_layout_engine() is None:  # the course style lays figures out already (constrained)
            self.fig.tight_layout()
        self.show()

    def show(self):
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)


# ----------------------------------------------------------------------------------------
# Diagrams and corpus figures
# ----------------------------------------------------------------------------------------

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


def plot_zipf(freqs: dict, ax=None):
    """Frequency against rank on log-log axes, one line per entry of ``freqs`` (label -> counts, any order).

    A straight line of slope :math:`-\\alpha` is Zipf's law :math:`n_i \\propto 1 / i^\\alpha`.
    """
    ax = _axes(ax, (5, 3.5))
    for (label, counts), style in zip(freqs.items(), ("-", "--", "-.", ":")):
        counts = np.sort(np.asarray(list(counts)))[::-1]
        ax.loglog(np.arange(1, len(counts) + 1), counts, style, label=label)
    ax.set_xlabel("token rank $i$ (most frequent first)")
    ax.set_ylabel("frequency $n_i$")
    ax.legend()
    ax.grid(True, which="major", alpha=0.4)
    return ax


def plot_minibatch_layout(num_tokens: int = 35, batch_size: int = 2, num_steps: int = 5, seed: int = 0, *,
                          per_line: int = 18):
    """Where the toy corpus ``0 .. num_tokens - 1`` goes under each sampling scheme: one panel per scheme.

    Each position is a box labelled with the position (the token) and, under it, the row ``rK``
    of the minibatch it is an input of; its colour is the minibatch (legend below the figure;
    grey: not an input). The corpus wraps every ``per_line`` positions, so that the boxes and
    their labels stay legible at the book's column width. Drawn from the real iterators of
    :mod:`seqlib.partitioning` with ``random.Random(seed)``. Returns the figure.
    """
    from matplotlib.patches import Patch

    from seqlib.partitioning import minibatch_layout
    from seqlib.validation import positive_int

    per_line = positive_int(per_line, "per_line", hint="(positions per line of the strip)")
    num_lines = -(-positive_int(num_tokens, "num_tokens") // per_line)
    per_line = -(-num_tokens // num_lines)  # lines of (nearly) equal length
    fig, axes = plt.subplots(2, 1, figsize=figsize(2, 1, row_height=0.5 * num_lines + 0.55),
                             layout="constrained")
    cmap = plt.get_cmap("tab10")
    num_batches = 0
    for ax, use_random_iter, title in zip(axes, (True, False), ("random sampling", "sequential partitioning")):
        batch, row = minibatch_layout(num_tokens, batch_size, num_steps, use_random_iter, seed)
        for pos in range(num_tokens):
            used = batch[pos] >= 0
            x, y = pos % per_line, num_lines - 1 - pos // per_line
            ax.add_patch(plt.Rectangle((x + 0.04, y + 0.06), 0.92, 0.88, lw=0,
                                       color=cmap(batch[pos] % 10) if used else (0.88, 0.88, 0.88)))
            color = "white" if used else "0.35"
            ax.text(x + 0.5, y + (0.64 if used else 0.5), str(pos), ha="center", va="center",
                    fontsize=9.5, color=color, fontweight="bold" if used else "normal")
            if used:
                ax.text(x + 0.5, y + 0.28, f"r{row[pos]}", ha="center", va="center", fontsize=8, color=color)
        ax.set_xlim(0, per_line)
        ax.set_ylim(0, num_lines)
        ax.set_axis_off()
        num_batches = max(num_batches, int(batch.max()) + 1)
        ax.set_title(f"{title}: {int(batch.max()) + 1} minibatches of {batch_size} rows x {num_steps} tokens",
                     loc="left", fontsize=10)
    handles = [Patch(color=cmap(k % 10), label=f"minibatch {k}") for k in range(num_batches)]
    handles.append(Patch(color=(0.88, 0.88, 0.88), label="not an input"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), frameon=False,
               title="box: position in the corpus, and rK = row K of its minibatch", title_fontsize=9)
    return fig
