"""python -m movephys.vm ports: the suite on every kernel line and architecture.

    python -m movephys.vm ports [--results build/ports] [--columns SLUG,...] [--quiet]
                                [--cache-dir DIR] [--jobs N] [--accel auto|tcg|kvm]

For each run the chosen columns need (movephys.ports.runs_of: 6.12 x86_64,
which gives the 6.12 x86_64 and the 6.12 i386 compat columns, 6.1 x86_64
and 6.12 arm64), build or reuse the kernel and run the suite in it, with
that run's results in RESULTS/<run>/ (junit.xml, results.ktap, logs). A
run that breaks (its build fails, the harness or the kernel breaks) is
recorded and the next one runs. After each run RESULTS/matrix.json and
matrix.md are rewritten: the matrix so far and each run's build and suite
seconds.

Exit status: 0 every cell passed, was skipped or n/a and every run exited 0;
1 a cell failed or broke, or a run's kernel log reports a problem; 2 a run
broke (a failed build, the harness or the kernel broke, nothing collected:
its row under Runs says which) or bad input.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from movephys import cache, ports
from movephys.junit import CaseOutcome, JUnitError, read_outcomes
from movephys.locations import build_dir
from movephys.spec import load_spec
from movephys.vm import arches, build, run, series
from movephys.vm.ending import EXIT_FAILED, EXIT_HARNESS, EXIT_PASSED
from movephys.vm.errors import RunnerError

COMMAND = "ports"
BUILD_FAILED = "build failed"

Clock = Callable[[], float]


def check_run(port_run: ports.PortRun) -> None:
    """The run's kernel line and architecture are the runner's; a RunnerError if not."""
    series.lookup(port_run.series)
    arches.lookup(port_run.arch)


@dataclass(frozen=True)
class PortsRequest:
    columns: tuple[ports.Column, ...]
    results: Path
    options: run.VmOptions
    cache_dir: Path
    jobs: int | None


@dataclass(frozen=True)
class RunOutput:
    record: ports.RunRecord
    outcomes: dict[str, CaseOutcome] | None  # None: no readable junit.xml


def _outcomes(junit: Path) -> tuple[dict[str, CaseOutcome] | None, str]:
    """A run's outcomes, or None and why not."""
    if not junit.is_file():
        return None, f"no {junit.name}"
    try:
        return read_outcomes(junit), ""
    except JUnitError as error:
        return None, str(error)


def run_one(port_run: ports.PortRun, request: PortsRequest,
            clock: Clock) -> RunOutput:
    """Build (or reuse) @port_run's kernel and run the suite; a breakage is recorded."""
    directory = request.results / port_run.slug
    (directory / "junit.xml").unlink(missing_ok=True)  # not this run's, whatever happens
    started = clock()
    try:
        kernel = run.build_kernel(None, request.cache_dir, False, request.jobs,
                                  series_name=port_run.series, arch_name=port_run.arch)
    except RunnerError as error:
        return RunOutput(ports.RunRecord(port_run.slug, EXIT_HARNESS, BUILD_FAILED,
                                         clock() - started, None, 0, str(error)), None)
    built = clock()
    try:
        job = run.run_suite(kernel, request.options, directory, [])
    except RunnerError as error:
        return RunOutput(ports.RunRecord(port_run.slug, EXIT_HARNESS, "harness",
                                         built - started, clock() - built, 0, str(error)),
                         None)
    finished = clock()
    outcomes, problem = _outcomes(directory / "junit.xml")
    status = job.exit_code
    if outcomes is None and status in (EXIT_PASSED, EXIT_FAILED):
        status = EXIT_HARNESS  # it said it finished, yet left nothing to read
    note = "; ".join(filter(None, (job.ending.reason, problem,
                                   f"kernel log: {len(job.kernel_problems)} problem line(s)"
                                   if job.kernel_problems else "")))
    record = ports.RunRecord(port_run.slug, status, job.ending.kind, built - started,
                             finished - built, len(outcomes or {}), note)
    return RunOutput(record, outcomes)


def write(request: PortsRequest, outputs: Mapping[str, RunOutput]) -> ports.Matrix:
    """RESULTS/matrix.json and matrix.md of the runs so far."""
    matrix = ports.build_matrix(
        load_spec(), request.columns,
        {slug: output.outcomes for slug, output in outputs.items()},
        {slug: f"{slug}/junit.xml" for slug in outputs})
    try:
        ports.write_reports(request.results, matrix,
                            [output.record for output in outputs.values()])
    except OSError as error:
        raise RunnerError(f"cannot write the matrix to {request.results}: "
                          f"{error.strerror or error}") from None
    return matrix


def status(matrix: ports.Matrix, records: list[ports.RunRecord]) -> int:
    if any(record.status not in (EXIT_PASSED, EXIT_FAILED) for record in records):
        return EXIT_HARNESS
    if matrix.bad or any(record.status != EXIT_PASSED for record in records):
        return EXIT_FAILED
    return EXIT_PASSED


def run_ports(request: PortsRequest, clock: Clock = time.monotonic,
              progress: build.Progress = build.print_progress) -> int:
    """Every run @request's columns need, one after another; the exit status.

    Bad input (an unknown line, a runner that cannot build the runs, results
    that cannot be written) is a RunnerError before anything is built.
    """
    needed = ports.runs_of(request.columns)
    for port_run in needed:
        check_run(port_run)
    outputs: dict[str, RunOutput] = {}
    matrix = write(request, outputs)
    for number, port_run in enumerate(needed, 1):
        progress(f"ports run {number}/{len(needed)}: {port_run.slug}")
        outputs[port_run.slug] = run_one(port_run, request, clock)
        progress(summary(outputs[port_run.slug].record))
        matrix = write(request, outputs)
    records = [output.record for output in outputs.values()]
    print("\n".join(summary(record) for record in records))
    bad = sum(cell.bad for cell in matrix.cells())
    print(f"ports matrix: {request.results / 'matrix.md'} ({bad} cell(s) failed or broke)")
    return status(matrix, records)


def summary(record: ports.RunRecord) -> str:
    suite = "-" if record.suite_seconds is None else f"{record.suite_seconds:.0f} s"
    return (f"{record.run}: {record.ending}, exit {record.status}, {record.cases} cases, "
            f"build {record.build_seconds:.0f} s, suite {suite}"
            + (f"; {record.note}" if record.note else ""))


def choose_columns(text: str) -> tuple[ports.Column, ...]:
    """The columns of --columns SLUG,...; bad ones are a RunnerError."""
    try:
        return ports.choose_columns([part.strip() for part in text.split(",") if part.strip()])
    except ports.PortsError as error:
        raise RunnerError(f"--columns: {error}") from None


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
) -> None:
    parser = commands.add_parser(
        COMMAND, help="run the suite on every kernel line and architecture; the ports matrix",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=build_dir() / "ports",
                        help="where each run's results and matrix.md, matrix.json go "
                             "(default: %(default)s)")
    parser.add_argument("--columns", metavar="SLUG,...",
                        default=",".join(column.slug for column in ports.COLUMNS),
                        help="the columns to fill (default: all of "
                             f"{', '.join(column.slug for column in ports.COLUMNS)})")
    parser.add_argument("--quiet", action="store_true", help="do not echo the guest console")
    parser.add_argument("--cache-dir", type=Path, default=cache.cache_dir())
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="make jobs of a kernel build (default: %(default)s)")
    parser.add_argument("--accel", choices=("auto", "tcg", "kvm"), default="auto",
                        help="auto uses KVM only after a bounded probe boot succeeds")


def dispatch(args: argparse.Namespace) -> int:
    columns = choose_columns(args.columns)
    if args.jobs < 1:
        raise RunnerError(f"--jobs must be at least 1, not {args.jobs}")
    options = run.VmOptions(nodes=run.suite_nodes(), accel=args.accel, timeout=None,
                            cache_dir=args.cache_dir, echo=not args.quiet,
                            case_timeout=run.CASE_TIMEOUT)
    request = PortsRequest(columns, args.results, options, args.cache_dir, args.jobs)
    return run_ports(request)
