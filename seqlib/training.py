"""The one training loop of the course: :func:`fit`, for every model and every lab.

Each epoch trains on every batch (clipping by norm or by value), validates, steps a learning-rate
scheduler, keeps the best epoch's weights, may stop early, and the run returns the one
:class:`~seqlib.history.History`. Its arguments are checked once, at its entry. It knows nothing
about the task:

==========================  ====================================================================
regression (Day 4)          ``(X, y)`` batches, ``loss_fn=nn.MSELoss()``
classification (Days 5, 8)  ``(X, lengths, y)`` batches: the model is called as ``model(X, lengths)``
language models (Days 3, 6) the state carried or reset: :func:`seqlib.lm_train.fit_options`
the copy task (Day 7)       clipping by value, accuracies per batch: :func:`seqlib.copy_task.fit_options`
==========================  ====================================================================

    history = fit(model, train_loader, val_loader, loss_fn=nn.MSELoss(), num_epochs=30, patience=5,
                  optimizer=optimizer, scheduler=ReduceLROnPlateau(optimizer), metrics={"mae": mae})
    history.plot()

Also here: :func:`clip_gradients`, :func:`evaluate`, :func:`adversarial_loss` (a ``train_loss``).
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

__all__ = ["fit", "evaluate", "clip_gradients", "trainable_parameters", "adversarial_loss", "adversarial_step"]

Metric = Callable[[torch.Tensor, torch.Tensor], "torch.Tensor | float"]


# Argument checks, once at the entry: each says what is wrong and how to fix it

def _check_loader(loader, name: str):
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


def _check_metrics(metrics, taken=()) -> dict:
    metrics = dict(metrics or {})
    for name, fn in metrics.items():
        if not isinstance(name, str) or not name or name in ("train_loss", "val_loss", *taken):
            raise ValueError(f"metric names must be non-empty strings other than train_loss/val_loss and each "
                             f"other, got {name!r}")
        if not callable(fn):
            raise TypeError(f"metric {name!r} must be a function metric(prediction, target), got {type(fn).__name__}")
    return metrics


def _check_args(model, train_loader, val_loader, loss_fn, optimizer, num_epochs, scheduler, metrics, train_metrics,
                validate, state, monitor, mode, patience, min_delta, clip_grad_norm, clip_grad_value, train_loss,
                on_epoch):
    if not isinstance(model, nn.Module) and not hasattr(model, "params"):
        raise TypeError(f"model must be a torch.nn.Module (or a from-scratch model with a params list), "
                        f"got {type(model).__name__}")
    _check_loader(train_loader, "train_loader")
    if val_loader is not None:
        _check_loader(val_loader, "val_loader")
    for name, fn, usage in (("loss_fn", loss_fn, "loss_fn(prediction, target), e.g. nn.MSELoss()"),
                            ("validate", validate, "validate(model) -> {'loss': ..., name: ...}"),
                            ("on_epoch", on_epoch, "on_epoch(history)"),
                            ("train_loss", train_loss, "train_loss(model, inputs, target)")):
        if (fn is not None or name == "loss_fn") and not callable(fn):
            raise TypeError(f"{name} must be a function {usage}, got {type(fn).__name__}")
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer, e.g. torch.optim.Adam(model.parameters()); "
                        f"got {type(optimizer).__name__}")
    model_params = {id(p) for p in trainable_parameters(model)}
    if model_params and not model_params & {id(p) for g in optimizer.param_groups for p in g["params"]}:
        raise ValueError("the optimizer holds none of the model's parameters: create it from this model, "
                         "torch.optim.Adam(model.parameters(), ...), after building the model")
    positive_int(num_epochs, "num_epochs")
    one_of(mode, "mode", ("min", "max"), hint="'min' for losses and errors, 'max' for accuracies")
    one_of(state, "state", (None, "reset", "carry"), hint="None for a model without a recurrent state, 'carry' "
           "to carry it from batch to batch (sequential partitioning), 'reset' for a fresh one every batch")
    if validate is not None and val_loader is not None:
        raise ValueError("pass val_loader or validate, not both")
    if train_loss is not None and state is not None:
        raise ValueError("train_loss and state cannot be combined: train_loss calls the model itself")
    train_metrics = _check_metrics(train_metrics)
    metrics = _check_metrics(metrics, taken=train_metrics)
    known = ["train_loss", *train_metrics] + (["val_loss", *metrics] if val_loader is not None else [])
    if monitor not in known and validate is None:
        why = (" (metrics and val_loss need a val_loader)" if val_loader is None
               and (monitor == "val_loss" or monitor in metrics) else "")
        raise ValueError(f"monitor must be one of {known}, got {monitor!r}{why}")
    if patience is not None:
        positive_int(patience, "patience", hint="(epochs without improvement) or None")
    number_in_range(min_delta, "min_delta", 0, hint="the smallest change that counts as an improvement")
    for name, clip in (("clip_grad_norm", clip_grad_norm), ("clip_grad_value", clip_grad_value)):
        if clip is not None:
            number_in_range(clip, name, 0, low_open=True, hint="or None for no clipping")
    if clip_grad_norm is not None and clip_grad_value is not None:
        raise ValueError("pass clip_grad_norm (rescale the whole gradient) or clip_grad_value (clip each entry), "
                         "not both")
    if scheduler is not None:
        if not hasattr(scheduler, "step"):
            raise TypeError(f"scheduler must be a torch.optim.lr_scheduler object, got {type(scheduler).__name__}")
        if getattr(scheduler, "optimizer", optimizer) is not optimizer:
            raise ValueError("the scheduler was built for another optimizer: create it as "
                             "Scheduler(optimizer, ...) with the optimizer passed to fit")
        if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau) and scheduler.mode != mode:
            raise ValueError(f"ReduceLROnPlateau has mode={scheduler.mode!r} but fit monitors {monitor!r} with "
                             f"mode={mode!r}: create it with ReduceLROnPlateau(optimizer, mode={mode!r}, ...)")
    return metrics, train_metrics


# Batches, evaluation, the loop

def _split_batch(batch, device):
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(f"each batch must be a tuple (*inputs, target), got {type(batch).__name__}; "
                        "a Dataset's __getitem__ should return (x, y)")
    batch = [b.to(device) if isinstance(b, torch.Tensor) else b for b in batch]
    return batch[:-1], batch[-1]


def _batch_size(target) -> int:
    return int(target.shape[0]) if isinstance(target, torch.Tensor) and target.ndim > 0 else 1


def _check_pair(pred, target):
    """A float target must not broadcast against the prediction (``(B, 1)`` vs ``(B,)``: ``(B, B)``)."""
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
    return next(iter(trainable_parameters(model)), torch.zeros(0)).device


def evaluate(model: nn.Module, loader, loss_fn=None, metrics: Mapping[str, Metric] | None = None,
             device=None) -> dict[str, float]:
    """Mean loss and metrics of ``model`` over ``loader``, in eval mode, without gradients.

    Returns ``{"loss": ..., name: ...}``: means over batches weighted by batch size, exact means over
    examples when ``loss_fn`` and every metric return a mean over the batch.
    """
    if not isinstance(model, nn.Module):
        raise ArgumentTypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _check_loader(loader, "loader")
    if loss_fn is not None and not callable(loss_fn):
        raise ArgumentTypeError(f"loss_fn must be callable as loss_fn(prediction, target), e.g. nn.MSELoss(), "
                                f"or None; got {type(loss_fn).__name__}")
    metrics = _check_metrics(metrics)
    return _evaluate(model, loader, loss_fn, metrics, torch.device(device) if device is not None else _device_of(model))


@torch.no_grad()
def _evaluate(model, loader, loss_fn, metrics, device) -> dict[str, float]:
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


def _train_epoch(model, loader, loss_fn, optimizer, params, *, state, clip_grad_norm, clip_grad_value,
                 train_metrics, train_loss, epoch, device):
    """One pass over ``loader``; returns the mean loss, the means of ``train_metrics`` and the tokens read."""
    sums, count, tokens, H = dict.fromkeys(["loss", *train_metrics], 0.0), 0, 0, None
    begin = getattr(model, "begin_state", None)  # a fresh state; None for a model that starts from zeros itself
    for step, batch in enumerate(loader, 1):
        inputs, target = _split_batch(batch, device)
        n = _batch_size(target)
        if n == 0:
            raise ValueError(f"batch {step} of epoch {epoch} is empty (0 examples): check the data set "
                             "and the sampler (a filter that removed everything?)")
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
            if step == 1:  # the shapes, once per epoch
                _check_pair(pred, target)
            loss = loss_fn(pred, target)
        value = _scalar(loss, "loss_fn")
        if value != value or abs(value) == float("inf"):
            raise FloatingPointError(
                f"training diverged at epoch {epoch}, batch {step}: the training loss is {value}; lower the "
                f"learning rate (lr={optimizer.param_groups[0]['lr']:g}), check the data for NaNs, or clip the "
                f"gradients {'harder' if clip_grad_norm or clip_grad_value else '(clip_grad_norm=1.0)'}")
        loss.backward()
        if clip_grad_norm is not None:
            _clip_norm([p for p in params if p.grad is not None], clip_grad_norm)
        elif clip_grad_value is not None:
            nn.utils.clip_grad_value_(params, clip_grad_value)
        optimizer.step()
        sums["loss"] += n * value
        with torch.no_grad():
            for name, fn in train_metrics.items():
                sums[name] += n * _scalar(fn(pred, target), f"metric {name!r}")
        count += n
    if count == 0:
        raise ValueError("train_loader yielded no batches")
    return {name: total / count for name, total in sums.items()}, tokens


def fit(model: nn.Module, train_loader, val_loader=None, *, loss_fn, optimizer: torch.optim.Optimizer,
        num_epochs: int, scheduler=None, metrics: Mapping[str, Metric] | None = None,
        train_metrics: Mapping[str, Metric] | None = None, validate=None, state: str | None = None,
        monitor: str | None = None, mode: str = "min", patience: int | None = None, min_delta: float = 0.0,
        restore_best: bool = True, clip_grad_norm: float | None = None, clip_grad_value: float | None = None,
        device=None, progress: bool = True, desc: str | None = None, train_loss=None, on_epoch=None) -> History:
    """Train ``model`` for up to ``num_epochs`` epochs; return a :class:`History`.

    Each epoch trains on every batch ``(*inputs, target)`` of ``train_loader``: ``optimizer.zero_grad()``,
    ``loss_fn(model(*inputs), target).backward()``, clipping, ``optimizer.step()``. Then it validates,
    records, steps ``scheduler`` once (``ReduceLROnPlateau`` is given the monitored value, any other
    scheduler is stepped without arguments) and calls ``on_epoch(history)``.

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
    metrics, train_metrics = _check_args(
        model, train_loader, val_loader, loss_fn, optimizer, num_epochs, scheduler, metrics, train_metrics,
        validate, state, monitor, mode, patience, min_delta, clip_grad_norm, clip_grad_value, train_loss, on_epoch)
    device = torch.device(device) if device is not None else _device_of(model)
    if isinstance(model, nn.Module):
        model.to(device)
    params = trainable_parameters(model)
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
        if monitor not in scores:
            raise ValueError(f"monitor must be one of {list(scores)} (what this run measures), got {monitor!r}")
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
    raise ArgumentTypeError(f"net must be a model (an nn.Module, or a scratch model with .params) or a list of "
                            f"parameters, got {type(net).__name__}")


def clip_gradients(net, theta: float) -> float:
    r"""Clip by global norm: if :math:`\|g\| > \theta`, scale every gradient by :math:`\theta / \|g\|`.

    .. math::

        \|g\| = \sqrt{\sum_p \sum_i \Big(\frac{\partial L}{\partial p_i}\Big)^2}, \qquad
        g \leftarrow \min\Big(1, \frac{\theta}{\|g\|}\Big)\, g

    over all parameters together, so the *direction* of the update is kept and only its length
    is capped. Gradients with a norm of at most ``theta`` are left unchanged. ``net`` is a
    module, a model with a ``params`` list, or a list of parameters. Returns the norm before
    clipping. :func:`fit` (``clip_grad_norm``) clips here; D2L's ``grad_clipping`` calls it.
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

    Adversarial training (Miyato, Dai & Goodfellow 2017) perturbs the embedded sentence
    :math:`E` (the output of ``model.embedding``) in the direction that increases the loss
    most, to first order, and trains on both:

    .. math::

        g = \nabla_E\, \mathcal{L}(E), \qquad r = \epsilon\, \frac{g}{\lVert g \rVert_2}, \qquad
        \mathcal{L}_{\text{train}} = \mathcal{L}(E) + \mathcal{L}(E + r)

    with the norm taken per sentence (over all its positions and dimensions) and :math:`r` held
    constant. Padding positions get no perturbation (the loss does not depend on them). The clean
    loss is backpropagated here (that gives :math:`g` and its parameter gradients at once);
    :func:`fit` backpropagates the perturbed loss, and the gradients add up.

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
