"""A check answers an endless loop in a real Jupyter kernel, as in a lab (issue 24).

The kernel is started with jupyter_client over IPC sockets (as ``tools/execute.py`` drives the labs'
kernels) with ``SEQLIB_CHECK_LIMIT=1``; a cell defines a student's function that never returns and
calls a check, once in the kernel's main thread (the time limit by SIGALRM) and once from another
thread (the daemon-thread fallback used where there is no SIGALRM).
"""

from __future__ import annotations

import os
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIMIT, MARGIN = 1.0, 5.0  # seconds: the check must answer within the limit and this margin

CELL = textwrap.dedent("""
    import threading, time
    from seqlib.checks.day08 import check_log_partition

    def log_partition(emissions, transitions, start, end):
        while True:
            pass

    start = time.monotonic()
    verdict = check_log_partition(log_partition)
    print(f"main thread: {verdict!r} after {time.monotonic() - start:.1f} s")
    box = {}
    worker = threading.Thread(target=lambda: box.update(verdict=check_log_partition(log_partition)))
    start = time.monotonic()
    worker.start()
    worker.join(60)
    print(f"other thread: {box.get('verdict')!r} after {time.monotonic() - start:.1f} s")
""")


def test_a_check_answers_an_endless_loop_in_a_jupyter_kernel(tmp_path):
    from jupyter_client.manager import KernelManager

    env = dict(os.environ, SEQLIB_CHECK_LIMIT=str(LIMIT),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    manager = KernelManager(kernel_name="python3", transport="ipc", ip=str(tmp_path / "kernel"))
    manager.start_kernel(env=env, cwd=str(tmp_path))
    client = manager.client()
    try:
        client.start_channels()
        client.wait_for_ready(timeout=120)
        printed = []

        def collect(msg):
            if msg["msg_type"] == "stream":
                printed.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                printed.append("\n".join(msg["content"]["traceback"]))

        reply = client.execute_interactive(CELL, timeout=180, output_hook=collect)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    out = "".join(printed)
    assert reply["content"]["status"] == "ok", out
    assert out.count(f"log_partition did not return within {LIMIT:g} s - an endless loop?") == 2, out
    for where in ("main thread", "other thread"):
        line = next(line for line in out.splitlines() if line.startswith(where))
        assert "Verdict(False)" in line, out
        assert float(line.split(" after ")[1].split()[0]) < LIMIT + MARGIN, out


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))
