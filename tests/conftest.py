"""Shared fixtures: the repository root on sys.path and one smoke build of the whole book."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def pytest_configure(config):
    """Under pytest-xdist (``make test`` runs one worker per core), each worker does its tensor
    work on its share of the cores: two workers with two threads each on two cores wait on each
    other in every small matrix product, which made the training tests several times slower.
    The processes the tests start (command lines, notebook kernels) inherit the same share, unless
    ``OMP_NUM_THREADS`` is set already; the book's build sets its kernels' threads itself."""
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0"))
    if workers > 0:
        import torch

        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        threads = max(1, cores // workers)
        torch.set_num_threads(threads)
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, str(threads))


@pytest.fixture(scope="session")
def smoke_book(tmp_path_factory):
    """Build the whole book in smoke mode once per test session; return its output folder. Under
    ``make test`` (plugin ``tools.nbval_capture``) the labs are not executed again: the book renders
    them as nbval ran them earlier in the same session (any worker), else the build executes them.

    Yields a dict with ``out`` (the folder), ``html`` (rendered site), ``results`` (results.json),
    ``returncode`` and ``log`` (the build's output).
    """
    out = tmp_path_factory.mktemp("book")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    command = [sys.executable, str(ROOT / "tools" / "build.py"), "--smoke", "--out", str(out)]
    if "tools.nbval_capture" in sys.modules:  # make test: render the labs as nbval ran them this session
        from tools import nbval_capture
        from tools.course import toc_labs

        folder = nbval_capture.wait_for(toc_labs())
        if folder is not None:
            command += ["--executed-from", str(folder)]
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    results_path = out / "results.json"
    return {
        "out": out,
        "html": out / "html",
        "returncode": proc.returncode,
        "log": proc.stdout + proc.stderr,
        "results": json.loads(results_path.read_text()) if results_path.exists() else None,
    }


def batch_of(lengths, D=5, seed=0, garbage=9.0):
    """Padded hidden states ``H`` (batch, max_len + 2, D) for sequences of ``lengths`` (padding holds
    ``garbage``, so that a pooling that reads it is caught) and their padding mask."""
    import torch

    from seqlib.batching import padding_mask

    g = torch.Generator().manual_seed(seed)
    lengths = torch.tensor(lengths)
    H = torch.randn(len(lengths), int(lengths.max()) + 2, D, generator=g) - 1.0
    mask = padding_mask(lengths, H.shape[1])
    return torch.where(mask.unsqueeze(-1), H, torch.full_like(H, garbage)), mask


@pytest.fixture(autouse=True)
def _feedback_unwrapped(request, monkeypatch):
    """Checks' messages on one line each, so tests can match them whole; the wrapping that keeps
    them inside the book's column has its own test (marked ``wrapped``)."""
    if request.node.get_closest_marker("wrapped") is None:
        from seqlib.checks import feedback

        monkeypatch.setattr(feedback, "WIDTH", 10_000)
