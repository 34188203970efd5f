"""Checks of Day 5 (sentiment classification), against :mod:`seqlib.batching`."""

from __future__ import annotations

import torch

from seqlib.batching import masked_max, masked_mean, padding_mask
from seqlib.checks.feedback import (Verdict, as_float, as_tensor, call_student, close, fresh_seeds, guard,
                                    report, result_of, unlike_last)

__all__ = ["check_masked_pooling", "check_accuracy_from_logits", "binary_accuracy"]


def binary_accuracy(logits: torch.Tensor, y: torch.Tensor) -> float:
    """The course's own accuracy from logits: the share of ``(logits > 0) == y``; logits, y (B,)."""
    return ((logits > 0).float() == y).float().mean().item()


def _check_pool(name, fn, ref, H, zero_pad, mask, hint_pad):
    """``None`` if ``fn`` pools like ``ref``, else the failure reported (``False``)."""
    expected = ref(H, mask)
    want = f"a tensor of shape {tuple(expected.shape)} = (B, D), the pooled states of the real tokens only"
    out, err = call_student(fn, H, mask)
    if err:
        return report(False, f"{name} raised {err}", "H has shape (B, T, D) and mask (B, T) is True at real tokens",
                      expected=want)
    if out is None:
        return report(False, f"{name} returned None", "did you forget `return`?", expected=want)
    if (out := as_tensor(out, like=expected)) is None:
        return report(False, f"{name} did not return an array of numbers", "return a torch tensor", expected=want)
    if tuple(out.shape) != tuple(expected.shape):
        return report(False, f"{name} returned shape {tuple(out.shape)}",
                      "reduce over the time dimension (dim=1)", expected=want)
    if not torch.allclose(out, expected, atol=1e-5):
        if close(call_student(fn, zero_pad, mask)[0], ref(zero_pad, mask)):
            return report(False, f"{name} is right only when the padding holds zeros", hint_pad, expected=want)
        return report(False, f"{name} differs from the expected pooled states (max |diff| "
                             f"{(out - expected).abs().max().item():.3g})", hint_pad, expected=want)
    return None


@guard("mean_pool(H, mask)", "max_pool(H, mask)")
def check_masked_pooling(mean_pool, max_pool) -> Verdict:
    """Check ``mean_pool(H, mask)`` and ``max_pool(H, mask)``: H (B, T, D), mask (B, T) bool -> (B, D)
    (the padding holds large values: any leak shows)."""
    mask, g = padding_mask(torch.tensor([4, 1, 3]), 5), torch.Generator().manual_seed(fresh_seeds(1)[0])
    H = (torch.randn(3, 5, 6, generator=g) - 2.0).masked_fill(~mask.unsqueeze(-1), 7.0)  # real states < 0, padding 7
    zero_pad = torch.where(mask.unsqueeze(-1), H, torch.zeros_like(H))  # as pad_packed_sequence pads
    failed_mean = _check_pool(
        "mean_pool", mean_pool, masked_mean, H, zero_pad, mask,
        "zero the padding states with the mask (as floats, shaped (B, T, 1) so that it broadcasts "
        "over D) before summing over time, and divide by each sentence's number of real tokens, not by T")
    failed_max = _check_pool(
        "max_pool", max_pool, masked_max, H, zero_pad, mask,
        "give the padding positions the value -inf before taking the max over time (dim=1), so that "
        "padding never wins; filling them with 0 is wrong when every real state is negative")
    if failed_mean is not None or failed_max is not None:
        return Verdict(False)
    if not close(call_student(mean_pool, H[1:2, :1], mask[1:2, :1])[0], masked_mean(H, mask)[1:2]):
        return report(False, "mean_pool gives a different result for a sentence alone and padded in a batch",
                      "use only the mask to tell real tokens from padding",
                      expected="the same summary alone and padded in a batch")
    return report(True, "mean_pool and max_pool ignore the padding exactly: a sentence gets the same summary "
                        "alone and padded in a batch")


@guard("accuracy(logits, y)")
def check_accuracy_from_logits(accuracy) -> Verdict:
    """Check ``accuracy(logits, y)`` -> a Python float in [0, 1]; logits (B,), labels y (B,) of 0/1."""
    def batch(seed):  # a new batch at every call, its accuracy unlike the last call's
        g = torch.Generator().manual_seed(seed)
        size = int(torch.randint(8, 17, (1,), generator=g))
        logits, y = torch.randn(size, generator=g) * 2, torch.randint(0, 2, (size,), generator=g).float()
        logits = torch.where((logits > 0) & (logits <= 0.5), logits + 0.5, logits)
        logits[0], y[0] = 0.3, 1.0  # the one logit in (0, 0.5]: class 1, though a threshold at 0.5 says 0
        return logits, y, binary_accuracy(logits, y)

    logits, y, expected = unlike_last("accuracy_from_logits", batch, key=lambda case: round(case[2], 6))
    size, count = len(y), int(((logits > 0).float() == y).sum())
    at_half = ((logits > 0.5).float() == y).float().mean().item()
    want = f"{expected:.4g} on a batch of {size}, a Python float"
    out = result_of(accuracy, logits, y, name="accuracy", hint="compare (logits > 0) with the labels",
                    expected=want, returns="a Python float")
    if (value := as_float(out)) is None:
        return report(False, f"accuracy returned a {type(out).__name__} of shape {tuple(getattr(out, 'shape', ()))}",
                      "take the mean of the correct predictions, and .item() to get a Python float", expected=want)
    was_tensor, out = isinstance(out, torch.Tensor), value
    if abs(out - expected) < 1e-6:
        tip = " (tip: return a Python float with .item(), so that it can be printed and recorded)" if was_tensor else ""
        return report(True, f"accuracy right on a batch of {size}: a logit > 0 means class 1 "
                            f"(probability > 0.5){tip}")
    if abs(out - at_half) < 1e-6:  # thresholded at 0.5 instead of 0
        return report(False, f"you got {out:.4g}: the threshold 0.5 is for probabilities, not logits",
                      "sigmoid(z) > 0.5 exactly when z > 0, so compare logits with 0", expected=want)
    if abs(out - count) < 1e-6:
        return report(False, f"you returned the number of correct predictions ({count})",
                      "divide by the batch size (mean)", expected=want)
    return report(False, f"accuracy returned {out}", "predict class 1 where the logit is positive, compare the "
                  "predictions with y, and return the share of matches", expected=want)
