"""Watch a suite run's case stream from the host, and stop a guest that stalls.

pytest-timeout ends a case that overruns in user space; a case still
running well past that timeout means the kernel itself is stuck, without a
panic (the lockup and hung-task detectors did not fire). A kernel that
reported a problem on the console (an oops, a BUG) and then makes no
progress is stuck sooner: an oops inside the oops handler never reaches
the panic. The run's overall bound follows from the case count and the
per-case timeout, not from a fixed number.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from movephys.casestream import Stream, StreamError, read_stream
from movephys.probes.kmsg import is_splat

GRACE_SECONDS = 30.0  # past a case's timeout, for pytest-timeout to act and report
STARTUP_TIMEOUTS = 5  # boot, interpreter start and collection: five case timeouts
FINISH_SECONDS = 120.0  # from the session's end to the guest's exit (dmesg, JUnit)
# After a kernel report with no progress since: a quarter of a case timeout,
# at least three times the slowest case of the lean kernel under TCG.
MIN_REPORT_GRACE_SECONDS = 15.0


@dataclass(frozen=True)
class Budget:
    case_timeout: float

    @property
    def startup(self) -> float:
        return STARTUP_TIMEOUTS * self.case_timeout

    @property
    def after_report(self) -> float:
        return max(MIN_REPORT_GRACE_SECONDS, self.case_timeout / 4)

    def overall(self, cases: int) -> float:
        """The bound for a whole run of @cases: every case at its timeout."""
        return self.startup + cases * (self.case_timeout + GRACE_SECONDS) + FINISH_SECONDS


class SuiteWatch:
    """Called by the boot loop with the seconds since boot; returns why to stop, or None."""

    def __init__(self, stream: Path, budget: Budget) -> None:
        self.path = stream
        self.budget = budget
        self.size = -1
        self.state = Stream(None, (), None, None)
        self.changed_at = 0.0  # seconds since boot when the stream last grew
        self.scanned = 0  # console lines already searched for kernel reports
        self.reported: tuple[float, str] | None = None  # the first report since a change

    def _refresh(self, elapsed: float) -> None:
        try:
            size = os.stat(self.path).st_size
        except OSError:
            return
        if size == self.size:
            return
        try:
            self.state = read_stream(self.path)
        except StreamError:
            return  # a line in the middle of being written: read it next time
        self.size = size
        self.changed_at = elapsed
        self.reported = None

    def _scan(self, elapsed: float, console: Sequence[str]) -> None:
        for line in console[self.scanned:]:
            if self.reported is None and is_splat(line):
                self.reported = (elapsed, line.strip())
        self.scanned = len(console)

    def __call__(self, elapsed: float, console: Sequence[str] = ()) -> str | None:
        self._refresh(elapsed)
        self._scan(elapsed, console)
        state = self.state
        # Only while cases run: a boot warning must not cut a slow boot short.
        if self.reported is not None and state.collected is not None and not state.complete:
            since, line = self.reported
            if elapsed - since > self.budget.after_report:
                return (f"the kernel reported \"{line[:120]}\" and made no progress for "
                        f"{elapsed - since:.0f} s after it")
        if state.collected is None:
            if elapsed > self.budget.startup:
                return (f"the suite had not started after {elapsed:.0f} s (boot and collection "
                        f"get {self.budget.startup:.0f} s)")
            return None
        if state.complete:
            if elapsed - self.changed_at > FINISH_SECONDS:
                return f"the guest did not exit within {FINISH_SECONDS:.0f} s of the suite's end"
            return None
        quiet = elapsed - self.changed_at
        limit = self.budget.case_timeout + GRACE_SECONDS
        if quiet > limit:
            where = f" in {state.running}" if state.running else " between cases"
            return (f"no case ended for {quiet:.0f} s{where}: the kernel stopped making "
                    f"progress (the case timeout is {self.budget.case_timeout:.0f} s)")
        if elapsed > self.budget.overall(state.collected):
            return (f"the run exceeded {self.budget.overall(state.collected):.0f} s, the bound "
                    f"for {state.collected} cases")
        return None
