"""Day 3 figures draw what they say."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

from seqlib.lm_plots import plot_minibatch_layout, plot_zipf  # noqa: E402


def test_zipf_plot_has_one_sorted_line_per_ngram_order():
    ax = plot_zipf({"words": [1, 5, 3], "bigrams": [2, 1]})
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["words", "bigrams"]
    assert list(lines[0].get_ydata()) == [5, 3, 1] and ax.get_xscale() == ax.get_yscale() == "log"
    plt.close("all")


def test_minibatch_layout_figure_has_a_strip_per_scheme():
    fig = plot_minibatch_layout(num_tokens=30, batch_size=2, num_steps=4, seed=1)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert len(fig.axes) == 2 and titles[0].startswith("random sampling") and titles[1].startswith("sequential")
    assert len(fig.axes[0].patches) == 30
    plt.close(fig)
