"""Run the conformance suite once on a mutant kernel, and say whether it noticed.

The suite runs as `python -m movephys.vm suite` runs it (run_suite: the
destructive cases included, the kernel log checked for splats), in the
NUMA layout that command gives the suite, with a bound on the guest's time.
Outcomes: killed (the suite failed), survived (it passed), crashed (the
guest died without an exit code) and timeout (the bound was hit). A
crashed or timed-out guest counts as killed: the kernel was visibly broken.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from movephys.mutants.report import SuiteReport, read_optional_report
from movephys.probes.kmsg import problem_lines
from movephys.vm import boot
from movephys.vm import run as vm_run
from movephys.vm.errors import RunnerError

DEFAULT_TIMEOUT = 600.0  # seconds per suite run on the lean kernel
DEBUG_TIMEOUT = 1800.0  # KASAN and lockdep under TCG run the suite several times slower

Outcome = Literal["killed", "survived", "crashed", "timeout"]
KILLING_OUTCOMES: tuple[str, ...] = ("killed", "crashed", "timeout")


@dataclass(frozen=True)
class SuiteRun:
    outcome: Outcome
    exit_code: int | None  # the suite's, None when the guest never reported one
    seconds: float
    failing: tuple[str, ...]  # case ids, from junit.xml
    cases: int  # cases in junit.xml (0 without one)
    skipped: int  # of those, skipped: a survivor with many skips proves less
    note: str  # why, when the failing cases alone do not say it


def suite_options(timeout: float, accel: boot.Accel, cache_dir: Path, echo: bool
                  ) -> vm_run.VmOptions:
    """The options `python -m movephys.vm suite` boots with: its NUMA layout, our bound."""
    return vm_run.VmOptions(nodes=vm_run.suite_nodes(), accel=accel, timeout=timeout,
                            cache_dir=cache_dir, echo=echo)


def classify(exit_code: int | None, timed_out: bool, report: SuiteReport | None,
             report_problem: str, kernel_problems: tuple[str, ...]) -> tuple[Outcome, str]:
    """The outcome of one run, and a note for what the failing cases do not show."""
    notes = []
    if kernel_problems:
        notes.append(f"kernel log: {kernel_problems[0].strip()}")
    if exit_code is None:
        outcome: Outcome = "timeout" if timed_out else "crashed"
    elif exit_code == 0:
        outcome = "survived"
    else:
        outcome = "killed"
        if report is None:
            notes.insert(0, f"suite exit {exit_code}, {report_problem}")
        elif not report.failing and not kernel_problems:
            notes.insert(0, f"suite exit {exit_code} with no failing case")
    if outcome != "killed" and report is None and exit_code is not None:
        notes.append(report_problem)
    return outcome, "; ".join(notes)


def run_suite(kernel: vm_run.Kernel, options: vm_run.VmOptions, results: Path,
              pytest_args: list[str]) -> SuiteRun:
    """One suite run in the VM; results (junit.xml, logs) go to @results."""
    results.mkdir(parents=True, exist_ok=True)
    junit = results / "junit.xml"
    # A file left by an earlier run would be read as this run's verdict.
    junit.unlink(missing_ok=True)
    started = time.monotonic()
    exit_code: int | None
    try:
        job = vm_run.run_suite(kernel, options, results, pytest_args)
        exit_code, problems, error = job.exit_code, job.kernel_problems, ""
    except RunnerError as failure:
        # The guest never reported an exit code; its console says why.
        console = results / "vm" / "console.log"
        text = console.read_text(errors="replace") if console.exists() else ""
        exit_code, problems, error = None, tuple(problem_lines(text)), str(failure)
    seconds = time.monotonic() - started
    report, report_problem = read_optional_report(junit)
    outcome, note = classify(exit_code, seconds >= options.timeout, report, report_problem,
                             problems)
    if error:
        note = "; ".join(filter(None, (error, note)))
    return SuiteRun(outcome, exit_code, seconds, report.failing if report else (),
                    report.cases if report else 0, report.skipped if report else 0, note)
