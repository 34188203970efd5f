"""The Day 5 exercise checks accept right answers, explain wrong ones in the one format and never raise."""

from seqlib.batching import masked_max, masked_mean
from seqlib.checks.day05 import check_accuracy_from_logits, check_masked_pooling
from seqlib.checks.feedback import Verdict

PASSED, FAILED = Verdict(True), Verdict(False)  # == compares a check's verdict strictly (None is neither)


def accuracy(logits, y):
    return ((logits > 0).float() == y).float().mean().item()


def test_check_masked_pooling_feedback(capsys):
    assert check_masked_pooling(masked_mean, masked_max) == PASSED
    assert capsys.readouterr().out.startswith("✅")
    assert check_masked_pooling(lambda H, m: H.mean(1), masked_max) == FAILED
    out = capsys.readouterr().out
    assert out.startswith("❌") and "number of real tokens" in out and "expected:" in out and "hint:" in out
    zero_fill = lambda H, m: (H * m.unsqueeze(-1)).amax(1)  # noqa: E731
    assert check_masked_pooling(masked_mean, zero_fill) == FAILED
    assert "-inf" in capsys.readouterr().out
    assert check_masked_pooling(lambda H, m: None, lambda H, m: 1 / 0) == FAILED
    out = capsys.readouterr().out
    assert "forget `return`" in out and "ZeroDivisionError" in out
    assert check_masked_pooling(None, masked_max) == FAILED
    assert "define mean_pool(H, mask) first" in capsys.readouterr().out


def test_check_accuracy_feedback(capsys):
    assert check_accuracy_from_logits(accuracy) == PASSED
    assert check_accuracy_from_logits(lambda z, y: ((z > 0).float() == y).float().mean()) == PASSED
    out = capsys.readouterr().out
    assert out.count("✅") == 2 and "tip: return a Python float" in out
    assert check_accuracy_from_logits(lambda z, y: ((z > 0.5).float() == y).float().mean().item()) == FAILED
    out = capsys.readouterr().out
    assert "for probabilities, not logits" in out and "expected: " in out
    assert check_accuracy_from_logits(lambda z, y: ((z > 0).float() == y).sum().item()) == FAILED
    assert "divide by the batch size" in capsys.readouterr().out
    assert check_accuracy_from_logits(lambda z, y: None) == FAILED
    assert check_accuracy_from_logits(lambda z, y: ((z > 0).float() == y).float()) == FAILED
    assert "shape" in capsys.readouterr().out


def test_day05_hints_guide_without_giving_the_code(capsys):
    """A hint names the idea (which values, which dimension), never the line of code to type."""
    check_accuracy_from_logits(lambda z, y: 0.3)
    check_masked_pooling(lambda H, m: H.mean(1), lambda H, m: H.amax(1))
    out = capsys.readouterr().out
    assert out.count("hint:") == 3
    for code in (".float()", ".mean()", "masked_fill", "unsqueeze(", "mask.sum(", "float('-inf')"):
        assert code not in out, code
