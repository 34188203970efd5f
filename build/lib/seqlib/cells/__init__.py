r"""The recurrent cells, written once: RNN, LSTM (and its variants), GRU (both forms), mLSTM, mGRU.

The only home of the recurrence equations (:mod:`seqlib.lm`, :mod:`seqlib.d2l`, :mod:`seqlib.fused` and the
checks call them). Parameters multiply from the right, as in D2L (``X @ W_xi``); one matrix per gate and source, one
bias per gate (``h`` = ``num_hiddens``, ``d`` = ``num_inputs``):

==========  ==========  ==========================================================================
``W_x*``    ``(d, h)``  input ``X_t`` to gate ``*``
``W_h*``    ``(h, h)``  previous state ``H_{t-1}`` to gate ``*`` (``W_m*``: from ``M_t``, the
                        multiplicative cells)
``b_*``     ``(h,)``    bias of gate ``*``; ``b_hh``: GRU ``reset_after=True``, the candidate's bias
                        inside the reset product
``w_c*``    ``(h,)``    LSTM ``"peephole"``: the cell's weights on gates ``i``, ``f``, ``o``
==========  ==========  ==========================================================================

Gates in **our order** (:data:`GATES`, also the block order of the fused weights):

=================  ===============  =========================================================
``"rnn"``          ``h``            the new state itself
``"lstm"``         ``i, f, o, c``   input, forget, output gate; candidate cell
``"cifg"``         ``f, o, c``      coupled input-forget gate, ``I = 1 - F``
``"no_forget"``    ``i, o, c``      no forget gate, ``F = 1``
``"peephole"``     ``i, f, o, c``   the gates also see the cell (``w_ci, w_cf, w_co``)
``"gru"``          ``r, z, h``      reset gate, update gate, candidate state
``"mlstm"``        ``i, f, o, c``   multiplicative LSTM (Krause et al. 2016)
``"mgru"``         ``r, z, h``      multiplicative GRU (``reset_after=True``)
=================  ===============  =========================================================

The multiplicative cells (:data:`MULTIPLICATIVE`) run the gates of their base cell on
:math:`M_t = (X_t W_{xm}) \odot (H_{t-1} W_{hm})` in place of :math:`H_{t-1}`.
``torch.nn`` (:data:`TORCH_GATES`) stacks the gates per source, transposed (``weight_ih_l0``
``(G * h, d)``), the LSTM's as i, f, g(=c), o and the GRU's as r, z, n(=h), with two biases of which
only the sum matters (except the GRU candidate's ``bias_hh``, our ``b_hh``); :func:`to_torch` and
:func:`from_torch` copy across.

``seqlib.cells.equations``: the tables, :func:`init_params`, the element-wise parts (``*_pointwise``), the steps;
``seqlib.cells.layers``: the steps over a sequence (:data:`SCRATCH_LAYERS`), copies to and from ``torch.nn``.
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
