r"""What training and measuring a language model adds to :func:`seqlib.training.fit`: its loss, its
options, and measures over a token stream read with the state carried (perplexity, top-k accuracy).
Training is ``fit(net, loader, **fit_options(net, loader, num_epochs, lr, ...))``; perplexity is
``exp`` of the mean cross-entropy per token (:mod:`seqlib.history`).

==========================  ===================================================================
``X``, ``Y``                ``(batch_size, num_steps)`` token indices, ``Y`` shifted by one
``net(X, state)[0]``        ``(num_steps * batch_size, vocab_size)`` logits, time-major
:func:`lm_loss`             the cross-entropy of those logits against ``Y``
:func:`fit_options`         Adam, a cosine schedule, clipping, the state carried or reset, validation
:func:`perplexity`          held-out perplexity of a token stream, deterministic
:func:`predictions`         the same predictions, for :func:`seqlib.decoding.top_k_accuracy`
==========================  ===================================================================
"""

from __future__ import annotations

import torch
from torch import nn

from seqlib.history import _exp
from seqlib.plots import LivePlot
from seqlib.training import eval_mode, trainable_parameters
from seqlib.validation import number_in_range, one_of, positive_int, require, sequence

__all__ = ["lm_loss", "fit_options", "perplexity", "predictions"]


def lm_loss(Y_hat: torch.Tensor, Y: torch.Tensor) -> torch.Tensor:
    """Mean cross-entropy per token of the time-major logits ``Y_hat`` ``(num_steps * batch_size, vocab_size)``
    against the targets ``Y`` ``(batch_size, num_steps)``."""
    return nn.functional.cross_entropy(Y_hat, Y.T.reshape(-1).long())


def predictions(net, corpus, batch_size: int = 8, num_steps: int = 256, device=None):
    """The model's next-token logits over a token stream, read as :func:`perplexity` reads it.

    The stream is cut into ``batch_size`` contiguous rows (no random offset), read ``num_steps`` at
    a time with the state carried. Yields ``(logits, targets)``: the time-major logits
    ``(num_steps * batch_size, vocab_size)`` and the targets in the same order, what
    :func:`seqlib.decoding.top_k_accuracy` scores (as it scores :meth:`seqlib.ngram.NgramLM.predictions`).
    """
    batch_size, num_steps = positive_int(batch_size, "batch_size"), positive_int(num_steps, "num_steps")
    corpus = torch.as_tensor(sequence(corpus, "corpus", what="a sequence of token indices, e.g. vocab[list(text)]"))
    row_len = (len(corpus) - 1) // batch_size
    require(row_len >= 1, f"a corpus of {len(corpus)} tokens is too short for batch_size={batch_size} rows of 2+")
    if device is None:
        device = next(iter(trainable_parameters(net))).device
    return _rows(net, corpus, row_len, batch_size, num_steps, device)


@torch.no_grad()
def _rows(net, corpus, row_len, batch_size, num_steps, device):
    Xs = corpus[: batch_size * row_len].reshape(batch_size, row_len)
    Ys = corpus[1: batch_size * row_len + 1].reshape(batch_size, row_len)
    with eval_mode(net):
        state = net.begin_state(batch_size=batch_size, device=device)
        for i in range(0, row_len, num_steps):
            X, Y = Xs[:, i: i + num_steps].to(device), Ys[:, i: i + num_steps].to(device)
            y_hat, state = net(X, state)
            yield y_hat, Y.T.reshape(-1)


@torch.no_grad()
def _mean_nll(net, corpus, batch_size, num_steps, device) -> float:
    total, count = 0.0, 0
    for y_hat, y in predictions(net, corpus, batch_size, num_steps, device):
        total += float(nn.functional.cross_entropy(y_hat, y, reduction="sum"))
        count += y.numel()
    return total / count


def perplexity(net, corpus, batch_size: int = 8, num_steps: int = 256, device=None) -> float:
    """Perplexity of ``net`` on a token stream (e.g. the validation text), deterministic: read as
    :func:`predictions` reads it, every token after the first of each row predicted once, so (nearly) the
    perplexity of reading the text from start to end. A diverged model scores ``inf``.
    """
    return _exp(_mean_nll(net, corpus, batch_size, num_steps, device))


def _optimizer(name, params, lr, weight_decay):
    """Adam (AdamW with weight decay) or SGD; Adam's fused kernel where this PyTorch has it (much faster)."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    cls = torch.optim.AdamW if weight_decay else torch.optim.Adam
    try:
        return cls(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older PyTorch, or a device without the fused kernel
        return cls(params, lr=lr, weight_decay=weight_decay)


def fit_options(net, loader, num_epochs: int, lr: float, *, val_corpus=None, optimizer="adam",
                weight_decay: float = 0.0, clip_grad_norm: float = 1.0, plot: bool = False, title: str | None = None) -> dict:
    """The arguments of :func:`seqlib.training.fit` that train a language model, Day 3's recipe:
    ``fit(net, loader, **fit_options(net, loader, num_epochs, lr, val_corpus=val))``.

    * ``optimizer``: ``"adam"`` (AdamW, decoupled ``weight_decay``, if that is positive), ``"sgd"``, or a
      ``torch.optim.Optimizer`` (then no schedule); the learning rate follows a cosine from ``lr``
      down to ``lr / 20`` over the ``num_epochs`` epochs;
    * gradients clipped to global norm ``clip_grad_norm``; the loss :func:`lm_loss`;
    * the state reset every minibatch for random sampling (``loader.use_random_iter``), else carried
      over and detached (truncated backpropagation through time);
    * after every epoch the validation loss is that of ``val_corpus`` read as :func:`perplexity` reads
      it (``history.val_ppl``), the monitor of the best epoch; the weights of the last epoch are kept;
    * ``plot=True`` draws the train and validation perplexity live (:class:`seqlib.plots.LivePlot`).
    """
    scheduler = None
    if not isinstance(optimizer, torch.optim.Optimizer):
        number_in_range(lr, "lr", 0, low_open=True, hint="the learning rate, e.g. 0.01")
        one_of(optimizer, "optimizer", ("adam", "sgd"), hint="or a torch.optim.Optimizer")
        optimizer = _optimizer(optimizer, trainable_parameters(net), lr, weight_decay)
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=num_epochs, eta_min=lr / 20)
    options = dict(loss_fn=lm_loss, optimizer=optimizer, scheduler=scheduler, num_epochs=num_epochs,
                   clip_grad_norm=clip_grad_norm, state="reset" if getattr(loader, "use_random_iter", False) else "carry",
                   restore_best=False, desc=title or "training")
    if val_corpus is not None:
        options["validate"] = lambda model: {"loss": _mean_nll(model, val_corpus, 8, 256, None)}
    if plot:
        live = LivePlot(xlabel="epoch", ylabel="perplexity", xlim=[0.5, num_epochs + 0.5],
                        legend=["train", "validation"] if val_corpus is not None else ["train"],
                        fmts=("-o", "--s"), figsize=(4.5, 3), title=title)
        options["on_epoch"] = lambda h: live.add(h.epochs[-1], [h.train_ppl[-1], h.val_ppl[-1] if h.val_loss else None])
    return options
