"""seqlib: the small helper package of the Sequence Models course.

One module per job; a lab imports what it needs and keeps the lesson's own code on the page.

- ``seqlib.data``     fetch, verify and cache the course's data sets
- ``seqlib.results``  record a lab's headline numbers for the course results
- ``seqlib.checks``   instant feedback on exercises
- ``seqlib.plots``    the course's figure style and recurring plots
- ``seqlib.widgets``  ipywidgets controls that degrade gracefully in the static book
- ``seqlib.training`` ``fit``: train any model with validation, LR schedule, early stopping
- ``seqlib.timeseries`` sine-wave data, sliding-window datasets, forecasting baselines
"""

__version__ = "0.1.0"
