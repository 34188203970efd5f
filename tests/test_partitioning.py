"""Property tests of the two minibatch iterators on arbitrary small corpora.

The corpus ``0, 1, ..., n - 1`` makes every token its own position, so the tests can see
exactly which positions a minibatch holds.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from seqlib.partitioning import (SeqDataLoader, min_corpus_length, minibatch_layout, seq_data_iter_random,
                             seq_data_iter_sequential)


@st.composite
def shapes(draw, use_random_iter):
    batch_size = draw(st.integers(1, 6))
    num_steps = draw(st.integers(1, 8))
    extra = draw(st.integers(0, 60))
    return min_corpus_length(batch_size, num_steps, use_random_iter) + extra, batch_size, num_steps


@settings(max_examples=200, deadline=None)
@given(shapes(use_random_iter=True), st.integers(0, 2**32 - 1))
def test_random_sampling_properties(shape, seed):
    n, batch_size, num_steps = shape
    batches = list(seq_data_iter_random(torch.arange(n), batch_size, num_steps, rng=random.Random(seed)))
    assert len(batches) >= 1
    starts = []
    for X, Y in batches:
        assert X.shape == Y.shape == (batch_size, num_steps)
        assert X.dtype == Y.dtype == torch.int64
        assert torch.equal(Y, X + 1), "every target is its input shifted by one"
        assert torch.equal(X, X[:, :1] + torch.arange(num_steps)), "a subsequence is contiguous"
        starts += X[:, 0].tolist()
    offset = starts[0] % num_steps
    assert 0 <= offset <= num_steps - 1
    assert all(s % num_steps == offset for s in starts), "subsequences sit on one grid"
    assert len(set(starts)) == len(starts), "subsequences never overlap"
    assert max(starts) + num_steps <= n - 1, "the last target is inside the corpus"
    num_subseqs = (n - offset - 1) // num_steps
    assert len(batches) == num_subseqs // batch_size


@settings(max_examples=200, deadline=None)
@given(shapes(use_random_iter=False), st.integers(0, 2**32 - 1))
def test_sequential_partitioning_properties(shape, seed):
    n, batch_size, num_steps = shape
    batches = list(seq_data_iter_sequential(torch.arange(n), batch_size, num_steps, rng=random.Random(seed)))
    assert len(batches) >= 1
    offset = int(batches[0][0][0, 0])
    assert 0 <= offset <= num_steps
    row_len = (n - offset - 1) // batch_size
    assert len(batches) == row_len // num_steps
    for k, (X, Y) in enumerate(batches):
        assert X.shape == Y.shape == (batch_size, num_steps)
        assert torch.equal(Y, X + 1), "every target is its input shifted by one"
        expected = offset + torch.arange(batch_size)[:, None] * row_len + k * num_steps + torch.arange(num_steps)
        assert torch.equal(X, expected), "rows are contiguous stretches of the corpus"
        if k > 0:
            assert torch.equal(X[:, 0], batches[k - 1][0][:, -1] + 1), \
                "row r of a minibatch continues row r of the previous one"
    assert int(batches[-1][1].max()) <= n - 1


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.booleans(), st.data())
def test_too_short_corpus_raises_a_clear_error(batch_size, num_steps, use_random_iter, data):
    need = min_corpus_length(batch_size, num_steps, use_random_iter)
    n = data.draw(st.integers(0, need - 1))
    fn = seq_data_iter_random if use_random_iter else seq_data_iter_sequential
    with pytest.raises(ValueError, match=f"too short for one minibatch.*at least {need} tokens"):
        fn(list(range(n)), batch_size, num_steps)


@settings(max_examples=50, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.booleans(), st.integers(0, 1000))
def test_min_corpus_length_gives_a_minibatch_for_every_offset(batch_size, num_steps, use_random_iter, seed):
    need = min_corpus_length(batch_size, num_steps, use_random_iter)
    fn = seq_data_iter_random if use_random_iter else seq_data_iter_sequential
    assert len(list(fn(range(need), batch_size, num_steps, rng=random.Random(seed)))) >= 1


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        seq_data_iter_random(range(100), 0, 5)
    with pytest.raises(ValueError, match="flat sequence of token indices"):
        seq_data_iter_sequential([[1, 2], [3, 4]], 1, 1)


# --- the book's code (D2L classic, section 8.3), as the reference of the semantics -------------

def d2l_random(corpus, batch_size, num_steps):
    corpus = corpus[random.randint(0, num_steps - 1):]
    num_subseqs = (len(corpus) - 1) // num_steps
    initial_indices = list(range(0, num_subseqs * num_steps, num_steps))
    random.shuffle(initial_indices)
    num_batches = num_subseqs // batch_size
    for i in range(0, batch_size * num_batches, batch_size):
        ids = initial_indices[i: i + batch_size]
        yield (torch.tensor([corpus[j: j + num_steps] for j in ids]),
               torch.tensor([corpus[j + 1: j + 1 + num_steps] for j in ids]))


def d2l_sequential(corpus, batch_size, num_steps):
    offset = random.randint(0, num_steps)
    num_tokens = ((len(corpus) - offset - 1) // batch_size) * batch_size
    Xs = torch.tensor(corpus[offset: offset + num_tokens]).reshape(batch_size, -1)
    Ys = torch.tensor(corpus[offset + 1: offset + 1 + num_tokens]).reshape(batch_size, -1)
    for i in range(0, num_steps * (Xs.shape[1] // num_steps), num_steps):
        yield Xs[:, i: i + num_steps], Ys[:, i: i + num_steps]


@pytest.mark.parametrize("ours, book", [(seq_data_iter_random, d2l_random),
                                        (seq_data_iter_sequential, d2l_sequential)])
def test_same_minibatches_as_the_book_for_the_same_seed(ours, book):
    corpus = list(range(35))
    for seed in range(20):
        random.seed(seed)
        expected = list(book(corpus, 2, 5))
        random.seed(seed)
        got = list(ours(corpus, 2, 5))
        assert len(got) == len(expected)
        for (X, Y), (X_b, Y_b) in zip(got, expected):
            assert torch.equal(X, X_b) and torch.equal(Y, Y_b)


def test_loader_is_reiterable_and_seeded():
    loader = SeqDataLoader(list(range(200)), 4, 5, use_random_iter=True, seed=3)
    again = SeqDataLoader(list(range(200)), 4, 5, use_random_iter=True, seed=3)
    first = [X for X, _ in loader]
    assert [X for X, _ in loader] != [] and all(torch.equal(a, b) for a, b in zip(first, [X for X, _ in again]))
    with pytest.raises(ValueError, match="too short"):
        SeqDataLoader(list(range(10)), 4, 5)


def test_minibatch_layout_marks_inputs():
    batch, row = minibatch_layout(40, 2, 5, use_random_iter=False, seed=0)
    used = batch >= 0
    assert used.sum() == 2 * 5 * batch.max() + 2 * 5
    assert np.all(row[used] < 2)
    batch_r, _ = minibatch_layout(40, 2, 5, use_random_iter=True, seed=0)
    counts = np.bincount(batch_r[batch_r >= 0])
    assert np.all(counts == 2 * 5)


def test_loader_sizes_accept_numpy_integers_and_reject_negative_tokens():
    """Issue 13: np.int64 sizes are sizes; a negative token index is an error, not a silent lookup."""
    import numpy as np

    loader = SeqDataLoader(list(range(100)), np.int64(2), np.int64(5))
    assert type(loader.batch_size) is int and loader.batch_size == 2
    with pytest.raises(ValueError, match=r"negative token index \(-1\)"):
        SeqDataLoader([-1] + list(range(100)), 2, 5)
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer"):
        min_corpus_length(0, 5, True)


def test_updates_per_epoch_continues_one_pass_and_starts_a_new_one_at_the_end():
    corpus = torch.arange(1000)
    whole = SeqDataLoader(corpus, 4, 10, seed=3)
    pieces = SeqDataLoader(corpus, 4, 10, seed=3, updates_per_epoch=7)
    first_pass = [X for X, _ in whole]
    assert len(first_pass) > 7
    got = [X for epoch in range(3) for X, _ in pieces]
    assert len(got) == 21  # 3 epochs of exactly 7 minibatches
    n = len(first_pass)
    for a, b in zip(got[:n], first_pass):  # epochs continue the same pass, in order
        assert torch.equal(a, b)
    # then a new pass with a new random offset: the same as the whole loader's second epoch
    second_pass = [X for X, _ in whole]
    for a, b in zip(got[n:21], second_pass):
        assert torch.equal(a, b)
    assert "updates_per_epoch=7" in repr(pieces)


@pytest.mark.parametrize("bad", [0, -2, 1.5])
def test_updates_per_epoch_must_be_a_positive_whole_number(bad):
    with pytest.raises((ValueError, TypeError), match="updates_per_epoch"):
        SeqDataLoader(torch.arange(100), 2, 5, updates_per_epoch=bad)
