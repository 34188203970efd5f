r"""The copy-task model, the options that train it with :func:`seqlib.training.fit`, and its
accuracy with the state carried across chunks.

The model (:class:`CopyModel`): an embedding, one recurrent cell of :mod:`seqlib.cells` (any of
``"rnn"``, ``"lstm"``, ``"gru"``, ``"mlstm"``, ``"mgru"``), and a linear head to the 11 tokens:

==================  ==============================  ==========================================
step                shape                           parameters
==================  ==============================  ==========================================
``X``               ``(batch_size, T)``             token indices
embedding           ``(T, batch_size, e)``          ``11 * e``
cell, every step    ``(T, batch_size, h)``          see :func:`seqlib.cells.param_names`
head                ``(batch_size, T, 11)``         ``h * 11 + 11``
==================  ==============================  ==========================================

Training (:func:`fit_options`): gradients clipped by value (each entry bounded; the direction
changes, unlike Day 3's clipping by norm). Testing (:func:`copy_accuracy`): a sequence longer than
the training ones is read in chunks of ``chunk_len`` steps, the state (``H``, or ``(H, C)``) carried
from chunk to chunk, which gives the outputs of the whole sequence read at once.
"""

from __future__ import annotations

import torch
from torch import nn

from seqlib import validation
from seqlib.cells import SCRATCH_LAYERS
from seqlib.copy_task.task import TOKENS, accuracies, copy_scores
from seqlib.training import eval_mode

__all__ = ["CELLS", "CopyModel", "fit_options", "copy_accuracy", "hidden_states"]

CELLS = tuple(SCRATCH_LAYERS)
"""The five cells by name: ``rnn``, ``lstm``, ``gru``, ``mlstm``, ``mgru``."""


class CopyModel(nn.Module):
    """Embedding -> recurrent cell -> linear head to the 11 tokens; ``step=`` a function that replaces
    a multiplicative cell's step (``cell="mlstm"``: ``step(X, H, C, params) -> (H, C)``;
    ``cell="mgru"``: ``step(X, H, params) -> H``; see :class:`seqlib.cells.MLSTMScratch`).

    ``forward(X, state=None)``: ``X`` ``(batch_size, T)`` token indices; returns the logits
    ``(batch_size, T, 11)`` and the final state (``H`` ``(batch_size, num_hiddens)``, or ``(H, C)`` for
    ``"lstm"`` and ``"mlstm"``), to be passed back in to continue the sequence.
    """

    def __init__(self, cell: str = "rnn", embed_size: int = 11, num_hiddens: int = 128,
                 vocab_size: int = len(TOKENS), step=None):
        super().__init__()
        self.cell = validation.one_of(cell, "cell", CELLS)
        validation.require(step is None or (cell in ("mlstm", "mgru") and callable(step)),
                           "step= replaces a multiplicative cell's step: a function step(X, H, C, params) "
                           "-> (H, C) with cell='mlstm', or step(X, H, params) -> H with cell='mgru'")
        self.embed_size, self.num_hiddens, self.vocab_size = (validation.positive_int(v, n) for v, n in (
            (embed_size, "embed_size"), (num_hiddens, "num_hiddens"), (vocab_size, "vocab_size")))
        self.embedding = nn.Embedding(vocab_size, embed_size)
        self.rnn = SCRATCH_LAYERS[cell](embed_size, num_hiddens, **({"step": step} if step else {}))
        self.head = nn.Linear(num_hiddens, vocab_size)

    @property
    def config(self) -> dict:
        """The keyword arguments that rebuild this model: ``CopyModel(**model.config)``."""
        return {"cell": self.cell, "embed_size": self.embed_size, "num_hiddens": self.num_hiddens,
                "vocab_size": self.vocab_size}

    def run(self, X: torch.Tensor, state=None):
        """Every hidden state ``(T, batch_size, h)`` and the final state: the cell over the embedded ``X``."""
        validation.token_ids(X, "X", self.vocab_size, shape=("batch_size", "T"))
        return self.rnn(self.embedding(X.T), state)

    def forward(self, X: torch.Tensor, state=None):
        H, state = self.run(X, state)
        return self.head(H.transpose(0, 1)), state


def _batches(data, batch_size: int, generator: torch.Generator):
    """Shuffled batches ``(X, Y)`` of one length each: ``data`` is ``(X, Y)`` or a list of ``(x, y)`` pairs."""
    if isinstance(data, tuple):
        X, Y = data
        order = torch.randperm(len(X), generator=generator)
        return [(X[idx], Y[idx]) for idx in order.split(batch_size)]
    by_len = {}
    for k in torch.randperm(len(data), generator=generator).tolist():
        by_len.setdefault(len(data[k][0]), []).append(k)
    batches = [(torch.stack([data[k][0] for k in ks[i:i + batch_size]]),
                torch.stack([data[k][1] for k in ks[i:i + batch_size]]))
               for ks in by_len.values() for i in range(0, len(ks), batch_size)]
    return [batches[i] for i in torch.randperm(len(batches), generator=generator).tolist()]


class _Loader:
    """The shuffled batches of ``data``, new ones every epoch from one seeded generator."""

    def __init__(self, data, batch_size: int, seed: int):
        self.data, self.batch_size, self.generator = data, batch_size, torch.Generator().manual_seed(seed)

    def __iter__(self):
        return iter(_batches(self.data, self.batch_size, self.generator))


def _loss(out, Y):
    """Cross-entropy per position of the model's output ``(logits, state)`` against ``Y`` ``(batch_size, T)``."""
    return nn.functional.cross_entropy(out[0].reshape(-1, out[0].shape[-1]), Y.reshape(-1))


def fit_options(model: CopyModel, data, *, num_epochs: int = 10, batch_size: int = 32, lr: float = 0.1,
                clip: float = 1.0, seed: int = 42, val=None, chunk_len: int | None = None, log=None,
                desc: str | None = None) -> dict:
    """The arguments of :func:`seqlib.training.fit` that train ``model`` on the copy task:
    ``fit(model, **fit_options(model, data, num_epochs=3))``.

    ``data``: ``(X, Y)`` from :func:`make_dataset`, or a list of pairs of mixed lengths; batches of one
    length each, shuffled with ``seed``. Adam (``lr``), the loss averaged over every time step,
    gradients clipped element-wise to ``[-clip, clip]``; accuracies per training batch
    (``train_acc``, all positions, and ``train_copy_acc``, the copied ones). ``val``: ``(X, Y)``
    tested after every epoch with :func:`copy_accuracy` in chunks of ``chunk_len`` (``val_loss``,
    ``val_acc``, ``val_copy_acc``). ``log(line)``, if given, receives one line per epoch. The best
    epoch is that of the lowest training loss; the weights of the last epoch are kept.
    """
    validation.sequence(data, "data", non_empty=True, what="(X, Y) or a list of (x, y) pairs from make_dataset")
    batch_size, seed = validation.positive_int(batch_size, "batch_size"), validation.non_negative_int(seed, "seed")
    clip, lr = (validation.number_in_range(v, name, 0, low_open=True) for v, name in ((clip, "clip"), (lr, "lr")))
    options = dict(
        train_loader=_Loader(data, batch_size, seed),
        loss_fn=_loss, num_epochs=num_epochs, monitor="train_loss", restore_best=False,
        clip_grad_value=clip, optimizer=torch.optim.Adam(model.parameters(), lr=lr),
        train_metrics={"train_acc": lambda out, Y: accuracies(out[0], Y)["all"],
                       "train_copy_acc": lambda out, Y: accuracies(out[0], Y)["copy"]},
        desc=desc or model.cell)
    if val is not None:
        def validate(model):
            result = copy_accuracy(model, *val, chunk_len=chunk_len)
            return {"loss": result["loss"], "val_acc": result["acc"], "val_copy_acc": result["copy_acc"]}
        options["validate"] = validate
    if log is not None:
        def on_epoch(h):
            line = (f"epoch {h.epochs[-1]}/{num_epochs}: train loss {h.train_loss[-1]:.4f}, accuracy "
                    f"{h.metrics['train_acc'][-1]:.4f}, copy accuracy {h.metrics['train_copy_acc'][-1]:.4f}")
            if val is not None:
                line += (f"; test loss {h.val_loss[-1]:.4f}, accuracy {h.metrics['val_acc'][-1]:.4f}, "
                         f"copy accuracy {h.metrics['val_copy_acc'][-1]:.4f}")
            log(line + f" ({h.train_time[-1]:.1f} s training)")
        options["on_epoch"] = on_epoch
    return options


@torch.no_grad()
def copy_accuracy(model: CopyModel, X: torch.Tensor, Y: torch.Tensor, *, chunk_len: int | None = None,
                  batch_size: int = 256, device=None, scores=copy_scores) -> dict:
    """Loss and accuracies of ``model`` on ``(X, Y)`` ``(num_samples, T)``, read in chunks of ``chunk_len``.

    Each chunk starts from the state the previous one ended with (``None``, zeros, for the first);
    ``chunk_len=None`` reads the whole sequence at once (the same numbers). Returns ``loss`` (mean
    cross-entropy per position), ``acc`` (all positions), ``copy_acc`` (the copied positions),
    ``sequence_acc`` (samples copied without error) and ``per_position`` (a list, one accuracy per
    copied position), these two from ``scores(logits, Y)`` (:func:`copy_scores`, or a student's own).
    """
    validation.token_ids(X, "X", len(TOKENS), shape=("num_samples", "T"))
    validation.token_ids(Y, "Y", len(TOKENS), shape=("num_samples", "T"))
    batch_size = validation.positive_int(batch_size, "batch_size")
    validation.function(scores, "scores", "scores(logits, Y) -> (per_position, sequence), e.g. copy_scores")
    T = X.shape[1]
    chunk_len = T if chunk_len is None else validation.positive_int(chunk_len, "chunk_len")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    loss, logits_all = 0.0, []
    with eval_mode(model):
        for start in range(0, len(X), batch_size):
            Xb, Yb = X[start:start + batch_size].to(device), Y[start:start + batch_size].to(device)
            state, pieces = None, []
            for s in range(0, T, chunk_len):
                logits, state = model(Xb[:, s:s + chunk_len], state)
                pieces.append(logits)
            logits = torch.cat(pieces, dim=1)
            loss += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), Yb.reshape(-1),
                                                reduction="sum").item()
            logits_all.append(logits.cpu())
    acc = accuracies(torch.cat(logits_all), Y.cpu(), scores)
    return {"loss": loss / Y.numel(), "acc": acc["all"], "copy_acc": acc["copy"], "sequence_acc": acc["sequence"],
            "per_position": [round(float(a), 6) for a in acc["per_position"]]}


@torch.no_grad()
def hidden_states(model: CopyModel, x: torch.Tensor) -> dict:
    """The states of ``model`` along one sequence ``x`` ``(T,)``: ``H`` ``(T, h)`` and, for the LSTMs, ``C``.

    Steps the cell one time step at a time (its ``step``), so that the cell state of ``"lstm"`` and
    ``"mlstm"`` is seen too.
    """
    validation.token_ids(x, "x", model.vocab_size, shape=("T",))
    validation.require(len(x) > 0, "x has no time steps (shape (0,)); pass a sequence such as make_sample(...)[0]")
    device = next(model.parameters()).device
    E = model.embedding(x.to(device)[:, None])          # (T, 1, e)
    state, Hs, Cs = model.rnn.begin_state(1), [], []
    for e in E:
        state = model.rnn.step(e, state)
        Hs.append((state[0] if isinstance(state, tuple) else state)[0])
        if isinstance(state, tuple):
            Cs.append(state[1][0])
    out = {"H": torch.stack(Hs).cpu()}
    if Cs:
        out["C"] = torch.stack(Cs).cpu()
    return out
