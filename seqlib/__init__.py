"""seqlib: the small helper package of the Sequence Models course.

One module per job; a lab imports what it needs and keeps the lesson's own code on the page.

- ``seqlib.data``     fetch, verify and cache the course's data sets
- ``seqlib.results``  record a lab's headline numbers for the course results
- ``seqlib.checks``   instant feedback on exercises
- ``seqlib.plots``    the course's figure style and recurring plots
- ``seqlib.widgets``  ipywidgets controls that degrade gracefully in the static book
- ``seqlib.cells``    from-scratch LSTM and GRU cells (PyTorch) with parity to torch.nn
- ``seqlib.training`` ``fit``: train any model with validation, LR schedule, early stopping
- ``seqlib.timeseries`` sine-wave data, sliding-window datasets, forecasting baselines
- ``seqlib.text``     from text to tokens: preprocessing, tokenization, Vocab, the Time Machine corpus
- ``seqlib.sampling`` random sampling and sequential partitioning of a corpus into minibatches
- ``seqlib.lm``       character language models: lesson form, fast from-scratch form, torch.nn form
- ``seqlib.lm_train`` gradient clipping, training with perplexity, live plot, text generation
- ``seqlib.lm_plots`` Day 3 figures (Zipf's law, minibatch layouts)
- ``seqlib.d2l``      the classic D2L API of chapters 8-9 on the course's code
- ``seqlib.bench``    ``python -m seqlib.bench``: training throughput of all model forms
"""

__version__ = "0.1.0"
