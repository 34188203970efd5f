"""seqlib.diagrams: Day 1's and Day 2's explanatory figures fit the book's column, draw what they are given (shapes,
labels, panels) and refuse bad input with a clear error."""

from __future__ import annotations

import math

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.patches import FancyBboxPatch, Rectangle  # noqa: E402

from seqlib.diagrams import (draw_truncated_bptt, draw_unrolled_rnn, forget_half_life, plot_forget_bias,  # noqa: E402
                             plot_forget_decay, plot_lstm_step, plot_unit_paths)
from seqlib.page import COLUMN_INCHES  # noqa: E402

RNG = np.random.default_rng(0)
N = 6  # hidden units


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def _texts(ax):
    return [t.get_text() for t in ax.texts]


# --- the unrolled RNN ----------------------------------------------------------------------------

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
    with pytest.raises(ValueError, match="num_steps must be a positive integer"):
        draw_unrolled_rnn(0)
    with pytest.raises(ValueError, match="three entries"):
        draw_unrolled_rnn(2, weights=("A", "B"))



# --- truncated BPTT ------------------------------------------------------------------------------

@pytest.mark.parametrize("num_steps, chunk, cuts", [(12, 4, 2), (9, 3, 2), (5, 10, 0), (2, 1, 1)])
def test_truncated_bptt_has_one_box_per_state_and_a_detach_per_cut(num_steps, chunk, cuts):
    ax = draw_truncated_bptt(num_steps, chunk)
    boxes = [p for p in ax.patches if isinstance(p, Rectangle)]
    assert len(boxes) == num_steps
    texts = _texts(ax)
    assert [f"$H_{{{t}}}$" for t in range(num_steps)] == [t for t in texts if t.startswith("$H_")]
    assert texts.count("detach()") == cuts
    arrows = [c for c in ax.get_children() if type(c).__name__ == "Annotation"]
    assert len(arrows) == 2 * (num_steps - 1)  # forward and backward between every pair of neighbours
    cut_arrows = [a for a in arrows if a.arrow_patch.get_linestyle() == ":"]
    assert len(cut_arrows) == cuts  # gradients stop at each cut
    assert not ax.axison and ax.figure.get_figwidth() <= COLUMN_INCHES


def test_truncated_bptt_draws_into_a_given_axes_and_rejects_bad_sizes():
    _, ax = plt.subplots()
    assert draw_truncated_bptt(ax=ax) is ax
    for kwargs, message in [({"num_steps": 1}, "at least 2"), ({"chunk": 0}, "chunk"), ({"num_steps": 2.5}, "num_steps")]:
        with pytest.raises(ValueError, match=message):
            draw_truncated_bptt(**kwargs)


# --- the forget gate as a time constant ------------------------------------------------------------

def test_forget_half_life_is_where_the_memory_is_halved():
    for b_f in (-2.0, 0.0, 1.0, 4.0, 9.0):
        F = 1 / (1 + math.exp(-b_f))
        assert F ** forget_half_life(b_f) == pytest.approx(0.5)
    assert forget_half_life(0.0) == pytest.approx(1.0)
    assert forget_half_life(4.0) == pytest.approx(38.2, abs=0.1)
    assert forget_half_life(50.0) > 1e20 and forget_half_life(800.0) == math.inf
    with pytest.raises(ValueError, match="b_f"):
        forget_half_life(float("nan"))


def test_forget_decay_marks_and_names_the_half_life():
    ax = plot_forget_decay(1.0, num_steps=40, reference=(0, 4))
    assert "half-life 2.2 steps" in ax.get_title()
    assert any("half-life\n2.2 steps" == t for t in _texts(ax))  # written on the curve, beside its dot
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["$b_f = 0$: 1.0 steps", "$b_f = 4$: 38 steps", "$b_f = 1$"]
    thick = ax.get_lines()[2]
    np.testing.assert_allclose(thick.get_ydata(), (1 / (1 + math.exp(-1))) ** np.arange(41))
    far = plot_forget_decay(8.0, num_steps=40)  # half-life beyond the axis: in the title only
    assert "half-life" in far.get_title() and not any("half-life" in t for t in _texts(far))


def test_forget_bias_figure_has_three_panels_in_two_rows_within_the_column():
    F = RNG.uniform(0.5, 1, (20, N))
    offsets, acc = np.arange(-3.0, 2.0), [0.2, 0.5, 0.9, 1.0, 1.0]
    fig = plot_forget_bias(4.0, torch.as_tensor(F), offsets, acc, delta=-1.0, accuracy=0.9, chance=0.125,
                           step_labels=list("ABCDEFGHAB" * 2))
    assert fig.get_figwidth() <= COLUMN_INCHES
    axes = fig.get_axes()
    assert len(axes) == 4  # decay, accuracy, heatmap and its colour bar
    decay, accuracy, heat = axes[0], axes[1], axes[2]
    assert "half-life 38 steps" in decay.get_title()
    np.testing.assert_array_equal(accuracy.get_lines()[0].get_xdata(), offsets)
    assert "0.90" in accuracy.get_title() and accuracy.get_legend() is not None
    image = heat.get_images()[0]
    assert image.get_array().shape == (N, 20) and image.get_clim() == (0.0, 1.0)
    assert heat.get_window_extent().y0 < accuracy.get_window_extent().y0  # the heatmap is the bottom row


@pytest.mark.parametrize("kwargs, message", [
    ({"accuracies": [1.0, 0.5]}, "accuracies has 2 values, expected 5"),
    ({"F_trace": np.zeros(5)}, "num_steps, num_hiddens"),
    ({"offsets": np.zeros((5, 1))}, "one-dimensional"),
    ({"delta": float("inf")}, "delta"),
])
def test_forget_bias_rejects_bad_input(kwargs, message):
    args = dict(b_f=1.0, F_trace=np.zeros((5, 3)), offsets=np.arange(5.0), accuracies=np.ones(5), delta=0.0,
                accuracy=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        plot_forget_bias(**args)


# --- one LSTM step ---------------------------------------------------------------------------------

def _step():
    step = {k: RNG.uniform(0, 1, N) for k in ("I", "F", "O")}
    step["F"][[1, 4]] = 0.99  # two units hold
    step["C_tilde"], step["C"] = RNG.uniform(-1, 1, N), RNG.normal(size=N)
    return step


def test_lstm_step_draws_gates_cell_update_and_answer():
    step, C_prev = _step(), RNG.normal(size=N)
    probs = np.full(4, 0.25)
    fig = plot_lstm_step(step, C_prev, probs, symbols="ABCD", answer="C", title="at step 3")
    assert fig.get_figwidth() <= COLUMN_INCHES
    gates, cell, answer = fig.get_axes()
    assert "at step 3" in gates.get_title()
    assert [t.get_text() for t in gates.get_legend().get_texts()] == ["$I_t$", "$F_t$", "$O_t$", r"$\tilde C_t$"]
    np.testing.assert_allclose(gates.get_lines()[1].get_ydata(), step["F"])  # I, F, O markers per unit
    shaded = [p for p in gates.patches if p not in gates.containers[0].patches]
    assert len(shaded) == 2  # the units whose forget gate holds
    kept, written, new = cell.containers
    np.testing.assert_allclose([b.get_height() for b in kept], step["F"] * C_prev)
    np.testing.assert_allclose([b.get_height() for b in written], step["I"] * step["C_tilde"])
    np.testing.assert_allclose([b.get_height() for b in new], step["C"])
    bars = answer.containers[0].patches
    assert [b.get_height() for b in bars] == [0.25] * 4
    green = [i for i, b in enumerate(bars) if b.get_facecolor() == matplotlib.colors.to_rgba("tab:green")]
    assert green == [2]  # the right answer, C


@pytest.mark.parametrize("change, message", [
    (lambda s, c, p: ({k: v for k, v in s.items() if k != "C"}, c, p), "missing C"),
    (lambda s, c, p: (dict(s, F=s["F"][:3]), c, p), r"step\['F'\] has 3 values"),
    (lambda s, c, p: (s, c[:2], p), "C_prev has 2 values"),
    (lambda s, c, p: (s, c, p[:3]), "probs has 3 values, expected 4"),
    (lambda s, c, p: (dict(s, I=np.zeros((N, 2))), c, p), "one-dimensional"),
])
def test_lstm_step_rejects_bad_input(change, message):
    step, C_prev, probs = change(_step(), RNG.normal(size=N), np.full(4, 0.25))
    with pytest.raises(ValueError, match=message):
        plot_lstm_step(step, C_prev, probs, symbols="ABCD", answer="A")
    with pytest.raises(ValueError, match="answer must be one of 'A', 'B', 'C', 'D'; got 'Z'"):
        plot_lstm_step(_step(), np.zeros(N), np.full(4, 0.25), symbols="ABCD", answer="Z")
    with pytest.raises(TypeError, match="dict"):
        plot_lstm_step([1, 2], np.zeros(N), np.full(4, 0.25), symbols="ABCD", answer="A")


# --- paths of single units ---------------------------------------------------------------------------

def test_unit_paths_one_row_per_unit_one_line_per_example():
    T, E = 15, 3
    C = RNG.normal(size=(T, E, N))
    fig = plot_unit_paths(C, np.tanh(C), units=[0, 4], labels=["A", "B", "C"], legend_title="first symbol")
    assert fig.get_figwidth() <= COLUMN_INCHES
    axes = fig.get_axes()
    assert len(axes) == 4  # 2 units x (cell, hidden)
    assert [ax.get_ylabel() for ax in axes[::2]] == ["unit 1", "unit 5"]  # numbered from 1, as in the heatmaps
    assert axes[0].get_title() == "cell state $C_t$" and axes[1].get_title() == "hidden state $H_t$"
    assert len(axes[2].get_lines()) == E
    np.testing.assert_allclose(axes[2].get_lines()[1].get_ydata(), C[:, 1, 4])
    np.testing.assert_array_equal(axes[2].get_lines()[1].get_xdata(), np.arange(1, T + 1))
    legend = fig.legends[0]
    assert [t.get_text() for t in legend.get_texts()] == ["A", "B", "C"]
    assert legend.get_title().get_text() == "first symbol"


@pytest.mark.parametrize("kwargs, message", [
    ({"units": [6]}, "0..5"), ({"units": []}, "units"), ({"labels": ["A"]}, "labels and the examples must go one for one, got 1 and 3"),
    ({"H": np.zeros((15, 3, 2))}, r"both have shape.*\(15, 3, 2\)"), ({"C": np.zeros((15, 3)), "H": np.zeros((15, 3))}, "num_steps, num_examples"),
])
def test_unit_paths_reject_bad_input(kwargs, message):
    args = dict(C=np.zeros((15, 3, N)), H=np.zeros((15, 3, N)), units=[0], labels=["A", "B", "C"])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        plot_unit_paths(**args)
