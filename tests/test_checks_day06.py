"""The exercise checks of Day 6 accept right answers, explain wrong ones and never raise."""

from __future__ import annotations

import math

import torch

from seqlib.checks.day06 import check_bits_and_perplexity, check_filter_logits


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


def test_check_bits_and_perplexity(capsys):
    assert check_bits_and_perplexity(lambda L: (L / math.log(2), math.exp(L)))
    assert not check_bits_and_perplexity(lambda L: (L * math.log(2), math.exp(L)))
    assert "multiplied by ln 2" in capsys.readouterr().out
    assert not check_bits_and_perplexity(lambda L: (L / math.log(2), 2 ** L))
    assert "mixes units" in capsys.readouterr().out
    assert not check_bits_and_perplexity(lambda L: (0.0, 0.0))  # the stub
    assert not check_bits_and_perplexity(lambda L: L)
    assert "pair of numbers" in capsys.readouterr().out
    assert check_bits_and_perplexity(lambda L: (torch.tensor(L) / math.log(2), torch.exp(torch.tensor(L))))
