r"""The recurrence equations of every cell, written once; the gate tables; the one initialisation.

See :mod:`seqlib.cells` for the parameter layout and the gate orders.
"""

from __future__ import annotations

import math

import torch

from seqlib.validation import non_negative_int, one_of, positive_int, require

GATES = {"rnn": ("h",), "lstm": ("i", "f", "o", "c"), "cifg": ("f", "o", "c"), "no_forget": ("i", "o", "c"),
         "peephole": ("i", "f", "o", "c"), "gru": ("r", "z", "h")}
"""Our order of the gates of each cell (LSTM variants by name); see the module docstring."""

TORCH_GATES = {"rnn": ("h",), "lstm": ("i", "f", "c", "o"), "gru": ("r", "z", "h")}
"""``torch.nn``'s order in our letters: LSTM i, f, g, o; GRU r, z, n."""

LSTM_VARIANTS = {
    "lstm": "the standard LSTM with a forget gate (Gers et al. 2000)",
    "cifg": "coupled input-forget gate: I = 1 - F, what is forgotten is replaced",
    "no_forget": "no forget gate (F = 1, Hochreiter & Schmidhuber 1997): the cell only adds up",
    "peephole": "peephole connections: the gates also see the cell (w_ci, w_cf, w_co)",
}

PEEPHOLES = ("w_ci", "w_cf", "w_co")

MULTIPLICATIVE = {"mlstm": "lstm", "mgru": "gru"}
"""The multiplicative cells and their base cell; parameters ``W_xm``, ``W_hm``, then per gate ``W_x*``,
``W_m*`` (from :math:`M_t`, ``(h, h)``) and ``b_*`` (and ``b_hh`` for the ``"mgru"``)."""


def param_names(cell: str, *, reset_after: bool = True) -> tuple[str, ...]:
    """The parameter names of ``cell`` (``"rnn"``, ``"gru"``, ``"lstm"``, an LSTM variant, ``"mlstm"``
    or ``"mgru"``), in order."""
    one_of(cell, "cell", [*GATES, *MULTIPLICATIVE])
    if cell in MULTIPLICATIVE:
        require(reset_after, "the multiplicative GRU is defined with reset_after=True only (as nn.GRU)")
        base = MULTIPLICATIVE[cell]
        names = ("W_xm", "W_hm") + tuple(f"{p}{g}" for g in GATES[base] for p in ("W_x", "W_m", "b_"))
        return names + (("b_hh",) if base == "gru" else ())
    names = tuple(f"{p}{g}" for g in GATES[cell] for p in ("W_x", "W_h", "b_"))
    if cell == "gru" and reset_after:
        names += ("b_hh",)
    if cell == "peephole":
        names += PEEPHOLES
    return names


RNN_PARAM_NAMES = param_names("rnn")
LSTM_PARAM_NAMES = param_names("lstm")
GRU_PARAM_NAMES = param_names("gru")


def param_shape(name: str, num_inputs: int, num_hiddens: int) -> tuple[int, ...]:
    """The shape of the parameter ``name``: ``W_x*`` ``(d, h)``, ``W_h*`` and ``W_m*`` ``(h, h)``, else ``(h,)``."""
    return {"W_x": (num_inputs, num_hiddens), "W_h": (num_hiddens, num_hiddens),
            "W_m": (num_hiddens, num_hiddens)}.get(name[:3], (num_hiddens,))


def init_tensor(*shape: int, num_hiddens: int, bias: bool = False, init: str = "torch",
                generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
                device=None) -> torch.Tensor:
    r"""A new parameter tensor of ``shape``: the course's one initialisation.

    ``init="torch"``: uniform in :math:`\pm 1/\sqrt{h}` (``h`` = ``num_hiddens``), weights and
    biases alike, as ``torch.nn.RNN`` / ``LSTM`` / ``GRU``. ``init="d2l"``: weights
    :math:`\mathcal N(0, 0.01^2)` and biases (``bias=True``) zero, as *Dive into Deep Learning*'s
    scratch models. Draws from ``generator`` (default: PyTorch's global one).
    """
    num_hiddens = positive_int(num_hiddens, "num_hiddens")
    shape = tuple(non_negative_int(n, f"shape[{k}]") for k, n in enumerate(shape))
    one_of(init, "init", ("torch", "d2l"))
    if init == "torch":
        bound = 1.0 / math.sqrt(num_hiddens)
        return torch.empty(shape, dtype=dtype, device=device).uniform_(-bound, bound, generator=generator)
    if bias:
        return torch.zeros(shape, dtype=dtype, device=device)
    return torch.randn(shape, generator=generator, dtype=dtype, device=device) * 0.01


def init_params(cell: str, num_inputs: int, num_hiddens: int, *, reset_after: bool = True,
                init: str = "torch", generator: torch.Generator | None = None,
                dtype: torch.dtype = torch.float32, device=None) -> dict[str, torch.Tensor]:
    """Random parameters ``{"W_xi": ..., "W_hi": ..., "b_i": ..., ...}`` of ``cell`` (see :func:`param_names`).

    ``cell`` as :func:`param_names` takes it; ``init`` as :func:`init_tensor`, drawn in the order of the names.
    """
    num_inputs, num_hiddens = positive_int(num_inputs, "num_inputs"), positive_int(num_hiddens, "num_hiddens")
    params = {}
    for name in param_names(cell, reset_after=reset_after):
        shape = param_shape(name, num_inputs, num_hiddens)
        params[name] = init_tensor(*shape, num_hiddens=num_hiddens, bias=name.startswith("b_"), init=init,
                                   generator=generator, dtype=dtype, device=device)
    return params


def rnn_pointwise(G):
    r""":math:`H_t = \tanh(G)`, with :math:`G = X_t W_{xh} + H_{t-1} W_{hh} + b_h`."""
    return torch.tanh(G)


def lstm_pointwise(G, C, variant: str = "lstm", peepholes=None):
    r"""The element-wise part of an LSTM step: the new ``(H, C)`` from the gates' pre-activations.

    ``G`` holds one pre-activation :math:`G_* = X_t W_{x*} + H_{t-1} W_{h*} + b_*` per gate of
    the variant (:data:`GATES`), each ``(batch_size, h)``; ``C`` is :math:`C_{t-1}`.

    .. math::

        I_t &= \sigma(G_i), \quad F_t = \sigma(G_f), \quad O_t = \sigma(G_o),
            \quad \tilde C_t = \tanh(G_c)\\
        C_t &= F_t \odot C_{t-1} + I_t \odot \tilde C_t, \qquad H_t = O_t \odot \tanh(C_t)

    ``"cifg"``: :math:`I_t = 1 - F_t`. ``"no_forget"``: :math:`F_t = 1`. ``"peephole"``
    (``peepholes = (w_ci, w_cf, w_co)``): :math:`I_t = \sigma(G_i + w_{ci} \odot C_{t-1})`,
    :math:`F_t = \sigma(G_f + w_{cf} \odot C_{t-1})`, :math:`O_t = \sigma(G_o + w_{co} \odot C_t)`.
    """
    if variant == "lstm":
        G_i, G_f, G_o, G_c = G
        I, F = torch.sigmoid(G_i), torch.sigmoid(G_f)
    elif variant == "cifg":
        G_f, G_o, G_c = G
        F = torch.sigmoid(G_f)
        I = 1 - F
    elif variant == "no_forget":
        G_i, G_o, G_c = G
        I, F = torch.sigmoid(G_i), 1
    elif variant == "peephole":
        G_i, G_f, G_o, G_c = G
        w_ci, w_cf, w_co = peepholes
        I, F = torch.sigmoid(G_i + w_ci * C), torch.sigmoid(G_f + w_cf * C)
    C_tilde = torch.tanh(G_c)
    C = F * C + I * C_tilde
    O = torch.sigmoid(G_o + w_co * C if variant == "peephole" else G_o)
    H = O * torch.tanh(C)
    return H, C


def gru_pointwise(Gx, Gh, H, *, reset_after: bool = True, b_hh=None, W_hh=None):
    r"""The element-wise part of a GRU step: the new ``H`` from the gates' pre-activations.

    ``Gx = (Gx_r, Gx_z, Gx_h)``: the input parts :math:`X_t W_{x*} + b_*`;
    ``Gh = (Gh_r, Gh_z, Gh_h)``: the recurrent parts :math:`H_{t-1} W_{h*}` (``Gh_h`` only with
    ``reset_after``), each ``(batch_size, h)``.

    .. math::

        R_t &= \sigma(Gx_r + Gh_r), \qquad Z_t = \sigma(Gx_z + Gh_z)\\
        \tilde H_t &= \tanh\big(Gx_h + R_t \odot (H_{t-1} W_{hh} + b_{hh})\big)
            &\text{reset\_after=True: torch.nn.GRU, cuDNN}\\
        \tilde H_t &= \tanh\big(Gx_h + (R_t \odot H_{t-1}) W_{hh}\big)
            &\text{reset\_after=False: Cho et al. 2014, D2L}\\
        H_t &= Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde H_t
    """
    Gx_r, Gx_z, Gx_h = Gx
    R = torch.sigmoid(Gx_r + Gh[0])
    Z = torch.sigmoid(Gx_z + Gh[1])
    if reset_after:
        H_tilde = torch.tanh(Gx_h + R * (Gh[2] + b_hh))
    else:
        H_tilde = torch.tanh(Gx_h + (R * H) @ W_hh)
    return Z * H + (1 - Z) * H_tilde


def rnn_step(X, H, p):
    r"""One plain RNN step: :math:`H_t = \tanh(X_t W_{xh} + H_{t-1} W_{hh} + b_h)`, also the output.

    ``X``: ``(batch_size, num_inputs)``; ``H``: ``(batch_size, num_hiddens)``; ``p``: the parameters
    by name (:data:`RNN_PARAM_NAMES`, from :func:`init_params`), as every step function takes them.
    """
    return rnn_pointwise(X @ p["W_xh"] + H @ p["W_hh"] + p["b_h"])


def lstm_step(X, H, C, p, variant: str = "lstm"):
    r"""One LSTM step: :math:`G_* = X_t W_{x*} + H_{t-1} W_{h*} + b_*` for each gate, then
    :func:`lstm_pointwise`.

    ==========  ==============================================================================
    ``X``       ``(batch_size, num_inputs)``
    ``H, C``    ``(batch_size, num_hiddens)`` each: :math:`H_{t-1}`, :math:`C_{t-1}`
    ``p``       :func:`param_names` of ``variant`` (:data:`LSTM_PARAM_NAMES` for the standard LSTM)
    returns     ``(H, C)``, each ``(batch_size, num_hiddens)``; ``H`` is also the output
    ==========  ==============================================================================
    """
    G = [X @ p["W_x" + g] + H @ p["W_h" + g] + p["b_" + g] for g in GATES[variant]]
    peepholes = (p["w_ci"], p["w_cf"], p["w_co"]) if variant == "peephole" else None
    return lstm_pointwise(G, C, variant, peepholes)


def gru_step(X, H, p, reset_after: bool = True):
    r"""One GRU step: the input parts :math:`X_t W_{x*} + b_*` and the recurrent parts
    :math:`H_{t-1} W_{h*}` of the gates r, z, h, then :func:`gru_pointwise`. Returns ``H``.

    ``reset_after=True`` (``torch.nn.GRU``, cuDNN): the reset gate scales the candidate's recurrent
    term *after* the matrix product, a term with its own bias ``b_hh``; ``False`` (Cho et al. 2014,
    D2L): *before* it, no ``b_hh``. Shapes as :func:`rnn_step`; ``p``: :data:`GRU_PARAM_NAMES`.
    """
    Gx = [X @ p["W_xr"] + p["b_r"], X @ p["W_xz"] + p["b_z"], X @ p["W_xh"] + p["b_h"]]
    if reset_after:
        return gru_pointwise(Gx, (H @ p["W_hr"], H @ p["W_hz"], H @ p["W_hh"]), H, b_hh=p["b_hh"])
    return gru_pointwise(Gx, (H @ p["W_hr"], H @ p["W_hz"]), H, reset_after=False, W_hh=p["W_hh"])


def multiplicative_state(X, H, p):
    r"""The intermediate state of the multiplicative cells (Krause et al. 2016, after the
    multiplicative RNN of Sutskever et al. 2011): :math:`M_t = (X_t W_{xm}) \odot (H_{t-1} W_{hm})`.

    Each input gets its own recurrent transition (the weights applied to :math:`H_{t-1}` depend on
    :math:`X_t`); Krause et al. write the weights on the left.
    """
    return (X @ p["W_xm"]) * (H @ p["W_hm"])


def mlstm_step(X, H, C, p):
    r"""One multiplicative LSTM step (Krause et al. 2016). Returns ``(H, C)``.

    .. math::

        M_t &= (X_t W_{xm}) \odot (H_{t-1} W_{hm})\\
        G_* &= X_t W_{x*} + M_t W_{m*} + b_* \quad \text{for } * \in \{i, f, o, c\}

    then :func:`lstm_pointwise`: :math:`M_t` replaces :math:`H_{t-1}` in every gate and the candidate.
    """
    M = multiplicative_state(X, H, p)
    return lstm_pointwise([X @ p["W_x" + g] + M @ p["W_m" + g] + p["b_" + g] for g in GATES["lstm"]], C)


def mgru_step(X, H, p):
    r"""One multiplicative GRU step: the construction of the mLSTM applied to the
    GRU (``reset_after=True``, as ``nn.GRU``). Returns ``H``.

    .. math::

        M_t &= (X_t W_{xm}) \odot (H_{t-1} W_{hm})\\
        R_t &= \sigma(X_t W_{xr} + M_t W_{mr} + b_r), \qquad
            Z_t = \sigma(X_t W_{xz} + M_t W_{mz} + b_z)\\
        \tilde H_t &= \tanh\big(X_t W_{xh} + b_h + R_t \odot (M_t W_{mh} + b_{hh})\big)\\
        H_t &= Z_t \odot H_{t-1} + (1 - Z_t) \odot \tilde H_t

    :math:`M_t` replaces :math:`H_{t-1}` inside the gates; the update still interpolates with
    :math:`H_{t-1}` itself, so the GRU's path through time (:math:`Z_t \to 1` keeps the state) stays.
    """
    M = multiplicative_state(X, H, p)
    Gx = [X @ p["W_xr"] + p["b_r"], X @ p["W_xz"] + p["b_z"], X @ p["W_xh"] + p["b_h"]]
    return gru_pointwise(Gx, (M @ p["W_mr"], M @ p["W_mz"], M @ p["W_mh"]), H, b_hh=p["b_hh"])
