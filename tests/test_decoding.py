"""Tests of seqlib.decoding: the filters, the decoders over the step protocol, and the text measures."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from seqlib import decoding as dec
from seqlib.ngram import NgramLM
from seqlib.text import Vocab
from seqlib.validation import ArgumentTypeError


class Markov2:
    """A random second-order Markov model: the state is the previous token (``(batch_size,)``, -1 at the
    start), so beam search must reorder it correctly to score the right continuations."""

    def __init__(self, V: int = 6, seed: int = 0, sharp: float = 2.0, eos: int | None = None):
        g = torch.Generator().manual_seed(seed)
        self.V, self.eos = V, eos
        self.table = torch.log_softmax(sharp * torch.randn(V + 1, V, V, generator=g), dim=-1)

    def begin_state(self, batch_size: int = 1):
        return torch.full((batch_size,), -1)

    def step(self, state, tokens):
        return self.table[state + 1, tokens], tokens.clone()

    def log_prob(self, prompt, continuation) -> float:
        prev, tok, total = -1, prompt[0], 0.0
        for p in prompt[1:]:
            prev, tok = tok, p
        for y in continuation:
            total += float(self.table[prev + 1, tok, y])
            prev, tok = tok, y
        return total


# -- filters ------------------------------------------------------------------------------------

def test_temperature_zero_is_the_argmax():
    logits = torch.randn(4, 9, generator=torch.Generator().manual_seed(0))
    logits[1, 2] = logits[1, 5] = logits[1].max() + 1  # a tie: the first one wins
    kept = dec.filter_logits(logits, 0)
    assert torch.equal(torch.isfinite(kept).sum(1), torch.ones(4, dtype=torch.long))
    assert torch.equal(kept.argmax(1), logits.argmax(1)) and int(kept[1].argmax()) == 2
    probs = torch.softmax(kept, dim=-1)
    assert torch.equal(probs, nn.functional.one_hot(logits.argmax(1), 9).float())


def test_very_high_temperature_approaches_uniform():
    logits = torch.tensor([5.0, 1.0, -3.0, 0.0, 2.0])
    for T, tol in ((1e2, 0.02), (1e4, 2e-4), (1e6, 2e-6)):
        probs = torch.softmax(dec.filter_logits(logits, T), dim=-1)
        assert torch.allclose(probs, torch.full((5,), 0.2), atol=tol)
    assert float(dec.entropy(dec.filter_logits(logits, 1e6))) == pytest.approx(math.log(5), abs=1e-6)
    assert float(dec.entropy(dec.filter_logits(logits, 0))) == 0.0
    assert float(dec.entropy(logits)) > float(dec.entropy(dec.filter_logits(logits, 0.5)))


@pytest.mark.parametrize("k", [1, 2, 3, 5, 8])
def test_top_k_keeps_exactly_k_tokens_even_with_ties(k):
    logits = torch.tensor([[1.0, 3.0, 3.0, 3.0, 0.5, 3.0, 2.0, -1.0],
                           [0.0] * 8])
    kept = dec.filter_logits(logits, top_k=k)
    assert torch.equal(torch.isfinite(kept).sum(1), torch.full((2,), k))
    for row, out in zip(logits, kept):
        finite = torch.isfinite(out)
        assert torch.equal(out[finite], row[finite])            # kept logits are unchanged
        assert row[finite].min() >= row[~finite].max() if (~finite).any() else True
    assert torch.equal(torch.isfinite(kept[1]), torch.arange(8) < k)  # all tied: the lowest indices


def test_top_p_keeps_the_smallest_set_that_reaches_p():
    g = torch.Generator().manual_seed(1)
    for _ in range(50):
        logits = 2 * torch.randn(12, generator=g)
        p = float(torch.rand(1, generator=g)) * 0.98 + 0.01
        probs = torch.softmax(logits.double(), -1)
        kept = torch.isfinite(dec.filter_logits(logits, top_p=p))
        mass = float(probs[kept].sum())
        assert mass >= p - 1e-9
        assert mass - float(probs[kept].min()) < p  # without its least probable token the set falls short
        assert probs[kept].min() >= probs[~kept].max() if (~kept).any() else True


def test_top_p_with_ties():
    logits = torch.log(torch.tensor([0.3, 0.3, 0.3, 0.1]))
    assert torch.isfinite(dec.filter_logits(logits, top_p=0.5)).tolist() == [True, True, False, False]
    assert torch.isfinite(dec.filter_logits(logits, top_p=0.6)).tolist() == [True, True, False, False]  # reaches p
    assert torch.isfinite(dec.filter_logits(logits, top_p=0.61)).tolist() == [True, True, True, False]
    assert torch.isfinite(dec.filter_logits(logits, top_p=1.0)).all()
    assert torch.isfinite(dec.filter_logits(logits, top_p=1e-6)).sum() == 1  # the most probable is always kept
    tied = torch.zeros(2, 4)  # rows are filtered independently
    assert torch.isfinite(dec.filter_logits(tied, top_p=0.5)).tolist() == [[True, True, False, False]] * 2


def test_filter_logits_applies_temperature_then_top_k_then_top_p():
    logits = torch.tensor([2.0, 1.5, 1.0, 0.0, -1.0])
    out = dec.filter_logits(logits, temperature=0.5, top_k=3, top_p=0.9)
    expected = dec.filter_logits(dec.filter_logits(logits / 0.5, top_k=3), top_p=0.9)
    assert torch.equal(out, expected)
    assert torch.isfinite(out).tolist() == [True, True, False, False, False]  # top-3, then 0.9 of their mass
    assert torch.equal(dec.filter_logits(logits), logits)


@pytest.mark.parametrize("call", [
    lambda: dec.filter_logits(torch.zeros(4), top_k=0),
    lambda: dec.filter_logits(torch.zeros(4), top_p=0.0),
    lambda: dec.filter_logits(torch.zeros(4), top_p=1.5),
    lambda: dec.filter_logits(torch.zeros(4), -1.0),
    lambda: dec.filter_logits([0.1, 0.2], 1.0),
    lambda: dec.filter_logits(torch.zeros(2, 3, 4), top_k=1),
])
def test_bad_filter_arguments_are_clear_errors(call):
    with pytest.raises(ValueError):
        call()


# -- decoders -----------------------------------------------------------------------------------

def test_greedy_follows_the_argmax_and_records_log_probs():
    m = Markov2()
    out = dec.greedy(m.step, m.begin_state(), [1, 2], 12)
    assert out.tokens.shape == (1, 12) and out.lengths.tolist() == [12]
    prev, tok = 1, 2
    for t, y in enumerate(out.tokens[0].tolist()):
        assert y == int(m.table[prev + 1, tok].argmax())
        assert float(out.log_probs[0, t]) == pytest.approx(float(m.table[prev + 1, tok, y]))
        prev, tok = tok, y
    assert dec.avg_log_likelihood(out) == pytest.approx(m.log_prob([1, 2], out.tokens[0].tolist()) / 12, rel=1e-5)


def test_sampling_at_temperature_zero_is_greedy():
    m = Markov2(seed=3)
    greedy = dec.greedy(m.step, m.begin_state(), [0], 20)
    sampled = dec.sample(m.step, m.begin_state(3), [0], 20, num_samples=3, temperature=0)
    assert all(torch.equal(row, greedy.tokens[0]) for row in sampled.tokens)


def test_seeded_sampling_reproduces():
    m = Markov2(seed=4, sharp=0.5)

    def run(seed, **kw):
        return dec.sample(m.step, m.begin_state(5), [1], 30, num_samples=5,
                          generator=torch.Generator().manual_seed(seed), **kw)

    for kw in ({}, {"temperature": 0.7}, {"top_k": 3}, {"top_p": 0.8}):
        a, b, c = run(0, **kw), run(0, **kw), run(1, **kw)
        assert torch.equal(a.tokens, b.tokens) and torch.equal(a.log_probs, b.log_probs)
        assert not torch.equal(a.tokens, c.tokens)


def test_sampled_tokens_respect_top_k_and_their_log_probs_are_the_models():
    m = Markov2(seed=5, sharp=0.5)
    out = dec.sample(m.step, m.begin_state(4), [2], 25, num_samples=4, top_k=2,
                     generator=torch.Generator().manual_seed(0))
    for row, lp in zip(out.tokens.tolist(), out.log_probs):  # the recorded log-probabilities are the model's
        assert float(lp.sum()) == pytest.approx(m.log_prob([2], row), abs=1e-5)
    for row in out.tokens.tolist():
        prev, tok = -1, 2
        for y in row:
            assert y in torch.topk(m.table[prev + 1, tok], 2).indices.tolist()
            prev, tok = tok, y


@pytest.mark.parametrize("seed", range(6))
def test_beam_width_one_is_greedy(seed):
    m = Markov2(seed=seed)
    greedy = dec.greedy(m.step, m.begin_state(), [1], 15)
    [beam] = dec.beam_search(m.step, m.begin_state(), [1], 15, beam_width=1)
    assert beam.tokens == greedy.tokens[0].tolist()
    assert beam.log_prob == pytest.approx(float(greedy.log_probs.sum()), rel=1e-6)


@pytest.mark.parametrize("seed", range(10))
def test_beam_search_scores_at_least_greedy(seed):
    m = Markov2(seed=seed, sharp=1.0)
    greedy = dec.greedy(m.step, m.begin_state(), [0, 3], 10)
    hyps = dec.beam_search(m.step, m.begin_state(), [0, 3], 10, beam_width=4, alpha=0.0)
    assert len(hyps) == 4 and [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
    assert hyps[0].log_prob >= float(greedy.log_probs.sum()) - 1e-9
    for h in hyps:  # the recorded scores are the model's: the state was reordered with the beams
        assert h.log_prob == pytest.approx(m.log_prob([0, 3], h.tokens), rel=1e-6)


def test_a_beam_as_wide_as_every_prefix_finds_the_most_probable_sequence():
    m = Markov2(V=4, seed=7)
    best = max(itertools.product(range(4), repeat=4), key=lambda y: m.log_prob([1], y))
    [top, *_] = dec.beam_search(m.step, m.begin_state(), [1], 4, beam_width=4 ** 3, alpha=0.0)
    assert tuple(top.tokens) == best


def test_eos_ends_sampling_and_beams():
    m = Markov2(V=5, seed=2, sharp=0.3)
    m.table[..., 4] += 1.5  # token 4 (eos) is likely
    out = dec.sample(m.step, m.begin_state(6), [0], 40, num_samples=6, eos=4,
                     generator=torch.Generator().manual_seed(0))
    for row, length, lp in zip(out.tokens, out.lengths, out.log_probs):
        assert int(row[length - 1]) == 4 and 4 not in row[:length - 1].tolist()
        assert torch.all(row[length:] == 4) and torch.all(lp[length:] == 0)
    assert dec.avg_log_likelihood(out) == pytest.approx(float(out.log_probs.sum() / out.lengths.sum()))
    for alpha in (0.0, 0.7, 1.0):
        hyps = dec.beam_search(m.step, m.begin_state(), [0], 40, beam_width=3, eos=4, alpha=alpha)
        assert len(hyps) == 3 and all(h.tokens[-1] == 4 or len(h.tokens) == 40 for h in hyps)
        assert all(h.score == pytest.approx(h.log_prob / len(h.tokens) ** alpha) for h in hyps)
        assert [h.score for h in hyps] == sorted((h.score for h in hyps), reverse=True)
    greedy = dec.greedy(m.step, m.begin_state(), [0], 40, eos=4)
    [one] = dec.beam_search(m.step, m.begin_state(), [0], 40, beam_width=1, eos=4)
    assert one.tokens == greedy.tokens[0, :greedy.lengths[0]].tolist()


def test_decoders_run_an_ngram_model():
    x = np.tile(np.array([0, 1, 2, 3, 1, 0, 2]), 50)
    model = NgramLM(3, 5).fit(x)
    out = dec.greedy(model.step, model.begin_state(), [0, 1], 12)
    assert out.tokens[0].tolist() == [2, 3, 1, 0, 2, 0, 1, 2, 3, 1, 0, 2]
    [beam] = dec.beam_search(model.step, model.begin_state(), [0, 1], 12, beam_width=1)
    assert beam.tokens == out.tokens[0].tolist()
    hyps = dec.beam_search(model.step, model.begin_state(), [0, 1], 12, beam_width=3)
    assert hyps[0].tokens == beam.tokens


@pytest.mark.parametrize("form", ["concise", "fast"])
def test_lm_step_wraps_the_course_language_models(form):
    from seqlib.lm import RNNLMFast, concise_model

    torch.manual_seed(0)
    vocab = Vocab(list("the time traveller was expounding a recondite matter to us"))
    net = concise_model("lstm", len(vocab), 16) if form == "concise" else RNNLMFast(len(vocab), 16, "lstm")
    step = dec.LMStep(net)
    assert step.batch_dim == (1 if form == "concise" else 0)
    prompt = vocab[list("the ")]
    out = dec.greedy(step, step.begin_state(1), prompt, 20)
    assert "the " + "".join(vocab.to_tokens(out.tokens[0])) == dec.generate(net, vocab, "the ", 20)
    [beam] = dec.beam_search(step, step.begin_state(1), prompt, 20, beam_width=1)
    assert beam.tokens == out.tokens[0].tolist()
    assert beam.log_prob == pytest.approx(float(out.log_probs.sum()), abs=1e-4)
    hyps = dec.beam_search(step, step.begin_state(1), prompt, 20, beam_width=3, alpha=0.0)
    assert hyps[0].log_prob >= beam.log_prob - 1e-4


def test_generate_continues_a_prefix_greedily_or_by_seeded_sampling():
    from seqlib.lm import RNNLMFast

    torch.manual_seed(0)
    vocab = Vocab(list("the time traveller was expounding a recondite matter to us"))
    net = RNNLMFast(len(vocab), 16, "lstm").train()
    step = dec.LMStep(net)
    greedy = dec.greedy(step, step.begin_state(1), vocab[list("the t?me")], 20)
    text = dec.generate(net, vocab, "the t?me", 20)
    assert text == "the t<unk>me" + "".join(vocab.to_tokens(greedy.tokens[0]))  # the prefix as the model read it
    net.train()
    a = dec.generate(net, vocab, "the", 30, temperature=1.0, top_k=5, seed=1)
    assert a == dec.generate(net, vocab, "the", 30, temperature=1.0, top_k=5, seed=1) and len(a) == 33
    assert net.training, "the model's training mode is restored"
    assert dec.generate(net, vocab, "the", 0) == "the"
    with pytest.raises(ValueError, match="non-empty string"):
        dec.generate(net, vocab, "", 5)


def test_an_empty_prompt_is_refused():
    m = Markov2()
    with pytest.raises(ValueError, match="at least one token"):
        dec.greedy(m.step, m.begin_state(), [], 5)


# -- measures -----------------------------------------------------------------------------------

def test_distinct_n_and_repetition_rate():
    assert dec.distinct_n(["abab"], 2) == pytest.approx(2 / 3)          # ab, ba, ab
    assert dec.distinct_n(["abc", "abc"], 2) == pytest.approx(2 / 4)    # pooled over samples
    assert dec.distinct_n([["to", "be", "or", "not", "to", "be"]], 2) == pytest.approx(4 / 5)
    assert dec.repetition_rate(["abcabcabc"], 3) == pytest.approx(4 / 7)  # abc bca cab, then 4 repeats
    assert dec.repetition_rate(["abcdefg", "aaaa"], 2) == pytest.approx((0 + 2 / 3) / 2)
    assert math.isnan(dec.distinct_n(["a"], 2)) and math.isnan(dec.repetition_rate(["a"], 2))
    assert math.isnan(dec.distinct_n(["ab"], 3)), "no trigram at all is not 'maximally repetitive'"
    assert dec.repetition_rate(["a", "abab"], 2) == pytest.approx(1 / 3)  # a sample without n-grams does not count


def test_seen_share_with_a_set_or_a_vocabulary():
    vocab = Vocab([["to", "be", "or", "not"]])
    assert dec.seen_share(["to", "be", "xyzzy", "be"], vocab) == pytest.approx(3 / 4)
    assert dec.seen_share([["to", "xyzzy"], ["or"]], {"to", "or"}) == pytest.approx(2 / 3)
    assert dec.seen_share(["<unk>"], vocab) == 0.0  # <unk> is not a word of the training text
    with pytest.raises(ArgumentTypeError, match="split it first"):
        dec.seen_share("to be or not", vocab)
    with pytest.raises(ArgumentTypeError, match="not one string"):  # it would match substrings: "o" in "to be"
        dec.seen_share(["o", "be"], "to be or not")


def _brute_loop(items, min_repeats):
    n = len(items)
    for p in range(1, n // min_repeats + 1):
        block = items[n - p:]
        if items[n - min_repeats * p:] == block * min_repeats:
            start = min(i for i in range(n - min_repeats * p + 1) if all(items[j] == items[j + p] for j in range(i, n - p)))
            return start, p
    return None


@pytest.mark.parametrize("text,expected", [
    ("the king, the king, the king, ", (0, 10)),
    ("ROMEO: I will not be the man the man the man the man", (20, 8)),
    ("abcabcabcab", (0, 3)),
    ("no loop here at all", None),
    ("zzzz", (0, 1)),
    ("", None),
])
def test_find_loop_finds_where_the_cycle_starts_and_its_shortest_period(text, expected):
    assert dec.find_loop(text) == expected == _brute_loop(list(text), 3)


def test_find_loop_agrees_with_brute_force_on_random_token_lists():
    g = torch.Generator().manual_seed(0)
    for _ in range(200):
        head = torch.randint(0, 3, (int(torch.randint(0, 8, (1,), generator=g)),), generator=g).tolist()
        block = torch.randint(0, 3, (int(torch.randint(1, 4, (1,), generator=g)),), generator=g).tolist()
        items = head + block * int(torch.randint(1, 5, (1,), generator=g))
        for r in (2, 3):
            assert dec.find_loop(items, min_repeats=r) == _brute_loop(items, r)
    with pytest.raises(ValueError, match="at least 2"):
        dec.find_loop("aaaa", min_repeats=1)


def test_find_loop_takes_one_row_of_tokens():
    assert dec.find_loop(torch.tensor([5, 1, 2, 1, 2, 1, 2])) == (1, 2)
    with pytest.raises(ValueError, match="one row"):
        dec.find_loop(torch.zeros(2, 6, dtype=torch.long))


def test_an_eos_outside_the_vocabulary_is_refused():
    m = Markov2(V=5)
    for decode in (lambda: dec.sample(m.step, m.begin_state(), [0], 5, eos=5),
                   lambda: dec.beam_search(m.step, m.begin_state(), [0], 5, eos=99)):
        with pytest.raises(ValueError, match="not a token of the model's vocabulary"):
            decode()


def test_beam_search_refuses_a_first_step_where_every_token_is_impossible():
    def dead(state, tokens):
        return torch.full((len(tokens), 4), float("-inf")), state
    with pytest.raises(ValueError, match="probability 0"):
        dec.beam_search(dead, torch.zeros(1), [0], 5)

    def dies_later(state, tokens):  # token 1 then nothing: the prefix [1] is the answer, not []
        rows = torch.full((len(tokens), 4), float("-inf"))
        rows[:, 1] = 0.0 if int(state.reshape(-1)[0]) == 0 else float("-inf")
        return rows, state + 1
    assert dec.beam_search(dies_later, torch.zeros(1), [0], 5, beam_width=2) == [dec.Hypothesis([1], 0.0, 0.0)]


def test_top_k_accuracy_ranks_ties_by_the_lower_index():
    scores = torch.tensor([[0.0, 2.0, 2.0, 1.0], [3.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    targets = torch.tensor([2, 0, 3])       # ranks 1, 0 and 3
    assert dec.top_k_accuracy([(scores, targets)], ks=(1, 2, 4)) == {1: 1 / 3, 2: 2 / 3, 4: 1.0}
    halves = [(scores[:2], targets[:2]), (scores[2:].numpy(), targets[2:].numpy())]  # batch by batch, any array
    assert dec.top_k_accuracy(halves, ks=(2,)) == {2: 2 / 3}
    g = torch.Generator().manual_seed(0)
    scores, targets = torch.randn(50, 7, generator=g).round(decimals=1), torch.randint(0, 7, (50,), generator=g)
    kept = torch.isfinite(dec.filter_logits(scores, top_k=3)).gather(1, targets[:, None])
    assert dec.top_k_accuracy([(scores, targets)], ks=[3])[3] == pytest.approx(float(kept.float().mean()))
    with pytest.raises(ValueError, match="targets in"):
        dec.top_k_accuracy([(scores, targets + 7)])


class TinyCharLM(nn.Module):
    """A language model with the course interface and no checks of its own (embedding -> head)."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.embedding, self.head = nn.Embedding(vocab_size, 8), nn.Linear(8, vocab_size)

    def begin_state(self, batch_size=1, device=None):
        return torch.zeros(batch_size, 8, device=device)

    def forward(self, X, state):
        H = self.embedding(X.T) + state                     # time-major, as the course's models
        return self.head(H).reshape(-1, self.head.out_features), H[-1]


def test_generating_runs_no_input_check_per_token(monkeypatch):
    """Decoding checks its input once per call: 10 or 200 tokens run the same number of checks."""
    from seqlib import validation

    calls = []
    for name in ("tensor", "positive_int", "non_negative_int", "number_in_range", "sequence", "token_ids", "state"):
        real = getattr(validation, name)
        monkeypatch.setattr(validation, name, lambda *a, real=real, **kw: calls.append(1) or real(*a, **kw))
    vocab = Vocab(list("abcdefgh "))
    net = TinyCharLM(len(vocab))
    counts = []
    for num_preds in (10, 200):
        calls.clear()
        assert len(dec.generate(net, vocab, "abc", num_preds, temperature=1.0, top_k=3, seed=0)) == 3 + num_preds
        step = dec.LMStep(net)
        dec.beam_search(step, step.begin_state(1), [1, 2], num_preds, beam_width=2)
        counts.append(len(calls))
    assert counts[0] == counts[1], f"input checks grew with the number of tokens: {counts}"


def test_reorder_picks_the_rows_of_every_part_of_a_state_by_a_list_of_parents():
    """Day 9's students call decoding.reorder(state, parents) with a list: tensors, tuples and arrays follow."""
    from seqlib.decoding import reorder
    H, C = torch.arange(6.0).reshape(3, 2), torch.arange(3)
    got_H, got_C = reorder((H, C), [2, 2, 0])
    assert torch.equal(got_H, H[[2, 2, 0]]) and torch.equal(got_C, torch.tensor([2, 2, 0]))
    assert reorder(np.arange(3), [1, 0]).tolist() == [1, 0]
    assert torch.equal(reorder(H.T, [1, 0], dim=1), H.T[:, [1, 0]])
