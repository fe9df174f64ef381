"""Serialising changes to machine-wide knobs across pytest-xdist workers."""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def machine_lock(knob: Path) -> Iterator[None]:
    """Hold an exclusive flock on the knob's own file while changing and restoring it.

    Parallel workers that each saved and restored a shared sysfs value would
    restore each other's changes; under this lock each change is restored
    before the next worker reads the value. Locking the knob itself leaves no
    lock file behind.
    """
    with knob.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


# Every case holds this shared, a destructive one exclusively: offlining memory
# migrates every page in the block, and exhausting a node fails allocations,
# which would disturb cases running at the same time in other workers.
CASE_LOCK = Path("/sys/devices/system/node/possible")


@contextmanager
def case_lock(exclusive: bool) -> Iterator[None]:
    if not CASE_LOCK.exists():
        yield
        return
    with CASE_LOCK.open("rb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
