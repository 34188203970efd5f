"""Instant feedback on the Day 5 exercises (to be folded into ``seqlib.checks``).

Every check prints specific feedback ("✅ ..." or "❌ ... because ...; hint: ...") and returns a
bool; it never raises on a wrong answer (an error would stop the notebook).
"""

from __future__ import annotations

import torch

from seqlib.sentiment import masked_max, masked_mean, padding_mask

__all__ = ["check_masked_pooling", "check_accuracy_from_logits"]


def _ok(msg: str) -> bool:
    print("✅ " + msg)
    return True


def _fail(msg: str) -> bool:
    print("❌ " + msg)
    return False


def _call(fn, *args):
    """``(result, None)`` or ``(None, feedback)`` if the call raised."""
    try:
        return fn(*args), None
    except Exception as err:  # the student's code: report, never raise
        return None, f"it raised {type(err).__name__}: {err}"


def _pooling_cases():
    g = torch.Generator().manual_seed(5)
    lengths = torch.tensor([4, 1, 3])
    mask = padding_mask(lengths, 5)
    H = torch.randn(3, 5, 6, generator=g) - 2.0          # real states mostly negative
    H = torch.where(mask.unsqueeze(-1), H, torch.full_like(H, 7.0))  # padding holds large garbage
    zero_pad = torch.where(mask.unsqueeze(-1), H, torch.zeros_like(H))  # as pad_packed_sequence pads
    return H, zero_pad, mask


def _check_pool(name, fn, ref, H, zero_pad, mask, hint_pad):
    out, err = _call(fn, H, mask)
    if err:
        return _fail(f"{name}: {err}; hint: H has shape (B, T, D) and mask (B, T) is True at real tokens")
    if out is None:
        return _fail(f"{name} returned None; hint: did you forget `return`?")
    if not isinstance(out, torch.Tensor):
        return _fail(f"{name} returned a {type(out).__name__}, expected a tensor of shape (B, D)")
    expected = ref(H, mask)
    if tuple(out.shape) != tuple(expected.shape):
        return _fail(f"{name} returned shape {tuple(out.shape)}, expected {tuple(expected.shape)} = (B, D); "
                     "hint: reduce over the time dimension (dim=1)")
    if not torch.allclose(out, expected, atol=1e-5):
        out_zero, _ = _call(fn, zero_pad, mask)
        if out_zero is not None and isinstance(out_zero, torch.Tensor) and out_zero.shape == expected.shape \
                and torch.allclose(out_zero, ref(zero_pad, mask), atol=1e-5):
            return _fail(f"{name} is right only when the padding holds zeros: " + hint_pad)
        return _fail(f"{name} differs from the expected pooled states (max |diff| "
                     f"{(out - expected).abs().max().item():.3g}); " + hint_pad)
    return True


def check_masked_pooling(mean_pool, max_pool) -> bool:
    """Check ``mean_pool(H, mask)`` and ``max_pool(H, mask)``: H (B, T, D), mask (B, T) bool -> (B, D).

    The padding of the test batch holds large values, so any leak of padding shows.
    """
    H, zero_pad, mask = _pooling_cases()
    ok_mean = _check_pool(
        "mean_pool", mean_pool, masked_mean, H, zero_pad, mask,
        "hint: multiply H by the mask (as floats, shape (B, T, 1)) before summing, and divide by "
        "the number of real tokens mask.sum(1), not by T")
    ok_max = _check_pool(
        "max_pool", max_pool, masked_max, H, zero_pad, mask,
        "hint: fill the padding positions with -inf (H.masked_fill(~mask.unsqueeze(-1), float('-inf'))) "
        "before taking the max over dim=1; filling with 0 is wrong when every real state is negative")
    if ok_mean and ok_max:
        alone = mean_pool(H[1:2, :1], mask[1:2, :1])
        if not torch.allclose(alone, mean_pool(H, mask)[1:2], atol=1e-5):
            return _fail("mean_pool gives a different result for a sentence alone and padded in a batch")
        return _ok("mean_pool and max_pool ignore the padding exactly: a sentence gets the same summary "
                   "alone and padded in a batch")
    return False


def check_accuracy_from_logits(accuracy) -> bool:
    """Check ``accuracy(logits, y)`` -> a Python float in [0, 1]; logits (B,), labels y (B,) of 0/1."""
    logits = torch.tensor([2.0, -1.0, 0.3, -0.2, 4.0, -3.0, 0.1, -0.4])
    y = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 1.0, 1.0, 1.0])
    expected = 6 / 8                                    # thresholding at 0.5 would give 4 / 8
    out, err = _call(accuracy, logits, y)
    if err:
        return _fail(f"accuracy: {err}; hint: compare (logits > 0) with the labels")
    if out is None:
        return _fail("accuracy returned None; hint: did you forget `return`?")
    was_tensor = isinstance(out, torch.Tensor)
    if was_tensor:
        if out.numel() != 1:
            return _fail(f"accuracy returned a tensor of shape {tuple(out.shape)}; hint: take the mean "
                         "of the correct predictions, and .item() to get a Python float")
        out = out.item()
    if not isinstance(out, (float, int)):
        return _fail(f"accuracy returned a {type(out).__name__}, expected a float")
    if abs(out - expected) < 1e-6:
        if was_tensor:
            print("   (tip: return a Python float with .item(), so that it can be printed and recorded)")
        return _ok(f"accuracy = {expected} on the test batch: a logit > 0 means class 1 (probability > 0.5)")
    if abs(out - 0.5) < 1e-6:  # thresholded at 0.5 instead of 0
        return _fail("you got 0.5, expected 0.75: the threshold is applied to logits, not probabilities; "
                     "hint: sigmoid(z) > 0.5 exactly when z > 0, so compare logits with 0")
    if abs(out - 6) < 1e-6:
        return _fail("you returned the number of correct predictions (6); hint: divide by the batch size (mean)")
    return _fail(f"accuracy returned {out}, expected {expected}; hint: ((logits > 0).float() == y).float().mean()")
