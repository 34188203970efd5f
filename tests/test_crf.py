"""seqlib.crf: the forward algorithm and Viterbi against brute-force enumeration, gradients, padding, errors."""

from __future__ import annotations

import itertools

import pytest
import torch

from seqlib.batching import padding_mask
from seqlib.crf import CRF, brute_force


def random_crf(K, seed=0, dtype=torch.float64):
    g = torch.Generator().manual_seed(seed)
    crf = CRF(K).to(dtype)
    with torch.no_grad():
        for p in (crf.transitions, crf.start, crf.end):
            p.copy_(torch.randn(p.shape, generator=g, dtype=dtype))
    return crf


@pytest.mark.parametrize("K,T", [(1, 1), (2, 1), (3, 4), (4, 3), (2, 6)])
def test_log_partition_and_viterbi_equal_brute_force(K, T):
    crf = random_crf(K, seed=K * 10 + T)
    E = torch.randn(1, T, K, generator=torch.Generator().manual_seed(T), dtype=torch.float64) * 2
    log_Z, best, best_score = brute_force(E[0], crf.transitions, crf.start, crf.end)
    assert torch.allclose(crf.log_partition(E)[0], log_Z, atol=1e-10)
    paths, scores = crf.viterbi(E)
    assert paths[0].tolist() == best
    assert torch.allclose(scores[0], best_score, atol=1e-10)
    assert torch.allclose(crf.score(E, torch.tensor([best])), best_score.unsqueeze(0), atol=1e-10)


def test_score_of_every_path_matches_the_formula_and_probabilities_sum_to_one():
    K, T = 3, 3
    crf = random_crf(K, seed=1)
    E = torch.randn(1, T, K, dtype=torch.float64)
    log_Z = crf.log_partition(E)
    total = 0.0
    for y in itertools.product(range(K), repeat=T):
        s = crf.score(E, torch.tensor([y]))[0]
        by_hand = (crf.start[y[0]] + sum(E[0, t, y[t]] for t in range(T))
                   + sum(crf.transitions[y[t - 1], y[t]] for t in range(1, T)) + crf.end[y[-1]])
        assert torch.allclose(s, by_hand)
        total += torch.exp(s - log_Z[0]).item()
    assert total == pytest.approx(1.0, abs=1e-10)


def test_a_padded_batch_gives_each_sentence_its_own_answer():
    K = 4
    crf = random_crf(K, seed=2)
    lengths = torch.tensor([5, 1, 3])
    g = torch.Generator().manual_seed(3)
    E = torch.randn(3, 5, K, generator=g, dtype=torch.float64)
    mask = padding_mask(lengths, 5)
    E_garbage = torch.where(mask.unsqueeze(-1), E, torch.full_like(E, 50.0))   # padding must not matter
    tags = torch.randint(0, K, (3, 5), generator=g).masked_fill(~mask, 99)     # nor the tags there
    log_Z, paths, scores = crf.log_partition(E_garbage, mask), *crf.viterbi(E_garbage, mask)
    s = crf.score(E_garbage, tags, mask)
    for b, L in enumerate(lengths.tolist()):
        alone = E[b:b + 1, :L]
        assert torch.allclose(log_Z[b], crf.log_partition(alone)[0])
        assert torch.allclose(s[b], crf.score(alone, tags[b:b + 1, :L])[0])
        ref, _, ref_score = brute_force(alone[0], crf.transitions, crf.start, crf.end)
        assert torch.allclose(log_Z[b], ref)
        assert paths[b, :L].tolist() == crf.viterbi(alone)[0][0].tolist()
        assert (paths[b, L:] == -1).all()
        assert torch.allclose(scores[b], ref_score)


def test_gradients_by_gradcheck():
    crf = random_crf(3, seed=4)
    E = torch.randn(2, 4, 3, dtype=torch.float64, requires_grad=True)
    mask = padding_mask(torch.tensor([4, 2]), 4)
    tags = torch.tensor([[0, 1, 2, 1], [2, 2, 0, 0]])
    params = [p.detach().clone().requires_grad_(True) for p in (crf.transitions, crf.start, crf.end)]
    assert torch.autograd.gradcheck(lambda E, A, s, e: _crf_nll(crf, E, A, s, e, tags, mask), (E, *params))
    # the gradient of log Z with respect to the emissions is the tag marginals: rows sum to 1
    E1 = torch.randn(1, 4, 3, dtype=torch.float64, requires_grad=True)
    crf.log_partition(E1).sum().backward()
    assert torch.allclose(E1.grad.sum(-1), torch.ones(1, 4, dtype=torch.float64))


def _crf_nll(crf, E, A, s, e, tags, mask):
    from torch.func import functional_call

    class Nll(torch.nn.Module):
        def __init__(self, crf):
            super().__init__()
            self.crf = crf

        def forward(self, E):
            return self.crf.nll(E, tags, mask)

    return functional_call(Nll(crf), {"crf.transitions": A, "crf.start": s, "crf.end": e}, (E,))


def test_training_the_crf_alone_learns_a_forbidden_transition():
    """Emissions that cannot tell tag 1 from 2, but 1 never follows 0: the transitions learn it."""
    torch.manual_seed(0)
    crf = CRF(3)
    opt = torch.optim.Adam(crf.parameters(), lr=0.1)
    E = torch.tensor([[[2.0, 0, 0], [0, 1.0, 1.0]]])       # position 2: tags 1 and 2 tie
    gold = torch.tensor([[0, 2]])
    for _ in range(100):
        opt.zero_grad()
        crf.nll(E, gold).backward()
        opt.step()
    assert crf.viterbi(E)[0].tolist() == [[0, 2]]
    assert crf.transitions[0, 2] > crf.transitions[0, 1]


def test_bad_inputs_say_what_is_wrong():
    """nll (training) and viterbi (decoding) are the CRF's boundaries; score and log_partition are the lesson."""
    crf = CRF(3)
    with pytest.raises(ValueError, match="num_tags"):
        crf.viterbi(torch.zeros(1, 2, 4))
    with pytest.raises(ValueError, match="prefix"):
        crf.viterbi(torch.zeros(1, 2, 3), torch.tensor([[False, True]]))
    with pytest.raises(ValueError, match="tags at real tokens"):
        crf.nll(torch.zeros(1, 2, 3), torch.tensor([[0, 3]]))
    with pytest.raises(ValueError, match="too many to enumerate"):
        brute_force(torch.zeros(20, 3), torch.zeros(3, 3), torch.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError, match="num_tags"):
        CRF(0)


def test_a_mask_with_a_hole_is_refused():
    crf, E = CRF(3), torch.zeros(2, 3, 3)
    hole = torch.tensor([[True, False, True], [True, True, True]])
    with pytest.raises(ValueError, match="prefix"):
        crf.viterbi(E, hole)
    with pytest.raises(ValueError, match="prefix"):
        crf.nll(E, torch.zeros(2, 3, dtype=torch.long), hole)
