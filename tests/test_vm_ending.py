"""How a guest ended, from what the host saw, and the runner's exit status."""

from __future__ import annotations

from pathlib import Path

import pytest

from movephys.vm import ending
from movephys.vm.boot import BootResult

DATA = Path(__file__).parent / "data"
OOPS_CONSOLE = (DATA / "console-oops-6.12.txt").read_text()
PANIC_TAIL = ("Kernel panic - not syncing: Fatal exception\nKernel Offset: disabled\n"
              "---[ end Kernel panic - not syncing: Fatal exception ]---\n")


def result(console: str, exit_code: int | None = None, stop_reason: str = "",
           qemu_status: int | None = 0) -> BootResult:
    return BootResult(exit_code=exit_code, output="", kernel_log="", console=console,
                      seconds=42.0, accel="tcg",
                      stop_reason=stop_reason, qemu_status=qemu_status)


def test_an_exit_code_is_a_finished_run() -> None:
    assert ending.ending_of(result("", exit_code=1)).kind == "finished"


def test_an_oops_that_panicked_is_a_crash_with_the_kernels_report() -> None:
    found = ending.ending_of(result(OOPS_CONSOLE + PANIC_TAIL))
    assert found.kind == "crashed" and found.kernel_broke
    assert found.reason == "kernel panic after 42 s: Fatal exception"
    assert found.report[0] == "BUG: unable to handle page fault for address: 0000000000002718"
    assert any("__x64_sys_move_phys_pages" in line for line in found.report)
    assert found.report[-1].startswith("---[ end Kernel panic")


def test_a_guest_stopped_by_the_runner_is_a_hang() -> None:
    found = ending.ending_of(result("booting\nrunning test_moves.py", stop_reason="no case "
                                    "ended for 91 s", qemu_status=None))
    assert (found.kind, found.reason) == ("hung", "no case ended for 91 s")
    assert found.report[-1] == "running test_moves.py"


def test_qemu_dying_without_a_kernel_report_is_the_harness() -> None:
    console = "Linux version 6.12.117\nqemu-system-x86_64: msix_table_mmio_write: Assertion failed"
    found = ending.ending_of(result(console, qemu_status=134))
    assert found.kind == "harness" and not found.kernel_broke
    assert "with status 134" in found.reason and "Assertion failed" in found.reason


@pytest.mark.parametrize(("pytest_status", "kind", "problems", "expected"), [
    (0, "finished", 0, ending.EXIT_PASSED),
    (0, "finished", 1, ending.EXIT_FAILED),
    (1, "finished", 0, ending.EXIT_FAILED),
    (4, "finished", 0, ending.EXIT_HARNESS),
    (5, "finished", 0, ending.EXIT_NO_TESTS),
    (None, "crashed", 0, ending.EXIT_KERNEL),
    (None, "hung", 0, ending.EXIT_KERNEL),
    (None, "harness", 0, ending.EXIT_HARNESS),
], ids=["passed", "splat", "failed", "usage", "no-tests", "crashed", "hung", "qemu"])
def test_suite_status(pytest_status: int | None, kind: ending.Kind, problems: int,
                      expected: int) -> None:
    assert ending.suite_status(pytest_status, ending.Ending(kind, ""), problems) == expected


def test_a_command_keeps_its_own_status_unless_the_kernel_broke() -> None:
    finished = ending.Ending("finished", "")
    assert ending.command_status(7, finished, 0) == 7
    assert ending.command_status(0, finished, 2) == ending.EXIT_FAILED
    assert ending.command_status(None, ending.Ending("crashed", "x"), 0) == ending.EXIT_KERNEL
