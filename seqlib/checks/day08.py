"""Checks of Day 8 (bidirectional networks, the CRF output layer), against
:func:`seqlib.batching.bidirectional_states` and :class:`seqlib.crf.CRF`."""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn

from seqlib.batching import bidirectional_states, padding_mask
from seqlib.checks.feedback import (Verdict, as_float, call_student, close, first_failure, fresh_seeds, guard, report,
                                    result_of, shaped)
from seqlib.crf import CRF, brute_force
from seqlib.entities import invalid_transitions

__all__ = ["check_bidirectional", "check_path_score", "check_log_partition", "check_viterbi", "crf_path_score",
           "crf_log_partition", "viterbi_path", "check_invalid_transitions"]


@guard("bidirectional(forward_rnn, backward_rnn, E, lengths)")
@torch.no_grad()
def check_bidirectional(fn) -> Verdict:
    """Check ``fn(forward_rnn, backward_rnn, E, lengths)`` -> (B, T, 2h): both directions, lengths respected
    (the padding holds large values: reading it shows), on three batches drawn anew at every call (2 to 4
    sentences, one of full length and one shorter; new networks and sizes), and a sentence alone."""
    return first_failure(lambda seed: _grade_bidirectional(fn, seed), zip(fresh_seeds(3)),
                         "both directions are right on 3 random batches, and a sentence gets the same states "
                         "alone and padded in a batch")


def _grade_bidirectional(fn, seed):
    """``None`` if ``fn`` is right on a batch drawn from ``seed``, else the failure reported."""
    g = torch.Generator().manual_seed(seed)
    B, T, e, h = (int(torch.randint(low, high, (1,), generator=g)) for low, high in ((2, 5), (4, 8), (2, 5), (3, 6)))
    lengths = torch.randint(1, T, (B,), generator=g)
    lengths[int(torch.randint(0, B, (1,), generator=g))] = T  # one sentence of full length, the others shorter
    with torch.random.fork_rng():  # the lab's own random state untouched
        torch.manual_seed(seed)
        fwd, bwd = nn.LSTM(e, h, batch_first=True), nn.LSTM(e, h, batch_first=True)
    mask = padding_mask(lengths, T)
    E = torch.where(mask.unsqueeze(-1), torch.randn(B, T, e, generator=g), torch.tensor(5.0))  # garbage padding
    expected = bidirectional_states(fwd, bwd, E, lengths)
    want = f"a tensor of shape {tuple(expected.shape)} = (B, T, 2h): [forward ; backward] states, zeros at padding"
    out = result_of(fn, fwd, bwd, E, lengths, name="bidirectional", expected=want,
                    hint="E is (B, T, e) with batch_first=True; lengths is (B,)")
    out = shaped(out, "bidirectional's result", expected, expected=want,
                 hint="concatenate the two directions into one tensor on the last dimension (dim=-1)")
    if torch.allclose(out, expected, atol=1e-5):
        k = int(lengths.argmin())  # a short sentence, alone: a batch of 1 without padding
        L = int(lengths[k])
        alone, err = call_student(fn, fwd, bwd, E[k:k + 1, :L], lengths[k:k + 1])
        if err or not close(alone, out[k:k + 1, :L]):
            return report(False, "right for the batch, but for one sentence alone (a batch of 1) bidirectional "
                          + (f"raised {err}" if err else "gives other states"),
                          "nothing may depend on the batch size or the padding: use lengths for each sentence",
                          expected="the same states for a sentence alone as padded in a batch")
        return None
    if not torch.allclose(out[..., :h], expected[..., :h], atol=1e-5):
        return report(False, "the forward half (the first h features) is wrong", expected=want,
                      hint="run forward_rnn over the packed batch (pack_padded_sequence) and unpack it")
    flipped = torch.flip(nn.utils.rnn.pad_packed_sequence(bwd(nn.utils.rnn.pack_padded_sequence(
        torch.flip(E, [1]), lengths.cpu(), batch_first=True, enforce_sorted=False))[0],
        batch_first=True, total_length=T)[0], [1])
    if torch.allclose(out[..., h:][mask], flipped[mask], atol=1e-5):
        return report(False, "the backward half reads the padding: torch.flip reverses the whole padded row",
                      "reverse each sentence within its own length (seqlib.batching.reverse_padded), run "
                      "the backward network, and reverse its outputs back", expected=want)
    if not (out[~mask] == 0).all():
        return report(False, "the states at padding positions are not zero", expected=want,
                      hint="pack the batch (pack_padded_sequence), so that no network reads the padding")
    return report(False, f"the backward half differs (max |diff| {(out - expected).abs().max().item():.3g})",
                  "the backward state at position t must have read words t..L-1 of the sentence, "
                  "starting from its last real word", expected=want)


def _crf_case():
    g = torch.Generator().manual_seed(fresh_seeds(1)[0])  # a new sentence at every call
    crf = CRF(4)
    with torch.no_grad():
        for p in (crf.transitions, crf.start, crf.end):
            p.copy_(torch.randn(p.shape, generator=g))
    emissions = torch.randn(5, 4, generator=g)
    while True:  # a path whose transitions read backwards are other transitions (0 1 0 is not)
        tags = torch.randint(0, 4, (5,), generator=g).tolist()
        pairs = list(zip(tags, tags[1:]))
        if any(pairs.count((a, b)) != pairs.count((b, a)) for a, b in pairs):
            return crf, emissions, tags


@guard("path_score(emissions, transitions, start, end, tags)")
@torch.no_grad()
def check_path_score(fn) -> Verdict:
    """Check ``fn(emissions, transitions, start, end, tags)`` -> the score s(y) of one tag path (a number),
    on three sentences and paths drawn anew at every call."""
    for _ in range(3):
        if (failed := _grade_path_score(fn, *_crf_case())) is not None:
            return failed
    return report(True, "the path score adds the start score, every emission, every transition and the end "
                        "score (3 random sentences)")


def _grade_path_score(fn, crf, E, tags):
    A, s, e = crf.transitions.detach(), crf.start.detach(), crf.end.detach()
    expected = float(crf.score(E.unsqueeze(0), torch.tensor([tags]))[0])
    want = f"s(y) of a random path of {len(tags)} tags, one number"
    out = result_of(fn, E, A, s, e, tags, name="path_score", expected=want,
                    hint="emissions is (T, K), transitions (K, K), tags a list")
    if (value := as_float(out)) is None:
        return report(False, f"path_score returned {type(out).__name__}", "return one number (a 0-d tensor or a "
                      "float)", expected=want)
    if abs(value - expected) < 1e-4:
        return None
    emit = sum(float(E[t, y]) for t, y in enumerate(tags))
    trans = sum(float(A[tags[t - 1], tags[t]]) for t in range(1, len(tags)))
    transposed = sum(float(A[tags[t], tags[t - 1]]) for t in range(1, len(tags)))
    start, end = float(s[tags[0]]), float(e[tags[-1]])
    diagnoses = [
        (emit + trans, "the start and end scores are missing", "add start[y_1] and end[y_T]"),
        (emit + trans + start, "the end score is missing", "add end[y_T], the score of ending on the last tag"),
        (emit + trans + end, "the start score is missing", "add start[y_1], the score of starting with the first tag"),
        (start + emit + transposed + end, "the transitions are read the wrong way round",
         "transitions[i, j] scores tag i followed by tag j: the pair (y_{t-1}, y_t) indexes it in that order"),
        (start + emit + end, "the transitions are missing", "add the transition score of every pair of neighbours"),
    ]
    for value_if, message, hint in diagnoses:
        if abs(value - value_if) < 1e-4:
            return report(False, message, hint, expected=want)
    return report(False, "path_score is not s(y)", expected=want,
                  hint="s(y) = start[y_1] + sum_t emissions[t, y_t] + sum_t transitions[y_{t-1}, y_t] + end[y_T]")


@guard("log_partition(emissions, transitions, start, end)")
@torch.no_grad()
def check_log_partition(fn) -> Verdict:
    """Check ``fn(emissions, transitions, start, end)`` -> log Z of one sentence (the forward algorithm), on
    three sentences drawn anew at every call, also with emissions 300 times larger, where leaving log space
    overflows."""
    for _ in range(3):
        if (failed := _grade_log_partition(fn, *_crf_case()[:2])) is not None:
            return failed
    return report(True, "the forward algorithm gives log Z, in log space (3 random sentences; no overflow with "
                        "large scores)")


def _grade_log_partition(fn, crf, E):
    A, s, e = crf.transitions.detach(), crf.start.detach(), crf.end.detach()
    expected = float(crf.log_partition(E.unsqueeze(0))[0])
    want = f"log Z of a random sentence of {len(E)} words, one number"
    out = result_of(fn, E, A, s, e, name="log_partition", hint="emissions is (T, K), transitions (K, K)",
                    expected=want)
    if (value := as_float(out)) is None:
        return report(False, f"log_partition returned {type(out).__name__}", "return one number", expected=want)
    if abs(value - expected) > 1e-4:
        if abs(value - float(crf.viterbi(E.unsqueeze(0))[1][0])) < 1e-4:  # the best path's score
            return report(False, "this is the score of the best path (Viterbi), not log Z",
                          "log Z sums over the paths: a log-sum-exp over the previous tag, not a max", expected=want)
        no_end = copy.deepcopy(crf)
        no_end.end.zero_()
        if abs(value - float(no_end.log_partition(E.unsqueeze(0))[0])) < 1e-4:
            return report(False, "the end scores are missing", "add end before the final logsumexp", expected=want)
        return report(False, "log_partition is not log Z",
                      "alpha_1 = start + emissions[0]; alpha_t[j] = emissions[t, j] + logsumexp_i(alpha_{t-1}[i] "
                      "+ transitions[i, j]); log Z = logsumexp(alpha_T + end)", expected=want)
    big = E * 300
    value_big = as_float(call_student(fn, big, A, s, e, case="for emissions 300 times larger")[0])
    expected_big = float(crf.log_partition(big.unsqueeze(0))[0])
    if value_big is None or not abs(value_big - expected_big) < 1e-3 * abs(expected_big):
        return report(False, "right for small scores, but it overflows when the emissions are large",
                      "stay in log space: torch.logsumexp, never exp then sum then log",
                      expected="log Z of the same sentence with emissions 300 times larger, a finite number")
    return None


def _crf_of(transitions, start, end, like: torch.Tensor) -> CRF:
    """A :class:`seqlib.crf.CRF` holding these scores, on the device and dtype of ``like``."""
    crf = CRF(transitions.shape[0]).to(device=like.device, dtype=like.dtype)
    for param, value in ((crf.transitions, transitions), (crf.start, start), (crf.end, end)):
        param.copy_(value)
    return crf


@torch.no_grad()
def crf_path_score(emissions, transitions, start, end, tags):
    """The course's own s(y) of one sentence's tag path, by :meth:`seqlib.crf.CRF.score`: emissions (T, K),
    transitions (K, K), start and end (K,), tags (T tag ids) -> a 0-d tensor."""
    tags = torch.as_tensor(list(tags), device=emissions.device)[None]
    return _crf_of(transitions, start, end, emissions).score(emissions[None], tags)[0]


@torch.no_grad()
def crf_log_partition(emissions, transitions, start, end):
    """The course's own log Z of one sentence, by :meth:`seqlib.crf.CRF.log_partition`: emissions (T, K),
    transitions (K, K), start and end (K,) -> a 0-d tensor."""
    return _crf_of(transitions, start, end, emissions).log_partition(emissions[None])[0]


@torch.no_grad()
def viterbi_path(emissions, transitions, start, end):
    """The course's own Viterbi decoding of one sentence, by :meth:`seqlib.crf.CRF.viterbi`:
    emissions (T, K), transitions (K, K), start and end (K,) -> (the best path, T tag ids; its score)."""
    paths, scores = _crf_of(transitions, start, end, emissions).viterbi(emissions.unsqueeze(0))
    return paths[0].tolist(), scores[0]


def _viterbi_diagnosis(path, score, E, A, s, e):
    """What a wrong ``(path, score)`` probably did, as ``(message, hint)``, or ``None``."""
    crf = CRF(E.shape[1]).double()
    for param, value in ((crf.transitions, A), (crf.start, s), (crf.end, e)):
        param.data.copy_(value)
    if path == E.argmax(1).tolist():
        return ("your path takes each position's best emission alone, as a softmax tagger does",
                "keep, for every tag j at step t, the best score of a path ending in j (a max over the "
                "previous tag i of delta_{t-1}(i) + A_ij), and the i that gave it")
    if score is not None and abs(score - float(crf.log_partition(E.unsqueeze(0))[0])) < 1e-4:
        return ("your score is log Z, the forward algorithm's sum over all paths",
                "Viterbi replaces the log-sum-exp over the previous tag by a max")
    no_ends = CRF(E.shape[1]).double()
    no_ends.transitions.data.copy_(A)
    if path == no_ends.viterbi(E.unsqueeze(0))[0][0].tolist():
        return ("your path ignores the start or end scores", "add start to the first step's scores and "
                "end to the last step's before choosing the best final tag")
    return None


@guard("viterbi(emissions, transitions, start, end)")
@torch.no_grad()
def check_viterbi(fn) -> Verdict:
    """Check ``fn(emissions, transitions, start, end)`` -> ``(path, score)``: the best tag path of one
    sentence (a list of T tag ids) and its score s(y), against brute force over every path, on
    sentences drawn anew at every call (1 to 6 words, 3 to 5 tags)."""
    for seed in fresh_seeds(4):
        g = torch.Generator().manual_seed(seed)
        T, K = int(torch.randint(1, 7, (1,), generator=g)), int(torch.randint(3, 6, (1,), generator=g))
        E, A = torch.randn(T, K, generator=g, dtype=torch.float64) * 2, torch.randn(K, K, generator=g, dtype=torch.float64)
        s, e = (torch.randn(K, generator=g, dtype=torch.float64) for _ in range(2))
        _, best_path, best_score = brute_force(E, A, s, e)
        want = f"a pair (path, score): the best of the {K ** T:,} paths of a sentence of {T} words and {K} tags"
        out = result_of(fn, E.clone(), A.clone(), s.clone(), e.clone(), name="viterbi", expected=want,
                        case=f"for {T} words and {K} tags", returns="(path, score)",
                        hint="emissions is (T, K), transitions (K, K) (row: previous tag), start and end (K,)")
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            return report(False, f"viterbi returned {type(out).__name__}, not a pair (path, score)",
                          "end with `return path, score`", expected=want)
        try:
            path = [int(y) for y in (out[0].tolist() if hasattr(out[0], "tolist") else out[0])]
        except (TypeError, ValueError):
            return report(False, f"the path is {out[0]!r:.40}, not a list of tag ids", "a list of T ints",
                          expected=want)
        score = as_float(out[1])
        if len(path) != T:
            return report(False, f"the path has {len(path)} tags for a sentence of {T} words",
                          "follow the back-pointers from the best last tag down to the first word", expected=want)
        if path == best_path and score is not None and abs(score - float(best_score)) < 1e-6:
            continue
        if path == best_path:
            return report(False, f"the path is the best one, but its score is {out[1]!r:.40}",
                          "the score is delta_T of the best last tag plus its end score", expected=want)
        if (known := _viterbi_diagnosis(path, score, E, A, s, e)) is not None:
            return report(False, known[0], known[1], expected=want)
        return report(False, f"for {T} words and {K} tags your path is not the best one", expected=want,
                      hint="delta_1 = start + E[0]; delta_t(j) = E[t, j] + max_i (delta_{t-1}(i) + A[i, j]), keeping "
                           "the argmax i; the last tag maximises delta_T + end; then follow the argmaxes back")
    return report(True, "your Viterbi finds the best path and its score, as brute force over every path does")


def _bio_diagnosis(out, tags):
    """What a wrong list of positions probably did, as ``(message, hint)``."""
    expected, prev = invalid_transitions(tags), [None, *tags]
    inside = [t for t, tag in enumerate(tags) if tag.startswith("I-")]
    wrong = [([t for t in inside if prev[t] in (None, "O")], "you flag an I- tag only after O (or at the start)",
              "I-X after B-Y or I-Y of another type Y is invalid too"),
             ([t for t in expected if t > 0], "an I- tag that opens the sentence is invalid too",
              "there is no entity to continue at t = 0"),
             ([t - 1 for t in expected], "your positions are one too small", "return t, the position of the I- tag"),
             ([t for t in inside if prev[t] != f"B-{tags[t][2:]}"], "you flag I-X after I-X",
              "an entity goes on over several I-X: I-X after I-X is valid")]
    return next(((m, h) for answer, m, h in wrong if out == answer and answer != expected),
                ("your positions differ from the invalid I- tags", "I-X at position t is valid only when the tag at "
                 "t - 1 is B-X or I-X (the same type X)"))


@guard("invalid_transitions(tags)")
def check_invalid_transitions(fn) -> Verdict:
    """Check ``fn(tags)`` -> the positions t (a list of ints) where ``I-X`` follows neither ``B-X`` nor ``I-X``,
    on tag sequences drawn anew at every call (types PER, LOC, ORG; every kind of invalid transition)."""
    fixed = [["B-PER", "I-PER", "O", "I-LOC"], ["I-ORG", "I-ORG"], ["B-PER", "I-LOC", "I-LOC"], ["O"], []]
    rng = np.random.default_rng(fresh_seeds(1)[0])
    drawn = [list(rng.choice(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "I-ORG"], size=rng.integers(3, 12)))
             for _ in range(8)]
    for tags in fixed + drawn:
        tags, expected = [str(t) for t in tags], invalid_transitions(tags)
        want = f"{expected} for {tags}"
        out = result_of(fn, list(tags), name="invalid_transitions", expected=want, case=f"for {tags}",
                        returns="a list of positions", hint="tags is one sentence's list of BIO tags")
        try:
            out = [int(t) for t in out]
        except (TypeError, ValueError):
            return report(False, f"invalid_transitions returned {out!r:.60}, not a list of positions",
                          "return a list of ints, the positions t of the invalid I- tags", expected=want)
        if out != expected:
            message, hint = _bio_diagnosis(out, tags)
            return report(False, f"{message}: you returned {out} for {tags}", hint, expected=str(expected))
    return report(True, "you find every invalid I- tag: after O, after another type, and at the sentence's start")
