"""The cells with clear errors for bad input: one checked step of each cell (see :mod:`seqlib.cells`)."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from seqlib.cells.equations import (LSTM_VARIANTS, RNN_PARAM_NAMES, gru_step, lstm_step, mgru_step, mlstm_step,
                                    param_names, param_shape, rnn_step)

# ----------------------------------------------------------------------------------------
# Input checks shared by the cells
# ----------------------------------------------------------------------------------------

def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)} ({x.dtype})"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    shape = getattr(x, "shape", None)
    return f"a {type(x).__name__}" + (f" of shape {tuple(shape)}" if shape is not None else "")


def _check_params(params, names, cell, init):
    if not isinstance(params, Mapping):
        raise TypeError(f"{cell}: params must be a dict of tensors named {', '.join(names)}; "
                        f"got {type(params).__name__}. Build one with {init}.")
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"{cell}: params is missing {', '.join(missing)} "
                         f"(it needs {', '.join(names)}); build them with {init}.")
    W = params[names[0]]
    if not isinstance(W, torch.Tensor) or W.dim() != 2:
        raise ValueError(f"{cell}: params[{names[0]!r}] must be a 2-D tensor (num_inputs, num_hiddens); "
                         f"got {_describe(W)}")
    num_inputs, num_hiddens = W.shape
    for n in names:
        p = params[n]
        want = param_shape(n, num_inputs, num_hiddens)
        if not isinstance(p, torch.Tensor) or tuple(p.shape) != want:
            raise ValueError(f"{cell}: params[{n!r}] should have shape {want} "
                             f"(num_inputs={num_inputs}, num_hiddens={num_hiddens}); got {_describe(p)}")
    return num_inputs, num_hiddens, W.dtype


def _check_X(X, num_inputs, dtype, cell, sequence_class):
    if not isinstance(X, torch.Tensor):
        raise TypeError(f"{cell}: X must be a torch.Tensor of shape (batch_size, num_inputs); got {_describe(X)}. "
                        "Convert NumPy arrays with torch.as_tensor(X).")
    if X.dim() == 3:
        raise ValueError(f"{cell}: X has shape {tuple(X.shape)}, but a cell takes ONE time step of shape "
                         f"(batch_size, num_inputs). For a sequence (num_steps, batch_size, num_inputs) "
                         f"use {sequence_class} or loop over X[t].")
    if X.dim() != 2:
        hint = " For a single example use X.unsqueeze(0)." if X.dim() == 1 else ""
        raise ValueError(f"{cell}: X must have shape (batch_size, num_inputs); got shape {tuple(X.shape)}.{hint}")
    if X.shape[1] != num_inputs:
        raise ValueError(f"{cell}: X has {X.shape[1]} features (shape {tuple(X.shape)}) but the parameters "
                         f"expect num_inputs={num_inputs}.")
    if X.dtype != dtype:
        raise TypeError(f"{cell}: X is {X.dtype} but the parameters are {dtype}; convert one of them, "
                        f"e.g. X.to({dtype}).")


def _check_state_tensor(S, name, batch_size, num_hiddens, dtype, cell):
    if not isinstance(S, torch.Tensor):
        raise TypeError(f"{cell}: {name} must be a tensor of shape ({batch_size}, {num_hiddens}); got {_describe(S)}")
    if tuple(S.shape) != (batch_size, num_hiddens):
        hint = ""
        if S.dim() == 3 and S.shape[0] == 1:
            hint = f" (nn.LSTM/nn.GRU states have a leading layer axis: pass {name}[0])"
        raise ValueError(f"{cell}: {name} must have shape (batch_size, num_hiddens) = ({batch_size}, {num_hiddens}) "
                         f"to match X and the parameters; got {tuple(S.shape)}{hint}.")
    if S.dtype != dtype:
        raise TypeError(f"{cell}: {name} is {S.dtype} but the parameters are {dtype}; convert it with {name}.to({dtype}).")


def _checked(cell, X, params, names, init, sequence_class):
    num_inputs, num_hiddens, dtype = _check_params(params, names, cell, init)
    _check_X(X, num_inputs, dtype, cell, sequence_class)
    return num_hiddens, dtype


def _single_state(H, X, num_hiddens, dtype, cell):
    if H is None:
        return torch.zeros(X.shape[0], num_hiddens, dtype=dtype, device=X.device)
    if isinstance(H, (tuple, list)):
        raise TypeError(f"{cell}: the state is the single tensor H of shape (batch_size, num_hiddens); "
                        f"got {_describe(H)} (an LSTM's (H, C)?). Pass H itself, or None for zeros.")
    _check_state_tensor(H, "H", X.shape[0], num_hiddens, dtype, cell)
    return H


def _lstm_state(state, X, num_hiddens, dtype, cell="lstm_cell"):
    batch_size = X.shape[0]
    if state is None:
        zeros = torch.zeros(batch_size, num_hiddens, dtype=dtype, device=X.device)
        return zeros, zeros
    if isinstance(state, torch.Tensor):
        raise TypeError(f"{cell}: state must be the tuple (H, C) of hidden and cell state, each of shape "
                        f"(batch_size, num_hiddens); got a single tensor of shape {tuple(state.shape)}. "
                        "An LSTM carries a cell state C besides H: pass (H, C), or None for zeros.")
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError(f"{cell}: state must be the tuple (H, C) or None; got {_describe(state)}.")
    H, C = state
    _check_state_tensor(H, "H", batch_size, num_hiddens, dtype, cell)
    _check_state_tensor(C, "C", batch_size, num_hiddens, dtype, cell)
    return H, C


# ----------------------------------------------------------------------------------------
# The cells: one step with clear errors
# ----------------------------------------------------------------------------------------

def rnn_cell(X: torch.Tensor, H, params: Mapping[str, torch.Tensor]):
    r"""One plain RNN step with input checks: :math:`H_t = \tanh(X_t W_{xh} + H_{t-1} W_{hh} + b_h)`.

    ``X``: ``(batch_size, num_inputs)``; ``H``: ``(batch_size, num_hiddens)`` or ``None`` for zeros;
    ``params``: see :data:`RNN_PARAM_NAMES`. Returns the new ``H``, also the output.
    """
    num_hiddens, dtype = _checked("rnn_cell", X, params, RNN_PARAM_NAMES,
                                  "init_params('rnn', num_inputs, num_hiddens)", "RNNScratch")
    return rnn_step(X, _single_state(H, X, num_hiddens, dtype, "rnn_cell"), params)


def lstm_cell(X: torch.Tensor, state, params: Mapping[str, torch.Tensor], *, variant: str = "lstm"):
    r"""One LSTM step with input checks: return the new state ``(H, C)`` (see :func:`lstm_pointwise`).

    .. math::

        I_t &= \sigma(X_t W_{xi} + H_{t-1} W_{hi} + b_i)            &\text{input gate}\\
        F_t &= \sigma(X_t W_{xf} + H_{t-1} W_{hf} + b_f)            &\text{forget gate}\\
        O_t &= \sigma(X_t W_{xo} + H_{t-1} W_{ho} + b_o)            &\text{output gate}\\
        \tilde C_t &= \tanh(X_t W_{xc} + H_{t-1} W_{hc} + b_c)      &\text{candidate cell}\\
        C_t &= F_t \odot C_{t-1} + I_t \odot \tilde C_t            &\text{cell state}\\
        H_t &= O_t \odot \tanh(C_t)                                 &\text{hidden state}

    ================  ==============================
    argument          shape
    ================  ==============================
    ``X``             ``(batch_size, num_inputs)``
    ``state``         ``(H, C)``, each ``(batch_size, num_hiddens)``, or ``None`` for zeros
    ``params``        :func:`param_names` of ``variant`` (:data:`LSTM_PARAM_NAMES` for the standard LSTM)
    returns           ``(H, C)``, each ``(batch_size, num_hiddens)``; ``H`` is also the output
    ================  ==============================
    """
    if variant not in LSTM_VARIANTS:
        raise ValueError(f"unknown LSTM variant {variant!r}; choose one of {list(LSTM_VARIANTS)}")
    init = "init_params('lstm', num_inputs, num_hiddens)" if variant == "lstm" else \
        f"init_params({variant!r}, num_inputs, num_hiddens)"
    num_hiddens, dtype = _checked("lstm_cell", X, params, param_names(variant), init, "LSTMScratch")
    H, C = _lstm_state(state, X, num_hiddens, dtype)
    return lstm_step(X, H, C, params, variant)


def gru_cell(X: torch.Tensor, H, params: Mapping[str, torch.Tensor], *, reset_after: bool = True):
    r"""One GRU step with input checks: return the new hidden state ``H`` (see :func:`gru_pointwise`).

    .. math::

        R_t &= \sigma(X_t W_{xr} + H_{t-1} W_{hr} + b_r)        &\text{reset gate}\\
        Z_t &= \sigma(X_t W_{xz} + H_{t-1} W_{hz} + b_z)        &\text{update gate}\\
        \tilde H_t &= \tanh\big(X_t W_{xh} + b_h + R_t \odot (H_{t-1} W_{hh} + b_{hh})\big)
                                                                 &\text{candidate (reset\_after=True)}\\
        \tilde H_t &= \tanh\big(X_t W_{xh} + (R_t \odot H_{t-1}) W_{hh} + b_h\big)
                                                                 &\text{candidate (reset\_after=False)}\\
        H_t &= Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde H_t

    ``reset_after=True`` (the default) is what ``torch.nn.GRU`` and cuDNN compute: the
    reset gate scales the candidate's recurrent term *after* the matrix product, and that
    term has its own bias ``b_hh``. ``reset_after=False`` is the formulation of Cho et al.
    (2014) and *Dive into Deep Learning*: the gate resets the state *before* the product,
    and ``b_hh`` is not used. Both are GRUs; only the first matches ``nn.GRU`` exactly.

    ================  ==============================
    argument          shape
    ================  ==============================
    ``X``             ``(batch_size, num_inputs)``
    ``H``             ``(batch_size, num_hiddens)``, or ``None`` for zeros
    ``params``        see :data:`GRU_PARAM_NAMES` (``b_hh`` only with ``reset_after=True``)
    returns           ``H``, ``(batch_size, num_hiddens)``, also the output
    ================  ==============================
    """
    init = f"init_params('gru', num_inputs, num_hiddens, reset_after={reset_after})"
    num_hiddens, dtype = _checked("gru_cell", X, params, param_names("gru", reset_after=reset_after), init,
                                  "GRUScratch")
    return gru_step(X, _single_state(H, X, num_hiddens, dtype, "gru_cell"), params, reset_after)


def mlstm_cell(X: torch.Tensor, state, params: Mapping[str, torch.Tensor]):
    r"""One multiplicative LSTM step with input checks (Krause et al. 2016): the new ``(H, C)``.

    The LSTM of :func:`lstm_cell` in which the intermediate state :math:`M_t` replaces
    :math:`H_{t-1}` in every gate (see :func:`mlstm_step`):

    .. math::

        M_t &= (X_t W_{xm}) \odot (H_{t-1} W_{hm})                  &\text{intermediate state}\\
        I_t &= \sigma(X_t W_{xi} + M_t W_{mi} + b_i), \quad F_t = \sigma(X_t W_{xf} + M_t W_{mf} + b_f)\\
        O_t &= \sigma(X_t W_{xo} + M_t W_{mo} + b_o), \quad \tilde C_t = \tanh(X_t W_{xc} + M_t W_{mc} + b_c)\\
        C_t &= F_t \odot C_{t-1} + I_t \odot \tilde C_t, \qquad H_t = O_t \odot \tanh(C_t)

    ================  ==============================
    argument          shape
    ================  ==============================
    ``X``             ``(batch_size, num_inputs)``
    ``state``         ``(H, C)``, each ``(batch_size, num_hiddens)``, or ``None`` for zeros
    ``params``        ``W_xm`` ``(d, h)``, ``W_hm`` ``(h, h)``; per gate ``W_x*`` ``(d, h)``, ``W_m*`` ``(h, h)``, ``b_*``
    returns           ``(H, C)``, each ``(batch_size, num_hiddens)``; ``H`` is also the output
    ================  ==============================
    """
    num_hiddens, dtype = _checked("mlstm_cell", X, params, param_names("mlstm"),
                                  "init_params('mlstm', num_inputs, num_hiddens)", "MLSTMScratch")
    H, C = _lstm_state(state, X, num_hiddens, dtype, "mlstm_cell")
    return mlstm_step(X, H, C, params)


def mgru_cell(X: torch.Tensor, H, params: Mapping[str, torch.Tensor]):
    r"""One multiplicative GRU step with input checks: the new ``H`` (see :func:`mgru_step`).

    The GRU of :func:`gru_cell` (``reset_after=True``) in which :math:`M_t` replaces
    :math:`H_{t-1}` inside the gates and the candidate, built as Krause et al. (2016) built the
    mLSTM (there is no separate paper for it):

    .. math::

        M_t &= (X_t W_{xm}) \odot (H_{t-1} W_{hm})                  &\text{intermediate state}\\
        R_t &= \sigma(X_t W_{xr} + M_t W_{mr} + b_r), \quad Z_t = \sigma(X_t W_{xz} + M_t W_{mz} + b_z)\\
        \tilde H_t &= \tanh\big(X_t W_{xh} + b_h + R_t \odot (M_t W_{mh} + b_{hh})\big)\\
        H_t &= Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde H_t

    ================  ==============================
    argument          shape
    ================  ==============================
    ``X``             ``(batch_size, num_inputs)``
    ``H``             ``(batch_size, num_hiddens)``, or ``None`` for zeros
    ``params``        ``W_xm``, ``W_hm``; per gate r, z, h: ``W_x*``, ``W_m*``, ``b_*``; and ``b_hh``
    returns           ``H``, ``(batch_size, num_hiddens)``, also the output
    ================  ==============================
    """
    num_hiddens, dtype = _checked("mgru_cell", X, params, param_names("mgru"),
                                  "init_params('mgru', num_inputs, num_hiddens)", "MGRUScratch")
    return mgru_step(X, _single_state(H, X, num_hiddens, dtype, "mgru_cell"), params)
