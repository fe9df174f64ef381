"""Run the conformance suite once on a mutant kernel, and say whether it noticed.

The suite runs as `python -m movephys.vm suite` runs it (run_suite: the
destructive cases included, the kernel log checked for splats, each case
bounded, a kernel that stalls stopped), in the NUMA layout that command
gives the suite. Outcomes: killed (the suite failed), survived (it passed),
crashed (the kernel panicked), timeout (the kernel hung) and harness-error
(QEMU or pytest broke: the run says nothing about the mutant). A crashed or
hung kernel counts as killed: it was visibly broken.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from movephys.mutants.report import SuiteReport, read_optional_report
from movephys.vm import boot
from movephys.vm import run as vm_run
from movephys.vm.ending import EXIT_HARNESS, Ending

Outcome = Literal["killed", "survived", "crashed", "timeout", "harness-error"]
KILLING_OUTCOMES: tuple[str, ...] = ("killed", "crashed", "timeout")
HARNESS_ERROR: Outcome = "harness-error"


@dataclass(frozen=True)
class SuiteRun:
    outcome: Outcome
    exit_code: int | None  # the runner's status (movephys.vm.ending)
    seconds: float
    failing: tuple[str, ...]  # case ids, from junit.xml
    cases: int  # cases in junit.xml (0 without one)
    skipped: int  # of those, skipped: a survivor with many skips proves less
    note: str  # why, when the failing cases alone do not say it


def suite_options(debug: bool, accel: boot.Accel, cache_dir: Path, echo: bool,
                  timeout: float | None = None) -> vm_run.VmOptions:
    """The options `python -m movephys.vm suite` boots with: its NUMA layout, its bounds."""
    return vm_run.VmOptions(
        nodes=vm_run.suite_nodes(), accel=accel, timeout=timeout, cache_dir=cache_dir,
        echo=echo, case_timeout=vm_run.DEBUG_CASE_TIMEOUT if debug else vm_run.CASE_TIMEOUT)


def classify(exit_code: int | None, ending: Ending, report: SuiteReport | None,
             report_problem: str, kernel_problems: tuple[str, ...]) -> tuple[Outcome, str]:
    """The outcome of one run, and a note for what the failing cases do not show.

    @exit_code is the runner's status (movephys.vm.ending), None without one.
    """
    notes = []
    if kernel_problems:
        notes.append(f"kernel log: {kernel_problems[0].strip()}")
    outcome: Outcome
    if ending.kind == "crashed":
        outcome = "crashed"
    elif ending.kind == "hung":
        outcome = "timeout"
    elif ending.kind == "harness" or exit_code in (None, EXIT_HARNESS):
        outcome = HARNESS_ERROR
    elif exit_code == 0:
        outcome = "survived"
    else:
        outcome = "killed"
        if report is None:
            notes.insert(0, f"suite exit {exit_code}, {report_problem}")
        elif not report.failing and not kernel_problems:
            notes.insert(0, f"suite exit {exit_code} with no failing case")
    if ending.reason:
        notes.insert(0, ending.reason)
    if outcome == "survived" and report is None:
        notes.append(report_problem)
    return outcome, "; ".join(notes)


def run_suite(kernel: vm_run.Kernel, options: vm_run.VmOptions, results: Path,
              pytest_args: list[str]) -> SuiteRun:
    """One suite run in the VM; results (junit.xml, logs) go to @results."""
    started = time.monotonic()
    job = vm_run.run_suite(kernel, options, results, pytest_args)
    seconds = time.monotonic() - started
    # After a crash this is the salvaged file: the finished cases and the crashed one.
    report, report_problem = read_optional_report(results / "junit.xml")
    outcome, note = classify(job.exit_code, job.ending, report, report_problem,
                             job.kernel_problems)
    return SuiteRun(outcome, job.exit_code, seconds, report.failing if report else (),
                    report.cases if report else 0, report.skipped if report else 0, note)
