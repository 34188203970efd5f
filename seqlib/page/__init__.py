"""The page: everything a lab uses around its lessons, in one place (``from seqlib.page import ...``).

- ``seqlib.page.style``    the one figure style: ``use_course_style``, ``figsize``, ``COLUMN_INCHES``
- ``seqlib.page.show``     ``show_source`` (a function's code, highlighted) and ``show_table``
- ``seqlib.page.results``  ``record`` (headline numbers for the results page), ``say`` (prose that
  quotes the run), ``mean_std`` and ``mean_pm_std`` over seeds
- ``seqlib.page.runtime``  ``seed_everything``, ``default_device``, ``progress`` bars, ``num_params``
- ``seqlib.page.widgets``  every interactive control of the labs (``slider_plot``, ``text_view``,
  ``generator_view``), with a static rendering for the book

The figures that teach are modules of their own (``seqlib.plots``, ``seqlib.heatmaps``,
``seqlib.diagrams``), all in the style of ``seqlib.page.style``.
"""

from seqlib.page.results import mean_pm_std, mean_std, record, say
from seqlib.page.runtime import default_device, num_params, progress, seed_everything
from seqlib.page.show import show_source, show_table
from seqlib.page.style import COLUMN_INCHES, figsize, use_course_style
from seqlib.page.widgets import generator_view, slider_plot, text_view

__all__ = ["COLUMN_INCHES", "default_device", "figsize", "generator_view", "mean_pm_std", "mean_std", "num_params",
           "progress", "record", "say", "seed_everything", "show_source", "show_table", "slider_plot", "text_view",
           "use_course_style"]
