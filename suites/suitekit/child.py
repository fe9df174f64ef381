"""A child process that keeps pages mapped while the test calls.

One-shot calls in a child (credentials dropped) use
movephys.probes.child.run_in_child; this one stays alive until released.
"""

from __future__ import annotations

import os
import pickle
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from movephys.probes.child import ChildFailed

T = TypeVar("T")


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
        except BaseException:  # every failure must reach the parent
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
