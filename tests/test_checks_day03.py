"""The exercise checks of Day 3 accept right answers, explain wrong ones and never raise."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as nnf

from seqlib.checks.day03 import check_fused_lstm_step, check_perplexity, check_sample_next


def perplexity(logits, targets):
    """A right answer: a stable log-softmax (the row's max subtracted), the mean NLL, exponentiated."""
    m = logits.max(-1, keepdim=True).values
    log_p = logits - m - torch.log(torch.exp(logits - m).sum(-1, keepdim=True))
    return torch.exp(-log_p[torch.arange(len(targets)), targets].mean())


def log_p(logits):
    return torch.log_softmax(logits, -1)


def at(targets):
    return torch.arange(len(targets)), targets


def test_check_perplexity(capsys):
    assert check_perplexity(perplexity)
    assert check_perplexity(lambda z, y: torch.exp(nnf.cross_entropy(z, y)))
    assert check_perplexity(lambda z, y: float(torch.exp(nnf.cross_entropy(z.double(), y))))
    assert not check_perplexity(lambda z, y: torch.exp(-log_p(z)[at(y)].sum()))
    assert "summed" in capsys.readouterr().out  # told so, whether the sum overflowed or not
    assert not check_perplexity(lambda z, y: -log_p(z)[at(y)].mean())
    assert "cross-entropy" in capsys.readouterr().out
    assert not check_perplexity(lambda z, y: torch.exp(-log_p(z).max(-1).values.mean()))
    assert "argmax" in capsys.readouterr().out
    assert not check_perplexity(lambda z, y: torch.exp(-log_p(z)[:, y].mean()))
    assert "its own target" in capsys.readouterr().out
    assert not check_perplexity(lambda z, y: torch.exp(-torch.log_softmax(z, 0)[at(y)].mean()))
    assert "over the vocabulary" in capsys.readouterr().out
    assert not check_perplexity(lambda z, y: torch.exp(-z[at(y)].mean()))
    assert "not log-probabilities" in capsys.readouterr().out
    assert not check_perplexity(lambda z, y: 1 / torch.softmax(z, -1)[at(y)].mean())
    assert "averaged the probabilities" in capsys.readouterr().out
    assert not check_perplexity(lambda z, y: torch.exp(-log_p(z)[at(y)]))  # one per position
    assert "not one number" in capsys.readouterr().out
    assert not check_perplexity(lambda z, y: None)
    assert not check_perplexity(lambda z, y: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_check_perplexity_names_an_underflowed_softmax(capsys):
    """The naive forms pass on moderate logits and fail on logits in the thousands, told why."""
    def naive_log(z, y):  # log of the softmax: a probability that underflows to 0 has log -inf
        return torch.exp(-torch.log(torch.softmax(z, -1))[at(y)].mean())

    def naive_exp(z, y):  # exp of the logits: inf / inf is NaN
        p = torch.exp(z) / torch.exp(z).sum(-1, keepdim=True)
        return torch.exp(-torch.log(p)[at(y)].mean())

    def clamped(z, y):  # the underflow hidden, not avoided
        return torch.exp(-torch.log(torch.softmax(z.double(), -1) + 1e-12)[at(y)].mean())

    for naive in (naive_log, naive_exp, clamped, lambda z, y: naive_log(z.double(), y)):
        assert not check_perplexity(naive)
        out = capsys.readouterr().out
        assert "logits in the thousands" in out and "the softmax underflowed" in out and "NaN" not in out[:40], out


def test_check_perplexity_never_prints_the_expected_perplexity(capsys, monkeypatch):
    import math
    import re

    from seqlib.checks import day03

    graded = []
    cases = day03._perplexity_cases
    monkeypatch.setattr(day03, "_perplexity_cases", lambda seed: graded.append(cases(seed)) or graded[-1])
    for wrong in (lambda z, y: perplexity(z, y) * 1.5, lambda z, y: 1 / perplexity(z, y),
                  lambda z, y: torch.log(perplexity(z, y)), lambda z, y: torch.tensor(float("inf"))):
        assert not check_perplexity(wrong)
        out = capsys.readouterr().out
        rights = [float(perplexity(z.double(), y)) for z, y, _ in graded[-1]]
        shown = [float(n) for n in re.findall(r"\d+(?:\.\d+)?(?:e[+-]?\d+)?", out)]
        assert not any(math.isclose(n, r, rel_tol=1e-3) for n in shown for r in rights), out


def fused_step(XW_t, H, C, W_h, order=(0, 1, 2, 3), swap=False):
    h = H.shape[1]
    G = XW_t + H @ W_h
    blocks = [G[:, k * h:(k + 1) * h] for k in range(4)]
    I, F, O, C_tilde = (blocks[k] for k in order)
    I, F, O, C_tilde = torch.sigmoid(I), torch.sigmoid(F), torch.sigmoid(O), torch.tanh(C_tilde)
    C = F * C + I * C_tilde
    H = O * torch.tanh(C)
    return (C, H) if swap else (H, C)


def test_check_fused_lstm_step(capsys):
    assert check_fused_lstm_step(fused_step)
    assert not check_fused_lstm_step(lambda *a: fused_step(*a, swap=True))
    assert "swap" in capsys.readouterr().out
    assert not check_fused_lstm_step(lambda *a: fused_step(*a, order=(0, 1, 3, 2)))
    assert "PyTorch's block order" in capsys.readouterr().out
    assert not check_fused_lstm_step(lambda XW_t, H, C, W_h: (H, C))  # the stub
    assert not check_fused_lstm_step(lambda *a: 1 / 0)


def sample(logits, temperature, generator):
    if temperature == 0:
        return int(logits.argmax())
    return int(torch.multinomial(torch.softmax(logits / temperature, 0), 1, generator=generator))


def test_check_sample_next(capsys):
    assert check_sample_next(sample)
    assert not check_sample_next(lambda l, T, g: sample(l, 1.0 if T else 0, g))
    assert "divide the logits" in capsys.readouterr().out
    assert not check_sample_next(lambda l, T, g: sample(l, 1 / T if T else 0, g))
    assert "multiplied" in capsys.readouterr().out
    assert not check_sample_next(lambda l, T, g: int(l.argmax()))
    assert "always return the argmax" in capsys.readouterr().out
    assert not check_sample_next(lambda l, T, g: "a")


def test_check_sample_next_rejects_a_bad_num_draws_naming_it():
    """num_draws is the lab author's argument: 0 used to report False as if the student were wrong."""
    for bad in (0, -5, 2.5, None):
        with pytest.raises(ValueError, match="num_draws"):
            check_sample_next(lambda logits, temperature, generator=None: 0, num_draws=bad)


@pytest.mark.wrapped
def test_day03_feedback_fits_the_page_and_keeps_the_solution_secret(capsys):
    """Issue 12: every line a check prints fits the book's column (no line past 90 characters),
    and no hint spells out the solution's code."""
    check_perplexity(lambda z, y: -log_p(z)[at(y)].mean()), check_perplexity(lambda z, y: z.sum())
    check_perplexity(lambda z, y: torch.exp(-torch.log(torch.softmax(z, -1))[at(y)].mean()))
    check_perplexity(perplexity)
    for step in (lambda *a: fused_step(*a, swap=True), lambda *a: fused_step(*a, order=(0, 1, 3, 2)),
                 lambda XW_t, H, C, W_h: (H, C), fused_step):
        check_fused_lstm_step(step)
    for fn in (lambda l, T, g: int(l.argmax()), lambda l, T, g: 3, lambda l, T, g: 0 if T == 0 else 1, sample):
        check_sample_next(fn, num_draws=200)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 10
    assert all(len(line) <= 90 for line in lines), [line for line in lines if len(line) > 90]
    hints = [line for line in lines if line.lstrip().startswith("hint:")]
    for code in ("@ W_h", "torch.exp(", "log_softmax", "cross_entropy(", "logsumexp(", "torch.multinomial(", "argmax()", "O * torch.tanh"):
        assert not any(code in line for line in hints), code
