"""seqlib.widgets: sliders redraw through the callback, without a display, and degrade without ipywidgets."""

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from seqlib.widgets import slider_plot  # noqa: E402

pytestmark = pytest.mark.filterwarnings("ignore:.*non-interactive.*:UserWarning")


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_slider_plot_draws_once_then_on_every_change_with_all_values():
    import ipywidgets

    calls = []

    def draw(rho, num_steps):
        calls.append((rho, num_steps))
        plt.subplots()

    widget = slider_plot(draw, rho=(0.0, 2.0, 0.1, 0.9), num_steps=(5, 40, 5, 20))
    assert isinstance(widget, ipywidgets.VBox)
    controls, out = widget.children
    rho, steps = controls.children
    assert isinstance(rho, ipywidgets.FloatSlider) and isinstance(steps, ipywidgets.IntSlider)
    assert isinstance(out, ipywidgets.Output)
    assert (rho.description, rho.value, steps.min, steps.max, steps.step) == ("rho", 0.9, 5, 40, 5)
    assert calls == [(0.9, 20)]
    steps.value = 30
    rho.value = 1.5
    assert calls == [(0.9, 20), (0.9, 30), (1.5, 30)]


def test_slider_plot_degrades_to_a_note_without_ipywidgets(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    calls = []
    assert slider_plot(lambda a: calls.append(a), a=(0, 10, 1, 5)) is None
    assert "needs ipywidgets" in capsys.readouterr().out
    assert calls == []


@pytest.mark.parametrize("spec, message", [((0, 1, 0.1), r"\(min, max, step, value\)"),
                                           ((0, 1, 0.1, 2), "min <= value <= max"),
                                           ((0, 1, 0, 0.5), "step > 0"),
                                           (("a", 1, 0.1, 0.5), "numbers")])
def test_slider_plot_rejects_bad_slider_specs(spec, message):
    with pytest.raises(ValueError, match=message):
        slider_plot(lambda a: None, a=spec)


def test_slider_plot_needs_a_function_and_a_slider():
    with pytest.raises(TypeError, match="function"):
        slider_plot(None, a=(0, 1, 1, 0))
    with pytest.raises(ValueError, match="at least one slider"):
        slider_plot(lambda: None)
