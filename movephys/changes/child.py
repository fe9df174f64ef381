"""Forked children: one that runs a callable and brings back its result, and one
that holds pages mapped until released.

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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar, cast

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
    return cast(T, value)  # what function returned, pickled in the child


def _describe(wait_status: int) -> str:
    if os.WIFSIGNALED(wait_status):
        return f"killed by signal {os.WTERMSIG(wait_status)}"
    return f"exit status {os.WEXITSTATUS(wait_status)}"


@contextmanager
def holding_child(setup: Callable[[], T]) -> Iterator[tuple[int, T]]:
    """A child that runs setup, reports its result, and stays alive until the block ends.

    Used for pages another process must keep mapped (shared pages, a page of
    a process in a cpuset) while the test calls.
    """
    result_read, result_write = os.pipe()
    hold_read, hold_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(result_read)
        os.close(hold_write)
        try:
            payload = pickle.dumps(("ok", setup()))
        except BaseException:  # noqa: B036 - every failure must reach the parent
            payload = pickle.dumps(("error", traceback.format_exc()))
        try:
            with os.fdopen(result_write, "wb") as pipe:
                pipe.write(payload)
            os.read(hold_read, 1)  # returns when the parent closes its end
        finally:
            os._exit(0)
    os.close(result_write)
    os.close(hold_read)
    try:
        with os.fdopen(result_read, "rb") as pipe:
            data = pipe.read()
        if not data:
            raise ChildFailed(f"child {pid} died without a result")
        kind, value = pickle.loads(data)
        if kind == "error":
            raise ChildFailed(f"child {pid} raised:\n{value}")
        yield pid, value
    finally:
        os.close(hold_write)
        os.waitpid(pid, 0)
