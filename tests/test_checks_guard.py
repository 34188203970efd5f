"""Every exercise check answers, whatever the student's function does (issue 24).

For each check that calls a student's function, one right answer, and from it: the same answer in
another dtype and in the other container (NumPy for torch, torch for NumPy) passes; a function that
raises, returns NaN or never returns gets feedback that says so, and the check returns a ``Verdict``
within the time limit (0.5 s per call in the tests of endless loops) instead of raising or waiting
forever.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest
import torch
from torch import nn

from seqlib import cells
from seqlib.batching import bidirectional_states, masked_max, masked_mean
from seqlib.checks import day01, day02, day03, day04, day05, day06, day07, day08, day09, feedback
from seqlib.checks.feedback import Verdict
from seqlib.decoding import filter_logits
from seqlib.entities import invalid_transitions

PASSED, FAILED = Verdict(True), Verdict(False)
LIMIT = 0.5


@pytest.fixture
def short_limit(monkeypatch):
    """A short limit for the tests of functions that never return (a right answer keeps the default)."""
    monkeypatch.setattr(feedback, "LIMIT", LIMIT)


# --- one right answer per check ------------------------------------------------------------------

def lstm_step(x, state, W_ih, W_hh, b_ih, b_hh):
    i, f, g, o = (x @ W_ih.T + b_ih + state[0] @ W_hh.T + b_hh).chunk(4, dim=1)
    c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def gru_step(x, h, W_ih, W_hh, b_ih, b_hh):
    (xr, xz, xn), (hr, hz, hn) = (x @ W_ih.T + b_ih).chunk(3, 1), (h @ W_hh.T + b_hh).chunk(3, 1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    return (1 - z) * torch.tanh(xn + r * hn) + z * h


def fused_lstm_step(XW_t, H, C, W_h):
    h = H.shape[1]
    G = XW_t + H @ W_h
    C = torch.sigmoid(G[:, h:2 * h]) * C + torch.sigmoid(G[:, :h]) * torch.tanh(G[:, 3 * h:])
    return torch.sigmoid(G[:, 2 * h:3 * h]) * torch.tanh(C), C


def perplexity_of(logits, targets):
    m = logits.max(-1, keepdim=True).values
    log_p = logits - m - torch.log(torch.exp(logits - m).sum(-1, keepdim=True))
    return torch.exp(-log_p[torch.arange(len(targets)), targets].mean())


def sample_next(logits, temperature, generator):
    if temperature == 0:
        return int(logits.argmax())
    return int(torch.multinomial(torch.softmax(logits / temperature, 0), 1, generator=generator))


class Windows(torch.utils.data.Dataset):
    def __init__(self, series, window):
        self.series, self.window = torch.as_tensor(series, dtype=torch.float32), window

    def __len__(self):
        return self.series.shape[0] * (self.series.shape[1] - self.window)

    def __getitem__(self, i):
        j, s = divmod(i, self.series.shape[1] - self.window)
        return self.series[j, s:s + self.window], self.series[j, s + self.window]


def path_score(E, A, s, e, tags):
    return s[tags[0]] + sum(E[t, y] for t, y in enumerate(tags)) + \
        sum(A[tags[t - 1], tags[t]] for t in range(1, len(tags))) + e[tags[-1]]


def log_partition(E, A, s, e):
    alpha = s + E[0]
    for t in range(1, E.shape[0]):
        alpha = E[t] + torch.logsumexp(alpha[:, None] + A, 0)
    return torch.logsumexp(alpha + e, 0)


# the Day 9 model answers are the ones tests/test_checks_day09.py grades
from test_checks_day07 import copy_scores  # noqa: E402
from test_checks_day09 import attention_step, beam_search  # noqa: E402


# check, its right answer(s), and the arguments after them
CHECKS = {
    "check_rnn_step": (day01.check_rnn_step, [lambda x, h, Wx, Wh, b: np.tanh(x @ Wx.T + h @ Wh.T + b)], {}),
    "check_lstm_step": (day02.check_lstm_step, [lstm_step], {}),
    "check_gru_step": (day02.check_gru_step, [gru_step], {}),
    "check_perplexity": (day03.check_perplexity, [perplexity_of], {}),
    "check_fused_lstm_step": (day03.check_fused_lstm_step, [fused_lstm_step], {}),
    "check_sample_next": (day03.check_sample_next, [sample_next], {"num_draws": 2000}),
    "check_window_dataset": (day04.check_window_dataset, [Windows], {}),
    "check_fit_ar": (day04.check_fit_ar, [day04.ar_coefficients], {}),
    "check_masked_pooling": (day05.check_masked_pooling, [masked_mean, masked_max], {}),
    "check_accuracy_from_logits": (day05.check_accuracy_from_logits,
                                   [lambda z, y: ((z > 0).float() == y).float().mean().item()], {}),
    "check_filter_logits": (day06.check_filter_logits, [filter_logits], {}),
    "check_bits_per_character": (day06.check_bits_per_character, [day06.bits_per_char], {}),
    "check_copy_scores": (day07.check_copy_scores, [copy_scores], {}),
    "check_mlstm_step": (day07.check_mlstm_step, [cells.mlstm_step], {}),
    "check_mgru_step": (day07.check_mgru_step, [cells.mgru_step], {}),
    "check_bidirectional": (day08.check_bidirectional, [bidirectional_states], {}),
    "check_path_score": (day08.check_path_score, [path_score], {}),
    "check_log_partition": (day08.check_log_partition, [log_partition], {}),
    "check_viterbi": (day08.check_viterbi, [day08.viterbi_path], {}),
    "check_invalid_transitions": (day08.check_invalid_transitions, [invalid_transitions], {}),
    "check_attention_step": (day09.check_attention_step, [attention_step], {}),
    "check_beam_search": (day09.check_beam_search, [beam_search], {}),
    "check_bleu": (day09.check_bleu, [day09.sacre_bleu], {}),
}


def test_every_check_that_calls_students_code_is_here():
    modules = (day01, day02, day03, day04, day05, day06, day07, day08, day09)
    names = {name for m in modules for name in m.__all__ if name.startswith("check_")}
    assert names - set(CHECKS) == {"check_rnn_num_params", "check_param_count"}  # answers, not functions


# --- what the student's function does instead -----------------------------------------------------

def _map(value, leaf):
    """``value`` with ``leaf`` applied to every tensor, array and number in it (tuples and lists kept)."""
    if isinstance(value, (tuple, list)):
        return type(value)(_map(v, leaf) for v in value)
    return leaf(value) if isinstance(value, (torch.Tensor, np.ndarray, float, int, np.number)) else value


def other_dtype(value):
    if isinstance(value, torch.Tensor):
        if value.is_floating_point():
            return value.to(torch.float32 if value.dtype == torch.float64 else torch.float64)
        return value.to(torch.int32)
    if isinstance(value, np.ndarray):
        return value.astype(np.float32 if value.dtype == np.float64 else np.float64)
    return np.float32(value)


def other_container(value):
    if isinstance(value, torch.Tensor):
        return value.detach().numpy()
    return torch.from_numpy(np.asarray(value))


def nan(value):
    if isinstance(value, torch.Tensor):
        return torch.full(value.shape, float("nan"))
    return np.full(np.shape(value), np.nan)


def answering(right, leaf):
    """The right answer, its results passed through ``leaf``."""
    if isinstance(right, type):  # a Dataset class: its items
        return type("Answer", (right,), {"__getitem__": lambda self, i: _map(right.__getitem__(self, i), leaf)})
    return lambda *args: _map(right(*args), leaf)


def raises(*args):
    raise ZeroDivisionError("division by zero")


def hangs(*args):
    while True:
        pass


def run(name, answers, capsys):
    check, _, kwargs = CHECKS[name]
    verdict = check(*answers, **kwargs)
    assert isinstance(verdict, Verdict)
    return verdict, capsys.readouterr().out


@pytest.mark.parametrize("name", CHECKS)
def test_a_right_answer_passes_in_another_dtype_and_container(name, capsys):
    rights = CHECKS[name][1]
    verdict, out = run(name, rights, capsys)
    assert verdict == PASSED, out
    for leaf in (other_dtype, other_container):
        verdict, out = run(name, [answering(r, leaf) for r in rights], capsys)
        if name == "check_window_dataset":  # the exercise asks for float32 tensors: said so
            assert verdict == FAILED and "float32 tensor" in out, out
        else:
            assert verdict == PASSED, (leaf.__name__, out)


@pytest.mark.parametrize("name", CHECKS)
def test_a_function_that_raises_gets_feedback(name, capsys):
    verdict, out = run(name, [raises] * len(CHECKS[name][1]), capsys)
    assert verdict == FAILED and out.startswith("❌") and "ZeroDivisionError" in out, out


def stub(*args):
    raise NotImplementedError  # as the students' edition hands the exercise out


@pytest.mark.parametrize("name", CHECKS)
def test_an_unfilled_stub_is_told_it_is_not_written_yet(name, capsys):
    verdict, out = run(name, [stub] * len(CHECKS[name][1]), capsys)
    assert verdict == FAILED and out.startswith("❌") and "not written yet" in out, out
    assert "raise NotImplementedError" in out and "Traceback" not in out, out


def test_the_lab_runs_on_the_students_function_once_it_passes_and_says_otherwise(capsys):
    yours, ours = stub, filter_logits
    assert feedback.yours_or_ours(PASSED, yours, ours, "filter_logits") is yours
    assert capsys.readouterr().out == ""
    stand_in = feedback.yours_or_ours(FAILED, yours, ours, "filter_logits")
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "seqlib.decoding.filter_logits" in out and "does not pass" in out, out
    logits = torch.randn(3, 7)
    assert torch.equal(stand_in(logits, top_k=2), ours(logits, top_k=2))  # runs the course's own


def test_the_courses_stand_in_never_passes_a_check(capsys):
    """The grader checks the names at the end of a notebook: after ``yours_or_ours`` bound the course's
    function to an unwritten exercise's name, the check grades the student's own (here a stub) instead."""
    for name, (check, rights, kwargs) in CHECKS.items():
        stand_ins = [feedback.yours_or_ours(FAILED, stub, right, "f") for right in rights]
        capsys.readouterr()
        verdict = check(*stand_ins, **kwargs)
        out = capsys.readouterr().out
        assert verdict == FAILED and "not written yet" in out, (name, out)  # the student's own, graded
    # a class stands in as a subclass: a Dataset still makes windows
    Stand = feedback.yours_or_ours(FAILED, stub, Windows, "SlidingWindows")
    assert issubclass(Stand, Windows) and len(Stand(np.zeros((2, 10), np.float32), 4)) == len(
        Windows(np.zeros((2, 10), np.float32), 4))


@pytest.mark.parametrize("name", CHECKS)
def test_a_function_that_returns_nan_is_told_so(name, capsys):
    verdict, out = run(name, [answering(r, nan) for r in CHECKS[name][1]], capsys)
    assert verdict == FAILED and out.startswith("❌") and "returns NaN" in out and "overflow" not in out, out


@pytest.mark.parametrize("name", CHECKS)
def test_a_function_that_never_returns_gets_feedback_within_the_limit(name, capsys, short_limit):
    verdict, out = run(name, [hangs] * len(CHECKS[name][1]), capsys)
    assert verdict == FAILED and f"did not return within {LIMIT:g} s - an endless loop?" in out, out
    assert out.count("❌") == 1 and "hint:" in out


def test_an_endless_loop_that_swallows_exceptions_is_still_stopped(capsys, short_limit):
    def stubborn(*args):
        while True:
            try:
                while True:
                    pass
            except Exception:  # noqa: BLE001 - what a student might write
                pass

    verdict, out = run("check_rnn_step", [stubborn], capsys)
    assert verdict == FAILED and "stubborn did not return" in out


def in_a_thread(name, answer, capsys):
    box = {}
    worker = threading.Thread(target=lambda: box.update(verdict=run(name, [answer], capsys)))
    worker.start()
    worker.join(60)
    return box["verdict"]


def test_without_an_alarm_signal_the_check_answers_from_another_thread(capsys, short_limit):
    """Windows, or a check called outside the main thread: the call runs in a daemon thread, left behind.
    (Here the loop is told to stop afterwards: left spinning, it took a core for the rest of the session.)"""
    stop = threading.Event()

    def hangs(*args):
        while not stop.is_set():
            pass

    try:
        verdict, out = in_a_thread("check_lstm_step", hangs, capsys)
    finally:
        stop.set()
    assert verdict == FAILED and "hangs did not return within 0.5 s" in out


def test_in_another_thread_results_and_exceptions_come_back(capsys):
    assert in_a_thread("check_lstm_step", lstm_step, capsys)[0] == PASSED
    verdict, out = in_a_thread("check_lstm_step", raises, capsys)
    assert verdict == FAILED and "ZeroDivisionError" in out


def test_an_outer_alarm_timer_survives_a_check(capsys):
    import signal

    fired = []
    previous = signal.signal(signal.SIGALRM, lambda *a: fired.append(1))
    try:
        signal.setitimer(signal.ITIMER_REAL, 30)
        run("check_rnn_step", CHECKS["check_rnn_step"][1], capsys)
        left = signal.getitimer(signal.ITIMER_REAL)[0]
        assert 0 < left <= 30 and not fired
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_errors_of_the_labs_own_arguments_are_still_raised():
    with pytest.raises(ValueError, match="num_draws"):
        day03.check_sample_next(sample_next, num_draws=0)


def test_an_answer_the_check_cannot_compare_is_reported_not_raised(capsys):
    class Weird(tuple):
        def __len__(self):
            raise RuntimeError("no length")

    verdict, out = run("check_mlstm_step", [lambda *a: Weird(cells.mlstm_step(*a))], capsys)
    assert verdict == FAILED and "could not compare your answer" in out and "RuntimeError: no length" in out


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
@pytest.mark.parametrize("name", [n for n in CHECKS if n not in ("check_window_dataset", "check_rnn_step")])
def test_a_right_answer_on_the_gpu_passes(name, capsys):
    leaf = lambda v: v.cuda() if isinstance(v, torch.Tensor) else v  # noqa: E731
    verdict, out = run(name, [answering(r, leaf) for r in CHECKS[name][1]], capsys)
    assert verdict == PASSED, out


# --- an answer hard-coded for the lab's case fails, and no check prints what it grades (issue 25) ---

def _hard_coded(right, *lab_case):
    answer = right(*lab_case)
    return lambda *args: answer


def test_a_hard_coded_copy_scores_fails_and_the_scores_are_not_printed(capsys):
    answer = copy_scores(*day07.copy_case(3))
    verdict, out = run("check_copy_scores", [lambda *a: answer], capsys)
    assert verdict == FAILED and f"{float(answer[1]):.3f}" not in out, out


def test_a_hard_coded_beam_search_or_attention_step_fails_and_values_are_not_printed(capsys):
    case = day09.beam_case(7)
    tokens, log_prob = beam_search(*case)
    verdict, out = run("check_beam_search", [lambda *a: (tokens, log_prob)], capsys)
    assert verdict == FAILED and str(tokens) not in out and f"{log_prob:.2f}" not in out, out
    verdict, out = run("check_attention_step", [_hard_coded(attention_step, *day09.attention_case())], capsys)
    assert verdict == FAILED  # on a fresh case: named by its case, or by what goes wrong there (e.g. padding)


# --- a hard-coded answer fails ---------------------------------------------------------------------

def test_a_check_with_few_cases_never_grades_the_same_case_twice_in_a_row():
    """Where a check's cases are few (CI once drew the same accuracy, 5 of 9, twice in a row), the
    answer that passed the last call, replayed, would pass again: unlike_last draws until they differ."""
    from seqlib.checks.feedback import unlike_last
    draws = [unlike_last("a two-case check", lambda seed: seed % 2) for _ in range(50)]
    assert all(a != b for a, b in zip(draws, draws[1:])) and set(draws) == {0, 1}
    keyed = [unlike_last("a keyed check", lambda seed: (seed % 2, seed), key=lambda case: case[0])
             for _ in range(20)]
    assert all(a[0] != b[0] for a, b in zip(keyed, keyed[1:]))
    assert [unlike_last("a one-case check", lambda seed: "only") for _ in range(3)] == ["only"] * 3  # no hang


def recording(right, tape):
    """The right answer, writing each result on ``tape`` (a Dataset class: its length and items)."""
    if isinstance(right, type):
        return type("Recorded", (right,), {
            "__len__": lambda self: tape.setdefault("len", right.__len__(self)),
            "__getitem__": lambda self, i: tape.setdefault(i, right.__getitem__(self, i))})
    return lambda *args: tape.setdefault(len(tape), right(*args))


def replaying(right, tape):
    """A hard-coded answer: what the right answer returned in the check's last run, whatever the input."""
    if isinstance(right, type):
        return type("HardCoded", (torch.utils.data.Dataset,), {
            "__init__": lambda self, *args: None, "__len__": lambda self: tape["len"],
            "__getitem__": lambda self, i: tape[i]})
    calls = iter(range(10**9))
    return lambda *args: tape[next(calls) % len(tape)]


@pytest.mark.parametrize("name", CHECKS)
def test_an_answer_hard_coded_from_the_checks_last_run_fails(name, capsys):
    """Each check grades cases drawn anew at every call: the values that passed one run, returned
    without computing anything, fail the next."""
    rights = CHECKS[name][1]
    tapes = [{} for _ in rights]
    verdict, out = run(name, [recording(r, t) for r, t in zip(rights, tapes)], capsys)
    assert verdict == PASSED, out
    verdict, out = run(name, [replaying(r, t) for r, t in zip(rights, tapes)], capsys)
    assert verdict == FAILED and out.startswith("❌"), out
