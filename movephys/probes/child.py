"""Run a Python callable in a forked child and bring back its result.

Privilege changes (uid, capabilities, user namespaces) happen in the child
so the test process keeps its own credentials whatever the case does. The
child is always reaped: on timeout it is killed with SIGKILL first.
"""

from __future__ import annotations

import os
import pickle
import select
import signal
import time
import traceback
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 30.0


class ChildFailed(RuntimeError):
    """The child raised, timed out or died without a result (the message says which)."""


def _child_main(
    write_end: int, setup: Callable[[], None] | None, function: Callable[[], object]
) -> None:
    try:
        if setup is not None:
            setup()
        payload = pickle.dumps(("ok", function()))
    except BaseException as error:  # noqa: B036 - every failure must reach the parent
        text = "".join(traceback.format_exception(error)).rstrip()
        payload = pickle.dumps(("error", f"{type(error).__name__}: {error}\n{text}"))
    try:
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(0)


def _read_all(read_end: int, deadline: float) -> bytes | None:
    """Everything the child writes, or None when the deadline passes first."""
    chunks: list[bytes] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        ready, _, _ = select.select([read_end], [], [], left)
        if not ready:
            return None
        chunk = os.read(read_end, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run_in_child(
    function: Callable[[], T],
    *,
    setup: Callable[[], None] | None = None,
    timeout: float = DEFAULT_TIMEOUT_S,
) -> T:
    """fork; in the child run ``setup`` (e.g. drop privileges) then ``function``; return its result.

    The result must be picklable. Exceptions in the child become
    :class:`ChildFailed` here, with the child's traceback in the message.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_end)
        _child_main(write_end, setup, function)
    os.close(write_end)
    data: bytes | None = None
    try:
        data = _read_all(read_end, time.monotonic() + timeout)
    finally:
        os.close(read_end)
        if data is None:
            os.kill(pid, signal.SIGKILL)
        _, wait_status = os.waitpid(pid, 0)
    if data is None:
        raise ChildFailed(f"child {pid} gave no result within {timeout:.0f} s and was killed")
    if not data:
        raise ChildFailed(f"child {pid} died without a result ({_describe(wait_status)})")
    kind, value = pickle.loads(data)
    if kind == "error":
        raise ChildFailed(f"child {pid} raised {value}")
    return value


def _describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return f"killed by signal {os.WTERMSIG(wait_status)}"
    return f"exit status {os.WEXITSTATUS(wait_status)}"
