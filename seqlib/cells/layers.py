"""The cells over a sequence (scratch layers like ``torch.nn``'s) and copies to and from ``torch.nn``."""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from seqlib.cells.equations import (TORCH_GATES, gru_step, init_params, lstm_step, mgru_step, mlstm_step, param_names,
                                    param_shape, rnn_step)
from seqlib import validation

class _Scratch(nn.Module):
    """What the scratch layers share: named parameters, the loop over time, copies from torch.

    ``forward(inputs, state=None)``: ``inputs`` ``(num_steps, batch_size, num_inputs)`` (time-major,
    as ``nn.RNN``), ``state`` as :meth:`step` takes it (``None``: :meth:`begin_state`); returns every
    ``H_t``, ``(num_steps, batch_size, num_hiddens)``, and the last state. No input checks. Each layer's
    ``step(X, state)`` is one time step: the new state from ``X`` ``(batch_size, num_inputs)`` and the state.
    """

    kind = ""

    def __init__(self, num_inputs, num_hiddens, *, dtype=torch.float32, generator=None, **options):
        super().__init__()
        self.num_inputs, self.num_hiddens = num_inputs, num_hiddens
        self.names = param_names(self.kind, **options)
        for name, value in init_params(self.kind, num_inputs, num_hiddens, generator=generator, dtype=dtype,
                                       **options).items():
            setattr(self, name, nn.Parameter(value))

    def begin_state(self, batch_size: int):
        """The zero state of ``batch_size`` sequences: ``H``, or ``(H, C)`` for the LSTMs."""
        H = getattr(self, self.names[0]).new_zeros(batch_size, self.num_hiddens)
        return (H, H) if self.kind in ("lstm", "mlstm") else H

    def forward(self, inputs: torch.Tensor, state=None):
        state = self.begin_state(inputs.shape[1]) if state is None else state
        outputs = []
        for X in inputs:
            state = self.step(X, state)
            outputs.append(state[0] if isinstance(state, tuple) else state)  # H is the output
        return torch.stack(outputs), state

    @classmethod
    def from_torch(cls, module: nn.Module):
        """A scratch layer holding a copy of a one-layer ``torch.nn`` module's parameters."""
        kind, got = cls.kind.upper(), type(module).__name__
        need = f"{cls.__name__}.from_torch needs an nn.{kind} or nn.{kind}Cell, got {got}"
        validation.require(_torch_kind(module) == cls.kind, need, TypeError)
        params = from_torch(module)
        W_x = next(iter(params.values()))
        return cls(*W_x.shape, dtype=W_x.dtype).load_params(params)

    @property
    def params(self) -> dict[str, nn.Parameter]:
        """The parameters by name (the dict the step functions take)."""
        return {n: getattr(self, n) for n in self.names}

    @torch.no_grad()
    def load_params(self, params: Mapping) -> "_Scratch":
        """Copy values (tensors or NumPy arrays, same shapes) into this module's parameters; return self."""
        shapes = {n: tuple(getattr(self, n).shape) for n in self.names}
        for n, value in _params_like(params, shapes, getattr(self, self.names[0])).items():
            getattr(self, n).copy_(value)
        return self

    def extra_repr(self) -> str:
        return f"num_inputs={self.num_inputs}, num_hiddens={self.num_hiddens}"


class RNNScratch(_Scratch):
    """A plain RNN layer built on :func:`rnn_step`, like ``nn.RNN`` (tanh, one layer); the state is ``H``."""

    kind = "rnn"

    def step(self, X, H):
        return rnn_step(X, H, self.params)


class LSTMScratch(_Scratch):
    """An LSTM layer built on :func:`lstm_step`, like ``nn.LSTM`` with one layer; the state is ``(H, C)``.

    ``LSTMScratch.from_torch(module)`` copies an ``nn.LSTM`` (one layer) or ``nn.LSTMCell``.
    """

    kind = "lstm"

    def step(self, X, state):
        return lstm_step(X, *state, self.params)


class GRUScratch(_Scratch):
    """A GRU layer built on :func:`gru_step`, like ``nn.GRU`` with one layer; the state is ``H``.

    ``reset_after=True`` matches ``nn.GRU``; ``False`` is the D2L / Cho et al. formulation.
    ``GRUScratch.from_torch(module)`` copies an ``nn.GRU`` (one layer) or ``nn.GRUCell``
    (into a ``reset_after=True`` GRU).
    """

    kind = "gru"

    def __init__(self, num_inputs: int, num_hiddens: int, *, reset_after: bool = True,
                 dtype: torch.dtype = torch.float32, generator: torch.Generator | None = None):
        super().__init__(num_inputs, num_hiddens, dtype=dtype, generator=generator, reset_after=reset_after)
        self.reset_after = reset_after

    def step(self, X, H):
        return gru_step(X, H, self.params, self.reset_after)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", reset_after={self.reset_after}"


class MLSTMScratch(_Scratch):
    """A multiplicative LSTM layer (Krause et al. 2016) built on :func:`mlstm_step`; the state is
    ``(H, C)``. ``torch.nn`` has no such layer. ``step=`` another function of the same signature,
    ``step(X, H, C, params) -> (H, C)`` (Day 7 trains the student's own)."""

    kind = "mlstm"

    def __init__(self, num_inputs: int, num_hiddens: int, *, step=None, **options):
        super().__init__(num_inputs, num_hiddens, **options)
        self.step_fn = step or mlstm_step

    def step(self, X, state):
        return self.step_fn(X, *state, self.params)


class MGRUScratch(_Scratch):
    """A multiplicative GRU layer built on :func:`mgru_step`; the state is ``H``. ``step=`` another
    function of the same signature, ``step(X, H, params) -> H`` (Day 7 trains the student's own)."""

    kind = "mgru"

    def __init__(self, num_inputs: int, num_hiddens: int, *, step=None, **options):
        super().__init__(num_inputs, num_hiddens, **options)
        self.step_fn = step or mgru_step

    def step(self, X, H):
        return self.step_fn(X, H, self.params)


SCRATCH_LAYERS = {"rnn": RNNScratch, "lstm": LSTMScratch, "gru": GRUScratch, "mlstm": MLSTMScratch,
                  "mgru": MGRUScratch}
"""The scratch layer of each cell by name; the LSTMs (``"lstm"``, ``"mlstm"``) carry ``(H, C)``."""


_TORCH_CLASSES = {"rnn": (nn.RNN, nn.RNNCell), "lstm": (nn.LSTM, nn.LSTMCell), "gru": (nn.GRU, nn.GRUCell)}


def _torch_kind(module) -> str:
    for kind, classes in _TORCH_CLASSES.items():
        if isinstance(module, classes):
            return kind
    raise validation.ArgumentTypeError(f"module: expected an nn.RNN, nn.LSTM or nn.GRU or a cell, got {module!r:.40}")


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
        problems.append("bias=False")
    validation.require(not problems, f"only a one-layer, one-way nn.{name} with biases has a scratch cell: {problems}")
    return kind, tuple(getattr(module, f"{n}{suffix}") for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))


def _params_like(params, shapes: dict, like: torch.Tensor, hint: str = "") -> dict:
    """``params`` (a dict of tensors or arrays) as tensors of ``like``'s dtype and device, with the names and
    shapes of ``shapes``; ``hint`` ends the messages."""
    validation.require(isinstance(params, Mapping), f"params must be a dict of tensors, not {params!r:.30}", TypeError)
    missing = [n for n in shapes if n not in params]
    validation.require(not missing, f"params is missing {', '.join(missing)} (it needs {', '.join(shapes)}){hint}")
    p = {n: torch.as_tensor(params[n]).to(dtype=like.dtype, device=like.device) for n in shapes}
    for n, shape in shapes.items():
        validation.require(p[n].shape == shape, f"params[{n!r}] has shape {tuple(p[n].shape)}, needs {shape}{hint}")
    return p


@torch.no_grad()
def to_torch(params: Mapping, module: nn.Module) -> nn.Module:
    """Copy parameters (tensors or NumPy arrays, the layout of this module) into a ``torch.nn`` module.

    ``module``: a one-layer ``nn.RNN`` / ``nn.LSTM`` / ``nn.GRU`` or an ``nn.RNNCell`` /
    ``nn.LSTMCell`` / ``nn.GRUCell``. The gates are stacked in PyTorch's order (:data:`TORCH_GATES`)
    and transposed; each gate's bias goes to ``bias_ih``, ``bias_hh`` is zero except for the GRU's
    candidate block, ``b_hh`` (so the ``reset_after=False`` GRU has no ``nn.GRU``). Returns ``module``.
    """
    kind, (W_ih, W_hh, b_ih, b_hh) = _torch_tensors(module)
    d, h = W_ih.shape[1], W_hh.shape[1]
    hint = f"; the torch module has input_size={d}, hidden_size={h}" + (
        " (and nn.GRU cannot represent exactly D2L's reset_after=False GRU, without b_hh)" if kind == "gru" else "")
    p = _params_like(params, {n: param_shape(n, d, h) for n in param_names(kind)}, W_ih, hint)
    order = TORCH_GATES[kind]
    W_ih.copy_(torch.cat([p[f"W_x{g}"].T for g in order]))
    W_hh.copy_(torch.cat([p[f"W_h{g}"].T for g in order]))
    b_ih.copy_(torch.cat([p[f"b_{g}"] for g in order]))
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
