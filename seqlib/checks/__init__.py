"""Instant feedback on the labs' exercises: the machinery once, one module per day.

- ``seqlib.checks.feedback``  one format (mark, what is wrong, expected, hint); students' code timed, errors reported
- ``seqlib.checks.day01``     one RNN step, the parameter count of an RNN
- ``seqlib.checks.day02``     the LSTM and GRU steps, parameter counts of the three cells
- ``seqlib.checks.day03``     perplexity, the fused LSTM step, sampling with a temperature
- ``seqlib.checks.day04``     the sliding-window data set, the least-squares AR(p) fit
- ``seqlib.checks.day05``     masked pooling, accuracy from logits
- ``seqlib.checks.day06``     temperature, top-k and top-p filtering; nats, bits and perplexity
- ``seqlib.checks.day07``     scoring the copied positions, the multiplicative LSTM and GRU steps
- ``seqlib.checks.day08``     both directions of a padded batch, a CRF path score, the forward algorithm
- ``seqlib.checks.day09``     additive attention for one decoder step, corpus BLEU, beam search

A lab imports its day's checks: ``from seqlib.checks.day02 import check_lstm_step``.
"""
