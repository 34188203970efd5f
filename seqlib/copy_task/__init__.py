"""The copy task (Day 7): can a recurrent state hold a sequence, and does the learned copying
generalise to longer sequences than those seen in training?

- ``seqlib.copy_task.task``   samples and batches of the task, the 11 tokens, the accuracies that matter
- ``seqlib.copy_task.model``  the model (embedding, one cell of :mod:`seqlib.cells`, linear head), the options
  that train it with :func:`seqlib.training.fit` (Adam, gradients clipped by value) and its accuracy with the
  state carried across chunks
- ``seqlib.copy_task.cli``    ``python -m seqlib.copy_task``: long runs from the command line, one folder per run
"""

from seqlib.copy_task.model import CELLS, CopyModel, copy_accuracy, fit_options, hidden_states
from seqlib.copy_task.task import (ALPHABET, BLANK, DELIMITER, TOKENS, accuracies, bits_to_store, blank_baseline,
                                   copy_scores, make_dataset, make_sample, to_text, vocab)

__all__ = ["ALPHABET", "BLANK", "DELIMITER", "TOKENS", "vocab", "make_sample", "make_dataset", "to_text",
           "copy_scores", "accuracies", "blank_baseline", "bits_to_store", "CELLS", "CopyModel", "fit_options",
           "copy_accuracy", "hidden_states"]
