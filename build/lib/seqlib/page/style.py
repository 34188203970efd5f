"""The course's one figure style: every figure fits the book's column and stays legible.

:func:`use_course_style`: PNGs at :data:`DPI`, at most :data:`COLUMN_INCHES` wide, 10-pt text, 9-pt ticks
and legends, constrained layout. :func:`figsize` sizes ``nrows`` x ``ncols`` panels (at most 3 side by
side); :func:`new_axes` makes one panel. Legends inside the axes or below, never to the right.
"""

from __future__ import annotations

import matplotlib.pyplot as plt

from seqlib.validation import number_in_range, one_of, positive_int

#: The widest a figure may be, in inches: the book's text column (about 700 px at a 1280-px window).
COLUMN_INCHES = 7.0
DPI = 100

_STYLE = {"figure.dpi": DPI, "savefig.dpi": DPI, "figure.figsize": (COLUMN_INCHES, 3.2),
          "figure.constrained_layout.use": True, "font.size": 10, "axes.titlesize": 10.5, "axes.labelsize": 10,
          "figure.titlesize": 11, "xtick.labelsize": 9, "ytick.labelsize": 9, "legend.fontsize": 9,
          "legend.title_fontsize": 9, "legend.framealpha": 0.85, "axes.spines.top": False, "axes.spines.right": False}


def use_course_style() -> None:
    """Set matplotlib to the course's figure style (call once, in a lab's imports cell)."""
    plt.rcParams.update(_STYLE)


def figsize(nrows: int = 1, ncols: int = 1, *, row_height: float = 2.6,
            width: float = COLUMN_INCHES) -> tuple[float, float]:
    """``(width, height)`` in inches of a figure of ``nrows`` x ``ncols`` panels (``ncols`` at most 3)
    that fits the column: ``width`` at most :data:`COLUMN_INCHES`, ``row_height`` inches per row.

    Example: ``fig, axes = plt.subplots(2, 2, figsize=figsize(2, 2))``.
    """
    nrows = positive_int(nrows, "nrows")
    ncols = one_of(positive_int(ncols, "ncols"), "ncols", (1, 2, 3), hint=f"at most 3 panels fit side by side in the "
                   f"book's {COLUMN_INCHES}-inch column; use more rows (nrows) or split the figure")
    width = number_in_range(width, "width", 0, COLUMN_INCHES, low_open=True,
                            hint=f"at most COLUMN_INCHES={COLUMN_INCHES} inches, to stay legible in the book")
    return (width, nrows * number_in_range(row_height, "row_height", 0, low_open=True))


def new_axes(ax=None, width: float = COLUMN_INCHES, height: float = 2.6):
    """``ax`` if given (to compose figures with ``plt.subplots``), else the axes of a new figure of
    ``width`` x ``height`` inches, no wider than the column."""
    return ax if ax is not None else plt.subplots(figsize=(min(width, COLUMN_INCHES), height))[1]
