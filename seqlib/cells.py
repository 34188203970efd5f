"""From-scratch recurrent cells in PyTorch: the LSTM and the GRU, one time step at a time.

The cells are plain functions of explicit parameters, written like the textbook
equations, plus small ``nn.Module`` wrappers that run them over a sequence. They
give the same numbers as ``torch.nn.LSTM`` / ``torch.nn.GRU`` once the parameters
are copied across (:func:`lstm_to_torch`, :func:`gru_to_torch` and back).

Parameter layout
----------------
Weights multiply from the right, as in *Dive into Deep Learning*: ``X @ W_xi``.
One matrix per gate and source, one bias per gate:

==========  ==============================  ================================
name        shape                           role
==========  ==============================  ================================
``W_x*``    ``(num_inputs, num_hiddens)``   input ``X_t`` to gate ``*``
``W_h*``    ``(num_hiddens, num_hiddens)``  previous state ``H_{t-1}`` to gate ``*``
``b_*``     ``(num_hiddens,)``              bias of gate ``*``
==========  ==============================  ================================

LSTM gates ``*``: ``i`` (input), ``f`` (forget), ``o`` (output), ``c`` (candidate
cell). GRU gates: ``r`` (reset), ``z`` (update), ``h`` (candidate state), and
``b_hh``, the candidate's bias inside the reset product (see :func:`gru_cell`).

Differences from ``torch.nn``
-----------------------------
* PyTorch stacks the gates in one matrix per source, transposed:
  ``weight_ih_l0`` is ``(4 * num_hiddens, num_inputs)`` with the LSTM's blocks in
  the order **i, f, g, o** (``g`` is our candidate ``c``), the GRU's in the order
  **r, z, n** (``n`` is our candidate ``h``).
* PyTorch keeps two biases, ``bias_ih`` and ``bias_hh``; only their sum matters
  except for the GRU candidate, where ``bias_hh``'s block sits inside the reset
  product (our ``b_hh``).
* ``nn.LSTM`` and ``nn.GRU`` carry the state with a leading layer axis,
  ``(num_layers, batch_size, num_hiddens)``; here a state is ``(batch_size, num_hiddens)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

__all__ = [
    "LSTM_PARAM_NAMES", "GRU_PARAM_NAMES",
    "init_lstm_params", "init_gru_params", "lstm_cell", "gru_cell",
    "LSTMScratch", "GRUScratch",
    "lstm_to_torch", "lstm_from_torch", "gru_to_torch", "gru_from_torch",
]

LSTM_GATES = ("i", "f", "o", "c")
LSTM_PARAM_NAMES = tuple(f"{p}{g}" for g in LSTM_GATES for p in ("W_x", "W_h", "b_"))
GRU_GATES = ("r", "z", "h")
GRU_PARAM_NAMES = tuple(f"{p}{g}" for g in GRU_GATES for p in ("W_x", "W_h", "b_")) + ("b_hh",)

_TORCH_LSTM_ORDER = ("i", "f", "c", "o")  # PyTorch's i, f, g, o
_TORCH_GRU_ORDER = ("r", "z", "h")  # PyTorch's r, z, n


# ----------------------------------------------------------------------------------------
# Parameters
# ----------------------------------------------------------------------------------------

def _init_params(gates, num_inputs, num_hiddens, generator, dtype, extra_biases=()):
    for name, value in (("num_inputs", num_inputs), ("num_hiddens", num_hiddens)):
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    bound = 1.0 / math.sqrt(num_hiddens)  # PyTorch's initialisation of nn.LSTM / nn.GRU

    def uniform(*shape):
        return (torch.rand(*shape, generator=generator, dtype=dtype) * 2 - 1) * bound

    params = {}
    for g in gates:
        params[f"W_x{g}"] = uniform(num_inputs, num_hiddens)
        params[f"W_h{g}"] = uniform(num_hiddens, num_hiddens)
        params[f"b_{g}"] = uniform(num_hiddens)
    for name in extra_biases:
        params[name] = uniform(num_hiddens)
    return params


def init_lstm_params(num_inputs: int, num_hiddens: int, *, generator: torch.Generator | None = None,
                     dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Random LSTM parameters ``{"W_xi": ..., "W_hi": ..., "b_i": ..., ...}`` (see the module docstring).

    Drawn uniformly from ``(-1/sqrt(num_hiddens), 1/sqrt(num_hiddens))`` like ``nn.LSTM``'s.
    """
    return _init_params(LSTM_GATES, num_inputs, num_hiddens, generator, dtype)


def init_gru_params(num_inputs: int, num_hiddens: int, *, reset_after: bool = True,
                    generator: torch.Generator | None = None,
                    dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Random GRU parameters ``{"W_xr": ..., ..., "b_h": ...}``, plus ``"b_hh"`` when ``reset_after``."""
    extra = ("b_hh",) if reset_after else ()
    return _init_params(GRU_GATES, num_inputs, num_hiddens, generator, dtype, extra)


# ----------------------------------------------------------------------------------------
# Input checks shared by the cells
# ----------------------------------------------------------------------------------------

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
        if n.startswith("W_x"):
            want = (num_inputs, num_hiddens)
        elif n.startswith("W_h"):
            want = (num_hiddens, num_hiddens)
        else:
            want = (num_hiddens,)
        if not isinstance(p, torch.Tensor) or tuple(p.shape) != want:
            raise ValueError(f"{cell}: params[{n!r}] should have shape {want} "
                             f"(num_inputs={num_inputs}, num_hiddens={num_hiddens}); got {_describe(p)}")
    return num_inputs, num_hiddens, W.dtype


def _describe(x) -> str:
    if isinstance(x, torch.Tensor):
        return f"a tensor of shape {tuple(x.shape)} ({x.dtype})"
    if isinstance(x, (tuple, list)):
        return f"a {type(x).__name__} of {len(x)} items"
    shape = getattr(x, "shape", None)
    return f"a {type(x).__name__}" + (f" of shape {tuple(shape)}" if shape is not None else "")


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


def _lstm_state(state, X, num_hiddens, dtype):
    batch_size = X.shape[0]
    if state is None:
        zeros = torch.zeros(batch_size, num_hiddens, dtype=dtype, device=X.device)
        return zeros, zeros
    if isinstance(state, torch.Tensor):
        raise TypeError("lstm_cell: state must be the tuple (H, C) of hidden and cell state, each of shape "
                        f"(batch_size, num_hiddens); got a single tensor of shape {tuple(state.shape)}. "
                        "An LSTM carries a cell state C besides H: pass (H, C), or None for zeros.")
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise TypeError(f"lstm_cell: state must be the tuple (H, C) or None; got {_describe(state)}.")
    H, C = state
    _check_state_tensor(H, "H", batch_size, num_hiddens, dtype, "lstm_cell")
    _check_state_tensor(C, "C", batch_size, num_hiddens, dtype, "lstm_cell")
    return H, C


def _gru_state(H, X, num_hiddens, dtype):
    batch_size = X.shape[0]
    if H is None:
        return torch.zeros(batch_size, num_hiddens, dtype=dtype, device=X.device)
    if isinstance(H, (tuple, list)):
        raise TypeError(f"gru_cell: the GRU state is the single tensor H of shape (batch_size, num_hiddens); "
                        f"got {_describe(H)} (an LSTM's (H, C)?). Pass H itself, or None for zeros.")
    _check_state_tensor(H, "H", batch_size, num_hiddens, dtype, "gru_cell")
    return H


# ----------------------------------------------------------------------------------------
# The cells
# ----------------------------------------------------------------------------------------

def lstm_cell(X: torch.Tensor, state, params: Mapping[str, torch.Tensor]):
    r"""One LSTM time step: return the new state ``(H, C)``.

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
    ``params``        see :data:`LSTM_PARAM_NAMES` and the module docstring
    returns           ``(H, C)``, each ``(batch_size, num_hiddens)``; ``H`` is also the output
    ================  ==============================
    """
    p = params
    num_inputs, num_hiddens, dtype = _check_params(p, LSTM_PARAM_NAMES, "lstm_cell",
                                                   "init_lstm_params(num_inputs, num_hiddens)")
    _check_X(X, num_inputs, dtype, "lstm_cell", "LSTMScratch")
    H, C = _lstm_state(state, X, num_hiddens, dtype)
    I = torch.sigmoid(X @ p["W_xi"] + H @ p["W_hi"] + p["b_i"])
    F = torch.sigmoid(X @ p["W_xf"] + H @ p["W_hf"] + p["b_f"])
    O = torch.sigmoid(X @ p["W_xo"] + H @ p["W_ho"] + p["b_o"])
    C_tilde = torch.tanh(X @ p["W_xc"] + H @ p["W_hc"] + p["b_c"])
    C = F * C + I * C_tilde
    H = O * torch.tanh(C)
    return H, C


def gru_cell(X: torch.Tensor, H, params: Mapping[str, torch.Tensor], *, reset_after: bool = True):
    r"""One GRU time step: return the new hidden state ``H``.

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
    p = params
    names = GRU_PARAM_NAMES if reset_after else GRU_PARAM_NAMES[:-1]
    init = f"init_gru_params(num_inputs, num_hiddens, reset_after={reset_after})"
    num_inputs, num_hiddens, dtype = _check_params(p, names, "gru_cell", init)
    _check_X(X, num_inputs, dtype, "gru_cell", "GRUScratch")
    H = _gru_state(H, X, num_hiddens, dtype)
    R = torch.sigmoid(X @ p["W_xr"] + H @ p["W_hr"] + p["b_r"])
    Z = torch.sigmoid(X @ p["W_xz"] + H @ p["W_hz"] + p["b_z"])
    if reset_after:
        H_tilde = torch.tanh(X @ p["W_xh"] + p["b_h"] + R * (H @ p["W_hh"] + p["b_hh"]))
    else:
        H_tilde = torch.tanh(X @ p["W_xh"] + (R * H) @ p["W_hh"] + p["b_h"])
    return Z * H + (1 - Z) * H_tilde


# ----------------------------------------------------------------------------------------
# Modules: the cells over a sequence
# ----------------------------------------------------------------------------------------

def _check_inputs(inputs, name):
    if not isinstance(inputs, torch.Tensor) or inputs.dim() != 3:
        raise ValueError(f"{name}: inputs must be a tensor of shape (num_steps, batch_size, num_inputs); "
                         f"got {_describe(inputs)}. For one time step call the cell function directly.")


class _Scratch(nn.Module):
    """What the scratch layers share: named parameters, the loop over time, copies from torch."""

    names: tuple = ()

    def step(self, X, state):
        """One time step: the new state from ``X`` ``(batch_size, num_inputs)`` and the old state."""
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor, state=None):
        _check_inputs(inputs, type(self).__name__)
        outputs = []
        for X in inputs:
            state = self.step(X, state)
            outputs.append(state[0] if isinstance(state, tuple) else state)  # H is the output
        return torch.stack(outputs), state

    @classmethod
    def from_torch(cls, module: nn.Module):
        """A scratch layer holding a copy of a one-layer ``torch.nn`` module's parameters."""
        params = cls._read_torch(module)
        num_inputs, num_hiddens = params[cls.names[0]].shape
        return cls(num_inputs, num_hiddens, dtype=params[cls.names[0]].dtype).load_params(params)

    def _register(self, params):
        for name, value in params.items():
            setattr(self, name, nn.Parameter(value))

    @property
    def params(self) -> dict[str, nn.Parameter]:
        """The parameters by name (the dict the cell function takes)."""
        return {n: getattr(self, n) for n in self.names}

    @torch.no_grad()
    def load_params(self, params: Mapping) -> "_Scratch":
        """Copy values (tensors or NumPy arrays, same shapes) into this module's parameters; return self."""
        missing = [n for n in self.names if n not in params]
        if missing:
            raise ValueError(f"{type(self).__name__}.load_params: missing {', '.join(missing)}")
        for n in self.names:
            target = getattr(self, n)
            value = torch.as_tensor(params[n], dtype=target.dtype)
            if value.shape != target.shape:
                raise ValueError(f"{type(self).__name__}.load_params: {n} has shape {tuple(value.shape)}, "
                                 f"this module needs {tuple(target.shape)}")
            target.copy_(value)
        return self

    def extra_repr(self) -> str:
        return f"num_inputs={self.num_inputs}, num_hiddens={self.num_hiddens}"


class LSTMScratch(_Scratch):
    """An LSTM layer built on :func:`lstm_cell`: the loop over time, like ``nn.LSTM`` with one layer.

    ``forward(inputs, state=None)`` takes ``inputs`` of shape ``(num_steps, batch_size, num_inputs)``
    and ``state`` ``(H, C)`` (each ``(batch_size, num_hiddens)``) or ``None``; it returns
    ``outputs`` of shape ``(num_steps, batch_size, num_hiddens)`` (every ``H_t``) and the last ``(H, C)``.
    ``step(X, state)`` is one time step; ``LSTMScratch.from_torch(module)`` copies an ``nn.LSTM``
    (one layer) or ``nn.LSTMCell``.
    """

    names = LSTM_PARAM_NAMES

    def __init__(self, num_inputs: int, num_hiddens: int, *, dtype: torch.dtype = torch.float32,
                 generator: torch.Generator | None = None):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self._register(init_lstm_params(num_inputs, num_hiddens, generator=generator, dtype=dtype))

    def step(self, X, state):
        return lstm_cell(X, state, self.params)

    @staticmethod
    def _read_torch(module):
        return lstm_from_torch(module)


class GRUScratch(_Scratch):
    """A GRU layer built on :func:`gru_cell`, like ``nn.GRU`` with one layer.

    ``forward(inputs, state=None)`` takes ``inputs`` of shape ``(num_steps, batch_size, num_inputs)``
    and the initial hidden state ``H`` (``(batch_size, num_hiddens)``) or ``None``; it returns
    ``outputs`` ``(num_steps, batch_size, num_hiddens)`` and the last ``H``.
    ``reset_after=True`` matches ``nn.GRU``; ``False`` is the D2L / Cho et al. formulation.
    ``step(X, H)`` is one time step; ``GRUScratch.from_torch(module)`` copies an ``nn.GRU``
    (one layer) or ``nn.GRUCell`` (into a ``reset_after=True`` GRU).
    """

    names = GRU_PARAM_NAMES

    def __init__(self, num_inputs: int, num_hiddens: int, *, reset_after: bool = True,
                 dtype: torch.dtype = torch.float32, generator: torch.Generator | None = None):
        super().__init__()
        self.num_inputs, self.num_hiddens, self.reset_after = num_inputs, num_hiddens, reset_after
        self.names = GRU_PARAM_NAMES if reset_after else GRU_PARAM_NAMES[:-1]
        self._register(init_gru_params(num_inputs, num_hiddens, reset_after=reset_after,
                                       generator=generator, dtype=dtype))

    def step(self, X, H):
        return gru_cell(X, H, self.params, reset_after=self.reset_after)

    @staticmethod
    def _read_torch(module):
        return gru_from_torch(module)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", reset_after={self.reset_after}"


# ----------------------------------------------------------------------------------------
# Copying parameters to and from torch.nn
# ----------------------------------------------------------------------------------------

def _torch_tensors(module, kind):
    """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of a one-layer nn.LSTM/nn.GRU or an nn.*Cell."""
    rnn_cls, cell_cls = (nn.LSTM, nn.LSTMCell) if kind == "LSTM" else (nn.GRU, nn.GRUCell)
    if isinstance(module, rnn_cls):
        problems = []
        if module.num_layers != 1:
            problems.append(f"num_layers={module.num_layers} (copy one layer at a time)")
        if module.bidirectional:
            problems.append("bidirectional=True")
        if getattr(module, "proj_size", 0):
            problems.append(f"proj_size={module.proj_size}")
        if not module.bias:
            problems.append("bias=False")
        if problems:
            raise ValueError(f"only a one-layer, one-direction nn.{kind} with biases maps onto the scratch cell; "
                             f"this one has {', '.join(problems)}")
        suffix = "_l0"
    elif isinstance(module, cell_cls):
        if not module.bias:
            raise ValueError(f"nn.{kind}Cell(bias=False) has no biases; create it with bias=True")
        suffix = ""
    else:
        raise TypeError(f"expected an nn.{kind} or nn.{kind}Cell, got {type(module).__name__}")
    return tuple(getattr(module, f"{n}{suffix}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def _as_tensors(params, names, dtype, device):
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"params is missing {', '.join(missing)} (it needs {', '.join(names)})")
    return {n: torch.as_tensor(params[n]).to(dtype=dtype, device=device) for n in names}


def _copy(dst, src, what):
    if tuple(dst.shape) != tuple(src.shape):
        raise ValueError(f"{what}: the torch module has shape {tuple(dst.shape)} but the parameters give "
                         f"{tuple(src.shape)}; create the module with matching input_size and hidden_size")
    dst.copy_(src)


@torch.no_grad()
def lstm_to_torch(params: Mapping, module: nn.Module) -> nn.Module:
    """Copy LSTM parameters (tensors or NumPy arrays, layout of :func:`lstm_cell`) into ``module``.

    ``module`` is a one-layer ``nn.LSTM`` or an ``nn.LSTMCell``. The gates are stacked in
    PyTorch's order i, f, g, o and transposed; each gate's bias goes to ``bias_ih`` and
    ``bias_hh`` is set to zero (``nn.LSTM`` only uses their sum). Returns ``module``.
    """
    W_ih, W_hh, b_ih, b_hh = _torch_tensors(module, "LSTM")
    p = _as_tensors(params, LSTM_PARAM_NAMES, W_ih.dtype, W_ih.device)
    _copy(W_ih, torch.cat([p[f"W_x{g}"].T for g in _TORCH_LSTM_ORDER]), "weight_ih")
    _copy(W_hh, torch.cat([p[f"W_h{g}"].T for g in _TORCH_LSTM_ORDER]), "weight_hh")
    _copy(b_ih, torch.cat([p[f"b_{g}"] for g in _TORCH_LSTM_ORDER]), "bias_ih")
    b_hh.zero_()
    return module


@torch.no_grad()
def lstm_from_torch(module: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters of a one-layer ``nn.LSTM`` or an ``nn.LSTMCell`` in the layout of :func:`lstm_cell`.

    Returns new tensors (detached copies); each gate's bias is ``bias_ih + bias_hh``.
    """
    W_ih, W_hh, b_ih, b_hh = _torch_tensors(module, "LSTM")
    params = {}
    for k, g in enumerate(_TORCH_LSTM_ORDER):
        params[f"W_x{g}"] = W_ih.chunk(4)[k].T.clone()
        params[f"W_h{g}"] = W_hh.chunk(4)[k].T.clone()
        params[f"b_{g}"] = (b_ih.chunk(4)[k] + b_hh.chunk(4)[k]).clone()
    return {n: params[n] for n in LSTM_PARAM_NAMES}


@torch.no_grad()
def gru_to_torch(params: Mapping, module: nn.Module) -> nn.Module:
    """Copy GRU parameters (layout of :func:`gru_cell` with ``reset_after=True``) into ``module``.

    ``module`` is a one-layer ``nn.GRU`` or an ``nn.GRUCell``; gates are stacked r, z, n.
    ``b_r`` and ``b_z`` go to ``bias_ih`` (``bias_hh``'s blocks are zero), ``b_h`` to
    ``bias_ih``'s n block and ``b_hh`` to ``bias_hh``'s n block. Parameters of the
    ``reset_after=False`` GRU have no ``b_hh`` and no exact ``nn.GRU`` equivalent.
    """
    W_ih, W_hh, b_ih, b_hh = _torch_tensors(module, "GRU")
    if "b_hh" not in params:
        raise ValueError("gru_to_torch: params has no 'b_hh': these are reset_after=False (D2L-style) GRU "
                         "parameters, which nn.GRU cannot represent exactly (it applies the reset gate after "
                         "the recurrent product). Use init_gru_params(..., reset_after=True).")
    p = _as_tensors(params, GRU_PARAM_NAMES, W_ih.dtype, W_ih.device)
    _copy(W_ih, torch.cat([p[f"W_x{g}"].T for g in _TORCH_GRU_ORDER]), "weight_ih")
    _copy(W_hh, torch.cat([p[f"W_h{g}"].T for g in _TORCH_GRU_ORDER]), "weight_hh")
    _copy(b_ih, torch.cat([p["b_r"], p["b_z"], p["b_h"]]), "bias_ih")
    _copy(b_hh, torch.cat([torch.zeros_like(p["b_r"]), torch.zeros_like(p["b_z"]), p["b_hh"]]), "bias_hh")
    return module


@torch.no_grad()
def gru_from_torch(module: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters of a one-layer ``nn.GRU`` or ``nn.GRUCell`` in the layout of :func:`gru_cell`
    (``reset_after=True``): ``b_r``, ``b_z`` are the sums of both biases, ``b_h`` = ``b_in``, ``b_hh`` = ``b_hn``."""
    W_ih, W_hh, b_ih, b_hh = _torch_tensors(module, "GRU")
    params = {}
    for k, g in enumerate(_TORCH_GRU_ORDER):
        params[f"W_x{g}"] = W_ih.chunk(3)[k].T.clone()
        params[f"W_h{g}"] = W_hh.chunk(3)[k].T.clone()
    params["b_r"] = (b_ih.chunk(3)[0] + b_hh.chunk(3)[0]).clone()
    params["b_z"] = (b_ih.chunk(3)[1] + b_hh.chunk(3)[1]).clone()
    params["b_h"] = b_ih.chunk(3)[2].clone()
    params["b_hh"] = b_hh.chunk(3)[2].clone()
    return {n: params[n] for n in GRU_PARAM_NAMES}
