"""seqlib.plots and the course's figure style: curves, the live plot and the corpus figures carry the
expected artists and refuse bad input clearly."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from seqlib.plots import LivePlot, plot_curves, plot_minibatch_layout, plot_zipf  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_curves_draws_one_line_per_curve_with_a_legend():
    ax = plot_curves({"train": [3, 2, 1], "valid": [3.5, 2.5, 2]}, ylabel="loss", logy=True, title="t")
    assert [line.get_label() for line in ax.get_lines()] == ["train", "valid"]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    assert ax.get_yscale() == "log" and ax.get_legend() is not None and ax.get_title() == "t"


def test_plot_curves_draws_into_a_given_axes_against_given_x():
    _, ax = plt.subplots()
    assert plot_curves({"y": [1.0, 4.0]}, x=[10, 20], ax=ax) is ax
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [10, 20])
    assert ax.get_legend() is None  # a single curve needs no legend


@pytest.mark.parametrize("curves, x, message", [({}, None, "at least one"),
                                                ({"a": [[1, 2]]}, None, "one-dimensional"),
                                                ({"a": [1, 2]}, [1], "got 2 and 1")])
def test_plot_curves_rejects_bad_input(curves, x, message):
    with pytest.raises(ValueError, match=message):
        plot_curves(curves, x=x)


def test_live_plot_collects_points_and_skips_missing_values():
    live = LivePlot(legend=["a", "b"])
    live.add(1, [3.0, None])
    live.add(2, [2.0, 1.0])
    assert live.X == [[1, 2], [2]] and live.Y == [[3.0, 2.0], [1.0]]


def test_live_plot_draws_time_on_the_x_axis():
    live = LivePlot(xlabel="epoch", ylabel="perplexity", legend=["train", "valid"], xlim=[0.5, 3.5])
    for epoch, (train, valid) in enumerate([(9.0, 10.0), (6.0, 7.5), (4.0, 6.0)], start=1):
        live.add(epoch, [train, valid])
    ax = live.axes[0]
    np.testing.assert_array_equal(ax.get_lines()[0].get_xdata(), [1, 2, 3])
    np.testing.assert_array_equal(ax.get_lines()[1].get_ydata(), [10.0, 7.5, 6.0])
    assert ax.get_xlabel() == "epoch" and ax.get_xlim() == (0.5, 3.5)


def test_live_plot_keeps_its_title_through_redraws():
    """Day 6 draws six training curves: each says which model it is, after every redraw."""
    live = LivePlot(xlabel="epoch", title="character LSTM")
    live.add(1, 3.0)
    live.add(2, 2.0)
    assert live.axes[0].get_title() == "character LSTM"


def test_zipf_plot_has_one_sorted_line_per_ngram_order():
    ax = plot_zipf({"words": [1, 5, 3], "bigrams": [2, 1]})
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == ["words", "bigrams"]
    assert list(lines[0].get_ydata()) == [5, 3, 1] and ax.get_xscale() == ax.get_yscale() == "log"


def test_minibatch_layout_figure_has_a_strip_per_scheme():
    fig = plot_minibatch_layout(corpus_length=30, batch_size=2, num_steps=4, seed=1)
    titles = [ax.get_title(loc="left") for ax in fig.axes]
    assert len(fig.axes) == 2 and titles[0].startswith("random sampling") and titles[1].startswith("sequential")
    assert len(fig.axes[0].patches) == 30
    # legible in the book: the column's width, labels of 8 pt or more, legend below the panels
    from seqlib.page import COLUMN_INCHES

    assert fig.get_size_inches()[0] <= COLUMN_INCHES
    assert min(t.get_fontsize() for ax in fig.axes for t in ax.texts) >= 8
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()][:1] == ["minibatch 0"]


def test_course_style_and_figsize_fit_the_book_column():
    import matplotlib as mpl

    from seqlib.page import COLUMN_INCHES, figsize, use_course_style

    with mpl.rc_context():
        use_course_style()
        assert plt.rcParams["figure.figsize"][0] <= COLUMN_INCHES
        assert plt.rcParams["savefig.dpi"] == plt.rcParams["figure.dpi"] == 100
        assert plt.rcParams["xtick.labelsize"] >= 9 and plt.rcParams["font.size"] >= 10
    assert figsize() == (COLUMN_INCHES, 2.6)
    assert figsize(3, 2, row_height=2.0) == (COLUMN_INCHES, 6.0)
    assert figsize(width=4)[0] == 4.0
    with pytest.raises(ValueError, match="at most 3 panels"):
        figsize(1, 4)
    with pytest.raises(ValueError, match="COLUMN_INCHES"):
        figsize(width=12)
    with pytest.raises(ValueError, match="nrows"):
        figsize(0)
