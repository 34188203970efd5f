"""Every interactive control of the labs (:func:`slider_plot`, :func:`text_view`, :func:`generator_view`).

Each control first draws its default view as an ordinary output for the static book (``static=False``
when the lab has drawn it), then returns the control; without ipywidgets it prints a note, returns ``None``.
"""

from __future__ import annotations

import html
import numbers

import matplotlib.pyplot as plt

from seqlib.validation import sequence

__all__ = ["slider_plot", "text_view", "generator_view"]

_LABEL = {"description_width": "initial"}  # a control's whole name shown beside it


def _ipywidgets():
    try:
        import ipywidgets
    except ImportError:
        print("(The interactive version needs ipywidgets: pip install ipywidgets)")
        return None
    return ipywidgets


def _show(result):
    if isinstance(result, str):
        from IPython.display import HTML, display

        display(HTML(result))
    else:
        plt.show()


def _rerender(out, message, render, ok: str = "") -> None:
    """Show ``render()`` in ``out``; a ``ValueError`` goes to the label ``message``, not up."""
    with out:
        out.clear_output(wait=True)
        try:
            _show(render())
            message.value = ok
        except ValueError as err:
            plt.close("all")
            message.value = f"⚠ {err}"


def _slider_spec(name, spec):
    if not (isinstance(spec, tuple) and len(spec) == 4
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in spec)):
        raise ValueError(f"slider {name!r} must be (min, max, step, value) numbers, got {spec!r}")
    lo, hi, step, value = spec
    if not lo <= value <= hi or step <= 0:
        raise ValueError(f"slider {name!r}: need min <= value <= max and step > 0, got {spec!r}")
    return spec


def _slider(widgets, name, spec):
    lo, hi, step, value = spec
    cls = widgets.IntSlider if all(isinstance(v, numbers.Integral) for v in spec) else widgets.FloatSlider
    return cls(min=lo, max=hi, step=step, value=value, description=name, continuous_update=False, style=_LABEL)


def slider_plot(draw, *, static: bool = True, **sliders):
    """Sliders ``name=(min, max, step, value)`` (all integers: an IntSlider) that redraw ``draw(**values)``.

    Example: ``slider_plot(draw, scale=(0.0, 2.0, 0.1, 0.9), num_steps=(5, 40, 1, 20))``.
    """
    if not sliders:
        raise ValueError("slider_plot needs at least one slider, e.g. scale=(0.0, 2.0, 0.1, 1.0)")
    sliders = {name: _slider_spec(name, spec) for name, spec in sliders.items()}  # fail before drawing
    if static:
        _show(draw(**{name: spec[3] for name, spec in sliders.items()}))
    if (widgets := _ipywidgets()) is None:
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
    """A text box rendered by ``render(text)`` (``render(text, t)`` with a time-step slider if ``step``).

    ``render`` draws a pyplot figure or returns HTML; ``normalize`` is applied to the box first; a
    ``ValueError`` from ``render`` is shown under the box. Example:
    ``text_view(show_step, "ABCA", step=True, normalize=lambda s: "".join(s.split()))``.
    """
    text = normalize(text)
    if step and not text:
        raise ValueError("text_view(step=True) needs a non-empty default text")

    def view(value, t):
        return render(value, min(t, max(0, len(value) - 1))) if step else render(value)

    if static:
        _show(view(text, 0))
    if (widgets := _ipywidgets()) is None:
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
    return f'<pre class="generated" style="white-space: pre-wrap">{html.escape(text)}</pre>'


def generator_view(generate, prompt: str, *, strategies=STRATEGIES, static: bool = True,
                   temperature=(0.0, 2.0, 0.05, 0.8), top_k=(1, 60, 1, 10), top_p=(0.05, 1.0, 0.05, 0.9),
                   length=(20, 600, 20, 200), seed: int = 0):
    """A prompt box, a menu of ``strategies`` (the first the default), sliders ``(min, max, step, value)``
    and an "again" button (next seed), showing ``generate(prompt=, strategy=, temperature=, top_k=, top_p=,
    length=, seed=)``; a ``ValueError`` from ``generate`` is shown as a message.
    """
    strategies = tuple(sequence(strategies, "strategies", of=str, non_empty=True, what="a list of names"))
    sliders = {name: _slider_spec(name, spec) for name, spec in
               (("temperature", temperature), ("top_k", top_k), ("top_p", top_p), ("length", length))}
    values = {"prompt": prompt, "strategy": strategies[0], "seed": int(seed),
              **{name: spec[3] for name, spec in sliders.items()}}
    if static:
        _show(_pre(generate(**values)))
    if (widgets := _ipywidgets()) is None:
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
