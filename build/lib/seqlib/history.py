r"""The one record of a training run: :class:`History`, written by :func:`seqlib.training.fit`.

One entry per epoch, for any model and loss; what a run does not measure stays empty. A language
model's loss is the mean cross-entropy per token in nats, its perplexity a view of it:

.. math::

    \mathrm{PPL} = \exp\Big(-\frac1n \sum_{t=1}^{n} \log p(x_t \mid x_{<t})\Big) = \exp(\text{loss})
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from seqlib.validation import one_of

__all__ = ["History"]

def _exp(mean_loss: float) -> float:
    """``exp(mean_loss)``, ``inf`` past the largest float (a diverged model) instead of ``OverflowError``."""
    try:
        return math.exp(mean_loss)
    except OverflowError:
        return math.inf


@dataclass
class History:
    """What one training run measured, one entry per completed epoch (epochs count from 1).

    ==================  =====================================================================
    ``train_loss``      mean training loss of each epoch (per example, or per token for an LM)
    ``val_loss``        validation loss after each epoch (empty without validation data)
    ``metrics``         ``name -> [value per epoch]`` of the validation metrics
    ``lr``              learning rate the epoch trained with (first parameter group)
    ``epoch_time``      wall-clock seconds of each epoch, training + validation
    ``train_time``      seconds of each epoch spent in training steps only
    ``train_tokens``    tokens trained on in each epoch (language models; else empty)
    ``best_epoch``      epoch with the best ``monitor`` value (``mode`` ``"min"`` or ``"max"``)
    ``stopped_early``   whether early stopping ended the run before ``num_epochs``
    ==================  =====================================================================

    Derived views: ``train_ppl`` and ``val_ppl`` (:math:`\\exp` of the losses), ``total_time``,
    ``train_seconds``, ``tokens_per_s``.
    """

    monitor: str = "val_loss"
    mode: str = "min"
    epochs: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    metrics: dict[str, list[float]] = field(default_factory=dict)
    lr: list[float] = field(default_factory=list)
    epoch_time: list[float] = field(default_factory=list)
    train_time: list[float] = field(default_factory=list)
    train_tokens: list[int] = field(default_factory=list)
    best_epoch: int | None = None
    best_score: float | None = None
    stopped_early: bool = False

    def __post_init__(self):
        one_of(self.mode, "mode", ("min", "max"), hint="'min' for losses and errors, 'max' for accuracies")

    def record(self, epoch: int, *, train_loss: float, lr: float, epoch_time: float, train_time: float,
               val_loss: float | None = None, metrics: dict[str, float] | None = None,
               train_tokens: int | None = None) -> dict[str, float]:
        """Append one epoch; return its scores ``{"train_loss": ..., "val_loss": ..., metric: ...}``."""
        self.epochs.append(int(epoch))
        for name, value in (("train_loss", train_loss), ("lr", lr), ("epoch_time", epoch_time),
                            ("train_time", train_time)):
            getattr(self, name).append(float(value))
        scores = {"train_loss": float(train_loss)}
        if val_loss is not None:
            self.val_loss.append(float(val_loss))
            scores["val_loss"] = float(val_loss)
        for name, value in (metrics or {}).items():
            self.metrics.setdefault(name, []).append(float(value))
            scores[name] = float(value)
        if train_tokens is not None:
            self.train_tokens.append(int(train_tokens))
        return scores

    def improved(self, score: float, min_delta: float = 0.0) -> bool:
        """Whether ``score`` beats the best so far by more than ``min_delta`` (always, for the first)."""
        if not math.isfinite(score):
            return False
        if self.best_score is None:
            return True
        return score < self.best_score - min_delta if self.mode == "min" else score > self.best_score + min_delta

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def train_ppl(self) -> list[float]:
        """Training perplexity per epoch, :math:`\\exp` of ``train_loss`` (a language model's)."""
        return [_exp(loss) for loss in self.train_loss]

    @property
    def val_ppl(self) -> list[float]:
        """Validation perplexity per epoch, :math:`\\exp` of ``val_loss``."""
        return [_exp(loss) for loss in self.val_loss]

    @property
    def total_time(self) -> float:
        """Seconds spent in all epochs together (training and validation)."""
        return float(sum(self.epoch_time))

    @property
    def train_seconds(self) -> float:
        """Seconds spent in training steps, validation not included."""
        return float(sum(self.train_time))

    @property
    def tokens_per_s(self) -> float:
        """Training throughput in tokens per second (``nan`` when tokens were not counted)."""
        seconds = self.train_seconds
        return sum(self.train_tokens) / seconds if self.train_tokens and seconds else float("nan")

    def summary(self) -> str:
        """One line: epochs run, best epoch and score, time; perplexities and tokens/s for a language model."""
        if not self.epochs:
            return "0 epochs: nothing recorded yet"
        if self.train_tokens:
            val = f", validation perplexity {self.val_ppl[-1]:.2f}" if self.val_loss else ""
            return (f"{len(self)} epochs: train perplexity {self.train_ppl[-1]:.2f}{val}, "
                    f"{self.tokens_per_s:,.0f} tokens/s, {self.train_seconds:.1f} s of training")
        stop = ", stopped early" if self.stopped_early else ""
        best = "" if self.best_epoch is None else (
            f", best {self.monitor} {self.best_score:.4g} at epoch {self.best_epoch}")
        return f"{len(self)} epochs{stop}{best}, {self.total_time:.1f} s"

    def plot(self, ax=None, *, title: str | None = None, logy: bool = True):
        """Training and validation loss per epoch (:func:`seqlib.plots.plot_curves`), the best epoch marked.

        Returns the axes; pass ``ax`` to draw into a figure sized with :func:`seqlib.plots.figsize`."""
        from seqlib.plots import plot_curves

        curves = {"train loss": self.train_loss} | ({"validation loss": self.val_loss} if self.val_loss else {})
        ax = plot_curves(curves, x=self.epochs, xlabel="epoch", ylabel="loss", title=title, logy=logy, ax=ax)
        if self.best_epoch is not None:
            ax.axvline(self.best_epoch, color="gray", linestyle=":", label=f"best epoch ({self.best_epoch})")
        ax.legend()
        return ax
