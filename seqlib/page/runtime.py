"""What a lab's run is set up with: seeds, the device, progress bars, and the size of a model."""

from __future__ import annotations

import ctypes
import os
import platform
import random
import sys

import numpy as np
import torch
import tqdm.auto
import tqdm.std

from seqlib.validation import non_negative_int


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and PyTorch (CPU and CUDA); return a NumPy ``Generator`` seeded the same."""
    seed = non_negative_int(seed, "seed")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return np.random.default_rng(seed)


def keep_freed_memory(keep: bool = True) -> bool:
    """Let the C library keep the memory that PyTorch frees, for the next tensors to reuse (Linux).

    glibc hands every block above 128 KiB back to the operating system when it is freed, so the next large
    tensor gets fresh pages, each one zeroed by the kernel when first touched. A training step on a CPU
    makes tens of MB of such tensors: the fast LSTM of Day 3 spent a fifth of its time there. With
    ``keep``, blocks up to 32 MiB come from the process's own heap and stay there when freed (up to 1 GiB);
    ``keep=False`` puts glibc's thresholds back (128 KiB). Returns whether it applied: ``False`` where the
    C library is not glibc (macOS, Windows), where nothing changes."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's <malloc.h>
    mmap, trim = (32 << 20, 1 << 30) if keep else (128 << 10, 128 << 10)
    libc = ctypes.CDLL("libc.so.6")
    return bool(libc.mallopt(M_MMAP_THRESHOLD, mmap) and libc.mallopt(M_TRIM_THRESHOLD, trim))


def default_device() -> torch.device:
    """``SEQLIB_DEVICE`` if set (``"cpu"``, ``"cuda:1"``, ``"mps"``; checked), else the first GPU, else the CPU."""
    if not (name := os.environ.get("SEQLIB_DEVICE", "").strip()):
        return try_gpu()
    try:
        device = torch.device(name)
    except (RuntimeError, ValueError) as err:
        raise ValueError(f"SEQLIB_DEVICE={name!r} is not a device PyTorch knows ({err}); "
                         "use 'cpu', 'cuda', 'cuda:1' or 'mps', or unset it") from None
    mps = getattr(torch.backends, "mps", None)
    if not {"cpu": True, "cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count(),
            "mps": mps is not None and mps.is_available()}.get(device.type, False):
        raise ValueError(f"SEQLIB_DEVICE={name!r}, but this machine has no such device "
                         f"(CUDA GPUs seen: {torch.cuda.device_count()}); unset SEQLIB_DEVICE or set it to 'cpu'")
    return device


def try_gpu(i: int = 0) -> torch.device:
    """``cuda:i`` if that GPU exists (as on a Colab GPU runtime), else the CPU."""
    i = non_negative_int(i, "i", hint="the index of a GPU: 0 for the first")
    return torch.device(f"cuda:{i}" if torch.cuda.device_count() > i else "cpu")


def num_params(model) -> int:
    """Number of trainable numbers of a model: an ``nn.Module`` or anything with ``parameters()``."""
    if not hasattr(model, "parameters"):
        raise TypeError(f"num_params needs a model with a parameters() method, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def progress(iterable=None, **kwargs):
    """A tqdm progress bar (``TQDM_DISABLE=1``: none); ``SEQLIB_PROGRESS=terminal`` (``make book``) sends it
    to the original stderr, which Jupyter does not capture, not into the book."""
    if os.environ.get("TQDM_DISABLE", "").lower() in ("1", "true", "yes"):
        kwargs.setdefault("disable", True)  # tqdm reads this variable itself, but its notebook bar does not
    if os.environ.get("SEQLIB_PROGRESS") != "terminal":
        return tqdm.auto.tqdm(iterable, **kwargs)
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        fd = 2
    return tqdm.std.tqdm(iterable, **{"file": open(fd, "w", closefd=False), "leave": False, **kwargs})
