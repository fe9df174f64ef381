"""Run the suite N times in fresh guests and report, per case, how often it did not pass.

A case that fails in some runs and passes in others is flaky: the suite
cannot be trusted with it. Each run keeps its own results directory
(run-01, run-02, ...); the report (soak.md, soak.json) lists every case that
did not pass at least once, how each run ended, and the spread of run times.
"""

from __future__ import annotations

import json
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from movephys import junit
from movephys.vm import run
from movephys.vm.ending import EXIT_FAILED, EXIT_PASSED


@dataclass(frozen=True)
class RunRecord:
    number: int
    status: int  # the runner's exit status
    ending: str  # finished, crashed, hung or harness
    seconds: float
    outcomes: dict[str, str]  # case id -> passed, failed, error, skipped
    kernel_problems: int


@dataclass(frozen=True)
class CaseTally:
    case_id: str
    outcomes: tuple[str, ...]  # one per run; junit.MISSING where the run never reached it

    @property
    def runs(self) -> int:
        return len(self.outcomes)

    @property
    def failed(self) -> int:
        """Runs in which the case failed, broke or never ran."""
        return sum(map(junit.not_passing, self.outcomes))

    @property
    def flaky(self) -> bool:
        return junit.is_flaky(self.outcomes)


@dataclass(frozen=True)
class SoakReport:
    runs: tuple[RunRecord, ...]
    tallies: tuple[CaseTally, ...] = field(default=())  # only cases that did not always pass

    @property
    def clean(self) -> bool:
        return not self.tallies and all(record.status == EXIT_PASSED for record in self.runs)

    def seconds(self) -> tuple[float, float, float]:
        times = [record.seconds for record in self.runs]
        return (min(times), statistics.median(times), max(times)) if times else (0, 0, 0)


def record_of(number: int, job: run.JobResult, results: Path) -> RunRecord:
    try:
        outcomes = {case: found.outcome
                    for case, found in junit.read_outcomes(results / "junit.xml").items()}
    except junit.JUnitError:
        outcomes = {}
    return RunRecord(number, job.exit_code, job.ending.kind, round(job.boot.seconds, 1),
                     outcomes, len(job.kernel_problems))


def tally(records: Sequence[RunRecord]) -> tuple[CaseTally, ...]:
    """Cases that failed, broke or went missing in at least one run; skips are not failures."""
    every_case = sorted({case for record in records for case in record.outcomes})
    tallies = []
    for case in every_case:
        seen = tuple(record.outcomes.get(case, junit.MISSING) for record in records)
        if any(map(junit.not_passing, seen)):
            tallies.append(CaseTally(case, seen))
    return tuple(tallies)


def soak(kernel: run.Kernel, options: run.VmOptions, results: Path, runs: int,
         pytest_args: list[str], progress: Callable[[str], None]) -> SoakReport:
    records: list[RunRecord] = []
    for number in range(1, runs + 1):
        directory = results / f"run-{number:02d}"
        job = run.run_suite(kernel, options, directory, pytest_args)
        records.append(record_of(number, job, directory))
        failed = sum(outcome in (junit.FAILED, junit.ERROR)
                     for outcome in records[-1].outcomes.values())
        progress(f"soak run {number}/{runs}: {job.ending.kind}, exit {job.exit_code}, "
                 f"{len(records[-1].outcomes)} cases, {failed} failed, "
                 f"{job.boot.seconds:.0f} s")
        write(SoakReport(tuple(records), tally(records)), results)
    return SoakReport(tuple(records), tally(records))


def render(report: SoakReport) -> str:
    low, median, high = report.seconds()
    endings = Counter(record.ending for record in report.runs)
    lines = [
        "# Soak", "",
        f"{len(report.runs)} runs of the suite in fresh guests: "
        + ", ".join(f"{count} {kind}" for kind, count in sorted(endings.items()))
        + f"; run time min {low:.0f} s, median {median:.0f} s, max {high:.0f} s.", "",
        "| Run | Exit | Ending | Cases | Failed | Kernel log problems | Seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    for record in report.runs:
        failed = sum(outcome in (junit.FAILED, junit.ERROR)
                     for outcome in record.outcomes.values())
        lines.append(f"| {record.number} | {record.status} | {record.ending} | "
                     f"{len(record.outcomes)} | {failed} | {record.kernel_problems} | "
                     f"{record.seconds:.0f} |")
    lines.append("")
    if not report.tallies:
        lines.append("No case failed in any run: 0 flaky cases.")
    else:
        flaky = sum(tally.flaky for tally in report.tallies)
        lines += [f"{len(report.tallies)} case(s) did not pass in every run, {flaky} of them "
                  "flaky (failed in some runs, passed in others):", "",
                  "| Case | Failed or missing | Runs | Flaky |", "|---|---|---|---|"]
        lines += [f"| `{tally.case_id}` | {tally.failed} | {tally.runs} | "
                  f"{'yes' if tally.flaky else 'no'} |" for tally in report.tallies]
    return "\n".join(lines) + "\n"


def write(report: SoakReport, results: Path) -> None:
    results.mkdir(parents=True, exist_ok=True)
    (results / "soak.md").write_text(render(report))
    (results / "soak.json").write_text(json.dumps({
        "runs": [asdict(record) for record in report.runs],
        "cases_not_always_passing": [asdict(tally) | {"flaky": tally.flaky}
                                     for tally in report.tallies],
    }, indent=1) + "\n")


def status(report: SoakReport) -> int:
    return EXIT_PASSED if report.clean else EXIT_FAILED
