"""How a guest's run ended, and the runner's exit status that says so.

Four endings, told apart from what the host saw:

- finished: the guest's command reported an exit code;
- crashed: the kernel panicked (an oops, a BUG, a soft lockup or a hung
  task: the reference configs and the boot options make each one panic);
- hung: the runner stopped a guest that no longer made progress, or ran
  past its bound, without a panic;
- harness: QEMU or virtme-ng ended without the kernel saying anything (a
  QEMU assertion, a missing file): ours to fix, not the kernel's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from movephys.probes.kmsg import kernel_report, panic_reason
from movephys.vm.boot import BootResult

# The runner's exit status (README lists them).
EXIT_PASSED = 0  # every case passed or was skipped, and the kernel log is clean
EXIT_FAILED = 1  # cases failed or broke, or the kernel log reports a problem
EXIT_HARNESS = 2  # bad input, a build that failed, QEMU or pytest itself broke
EXIT_KERNEL = 3  # the kernel crashed or hung: the run ended early, results kept
EXIT_NO_TESTS = 5  # pytest collected nothing (as pytest says it)
EXIT_INTERRUPTED = 130

# pytest's own statuses (ExitCode): interrupted, internal error, usage error.
_PYTEST_HARNESS = (2, 3, 4)

Kind = Literal["finished", "crashed", "hung", "harness"]
CONSOLE_TAIL_LINES = 20


@dataclass(frozen=True)
class Ending:
    kind: Kind
    reason: str  # one line; "" when finished
    report: tuple[str, ...] = ()  # the kernel's report from the console, or its last lines

    @property
    def kernel_broke(self) -> bool:
        return self.kind in ("crashed", "hung")


def ending_of(result: BootResult) -> Ending:
    if result.exit_code is not None:
        return Ending("finished", "")
    report = tuple(kernel_report(result.console))
    panic = panic_reason(result.console)
    if panic is not None:
        return Ending("crashed", f"kernel panic after {result.seconds:.0f} s: {panic}", report)
    if result.stop_reason:
        return Ending("hung", result.stop_reason, report or _tail(result.console))
    if report:
        return Ending("crashed", f"the guest died after {result.seconds:.0f} s: {report[0]}",
                      report)
    status = "" if result.qemu_status is None else f" with status {result.qemu_status}"
    tail = _tail(result.console)
    return Ending("harness", f"QEMU (virtme-ng) ended{status} after {result.seconds:.0f} s "
                  f"before the guest reported, and the kernel reported nothing; console ends: "
                  f"{' | '.join(tail[-3:])}", tail)


def _tail(console: str) -> tuple[str, ...]:
    return tuple(console.strip().splitlines()[-CONSOLE_TAIL_LINES:])


def suite_status(pytest_status: int | None, ending: Ending, kernel_problems: int) -> int:
    """The runner's status for a suite run: kernel breakage first, then what pytest said."""
    if ending.kernel_broke:
        return EXIT_KERNEL
    if ending.kind == "harness" or pytest_status is None or pytest_status in _PYTEST_HARNESS:
        return EXIT_HARNESS
    if pytest_status == EXIT_NO_TESTS:
        return EXIT_NO_TESTS
    if pytest_status != 0 or kernel_problems:
        return EXIT_FAILED
    return EXIT_PASSED


def command_status(exit_code: int | None, ending: Ending, kernel_problems: int) -> int:
    """The runner's status for any other command: its own, unless the kernel broke."""
    if ending.kernel_broke:
        return EXIT_KERNEL
    if exit_code is None:
        return EXIT_HARNESS
    return EXIT_FAILED if exit_code == 0 and kernel_problems else exit_code
