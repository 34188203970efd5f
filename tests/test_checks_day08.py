"""seqlib.checks.day08: right answers pass, typical mistakes get specific feedback, nothing raises."""

from __future__ import annotations

import torch
from torch import nn

from seqlib.checks import day08
from seqlib.batching import bidirectional_states


def test_bidirectional_right_answer_passes(capsys):
    assert day08.check_bidirectional(bidirectional_states)
    assert "✅" in capsys.readouterr().out


def test_bidirectional_flipping_the_padded_row_is_named(capsys):
    def flipped(fwd, bwd, E, lengths):
        pack = lambda X: nn.utils.rnn.pack_padded_sequence(X, lengths, batch_first=True, enforce_sorted=False)  # noqa: E731
        unpack = lambda P: nn.utils.rnn.pad_packed_sequence(P, batch_first=True, total_length=E.shape[1])[0]  # noqa: E731
        f = unpack(fwd(pack(E))[0])
        b = torch.flip(unpack(bwd(pack(torch.flip(E, [1])))[0]), [1])
        return torch.cat([f, b], -1)

    assert not day08.check_bidirectional(flipped)
    assert "torch.flip" in capsys.readouterr().out


def test_bidirectional_unpacked_run_and_stubs_and_errors(capsys):
    def unpacked(fwd, bwd, E, lengths):
        return torch.cat([fwd(E)[0], torch.flip(bwd(torch.flip(E, [1]))[0], [1])], -1)

    assert not day08.check_bidirectional(unpacked)
    assert not day08.check_bidirectional(lambda *a: None)
    assert not day08.check_bidirectional(lambda *a: 1 / 0)
    assert not day08.check_bidirectional(None)
    out = capsys.readouterr().out
    assert out.count("❌") == 4 and "ZeroDivisionError" in out


def test_path_score_right_answer_and_mistakes(capsys):
    def right(E, A, s, e, tags):
        return s[tags[0]] + sum(E[t, y] for t, y in enumerate(tags)) + \
            sum(A[tags[t - 1], tags[t]] for t in range(1, len(tags))) + e[tags[-1]]

    def no_end(E, A, s, e, tags):
        return right(E, A, s, e, tags) - e[tags[-1]]

    def transposed(E, A, s, e, tags):
        return right(E, A.T, s, e, tags)

    assert day08.check_path_score(right)
    assert not day08.check_path_score(no_end)
    assert not day08.check_path_score(transposed)
    assert not day08.check_path_score(lambda *a: 0.0)
    out = capsys.readouterr().out
    assert "end score is missing" in out and "wrong way round" in out


def test_log_partition_right_answer_viterbi_and_overflow(capsys):
    def right(E, A, s, e):
        alpha = s + E[0]
        for t in range(1, E.shape[0]):
            alpha = E[t] + torch.logsumexp(alpha[:, None] + A, 0)
        return torch.logsumexp(alpha + e, 0)

    def viterbi(E, A, s, e):
        alpha = s + E[0]
        for t in range(1, E.shape[0]):
            alpha = E[t] + (alpha[:, None] + A).max(0).values
        return (alpha + e).max()

    def probability_space(E, A, s, e):
        alpha = torch.exp(s + E[0])
        for t in range(1, E.shape[0]):
            alpha = torch.exp(E[t]) * (alpha @ torch.exp(A))
        return torch.log((alpha * torch.exp(e)).sum())

    assert day08.check_log_partition(right)
    assert not day08.check_log_partition(viterbi)
    assert not day08.check_log_partition(probability_space)
    out = capsys.readouterr().out
    assert "Viterbi" in out and "returns NaN (not a number) for emissions 300 times larger" in out

    def overflows(E, A, s, e):  # inf for large scores
        return right(E, A, s, e) if E.abs().max() < 100 else torch.tensor(float("inf"))

    assert not day08.check_log_partition(overflows)
    assert "overflows" in capsys.readouterr().out
    assert not day08.check_log_partition(lambda *a: torch.tensor(float("nan")))  # issue 24: not "overflows"
    out = capsys.readouterr().out
    assert "returns NaN" in out and "overflows" not in out


def test_bidirectional_an_error_on_the_second_call_is_feedback(capsys):
    """Issue 24: the check calls the function twice (a batch, then one sentence alone); the second may raise."""
    calls = []

    def only_once(fwd, bwd, E, lengths):
        calls.append(1)
        if len(calls) > 1:
            raise RuntimeError("called again")
        return bidirectional_states(fwd, bwd, E, lengths)

    assert not day08.check_bidirectional(only_once)
    out = capsys.readouterr().out
    assert out.startswith("❌") and "one sentence alone" in out and "RuntimeError: called again" in out and len(calls) == 2


def test_invalid_transitions_right_answer_and_each_mistake_named(capsys):
    """Day 8B's exercise: every kind of wrong answer gets its own diagnosis."""
    from seqlib.entities import invalid_transitions
    assert day08.check_invalid_transitions(invalid_transitions)
    mistakes = {
        "only after O": lambda tags: [t for t, x in enumerate(tags)
                                      if x.startswith("I-") and (t == 0 or tags[t - 1] == "O")],
        "opens the sentence": lambda tags: [t for t in invalid_transitions(tags) if t > 0],
        "one too small": lambda tags: [t - 1 for t in invalid_transitions(tags)],
        "I-X after I-X": lambda tags: [t for t, x in enumerate(tags)
                                       if x.startswith("I-") and (t == 0 or tags[t - 1] != "B-" + x[2:])],
    }
    for words, wrong in mistakes.items():
        capsys.readouterr()
        assert not day08.check_invalid_transitions(wrong)
        assert words in capsys.readouterr().out, words
    assert not day08.check_invalid_transitions(lambda tags: [3])   # a hard-coded answer
