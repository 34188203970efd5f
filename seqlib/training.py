"""Train any PyTorch model the way a practitioner does, with one call.

:func:`fit` runs the loop that every lab would otherwise copy: for each epoch it trains on
every batch of a ``DataLoader``, evaluates on the validation loader (loss and any metrics),
steps a learning-rate scheduler, keeps the weights of the best epoch of a monitored
quantity, stops early when that quantity stops improving, shows a progress
bar, and returns a :class:`History` of everything it measured. It knows nothing about
the task: regression (Day 4) and classification (Day 5) use it alike.

A batch is a tuple ``(*inputs, target)``: the model is called as ``model(*inputs)`` and
the loss as ``loss_fn(prediction, target)``. So ``(X, y)`` batches work, and so do
``(X, lengths, y)`` batches for padded sequences.

    history = fit(model, train_loader, val_loader, loss_fn=nn.MSELoss(),
                  optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
                  scheduler=ReduceLROnPlateau(optimizer, factor=0.5, patience=2),
                  num_epochs=30, patience=5, metrics={"mae": mae})
    history.plot()
"""

from __future__ import annotations

import copy
import math
import numbers
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import nn

from seqlib.utils import progress as progress_bar

__all__ = ["History", "fit", "evaluate"]

Metric = Callable[[torch.Tensor, torch.Tensor], "torch.Tensor | float"]


@dataclass
class History:
    """What :func:`fit` measured, one entry per completed epoch (epochs count from 1).

    ``metrics`` maps each metric name to its validation values; ``lr`` is the learning rate
    the epoch trained with (of the optimizer's first parameter group); ``epoch_time`` is the
    wall-clock seconds of each epoch (training + validation). ``best_epoch`` is the epoch
    whose weights the model holds after ``fit`` when ``restore_best=True``.
    """

    monitor: str
    mode: str
    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def total_time(self) -> float:
        """Seconds spent in all epochs together."""
        return float(sum(self.epoch_time))

    def values(self, name: str) -> list[float]:
        """The per-epoch values of ``"train_loss"``, ``"val_loss"``, ``"lr"`` or a metric name."""
        if name in ("train_loss", "val_loss", "lr", "epoch_time"):
            return getattr(self, name)
        if name in self.metrics:
            return self.metrics[name]
        known = ["train_loss", "val_loss", "lr", "epoch_time", *self.metrics]
        raise KeyError(f"history has no {name!r}; it has {known}")

    def summary(self) -> str:
        """One line: epochs run, best epoch and score, time."""
        stop = ", stopped early" if self.stopped_early else ""
        best = "" if self.best_epoch is None else (
            f", best {self.monitor} {self.best_score:.4g} at epoch {self.best_epoch}")
        return f"{len(self)} epochs{stop}{best}, {self.total_time:.1f} s"

    def plot(self, ax=None, *, title: str | None = None, logy: bool = True):
        """Training and validation loss per epoch, the best epoch marked. Returns the axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3))
        ax.plot(self.epochs, self.train_loss, label="train loss")
        if self.val_loss:
            ax.plot(self.epochs, self.val_loss, label="validation loss")
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch, color="gray", linestyle=":", label=f"best epoch ({self.best_epoch})")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss")
        if title:
            ax.set_title(title)
        ax.legend()
        ax.grid(alpha=0.3)
        return ax


# ----------------------------------------------------------------------------------------
# Argument checks: each says what is wrong and how to fix it
# ----------------------------------------------------------------------------------------

def _check_loader(loader, name: str):
    if loader is None:
        return
    if isinstance(loader, (torch.Tensor, tuple)) or not isinstance(loader, Iterable):
        raise TypeError(
            f"{name} must be an iterable of batches such as a torch.utils.data.DataLoader, "
            f"got {type(loader).__name__}; wrap tensors with DataLoader(TensorDataset(X, y), batch_size=...)")
    try:
        n = len(loader)
    except TypeError:
        return
    if n == 0:
        raise ValueError(f"{name} has no batches: is the data set empty, or drop_last=True with "
                         "fewer examples than batch_size?")


def _check_args(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, scheduler,
                metrics, monitor, mode, patience, min_delta, clip_grad_norm):
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_loader(train_loader, "train_loader")
    _check_loader(val_loader, "val_loader")
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be callable as loss_fn(prediction, target), e.g. nn.MSELoss(); "
                        f"got {type(loss_fn).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, e.g. torch.optim.Adam(model.parameters()); "
                        f"got {type(optimizer).__name__}")
    model_params = {id(p) for p in model.parameters()}
    opt_params = {id(p) for g in optimizer.param_groups for p in g["params"]}
    if model_params and not model_params & opt_params:
        raise ValueError("the optimizer holds none of the model's parameters: create it from this model, "
                         "torch.optim.Adam(model.parameters(), ...), after building the model")
    if not isinstance(num_epochs, numbers.Integral) or isinstance(num_epochs, bool) or num_epochs < 1:
        raise ValueError(f"num_epochs must be a positive integer, got {num_epochs!r}")
    if mode not in ("min", "max"):
        raise ValueError(f"mode must be 'min' (losses, errors) or 'max' (accuracies), got {mode!r}")
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name or name in ("train_loss", "val_loss"):
            raise ValueError(f"metric names must be non-empty strings other than train_loss/val_loss, got {name!r}")
        if not callable(fn):
            raise TypeError(f"metric {name!r} must be a function metric(prediction, target), got {type(fn).__name__}")
    known = ["train_loss"] + (["val_loss", *metrics] if val_loader is not None else [])
    if monitor not in known:
        why = (" (metrics and val_loss need a val_loader)" if val_loader is None
               and (monitor == "val_loss" or monitor in metrics) else "")
        raise ValueError(f"monitor must be one of {known}, got {monitor!r}{why}")
    if patience is not None and (not isinstance(patience, numbers.Integral) or isinstance(patience, bool)
                                 or patience < 1):
        raise ValueError(f"patience must be a positive integer (epochs without improvement) or None, got {patience!r}")
    if not isinstance(min_delta, numbers.Real) or min_delta < 0:
        raise ValueError(f"min_delta must be a non-negative number, got {min_delta!r}")
    if clip_grad_norm is not None and (not isinstance(clip_grad_norm, numbers.Real) or clip_grad_norm <= 0):
        raise ValueError(f"clip_grad_norm must be a positive number or None, got {clip_grad_norm!r}")
    if scheduler is not None:
        if not hasattr(scheduler, "step"):
            raise TypeError(f"scheduler must be a torch.optim.lr_scheduler object, got {type(scheduler).__name__}")
        if getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError("the scheduler was built for another optimizer: create it as "
                             "Scheduler(optimizer, ...) with the optimizer passed to fit")
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) and scheduler.mode != mode:
            raise ValueError(f"ReduceLROnPlateau has mode={scheduler.mode!r} but fit monitors {monitor!r} with "
                             f"mode={mode!r}: create it with ReduceLROnPlateau(optimizer, mode={mode!r}, ...)")
    return metrics


# ----------------------------------------------------------------------------------------
# The loop
# ----------------------------------------------------------------------------------------

def _split_batch(batch, device):
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(f"each batch must be a tuple (*inputs, target), got {type(batch).__name__}; "
                        "a Dataset's __getitem__ should return (x, y)")
    batch = [b.to(device) if isinstance(b, torch.Tensor) else b for b in batch]
    return batch[:-1], batch[-1]


def _batch_size(target) -> int:
    return int(target.shape[0]) if isinstance(target, torch.Tensor) and target.ndim > 0 else 1


def _scalar(value, what: str) -> float:
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            raise ValueError(f"{what} must return a single number (a mean over the batch), "
                             f"got a tensor of shape {tuple(value.shape)}; use reduction='mean'")
        value = value.item()
    return float(value)


def _device_of(model) -> torch.device:
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


@torch.no_grad()
def evaluate(model: nn.Module, loader, loss_fn=None, metrics: Mapping[str, Metric] | None = None,
             device=None) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over ``loader``, in eval mode, without gradients.

    Returns ``{"loss": ..., name: ...}``. Each value is the mean over batches weighted by
    batch size, which is the exact mean over examples when ``loss_fn`` and every metric
    return a mean over the batch (``nn.MSELoss()``, accuracy, ...).
    """
    _check_loader(loader, "loader")
    metrics = dict(metrics or {})
    device = torch.device(device) if device is not None else _device_of(model)
    was_training = model.training
    model.eval()
    totals = {name: 0.0 for name in (["loss"] if loss_fn is not None else []) + list(metrics)}
    count = 0
    try:
        for batch in loader:
            inputs, target = _split_batch(batch, device)
            pred = model(*inputs)
            n = _batch_size(target)
            if loss_fn is not None:
                totals["loss"] += n * _scalar(loss_fn(pred, target), "loss_fn")
            for name, fn in metrics.items():
                totals[name] += n * _scalar(fn(pred, target), f"metric {name!r}")
            count += n
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("the loader yielded no batches")
    return {name: total / count for name, total in totals.items()}


def _improved(score: float, best: float | None, mode: str, min_delta: float) -> bool:
    if best is None:
        return True
    return score < best - min_delta if mode == "min" else score > best + min_delta


def fit(model: nn.Module, train_loader, val_loader=None, *, loss_fn, optimizer: torch.optim.Optimizer,
        num_epochs: int, scheduler=None, metrics: Mapping[str, Metric] | None = None,
        monitor: str | None = None, mode: str = "min", patience: int | None = None, min_delta: float = 0.0,
        restore_best: bool = True, clip_grad_norm: float | None = None, device=None,
        progress: bool = True, desc: str | None = None, train_loss=None) -> History:
    """Train ``model`` for up to ``num_epochs`` epochs; return a :class:`History`.

    Each epoch: train on every batch of ``train_loader`` (``optimizer.zero_grad()``,
    ``loss_fn(model(*inputs), target).backward()``, optional gradient clipping to
    ``clip_grad_norm``, ``optimizer.step()``), then evaluate on ``val_loader`` (loss and
    ``metrics``, a dict ``name -> metric(prediction, target)`` returning a batch mean), then
    step ``scheduler`` once: ``ReduceLROnPlateau`` is given the monitored value, any other
    scheduler is stepped without arguments (a per-epoch schedule such as ``StepLR``).

    Early stopping and best weights: ``monitor`` is ``"val_loss"`` (the default when there
    is a ``val_loader``, else ``"train_loss"``), ``"train_loss"`` or a metric name; ``mode``
    says whether lower (``"min"``) or higher (``"max"``) is better, and an epoch improves on
    the best so far by more than ``min_delta``. With ``patience`` set, training stops after
    ``patience`` epochs without improvement. With ``restore_best`` (default) the model ends
    with the weights of its best epoch, whether or not it stopped early.

    ``train_loss``: for objectives that need more than one forward pass (adversarial training,
    :func:`seqlib.sentiment.adversarial_loss`), a function ``train_loss(model, inputs, target)``
    returning the scalar loss to backpropagate; the default is ``loss_fn(model(*inputs), target)``.
    It runs after ``optimizer.zero_grad()``, so it may itself backpropagate part of the loss
    (gradients add up in ``.grad``) and return the rest. ``loss_fn`` still gives the validation
    loss; ``History.train_loss`` records the value ``train_loss`` returned.

    ``device`` defaults to the device of the model's parameters; batches are moved there.
    ``progress`` shows a progress bar over epochs (:func:`seqlib.utils.progress`: a widget in
    Jupyter, the terminal during the book build; ``TQDM_DISABLE=1`` silences it).
    A non-finite training loss raises ``FloatingPointError`` with advice.
    """
    if monitor is None:
        monitor = "val_loss" if val_loader is not None else "train_loss"
    metrics = _check_args(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, scheduler,
                          metrics, monitor, mode, patience, min_delta, clip_grad_norm)
    device = torch.device(device) if device is not None else _device_of(model)
    model.to(device)
    history = History(monitor=monitor, mode=mode, metrics={name: [] for name in metrics})
    best_state, waited = None, 0
    plateau = isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau)
    # disable only when asked: an explicit disable=False would override TQDM_DISABLE=1
    bar = progress_bar(range(1, num_epochs + 1), desc=desc or type(model).__name__, unit="epoch",
                       **({} if progress else {"disable": True}))
    for epoch in bar:
        start = time.perf_counter()
        lr = float(optimizer.param_groups[0]["lr"])
        model.train()
        total, count = 0.0, 0
        for step, batch in enumerate(train_loader, 1):
            inputs, target = _split_batch(batch, device)
            optimizer.zero_grad()
            loss = loss_fn(model(*inputs), target) if train_loss is None else train_loss(model, inputs, target)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise ValueError("loss_fn must return a scalar tensor (a mean over the batch); "
                                 "use reduction='mean'")
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the training loss is {loss.item()} at epoch {epoch}, batch {step}: lower the "
                    "learning rate, clip gradients (clip_grad_norm=1.0) or check the data for NaNs")
            loss.backward()
            if clip_grad_norm is not None:
                nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
            n = _batch_size(target)
            total += n * loss.item()
            count += n
        if count == 0:
            raise ValueError("train_loader yielded no batches")
        history.epochs.append(epoch)
        history.train_loss.append(total / count)
        history.lr.append(lr)
        scores = {"train_loss": total / count}
        if val_loader is not None:
            result = evaluate(model, val_loader, loss_fn, metrics, device)
            history.val_loss.append(result["loss"])
            scores["val_loss"] = result["loss"]
            for name in metrics:
                history.metrics[name].append(result[name])
                scores[name] = result[name]
        score = scores[monitor]
        if plateau:
            scheduler.step(score)
        elif scheduler is not None:
            scheduler.step()
        history.epoch_time.append(time.perf_counter() - start)
        if math.isfinite(score) and _improved(score, history.best_score, mode, min_delta):
            history.best_epoch, history.best_score, waited = epoch, score, 0
            if restore_best:
                best_state = copy.deepcopy(model.state_dict())
        else:
            waited += 1
        bar.set_postfix({k: f"{v:.4g}" for k, v in scores.items()} | {"lr": f"{lr:.2g}"})
        if patience is not None and waited >= patience:
            history.stopped_early = epoch < num_epochs
            break
    bar.close()
    if restore_best and best_state is not None:
        model.load_state_dict(best_state)
    return history
