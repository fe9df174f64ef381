"""Reaping the processes the bench forks, so none outlives it."""

from __future__ import annotations

import os
import signal
import time
from contextlib import suppress


def reap(pid: int, grace_s: float) -> None:
    """Wait up to ``grace_s`` for ``pid`` to exit, then kill it; always collect it."""
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return
        if done:
            return
        time.sleep(0.01)
    with suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with suppress(ChildProcessError):
        os.waitpid(pid, 0)
