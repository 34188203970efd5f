"""seqlib.heatmaps: one heatmap helper with one orientation (time on the x axis, unit 1 at the bottom),
fixed colour scales, labelled axes, clear errors."""

from __future__ import annotations

import re

import matplotlib
import matplotlib.font_manager

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402

from seqlib.heatmaps import LABEL_INCHES, heatmap, plot_cell_vs_hidden, plot_gates, plot_hidden_states  # noqa: E402
from seqlib.page import COLUMN_INCHES  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


# --- the one heatmap: time on the x axis, unit 1 at the bottom, in every figure ---------------

def _orientation(image):
    return image.get_array().shape, image.get_extent(), image.origin


def test_heatmap_puts_time_on_x_and_unit_one_at_the_bottom():
    M = np.zeros((6, 3))
    M[1, 2] = 1.0  # time step t = 2, unit j = 3
    image = heatmap(M, title="one hot")
    ax = image.axes
    assert image.get_array().shape == (3, 6)  # rows = units, columns = time steps
    assert image.get_extent() == [0.5, 6.5, 0.5, 3.5] and image.origin == "lower"
    row, col = np.argwhere(np.asarray(image.get_array()) == 1.0)[0]
    assert (col + 1, row + 1) == (2, 3)  # drawn at x = t = 2, y = j = 3 (origin lower: row 0 at the bottom)
    assert ax.get_xlabel() == "time step $t$" and ax.get_title() == "one hot"
    assert image.get_clim() == (-1.0, 1.0) and len(ax.figure.axes) == 2  # fixed range, a colour bar


def test_every_heatmap_of_the_course_has_the_same_orientation():
    T, n = 7, 4
    M = np.tanh(np.random.default_rng(1).normal(size=(T, n)))
    reference = _orientation(heatmap(M))
    states = [a for a in plot_hidden_states(M, kind="heatmap").get_children() if isinstance(a, AxesImage)]
    gates = plot_gates({k: (M + 1) / 2 for k in ("I", "F", "O", "C_tilde")}).axes[0].get_images()
    cell = plot_cell_vs_hidden(M, M).axes[0].get_images()
    assert [_orientation(im) for im in (states[0], gates[0], cell[0])] == [reference] * 3


@pytest.mark.parametrize("kwargs, message", [({"M": np.zeros(3)}, "num_steps, num_hiddens"),
                                             ({"M": np.zeros((2, 3)), "vmin": 1.0, "vmax": 0.0}, "vmin < vmax"),
                                             ({"M": np.zeros((2, 3)), "step_labels": "abc"}, "got 3 and 2")])
def test_heatmap_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        heatmap(**kwargs)


# --- hidden states ------------------------------------------------------------------------------

def test_plot_hidden_states_lines_one_per_unit_in_tanh_range():
    H = np.tanh(np.random.default_rng(0).normal(size=(6, 3)))
    ax = plot_hidden_states(H)
    unit_lines = [line for line in ax.get_lines() if line.get_label().startswith("$h_")]
    assert len(unit_lines) == 3
    np.testing.assert_allclose(unit_lines[1].get_ydata(), H[:, 1])
    np.testing.assert_array_equal(unit_lines[0].get_xdata(), np.arange(1, 7))
    assert ax.get_ylim() == pytest.approx((-1.05, 1.05))
    legend_points = matplotlib.font_manager.FontProperties(size=plt.rcParams["legend.fontsize"]).get_size_in_points()
    assert ax.get_legend().get_texts()[0].get_fontsize() == legend_points  # the course's legend size, not smaller


def test_plot_hidden_states_heatmap_shows_units_as_rows_and_labels_steps():
    H = torch.tanh(torch.randn(4, 5, requires_grad=True))  # a tensor that needs grad is fine
    ax = plot_hidden_states(H, kind="heatmap", step_labels="ab c")
    images = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 1
    assert images[0].get_array().shape == (5, 4)  # (num_hiddens, num_steps)
    assert images[0].origin == "lower"
    assert images[0].get_clim() == (-1.0, 1.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "␣", "c"]
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar


@pytest.mark.parametrize("kwargs, message", [({"H": np.zeros((2, 3, 4))}, "num_steps, num_hiddens"),
                                             ({"H": np.zeros((2, 3)), "kind": "bars"}, "kind"),
                                             ({"H": np.zeros((2, 3)), "step_labels": "abc"}, "got 3 and 2")])
def test_plot_hidden_states_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_hidden_states(**kwargs)


# --- LSTM gates, cell vs hidden state ------------------------------------------------------------

RNG = np.random.default_rng(0)
T, H = 12, 5


def _gates(scale=1.0):
    return {"I": RNG.uniform(0, 1, (T, H)), "F": RNG.uniform(0, 1, (T, H)), "O": RNG.uniform(0, 1, (T, H)),
            "C_tilde": RNG.uniform(-1, 1, (T, H)) * scale, "C": RNG.normal(size=(T, H))}


def _images(fig):
    return [im for ax in fig.axes for im in ax.get_images()]


def test_gate_heatmaps_have_fixed_colour_ranges():
    fig = plot_gates(_gates(scale=0.1), title="t")  # data far inside the range: the scale stays fixed
    images = _images(fig)
    assert len(images) == 4
    assert [im.get_clim() for im in images] == [(0.0, 1.0)] * 3 + [(-1.0, 1.0)]
    titles = [ax.get_title() for ax in fig.axes if ax.get_images()]
    assert titles[0].startswith("input gate") and titles[3].startswith("candidate")
    assert images[0].get_array().shape == (H, T)  # hidden units on the vertical axis, time horizontal
    plt.close(fig)


def test_step_labels_are_thinned_to_what_fits_at_the_course_font_size():
    gates = {k: RNG.uniform(0, 1, (90, 3)) for k in ("I", "F", "O", "C_tilde")}
    fig = plot_gates(gates, step_labels=list("AB" * 45))
    bottom = fig.axes[3]
    width_inches = bottom.get_window_extent().width / fig.dpi
    labels = [t.get_text() for t in bottom.get_xticklabels()]
    assert 5 <= len(labels) <= width_inches / LABEL_INCHES  # one label per 0.2 in at most
    every = int(re.search(r"every (\d+)", bottom.get_xlabel()).group(1))
    assert len(labels) == -(-90 // every) and labels[:2] == (["A", "A"] if every % 2 == 0 else ["A", "B"])
    assert all(t.get_fontsize() >= 9 for t in bottom.get_xticklabels())  # thinned, never shrunk
    plt.close(fig)


def test_figures_fit_the_book_column_and_stack_their_panels():
    gates = {k: RNG.uniform(0, 1, (80, 16)) for k in ("I", "F", "O", "C_tilde")}
    fig = plot_gates(gates, step_labels=list("AB" * 40), title="trained")
    heat = [ax for ax in fig.axes if ax.get_images()]
    assert fig.get_figwidth() <= COLUMN_INCHES and len(heat) == 4 and len(fig.axes) == 8  # 4 panels, 4 colour bars
    lefts = {round(ax.get_position().x0, 3) for ax in heat}
    assert len(lefts) == 1  # one panel per row: every time step gets the column's width
    assert [ax.get_xlabel() != "" for ax in heat] == [False, False, False, True]  # time axis labelled once
    grid = plot_gates(gates, ncols=2)
    assert len({round(ax.get_position().x0, 3) for ax in grid.axes if ax.get_images()}) == 2
    cell = plot_cell_vs_hidden(gates["I"], gates["O"])
    assert cell.get_figwidth() <= COLUMN_INCHES
    tops = [ax for ax in cell.axes if ax.get_images()]
    assert tops[0].get_position().y0 > tops[1].get_position().y0  # C above H
    assert plot_hidden_states(gates["I"], kind="heatmap").figure.get_figwidth() <= COLUMN_INCHES
    with pytest.raises(ValueError, match="ncols must be one of 1, 2"):
        plot_gates(gates, ncols=3)


def test_cell_vs_hidden_ranges_and_clipping():
    C = np.linspace(-5, 5, T * H).reshape(T, H)
    Hs = np.tanh(C)
    fig = plot_cell_vs_hidden(C, Hs)
    assert [im.get_clim() for im in _images(fig)] == [(-5.0, 5.0), (-1.0, 1.0)]
    plt.close(fig)
    fig = plot_cell_vs_hidden(C, Hs, c_max=2)
    assert _images(fig)[0].get_clim() == (-2.0, 2.0)
    assert "clipped" in fig.axes[0].get_title()
    plt.close(fig)
    fig = plot_cell_vs_hidden(C * 0.1, Hs)  # small C: the range is at least ±1
    assert _images(fig)[0].get_clim() == (-1.0, 1.0)
    plt.close(fig)


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match="missing C_tilde"):
        plot_gates({k: v for k, v in _gates().items() if k != "C_tilde"})
    with pytest.raises(ValueError, match=r"shape \(num_steps, num_hiddens\).*pick one example"):
        plot_gates({k: np.zeros((T, 2, H)) for k in ("I", "F", "O", "C_tilde")})
    with pytest.raises(ValueError, match="step_labels and the time steps must go one for one, got 3 and 12"):
        plot_gates(_gates(), step_labels="ABC")
    with pytest.raises(ValueError, match="same shape"):
        plot_cell_vs_hidden(np.zeros((T, H)), np.zeros((T, H + 1)))
    with pytest.raises(ValueError, match="c_max must be positive"):
        plot_cell_vs_hidden(np.zeros((T, H)), np.zeros((T, H)), c_max=0)
