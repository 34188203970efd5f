"""The page: everything a lab uses around its lessons (``from seqlib.page import ...``).

- ``seqlib.page.style``    ``use_course_style``, ``figsize``, ``COLUMN_INCHES``
- ``seqlib.page.show``     ``show_source``, ``show_table``
- ``seqlib.page.results``  ``record``, ``say``, ``mean_std``, ``mean_pm_std``, ``recorded`` (long runs)
- ``seqlib.page.runtime``  ``seed_everything``, ``default_device``, ``keep_freed_memory``, ``progress``, ``num_params``
- ``seqlib.page.widgets``  ``slider_plot``, ``text_view``, ``generator_view`` (with a static rendering)
"""

from seqlib.page.results import mean_pm_std, mean_std, record, recorded, say
from seqlib.page.runtime import default_device, keep_freed_memory, num_params, progress, seed_everything
from seqlib.page.show import show_source, show_table
from seqlib.page.style import COLUMN_INCHES, figsize, use_course_style
from seqlib.page.widgets import generator_view, slider_plot, text_view

__all__ = ["COLUMN_INCHES", "default_device", "figsize", "generator_view", "keep_freed_memory", "mean_pm_std",
           "mean_std", "num_params", "progress", "record", "recorded", "say", "seed_everything", "show_source",
           "show_table", "slider_plot", "text_view", "use_course_style"]
