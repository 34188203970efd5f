"""seqlib: the small helper package of the Sequence Models course; one module per concept, from the cells
to the labs. A lab imports what it needs and keeps the lesson's own code on the page.

Recurrent networks
- ``seqlib.cells``      the recurrence equations once (RNN, LSTM and variants, both GRUs), init, gate orders, torch.nn
- ``seqlib.fused``      the speed forms: fused gates, scans, the hand-written backward through time
- ``seqlib.lm``         character language models in three forms: lesson, fast from-scratch, ``torch.nn``
- ``seqlib.ngram``      counting language models: n-grams, add-k or Kneser-Ney, held-out loss in nats and bits
- ``seqlib.copy_task``  the copy task (Day 7): samples, the model over five cells, ``python -m seqlib.copy_task``
- ``seqlib.classifiers`` sentence classifiers (Day 5): the RNN classifier, its predictions, LM pretraining
- ``seqlib.tagging``    sequence labelling (Day 8): tagged batches with characters, the BiLSTM tagger, predictions
- ``seqlib.entities``   named entities (Day 8 part B): the WNUT 2017 reader, BIO tags, spans, invalid transitions
- ``seqlib.crf``        the linear-chain CRF: path scores, the forward algorithm, Viterbi, brute force
- ``seqlib.attention``  attention over a padded batch: masked softmax, additive and dot-product scores, pooling
- ``seqlib.seq2seq``    sequence to sequence: BiGRU encoder, GRU decoder with or without attention, decoding step
- ``seqlib.baselines``  what a neural model must beat: bag of n-grams, most frequent tag, averaged perceptron

Data
- ``seqlib.data``       fetch, verify and cache the course's data sets (offline folder, cache, canonical address)
- ``seqlib.text``       from text to tokens: readers (Time Machine, MR, IMDb), tokenizers, the one ``Vocab``, n-grams
- ``seqlib.partitioning`` random and sequential partitioning of a corpus into language-model minibatches
- ``seqlib.batching``   variable-length batches: the padded dataset, collate and loader, masks, pooling, reversal
- ``seqlib.treebank``   Universal Dependencies: CoNLL-U reader, UPOS tag ids, UD words, tagging accuracy
- ``seqlib.timeseries`` sine-wave data, sliding-window data sets, forecasting baselines
- ``seqlib.dates``      dates in many languages and formats (Babel) and their ISO form: splits, parsing, exact match
- ``seqlib.translation`` parallel data: vocabularies, the pair dataset, Multi30k, sacreBLEU's BLEU
- ``seqlib.translation_cli`` ``python -m seqlib.translation``: the Day 9 model trained longer, its BLEU

Training
- ``seqlib.training``   ``fit`` (validation, LR schedule, early stopping), evaluation, gradient clipping
- ``seqlib.history``    ``History``: the one record of a training run
- ``seqlib.lm_train``   what only language models add: state carried or reset, perplexity
- ``seqlib.decoding``   ``generate`` (the one text generation): filters, greedy, sampling, beam search; top-k accuracy
- ``seqlib.checkpoint`` save and load a model with its vocabulary and configuration (``weights_only``)

Figures that teach (in the one style of ``seqlib.page.style``)
- ``seqlib.plots``      curves, the live training plot, Zipf's law, minibatch layouts
- ``seqlib.heatmaps``   the one heatmap helper (time on the x axis): hidden states, gates, cell vs hidden state
- ``seqlib.diagrams``   the unrolled RNN, truncated BPTT, one LSTM step, the forget gate's half-life, unit paths

The page and the checks
- ``seqlib.page``       around the lessons: figure style, ``record``/``say``, sources, tables, seeds, device, widgets
- ``seqlib.checks``     instant feedback on the exercises: one format, one module per day
- ``seqlib.validation`` the one validation layer: one-line checks at the boundaries, one kind of message
- ``seqlib.cli``        one style for every command line: an option table, every flag checked first

Compatibility and speed
- ``seqlib.d2l``        the classic *Dive into Deep Learning* API of chapters 8-9 on the course's code
- ``seqlib.bench``      training throughput of the language models' three forms (``make bench``, ``make calibrate``)
"""

__version__ = "0.1.0"
