r"""Decoding: from a model's next-token distribution to text, and measures of that text.

One protocol for a character model (Day 6), an n-gram model and a translation decoder (Day 9)::

    step(state, tokens) -> (log_probs, state)

=============  ==============================  ============================================
``tokens``     ``(batch_size,)``               the token each row reads now (``int64``)
``log_probs``  ``(batch_size, vocab_size)``    log-probabilities of the next token (logits
                                               are accepted: they are normalised here)
``state``      anything the model carries      beam search reorders it along ``batch_dim``
=============  ==============================  ============================================

:class:`LMStep` wraps a course language model in it; :func:`generate` is the one text generation
of a character model (prefix string in, text out). After the prompt (:func:`prime`) each decoder
picks the next token from ``p = softmax(log_probs)``:

* **greedy**: the most probable token (ties: the lowest index); deterministic, and it loops.
* **sampling** from ``softmax(log_probs / temperature)`` (0: greedy, 1: the model, infinity: uniform);
  **top-k** keeps the ``k`` most probable tokens, **top-p** the smallest set whose probability
  reaches ``p``, renormalised. Ties go to the lower token index, so every filter is deterministic.
* **beam search** keeps the ``beam_width`` most probable prefixes; a finished hypothesis is scored
  ``log P(y) / len(y) ** alpha`` (``alpha = 0``: sum, ``1``: mean per token); width 1 is greedy.

Measures: :func:`top_k_accuracy` (next-token accuracy); of generated text :func:`avg_log_likelihood`,
:func:`distinct_n`, :func:`repetition_rate`, :func:`seen_share`, :func:`find_loop`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from seqlib import validation
from seqlib.text import ngram_tuples

__all__ = ["filter_logits", "entropy", "LMStep", "prime", "Generated", "sample", "generate", "greedy",
           "Hypothesis", "reorder", "beam_search", "top_k_accuracy", "avg_log_likelihood", "distinct_n",
           "repetition_rate", "seen_share", "find_loop"]


def _filters(temperature, top_k, top_p) -> tuple:
    """The three filter settings, checked once per call (never per token)."""
    T = validation.number_in_range(temperature, "temperature", 0, hint="0 means greedy, 1 the model itself")
    k = None if top_k is None else validation.positive_int(top_k, "top_k", hint="how many tokens top-k keeps")
    p = None if top_p is None else validation.number_in_range(top_p, "top_p", 0, 1, low_open=True)
    return T, k, p


_LOGITS = (("vocab_size",), ("batch_size", "vocab_size"))  # the shapes a filter takes


def _logits(logits) -> torch.Tensor:
    return validation.tensor(logits, "logits", shape=_LOGITS, dtype="float", non_empty=True)


def filter_logits(logits, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Temperature (``T = 0``: only the argmax stays), then top-k, then top-p (from the most probable down
    until ``p`` is reached, ``1e-9`` of slack), shape kept; ``None`` skips a filter; dropped tokens get ``-inf``."""
    return _filter(_logits(logits), *_filters(temperature, top_k, top_p))


def _filter(logits: torch.Tensor, T: float, k: int | None, p: float | None) -> torch.Tensor:
    if T == 0:
        keep = nn.functional.one_hot(logits.argmax(dim=-1), logits.shape[-1]).bool()
        logits = logits.masked_fill(~keep, float("-inf"))
    else:
        logits = logits / T
    if k is None and (p is None or p >= 1):
        return logits
    ranked, order = torch.sort(logits, dim=-1, descending=True, stable=True)
    drop = torch.zeros_like(ranked, dtype=torch.bool)
    if k is not None:
        drop[..., k:] = True
    if p is not None and p < 1:
        probs = torch.softmax(ranked.masked_fill(drop, float("-inf")).double(), dim=-1)
        drop |= torch.cumsum(probs, dim=-1) - probs >= p - 1e-9   # the tokens ranked above hold p already
        drop[..., 0] = False
    return logits.masked_fill(torch.zeros_like(drop).scatter(-1, order, drop), float("-inf"))


def entropy(logits) -> torch.Tensor:
    """Entropy of ``softmax(logits)`` in nats, ``H = -sum_w p(w) log p(w)``: shape ``()`` or ``(batch_size,)``;
    ``log V`` for a uniform distribution, 0 for a certain one."""
    log_p = torch.log_softmax(_logits(logits).double(), dim=-1)
    return -(log_p.exp() * log_p.nan_to_num(neginf=0.0)).sum(-1)


class LMStep:
    """The decoding protocol for a language model ``net(X, state)`` -> ``(Y, state)``, ``Y`` of shape
    ``(num_steps * batch_size, vocab_size)`` (:mod:`seqlib.lm`), in evaluation mode. ``batch_dim``: the
    state's rows, 1 for ``torch.nn`` recurrent layers, else 0 (found from the model unless given).
    """

    def __init__(self, net, batch_dim: int | None = None):
        validation.require(hasattr(net, "begin_state"), f"net must be a language model, not {net!r:.40}", TypeError)
        self.net = net
        net.eval()
        found = int(isinstance(net, nn.Module) and any(isinstance(m, nn.RNNBase) for m in net.modules()))
        self.batch_dim = found if batch_dim is None else validation.non_negative_int(batch_dim, "batch_dim")
        params = list(net.parameters())
        self.device = params[0].device if params else torch.device("cpu")

    def begin_state(self, batch_size: int = 1):
        return self.net.begin_state(batch_size=batch_size, device=self.device)

    @torch.no_grad()
    def __call__(self, state, tokens):
        forward = getattr(self.net, "forward", self.net)  # forward: the model without its per-call check
        Y, state = forward(torch.as_tensor(tokens).reshape(-1, 1).to(self.device), state)
        return torch.log_softmax(Y.float(), dim=-1), state


def _prompt(prompt, num_rows: int | None = None) -> torch.Tensor:
    """A prompt as a ``(num_rows, prompt_len)`` tensor: one list of indices repeated, or one row per sample
    (``num_rows=None``: as many rows as the prompt has, one for a 1-d prompt)."""
    try:
        ids = torch.as_tensor(None if isinstance(prompt, (str, bytes)) else prompt)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise validation.ArgumentTypeError(f"prompt must be a list of token indices, got {prompt!r:.60}") from None
    validation.require(ids.numel(), "the prompt is empty: the model needs at least one token to start from (<bos>)")
    num_rows = (len(ids) if ids.dim() == 2 else 1) if num_rows is None else num_rows
    rows = ids.expand(num_rows, -1) if ids.dim() == 1 else ids
    validation.tensor(rows, "prompt", shape=(num_rows, "prompt_len"), dtype="integer", hint="e.g. vocab[list('RO')]")
    return ids.long().expand(num_rows, -1)


def _step_function(step):
    return validation.function(step, "step", "step(state, tokens) -> (log_probs, state), e.g. LMStep(net)")


def _eos(eos, V: int):
    return None if eos is None else validation.index(eos, "eos", V, hint="not a token of the model's vocabulary")


@torch.no_grad()
def _prime(step, state, prompt: torch.Tensor):
    for t in range(prompt.shape[1]):
        log_probs, state = step(state, prompt[:, t])
    return torch.log_softmax(log_probs.float(), dim=-1), state


def prime(step, state, prompt):
    """Read a prompt (``(batch_size, prompt_len)``, or one list for one row): ``(log_probs, state)`` after it."""
    return _prime(_step_function(step), state, _prompt(prompt))


class Generated(NamedTuple):
    """Generated text: ``tokens`` and ``log_probs`` (each token's log-probability under the model,
    before any filter) of shape ``(batch_size, max_len)``, ``lengths`` ``(batch_size,)``. After an
    ``eos`` token, ``tokens`` repeats it and ``log_probs`` is 0."""

    tokens: torch.Tensor
    log_probs: torch.Tensor
    lengths: torch.Tensor


@torch.no_grad()
def sample(step, state, prompt, max_len: int, *, num_samples: int = 1, temperature: float = 1.0,
           top_k: int | None = None, top_p: float | None = None, eos: int | None = None,
           generator: torch.Generator | None = None) -> Generated:
    """Sample ``num_samples`` continuations of ``prompt`` at once (``state`` has ``num_samples`` rows), each
    token from ``softmax(filter_logits(log_probs, temperature, top_k, top_p))`` on the CPU with ``generator``
    (same seed, same text on any device); ``eos`` ends a row."""
    max_len = validation.non_negative_int(max_len, "max_len", hint="(tokens to generate)")
    num_samples = validation.positive_int(num_samples, "num_samples")
    T, k, p = _filters(temperature, top_k, top_p)
    log_probs, state = _prime(_step_function(step), state, _prompt(prompt, num_samples))
    eos = _eos(eos, log_probs.shape[-1])
    tokens = torch.zeros(num_samples, max_len, dtype=torch.long)
    scores = torch.zeros(num_samples, max_len)
    done = torch.zeros(num_samples, dtype=torch.bool)
    lengths = torch.full((num_samples,), max_len, dtype=torch.long)
    for t in range(max_len):
        log_probs = torch.log_softmax(log_probs.float().cpu(), dim=-1)
        probs = torch.softmax(_filter(log_probs, T, k, p).double(), dim=-1)
        if T == 0:
            next_tokens = probs.argmax(dim=-1)
        else:
            next_tokens = torch.multinomial(probs, 1, generator=generator).squeeze(1)
        if eos is not None:
            next_tokens = torch.where(done, torch.full_like(next_tokens, eos), next_tokens)
        tokens[:, t] = next_tokens
        scores[:, t] = torch.where(done, 0.0, log_probs.gather(1, next_tokens[:, None]).squeeze(1))
        if eos is not None:
            newly = ~done & (next_tokens == eos)
            lengths[newly] = t + 1
            done |= newly
            if bool(done.all()):
                return Generated(tokens[:, :t + 1], scores[:, :t + 1], lengths)
        if t + 1 < max_len:
            log_probs, state = step(state, next_tokens)
    return Generated(tokens, scores, lengths)


def generate(model, vocab, prefix: str, num_preds: int, *, temperature: float = 0.0, top_k: int | None = None,
             top_p: float | None = None, seed: int | None = None, device=None) -> str:
    """Continue ``prefix`` by ``num_preds`` characters: the course's one text generation (D2L's ``predict_ch8``).

    ``model``: a character language model (:class:`LMStep`) from a zero state, drawn as :func:`sample`
    (``temperature=0``: greedy; ``seed``: reproducible). Returns the prefix as read (unknown characters as
    ``<unk>``) and the generated characters; training mode is restored.
    """
    validation.require(isinstance(prefix, str) and prefix, f"prefix must be a non-empty string, got {prefix!r:.40}")
    num_preds = validation.non_negative_int(num_preds, "num_preds", hint="(characters to generate)")
    generator = None if seed is None else torch.Generator().manual_seed(validation.non_negative_int(seed, "seed"))
    was_training = getattr(model, "training", False)
    step = LMStep(model)
    if device is not None:
        step.device = torch.device(device)
    try:
        ids = vocab[list(prefix)]
        out = sample(step, step.begin_state(1), ids, num_preds, temperature=temperature, top_k=top_k, top_p=top_p,
                     generator=generator)
    finally:
        if isinstance(model, nn.Module):
            model.train(was_training)
    return "".join(vocab.idx_to_token[i] for i in ids + out.tokens[0].tolist())


def greedy(step, state, prompt, max_len: int, *, eos: int | None = None) -> Generated:
    """Greedy decoding: always the most probable next token (ties: the lower index); one row."""
    return sample(step, state, prompt, max_len, temperature=0.0, eos=eos)


class Hypothesis(NamedTuple):
    """One result of :func:`beam_search`: the generated ``tokens``, their total ``log_prob`` under the
    model, and the ``score`` that ranks it, ``log_prob / len(tokens) ** alpha``."""

    tokens: list
    log_prob: float
    score: float


def reorder(state, index, dim: int = 0):
    """``state`` with its rows (along ``dim``) picked by ``index``: tensors, arrays, and tuples/lists of them.
    Beam search continues each kept prefix from its parent's state: ``reorder(state, parents)``."""
    if isinstance(state, torch.Tensor):
        return state.index_select(dim, torch.as_tensor(index).to(state.device))
    if isinstance(state, (tuple, list)):
        return type(state)(reorder(s, index, dim) for s in state)
    if hasattr(state, "take"):  # a NumPy array (the n-gram model's context)
        return state.take(np.asarray(index), axis=dim)
    raise validation.ArgumentTypeError(f"beam search cannot reorder a state of type {type(state).__name__}")


@torch.no_grad()
def beam_search(step, state, prompt, max_len: int, *, beam_width: int = 4, alpha: float = 1.0,
                eos: int | None = None, batch_dim: int | None = None) -> list[Hypothesis]:
    """The ``beam_width`` best continuations of one prompt (``state`` has one row), best first, ranked by
    ``log_prob / len ** alpha``. Each step extends every live prefix by every token and keeps the best
    totals (ties by parent, then token); a prefix ending in ``eos`` is finished. Stops after ``max_len``
    tokens or when no live prefix can still enter the best. ``batch_dim``: the state's beam dimension.
    """
    max_len, width = validation.positive_int(max_len, "max_len"), validation.positive_int(beam_width, "beam_width")
    alpha = validation.number_in_range(alpha, "alpha", 0, hint="0: total log-probability, 1: per token")
    dim = getattr(step, "batch_dim", 0) if batch_dim is None else validation.non_negative_int(batch_dim, "batch_dim")
    log_probs, state = _prime(_step_function(step), state, _prompt(prompt, 1))
    eos = _eos(eos, log_probs.shape[-1])
    prefixes, totals = [[]], torch.zeros(1, dtype=torch.float64)
    finished: list[Hypothesis] = []
    for t in range(max_len):
        V = log_probs.shape[-1]
        candidates = (totals[:, None] + log_probs.double().cpu()).reshape(-1)   # (live * V,)
        pool = torch.nonzero(candidates >= candidates.topk(min(width, len(candidates))).values[-1])[:, 0]
        best, order = torch.sort(candidates[pool], descending=True, stable=True)  # the best without sorting all
        best, flat = best[:width], pool[order[:width]]
        best, flat = best[torch.isfinite(best)], flat[torch.isfinite(best)]
        if len(best) == 0:   # no token can follow: the live prefixes end here
            validation.require(t > 0, "every first token has probability 0 (all log-probabilities are -inf)")
            break
        live = []
        for score, parent, token in zip(best.tolist(), (flat // V).tolist(), (flat % V).tolist()):
            prefix = prefixes[parent] + [token]
            if token == eos:
                finished.append(Hypothesis(prefix, score, score / len(prefix) ** alpha))
            else:
                live.append((prefix, score, parent, token))
        if len(finished) >= width and live:
            kth = sorted((h.score for h in finished), reverse=True)[width - 1]
            if max(s for _, s, _, _ in live) / max_len ** alpha <= kth:
                live = []  # no live prefix can beat the finished ones any more
        prefixes = [p for p, _, _, _ in live]
        totals = torch.tensor([s for _, s, _, _ in live], dtype=torch.float64)
        if not live or t + 1 == max_len:
            break
        index = torch.tensor([parent for _, _, parent, _ in live])
        log_probs, state = step(reorder(state, index, dim), torch.tensor([tok for _, _, _, tok in live]))
        log_probs = torch.log_softmax(log_probs.float(), dim=-1)
    finished += [Hypothesis(p, float(s), float(s) / len(p) ** alpha) for p, s in zip(prefixes, totals.tolist())]
    return sorted(finished, key=lambda h: -h.score)[:width]


def top_k_accuracy(predictions, ks=(1, 5)) -> dict[int, float]:
    """Next-token accuracy ``{k: share of the targets among the k most probable tokens}`` over ``(scores,
    targets)`` pairs, ``(N, vocab_size)`` and ``(N,)``; ties rank the lower index first (as top-k filtering)."""
    ks = sorted({validation.positive_int(k, "ks") for k in validation.sequence(ks, "ks", non_empty=True)})
    hits, count = dict.fromkeys(ks, 0), 0
    for scores, targets in predictions:
        scores, targets = torch.as_tensor(scores), torch.as_tensor(targets).reshape(-1, 1).to(scores.device)
        validation.token_ids(targets, "targets", scores.shape[-1], shape=(len(scores), 1), hint="targets in [0, V)")
        truth = scores.gather(1, targets)
        lower = torch.arange(scores.shape[1], device=scores.device) < targets
        rank = (scores > truth).sum(1) + ((scores == truth) & lower).sum(1)
        for k in ks:
            hits[k] += int((rank < k).sum())
        count += len(targets)
    validation.require(count, "there is no prediction to score: a text needs at least 2 tokens (one is only context)")
    return {k: hits[k] / count for k in ks}


def avg_log_likelihood(generated: Generated) -> float:
    """Mean log-likelihood per generated token under the model (nats; higher = more typical text)."""
    validation.require(isinstance(generated, Generated), "generated must be what sample or greedy return", TypeError)
    validation.require(int(generated.lengths.sum()), "nothing was generated (every length is 0)")
    return float(generated.log_probs.sum()) / int(generated.lengths.sum())


def _samples(sequences) -> list:
    sequences = [sequences] if isinstance(sequences, str) else sequences
    validation.sequence(sequences, "sequences", non_empty=True, of=(str, list, tuple), what="a list of samples")
    return [list(s) for s in sequences]


def distinct_n(sequences, n: int) -> float:
    """Distinct n-grams over all n-grams of all ``sequences`` (a string's tokens are its characters):
    1 = no n-gram repeats, near 0 = the same few again; NaN when no sample has ``n`` tokens."""
    grams = [g for s in _samples(sequences) for g in ngram_tuples(s, n)]
    return len(set(grams)) / len(grams) if grams else math.nan


def repetition_rate(sequences, n: int = 3) -> float:
    """Mean over samples of the share of a sample's n-grams that already occurred earlier in that sample
    (samples shorter than ``n`` do not count; NaN when no sample has an n-gram)."""
    rates = [1 - len(set(g)) / len(g) for g in (ngram_tuples(s, n) for s in _samples(sequences)) if g]
    return sum(rates) / len(rates) if rates else math.nan


def seen_share(words, known) -> float:
    """Share of ``words`` (a list of words, or one list of words per sample) found in ``known`` (a set of
    training words, or a :class:`seqlib.text.Vocab` of them: ``<unk>`` does not count as known)."""
    validation.require(not isinstance(known, str), "known must be a set of words, not one string", TypeError)
    validation.sequence(words, "words", non_empty=True, of=(str, list, tuple), hint="split it first, e.g. text.split()")
    if hasattr(known, "token_to_idx"):
        known = {t for t, i in known.token_to_idx.items() if i != known.unk}
    flat = [w for item in words for w in ([item] if isinstance(item, str) else item)]
    return sum(w in known for w in flat) / len(flat) if flat else 0.0


def find_loop(sequence, min_repeats: int = 3):
    """``(start, period)`` of the loop the end of ``sequence`` is caught in (greedy decoding's), or ``None``:
    the shortest ``p`` whose block repeats over the last ``min_repeats * p`` items, and the first position
    from which ``sequence[i] == sequence[i + p]`` holds to the end."""
    validation.number_in_range(validation.positive_int(min_repeats, "min_repeats"), "min_repeats", 2, hint="at least 2")
    validation.require(getattr(sequence, "ndim", 1) == 1, "sequence must be one row of tokens, e.g. out.tokens[0]")
    items = sequence.tolist() if hasattr(sequence, "tolist") else validation.sequence(sequence, "sequence", strings=True)
    n = len(items)
    for p in range(1, n // min_repeats + 1):
        start = n - min_repeats * p
        if all(items[i] == items[i + p] for i in range(start, n - p)):
            while start > 0 and items[start - 1] == items[start - 1 + p]:
                start -= 1
            return start, p
    return None
