"""seqlib.plots_gates: fixed colour scales, labelled axes, clear errors."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from seqlib.plots_gates import plot_cell_vs_hidden, plot_gates  # noqa: E402

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


def test_step_labels_are_thinned_for_long_sequences():
    gates = {k: RNG.uniform(0, 1, (90, 3)) for k in ("I", "F", "O", "C_tilde")}
    fig = plot_gates(gates, step_labels=list("AB" * 45))
    ax = fig.axes[0]
    assert len(ax.get_xticks()) <= 30
    assert "every 3" in fig.axes[2].get_xlabel()
    plt.close(fig)


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
    with pytest.raises(ValueError, match=r"2-D array \(num_steps, num_hiddens\).*Select one example"):
        plot_gates({k: np.zeros((T, 2, H)) for k in ("I", "F", "O", "C_tilde")})
    with pytest.raises(ValueError, match="step_labels has 3 entries for 12 time steps"):
        plot_gates(_gates(), step_labels="ABC")
    with pytest.raises(ValueError, match="same shape"):
        plot_cell_vs_hidden(np.zeros((T, H)), np.zeros((T, H + 1)))
    with pytest.raises(ValueError, match="c_max must be positive"):
        plot_cell_vs_hidden(np.zeros((T, H)), np.zeros((T, H)), c_max=0)
