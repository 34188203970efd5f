"""The one training loop of the course: :func:`fit`, for every model and every lab.

Each epoch trains on every batch (clipping by norm or by value), validates, steps a learning-rate
scheduler, keeps the best epoch's weights, may stop early, and the run returns the one
:class:`~seqlib.history.History`. It knows nothing about the task:

==========================  ====================================================================
regression (Day 4)          ``(X, y)`` batches, ``loss_fn=nn.MSELoss()``
classification (Days 5, 8)  ``(X, lengths, y)`` batches: the model is called as ``model(X, lengths)``
language models (Days 3, 6) the state carried or reset: :func:`seqlib.lm_train.fit_options`
the copy task (Day 7)       clipping by value, accuracies per batch: :func:`seqlib.copy_task.fit_options`
==========================  ====================================================================

    history = fit(model, train_loader, val_loader, loss_fn=nn.MSELoss(), num_epochs=30, patience=5,
                  optimizer=optimizer, scheduler=ReduceLROnPlateau(optimizer), metrics={"mae": mae})
    history.plot()

Also here: :func:`clip_gradients`, :func:`evaluate`, :func:`eval_mode`, :func:`adversarial_loss` (a
``train_loss``).
"""

from __future__ import annotations

import contextlib
import copy
import math
import time
from collections.abc import Callable, Mapping

import torch
from torch import nn

from seqlib import validation
from seqlib.history import History
from seqlib.page import progress as progress_bar
from seqlib.validation import ArgumentTypeError, function, number_in_range, one_of, positive_int

__all__ = ["fit", "evaluate", "eval_mode", "clip_gradients", "trainable_parameters",
           "adversarial_loss", "adversarial_step"]

_DIVERGED = ("training diverged at epoch {}, batch {}: the training loss is {}; lower the learning rate (lr={:g}), "
             "check the data for NaNs, or clip the gradients (clip_grad_norm=1.0)")

Metric = Callable[[torch.Tensor, torch.Tensor], "torch.Tensor | float"]


def _split_batch(batch, device):
    batch = [b.to(device) if isinstance(b, torch.Tensor) else b for b in batch]
    return batch[:-1], batch[-1]


def _batch_size(target) -> int:
    return int(target.shape[0]) if isinstance(target, torch.Tensor) and target.ndim > 0 else 1


def _device_of(model) -> torch.device:
    return next(iter(trainable_parameters(model)), torch.zeros(0)).device


def evaluate(model: nn.Module, loader, loss_fn=None, metrics: Mapping[str, Metric] | None = None,
             device=None) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over ``loader``, in eval mode, without gradients.

    Returns ``{"loss": ..., name: ...}``: means over batches weighted by batch size, exact means over
    examples when ``loss_fn`` and every metric return a mean over the batch.
    """
    validation.loader(loader, "loader")
    function(loss_fn, "loss_fn", "loss_fn(prediction, target)", optional=True)
    device = torch.device(device) if device is not None else _device_of(model)
    return _evaluate(model, loader, loss_fn, dict(metrics or {}), device)


@contextlib.contextmanager
def eval_mode(model):
    """``with eval_mode(model):`` runs its body in evaluation mode (no dropout), then gives
    ``model`` back the mode it had, whatever happens."""
    was_training = getattr(model, "training", False)
    model.eval()
    try:
        yield model
    finally:
        model.train(was_training)


@torch.no_grad()
def _evaluate(model, loader, loss_fn, metrics, device) -> dict[str, float]:
    totals = {name: 0.0 for name in (["loss"] if loss_fn is not None else []) + list(metrics)}
    count = 0
    with eval_mode(model):
        for batch in loader:
            inputs, target = _split_batch(batch, device)
            pred = model(*inputs)
            n = _batch_size(target)
            if loss_fn is not None:
                totals["loss"] += n * float(loss_fn(pred, target))
            for name, fn in metrics.items():
                totals[name] += n * float(fn(pred, target))
            count += n
    return {name: total / count for name, total in totals.items()}


def _train_epoch(model, loader, loss_fn, optimizer, params, *, state, clip_grad_norm, clip_grad_value,
                 train_metrics, train_loss, epoch, device):
    """One pass over ``loader``; returns the mean loss, the means of ``train_metrics`` and the tokens read."""
    sums, count, tokens, H = dict.fromkeys(["loss", *train_metrics], 0.0), 0, 0, None
    begin = getattr(model, "begin_state", None)  # a fresh state; None for a model that starts from zeros itself
    for step, batch in enumerate(loader, 1):
        inputs, target = _split_batch(batch, device)
        n = _batch_size(target)
        optimizer.zero_grad()
        if train_loss is not None:
            loss = train_loss(model, inputs, target)
        else:
            if state is None:
                pred = model(*inputs)
            else:  # a fresh state (random sampling, or the epoch's first batch), or the last one detached
                if H is not None and state == "carry":  # without its graph: gradients stop here
                    H = H.detach() if isinstance(H, torch.Tensor) else tuple(h.detach() for h in H)
                else:
                    H = begin(batch_size=len(inputs[0]), device=device) if begin is not None else None
                pred, H = model(*inputs, H)
                tokens += target.numel()
            loss = loss_fn(pred, target)
        value = loss.item()
        if not math.isfinite(value):  # the non-finite guard
            raise FloatingPointError(_DIVERGED.format(epoch, step, value, optimizer.param_groups[0]["lr"]))
        loss.backward()
        if clip_grad_norm is not None:
            _clip_norm([p for p in params if p.grad is not None], clip_grad_norm)
        elif clip_grad_value is not None:
            nn.utils.clip_grad_value_(params, clip_grad_value)
        optimizer.step()
        sums["loss"] += n * value
        with torch.no_grad():
            for name, fn in train_metrics.items():
                sums[name] += n * float(fn(pred, target))
        count += n
    return {name: total / count for name, total in sums.items()}, tokens


def fit(model: nn.Module, train_loader, val_loader=None, *, loss_fn, optimizer: torch.optim.Optimizer,
        num_epochs: int, scheduler=None, metrics: Mapping[str, Metric] | None = None,
        train_metrics: Mapping[str, Metric] | None = None, validate=None, state: str | None = None,
        monitor: str | None = None, mode: str = "min", patience: int | None = None, min_delta: float = 0.0,
        restore_best: bool = True, clip_grad_norm: float | None = None, clip_grad_value: float | None = None,
        device=None, progress: bool = True, desc: str | None = None, train_loss=None, on_epoch=None) -> History:
    """Train ``model`` for up to ``num_epochs`` epochs; return a :class:`History`.

    Each epoch: for every batch ``(*inputs, target)``, ``zero_grad``, ``loss_fn(model(*inputs), target).backward()``,
    clipping, ``optimizer.step()``; then validation, the record, one ``scheduler`` step (``ReduceLROnPlateau``
    is given the monitored value) and ``on_epoch(history)``.

    ========================  ================================================================
    ``clip_grad_norm``        rescale the whole gradient to this global norm (:func:`clip_gradients`)
    ``clip_grad_value``       clip every gradient entry to ``[-v, v]`` (``nn.utils.clip_grad_value_``)
    ``state``                 ``"reset"`` or ``"carry"``: ``pred, H = model(*inputs, H)``, ``H`` fresh every
                              batch (``model.begin_state``, or ``None``) or carried over, detached
                              (truncated BPTT; fresh each epoch); tokens go to ``History.train_tokens``
    ``train_metrics``         ``name -> metric(prediction, target)`` on every training batch
    ``val_loader``            validation batches: loss and ``metrics`` (:func:`evaluate`)
    ``validate``              or ``validate(model) -> {"loss": ..., name: ...}`` for any other validation
    ``monitor``, ``mode``     the quantity that decides the best epoch: ``"val_loss"`` (the default with
                              validation, else ``"train_loss"``), or a metric; ``"min"`` or ``"max"``
    ``patience``              stop after this many epochs without an improvement larger than ``min_delta``
    ``restore_best``          end with the weights of the best epoch (default), whether or not it stopped early
    ``train_loss``            ``train_loss(model, inputs, target)``, run after ``zero_grad()``, for objectives
                              of several passes (:func:`adversarial_loss`): it may backpropagate a part itself
    ========================  ================================================================

    ``device`` defaults to the device of the model's parameters; batches are moved there. ``progress``
    shows a progress bar over epochs (:func:`seqlib.page.progress`; ``TQDM_DISABLE=1`` silences it).
    A non-finite training loss raises ``FloatingPointError`` naming the epoch and batch, with advice.
    """
    if monitor is None:
        monitor = "val_loss" if val_loader is not None or validate is not None else "train_loss"
    params = trainable_parameters(model)
    validation.loader(train_loader, "train_loader")
    validation.loader(val_loader, "val_loader", optional=True)
    function(loss_fn, "loss_fn", "loss_fn(prediction, target), e.g. nn.MSELoss()")
    positive_int(num_epochs, "num_epochs")
    one_of(state, "state", (None, "reset", "carry"), hint="'carry' or 'reset' for a model with a recurrent state")
    metrics, train_metrics = dict(metrics or {}), dict(train_metrics or {})
    known = ["train_loss", *train_metrics] + (["val_loss", *metrics] if val_loader is not None else [])
    if validate is None:  # validate's names are known after the first epoch
        one_of(monitor, "monitor", known, hint="metrics and val_loss need a val_loader")
    if patience is not None:
        positive_int(patience, "patience", hint="(epochs without improvement) or None")
    number_in_range(min_delta, "min_delta", 0, hint="the smallest change that counts as an improvement")
    for name, clip in (("clip_grad_norm", clip_grad_norm), ("clip_grad_value", clip_grad_value)):
        if clip is not None:
            number_in_range(clip, name, 0, low_open=True, hint="or None for no clipping")
    device = torch.device(device) if device is not None else _device_of(model)
    if isinstance(model, nn.Module):
        model.to(device)
    history = History(monitor=monitor, mode=mode, metrics={name: [] for name in train_metrics})
    best_state, waited = None, 0
    # disable only when asked: an explicit disable=False would override TQDM_DISABLE=1
    bar = progress_bar(range(1, num_epochs + 1), desc=desc or type(model).__name__, unit="epoch",
                       **({} if progress else {"disable": True}))
    for epoch in bar:
        start = time.perf_counter()
        lr = float(optimizer.param_groups[0]["lr"])
        model.train()
        train, tokens = _train_epoch(model, train_loader, loss_fn, optimizer, params, state=state,
                                     clip_grad_norm=clip_grad_norm, clip_grad_value=clip_grad_value,
                                     train_metrics=train_metrics, train_loss=train_loss, epoch=epoch, device=device)
        train_time = time.perf_counter() - start
        result = (dict(validate(model)) if validate is not None else
                  _evaluate(model, val_loader, loss_fn, metrics, device) if val_loader is not None else {})
        scores = history.record(epoch, train_loss=train.pop("loss"), lr=lr, val_loss=result.pop("loss", None),
                                metrics=train | result, train_time=train_time,
                                train_tokens=tokens if state is not None else None,
                                epoch_time=time.perf_counter() - start)
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            scheduler.step(scores[monitor])
        elif scheduler is not None:
            scheduler.step()
        if history.improved(scores[monitor], min_delta):
            history.best_epoch, history.best_score, waited = epoch, scores[monitor], 0
            if restore_best:
                best_state = copy.deepcopy(model.state_dict() if isinstance(model, nn.Module) else params)
        else:
            waited += 1
        if on_epoch is not None:
            on_epoch(history)
        bar.set_postfix({k: f"{v:.4g}" for k, v in scores.items()} | {"lr": f"{lr:.2g}"})
        if patience is not None and waited >= patience:
            history.stopped_early = epoch < num_epochs
            break
    bar.close()
    if best_state is not None:
        if isinstance(best_state, dict):
            model.load_state_dict(best_state)
        else:
            with torch.no_grad():
                for p, saved in zip(params, best_state):
                    p.copy_(saved)
    return history


# Gradient clipping and adversarial training

def trainable_parameters(net) -> list:
    """The parameters of ``net``: a module, a scratch model with a ``params`` list, or a list of tensors."""
    if isinstance(net, nn.Module):
        return [p for p in net.parameters() if p.requires_grad]
    if hasattr(net, "params") or hasattr(net, "parameters"):
        return list(net.params if hasattr(net, "params") else net.parameters())
    if isinstance(net, (list, tuple)):
        return list(net)
    raise ArgumentTypeError(f"net (the model) must be a torch.nn.Module or a list of parameters, got {type(net).__name__}")


def clip_gradients(net, theta: float) -> float:
    r"""Clip by global norm: if :math:`\|g\| > \theta`, scale every gradient by :math:`\theta / \|g\|`.

    .. math::

        \|g\| = \sqrt{\sum_p \sum_i \Big(\frac{\partial L}{\partial p_i}\Big)^2}, \qquad
        g \leftarrow \min\Big(1, \frac{\theta}{\|g\|}\Big)\, g

    over all parameters together: the *direction* of the update is kept, its length capped. ``net``: a module,
    a model with a ``params`` list, or a list of parameters. Returns the norm before clipping.
    """
    theta = number_in_range(theta, "theta", 0, low_open=True, hint="the largest gradient norm kept")
    return _clip_norm([p for p in trainable_parameters(net) if p.grad is not None], theta)


def _clip_norm(params, theta: float) -> float:
    grads = [p.grad for p in params]
    if not grads:
        return 0.0
    norm = torch.sqrt(sum(torch.sum(g ** 2) for g in grads))
    if norm > theta:
        for g in grads:
            g.mul_(theta / norm)
    return float(norm)


def adversarial_loss(epsilon: float, loss_fn=None):
    r"""A ``train_loss`` for :func:`seqlib.training.fit`: the loss plus the loss under the worst small change of the word vectors.

    Adversarial training (Miyato, Dai & Goodfellow 2017) perturbs the embedded sentence :math:`E` where
    the loss grows fastest, to first order, and trains on both:

    .. math::

        g = \nabla_E\, \mathcal{L}(E), \qquad r = \epsilon\, \frac{g}{\lVert g \rVert_2}, \qquad
        \mathcal{L}_{\text{train}} = \mathcal{L}(E) + \mathcal{L}(E + r)

    with the norm per sentence and :math:`r` held constant (padding gets none). The clean loss is
    backpropagated here (giving :math:`g`), :func:`fit` backpropagates the perturbed one; gradients add up.

    ==================  ===============================  ==================================
    ``inputs``          ``(X, lengths)``                 as ``model(X, lengths)`` takes them
    ``E``, ``g``, ``r`` ``(batch, T, embed_size)``       ``model.embedding``'s output
    returns             ``()``                           :math:`\mathcal{L}_{\text{train}}`
    ==================  ===============================  ==================================

    ``model`` needs an ``embedding`` module; ``loss_fn`` defaults to ``BCEWithLogitsLoss``. Usage:
    ``fit(model, ..., train_loss=adversarial_loss(0.5))``; one batch's work is :func:`adversarial_step`.
    """
    epsilon = number_in_range(epsilon, "epsilon", 0, low_open=True, hint="the size of the perturbation")
    loss_fn = loss_fn if loss_fn is not None else nn.BCEWithLogitsLoss()

    def train_loss(model, inputs, target):
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
