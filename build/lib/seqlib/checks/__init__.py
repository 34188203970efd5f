"""Instant feedback on the labs' exercises: the machinery once, one module per day.

- ``seqlib.checks.feedback``  how every check reports: one format, a mark, what was expected, a hint; how it
  calls the student's code: a time limit per call, NaN and exceptions explained, never raised
- ``seqlib.checks.day01``     one RNN step, the parameter count of an RNN
- ``seqlib.checks.day02``     the LSTM and GRU steps, parameter counts of the three cells
- ``seqlib.checks.day03``     perplexity, the fused LSTM step, sampling with a temperature
- ``seqlib.checks.day04``     the sliding-window data set, the persistence baseline
- ``seqlib.checks.day05``     masked pooling, accuracy from logits
- ``seqlib.checks.day07``     one sample of the copy task, the multiplicative LSTM step
- ``seqlib.checks.day06``     temperature, top-k and top-p filtering; nats, bits and perplexity
- ``seqlib.checks.day08``     both directions of a padded batch, a CRF path score, the forward algorithm
- ``seqlib.checks.day09``     additive attention for one decoder step, one step of beam search

A lab imports its day's checks: ``from seqlib.checks.day02 import check_lstm_step``.
"""

from seqlib.checks.feedback import (Verdict, as_array, as_float, as_pair, as_tensor, call_student, first_failure,
                                    fresh_seeds, guard, report, require_callable, shape_str)

__all__ = ["Verdict", "report", "guard", "call_student", "first_failure", "fresh_seeds", "as_array", "as_tensor",
           "as_float", "as_pair", "require_callable", "shape_str"]
