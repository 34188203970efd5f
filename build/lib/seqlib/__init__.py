"""seqlib: the small helper package of the Sequence Models course.

One home for each idea, one module per concept; a lab imports what it needs and keeps the
lesson's own code on the page. Read top to bottom, the modules go from the cells to the labs:

Recurrent networks
- ``seqlib.cells``      the recurrence equations, written once: RNN, LSTM (and variants), both GRUs;
  one initialisation, one table of gate orders, copies to and from ``torch.nn``, scratch layers
- ``seqlib.fused``      the speed forms: fused gates, scans, packed recurrent weights, the hand-written
  backward through time (the only module that uses private PyTorch operators)
- ``seqlib.lm``         character language models in three forms: lesson, fast from-scratch, ``torch.nn``
- ``seqlib.ngram``      counting language models: n-grams of characters or words, add-k or Kneser-Ney
  smoothing, held-out loss in nats and bits per token
- ``seqlib.copy_task``  the copy task (Day 7): samples, the model over any of the five cells, training with
  the state carried across chunks, ``python -m seqlib.copy_task`` for long runs
- ``seqlib.classifiers`` sentence classifiers (Day 5): the RNN classifier, its predictions shown,
  language-model pretraining of its encoder
- ``seqlib.tagging``    sequence labelling (Day 8): tagged batches with characters, the BiLSTM tagger, its predictions
- ``seqlib.crf``        the linear-chain CRF output layer: path scores, the forward algorithm, Viterbi, brute force
- ``seqlib.attention``  attention over a padded batch: the masked softmax, additive and dot-product
  scores, attention pooling
- ``seqlib.seq2seq``    sequence to sequence: bidirectional GRU encoder, GRU decoder with or without attention,
  the decoding step for greedy and beam search
- ``seqlib.baselines``  what a neural model must beat: bag of n-grams (Day 5), most frequent tag and the
  averaged perceptron (Day 8)

Data
- ``seqlib.data``       fetch, verify and cache the course's data sets (offline folder, cache, canonical address)
- ``seqlib.text``       from text to tokens: readers (Time Machine, MR, IMDb), tokenizers, the one ``Vocab``, n-grams
- ``seqlib.partitioning`` random and sequential partitioning of a corpus into language-model minibatches
- ``seqlib.batching``   variable-length batches: the one padded dataset, collate and loader (length buckets),
  masks, masked pooling, word dropout, reversal within lengths, both directions of a recurrent layer
- ``seqlib.treebank``   Universal Dependencies: CoNLL-U reader, UPOS tag ids, words as UD splits them, tagging accuracy
- ``seqlib.timeseries`` sine-wave data, sliding-window data sets, forecasting baselines
- ``seqlib.dates``      dates in many languages and formats (Babel) and their ISO form: seeded splits,
  parsing back, exact match
- ``seqlib.translation`` parallel data: vocabularies, the pair dataset, Multi30k, sacreBLEU's BLEU, a longer run
- ``seqlib.translation_cli`` ``python -m seqlib.translation``: the Day 9 model trained longer, its BLEU

Training
- ``seqlib.training``   ``fit`` (validation, LR schedule, early stopping), evaluation, gradient clipping,
  adversarial loss
- ``seqlib.history``    ``History``: the one record of a training run
- ``seqlib.lm_train``   what only language models add: state carried or reset, perplexity, their loop, generation
- ``seqlib.decoding``   from a model to text over one ``step`` protocol: ``generate`` (the one text generation),
  temperature, top-k, top-p, greedy, sampling, beam search; next-token top-k accuracy; measures of
  generated text (likelihood, distinct-n, repetition)
- ``seqlib.checkpoint`` save and load a model with its vocabulary and configuration (``weights_only``), with
  errors that say what is wrong

Figures that teach (all in the one style of ``seqlib.page.style``)
- ``seqlib.plots``      curves, the live training plot, Zipf's law, minibatch layouts
- ``seqlib.heatmaps``   the one heatmap helper (time on the x axis): hidden states, gates, cell vs hidden state
- ``seqlib.diagrams``   figures that open up a recurrent network: the unrolled RNN, truncated BPTT, one
  LSTM step, the forget gate as a time constant, paths of single units

The page and the checks
- ``seqlib.page``       everything a lab uses around its lessons (``from seqlib.page import ...``): the
  figure style, ``record``/``say``, ``show_source``, tables, seeding, the device, progress bars, widgets
- ``seqlib.checks``     instant feedback on the exercises: one format (mark, what is wrong, what was
  expected, hint), one module per day
- ``seqlib.validation`` the one validation layer: positive integers, probabilities, names, tensors of a
  given shape (in the lesson's notation), dtype and sizes; one kind of message everywhere
- ``seqlib.cli``        one style for every command line: an option table, every flag checked before any
  data is read, one-line errors naming the flag

Compatibility and speed
- ``seqlib.d2l``        the classic *Dive into Deep Learning* API of chapters 8-9 on the course's code
- ``seqlib.bench``      training throughput of the language models' three forms (Day 3; ``make bench``
  runs the course's benchmark and ``make calibrate`` the machine's reference time, both in ``tools/``)
"""

__version__ = "0.1.0"
