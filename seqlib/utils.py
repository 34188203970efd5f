"""Small utilities every lab uses: seeding and device choice."""

from __future__ import annotations

import random

import numpy as np
import torch


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); return a NumPy ``Generator`` seeded the same.

    Use the returned generator for NumPy randomness in a lab (``rng.normal(...)``) so that
    results do not depend on what ran before.
    """
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed))
    torch.manual_seed(int(seed))
    return np.random.default_rng(int(seed))


def try_gpu(i: int = 0) -> torch.device:
    """``cuda:i`` if that GPU exists (as on a Colab GPU runtime), else the CPU."""
    if torch.cuda.device_count() >= i + 1:
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")
