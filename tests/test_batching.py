"""seqlib.batching: padding, masks, masked pooling, collate and the length-bucketed loader."""

from __future__ import annotations

import pytest
import torch

from seqlib.batching import SentenceDataset, collate, make_loader, masked_max, masked_mean, padding_mask
from conftest import batch_of
from seqlib.text import Vocab


def test_padding_mask():
    m = padding_mask(torch.tensor([3, 1, 0]), 4)
    assert m.dtype == torch.bool and m.tolist() == [[True, True, True, False],
                                                    [True, False, False, False],
                                                    [False, False, False, False]]
    assert padding_mask(torch.tensor([2, 3])).shape == (2, 3)


def test_collate_pads_on_the_right_and_rejects_empty_sentences():
    X, lengths, y = collate([(torch.tensor([5, 6, 7]), 1.0), (torch.tensor([8]), 0.0)])
    assert X.tolist() == [[5, 6, 7], [8, 1, 1]] and lengths.tolist() == [3, 1] and y.tolist() == [1.0, 0.0]
    with pytest.raises(ValueError, match="sentence 1 of the batch is empty"):
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
    assert max(len(x) for x in ds.ids) == 30
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
    with pytest.raises(ValueError, match=r"batch must be a non-empty list"):
        collate([])
    with pytest.raises(ValueError, match=r"lengths must be at most num_steps=2"):
        padding_mask(torch.tensor([3, 1]), 2)
    H = torch.randn(2, 3, 4)
    with pytest.raises(ValueError, match=r"mask must have shape \(batch_size, num_steps\)"):
        masked_mean(H, torch.ones(2, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"a row without any real token"):
        masked_max(H, padding_mask(torch.tensor([2, 0]), 3))
    with pytest.raises(TypeError, match=r"mask must be a boolean tensor"):
        masked_mean(H, torch.ones(2, 3))
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer"):
        make_loader(SentenceDataset([], [], Vocab([["a"]])), batch_size=0)
