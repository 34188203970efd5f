r"""The recurrent cells, written once: RNN, LSTM (and its variants), GRU (both forms).

This module is the only place where the recurrence equations live. The lesson-form language
models (:mod:`seqlib.lm`), the D2L names (:mod:`seqlib.d2l`), the speed forms
(:mod:`seqlib.fused`), the exercise checks and the parity tests all call these functions.

Parameter layout
----------------
Weights multiply from the right, as in *Dive into Deep Learning*: ``X @ W_xi``. One matrix
per gate and source, one bias per gate (``h`` = ``num_hiddens``, ``d`` = ``num_inputs``):

==========  ==============  ==========================================================
name        shape           role
==========  ==============  ==========================================================
``W_x*``    ``(d, h)``      input ``X_t`` to gate ``*``
``W_h*``    ``(h, h)``      previous state ``H_{t-1}`` to gate ``*``
``b_*``     ``(h,)``        bias of gate ``*``
``b_hh``    ``(h,)``        GRU, ``reset_after=True``: the candidate's bias inside the reset product
``w_c*``    ``(h,)``        LSTM ``"peephole"``: the cell's weights on gate ``i``, ``f``, ``o``
==========  ==============  ==========================================================

The gates ``*`` of each cell, in **our order** (:data:`GATES`), which every file of the
course uses (the fused weights of :mod:`seqlib.fused` stack their blocks in this order too):

=================  ===============  ==========================================================
cell               gates            meaning
=================  ===============  ==========================================================
``"rnn"``          ``h``            the new state itself
``"lstm"``         ``i, f, o, c``   input, forget, output gate; candidate cell
``"cifg"``         ``f, o, c``      LSTM with coupled input-forget gate, ``I = 1 - F``
``"no_forget"``    ``i, o, c``      LSTM without forget gate, ``F = 1``
``"peephole"``     ``i, f, o, c``   LSTM whose gates also see the cell (``w_ci, w_cf, w_co``)
``"gru"``          ``r, z, h``      reset gate, update gate, candidate state
``"mlstm"``        ``i, f, o, c``   multiplicative LSTM (Krause et al. 2016): ``M_t`` replaces ``H_{t-1}``
``"mgru"``         ``r, z, h``      multiplicative GRU, built the same way (``reset_after=True``)
=================  ===============  ==========================================================

The multiplicative cells (:data:`MULTIPLICATIVE`) first form the intermediate state
``M_t = (X_t W_xm) * (H_{t-1} W_hm)`` (element-wise product; ``W_xm`` ``(d, h)``, ``W_hm`` ``(h, h)``),
then run the gates of their base cell with ``M_t`` in place of ``H_{t-1}``: their recurrent
weights are named ``W_m*`` (``(h, h)``) instead of ``W_h*``. ``torch.nn`` has no such cells.

PyTorch's order (:data:`TORCH_GATES`): ``torch.nn`` stacks the gates in one matrix per source,
transposed (``weight_ih_l0`` is ``(G * h, d)``), the LSTM's blocks in the order **i, f, g, o**
(``g`` is our candidate ``c``), the GRU's **r, z, n** (``n`` is our candidate ``h``). It keeps two
biases, ``bias_ih`` and ``bias_hh``; only their sum matters, except for the GRU's candidate, whose
``bias_hh`` block sits inside the reset product (our ``b_hh``). Its states carry a leading layer
axis, ``(num_layers, batch_size, h)``; here a state is ``(batch_size, h)``.
:func:`to_torch` and :func:`from_torch` copy parameters across.

Where things are (all importable from ``seqlib.cells``)
-------------------------------------------------------
``seqlib.cells.equations``: the gate tables, the one initialisation and the equations in two layers;
``seqlib.cells.layers``: the scratch layers over a sequence and the copies to and from ``torch.nn``.

* the **element-wise part** of a step, from the gates' pre-activations
  (:func:`rnn_pointwise`, :func:`lstm_pointwise`, :func:`gru_pointwise`): the equations, shared
  with the fused speed forms, which compute the pre-activations with one matrix product;
* the **step** (:func:`rnn_step`, :func:`lstm_step`, :func:`gru_step`, :func:`mlstm_step`,
  :func:`mgru_step`): pre-activations gate by gate (the multiplicative ones after
  :func:`multiplicative_state`), then the element-wise part;
* the **layers** :class:`RNNScratch`, :class:`LSTMScratch`, :class:`GRUScratch`,
  :class:`MLSTMScratch`, :class:`MGRUScratch`: the step looped over a sequence
  (:data:`SCRATCH_LAYERS` by name).

Per-step code checks nothing: the models built on these cells check their input once per call.
"""

from seqlib.cells.equations import (GATES, GRU_PARAM_NAMES, LSTM_PARAM_NAMES, LSTM_VARIANTS, MULTIPLICATIVE,
                                    PEEPHOLES, RNN_PARAM_NAMES, TORCH_GATES, gru_pointwise, gru_step, init_params,
                                    init_tensor, lstm_pointwise, lstm_step, mgru_step, mlstm_step,
                                    multiplicative_state, param_names, param_shape, rnn_pointwise, rnn_step)
from seqlib.cells.layers import (SCRATCH_LAYERS, GRUScratch, LSTMScratch, MGRUScratch, MLSTMScratch, RNNScratch,
                                 from_torch, to_torch)

__all__ = [
    "GATES", "TORCH_GATES", "LSTM_VARIANTS", "PEEPHOLES", "MULTIPLICATIVE", "param_names", "param_shape",
    "RNN_PARAM_NAMES", "LSTM_PARAM_NAMES", "GRU_PARAM_NAMES",
    "init_tensor", "init_params",
    "rnn_pointwise", "lstm_pointwise", "gru_pointwise", "multiplicative_state",
    "rnn_step", "lstm_step", "gru_step", "mlstm_step", "mgru_step",
    "RNNScratch", "LSTMScratch", "GRUScratch", "MLSTMScratch", "MGRUScratch", "SCRATCH_LAYERS",
    "to_torch", "from_torch",
]
