"""Automatic NUMA balancing: off for a run, then back to what it was.

The kernel's balancer migrates pages behind a test's back, so a check of a
page's node could see its work instead of the syscall's. The knob is
machine-wide: under pytest-xdist only one process (the controller) should
call :func:`disable` and :func:`restore`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

KNOB = Path("/proc/sys/kernel/numa_balancing")


@dataclass(frozen=True)
class Saved:
    """What :func:`restore` needs: the knob and its value before, or why nothing was done."""

    knob: Path
    value: str | None  # None: absent, unreadable or already off, so nothing to restore
    note: str  # one line for logs: "was 1, now 0", "absent (kernel without NUMA_BALANCING)"


def parse_setting(text: str) -> int:
    """The knob's value: 0 off, 1 NUMA_BALANCING_NORMAL, 2 MEMORY_TIERING, 3 both."""
    return int(text.strip())


def disable(knob: Path = KNOB) -> Saved:
    """Turn balancing off; a missing or read-only knob is a note, not an error."""
    try:
        before = knob.read_text().strip()
    except FileNotFoundError:
        return Saved(knob, None, f"{knob} absent (kernel without NUMA_BALANCING)")
    except OSError as error:
        return Saved(knob, None, f"{knob} unreadable ({error.strerror})")
    if parse_setting(before) == 0:
        return Saved(knob, None, f"{knob} already 0")
    try:
        knob.write_text("0")
    except OSError as error:
        return Saved(knob, None, f"{knob} is {before} and could not be set to 0 ({error.strerror})")
    return Saved(knob, before, f"{knob} was {before}, now 0")


def restore(saved: Saved) -> None:
    """Put back the value :func:`disable` found (best effort: never raises)."""
    if saved.value is None:
        return
    with suppress(OSError):
        saved.knob.write_text(saved.value)


@contextmanager
def disabled(knob: Path = KNOB) -> Iterator[Saved]:
    """Balancing off inside the block, restored on exit whatever happens."""
    saved = disable(knob)
    try:
        yield saved
    finally:
        restore(saved)
