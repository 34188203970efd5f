r"""What is specific to training and using a language model: state, perplexity, generation.

The general pieces are :mod:`seqlib.training`'s (:func:`~seqlib.training.clip_gradients`)
and :mod:`seqlib.history`'s (:class:`~seqlib.history.History`, which :func:`train` records
into). Perplexity is the exponential of the mean cross-entropy per token (in nats):

.. math::

    \mathrm{PPL} = \exp\Big(-\frac1n \sum_{t=1}^{n} \log p(x_t \mid x_{<t})\Big)

A model that knows nothing about 28 characters scores 28; a perfect one scores 1.

* :func:`detach_state`: carry a state into the next minibatch without its graph.
* :func:`train_epoch`: one pass over a loader; the state is reset every minibatch for random
  sampling and carried over (detached) for sequential partitioning (D2L's ``train_epoch_ch8``).
* :func:`perplexity`: held-out perplexity of a token stream, deterministic.
* :func:`train`: epochs with train and validation perplexity, throughput, a progress bar and
  a live plot (:class:`seqlib.plots.LivePlot`, D2L's ``Animator``).
* :func:`predict`: warm up on a prefix, then generate greedily or by sampling with a
  temperature (D2L's ``predict_ch8``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable

import torch
from torch import nn

from seqlib.history import History
from seqlib.plots import LivePlot
from seqlib.training import clip_gradients, trainable_parameters
from seqlib.page import progress
from seqlib.validation import ArgumentTypeError, non_negative_int, number_in_range, positive_int, sequence, tensor

__all__ = ["detach_state", "train_epoch", "perplexity", "top_k_accuracy", "train", "predict"]


def detach_state(state):
    """Cut the graph behind a state (a tensor or a tuple of tensors) without copying it."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    if not isinstance(state, (tuple, list)) or not all(isinstance(s, torch.Tensor) for s in state):
        raise ArgumentTypeError(f"state must be a tensor or a tuple of tensors (as model.begin_state gives), "
                                f"got {type(state).__name__}")
    return tuple(s.detach() for s in state)


def _exp(mean_loss: float) -> float:
    """``exp(mean_loss)``, ``inf`` past the largest float (a diverged model) instead of ``OverflowError``."""
    try:
        return math.exp(mean_loss)
    except OverflowError:
        return math.inf


def _diverged(where: str, value: float, lr=None, theta=None) -> FloatingPointError:
    settings = ", ".join(f"{k}={v:g}" for k, v in (("lr", lr), ("theta", theta)) if v is not None)
    return FloatingPointError(
        f"training diverged {where}: the loss per token became {value} (perplexity beyond any "
        f"meaningful value); lower the learning rate or clip gradients harder (a smaller theta)"
        + (f"; this run had {settings}" if settings else ""))


def _check_iter(train_iter):
    if not isinstance(train_iter, Iterable) or isinstance(train_iter, (torch.Tensor, str)):
        raise ArgumentTypeError(f"train_iter must be a loader of (X, Y) minibatches such as "
                                f"seqlib.partitioning.SeqDataLoader, got {type(train_iter).__name__}")


def _lr_of(updater):
    return float(updater.param_groups[0]["lr"]) if isinstance(updater, torch.optim.Optimizer) else None


def train_epoch(net, train_iter, loss, updater, device, use_random_iter: bool, *, theta: float = 1.0,
                epoch: int | None = None):
    """One epoch; returns ``(perplexity, tokens per second)`` (D2L's ``train_epoch_ch8``).

    ``updater`` is a ``torch.optim.Optimizer`` or a function ``updater(batch_size=...)`` that
    updates the parameters from their gradients (like D2L's ``sgd``). The loss of every
    minibatch is its mean over tokens, so one learning rate suits any batch size.
    Random sampling: fresh zero state each minibatch (neighbouring minibatches are unrelated).
    Sequential partitioning: the state is carried over and detached, so the forward pass
    sees the whole past but gradients stop at the minibatch boundary (truncated BPTT).
    A non-finite loss raises ``FloatingPointError`` (training diverged) with advice; ``epoch`` only
    names the epoch in that message.
    """
    theta = number_in_range(theta, "theta", 0, low_open=True, hint="the largest gradient norm kept by clipping")
    _check_iter(train_iter)
    state, total_loss, total_tokens, step = None, 0.0, 0, 0
    start = time.perf_counter()
    for X, Y in train_iter:
        step += 1
        if state is None or use_random_iter:
            state = net.begin_state(batch_size=X.shape[0], device=device)
        else:
            state = detach_state(state)
        y = Y.T.reshape(-1)
        X, y = X.to(device), y.to(device)
        y_hat, state = net(X, state)
        l = loss(y_hat, y.long()).mean()
        if isinstance(updater, torch.optim.Optimizer):
            updater.zero_grad()
            l.backward()
            clip_gradients(net, theta)
            updater.step()
        else:
            l.backward()
            clip_gradients(net, theta)
            updater(batch_size=1)
        value = float(l.detach())
        if not math.isfinite(value):
            where = f"at epoch {epoch}, minibatch {step}" if epoch is not None else f"at minibatch {step}"
            raise _diverged(where, value, lr=_lr_of(updater), theta=theta)
        total_loss += value * y.numel()
        total_tokens += y.numel()
    if total_tokens == 0:
        raise ValueError("train_iter yielded no minibatch: the corpus is too short for its batch shape")
    return _exp(total_loss / total_tokens), total_tokens / (time.perf_counter() - start)


def _rows(net, corpus, batch_size, num_steps, device):
    """Read a token stream as ``batch_size`` contiguous rows, ``num_steps`` at a time, state carried.

    Yields ``(logits, Y)``: the time-major logits ``(num_steps * batch_size, vocab_size)`` and the
    targets in the same order. Checks the arguments (clear errors) before the first read.
    """
    batch_size = positive_int(batch_size, "batch_size", hint="(rows read in parallel)")
    num_steps = positive_int(num_steps, "num_steps", hint="(tokens read per call)")
    if corpus is None or isinstance(corpus, str):
        raise ArgumentTypeError(f"corpus must be a sequence of token indices, e.g. vocab[list(text)]; got {corpus!r}")
    corpus = tensor(torch.as_tensor(corpus), "corpus", shape=("num_tokens",), dtype="integer",
                    hint="pass the token indices of the text, e.g. vocab[list(text)]")
    row_len = (len(corpus) - 1) // batch_size
    if row_len < 1:
        raise ValueError(f"a corpus of {len(corpus)} tokens is too short for batch_size={batch_size} rows "
                         f"(each needs 2 tokens or more); pass batch_size at most {max(len(corpus) - 1, 1)}")
    if device is None:
        device = next(iter(trainable_parameters(net))).device
    Xs = corpus[: batch_size * row_len].reshape(batch_size, row_len)
    Ys = corpus[1: batch_size * row_len + 1].reshape(batch_size, row_len)
    was_training = getattr(net, "training", False)
    net.eval()
    try:
        state = net.begin_state(batch_size=batch_size, device=device)
        for i in range(0, row_len, num_steps):
            X, Y = Xs[:, i: i + num_steps].to(device), Ys[:, i: i + num_steps].to(device)
            y_hat, state = net(X, state)
            yield y_hat, Y.T.reshape(-1)
    finally:
        net.train(was_training)


@torch.no_grad()
def perplexity(net, corpus, batch_size: int = 8, num_steps: int = 256, device=None) -> float:
    """Perplexity of ``net`` on a token stream, e.g. the held-out validation text.

    Deterministic: the stream is cut into ``batch_size`` contiguous rows (no random offset),
    read ``num_steps`` at a time with the state carried over, and every token after the first
    of each row is predicted exactly once. Only the ``batch_size`` row starts begin from a
    zero state, so this is (nearly) the perplexity of reading the text from start to end.
    A diverged model scores ``inf``.
    """
    total, count = 0.0, 0
    for y_hat, y in _rows(net, corpus, batch_size, num_steps, device):
        total += float(nn.functional.cross_entropy(y_hat, y, reduction="sum"))
        count += y.numel()
    return _exp(total / count)


@torch.no_grad()
def top_k_accuracy(net, corpus, ks=(1, 5), batch_size: int = 8, num_steps: int = 256, device=None) -> dict:
    """Next-token accuracy of ``net`` on a token stream: ``{k: share of tokens among its k best guesses}``.

    The stream is read exactly as :func:`perplexity` reads it (contiguous rows, state carried),
    so both numbers describe the same predictions. A token counts as guessed at ``k`` when it is
    among the ``k`` largest logits (ties broken by ``torch.topk``). ``<unk>`` is a token like any other.
    """
    ks = sequence(ks, "ks", non_empty=True, what="the numbers of guesses to score, e.g. ks=(1, 5)")
    ks = sorted({positive_int(k, "ks", hint="(how many guesses count, e.g. ks=(1, 5))") for k in ks})
    hits, count = dict.fromkeys(ks, 0), 0
    for y_hat, y in _rows(net, corpus, batch_size, num_steps, device):
        if ks[-1] > y_hat.shape[-1]:
            raise ValueError(f"ks has {ks[-1]} guesses but the vocabulary has only {y_hat.shape[-1]} tokens")
        top = torch.topk(y_hat, ks[-1], dim=-1).indices == y[:, None]
        for k in ks:
            hits[k] += int(top[:, :k].any(dim=1).sum())
        count += y.numel()
    return {k: hits[k] / count for k in ks}


def _optimizer(name, params, lr, weight_decay):
    """Adam (AdamW with weight decay) or SGD; Adam's fused kernel where this PyTorch has it (much faster)."""
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, weight_decay=weight_decay)
    cls = torch.optim.AdamW if weight_decay else torch.optim.Adam
    try:
        return cls(params, lr=lr, weight_decay=weight_decay, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older PyTorch, or a device without the fused kernel
        return cls(params, lr=lr, weight_decay=weight_decay)


def train(net, train_iter, num_epochs: int, lr: float, *, val_corpus=None, optimizer: str = "adam",
          weight_decay: float = 0.0, theta: float = 1.0, device=None, plot: bool = True, title: str | None = None,
          progress_bar: bool = True, on_epoch=None) -> History:
    """Train ``net`` on ``train_iter`` (a :class:`~seqlib.partitioning.SeqDataLoader`) for ``num_epochs``.

    ``optimizer``: ``"adam"`` (default; AdamW, i.e. decoupled ``weight_decay``, if that is
    positive), ``"sgd"`` or a ``torch.optim.Optimizer``. The
    learning rate follows a cosine from ``lr`` down to ``lr / 20`` over the epochs (pass a
    ``torch.optim.Optimizer`` to keep full control). Gradients are clipped to global norm
    ``theta``. After every epoch the validation perplexity of ``val_corpus`` (if given) is
    computed with :func:`perplexity`; ``plot=True`` draws both curves live, a progress bar
    shows the epoch. ``on_epoch(epoch, train_ppl, val_ppl)`` (``val_ppl`` ``None`` without
    ``val_corpus``) is called after every epoch, e.g. to draw several runs into one
    :class:`LivePlot`. Returns a :class:`~seqlib.history.History`: the losses are the mean
    cross-entropy per token (``history.train_ppl`` and ``history.val_ppl`` their exponentials),
    with learning rate, time, tokens per second and the best epoch (on validation perplexity).
    A diverging run (the loss becomes infinite or NaN) raises ``FloatingPointError`` with advice.
    """
    num_epochs = positive_int(num_epochs, "num_epochs")
    _check_iter(train_iter)
    if not isinstance(optimizer, torch.optim.Optimizer):
        lr = number_in_range(lr, "lr", 0, low_open=True, hint="the learning rate, e.g. 0.01")
    weight_decay = number_in_range(weight_decay, "weight_decay", 0)
    theta = number_in_range(theta, "theta", 0, low_open=True, hint="the largest gradient norm kept by clipping")
    if device is None:
        device = next(iter(trainable_parameters(net))).device
    if isinstance(optimizer, torch.optim.Optimizer):
        updater, schedule = optimizer, None
    else:
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam', 'sgd' or a torch.optim.Optimizer, got {optimizer!r}")
        updater = _optimizer(optimizer, trainable_parameters(net), lr, weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(updater, T_max=num_epochs, eta_min=lr / 20)
    loss = nn.CrossEntropyLoss()
    history = History(monitor="val_loss" if val_corpus is not None else "train_loss")
    live = None
    if plot:
        live = LivePlot(xlabel="epoch", ylabel="perplexity", xlim=[0.5, num_epochs + 0.5],
                        legend=["train", "validation"] if val_corpus is not None else ["train"],
                        fmts=("-o", "--s"), figsize=(4.5, 3))
        if title:
            live.axes[0].set_title(title)
            if live.fig.get_layout_engine() is None:  # a layout engine (the course style) makes room itself
                live.fig.subplots_adjust(top=0.85)
    use_random_iter = getattr(train_iter, "use_random_iter", False)
    bar = progress(range(num_epochs), desc=title or "training", **({} if progress_bar else {"disable": True}))
    for epoch in bar:
        net.train()
        lr_now = float(updater.param_groups[0]["lr"])
        start = time.perf_counter()
        ppl, speed = train_epoch(net, train_iter, loss, updater, device, use_random_iter, theta=theta,
                                 epoch=epoch + 1)
        if not math.isfinite(ppl):
            raise _diverged(f"at epoch {epoch + 1}", math.inf, lr=lr_now, theta=theta)
        seconds = time.perf_counter() - start
        if schedule is not None:
            schedule.step()
        val_ppl = perplexity(net, val_corpus, device=device) if val_corpus is not None else None
        history.record(epoch + 1, train_loss=math.log(ppl), val_loss=None if val_ppl is None else math.log(val_ppl),
                       lr=lr_now, train_time=seconds, train_tokens=round(speed * seconds),
                       epoch_time=time.perf_counter() - start)
        score = history.val_loss[-1] if val_ppl is not None else history.train_loss[-1]
        if history.improved(score):
            history.best_epoch, history.best_score = epoch + 1, score
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(train_ppl=f"{ppl:.2f}", val_ppl=f"{val_ppl:.2f}" if val_ppl is not None else "-",
                            tok_s=f"{speed:,.0f}")
        if live is not None:
            live.add(epoch + 1, [ppl, val_ppl])
        if on_epoch is not None:
            on_epoch(epoch + 1, ppl, val_ppl)
    return history


@torch.no_grad()
def predict(prefix: str, num_preds: int, net, vocab, device=None, *, temperature: float = 0.0,
            generator: torch.Generator | None = None) -> str:
    """Continue ``prefix`` by ``num_preds`` tokens (D2L's ``predict_ch8``, plus sampling).

    1. Warm-up: the model reads the prefix (from a zero state); its predictions are ignored.
    2. Generation: at each step the next token is the most probable one
       (``temperature=0``, greedy, as in D2L) or is drawn from
       :math:`\\mathrm{softmax}(o / T)`: ``T < 1`` sharpens the distribution (safer, more
       repetitive), ``T > 1`` flattens it (more surprising, more mistakes). ``generator``
       makes sampling reproducible.

    Returns the prefix *as the model read it* followed by the generated tokens: a character
    that is not in ``vocab`` (an upper-case letter, a digit) is read as ``<unk>`` and shown as
    ``"<unk>"``. An empty prefix raises ``ValueError``: the model needs one token to start from.
    """
    if not isinstance(prefix, str) or len(prefix) == 0:
        raise ValueError("prefix must be a non-empty string: the model needs at least one token to start "
                         "from, e.g. predict('t', 50, net, vocab)")
    num_preds = non_negative_int(num_preds, "num_preds", hint="(tokens to generate)")
    temperature = number_in_range(temperature, "temperature", 0, hint="0 means greedy")
    if device is None:
        device = next(iter(trainable_parameters(net))).device
    was_training = getattr(net, "training", False)
    net.eval()
    outputs = [vocab[ch] for ch in prefix]
    state = net.begin_state(batch_size=1, device=device)
    if len(outputs) > 1:  # warm-up on all but the last prefix token in one call
        _, state = net(torch.tensor([outputs[:-1]], device=device), state)
    for _ in range(num_preds):
        y, state = net(torch.tensor([[outputs[-1]]], device=device), state)
        if temperature == 0:
            outputs.append(int(y.argmax(dim=1).reshape(1)))
        else:
            probs = torch.softmax(y.reshape(-1).double() / temperature, dim=0)
            outputs.append(int(torch.multinomial(probs, 1, generator=generator)))
    net.train(was_training)
    return "".join(vocab.idx_to_token[i] for i in outputs)
