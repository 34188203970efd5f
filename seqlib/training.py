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

Also here, the pieces both training loops share (:func:`seqlib.lm_train.train` is built on them):
:func:`clip_gradients` (by global norm; D2L's ``grad_clipping``), :func:`evaluate`, and
:func:`adversarial_loss` (a ``train_loss`` for adversarial training on word embeddings). The
record of a run is :class:`seqlib.history.History`.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping

import torch
from torch import nn

from seqlib.history import History
from seqlib.page import progress as progress_bar
from seqlib.validation import ArgumentTypeError, number_in_range, one_of, positive_int

__all__ = ["fit", "evaluate", "clip_gradients", "trainable_parameters", "adversarial_loss",
           "adversarial_step"]

Metric = Callable[[torch.Tensor, torch.Tensor], "torch.Tensor | float"]


# ----------------------------------------------------------------------------------------
# Argument checks: each says what is wrong and how to fix it
# ----------------------------------------------------------------------------------------

def _check_loader(loader, name: str, *, optional: bool = False):
    if loader is None and optional:
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
    _check_loader(val_loader, "val_loader", optional=True)
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
    positive_int(num_epochs, "num_epochs")
    one_of(mode, "mode", ("min", "max"), hint="'min' for losses and errors, 'max' for accuracies")
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
    if patience is not None:
        positive_int(patience, "patience", hint="(epochs without improvement) or None")
    number_in_range(min_delta, "min_delta", 0, hint="the smallest change that counts as an improvement")
    if clip_grad_norm is not None:
        number_in_range(clip_grad_norm, "clip_grad_norm", 0, low_open=True, hint="or None for no clipping")
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


def _check_pair(pred, target):
    """A floating-point target must not broadcast against the prediction (``(B, 1)`` vs ``(B,)`` gives
    ``(B, B)``: a loss over every pair, silently). Class indices (integer targets) are not checked."""
    if (isinstance(pred, torch.Tensor) and isinstance(target, torch.Tensor) and pred.dim() >= 1
            and target.dim() >= 1 and target.is_floating_point() and pred.shape != target.shape):
        try:
            broadcast = torch.broadcast_shapes(pred.shape, target.shape)
        except RuntimeError:
            broadcast = None  # the loss function will refuse these itself
        if broadcast is not None and broadcast != pred.shape:
            fix = ("squeeze the model's output (return out.squeeze(-1))" if pred.shape[-1] == 1
                   else "reshape the target to the prediction's shape")
            raise ValueError(f"the model returns predictions of shape {tuple(pred.shape)} but targets of shape "
                             f"{tuple(target.shape)}: the loss would broadcast them to {tuple(broadcast)} and "
                             f"compare every prediction with every target; {fix}")


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
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_loader(loader, "loader")
    if loss_fn is not None and not callable(loss_fn):
        raise ArgumentTypeError(f"loss_fn must be callable as loss_fn(prediction, target), e.g. nn.MSELoss(), "
                                f"or None; got {type(loss_fn).__name__}")
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not callable(fn):
            raise ArgumentTypeError(f"metric {name!r} must be a function metric(prediction, target), "
                                    f"got {type(fn).__name__}")
    device = torch.device(device) if device is not None else _device_of(model)
    was_training = model.training
    model.eval()
    totals = {name: 0.0 for name in (["loss"] if loss_fn is not None else []) + list(metrics)}
    count = 0
    try:
        for batch in loader:
            inputs, target = _split_batch(batch, device)
            pred = model(*inputs)
            _check_pair(pred, target)
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
    :func:`adversarial_loss`), a function ``train_loss(model, inputs, target)``
    returning the scalar loss to backpropagate; the default is ``loss_fn(model(*inputs), target)``.
    It runs after ``optimizer.zero_grad()``, so it may itself backpropagate part of the loss
    (gradients add up in ``.grad``) and return the rest. ``loss_fn`` still gives the validation
    loss; ``History.train_loss`` records the value ``train_loss`` returned.

    ``device`` defaults to the device of the model's parameters; batches are moved there.
    ``progress`` shows a progress bar over epochs (:func:`seqlib.page.progress`: a widget in
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
            if _batch_size(target) == 0:
                raise ValueError(f"batch {step} of epoch {epoch} is empty (0 examples): check the data set "
                                 "and the sampler (a filter that removed everything?)")
            optimizer.zero_grad()
            if train_loss is None:
                pred = model(*inputs)
                _check_pair(pred, target)
                loss = loss_fn(pred, target)
            else:
                loss = train_loss(model, inputs, target)
            if not isinstance(loss, torch.Tensor) or loss.numel() != 1:
                raise ValueError("loss_fn must return a scalar tensor (a mean over the batch); "
                                 "use reduction='mean'")
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the training loss is {loss.item()} at epoch {epoch}, batch {step}: lower the "
                    "learning rate, clip gradients (clip_grad_norm=1.0) or check the data for NaNs")
            loss.backward()
            if clip_grad_norm is not None:
                clip_gradients(model, clip_grad_norm)
            optimizer.step()
            n = _batch_size(target)
            total += n * loss.item()
            count += n
        if count == 0:
            raise ValueError("train_loader yielded no batches")
        train_time = time.perf_counter() - start
        result = evaluate(model, val_loader, loss_fn, metrics, device) if val_loader is not None else {}
        score = (total / count if monitor == "train_loss" else
                 result["loss"] if monitor == "val_loss" else result[monitor])
        if plateau:
            scheduler.step(score)
        elif scheduler is not None:
            scheduler.step()
        scores = history.record(epoch, train_loss=total / count, lr=lr, val_loss=result.get("loss"),
                                metrics={name: result[name] for name in metrics if name in result},
                                train_time=train_time, epoch_time=time.perf_counter() - start)
        if history.improved(score, min_delta):
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


# ----------------------------------------------------------------------------------------
# Gradient clipping and adversarial training: what both training loops share
# ----------------------------------------------------------------------------------------

def trainable_parameters(net) -> list:
    """The parameters of ``net``: a module, a scratch model with a ``params`` list, or a list of tensors."""
    if isinstance(net, nn.Module):
        return [p for p in net.parameters() if p.requires_grad]
    if net is None or isinstance(net, (str, torch.Tensor)) or not (
            hasattr(net, "params") or hasattr(net, "parameters") or isinstance(net, (list, tuple))):
        raise ArgumentTypeError(f"net must be a model (an nn.Module, or a scratch model with .params) or a list of "
                                f"parameters, got {type(net).__name__}")
    if hasattr(net, "params"):
        return list(net.params)
    if hasattr(net, "parameters"):
        return list(net.parameters())
    return list(net)


def clip_gradients(net, theta: float) -> float:
    r"""Clip by global norm: if :math:`\|g\| > \theta`, scale every gradient by :math:`\theta / \|g\|`.

    .. math::

        \|g\| = \sqrt{\sum_p \sum_i \Big(\frac{\partial L}{\partial p_i}\Big)^2}, \qquad
        g \leftarrow \min\Big(1, \frac{\theta}{\|g\|}\Big)\, g

    over all parameters together, so the *direction* of the update is kept and only its length
    is capped. Gradients with a norm of at most ``theta`` are left unchanged. ``net`` is a
    module, a model with a ``params`` list, or a list of parameters. Returns the norm before
    clipping. :func:`fit` (``clip_grad_norm``) and :func:`seqlib.lm_train.train` (``theta``)
    both clip here; D2L's ``grad_clipping`` calls it.
    """
    theta = number_in_range(theta, "theta", 0, low_open=True, hint="the largest gradient norm kept")
    grads = [p.grad for p in trainable_parameters(net) if p.grad is not None]
    if not grads:
        return 0.0
    norm = torch.sqrt(sum(torch.sum(g ** 2) for g in grads))
    if norm > theta:
        for g in grads:
            g.mul_(theta / norm)
    return float(norm)


def adversarial_loss(epsilon: float, loss_fn=None):
    r"""A ``train_loss`` for :func:`seqlib.training.fit`: the loss plus the loss under the worst small change of the word vectors.

    Adversarial training (Miyato, Dai & Goodfellow 2017) perturbs the embedded sentence
    :math:`E` (the output of ``model.embedding``) in the direction that increases the loss
    most, to first order, and trains on both:

    .. math::

        g = \nabla_E\, \mathcal{L}(E), \qquad r = \epsilon\, \frac{g}{\lVert g \rVert_2}, \qquad
        \mathcal{L}_{\text{train}} = \mathcal{L}(E) + \mathcal{L}(E + r)

    with the norm taken per sentence (over all its positions and dimensions) and :math:`r` held
    constant (no gradient flows through it). Padding positions get no perturbation, since the
    loss does not depend on them. The cost is one more forward and one more backward pass per
    batch. The clean loss is backpropagated here (that gives :math:`g` and the clean loss's
    parameter gradients at once); :func:`seqlib.training.fit` backpropagates the perturbed
    loss, and the gradients add up. The value returned is :math:`\mathcal{L}_{\text{train}}`.

    ==================  ===============================  ==================================
    ``inputs``          ``(X, lengths)``                 as ``model(X, lengths)`` takes them
    ``E``, ``g``, ``r`` ``(batch, T, embed_size)``       ``model.embedding``'s output
    returns             ``()``                           :math:`\mathcal{L}_{\text{train}}`
    ==================  ===============================  ==================================

    ``model`` must have an ``embedding`` module (:class:`seqlib.classifiers.RNNClassifier` has); ``loss_fn``
    defaults to ``BCEWithLogitsLoss``. Usage: ``fit(model, ..., loss_fn=nn.BCEWithLogitsLoss(),
    train_loss=adversarial_loss(0.5))``. The work of one batch is :func:`adversarial_step`.
    """
    epsilon = number_in_range(epsilon, "epsilon", 0, low_open=True, hint="the size of the perturbation")
    loss_fn = loss_fn if loss_fn is not None else nn.BCEWithLogitsLoss()

    def train_loss(model, inputs, target):
        if not isinstance(getattr(model, "embedding", None), nn.Module):
            raise TypeError(f"adversarial_loss perturbs model.embedding; {type(model).__name__} has none")
        return adversarial_step(model, inputs, target, epsilon, loss_fn)

    return train_loss


def adversarial_step(model, inputs, target, epsilon, loss_fn):
    """One batch of :func:`adversarial_loss`: backpropagate the clean loss, return clean + perturbed."""
    embedded = []                              # catch E, the output of model.embedding
    hook = model.embedding.register_forward_hook(lambda m, args, E: embedded.append(E))
    try:
        clean = loss_fn(model(*inputs), target)
    finally:
        hook.remove()
    E = embedded[0]
    E.retain_grad()
    clean.backward()                           # parameter gradients, and g in E.grad
    g = E.grad
    norm = g.flatten(1).norm(dim=1).clamp_min(1e-12)   # one norm per sentence
    r = epsilon * g / norm.view(-1, *[1] * (g.dim() - 1))
    hook = model.embedding.register_forward_hook(lambda m, args, E: E + r)  # E -> E + r
    try:
        perturbed = loss_fn(model(*inputs), target)
    finally:
        hook.remove()
    return perturbed + clean.detach()          # fit backpropagates the perturbed part
