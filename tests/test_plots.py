"""seqlib.plots: figures carry the expected artists and bad input is refused clearly."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.image import AxesImage  # noqa: E402
from matplotlib.patches import FancyBboxPatch  # noqa: E402

from seqlib.plots import draw_unrolled_rnn, plot_curves, plot_hidden_states  # noqa: E402


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
                                                ({"a": [1, 2]}, [1], "x has 1")])
def test_plot_curves_rejects_bad_input(curves, x, message):
    with pytest.raises(ValueError, match=message):
        plot_curves(curves, x=x)


def test_plot_hidden_states_lines_one_per_unit_in_tanh_range():
    H = np.tanh(np.random.default_rng(0).normal(size=(6, 3)))
    ax = plot_hidden_states(H)
    unit_lines = [line for line in ax.get_lines() if line.get_label().startswith("$h_")]
    assert len(unit_lines) == 3
    np.testing.assert_allclose(unit_lines[1].get_ydata(), H[:, 1])
    np.testing.assert_array_equal(unit_lines[0].get_xdata(), np.arange(1, 7))
    assert ax.get_ylim() == pytest.approx((-1.05, 1.05))


def test_plot_hidden_states_heatmap_shows_units_as_rows_and_labels_steps():
    H = torch.tanh(torch.randn(4, 5, requires_grad=True))  # a tensor that needs grad is fine
    ax = plot_hidden_states(H, kind="heatmap", step_labels="ab c")
    images = [a for a in ax.get_children() if isinstance(a, AxesImage)]
    assert len(images) == 1
    assert images[0].get_array().shape == (5, 4)  # (num_hiddens, num_steps)
    assert images[0].get_clim() == (-1.0, 1.0)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "␣", "c"]
    assert len(ax.figure.axes) == 2  # the heatmap and its colour bar


@pytest.mark.parametrize("kwargs, message", [({"H": np.zeros((2, 3, 4))}, "num_steps, num_hiddens"),
                                             ({"H": np.zeros((2, 3)), "kind": "bars"}, "kind"),
                                             ({"H": np.zeros((2, 3)), "step_labels": "abc"}, "3 step_labels")])
def test_plot_hidden_states_rejects_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        plot_hidden_states(**kwargs)


def test_draw_unrolled_rnn_has_three_boxes_per_step_and_labelled_shared_weights():
    ax = draw_unrolled_rnn(num_steps=3, title="unrolled")
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 3 * 3 + 1  # x_t, h_t, y_t per step, and h_0
    texts = [t.get_text() for t in ax.texts]
    for label in ["$x_{1}$", "$h_{3}$", "$y_{2}$", "$h_0$"]:
        assert label in texts
    assert texts.count("$W_{xh}$") == texts.count("$W_{hh}$") == texts.count("$W_{hq}$") == 3
    colors = {t.get_text(): t.get_color() for t in ax.texts if t.get_text().startswith("$W")}
    assert len(set(colors.values())) == 3  # one colour per weight matrix
    arrows = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
    assert len(arrows) == 3 * 3
    assert ax.get_title() == "unrolled" and not ax.axison


def test_draw_unrolled_rnn_takes_other_names_and_rejects_bad_sizes():
    ax = draw_unrolled_rnn(2, weights=("A", "B", "C"), names=("u", "s", "o"))
    texts = [t.get_text() for t in ax.texts]
    assert "$s_0$" in texts and "$u_{2}$" in texts and texts.count("$B$") == 2
    with pytest.raises(ValueError, match="at least 1"):
        draw_unrolled_rnn(0)
    with pytest.raises(ValueError, match="three entries"):
        draw_unrolled_rnn(2, weights=("A", "B"))
