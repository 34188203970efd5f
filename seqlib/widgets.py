"""ipywidgets controls that degrade gracefully.

In Jupyter (and Colab) the controls redraw a figure when moved. The static book cannot
run Python callbacks, so a lab draws the default figure as an ordinary output first and
then shows the control. Without ipywidgets the helpers print a note and return ``None``
instead of failing.
"""

from __future__ import annotations

import numbers

import matplotlib.pyplot as plt

__all__ = ["slider_plot"]


def _slider(widgets, name, spec):
    """An IntSlider or FloatSlider from ``(min, max, step, value)``."""
    if not (isinstance(spec, tuple) and len(spec) == 4
            and all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in spec)):
        raise ValueError(f"slider {name!r} must be (min, max, step, value) numbers, got {spec!r}")
    lo, hi, step, value = spec
    if not lo <= value <= hi or step <= 0:
        raise ValueError(f"slider {name!r}: need min <= value <= max and step > 0, got {spec!r}")
    integer = all(isinstance(v, numbers.Integral) for v in spec)
    cls = widgets.IntSlider if integer else widgets.FloatSlider
    return cls(min=lo, max=hi, step=step, value=value, description=name, continuous_update=False,
               style={"description_width": "initial"})


def slider_plot(draw, **sliders):
    """Sliders that redraw a figure: ``draw(**values)`` is called with the sliders' values.

    Each keyword is a slider, ``name=(min, max, step, value)``; integers give an IntSlider,
    otherwise a FloatSlider. ``draw`` makes its figure with pyplot (``plt.subplots`` ...);
    the helper shows it below the sliders and redraws it whenever a slider is released.
    Returns the widget (display it, or leave it as the cell's last expression), or ``None``
    with a printed note when ipywidgets is not installed.

    Example::

        def draw(scale, num_steps):
            fig, ax = plt.subplots()
            ax.plot(simulate(scale, num_steps))

        slider_plot(draw, scale=(0.0, 2.0, 0.1, 0.9), num_steps=(5, 40, 1, 20))
    """
    if not callable(draw):
        raise TypeError(f"draw must be a function of the slider values, got {type(draw).__name__}")
    if not sliders:
        raise ValueError("slider_plot needs at least one slider, e.g. scale=(0.0, 2.0, 0.1, 1.0)")
    try:
        import ipywidgets as widgets
    except ImportError:
        print("(The interactive version of this figure needs ipywidgets: pip install ipywidgets)")
        return None
    controls = {name: _slider(widgets, name, spec) for name, spec in sliders.items()}
    out = widgets.Output()

    def redraw(_change=None):
        with out:
            out.clear_output(wait=True)
            draw(**{name: c.value for name, c in controls.items()})
            plt.show()

    for control in controls.values():
        control.observe(redraw, names="value")
    redraw()
    return widgets.VBox([widgets.HBox(list(controls.values())), out])
