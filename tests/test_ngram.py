"""Tests of seqlib.ngram: proper distributions for every context, the smoothing equations, the loss."""

from __future__ import annotations

import collections
import itertools
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from seqlib.decoding import top_k_accuracy
from seqlib.ngram import NgramLM, to_bits
from seqlib.validation import ArgumentTypeError

MIRROR = os.environ.get("SEQLIB_DATA_DIR")


def toy_text(V: int = 5, length: int = 400, seed: int = 0) -> np.ndarray:
    """A text over tokens 0 .. V - 2 (token V - 1 never occurs, like <unk>) with some structure."""
    rng = np.random.default_rng(seed)
    x = rng.integers(0, V - 1, length)
    x[::7] = 2
    x[1::7] = 0
    return x


def all_contexts(V: int, m: int) -> np.ndarray:
    """Every context of length m over V tokens, with every amount of left padding (-1)."""
    rows = []
    for pad in range(m + 1):
        for tail in itertools.product(range(V), repeat=m - pad):
            rows.append([-1] * pad + list(tail))
    return np.array(rows, dtype=np.int64).reshape(len(rows), m)


@pytest.mark.parametrize("smoothing", ["kn", "add-k"])
@pytest.mark.parametrize("order", [1, 2, 3, 4])
def test_probabilities_sum_to_one_for_every_context(smoothing, order):
    V = 5
    model = NgramLM(order, V, smoothing, k=0.1).fit(toy_text(V))
    contexts = all_contexts(V, order - 1)
    probs = np.exp(model.log_probs_next(contexts))
    assert probs.shape == (len(contexts), V)
    assert np.all(probs > 0)  # smoothing: no token is impossible, not even one never seen (index V - 1)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


def test_kneser_ney_matches_the_equations_written_out():
    """A dictionary implementation of the module docstring's recursion gives the same log-likelihoods."""
    V, N = 5, 3
    x = toy_text(V)
    model = NgramLM(N, V).fit(x)
    grams = {n: collections.Counter(tuple(x[i:i + n]) for i in range(len(x) - n + 1)) for n in range(1, N + 2)}
    table = {n: grams[n] if n == N else collections.Counter(g[1:] for g in grams[n + 1]) for n in range(1, N + 1)}

    def discount(n):
        n1 = sum(c == 1 for c in table[n].values())
        n2 = sum(c == 2 for c in table[n].values())
        return min(max(n1 / (n1 + 2 * n2), 0.05), 0.95) if n1 + n2 else 0.5

    def prob(w, h):
        n = len(h) + 1
        lower = 1 / V if n == 1 else prob(w, h[1:])
        c_h = sum(c for g, c in table[n].items() if g[:-1] == h)
        if c_h == 0:
            return lower
        types = sum(1 for g in table[n] if g[:-1] == h)
        D = discount(n)
        return (max(table[n].get(h + (w,), 0) - D, 0) + D * types * lower) / c_h

    y = np.random.default_rng(1).integers(0, V, 80)
    expected = [math.log(prob(int(y[t]), tuple(int(v) for v in y[max(0, t - N + 1):t]))) for t in range(1, len(y))]
    np.testing.assert_allclose(model.log_likelihoods(y), expected, rtol=1e-12)


def test_add_k_is_the_formula_and_unseen_contexts_are_uniform():
    x = np.array([0, 1, 0, 1, 0, 2])  # bigrams: 01 x2, 10 x2, 02 x1
    model = NgramLM(2, 4, "add-k", k=0.5).fit(x)
    p = np.exp(model.log_probs_next([[0]]))[0]
    np.testing.assert_allclose(p, [(0 + .5) / (3 + 2), (2 + .5) / (3 + 2), (1 + .5) / (3 + 2), .5 / (3 + 2)])
    unseen = np.exp(model.log_probs_next([[3]]))[0]  # token 3 never occurs: a context never seen
    np.testing.assert_allclose(unseen, 0.25)


def test_kneser_ney_falls_back_to_the_lower_order_for_an_unseen_context():
    V = 5
    x = toy_text(V)
    model = NgramLM(3, V).fit(x)
    assert not np.any((x[:-2] == 4) & (x[1:-1] == 1))  # the context (4, 1) never occurs
    # the trigram model answers with its bigram level: the context cut to its last token
    np.testing.assert_allclose(model.log_probs_next([[4, 1]]), model.log_probs_next([[-1, 1]]))
    assert not np.allclose(model.log_probs_next([[0, 1]]), model.log_probs_next([[-1, 1]]))  # a seen context


def test_loss_is_the_mean_negative_log_likelihood_in_nats():
    V = 5
    x, y = toy_text(V, seed=0), toy_text(V, length=200, seed=3)
    model = NgramLM(3, V).fit(x)
    assert model.loss(y) == pytest.approx(-model.log_likelihoods(y).mean())
    assert model.log_likelihoods(y).shape == (len(y) - 1,)
    assert to_bits(model.loss(y)) == pytest.approx(model.loss(y) / math.log(2))
    assert to_bits(math.log(2)) == pytest.approx(1.0)


def test_a_unigram_model_scores_the_entropy_of_the_training_text():
    x = np.array([0, 0, 0, 1, 1, 2, 0, 1] * 50)
    model = NgramLM(1, 3, "add-k", k=1e-9).fit(x)
    freqs = np.bincount(x) / len(x)
    assert model.loss(x) == pytest.approx(-np.log(freqs[x[1:]]).mean(), rel=1e-6)  # the first token is context
    assert model.loss(np.tile(x, 100)) == pytest.approx(-(freqs * np.log(freqs)).sum(), rel=1e-4)  # the entropy


def test_higher_orders_learn_a_deterministic_pattern():
    x = np.tile(np.array([0, 1, 2, 3, 1, 0, 2]), 200)
    losses = [NgramLM(n, 4).fit(x).loss(x) for n in (1, 2, 3)]
    assert losses[0] > losses[1] > losses[2] and losses[2] < 0.05


def test_tune_k_picks_the_best_pseudo_count():
    V = 5
    model = NgramLM(3, V, "add-k").fit(toy_text(V))
    losses = model.tune_k(toy_text(V, 300, seed=5), ks=[2.0, 0.5, 0.1, 0.01])
    assert set(losses) == {2.0, 0.5, 0.1, 0.01}
    assert model.k == min(losses, key=losses.get)
    with pytest.raises(ValueError, match="add-k"):
        NgramLM(3, V).fit(toy_text(V)).tune_k(toy_text(V))


@pytest.mark.parametrize("ks,val", [([0.5, -1.0], None), ([0.5, "x"], None), ([0.5], [1]), ([0.5], "text")])
def test_a_failed_tune_k_leaves_k_unchanged(ks, val):
    V = 5
    model = NgramLM(3, V, "add-k", k=0.7).fit(toy_text(V))
    with pytest.raises((ValueError, TypeError)):
        model.tune_k(toy_text(V, 50, seed=5) if val is None else val, ks=ks)
    assert model.k == 0.7
    with pytest.raises(RuntimeError, match="fit"):
        NgramLM(3, V, "add-k", k=0.7).tune_k(toy_text(V), ks=[0.1])


def test_step_protocol_reads_one_token_at_a_time():
    V = 5
    x = toy_text(V)
    model = NgramLM(3, V).fit(x)
    state = model.begin_state(2)
    assert state.shape == (2, 2) and (state == -1).all()
    log_probs, state = model.step(state, torch.tensor([1, 3]))
    log_probs, state = model.step(state, torch.tensor([2, 0]))
    assert isinstance(log_probs, torch.Tensor) and log_probs.shape == (2, V)
    np.testing.assert_allclose(log_probs.numpy(), model.log_probs_next([[1, 2], [3, 0]]), rtol=1e-6)
    unigram = NgramLM(1, V).fit(x)
    lp, s = unigram.step(unigram.begin_state(1), [2])
    assert s.shape == (1, 0) and lp.shape == (1, V)


def test_top_k_accuracy_ranks_the_true_token_among_every_token():
    V = 6
    x, y = toy_text(V), toy_text(V, length=300, seed=9)
    model = NgramLM(2, V).fit(x)
    lp = model.log_probs_next(model._windows(y))  # every position's full distribution at once
    rank = np.array([(row > row[t]).sum() + ((row == row[t]) & (np.arange(V) < t)).sum()
                     for row, t in zip(lp, y[1:])])
    acc = top_k_accuracy(model.predictions(y, chunk=2), ks=(1, 2, 6))
    assert acc == {k: pytest.approx((rank < k).mean()) for k in (1, 2, 6)} and acc[6] == 1.0
    assert acc[1] == pytest.approx(np.mean(lp.argmax(1) == y[1:]))


def test_bad_inputs_say_what_to_do():
    with pytest.raises(ArgumentTypeError, match="encode the text"):
        NgramLM(2, 5).fit("to be or not")
    with pytest.raises(ValueError, match="vocab_size=5"):
        NgramLM(2, 5).fit([0, 1, 7])
    with pytest.raises(RuntimeError, match="fit"):
        NgramLM(2, 5).loss([0, 1, 2])
    with pytest.raises(ValueError, match="64 bits"):
        NgramLM(20, 1000)
    with pytest.raises(ValueError, match="smoothing"):
        NgramLM(2, 5, "good-turing")
    with pytest.raises(ValueError, match="at least 2 tokens"):
        NgramLM(2, 5).fit([0, 1, 2]).loss([1])


@pytest.mark.skipif(not MIRROR or not (Path(MIRROR) / "tinyshakespeare.txt").is_file(),
                    reason="set SEQLIB_DATA_DIR to the offline mirror (e.g. /work/shared/data)")
def test_tiny_shakespeare_on_the_nanogpt_split():
    from seqlib.data import read_text
    from seqlib.text import Vocab

    os.environ.setdefault("SEQLIB_DATA_DIR", MIRROR)
    text = read_text("tinyshakespeare")
    cut = int(0.9 * len(text))
    vocab = Vocab(list(text[:cut]))
    train, val = np.array(vocab[list(text[:cut])]), np.array(vocab[list(text[cut:])])
    assert len(vocab) == 66  # 65 characters and <unk>
    unigram, five = NgramLM(1, len(vocab)).fit(train), NgramLM(5, len(vocab)).fit(train)
    assert round(unigram.loss(val), 2) == 3.35
    assert 1.5 < five.loss(val) < 1.65  # measured 1.579 nats per character (2.28 bits)
