r"""Decoding: from a model's next-token distribution to text, and measures of the text it makes.

Every decoder is written over one protocol, so that a character model (Day 6), an n-gram
model (:class:`seqlib.ngram.NgramLM`) and a translation decoder (Day 9) share it::

    step(state, tokens) -> (log_probs, state)

=============  ==============================  ============================================
``tokens``     ``(batch_size,)``               the token each row reads now (``int64``)
``log_probs``  ``(batch_size, vocab_size)``    log-probabilities of the next token (logits
                                               are accepted: they are normalised here)
``state``      anything the model carries      beam search reorders it along ``batch_dim``
=============  ==============================  ============================================

:class:`LMStep` wraps a course language model (``net(X, state)`` -> time-major logits) in it.
A prompt is read first (``prime``); then each decoder picks the next token from the
distribution ``p = softmax(log_probs)``:

* **greedy**: the most probable token (ties: the lowest index); deterministic, and it loops.
* **sampling** with temperature ``T``: draw from ``softmax(log_probs / T)``. ``T -> 0`` is greedy,
  ``T = 1`` the model, ``T -> infinity`` uniform. **top-k** keeps the ``k`` most probable tokens,
  **top-p** (nucleus) the smallest set whose probability reaches ``p``; the rest get probability 0
  and the kept ones are renormalised. Ties are broken by the lower token index everywhere, so
  top-k keeps exactly ``k`` tokens and every filter is deterministic.
* **beam search** keeps the ``beam_width`` most probable prefixes at every step. A finished
  hypothesis (one that emitted ``eos``) is scored with a length normalisation
  ``score = log P(y) / len(y) ** alpha`` (``alpha = 0``: raw sum, ``1``: mean per token).
  ``beam_width = 1`` is greedy decoding. Beam search is a heuristic: it usually, not always,
  finds a more probable sequence than greedy.

Measures of generated text (a stable estimate wants many samples): :func:`avg_log_likelihood`
(nats per token under the model itself, unfiltered), :func:`distinct_n` (distinct n-grams over
all n-grams of all samples: diversity), :func:`repetition_rate` (share of a sample's n-grams
that repeat an earlier one of the same sample: loops) and :func:`seen_share` (share of
generated words that occur in the training text).
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from seqlib import validation
from seqlib.text import ngram_tuples

__all__ = ["apply_temperature", "top_k_filter", "top_p_filter", "filter_logits", "entropy", "LMStep", "prime",
           "Generated", "sample", "greedy", "Hypothesis", "beam_search", "score_continuation",
           "avg_log_likelihood", "find_loop", "distinct_n", "repetition_rate", "seen_share"]


def _logits(logits, name: str = "logits") -> torch.Tensor:
    return validation.tensor(logits, name, shape=(("vocab_size",), ("batch_size", "vocab_size")), dtype="float",
                             non_empty=True, hint="the scores of every token, e.g. a model's log_probs")


def _checked_filters(temperature, top_k, top_p) -> tuple:
    """The three filter settings, checked once (never inside a loop over time steps)."""
    T = validation.number_in_range(temperature, "temperature", 0, hint="0 means greedy, 1 the model itself")
    k = None if top_k is None else validation.positive_int(top_k, "top_k", hint="how many tokens top-k keeps")
    p = None if top_p is None else validation.number_in_range(top_p, "top_p", 0, 1, low_open=True,
                                                              hint="the probability mass top-p keeps")
    return T, k, p


def apply_temperature(logits, temperature: float) -> torch.Tensor:
    """``logits / T``, shape kept (``(vocab_size,)`` or ``(batch_size, vocab_size)``).

    ``T = 0`` is the limit: only the most probable token (the first on ties) keeps its logit,
    every other one becomes ``-inf``, so sampling from it is greedy decoding.
    """
    return _temperature(_logits(logits), _checked_filters(temperature, None, None)[0])


def _temperature(logits: torch.Tensor, T: float) -> torch.Tensor:
    if T == 0:
        keep = nn.functional.one_hot(logits.argmax(dim=-1), logits.shape[-1]).bool()
        return logits.masked_fill(~keep, float("-inf"))
    return logits / T


def _sorted(logits: torch.Tensor):
    """Logits sorted from the largest down, ties by the lower index (a stable sort)."""
    return torch.sort(logits, dim=-1, descending=True, stable=True)


def top_k_filter(logits, k: int) -> torch.Tensor:
    """Keep the ``k`` largest logits of each row (exactly ``k``: ties by the lower index), the rest ``-inf``."""
    return _top_k(_logits(logits), validation.positive_int(k, "k", hint="how many tokens top-k sampling keeps"))


def _top_k(logits: torch.Tensor, k: int) -> torch.Tensor:
    if k >= logits.shape[-1]:
        return logits.clone()
    _, order = _sorted(logits)
    drop = torch.zeros_like(logits, dtype=torch.bool).scatter(-1, order[..., k:], True)
    return logits.masked_fill(drop, float("-inf"))


def top_p_filter(logits, p: float) -> torch.Tensor:
    """Keep the smallest set of tokens whose probability reaches ``p`` (the nucleus), the rest ``-inf``.

    Tokens are taken from the most probable down (ties by the lower index) until their total
    probability is at least ``p`` (up to rounding: ``1e-9`` of slack, so that two tokens of 0.3 reach
    ``p = 0.6``); ``p = 1`` keeps every token, and the most probable token is always kept.
    """
    p = validation.number_in_range(p, "p", 0, 1, low_open=True, hint="the probability mass top-p sampling keeps")
    return _top_p(_logits(logits), p)


def _top_p(logits: torch.Tensor, p: float) -> torch.Tensor:
    if p >= 1:
        return logits.clone()
    sorted_logits, order = _sorted(logits)
    probs = torch.softmax(sorted_logits.double(), dim=-1)
    before = torch.cumsum(probs, dim=-1) - probs            # the mass of the tokens ranked above each one
    drop_sorted = before >= p - 1e-9                        # enough mass already: drop this token
    drop_sorted[..., 0] = False
    drop = torch.zeros_like(drop_sorted).scatter(-1, order, drop_sorted)
    return logits.masked_fill(drop, float("-inf"))


def filter_logits(logits, temperature: float = 1.0, top_k: int | None = None,
                  top_p: float | None = None) -> torch.Tensor:
    """Temperature first, then top-k, then top-p (the order of most libraries); ``None`` skips a filter."""
    return _filter(_logits(logits), *_checked_filters(temperature, top_k, top_p))


def _filter(logits: torch.Tensor, T: float, k: int | None, p: float | None) -> torch.Tensor:
    logits = _temperature(logits, T)
    if k is not None:
        logits = _top_k(logits, k)
    if p is not None:
        logits = _top_p(logits, p)
    return logits


def entropy(logits) -> torch.Tensor:
    """Entropy of ``softmax(logits)`` in nats, ``H = -sum_w p(w) log p(w)``: shape ``()`` or ``(batch_size,)``.

    ``log V`` for a uniform distribution over ``V`` tokens, 0 for a certain one (``-inf`` logits count as 0).
    """
    log_p = torch.log_softmax(_logits(logits).double(), dim=-1)
    return -(log_p.exp() * log_p.nan_to_num(neginf=0.0)).sum(-1)


class LMStep:
    """The decoding protocol for a course language model ``net`` (``net(X, state)`` -> ``(Y, state)``,
    ``Y`` of shape ``(num_steps * batch_size, vocab_size)``): :mod:`seqlib.lm` models and any model
    with that interface.

    ``LMStep(net)(state, tokens)`` returns ``(log_probs, state)``; ``begin_state(batch_size)`` the
    zero state. Building it puts ``net`` in evaluation mode (no dropout while generating).
    ``batch_dim``: where the state keeps its rows, 1 for ``torch.nn`` recurrent layers
    (``(num_layers, batch_size, num_hiddens)``), 0 otherwise (found from the model; pass it to override).
    """

    def __init__(self, net, batch_dim: int | None = None):
        if not callable(net) or not hasattr(net, "begin_state"):
            raise validation.ArgumentTypeError(f"net must be a language model with begin_state(...), got "
                                               f"{type(net).__name__}")
        self.net = net
        net.eval()
        modules = net.modules() if isinstance(net, nn.Module) else []
        found = 1 if any(isinstance(m, nn.RNNBase) for m in modules) else 0
        self.batch_dim = found if batch_dim is None else validation.non_negative_int(batch_dim, "batch_dim")
        params = list(net.parameters())
        self.device = params[0].device if params else torch.device("cpu")

    def begin_state(self, batch_size: int = 1):
        return self.net.begin_state(batch_size=validation.positive_int(batch_size, "batch_size"), device=self.device)

    @torch.no_grad()
    def __call__(self, state, tokens):  # per token: no checks here (the decoders check their input once)
        forward = getattr(self.net, "forward", self.net)  # forward: the model without its per-call check
        Y, state = forward(torch.as_tensor(tokens).reshape(-1, 1).to(self.device), state)
        return torch.log_softmax(Y.float(), dim=-1), state


def _prompt(prompt, num_rows: int | None = None) -> torch.Tensor:
    """A prompt as a ``(num_rows, prompt_len)`` tensor: one list of indices repeated, or one row per sample
    (``num_rows=None``: as many rows as the prompt has, one for a 1-d prompt)."""
    hint = "encode it first, e.g. vocab[list('ROMEO:')]"
    if prompt is None or isinstance(prompt, (str, bytes)):
        raise validation.ArgumentTypeError(f"prompt must be token indices, got {prompt!r:.40}; {hint}")
    try:
        ids = torch.as_tensor(prompt)
    except (TypeError, ValueError, RuntimeError, OverflowError):
        raise validation.ArgumentTypeError(f"prompt must be a list of token indices, got {prompt!r:.60}; {hint}") \
            from None
    if num_rows is None:
        num_rows = len(ids) if ids.dim() == 2 else 1
    if ids.numel() == 0:
        raise ValueError("the prompt is empty: the model needs at least one token to start from "
                         "(a character of text, or the begin-of-sequence token)")
    if ids.dim() == 1:
        ids = ids.expand(num_rows, -1)
    validation.tensor(ids, "prompt", shape=("batch_size", "prompt_len"), dtype="integer", sizes={"batch_size": num_rows},
                      hint="a list of token indices (e.g. vocab[list('ROMEO:')]), one for every sample")
    return ids.long()


@torch.no_grad()
def prime(step, state, prompt):
    """Read a prompt (``(batch_size, prompt_len)``, or one list for one row); return ``(log_probs, state)``
    after its last token: the distribution of the first token to generate."""
    if not callable(step):
        raise validation.ArgumentTypeError(f"step must be a function step(state, tokens) -> (log_probs, state), "
                                           f"got {type(step).__name__}; for a language model use LMStep(net)")
    prompt = _prompt(prompt)
    for t in range(prompt.shape[1]):
        log_probs, state = step(state, prompt[:, t])
    return torch.log_softmax(log_probs.float(), dim=-1), state


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
    """Sample ``num_samples`` continuations of ``prompt`` at once (``state`` has ``num_samples`` rows).

    At each step the next token is drawn from ``softmax(filter_logits(log_probs, temperature,
    top_k, top_p))``; ``temperature=0`` is greedy. Draws happen on the CPU with ``generator``
    (a seeded ``torch.Generator``), so a seed gives the same text on any device. ``eos`` ends a row.
    """
    max_len = validation.non_negative_int(max_len, "max_len", hint="(tokens to generate)")
    num_samples = validation.positive_int(num_samples, "num_samples")
    T, k, p = _checked_filters(temperature, top_k, top_p)
    eos = None if eos is None else validation.non_negative_int(eos, "eos", hint="the index of the end token")
    log_probs, state = prime(step, state, _prompt(prompt, num_samples))
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


def greedy(step, state, prompt, max_len: int, *, eos: int | None = None) -> Generated:
    """Greedy decoding: always the most probable next token (ties: the lower index); one row."""
    return sample(step, state, prompt, max_len, temperature=0.0, eos=eos)


class Hypothesis(NamedTuple):
    """One result of :func:`beam_search`: the generated ``tokens``, their total ``log_prob`` under the
    model, and the ``score`` that ranks it, ``log_prob / len(tokens) ** alpha``."""

    tokens: list
    log_prob: float
    score: float


def _reorder(state, index: torch.Tensor, dim: int):
    """``state`` with its rows (along ``dim``) picked by ``index``: tensors, arrays, and tuples/lists of them."""
    if isinstance(state, torch.Tensor):
        return state.index_select(dim, index.to(state.device))
    if isinstance(state, (tuple, list)):
        return type(state)(_reorder(s, index, dim) for s in state)
    if hasattr(state, "take"):  # a NumPy array (the n-gram model's context)
        return state.take(index.numpy(), axis=dim)
    raise validation.ArgumentTypeError(f"beam search cannot reorder a state of type {type(state).__name__}: use "
                                       "tensors (or tuples of them) with the batch along batch_dim")


@torch.no_grad()
def beam_search(step, state, prompt, max_len: int, *, beam_width: int = 4, alpha: float = 1.0,
                eos: int | None = None, batch_dim: int | None = None) -> list[Hypothesis]:
    """The ``beam_width`` best continuations of one prompt (``state`` has one row), best first.

    At each step every live prefix is extended by every token, and the ``beam_width`` extensions
    with the highest total log-probability are kept (ties by parent, then token index). One that
    ends with ``eos`` is finished and leaves the beam; decoding stops after ``max_len`` tokens, when
    none is live, or when no live prefix can still enter the best ``beam_width`` (its log-probability
    only falls: at best it keeps it to ``max_len`` tokens). Finished and live hypotheses are then
    ranked by ``log_prob / len ** alpha``.
    ``batch_dim``: the dimension of the state that holds the beams (default: ``step.batch_dim``, else 0).
    """
    max_len = validation.positive_int(max_len, "max_len", hint="(tokens to generate)")
    width = validation.positive_int(beam_width, "beam_width", hint="1 is greedy decoding")
    alpha = validation.number_in_range(alpha, "alpha", 0, hint="0: total log-probability, 1: per token")
    dim = getattr(step, "batch_dim", 0) if batch_dim is None else validation.non_negative_int(batch_dim, "batch_dim")
    eos = None if eos is None else validation.non_negative_int(eos, "eos", hint="the index of the end token")
    log_probs, state = prime(step, state, _prompt(prompt, 1))
    prefixes, totals = [[]], torch.zeros(1, dtype=torch.float64)
    finished: list[Hypothesis] = []
    for t in range(max_len):
        V = log_probs.shape[-1]
        candidates = (totals[:, None] + log_probs.double().cpu()).reshape(-1)   # (live * V,)
        pool = torch.nonzero(candidates >= candidates.topk(min(width, len(candidates))).values[-1])[:, 0]
        best, order = _sorted(candidates[pool])          # the best `width` without sorting all live * V
        best, flat = best[:width], pool[order[:width]]
        best, flat = best[torch.isfinite(best)], flat[torch.isfinite(best)]
        parents, tokens = flat // V, flat % V
        live = []
        for score, parent, token in zip(best.tolist(), parents.tolist(), tokens.tolist()):
            prefix = prefixes[parent] + [token]
            if eos is not None and token == eos:
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
        log_probs, state = step(_reorder(state, index, dim), torch.tensor([tok for _, _, _, tok in live]))
        log_probs = torch.log_softmax(log_probs.float(), dim=-1)
    finished += [Hypothesis(p, float(s), float(s) / len(p) ** alpha) for p, s in zip(prefixes, totals.tolist())]
    return sorted(finished, key=lambda h: -h.score)[:width]


@torch.no_grad()
def score_continuation(step, state, prompt, continuation) -> torch.Tensor:
    """``log P(y_t | prompt, y_<t)`` of every token of a given continuation (teacher forcing): ``(batch_size, len)``.

    Scores any text under the model: a beam's output, a sample, or the real continuation.
    """
    cont = continuation
    if isinstance(cont, (list, tuple)):
        cont = torch.as_tensor(cont) if len(cont) else torch.zeros(0, dtype=torch.long)
    if isinstance(cont, torch.Tensor) and cont.dim() == 1:
        cont = cont[None, :]
    validation.tensor(cont, "continuation", shape=("batch_size", "length"), dtype="integer",
                      hint="the token indices to score, one row per sample")
    if cont.numel() == 0:
        return torch.zeros(cont.shape, dtype=torch.float32)
    log_probs, state = prime(step, state, _prompt(prompt, len(cont)))
    low, high = int(cont.min()), int(cont.max())
    if low < 0 or high >= log_probs.shape[-1]:
        raise ValueError(f"continuation holds token indices from 0 to {log_probs.shape[-1] - 1} (the model's "
                         f"vocabulary); got {low if low < 0 else high}")
    out = torch.zeros(cont.shape, dtype=torch.float32)
    for t in range(cont.shape[1]):
        out[:, t] = log_probs.float().cpu().gather(1, cont[:, t:t + 1]).squeeze(1)
        if t + 1 < cont.shape[1]:
            log_probs, state = step(state, cont[:, t])
            log_probs = torch.log_softmax(log_probs.float(), dim=-1)
    return out


def avg_log_likelihood(generated: Generated) -> float:
    """Mean log-likelihood per generated token under the model (nats; higher = more typical text)."""
    if not isinstance(generated, Generated):
        raise validation.ArgumentTypeError(f"generated must be the Generated result of sample, greedy or "
                                           f"beam search's tokens rescored, got {type(generated).__name__}")
    total = int(generated.lengths.sum())
    if total == 0:
        raise ValueError("nothing was generated (every length is 0)")
    return float(generated.log_probs.sum()) / total


def _sequences(sequences, name: str = "sequences") -> list:
    if isinstance(sequences, str):
        sequences = [sequences]
    validation.sequence(sequences, name, non_empty=True, of=(str, list, tuple),
                        what="a list of samples (strings or lists of tokens)")
    return [list(s) for s in sequences]


def distinct_n(sequences, n: int) -> float:
    """Distinct n-grams over all n-grams of all ``sequences`` (a string's tokens are its characters;
    pass lists of words for word n-grams): 1 = no n-gram ever repeats, near 0 = the same few again."""
    grams = [g for s in _sequences(sequences) for g in ngram_tuples(s, n)]
    return len(set(grams)) / len(grams) if grams else 0.0


def repetition_rate(sequences, n: int = 3) -> float:
    """Mean over samples of the share of a sample's n-grams that already occurred earlier in that sample."""
    rates = []
    for s in _sequences(sequences):
        grams = ngram_tuples(s, n)
        if grams:
            rates.append(1 - len(set(grams)) / len(grams))
    return sum(rates) / len(rates) if rates else 0.0


def seen_share(words, known) -> float:
    """Share of ``words`` (a list of words, or one list of words per sample) found in ``known`` (a set of
    training words, or a :class:`seqlib.text.Vocab` of them: ``<unk>`` does not count as known)."""
    if isinstance(words, str):
        raise validation.ArgumentTypeError("words must be a list of words, not one string: split it first, "
                                           "e.g. seqlib.text.tokenize_sentence(text)")
    validation.sequence(words, "words", non_empty=True, of=(str, list, tuple),
                        what="a list of words, or one list of words per sample")
    if hasattr(known, "token_to_idx"):
        known = {t for t, i in known.token_to_idx.items() if i != known.unk}
    flat = [w for item in words for w in ([item] if isinstance(item, str) else item)]
    return sum(w in known for w in flat) / len(flat) if flat else 0.0


def find_loop(sequence, min_repeats: int = 3):
    """``(start, period)`` of the loop the end of ``sequence`` is caught in, or ``None``.

    ``period``: the shortest ``p`` such that the last ``min_repeats * p`` items are one block of
    ``p`` items repeated; ``start``: the first position from which ``sequence[i] == sequence[i + p]``
    holds to the end (the loop began there). A string's items are its characters. Greedy decoding
    of a language model usually ends in such a loop; sampling does not. An empty sequence has none.
    """
    min_repeats = validation.positive_int(min_repeats, "min_repeats", hint="(how often a block must repeat)")
    if min_repeats < 2:
        raise ValueError("min_repeats must be at least 2: a block seen once is not a loop")
    items = list(_sequences(sequence)[0]) if isinstance(sequence, str) else list(
        validation.sequence(sequence, "sequence", what="a string or a list of tokens"))
    n = len(items)
    for p in range(1, n // min_repeats + 1):
        start = n - min_repeats * p
        if all(items[i] == items[i + p] for i in range(start, n - p)):
            while start > 0 and items[start - 1] == items[start - 1 + p]:
                start -= 1
            return start, p
    return None
