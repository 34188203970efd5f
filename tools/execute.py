"""Execute one lab with papermill: the one function the build and the normaliser share.

    entry = run_lab(lab, out, smoke=True, timeout=300)

* The kernel talks to papermill over **IPC sockets** (files in a private temporary folder),
  not TCP ports on 127.0.0.1: no two kernels started at once can race for a port, and nothing
  listens on the network.
* The client's channels wait for kernel messages in slices (:func:`_kernel_manager` says why):
  this removes the cause of the build's hangs (a missed wake-up of the client's socket poll
  while a widget cell runs).
* Each run happens in a **child process** (started by a fork server, safe from threads). If it has no result after ``limit`` seconds (the
  notebook client or kernel hung: both waiting for a message neither will send), the child is
  stopped, which ends its kernel, and the lab runs once more. This guard says so loudly:
  ``entry["hangs"]`` counts the attempts it stopped, and a warning is printed. It should never
  fire; the build's table shows it when it does.
* ``threads`` sets the kernel's CPU threads (``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS``),
  so that labs executed side by side do not fight for the cores.

Returns an entry ``{"status": "ok" | "failed", "error": str | None, "seconds": float,
"hangs": int}``. The executed notebook is at ``out`` when the run got that far (for a failed
run, papermill's copy up to the failing cell, which shows the error); an older ``out`` is
always removed first, so nothing of a previous run can pass for this one.
"""

from __future__ import annotations

import multiprocessing
import os
import shutil
import tempfile
import time
from pathlib import Path

KERNEL = "python3"
# A whole lab may take at most this long (seconds) before it counts as hung.
LAB_LIMIT = {True: 240, False: 3600}  # smoke labs take well under a minute, full ones minutes
ATTEMPTS = 2


# How long one wait for a kernel message may last before the socket is looked at again (seconds).
POLL_SLICE = 0.5


def _kernel_manager(folder: str, transport: str):
    """An ``AsyncKernelManager`` for one lab: IPC sockets in ``folder`` (or TCP), patient channels.

    **Why the channels are patient.** nbclient waits for a cell's reply with
    ``shell_channel.get_msg(timeout=None)``, an asyncio poll of the client's shell socket. While
    a cell that draws into an ipywidgets ``Output`` runs (``slider_plot``, ``text_view``), nbclient
    mimics the widget and sends its state back to the kernel *on that same socket*. About one
    such cell in 25 (widget notebook, 4 at a time), the kernel's reply then sits in the socket
    (``zmq.EVENTS`` has ``POLLIN``) while the poll waiting for it is never woken: client and
    kernel both idle for ever (nbclient issue 312). Waiting in slices of ``POLL_SLICE`` seconds
    makes each new poll look at the socket itself, so a missed wake-up costs at most one slice.
    """
    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.channels import AsyncZMQSocketChannel
    from jupyter_client.manager import AsyncKernelManager
    from traitlets import Type

    class PatientChannel(AsyncZMQSocketChannel):
        async def get_msg(self, timeout: float | None = None):
            from queue import Empty

            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = POLL_SLICE if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    return await super().get_msg(timeout=min(POLL_SLICE, left))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

    class PatientClient(AsyncKernelClient):
        shell_channel_class = Type(PatientChannel)
        iopub_channel_class = Type(PatientChannel)
        stdin_channel_class = Type(PatientChannel)
        control_channel_class = Type(PatientChannel)

    class LabKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.client_factory = PatientClient
            if transport == "ipc":
                self.transport = "ipc"
                self.ip = os.path.join(folder, "kernel")

    return LabKernelManager


def run_lab(lab: Path, out: Path, *, smoke: bool, timeout: int, limit: float | None = None,
            env: dict | None = None, threads: int | None = None, log=print, transport: str = "ipc") -> dict:
    """Execute ``lab`` into ``out`` with papermill (working directory: the lab's folder).

    ``smoke`` sets ``SEQLIB_SMOKE`` for the kernel; ``timeout`` is papermill's per-cell limit;
    ``limit`` (default ``LAB_LIMIT[smoke]``) the whole run's, after which the run counts as hung
    and is started again (``ATTEMPTS`` in all); ``env`` adds environment variables for the kernel.
    ``transport="tcp"`` runs the kernel over TCP as Jupyter does by default (for comparison only).
    """
    if transport not in ("ipc", "tcp"):
        raise ValueError(f"transport must be 'ipc' or 'tcp', got {transport!r}")
    limit = limit or LAB_LIMIT[smoke]
    start = time.perf_counter()
    # forkserver, not fork: the build calls this from several threads at once, and a fork taken
    # while another thread holds a lock (stdout's, logging's) can leave the child waiting forever.
    context = multiprocessing.get_context("forkserver")
    hangs = 0
    entry = None
    for attempt in range(1, ATTEMPTS + 1):
        if out.exists():
            out.unlink()  # never leave an older run's output behind
        queue = context.Queue()
        ipc_folder = tempfile.mkdtemp(prefix="seqlib-kernel-")  # removed here even if the child is killed
        child = context.Process(target=_run_in_child, args=(lab, out, smoke, timeout, dict(env or {}),
                                                            threads, transport, ipc_folder, queue))
        child.start()
        child.join(limit)
        if child.is_alive():  # hung: the kernel dies with its parent (ipykernel's parent poller)
            child.kill()
            child.join()
            shutil.rmtree(ipc_folder, ignore_errors=True)
            hangs += 1
            entry = {"status": "failed", "error": f"no result after {limit:.0f} s (attempt {attempt} of "
                                                  f"{ATTEMPTS}): the notebook client or kernel hung"}
            log(f"    WARNING: {lab.stem}: {entry['error']}; the hang guard stopped it"
                + ("; running it again" if attempt < ATTEMPTS else ""))
            continue
        entry = queue.get() if not queue.empty() else {
            "status": "failed", "error": f"the papermill process ended with exit code {child.exitcode}"}
        shutil.rmtree(ipc_folder, ignore_errors=True)
        break
    entry["seconds"] = round(time.perf_counter() - start, 1)
    entry["hangs"] = hangs
    return entry


def _run_in_child(lab: Path, out: Path, smoke: bool, timeout: int, env: dict, threads, transport,
                  ipc_folder: str, queue) -> None:
    """Body of :func:`run_lab`, in the child process: papermill, then the entry into ``queue``."""
    import papermill

    os.environ.update({"SEQLIB_SMOKE": "1" if smoke else "0", **env})
    if threads:
        os.environ.update(OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads))
    entry = {"status": "ok", "error": None}
    try:
        papermill.execute_notebook(
            str(lab), str(out), cwd=str(lab.parent), kernel_name=KERNEL,
            progress_bar=False, execution_timeout=timeout, log_output=False,
            kernel_manager_class=_kernel_manager(ipc_folder, transport),
        )
    except papermill.PapermillExecutionError as err:
        source = err.source if isinstance(err.source, str) else "".join(err.source)
        first = "\n".join("      | " + line for line in source.splitlines()[:6])
        entry = {"status": "failed",
                 "error": f"cell {err.cell_index} (execution count {err.exec_count}): "
                          f"{err.ename}: {err.evalue}\n{first}"}
    except Exception as err:  # kernel died, timeout, unreadable notebook
        entry = {"status": "failed", "error": f"{type(err).__name__}: {err}"}
    queue.put(entry)
