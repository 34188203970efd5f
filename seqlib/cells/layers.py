"""The cells over a sequence (scratch layers like ``torch.nn``'s) and copies to and from ``torch.nn``."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from seqlib.cells.checked import _describe, gru_cell, lstm_cell, mgru_cell, mlstm_cell, rnn_cell
from seqlib.cells.equations import (TORCH_GATES, gru_step, init_params, lstm_step, mgru_step, mlstm_step, param_names,
                                    rnn_step)
from seqlib import validation

# ----------------------------------------------------------------------------------------
# Modules: the cells over a sequence
# ----------------------------------------------------------------------------------------

class _Scratch(nn.Module):
    """What the scratch layers share: named parameters, the loop over time, copies from torch.

    ``forward`` checks the inputs once (the first step runs the checked cell), then runs the
    unchecked step: the checks cost nothing per step.
    """

    kind = ""

    def __init__(self, num_inputs, num_hiddens, *, dtype=torch.float32, generator=None, **options):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self.names = param_names(self.kind, **options)
        for name, value in init_params(self.kind, num_inputs, num_hiddens, generator=generator, dtype=dtype,
                                       **options).items():
            setattr(self, name, nn.Parameter(value))

    def step(self, X, state):
        """One time step with input checks: the new state from ``X`` ``(batch_size, num_inputs)``."""
        raise NotImplementedError

    def _step(self, X, state):
        raise NotImplementedError

    def forward(self, inputs: torch.Tensor, state=None):
        validation.tensor(inputs, "inputs", shape=("num_steps", "batch_size", "num_inputs"),
                          hint=f"{type(self).__name__} runs over a sequence; for one time step call "
                               f"the cell function directly")
        if inputs.shape[0] == 0:
            raise ValueError(f"{type(self).__name__}: inputs has no time steps (shape {tuple(inputs.shape)}); "
                             "a sequence needs at least one step")
        outputs = []
        for t, X in enumerate(inputs):
            state = self.step(X, state) if t == 0 else self._step(X, state)
            outputs.append(state[0] if isinstance(state, tuple) else state)  # H is the output
        return torch.stack(outputs), state

    @classmethod
    def from_torch(cls, module: nn.Module):
        """A scratch layer holding a copy of a one-layer ``torch.nn`` module's parameters."""
        if _torch_kind(module) != cls.kind:
            kind = cls.kind.upper()
            raise TypeError(f"{cls.__name__}.from_torch needs an nn.{kind} or nn.{kind}Cell, "
                            f"got {type(module).__name__}")
        params = from_torch(module)
        W_x = next(iter(params.values()))
        return cls(*W_x.shape, dtype=W_x.dtype).load_params(params)

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


class RNNScratch(_Scratch):
    """A plain RNN layer built on :func:`rnn_cell`, like ``nn.RNN`` (tanh, one layer).

    ``forward(inputs, H=None)``: ``inputs`` ``(num_steps, batch_size, num_inputs)``; returns
    ``outputs`` ``(num_steps, batch_size, num_hiddens)`` and the last ``H``.
    """

    kind = "rnn"

    def step(self, X, H):
        return rnn_cell(X, H, self.params)

    def _step(self, X, H):
        return rnn_step(X, H, self.params)


class LSTMScratch(_Scratch):
    """An LSTM layer built on :func:`lstm_cell`: the loop over time, like ``nn.LSTM`` with one layer.

    ``forward(inputs, state=None)`` takes ``inputs`` of shape ``(num_steps, batch_size, num_inputs)``
    and ``state`` ``(H, C)`` (each ``(batch_size, num_hiddens)``) or ``None``; it returns
    ``outputs`` of shape ``(num_steps, batch_size, num_hiddens)`` (every ``H_t``) and the last ``(H, C)``.
    ``step(X, state)`` is one time step; ``LSTMScratch.from_torch(module)`` copies an ``nn.LSTM``
    (one layer) or ``nn.LSTMCell``.
    """

    kind = "lstm"

    def step(self, X, state):
        return lstm_cell(X, state, self.params)

    def _step(self, X, state):
        return lstm_step(X, *state, self.params)


class GRUScratch(_Scratch):
    """A GRU layer built on :func:`gru_cell`, like ``nn.GRU`` with one layer.

    ``forward(inputs, state=None)`` takes ``inputs`` of shape ``(num_steps, batch_size, num_inputs)``
    and the initial hidden state ``H`` (``(batch_size, num_hiddens)``) or ``None``; it returns
    ``outputs`` ``(num_steps, batch_size, num_hiddens)`` and the last ``H``.
    ``reset_after=True`` matches ``nn.GRU``; ``False`` is the D2L / Cho et al. formulation.
    ``step(X, H)`` is one time step; ``GRUScratch.from_torch(module)`` copies an ``nn.GRU``
    (one layer) or ``nn.GRUCell`` (into a ``reset_after=True`` GRU).
    """

    kind = "gru"

    def __init__(self, num_inputs: int, num_hiddens: int, *, reset_after: bool = True,
                 dtype: torch.dtype = torch.float32, generator: torch.Generator | None = None):
        super().__init__(num_inputs, num_hiddens, dtype=dtype, generator=generator, reset_after=reset_after)
        self.reset_after = reset_after

    def step(self, X, H):
        return gru_cell(X, H, self.params, reset_after=self.reset_after)

    def _step(self, X, H):
        return gru_step(X, H, self.params, self.reset_after)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", reset_after={self.reset_after}"


class MLSTMScratch(_Scratch):
    """A multiplicative LSTM layer (Krause et al. 2016) built on :func:`mlstm_cell`; the interface of
    :class:`LSTMScratch`: ``forward(inputs, state=None)`` returns every ``H_t`` and the last ``(H, C)``.
    ``torch.nn`` has no such layer."""

    kind = "mlstm"

    def step(self, X, state):
        return mlstm_cell(X, state, self.params)

    def _step(self, X, state):
        return mlstm_step(X, *state, self.params)


class MGRUScratch(_Scratch):
    """A multiplicative GRU layer built on :func:`mgru_cell`; the interface of :class:`GRUScratch`:
    ``forward(inputs, H=None)`` returns every ``H_t`` and the last ``H``."""

    kind = "mgru"

    def step(self, X, H):
        return mgru_cell(X, H, self.params)

    def _step(self, X, H):
        return mgru_step(X, H, self.params)


SCRATCH_LAYERS = {"rnn": RNNScratch, "lstm": LSTMScratch, "gru": GRUScratch, "mlstm": MLSTMScratch,
                  "mgru": MGRUScratch}
"""The scratch layer of each cell by name; the LSTMs (``"lstm"``, ``"mlstm"``) carry ``(H, C)``."""


# ----------------------------------------------------------------------------------------
# Copying parameters to and from torch.nn
# ----------------------------------------------------------------------------------------

_TORCH_CLASSES = {"rnn": (nn.RNN, nn.RNNCell), "lstm": (nn.LSTM, nn.LSTMCell), "gru": (nn.GRU, nn.GRUCell)}


def _torch_kind(module) -> str:
    for kind, classes in _TORCH_CLASSES.items():
        if isinstance(module, classes):
            return kind
    raise validation.ArgumentTypeError(f"module: expected an nn.RNN, nn.LSTM or nn.GRU (one layer) or one of "
                                       f"their cells, got {type(module).__name__}")


def _torch_tensors(module):
    """``kind, (weight_ih, weight_hh, bias_ih, bias_hh)`` of a one-layer nn.RNN/LSTM/GRU or an nn.*Cell."""
    kind = _torch_kind(module)
    name = type(module).__name__
    problems = []
    if getattr(module, "nonlinearity", "tanh") != "tanh":
        problems.append(f"nonlinearity={module.nonlinearity!r}")
    if isinstance(module, nn.RNNBase):
        if module.num_layers != 1:
            problems.append(f"num_layers={module.num_layers} (copy one layer at a time)")
        if module.bidirectional:
            problems.append("bidirectional=True")
        if getattr(module, "proj_size", 0):
            problems.append(f"proj_size={module.proj_size}")
        suffix = "_l0"
    else:
        suffix = ""
    if not module.bias:
        problems.append(f"bias=False (create the nn.{name} with bias=True)")
    if problems:
        raise ValueError(f"only a one-layer, one-direction nn.{name} with biases maps onto the scratch cell; "
                         f"this one has {', '.join(problems)}")
    return kind, tuple(getattr(module, f"{n}{suffix}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def _copy(dst, src, what):
    if tuple(dst.shape) != tuple(src.shape):
        raise ValueError(f"{what}: the torch module has shape {tuple(dst.shape)} but the parameters give "
                         f"{tuple(src.shape)}; create the module with matching input_size and hidden_size")
    dst.copy_(src)


@torch.no_grad()
def to_torch(params: Mapping, module: nn.Module) -> nn.Module:
    """Copy parameters (tensors or NumPy arrays, the layout of this module) into a ``torch.nn`` module.

    ``module``: a one-layer ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` or an ``nn.RNNCell`` /
    ``nn.LSTMCell`` / ``nn.GRUCell``. The gates are stacked in PyTorch's order
    (:data:`TORCH_GATES`) and transposed; each gate's bias goes to ``bias_ih`` and ``bias_hh``
    is zero, except for the GRU's candidate block, which gets ``b_hh``. Parameters of the
    ``reset_after=False`` GRU (no ``b_hh``) have no exact ``nn.GRU`` equivalent. Returns ``module``.
    """
    if not isinstance(params, Mapping):
        raise validation.ArgumentTypeError(f"params must be a dict of tensors (seqlib.cells.init_params), "
                                           f"got {type(params).__name__}")
    kind, (W_ih, W_hh, b_ih, b_hh) = _torch_tensors(module)
    if kind == "gru" and "b_hh" not in params:
        raise ValueError("to_torch: params has no 'b_hh': these are reset_after=False (D2L-style) GRU "
                         "parameters, which nn.GRU cannot represent exactly (it applies the reset gate after "
                         "the recurrent product). Use init_params('gru', ..., reset_after=True).")
    names = param_names(kind)
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"params is missing {', '.join(missing)} (it needs {', '.join(names)})")
    p = {n: torch.as_tensor(params[n]).to(dtype=W_ih.dtype, device=W_ih.device) for n in names}
    order = TORCH_GATES[kind]
    _copy(W_ih, torch.cat([p[f"W_x{g}"].T for g in order]), "weight_ih")
    _copy(W_hh, torch.cat([p[f"W_h{g}"].T for g in order]), "weight_hh")
    _copy(b_ih, torch.cat([p[f"b_{g}"] for g in order]), "bias_ih")
    b_hh.zero_()
    if kind == "gru":
        h = p["b_hh"].shape[0]
        b_hh[order.index("h") * h:(order.index("h") + 1) * h] = p["b_hh"]
    return module


@torch.no_grad()
def from_torch(module: nn.Module) -> dict[str, torch.Tensor]:
    """The parameters of a one-layer ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` or of an ``nn.*Cell``,
    in the layout of this module (new tensors, detached copies).

    Each gate's bias is ``bias_ih + bias_hh``, except the GRU's candidate: ``b_h`` = ``bias_ih``'s
    block, ``b_hh`` = ``bias_hh``'s block (the ``reset_after=True`` GRU).
    """
    kind, (W_ih, W_hh, b_ih, b_hh) = _torch_tensors(module)
    n = len(TORCH_GATES[kind])
    params = {}
    for k, g in enumerate(TORCH_GATES[kind]):
        params[f"W_x{g}"] = W_ih.chunk(n)[k].T.clone()
        params[f"W_h{g}"] = W_hh.chunk(n)[k].T.clone()
        params[f"b_{g}"] = (b_ih.chunk(n)[k] + b_hh.chunk(n)[k]).clone()
        if kind == "gru" and g == "h":
            params["b_h"], params["b_hh"] = b_ih.chunk(n)[k].clone(), b_hh.chunk(n)[k].clone()
    return {name: params[name] for name in param_names(kind)}
