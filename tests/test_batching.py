"""seqlib.batching: padding, masks, masked pooling, collate and the length-bucketed loader."""

from __future__ import annotations

import pytest
import torch
from torch.nn.utils.rnn import pad_sequence

from seqlib.batching import (LengthBucketSampler, PaddedDataset, SentenceDataset, collate, drop_words,
                             make_loader, masked_max, masked_mean, padding_mask)
from conftest import batch_of
from seqlib.tagging import PAD_TAG, TaggedDataset, char_vocab
from seqlib.text import PAD_IDX, UNK_IDX, Vocab
from seqlib.translation import BOS_IDX, EOS_IDX, PairDataset, seq_vocab


def test_padding_mask():
    m = padding_mask(torch.tensor([3, 1, 0]), 4)
    assert m.dtype == torch.bool and m.tolist() == [[True, True, True, False],
                                                    [True, False, False, False],
                                                    [False, False, False, False]]
    assert padding_mask(torch.tensor([2, 3])).shape == (2, 3)


def test_collate_pads_on_the_right_and_rejects_empty_sentences():
    X, lengths, y = collate([(torch.tensor([5, 6, 7]), 1.0), (torch.tensor([8]), 0.0)])
    assert X.tolist() == [[5, 6, 7], [8, 1, 1]] and lengths.tolist() == [3, 1] and y.tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="at least one token"):
        collate([(torch.tensor([5]), 1.0), (torch.tensor([], dtype=torch.long), 0.0)])


@pytest.mark.parametrize("pool", [masked_mean, masked_max])
def test_pooling_ignores_padding_exactly(pool):
    H, mask = batch_of([4, 1, 6, 2])
    pooled = pool(H, mask)
    for b, n in enumerate([4, 1, 6, 2]):
        alone = pool(H[b:b + 1, :n], torch.ones(1, n, dtype=torch.bool))
        assert torch.equal(pooled[b:b + 1], alone) if pool is masked_max else torch.allclose(pooled[b:b + 1], alone, atol=1e-6)
    # the garbage in the padding never matters
    H2 = torch.where(mask.unsqueeze(-1), H, -H)
    assert torch.allclose(pool(H2, mask), pooled)


def test_masked_max_with_all_negative_states():
    H = -torch.ones(1, 3, 2) * torch.tensor([[[1.0], [2.0], [3.0]]])
    mask = torch.tensor([[True, True, False]])
    assert masked_max(H, mask).tolist() == [[-1.0, -1.0]]


def test_loader_buckets_by_length_and_is_reproducible():
    vocab = Vocab.for_sentences([["w"]])
    sents = ["w " * n for n in range(1, 41)]
    ds = SentenceDataset(sents, [n % 2 for n in range(40)], vocab, max_len=30)
    assert max(len(x) for x, _ in ds) == 30
    order = lambda seed: [lengths.tolist() for X, lengths, y in make_loader(ds, 8, shuffle=True, seed=seed)]
    first = order(0)
    assert sorted(n for b in first for n in b) == sorted(min(n, 30) for n in range(1, 41))
    assert first == order(0) and first != order(1)
    plain = [lengths.tolist() for X, lengths, y in make_loader(ds, 8)]
    assert plain[0] == [1, 2, 3, 4, 5, 6, 7, 8]
    with pytest.raises(ValueError, match="labels"):
        SentenceDataset(sents, [0], vocab)


# --- issue 13: bad input gets a clear error ---------------------------------------------------

def test_bad_batches_and_masks_are_explained():
    with pytest.raises(ValueError, match=r"batch is empty"):
        collate([])
    with pytest.raises(ValueError, match=r"drop empty sentences"):
        SentenceDataset(["a", ""], [0, 1], Vocab([["a"]]))
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer"):
        make_loader(SentenceDataset([], [], Vocab([["a"]])), batch_size=0)
    with pytest.raises(TypeError, match=r"dataset must be a seqlib.batching.PaddedDataset"):
        make_loader([(torch.tensor([1]), 0.0)], batch_size=2)


def test_word_dropout_replaces_real_tokens_only():
    X = torch.tensor([[5, 6, 7, PAD_IDX], [8, PAD_IDX, PAD_IDX, PAD_IDX]])
    assert torch.equal(drop_words(X, 0.0), X)
    assert drop_words(X, 1.0).tolist() == [[UNK_IDX] * 3 + [PAD_IDX], [UNK_IDX] + [PAD_IDX] * 3]


# --- one loader for Days 5, 8 and 9: the same batches as the three loaders it replaced ------------

def _old_batches(lengths, batch_size, shuffle, seed, epochs=2):
    """Batch indices as the old loaders drew them: LengthBucketSampler(lengths) or the dataset's order."""
    if not shuffle:
        return [list(range(i, min(i + batch_size, len(lengths)))) for i in range(0, len(lengths), batch_size)]
    sampler = LengthBucketSampler(lengths, batch_size, seed)
    return [b for _ in range(epochs) for b in sampler]


def _new_batches(dataset, batch_size, shuffle, seed, epochs=2):
    loader = make_loader(dataset, batch_size, shuffle=shuffle, seed=seed)
    return [b for _ in range(epochs if shuffle else 1) for b in loader]


def _same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert len(x) == len(y) and all(torch.equal(u, v) for u, v in zip(x, y))


@pytest.mark.parametrize("shuffle", [False, True])
def test_the_loader_gives_the_old_sentence_batches(shuffle):
    """Day 5: (X, lengths, y), as the old collate padded them, bucketed by sentence length."""
    sents = [" ".join(["w"] * (1 + (7 * k) % 23)) for k in range(90)]
    labels = [k % 2 for k in range(90)]
    ds = SentenceDataset(sents, labels, Vocab.for_sentences([["w"]]))
    ids = [torch.tensor([2] * (1 + (7 * k) % 23)) for k in range(90)]

    def old_collate(idx):
        return (pad_sequence([ids[i] for i in idx], batch_first=True, padding_value=PAD_IDX),
                torch.tensor([len(ids[i]) for i in idx]), torch.tensor([float(labels[i]) for i in idx]))
    old = [old_collate(idx) for idx in _old_batches([len(x) for x in ids], 8, shuffle, seed=4)]
    _same(_new_batches(ds, 8, shuffle, seed=4), old)


@pytest.mark.parametrize("shuffle", [False, True])
def test_the_loader_gives_the_old_pair_batches(shuffle):
    """Day 9: (src, src_len, tgt_in, tgt_out), bucketed by the longer side (the target with its <eos>)."""
    sources = ["abcdefg"[:1 + k % 7] for k in range(70)]
    targets = ["xyz" * (1 + k % 4) for k in range(70)]
    sv, tv = seq_vocab(sources), seq_vocab(targets)
    ds = PairDataset(sources, targets, sv, tv)
    src = [torch.tensor(sv[list(s)]) for s in sources]
    tgt = [torch.tensor(tv[list(t)] + [EOS_IDX]) for t in targets]

    def old_collate(idx):
        pad = lambda seqs: pad_sequence(seqs, batch_first=True, padding_value=PAD_IDX)  # noqa: E731
        return (pad([src[i] for i in idx]), torch.tensor([len(src[i]) for i in idx]),
                pad([torch.cat([torch.tensor([BOS_IDX]), tgt[i][:-1]]) for i in idx]), pad([tgt[i] for i in idx]))
    lengths = [max(len(s), len(t)) for s, t in zip(src, tgt)]
    _same(_new_batches(ds, 6, shuffle, seed=2), [old_collate(idx) for idx in _old_batches(lengths, 6, shuffle, 2)])


@pytest.mark.parametrize("shuffle", [False, True])
def test_the_loader_gives_the_old_tagged_batches(shuffle):
    """Day 8: (X, lengths, C, C_index, Y) over the batches Day 8 drew by hand (LengthBucketSampler on lengths)."""
    sents = [(["w%d" % (j % 5) for j in range(1 + k % 9)], ["NOUN"] * (1 + k % 9)) for k in range(60)]
    words = Vocab.for_sentences([w for w, _ in sents])
    ds = TaggedDataset(sents, words, char_vocab(sents))
    new = _new_batches(ds, 7, shuffle, seed=1)
    order = _old_batches([len(w) for w, _ in sents], 7, shuffle, seed=1)
    assert len(new) == len(order)
    for (X, lengths, C, C_index, Y), idx in zip(new, order):
        assert torch.equal(X, pad_sequence([torch.tensor(words[sents[i][0]]) for i in idx], batch_first=True,
                                           padding_value=PAD_IDX))
        assert lengths.tolist() == [len(sents[i][0]) for i in idx]
        assert torch.equal(Y, pad_sequence([torch.full((len(sents[i][1]),), 7) for i in idx], batch_first=True,
                                           padding_value=PAD_TAG))
        assert C.shape[0] == len({w for i in idx for w in sents[i][0]}) and C_index.shape == X.shape


def test_a_padded_dataset_pads_the_fields_it_is_told_to():
    items = [(torch.tensor([1, 2, 3]), "a", torch.tensor([4])), (torch.tensor([5]), "b", torch.tensor([6, 7]))]
    ds = PaddedDataset(items, pad_values=(0, None, -1))
    assert ds.lengths == [3, 2]
    A, lengths, names, B = ds.collate(items)
    assert A.tolist() == [[1, 2, 3], [5, 0, 0]] and lengths.tolist() == [3, 1] and names == ["a", "b"]
    assert B.tolist() == [[4, -1], [6, 7]]


def test_masked_mean_ignores_inf_and_nan_at_padding():
    H = torch.tensor([[[1.0, 2.0], [float("inf"), float("nan")]], [[3.0, 4.0], [5.0, 6.0]]])
    mask = torch.tensor([[True, False], [True, True]])
    assert torch.equal(masked_mean(H, mask), torch.tensor([[1.0, 2.0], [4.0, 5.0]]))


def test_pair_dataset_refuses_an_empty_target():
    v = seq_vocab([["a", "b"]])
    with pytest.raises(ValueError, match=r"targets\[1\] is empty"):
        PairDataset([["a"], ["b"]], [["a"], []], v, v)
