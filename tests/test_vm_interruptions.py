"""An interrupted run cleans up after itself and says what it finished (boots the VM).

Marked `boots`: `tox -e unit` leaves them out, `tox -e guest` runs them (CI
does, after the suite). Each case boots the reference kernel once under
QEMU, starts the suite, and interrupts it mid-case.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kunit_tool import kunit_parser

from movephys import junit
from movephys.casestream import read_stream
from movephys.locations import data_root
from movephys.vm import run
from movephys.vm.ending import EXIT_HARNESS, EXIT_INTERRUPTED

pytestmark = pytest.mark.boots

WAIT_SECONDS = 900.0  # boot and a few cases under TCG on a loaded machine
FINISHED_BEFORE_INTERRUPT = 3


@pytest.fixture(scope="module")
def kernel() -> run.Kernel:
    return run.build_kernel()


@dataclass
class Runner:
    process: subprocess.Popen[str]
    results: Path

    def wait_for_cases(self, count: int) -> None:
        """Until @count cases have ended and another is running."""
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            stream = read_stream(self.results / run.STREAM_FILE)
            if len(stream.finished) >= count and stream.running:
                return
            if self.process.poll() is not None:
                pytest.fail(f"the runner ended ({self.process.returncode}) before {count} cases")
            time.sleep(0.2)
        pytest.fail(f"{count} cases did not finish within {WAIT_SECONDS:.0f} s")

    def finish(self) -> tuple[int, str]:
        _, stderr = self.process.communicate(timeout=120)
        return self.process.returncode, stderr


@pytest.fixture
def runner(kernel: run.Kernel, tmp_path: Path) -> Iterator[Runner]:
    results = tmp_path / "results"
    command = [sys.executable, "-m", "movephys.vm", "suite", "--quiet",
               "--bzimage", str(kernel.image), "--headers", str(kernel.headers),
               "--results", str(results), "--", "-k", "geometry"]
    # A runner started from a background job inherits SIGINT ignored, and
    # Python then installs no KeyboardInterrupt handler: give it the default.
    process = subprocess.Popen(command, cwd=data_root(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    started = Runner(process, results)
    try:
        yield started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def guest_processes(results: Path) -> list[str]:
    """QEMU, vng or virtiofsd processes of this run (their command lines name @results)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if str(results) in cmdline and "pytest" not in cmdline.split()[0]:
            found.append(f"{entry.name}: {cmdline[:120]}")
    return found


def scratch_dirs(runner_pid: int) -> list[str]:
    """virtme-ng scratch directories of the runner with @runner_pid (boot names them so)."""
    return [path.name for path in Path("/tmp").glob(f"movephys-vng-{runner_pid}-*")]


def assert_left_clean(runner: Runner, kernel: run.Kernel) -> None:
    assert guest_processes(runner.results) == []
    assert scratch_dirs(runner.process.pid) == [], "virtme-ng's scratch directory was left"
    started = time.monotonic()
    rebuilt = run.build_kernel()
    assert rebuilt.image == kernel.image and time.monotonic() - started < 30, (
        "the kernel cache was not reused after the interruption")


def finished_cases(results: Path) -> dict[str, junit.CaseOutcome]:
    parser = kunit_parser()
    test = parser.parse_run_tests((results / "results.ktap").read_text().splitlines())
    assert test.counts.errors == 0
    return junit.read_outcomes(results / "junit.xml")


def test_sigint_to_the_runner(runner: Runner, kernel: run.Kernel) -> None:
    runner.wait_for_cases(FINISHED_BEFORE_INTERRUPT)
    os.kill(runner.process.pid, signal.SIGINT)
    status, stderr = runner.finish()
    assert status == EXIT_INTERRUPTED, stderr
    last = stderr.strip().splitlines()[-1]
    assert last.startswith("movephys.vm: interrupted; kept ") and "case(s) finished" in last
    outcomes = finished_cases(runner.results)
    assert sum(found.outcome == junit.PASSED for found in outcomes.values()) >= (
        FINISHED_BEFORE_INTERRUPT)
    assert_left_clean(runner, kernel)


def test_guest_killed_mid_case(runner: Runner, kernel: run.Kernel) -> None:
    runner.wait_for_cases(FINISHED_BEFORE_INTERRUPT)
    qemu = [int(line.split(":")[0]) for line in guest_processes(runner.results)
            if "qemu-system" in line]
    assert qemu, "no QEMU process of this run found"
    for pid in qemu:
        os.kill(pid, signal.SIGKILL)
    status, stderr = runner.finish()
    assert status == EXIT_HARNESS, stderr
    assert "the harness broke: QEMU (virtme-ng) ended" in stderr
    outcomes = finished_cases(runner.results)
    broken = [case for case, found in outcomes.items() if found.outcome == junit.ERROR]
    assert len(broken) == 1 and "the run ended during this case" in outcomes[broken[0]].message
    assert_left_clean(runner, kernel)
