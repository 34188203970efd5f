"""The exercise checks of Day 3 accept right answers, explain wrong ones and never raise."""

from __future__ import annotations

import torch

from seqlib.checks.day03 import check_fused_lstm_step, check_perplexity, check_sample_next


def test_check_perplexity(capsys):
    assert check_perplexity(lambda p: torch.exp(-torch.log(p).mean()))
    assert not check_perplexity(lambda p: 1 / p.mean())
    assert "arithmetic mean" in capsys.readouterr().out
    assert not check_perplexity(lambda p: -torch.log(p).mean())
    assert "cross-entropy" in capsys.readouterr().out
    assert not check_perplexity(lambda p: None)
    assert not check_perplexity(lambda p: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


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
    import pytest

    for bad in (0, -5, 2.5, None):
        with pytest.raises(ValueError, match="num_draws"):
            check_sample_next(lambda logits, temperature, generator=None: 0, num_draws=bad)


def test_day03_feedback_fits_the_page_and_keeps_the_solution_secret(capsys):
    """Issue 12: every line a check prints fits the book's column (no line past 90 characters),
    and no hint spells out the solution's code."""
    check_perplexity(lambda p: 1 / p.mean()), check_perplexity(lambda p: p.sum())
    check_perplexity(lambda p: torch.exp(-torch.log(p).mean()))
    for step in (lambda *a: fused_step(*a, swap=True), lambda *a: fused_step(*a, order=(0, 1, 3, 2)),
                 lambda XW_t, H, C, W_h: (H, C), fused_step):
        check_fused_lstm_step(step)
    for fn in (lambda l, T, g: int(l.argmax()), lambda l, T, g: 3, lambda l, T, g: 0 if T == 0 else 1, sample):
        check_sample_next(fn, num_draws=200)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 10
    assert all(len(line) <= 90 for line in lines), [line for line in lines if len(line) > 90]
    hints = [line for line in lines if line.lstrip().startswith("hint:")]
    for code in ("@ W_h", "torch.exp(", "torch.multinomial(", "argmax()", "O * torch.tanh"):
        assert not any(code in line for line in hints), code
