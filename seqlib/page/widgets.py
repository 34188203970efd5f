"""Every interactive control of the labs (:func:`slider_plot`, :func:`text_view`, :func:`generator_view`).

In Jupyter (and Colab) the controls re-render when moved or edited. The static book cannot run
Python callbacks, so each control first draws its default view as an ordinary output
(``static=True``; pass ``static=False`` when the lab has drawn it itself), then returns the
control (display it, or leave it as the cell's last expression). Without ipywidgets a control
prints a note and returns ``None`` instead of failing.
"""

from __future__ import annotations

import html
import numbers

import matplotlib.pyplot as plt

__all__ = ["slider_plot", "text_view", "generator_view"]

_LABEL = {"description_width": "initial"}  # a control's whole name shown beside it


def _ipywidgets():
    """The ipywidgets module, or ``None`` (with a printed note) when it is not installed."""
    try:
        import ipywidgets
    except ImportError:
        print("(The interactive version needs ipywidgets: pip install ipywidgets)")
        return None
    return ipywidgets


def _show(result):
    """Show what a draw/render function made: an HTML string, else the current pyplot figure."""
    if isinstance(result, str):
        from IPython.display import HTML, display

        display(HTML(result))
    else:
        plt.show()


def _rerender(out, message, render, ok: str = "") -> None:
    """Replace the output ``out`` by what ``render()`` shows; a ``ValueError`` (an input ``render``
    cannot read) is written to the label ``message`` instead of stopping the notebook."""
    with out:
        out.clear_output(wait=True)
        try:
            _show(render())
            message.value = ok
        except ValueError as err:
            plt.close("all")
            message.value = f"⚠ {err}"


def _slider_spec(name, spec):
    """``(min, max, step, value)`` checked: numbers, min <= value <= max, step > 0."""
    if not (isinstance(spec, tuple) and len(spec) == 4
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in spec)):
        raise ValueError(f"slider {name!r} must be (min, max, step, value) numbers, got {spec!r}")
    lo, hi, step, value = spec
    if not lo <= value <= hi or step <= 0:
        raise ValueError(f"slider {name!r}: need min <= value <= max and step > 0, got {spec!r}")
    return spec


def _slider(widgets, name, spec):
    """An IntSlider (all four numbers integers) or a FloatSlider from a checked ``(min, max, step, value)``."""
    lo, hi, step, value = spec
    integer = all(isinstance(v, numbers.Integral) for v in spec)
    cls = widgets.IntSlider if integer else widgets.FloatSlider
    return cls(min=lo, max=hi, step=step, value=value, description=name, continuous_update=False, style=_LABEL)


def slider_plot(draw, *, static: bool = True, **sliders):
    """Sliders that redraw a figure: ``draw(**values)`` is called with the sliders' values.

    Each keyword is a slider, ``name=(min, max, step, value)``; integers give an IntSlider,
    otherwise a FloatSlider. ``draw`` makes its figure with pyplot (``plt.subplots`` ...);
    the helper shows it below the sliders and redraws it whenever a slider is released.
    Example: ``slider_plot(draw, scale=(0.0, 2.0, 0.1, 0.9), num_steps=(5, 40, 1, 20))``.
    """
    if not callable(draw):
        raise TypeError(f"draw must be a function of the slider values, got {type(draw).__name__}")
    if not sliders:
        raise ValueError("slider_plot needs at least one slider, e.g. scale=(0.0, 2.0, 0.1, 1.0)")
    sliders = {name: _slider_spec(name, spec) for name, spec in sliders.items()}  # fail before drawing
    if static:
        _show(draw(**{name: spec[3] for name, spec in sliders.items()}))
    widgets = _ipywidgets()
    if widgets is None:
        return None
    controls = {name: _slider(widgets, name, spec) for name, spec in sliders.items()}
    out = widgets.Output()

    def redraw(_change=None):
        with out:
            out.clear_output(wait=True)
            _show(draw(**{name: c.value for name, c in controls.items()}))

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls.values())), out])


def text_view(render, text: str, *, step: bool = False, description: str = "text",
              normalize=str.strip, static: bool = True, width: str = "90%"):
    """A text box whose content is rendered by ``render``: a figure, or an HTML snippet.

    ``render(text)`` (or ``render(text, t)`` with ``step=True``) either draws a pyplot figure
    or returns a string of HTML; the view re-renders when the text is edited (on Enter) or
    the slider is released. With ``step=True`` a slider picks the time step ``t``, from 0 to
    ``len(text) - 1`` of the current text (its bound follows the text). ``normalize`` is
    applied to the box's content first (default: strip spaces at both ends). A ``ValueError``
    raised by ``render`` (a text it cannot read) is shown as a one-line message under the box
    instead of stopping the notebook. The static view renders ``text`` at ``t = 0``. Example:
    ``text_view(show_step, "ABCA", step=True, normalize=lambda s: "".join(s.split()))``.
    """
    if not callable(render):
        raise TypeError(f"render must be a function of the text, got {type(render).__name__}")
    if not isinstance(text, str):
        raise TypeError(f"text must be a string, got {type(text).__name__}")
    text = normalize(text)
    if step and not text:
        raise ValueError("text_view(step=True) needs a non-empty default text")

    def view(value, t):
        return render(value, min(t, max(0, len(value) - 1))) if step else render(value)

    if static:
        _show(view(text, 0))
    widgets = _ipywidgets()
    if widgets is None:
        return None
    box = widgets.Text(value=text, description=description, continuous_update=False,
                       layout=widgets.Layout(width=width), style=_LABEL)
    slider = widgets.IntSlider(value=0, min=0, max=max(0, len(text) - 1), description="time step",
                               continuous_update=False, style=_LABEL) if step else None
    message, out = widgets.Label(), widgets.Output()
    busy = []  # set while updating: moving slider.max may clip slider.value, which calls update again

    def update(_change=None):
        if busy:
            return
        busy.append(True)
        try:
            value = normalize(box.value)
            if slider is not None:
                slider.max = max(0, len(value) - 1)
            _rerender(out, message, lambda: view(value, slider.value if slider is not None else 0))
        finally:
            busy.clear()

    box.observe(update, names="value")
    if slider is not None:
        slider.observe(update, names="value")
    update()
    return widgets.VBox([box] + ([slider] if slider is not None else []) + [message, out])


STRATEGIES = ("sample", "top-k", "top-p", "greedy", "beam")


def _pre(text: str) -> str:
    """The generated text as a ``<pre>`` block that wraps long lines."""
    return f'<pre class="generated" style="white-space: pre-wrap">{html.escape(text)}</pre>'


def generator_view(generate, prompt: str, *, strategies=STRATEGIES, static: bool = True,
                   temperature=(0.0, 2.0, 0.05, 0.8), top_k=(1, 60, 1, 10), top_p=(0.05, 1.0, 0.05, 0.9),
                   length=(20, 600, 20, 200), seed: int = 0):
    """Controls for a text generator; ``generate(prompt, strategy, temperature, top_k, top_p, length, seed)``
    (called with these keywords) returns the text to show.

    A prompt box, a menu of ``strategies`` (names ``generate`` understands; the first is the
    default), sliders ``(min, max, step, value)`` for the temperature, ``k``, ``p`` and the
    length, and a button that draws again with the next seed. The text is regenerated whenever
    a control changes. A ``ValueError`` from ``generate`` (a prompt it cannot read) is shown as
    a one-line message instead of stopping the notebook.
    """
    if not callable(generate):
        raise TypeError(f"generate must be a function returning the generated text, got {type(generate).__name__}")
    if not isinstance(prompt, str):
        raise TypeError(f"prompt must be a string, got {type(prompt).__name__}")
    strategies = tuple(strategies)
    if not strategies or not all(isinstance(s, str) for s in strategies):
        raise ValueError(f"strategies must be a non-empty list of names, got {strategies!r}")
    sliders = {name: _slider_spec(name, spec) for name, spec in
               (("temperature", temperature), ("top_k", top_k), ("top_p", top_p), ("length", length))}
    values = {"prompt": prompt, "strategy": strategies[0], "seed": int(seed),
              **{name: spec[3] for name, spec in sliders.items()}}
    if static:
        _show(_pre(generate(**values)))
    widgets = _ipywidgets()
    if widgets is None:
        return None
    box = widgets.Textarea(value=prompt, description="prompt", continuous_update=False,
                           layout=widgets.Layout(width="90%"), style=_LABEL)
    menu = widgets.Dropdown(options=list(strategies), value=strategies[0], description="strategy")
    controls = {name: _slider(widgets, name, spec) for name, spec in sliders.items()}
    again = widgets.Button(description="again (next seed)")
    message, out = widgets.Label(), widgets.Output()

    def update(_change=None):
        values.update(prompt=box.value, strategy=menu.value, **{n: c.value for n, c in controls.items()})
        _rerender(out, message, lambda: _pre(generate(**values)), ok=f"seed {values['seed']}")

    def next_seed(_button):
        values["seed"] += 1
        update()

    for control in (box, menu, *controls.values()):
        control.observe(update, names="value")
    again.on_click(next_seed)
    update()
    return widgets.VBox([box, widgets.HBox([menu, again]), widgets.HBox([controls["temperature"], controls["top_k"]]),
                         widgets.HBox([controls["top_p"], controls["length"]]), message, out])
