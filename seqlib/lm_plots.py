"""Figures of Day 3: Zipf's law and where each position of a corpus goes under the two sampling schemes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from seqlib.sampling import minibatch_layout

__all__ = ["plot_zipf", "plot_minibatch_layout"]


def plot_zipf(freqs: dict, ax=None):
    """Frequency against rank on log-log axes, one line per entry of ``freqs`` (label -> counts, any order).

    A straight line of slope :math:`-\\alpha` is Zipf's law :math:`n_i \\propto 1 / i^\\alpha`.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.5))
    for (label, counts), style in zip(freqs.items(), ("-", "--", "-.", ":")):
        counts = np.sort(np.asarray(list(counts)))[::-1]
        ax.loglog(np.arange(1, len(counts) + 1), counts, style, label=label)
    ax.set_xlabel("token rank $i$ (most frequent first)")
    ax.set_ylabel("frequency $n_i$")
    ax.legend()
    ax.grid(True, which="major", alpha=0.4)
    return ax


def plot_minibatch_layout(num_tokens: int = 48, batch_size: int = 2, num_steps: int = 5, seed: int = 0):
    """Two strips of the toy corpus ``0 .. num_tokens - 1``, one per sampling scheme.

    Each position is coloured and labelled by the minibatch it is an input of, and labelled with
    its row in that minibatch (grey: not an input, labelled with its position). Drawn from the real iterators with ``random.Random(seed)``.
    """
    fig, axes = plt.subplots(2, 1, figsize=(min(0.28 * num_tokens + 1.5, 16), 2.9), sharex=True)
    cmap = plt.get_cmap("tab10")
    for ax, use_random_iter, title in zip(axes, (True, False), ("random sampling", "sequential partitioning")):
        batch, row = minibatch_layout(num_tokens, batch_size, num_steps, use_random_iter, seed)
        for pos in range(num_tokens):
            used = batch[pos] >= 0
            color = cmap(batch[pos] % 10) if used else (0.88, 0.88, 0.88)
            ax.add_patch(plt.Rectangle((pos, 0), 0.94, 1, color=color))
            ax.text(pos + 0.47, 0.5, f"{batch[pos]}\nr{row[pos]}" if used else str(pos), ha="center",
                    va="center", fontsize=6.5, color="white" if used else "0.4", linespacing=1.4)
        ax.set_xlim(0, num_tokens)
        ax.set_ylim(0, 1)
        ax.set_yticks([])
        num_batches = batch.max() + 1
        ax.set_title(f"{title}: {num_batches} minibatches of {batch_size} x {num_steps} "
                     "(number and colour = minibatch, rK = row K; grey = not used)", fontsize=9, loc="left")
    axes[-1].set_xlabel("position in the corpus")
    fig.tight_layout()
    return fig
