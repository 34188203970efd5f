r"""Training and using a language model: clipping, one epoch, perplexity, the loop, generation.

Perplexity is the exponential of the mean cross-entropy per token (in nats):
:math:`\exp\big(-\frac1n \sum_t \log p(x_t \mid x_{<t})\big)`. A model that knows nothing
about 28 characters scores 28; a perfect one scores 1.

* :func:`clip_gradients`: scale all gradients together so that their global norm is at most
  ``theta`` (D2L's ``grad_clipping``).
* :func:`train_epoch`: one pass over a loader; the state is reset every minibatch for random
  sampling and carried over (detached) for sequential partitioning (D2L's ``train_epoch_ch8``).
* :func:`perplexity`: held-out perplexity of a token stream, deterministic.
* :func:`train`: epochs with train and validation perplexity, throughput, a progress bar and
  a live plot (:class:`LivePlot`, D2L's ``Animator``).
* :func:`predict`: warm up on a prefix, then generate greedily or by sampling with a
  temperature (D2L's ``predict_ch8``).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import torch
from torch import nn

from seqlib.utils import progress

__all__ = ["clip_gradients", "detach_state", "train_epoch", "perplexity", "History", "train",
           "predict", "LivePlot"]


def _params(net):
    if isinstance(net, nn.Module):
        return [p for p in net.parameters() if p.requires_grad]
    if hasattr(net, "params"):
        return list(net.params)
    if hasattr(net, "parameters"):
        return list(net.parameters())
    return list(net)


def clip_gradients(net, theta: float) -> float:
    r"""Clip by global norm: if :math:`\|g\| > \theta`, scale every gradient by :math:`\theta / \|g\|`.

    :math:`\|g\| = \sqrt{\sum_p \sum_i (\partial L / \partial p_i)^2}` over all parameters
    together, so the *direction* of the update is kept and only its length is capped.
    Gradients with a norm of at most ``theta`` are left unchanged. ``net`` is a module, a
    model with a ``params`` list, or a list of parameters. Returns the norm before clipping.
    """
    if not theta > 0:
        raise ValueError(f"theta must be positive, got {theta}")
    grads = [p.grad for p in _params(net) if p.grad is not None]
    if not grads:
        return 0.0
    norm = torch.sqrt(sum(torch.sum(g ** 2) for g in grads))
    if norm > theta:
        for g in grads:
            g.mul_(theta / norm)
    return float(norm)


def detach_state(state):
    """Cut the graph behind a state (a tensor or a tuple of tensors) without copying it."""
    if isinstance(state, torch.Tensor):
        return state.detach()
    return tuple(s.detach() for s in state)


def train_epoch(net, train_iter, loss, updater, device, use_random_iter: bool, *, theta: float = 1.0):
    """One epoch; returns ``(perplexity, tokens per second)`` (D2L's ``train_epoch_ch8``).

    ``updater`` is a ``torch.optim.Optimizer`` or a function ``updater(batch_size=...)`` that
    updates the parameters from their gradients (like D2L's ``sgd``). The loss of every
    minibatch is its mean over tokens, so one learning rate suits any batch size.
    Random sampling: fresh zero state each minibatch (neighbouring minibatches are unrelated).
    Sequential partitioning: the state is carried over and detached, so the forward pass
    sees the whole past but gradients stop at the minibatch boundary (truncated BPTT).
    """
    state, total_loss, total_tokens = None, 0.0, 0
    start = time.perf_counter()
    for X, Y in train_iter:
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
        total_loss += float(l.detach()) * y.numel()
        total_tokens += y.numel()
    if total_tokens == 0:
        raise ValueError("the loader yielded no minibatch: the corpus is too short for its batch shape")
    return math.exp(total_loss / total_tokens), total_tokens / (time.perf_counter() - start)


@torch.no_grad()
def perplexity(net, corpus, batch_size: int = 8, num_steps: int = 256, device=None) -> float:
    """Perplexity of ``net`` on a token stream, e.g. the held-out validation text.

    Deterministic: the stream is cut into ``batch_size`` contiguous rows (no random offset),
    read ``num_steps`` at a time with the state carried over, and every token after the first
    of each row is predicted exactly once. Only the ``batch_size`` row starts begin from a
    zero state, so this is (nearly) the perplexity of reading the text from start to end.
    """
    corpus = torch.as_tensor(corpus)
    row_len = (len(corpus) - 1) // batch_size
    if row_len < 1:
        raise ValueError(f"a corpus of {len(corpus)} tokens is too short for {batch_size} rows; "
                         "pass a smaller batch_size")
    if device is None:
        device = next(iter(_params(net))).device
    Xs = corpus[: batch_size * row_len].reshape(batch_size, row_len)
    Ys = corpus[1: batch_size * row_len + 1].reshape(batch_size, row_len)
    was_training = getattr(net, "training", False)
    net.eval()
    state, total = net.begin_state(batch_size=batch_size, device=device), 0.0
    for i in range(0, row_len, num_steps):
        X, Y = Xs[:, i: i + num_steps].to(device), Ys[:, i: i + num_steps].to(device)
        y_hat, state = net(X, state)
        total += float(nn.functional.cross_entropy(y_hat, Y.T.reshape(-1), reduction="sum"))
    net.train(was_training)
    return math.exp(total / Ys.numel())


class LivePlot:
    """A figure that redraws itself in place while training runs (D2L's ``Animator``).

    ``LivePlot(xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
    yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1, ncols=1, figsize=(3.5, 2.5))``;
    ``add(x, y)`` appends one point per line (``y`` a number or a list, ``None`` skips a line)
    and redraws. In Jupyter the figure updates in place; an executed notebook (and so the
    book) keeps the final figure; outside IPython nothing is shown until ``plt.show()``.
    """

    def __init__(self, xlabel=None, ylabel=None, legend=None, xlim=None, ylim=None, xscale="linear",
                 yscale="linear", fmts=("-", "m--", "g-.", "r:"), nrows=1, ncols=1, figsize=(3.5, 2.5)):
        import matplotlib.pyplot as plt

        self.legend = [] if legend is None else list(legend)
        self.fig, axes = plt.subplots(nrows, ncols, figsize=figsize)
        self.axes = [axes] if nrows * ncols == 1 else list(axes.flat)
        self.config = dict(xlabel=xlabel, ylabel=ylabel, xlim=xlim, ylim=ylim, xscale=xscale, yscale=yscale)
        self.X, self.Y, self.fmts = None, None, fmts
        self._handle = None
        plt.close(self.fig)  # shown through the display handle only, not again at the cell's end

    def _configure(self, ax):
        c = self.config
        ax.set_xlabel(c["xlabel"]), ax.set_ylabel(c["ylabel"])
        ax.set_xscale(c["xscale"]), ax.set_yscale(c["yscale"])
        if c["xlim"] and c["xlim"][0] != c["xlim"][1]:  # D2L's xlim=[10, num_epochs] with 10 epochs
            ax.set_xlim(c["xlim"])
        if c["ylim"]:
            ax.set_ylim(c["ylim"])
        if self.legend:
            ax.legend(self.legend)
        ax.grid(True)

    def add(self, x, y):
        if not hasattr(y, "__len__"):
            y = [y]
        n = len(y)
        if not hasattr(x, "__len__"):
            x = [x] * n
        if self.X is None:
            self.X = [[] for _ in range(n)]
        if self.Y is None:
            self.Y = [[] for _ in range(n)]
        for i, (a, b) in enumerate(zip(x, y)):
            if a is not None and b is not None:
                self.X[i].append(a)
                self.Y[i].append(b)
        ax = self.axes[0]
        ax.cla()
        for x_i, y_i, fmt in zip(self.X, self.Y, self.fmts):
            ax.plot(x_i, y_i, fmt)
        self._configure(ax)
        self.fig.tight_layout()
        self.show()

    def show(self):
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            return
        if get_ipython() is None:
            return
        if self._handle is None:
            self._handle = display(self.fig, display_id=True)
        else:
            self._handle.update(self.fig)


@dataclass
class History:
    """What :func:`train` measured: per-epoch perplexities, throughput and time."""

    epochs: list = field(default_factory=list)
    train_ppl: list = field(default_factory=list)
    val_ppl: list = field(default_factory=list)
    train_seconds: float = 0.0  # time in training steps (evaluation not included)
    train_tokens: int = 0

    @property
    def tokens_per_s(self) -> float:
        return self.train_tokens / self.train_seconds if self.train_seconds else float("nan")

    def summary(self) -> str:
        val = f", validation perplexity {self.val_ppl[-1]:.2f}" if self.val_ppl else ""
        return (f"{len(self.epochs)} epochs: train perplexity {self.train_ppl[-1]:.2f}{val}, "
                f"{self.tokens_per_s:,.0f} tokens/s, {self.train_seconds:.1f} s of training")


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
    """Train ``net`` on ``train_iter`` (a :class:`~seqlib.sampling.SeqDataLoader`) for ``num_epochs``.

    ``optimizer``: ``"adam"`` (default; AdamW, i.e. decoupled ``weight_decay``, if that is
    positive), ``"sgd"`` or a ``torch.optim.Optimizer``. The
    learning rate follows a cosine from ``lr`` down to ``lr / 20`` over the epochs (pass a
    ``torch.optim.Optimizer`` to keep full control). Gradients are clipped to global norm
    ``theta``. After every epoch the validation perplexity of ``val_corpus`` (if given) is
    computed with :func:`perplexity`; ``plot=True`` draws both curves live, a progress bar
    shows the epoch. ``on_epoch(epoch, train_ppl, val_ppl)`` (``val_ppl`` ``None`` without
    ``val_corpus``) is called after every epoch, e.g. to draw several runs into one
    :class:`LivePlot`. Returns a :class:`History`.
    """
    if device is None:
        device = next(iter(_params(net))).device
    if isinstance(optimizer, torch.optim.Optimizer):
        updater, schedule = optimizer, None
    else:
        if optimizer not in ("adam", "sgd"):
            raise ValueError(f"optimizer must be 'adam', 'sgd' or a torch.optim.Optimizer, got {optimizer!r}")
        updater = _optimizer(optimizer, _params(net), lr, weight_decay)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(updater, T_max=num_epochs, eta_min=lr / 20)
    loss = nn.CrossEntropyLoss()
    history = History()
    live = None
    if plot:
        live = LivePlot(xlabel="epoch", ylabel="perplexity", xlim=[0.5, num_epochs + 0.5],
                        legend=["train", "validation"] if val_corpus is not None else ["train"],
                        fmts=("-o", "--s"), figsize=(4.5, 3))
        if title:
            live.axes[0].set_title(title)
            live.fig.subplots_adjust(top=0.85)
    use_random_iter = getattr(train_iter, "use_random_iter", False)
    bar = progress(range(num_epochs), desc=title or "training", **({} if progress_bar else {"disable": True}))
    for epoch in bar:
        net.train()
        start = time.perf_counter()
        ppl, speed = train_epoch(net, train_iter, loss, updater, device, use_random_iter, theta=theta)
        seconds = time.perf_counter() - start
        history.train_seconds += seconds
        history.train_tokens += round(speed * seconds)
        if schedule is not None:
            schedule.step()
        history.epochs.append(epoch + 1)
        history.train_ppl.append(ppl)
        if val_corpus is not None:
            history.val_ppl.append(perplexity(net, val_corpus, device=device))
        if hasattr(bar, "set_postfix"):
            bar.set_postfix(train_ppl=f"{ppl:.2f}", val_ppl=f"{history.val_ppl[-1]:.2f}" if history.val_ppl else "-",
                            tok_s=f"{speed:,.0f}")
        val_ppl = history.val_ppl[-1] if history.val_ppl else None
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
    if num_preds < 0:
        raise ValueError(f"num_preds must be >= 0, got {num_preds}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0 means greedy), got {temperature}")
    if device is None:
        device = next(iter(_params(net))).device
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
