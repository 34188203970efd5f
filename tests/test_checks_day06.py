"""The exercise checks of Day 6 accept right answers, explain wrong ones and never raise."""

from __future__ import annotations

import math

import torch

from seqlib.checks.day06 import check_bits_per_character, check_filter_logits


def filter_logits(logits, temperature=1.0, top_k=None, top_p=None, *, cumsum_below=False, order="Tkp",
                  multiply=False):
    """A student's answer written from the definitions, with switches for the usual mistakes."""
    if temperature == 0:
        keep = torch.zeros_like(logits, dtype=torch.bool)
        keep[logits.argmax()] = True
        return logits.masked_fill(~keep, float("-inf"))
    logits = logits * temperature if multiply else logits / temperature

    def k_filter(x):
        if top_k is None:
            return x
        x = x.clone()
        x[torch.argsort(x, descending=True)[top_k:]] = float("-inf")
        return x

    def p_filter(x):
        if top_p is None:
            return x
        probs = torch.softmax(x, -1)
        idx = torch.argsort(probs, descending=True)
        cum = torch.cumsum(probs[idx], 0)
        drop = cum > top_p if cumsum_below else (cum - probs[idx]) >= top_p
        x = x.clone()
        x[idx[drop]] = float("-inf")
        return x

    return k_filter(p_filter(logits)) if order == "Tpk" else p_filter(k_filter(logits))


def test_check_filter_logits_accepts_a_right_answer_and_names_each_mistake(capsys):
    assert check_filter_logits(filter_logits)
    assert "✅" in capsys.readouterr().out
    assert not check_filter_logits(lambda l, T, k, p: filter_logits(l, T, k, p, multiply=True))
    assert "multiplied" in capsys.readouterr().out
    assert not check_filter_logits(lambda l, T, k, p: l / T)  # no filters, and T = 0 divides by zero
    assert "argmax" in capsys.readouterr().out
    assert not check_filter_logits(lambda l, T, k, p: filter_logits(l, T, k, p, cumsum_below=True))
    assert "reach p as well" in capsys.readouterr().out
    assert not check_filter_logits(lambda l, T, k, p: filter_logits(l, T, k and k + 1, p))
    assert "exactly k = 3" in capsys.readouterr().out
    assert not check_filter_logits(lambda l, T, k, p: l)  # the stub
    assert "divide the logits by the temperature" in capsys.readouterr().out
    assert not check_filter_logits(lambda l, T, k, p: 1 / 0)
    assert not check_filter_logits(lambda l, T, k, p: l.tolist())  # a list is read as a tensor: the stub again
    assert "divide the logits by the temperature" in capsys.readouterr().out
    assert not check_filter_logits(lambda l, T, k, p: l[:3])
    assert "same shape" in capsys.readouterr().out
    assert not check_filter_logits("not a function")


def test_check_bits_per_character(capsys):
    right = lambda n, t, c: n * t / (c * math.log(2))  # noqa: E731
    assert check_bits_per_character(right)
    mistakes = {"per token, not per character": lambda n, t, c: n / math.log(2),
                "in nats per character": lambda n, t, c: n * t / c,
                "multiplied by ln 2": lambda n, t, c: n * t * math.log(2) / c,
                "one token's loss": lambda n, t, c: n / (c * math.log(2))}
    for words, wrong in mistakes.items():
        capsys.readouterr()
        assert not check_bits_per_character(wrong)
        assert words in capsys.readouterr().out, words
    assert not check_bits_per_character(lambda n, t, c: 2.5247)  # a hard-coded answer
    assert check_bits_per_character(lambda n, t, c: torch.tensor(right(n, t, c)))
