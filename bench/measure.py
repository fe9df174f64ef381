"""One mover run in its own forked process: wall time, CPU time and peak RSS of that process.

The child resets its peak-RSS mark (``echo 5 > /proc/self/clear_refs``) after
its untimed set-up, so ``VmHWM`` afterwards is the peak while the method ran
(the interpreter inherited from the bench included; ``rss_growth_kib``
subtracts it). CPU time is getrusage(RUSAGE_SELF) of the child before and
after, so the bench's own work never counts.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from movephys.changes import child

MOVER_TIMEOUT_S = 1200.0
CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")


class MeasureError(RuntimeError):
    """The mover failed, crashed or ran out of time (one line)."""


@dataclass(frozen=True)
class Usage:
    wall_s: float
    user_s: float
    sys_s: float
    peak_rss_kib: int
    rss_growth_kib: int

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s


def status_kib(text: str, key: str) -> int:
    """A "Key:   1234 kB" value of /proc/PID/status text."""
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name == key:
            return int(value.split()[0])
    raise MeasureError(f"no {key} in /proc/self/status")


def reset_peak_rss() -> bool:
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


@dataclass(frozen=True)
class Mover:
    """What runs in the child: untimed set-up, the timed work, an untimed check."""

    prepare: Callable[[], Any]
    work: Callable[[Any], Any]
    check: Callable[[Any, Any], Any]  # (state, work's result) -> a picklable verdict


def _child(mover: Mover) -> tuple[Usage, Any]:
    state = mover.prepare()
    reset_peak_rss()  # when clear_refs refuses, the peak includes earlier life
    start_rss = status_kib(STATUS.read_text(), "VmRSS")
    before = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = mover.work(state)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    peak = status_kib(STATUS.read_text(), "VmHWM")
    usage = Usage(
        wall_s=wall,
        user_s=after.ru_utime - before.ru_utime,
        sys_s=after.ru_stime - before.ru_stime,
        peak_rss_kib=peak,
        rss_growth_kib=max(0, peak - start_rss),
    )
    return usage, mover.check(state, result)


def run_in_child(mover: Mover, timeout_s: float = MOVER_TIMEOUT_S) -> tuple[Usage, Any]:
    """Fork, run ``mover`` there, return its usage and verdict; a failure is a MeasureError."""
    try:
        return child.run_in_child(lambda: _child(mover), timeout=timeout_s)
    except child.ChildFailed as error:
        raise MeasureError(f"the mover failed: {str(error).splitlines()[0]}") from None
