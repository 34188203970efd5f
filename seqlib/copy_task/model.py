r"""The copy-task model, its training loop and its evaluation with the state carried across chunks.

The model (:class:`CopyModel`): an embedding, one recurrent cell of :mod:`seqlib.cells` (any of
``"rnn"``, ``"lstm"``, ``"gru"``, ``"mlstm"``, ``"mgru"``), and a linear layer to the 11 tokens:

==================  ==============================  ==========================================
step                shape                           parameters
==================  ==============================  ==========================================
``X``               ``(batch_size, T)``             token indices
embedding           ``(T, batch_size, e)``          ``11 * e``
cell, every step    ``(T, batch_size, h)``          see :func:`seqlib.cells.param_names`
linear              ``(batch_size, T, 11)``         ``h * 11 + 11``
==================  ==============================  ==========================================

Training (:func:`train`): Adam on the cross-entropy averaged over every time step, each gradient
entry clipped to ``[-clip, clip]`` (``torch.nn.utils.clip_grad_value_``). Clipping by value
bounds each entry and changes the gradient's direction; Day 3's clipping by norm rescales the
whole gradient and keeps its direction. Both stop an exploding step.

Evaluation (:func:`evaluate`): a test sequence longer than the training ones is read in chunks of
``chunk_len`` steps (the training length), the state (``H``, or ``(H, C)`` for the LSTMs) carried
from chunk to chunk, as when a long stream is processed piece by piece. Carrying the state makes
the chunked outputs equal to those of the whole sequence read at once.
"""

from __future__ import annotations

import time

import torch
from torch import nn

from seqlib import validation
from seqlib.cells import SCRATCH_LAYERS
from seqlib.copy_task.task import TOKENS, accuracies
from seqlib.history import History
from seqlib.page import progress

__all__ = ["CELLS", "CopyModel", "train", "evaluate", "hidden_states"]

CELLS = tuple(SCRATCH_LAYERS)
"""The five cells by name: ``rnn``, ``lstm``, ``gru``, ``mlstm``, ``mgru``."""


class CopyModel(nn.Module):
    """Embedding -> recurrent cell -> linear layer to the 11 tokens.

    ``forward(X, state=None)``: ``X`` ``(batch_size, T)`` token indices; returns the logits
    ``(batch_size, T, 11)`` and the final state (``H`` ``(batch_size, h)``, or ``(H, C)`` for
    ``"lstm"`` and ``"mlstm"``), to be passed back in to continue the sequence.
    """

    def __init__(self, cell: str = "rnn", embedding_size: int = 11, hidden_size: int = 128,
                 vocab_size: int = len(TOKENS)):
        super().__init__()
        self.cell = validation.one_of(cell, "cell", CELLS)
        self.embedding_size = validation.positive_int(embedding_size, "embedding_size")
        self.hidden_size = validation.positive_int(hidden_size, "hidden_size")
        self.vocab_size = validation.positive_int(vocab_size, "vocab_size")
        self.embedding = nn.Embedding(vocab_size, embedding_size)
        self.rnn = SCRATCH_LAYERS[cell](embedding_size, hidden_size)
        self.linear = nn.Linear(hidden_size, vocab_size)

    @property
    def config(self) -> dict:
        """The keyword arguments that rebuild this model: ``CopyModel(**model.config)``."""
        return {"cell": self.cell, "embedding_size": self.embedding_size, "hidden_size": self.hidden_size,
                "vocab_size": self.vocab_size}

    def run(self, X: torch.Tensor, state=None):
        """Every hidden state ``(T, batch_size, h)`` and the final state: the cell over the embedded ``X``."""
        validation.token_ids(X, "X", self.vocab_size, shape=("batch_size", "T"))
        return self.rnn(self.embedding(X.T), state)

    def forward(self, X: torch.Tensor, state=None):
        H, state = self.run(X, state)
        return self.linear(H.transpose(0, 1)), state


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


def _check_data(data, name):
    if isinstance(data, tuple) and len(data) == 2:
        X, Y = data
        validation.token_ids(X, f"{name}[0]", len(TOKENS), shape=("num_samples", "T"))
        validation.token_ids(Y, f"{name}[1]", len(TOKENS), shape=("num_samples", "T"),
                             sizes={"num_samples": X.shape[0], "T": X.shape[1]})
        return data
    if isinstance(data, list) and data and all(isinstance(p, tuple) and len(p) == 2 for p in data):
        return data
    raise validation.ArgumentTypeError(f"{name} must be a pair (X, Y) of (num_samples, T) tensors or a non-empty "
                                       f"list of (x, y) pairs, got {type(data).__name__}; make it with "
                                       f"seqlib.copy_task.make_dataset")


def train(model: CopyModel, data, *, epochs: int = 10, batch_size: int = 32, lr: float = 0.1,
          clip: float = 1.0, seed: int = 42, device=None, val=None, chunk_len: int | None = None,
          desc: str | None = None, log=None) -> History:
    """Train ``model`` on ``data`` (``(X, Y)`` from :func:`make_dataset`, or a list of pairs of mixed lengths).

    Adam (``lr``), loss averaged over every time step, gradients clipped element-wise to
    ``[-clip, clip]``, batches shuffled with ``seed``. A progress bar per epoch over its batches.
    ``val``: ``(X, Y)`` evaluated after every epoch (:func:`evaluate`, in chunks of ``chunk_len``).
    ``log(line)``, if given, receives one line per epoch. Returns a :class:`seqlib.history.History`:
    ``train_loss``, ``metrics["train_acc"]``, ``metrics["train_copy_acc"]`` per epoch, and with
    ``val`` also ``val_loss``, ``metrics["val_acc"]``, ``metrics["val_copy_acc"]``.
    """
    if not isinstance(model, CopyModel):
        raise validation.ArgumentTypeError(f"model must be a CopyModel, got {type(model).__name__}")
    data = _check_data(data, "data")
    epochs = validation.positive_int(epochs, "epochs")
    batch_size = validation.positive_int(batch_size, "batch_size")
    lr = validation.number_in_range(lr, "lr", 0, low_open=True)
    clip = validation.number_in_range(clip, "clip", 0, low_open=True)
    seed = validation.non_negative_int(seed, "seed")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    generator = torch.Generator().manual_seed(seed)
    if val is not None:
        _check_data(val, "val")
    names = ["train_acc", "train_copy_acc"] + (["val_acc", "val_copy_acc"] if val is not None else [])
    history = History(monitor="train_loss", metrics={name: [] for name in names})
    for epoch in range(1, epochs + 1):
        start = time.perf_counter()
        model.train()
        totals, count = {"loss": 0.0, "all": 0.0, "copy": 0.0}, 0
        bar = progress(_batches(data, batch_size, generator), desc=f"{desc or model.cell} epoch {epoch}/{epochs}",
                       unit="batch", leave=False)
        for X, Y in bar:
            X, Y = X.to(device), Y.to(device)
            optimizer.zero_grad()
            logits, _ = model(X)
            loss = loss_fn(logits.reshape(-1, logits.shape[-1]), Y.reshape(-1))
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the training loss is {loss.item()} at epoch {epoch}: lower the learning rate")
            loss.backward()
            nn.utils.clip_grad_value_(model.parameters(), clip)
            optimizer.step()
            acc = accuracies(logits.detach(), Y)
            n = len(X)
            totals["loss"] += n * loss.item()
            totals["all"] += n * acc["all"]
            totals["copy"] += n * acc["copy"]
            count += n
            bar.set_postfix(loss=f"{loss.item():.3f}", copy_acc=f"{acc['copy']:.3f}")
        bar.close()
        train_seconds = time.perf_counter() - start
        metrics = {"train_acc": totals["all"] / count, "train_copy_acc": totals["copy"] / count}
        result = evaluate(model, *val, chunk_len=chunk_len) if val is not None else {}
        if val is not None:
            metrics.update(val_acc=result["acc"], val_copy_acc=result["copy_acc"])
        scores = history.record(epoch, train_loss=totals["loss"] / count, lr=lr, train_time=train_seconds,
                                epoch_time=time.perf_counter() - start, val_loss=result.get("loss"),
                                metrics=metrics)
        if history.improved(scores["train_loss"]):
            history.best_epoch, history.best_score = epoch, scores["train_loss"]
        if log is not None:
            line = (f"epoch {epoch}/{epochs}: train loss {scores['train_loss']:.4f}, accuracy "
                    f"{scores['train_acc']:.4f}, copy accuracy {scores['train_copy_acc']:.4f}")
            if val is not None:
                line += (f"; test loss {scores['val_loss']:.4f}, accuracy {scores['val_acc']:.4f}, "
                         f"copy accuracy {scores['val_copy_acc']:.4f}")
            log(line + f" ({train_seconds:.1f} s training)")
    return history


@torch.no_grad()
def evaluate(model: CopyModel, X: torch.Tensor, Y: torch.Tensor, *, chunk_len: int | None = None,
             batch_size: int = 256, device=None) -> dict:
    """Loss and accuracies of ``model`` on ``(X, Y)`` ``(num_samples, T)``, read in chunks of ``chunk_len``.

    Each chunk starts from the state the previous one ended with (``None``, zeros, for the first);
    ``chunk_len=None`` reads the whole sequence at once (the same numbers). Returns ``loss`` (mean
    cross-entropy per position), ``acc`` (all positions), ``copy_acc`` (the copied positions),
    ``sequence_acc`` (samples copied without error) and ``per_position`` (a list, one accuracy per
    copied position).
    """
    if not isinstance(model, CopyModel):
        raise validation.ArgumentTypeError(f"model must be a CopyModel, got {type(model).__name__}")
    X, Y = _check_data((X, Y), "(X, Y)")
    T = X.shape[1]
    chunk_len = T if chunk_len is None else validation.positive_int(chunk_len, "chunk_len")
    batch_size = validation.positive_int(batch_size, "batch_size")
    device = torch.device(device) if device is not None else next(model.parameters()).device
    was_training = model.training
    model.eval()
    loss, logits_all = 0.0, []
    try:
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
    finally:
        model.train(was_training)
    acc = accuracies(torch.cat(logits_all), Y.cpu())
    return {"loss": loss / Y.numel(), "acc": acc["all"], "copy_acc": acc["copy"], "sequence_acc": acc["sequence"],
            "per_position": [round(float(a), 6) for a in acc["per_position"]]}


@torch.no_grad()
def hidden_states(model: CopyModel, x: torch.Tensor) -> dict:
    """The states of ``model`` along one sequence ``x`` ``(T,)``: ``H`` ``(T, h)`` and, for the LSTMs, ``C``.

    Steps the cell one time step at a time (its ``step``), so that the cell state of ``"lstm"`` and
    ``"mlstm"`` is seen too.
    """
    if not isinstance(model, CopyModel):
        raise validation.ArgumentTypeError(f"model must be a CopyModel, got {type(model).__name__}")
    validation.token_ids(x, "x", model.vocab_size, shape=("T",))
    if len(x) == 0:
        raise ValueError("x has no time steps (shape (0,)); pass a sequence such as make_sample(...)[0]")
    device = next(model.parameters()).device
    E = model.embedding(x.to(device)[:, None])          # (T, 1, e)
    state, Hs, Cs = None, [], []
    for e in E:
        state = model.rnn.step(e, state)
        Hs.append((state[0] if isinstance(state, tuple) else state)[0])
        if isinstance(state, tuple):
            Cs.append(state[1][0])
    out = {"H": torch.stack(Hs).cpu()}
    if Cs:
        out["C"] = torch.stack(Cs).cpu()
    return out
