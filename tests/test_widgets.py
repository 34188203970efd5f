"""seqlib.page.widgets: the controls draw their default view as an ordinary output, re-render through the
callback (without a display), and degrade without ipywidgets."""

import sys

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from seqlib.page import generator_view, slider_plot, text_view  # noqa: E402

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

    widget = slider_plot(draw, rho=(0.0, 2.0, 0.1, 0.9), num_steps=(5, 40, 5, 20), static=False)
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


def test_slider_plot_draws_the_default_as_an_ordinary_output_first():
    calls = []
    widget = slider_plot(lambda a: calls.append(a), a=(0, 10, 1, 5))
    assert calls == [5, 5]  # the static figure (for the book), then the widget's own
    widget.children[0].children[0].value = 7
    assert calls == [5, 5, 7]


def test_slider_plot_degrades_to_a_note_without_ipywidgets(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # makes `import ipywidgets` fail
    calls = []
    assert slider_plot(lambda a: calls.append(a), a=(0, 10, 1, 5), static=False) is None
    assert "needs ipywidgets" in capsys.readouterr().out
    assert calls == []
    assert slider_plot(lambda a: calls.append(a), a=(0, 10, 1, 5)) is None
    assert calls == [5]  # the default figure is still drawn


@pytest.mark.parametrize("spec, message", [((0, 1, 0.1), r"\(min, max, step, value\)"),
                                           ((0, 1, 0.1, 2), "min <= value <= max"),
                                           ((0, 1, 0, 0.5), "step > 0"),
                                           (("a", 1, 0.1, 0.5), "numbers")])
def test_slider_plot_rejects_bad_slider_specs(spec, message):
    calls = []
    with pytest.raises(ValueError, match=message):
        slider_plot(lambda a: calls.append(a), a=spec)
    assert calls == []  # refused before drawing anything


def test_slider_plot_needs_a_function_and_a_slider():
    with pytest.raises(ValueError, match="at least one slider"):
        slider_plot(lambda: None)


# --- text_view ---------------------------------------------------------------------------------

def test_text_view_renders_a_figure_static_then_on_every_edit():
    import ipywidgets

    calls = []

    def draw(text):
        calls.append(text)
        plt.subplots()

    widget = text_view(draw, "  hello  ", description="sentence")
    box, message, out = widget.children
    assert isinstance(box, ipywidgets.Text) and isinstance(message, ipywidgets.Label)
    assert isinstance(out, ipywidgets.Output)
    assert (box.description, box.value) == ("sentence", "hello")
    assert calls == ["hello", "hello"]  # the static output for the book, then the widget's view
    box.value = "world "
    assert calls[-1] == "world"


def test_text_view_step_slider_is_bounded_by_the_text_length():
    import ipywidgets

    calls = []
    widget = text_view(lambda text, t: calls.append((text, t)), "AB CD", step=True,
                       normalize=lambda s: "".join(s.split()), static=False)
    box, slider, _, _ = widget.children
    assert isinstance(slider, ipywidgets.IntSlider) and (slider.min, slider.max, slider.value) == (0, 3, 0)
    assert calls == [("ABCD", 0)]
    slider.value = 3
    assert calls[-1] == ("ABCD", 3)
    box.value = "AB"  # shorter: the bound follows, and t is clipped to the last step
    assert slider.max == 1 and slider.value == 1 and calls[-1] == ("AB", 1)
    assert calls.count(("AB", 1)) == 1  # one render per change


def test_text_view_shows_html_and_reports_what_render_cannot_read(capsys):
    def explain(sentence):
        if not sentence:
            raise ValueError("an empty sentence has nothing to classify")
        return f"<b>{sentence}</b>"

    widget = text_view(explain, "not bad")
    assert "HTML object" in capsys.readouterr().out  # the static view: an HTML output
    box, message, out = widget.children
    assert message.value == ""
    box.value = "   "
    assert message.value == "⚠ an empty sentence has nothing to classify"
    box.value = "good"
    assert message.value == ""


def test_text_view_degrades_to_the_static_view_and_a_note(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    calls = []
    assert text_view(lambda s, t: calls.append((s, t)), "abc", step=True) is None
    assert calls == [("abc", 0)] and "needs ipywidgets" in capsys.readouterr().out


def test_text_view_rejects_bad_arguments():
    with pytest.raises(ValueError, match="non-empty"):
        text_view(lambda s, t: None, "  ", step=True)


def fake_generate(calls):
    def generate(prompt, strategy, temperature, top_k, top_p, length, seed):
        calls.append(dict(prompt=prompt, strategy=strategy, temperature=temperature, top_k=top_k, top_p=top_p,
                          length=length, seed=seed))
        if not prompt:
            raise ValueError("an empty prompt gives the model nothing to continue")
        return f"{prompt} <{strategy} T={temperature} s={seed}>"
    return generate


def test_generator_view_shows_the_default_text_then_regenerates_on_every_change(capsys):
    import ipywidgets

    calls = []
    widget = generator_view(fake_generate(calls), "ROMEO:", strategies=("sample", "beam"))
    assert "HTML object" in capsys.readouterr().out  # the static text, for the book
    assert calls[0] == calls[1] == dict(prompt="ROMEO:", strategy="sample", temperature=0.8, top_k=10, top_p=0.9,
                                        length=200, seed=0)
    box, (menu, again), (temperature, top_k), (top_p, length), message, out = (
        c if not isinstance(c, ipywidgets.HBox) else c.children for c in widget.children)
    assert isinstance(box, ipywidgets.Textarea) and isinstance(out, ipywidgets.Output)
    assert list(menu.options) == ["sample", "beam"] and isinstance(top_k, ipywidgets.IntSlider)
    menu.value = "beam"
    temperature.value = 1.5
    assert calls[-1]["strategy"] == "beam" and calls[-1]["temperature"] == 1.5
    again.click()
    assert calls[-1]["seed"] == 1 and message.value == "seed 1"
    box.value = ""
    assert message.value == "⚠ an empty prompt gives the model nothing to continue"


def test_generator_view_escapes_the_text_and_degrades_without_ipywidgets(monkeypatch, capsys):
    from IPython.core.interactiveshell import InteractiveShell  # noqa: F401 (display works without a kernel)

    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj: shown.append(obj.data))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    calls = []
    assert generator_view(fake_generate(calls), "<b>") is None
    assert len(calls) == 1 and "needs ipywidgets" in capsys.readouterr().out
    assert "&lt;b&gt;" in shown[0] and "<pre" in shown[0]


def test_generator_view_rejects_bad_arguments():
    with pytest.raises(ValueError, match="strategies"):
        generator_view(lambda **k: "", "a", strategies=())
    with pytest.raises(ValueError, match="slider 'top_k'"):
        generator_view(lambda **k: "", "a", top_k=(1, 10, 1, 20))
