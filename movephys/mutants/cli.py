"""Command line of the mutants runner.

    python -m movephys.mutants run [--quick] [--debug] [--only ID,...] [options] [-- PYTEST-ARGS]
    python -m movephys.mutants list [--quick]
    python -m movephys.mutants check [--source DIR] [--debug]
    python -m movephys.mutants report

run: apply each selected mutant to the workspace copy of the reference
kernel, rebuild, run the conformance suite in the VM, restore; write the
kill matrix (build/mutants/matrix.json, matrix.md) and docs/mutants.md.
check: the data, its claims, and every find text against the reference
source, without building. report: render the matrix and the page again.
Bad input is one line on stderr and exit status 2; an interrupted run
restores the source and exits 130.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from movephys import cache
from movephys.mutants import claims as claims_module
from movephys.mutants import matrix as matrix_module
from movephys.mutants import mutant as mutant_module
from movephys.mutants import workspace as workspace_module
from movephys.mutants.build import RebuildRequest, rebuild
from movephys.mutants.claims import Claim
from movephys.mutants.matrix import BUILD_FAILED, Matrix, Result, Variant
from movephys.mutants.mutant import CHECKOUT, Mutant, MutantError
from movephys.mutants.report import rows_proven
from movephys.mutants.run import run_suite, suite_options
from movephys.mutants.workspace import Workspace
from movephys.spec import Spec, SpecError, load_spec
from movephys.vm import build as vm_build
from movephys.vm import run as vm_run
from movephys.vm.errors import RunnerError

DEFAULT_OUTPUT = CHECKOUT / "build" / "mutants"
DEFAULT_DOCS = CHECKOUT / "docs" / "mutants.md"


def progress(message: str) -> None:
    print(f"[movephys.mutants] {message}", file=sys.stderr, flush=True)


# -- arguments -----------------------------------------------------------------


def _add_data_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, default=mutant_module.DEFAULT_DATA,
                        help="the mutants file (default: %(default)s)")


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT,
                        help="where matrix.json, matrix.md and each mutant's logs go "
                             "(default: build/mutants)")
    parser.add_argument("--docs", type=Path, default=DEFAULT_DOCS,
                        help="the docs page to write (default: docs/mutants.md)")
    parser.add_argument("--no-docs", action="store_true", help="do not write the docs page")


def _add_kernel_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--debug", action="store_true",
                        help="the debug kernel (kernel/config/debug.config: KASAN, lockdep, "
                             "DEBUG_VM): fills the matrix's debug column")
    parser.add_argument("--cache-dir", type=Path, default=cache.cache_dir())


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m movephys.mutants", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)

    run_parser = commands.add_parser("run", help="run mutants and write the kill matrix")
    _add_data_options(run_parser)
    _add_output_options(run_parser)
    _add_kernel_options(run_parser)
    run_parser.add_argument("--quick", action="store_true",
                            help="only the mutants marked quick = true")
    run_parser.add_argument("--only", default="", metavar="ID,...",
                            help="only these mutants (comma-separated ids)")
    run_parser.add_argument("--timeout", type=float, default=None,
                            help="seconds per suite run before the guest is killed (default: "
                                 "from the case count and the per-case timeout, as "
                                 "python -m movephys.vm suite does)")
    run_parser.add_argument("--accel", choices=("auto", "tcg", "kvm"), default="auto",
                            help="auto uses KVM only after a bounded probe boot succeeds")
    run_parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    run_parser.add_argument("--echo", action="store_true", help="echo the guest console")
    run_parser.add_argument("--strict", action="store_true",
                            help="exit 1 when a result is not the one the data expects")
    run_parser.add_argument("rest", nargs=argparse.REMAINDER,
                            help="after --: arguments for pytest in the guest")

    list_parser = commands.add_parser("list", help="list the mutants")
    _add_data_options(list_parser)
    list_parser.add_argument("--quick", action="store_true")

    check_parser = commands.add_parser(
        "check", help="check the data and every find text against the reference source")
    _add_data_options(check_parser)
    _add_kernel_options(check_parser)
    check_parser.add_argument("--source", type=Path, default=None,
                              help="a patched kernel tree (default: the cached reference "
                                   "build's source; nothing is built)")

    report_parser = commands.add_parser("report",
                                        help="write matrix.md and the docs page again")
    _add_data_options(report_parser)
    _add_output_options(report_parser)
    return parser


def _pytest_args(rest: Sequence[str]) -> list[str]:
    args = list(rest)
    return args[1:] if args[:1] == ["--"] else args


# -- the parts every command needs ----------------------------------------------


@dataclass(frozen=True)
class Data:
    mutants: tuple[Mutant, ...]
    claims: dict[str, Claim]
    spec: Spec


def load_data(path: Path) -> Data:
    mutants = mutant_module.load_mutants(path)
    spec = load_spec()
    claims = claims_module.resolve_all(mutants, spec, claims_module.commit_messages())
    return Data(mutants, claims, spec)


def write_outputs(matrix: Matrix, data: Data, output: Path, docs: Path | None) -> None:
    matrix_module.write(matrix, data.mutants, data.claims, output)
    if docs is not None:
        matrix_module.write_docs(matrix, data.mutants, data.claims, docs)


# -- run -----------------------------------------------------------------------


@dataclass(frozen=True)
class Plan:
    data: Data
    selected: tuple[Mutant, ...]
    lines: dict[str, int]  # where each selected mutant's edit starts
    variant: Variant
    workspace: Workspace
    options: vm_run.VmOptions
    pytest_args: list[str]
    output: Path
    docs: Path | None
    jobs: int
    cache_dir: Path

    @property
    def files(self) -> tuple[str, ...]:
        """Every file any mutant edits: all of them must be pristine before a build."""
        return tuple(dict.fromkeys(mutant.file for mutant in self.data.mutants))


def prime(workspace: Workspace, marker: workspace_module.Marker, plan_jobs: int,
          cache_dir: Path, log_dir: Path) -> workspace_module.Marker:
    """The first build in a new workspace: kbuild sees new absolute paths and recompiles."""
    if marker.prime_seconds is not None:
        return marker
    workspace_module.recover(workspace, ())
    progress("first build in the workspace: kbuild's command lines name the new paths, so "
             "much is compiled again (once per workspace)")
    built = rebuild(RebuildRequest(workspace, plan_jobs, cache_dir, log_dir / "prime-build.log",
                                   "first build in the workspace", install_headers=False),
                    progress)
    if not built.ok:
        raise MutantError(f"the workspace does not build without a mutant: {built.error}")
    marker = replace(marker, prime_seconds=round(built.seconds, 1))
    workspace_module.write_marker(workspace.root, marker)
    progress(f"first build in the workspace took {built.seconds:.0f} s")
    return marker


def run_mutant(plan: Plan, mutant: Mutant) -> Result:
    """Apply, build, run, restore: the source is the reference again however this ends."""
    results = plan.output / plan.variant / mutant.id
    shutil.rmtree(results, ignore_errors=True)
    results.mkdir(parents=True)
    workspace = plan.workspace
    reference_tree = workspace.reference.source_tree
    restored = workspace_module.recover(workspace, plan.files)
    if restored:
        progress(f"put back {', '.join(restored)}, left mutated by an interrupted run")
    if workspace_module.reset_headers(workspace):
        progress("put the reference uapi headers back into the workspace")
    workspace_module.note_applied(workspace, mutant.id, mutant.file)
    try:
        mutant_module.apply(mutant, reference_tree, workspace.source_tree)
        built = rebuild(RebuildRequest(workspace, plan.jobs, plan.cache_dir,
                                       results / "build.log", f"building {mutant.id}",
                                       mutant.changes_headers), progress)
        if not built.ok:
            return _result(plan, mutant, BUILD_FAILED, built.seconds, None, (), 0, 0,
                           built.error)
        suite = run_suite(workspace.kernel(), plan.options, results, plan.pytest_args)
    finally:
        mutant_module.restore(mutant.file, reference_tree, workspace.source_tree)
        workspace_module.clear_applied(workspace)
    return _result(plan, mutant, suite.outcome, built.seconds, suite.seconds, suite.failing,
                   suite.cases, suite.skipped, suite.note)


def _result(plan: Plan, mutant: Mutant, outcome: str, build_seconds: float,
            run_seconds: float | None, failing: tuple[str, ...], cases: int, skipped: int,
            note: str) -> Result:
    return Result(
        outcome=outcome, failing_cases=failing, spec_rows=rows_proven(failing, plan.data.spec),
        build_seconds=round(build_seconds, 1),
        run_seconds=None if run_seconds is None else round(run_seconds, 1),
        cases=cases, skipped=skipped, note=note, line=plan.lines[mutant.id],
        reference=plan.workspace.reference.key, digest=mutant.digest,
        finished=matrix_module.now(),
    )


def _describe(mutant: Mutant, result: Result, variant: Variant) -> str:
    judged = matrix_module.verdict(mutant, variant, result.outcome)
    detail = (f"{len(result.failing_cases)} failing case(s), spec rows "
              f"{', '.join(result.spec_rows) or 'none'}" if result.failing_cases
              else result.note[:160])
    timing = f"build {result.build_seconds:.0f} s" + (
        "" if result.run_seconds is None else f", suite {result.run_seconds:.0f} s")
    return (f"{mutant.id}: {result.outcome} ({judged}, expect {mutant.expect}); "
            f"{detail + '; ' if detail else ''}{timing}")


def make_plan(args: argparse.Namespace) -> Plan:
    data = load_data(args.data)
    selected = mutant_module.select(data.mutants, mutant_module.parse_ids(args.only), args.quick)
    if args.timeout is not None and args.timeout <= 0:
        raise MutantError(f"--timeout must be positive, not {args.timeout}")
    if args.jobs < 1:
        raise MutantError(f"--jobs must be at least 1, not {args.jobs}")
    variant: Variant = "debug" if args.debug else "lean"
    request = workspace_module.reference_request(args.debug, args.cache_dir, args.jobs)
    reference = vm_build.build(request, vm_build.print_progress)
    # Every edit must fit before anything is copied or built.
    lines = mutant_module.check_against(selected, reference.source_tree)
    workspace, marker = workspace_module.prepare(reference, args.cache_dir, progress)
    marker = prime(workspace, marker, args.jobs, args.cache_dir, args.output / variant)
    return Plan(
        data=data, selected=selected, lines=lines, variant=variant, workspace=workspace,
        options=suite_options(args.debug, args.accel, args.cache_dir, args.echo, args.timeout),
        pytest_args=_pytest_args(args.rest), output=args.output,
        docs=None if args.no_docs else args.docs, jobs=args.jobs, cache_dir=args.cache_dir,
    )


def command_run(args: argparse.Namespace) -> int:
    plan = make_plan(args)
    matrix = matrix_module.load(plan.output / "matrix.json")
    marker = workspace_module.read_marker(plan.workspace.root)
    matrix.workspaces[plan.variant] = {
        "reference": plan.workspace.reference.key, "workspace": str(plan.workspace.root),
        "copy_seconds": marker.copy_seconds if marker else None,
        "prime_seconds": marker.prime_seconds if marker else None,
    }
    finished: list[str] = []
    unexpected = 0
    try:
        for number, mutant in enumerate(plan.selected, start=1):
            progress(f"({number}/{len(plan.selected)}) {mutant.id}: {mutant.file}:"
                     f"{plan.lines[mutant.id]}, claim {mutant.claim[:70]}")
            result = run_mutant(plan, mutant)
            matrix.record(mutant.id, plan.variant, result)
            # Written after every mutant: a run that dies keeps what it learned.
            write_outputs(matrix, plan.data, plan.output, plan.docs)
            finished.append(mutant.id)
            unexpected += matrix_module.verdict(mutant, plan.variant, result.outcome) != "expected"
            progress(_describe(mutant, result, plan.variant))
    except KeyboardInterrupt:
        write_outputs(matrix, plan.data, plan.output, plan.docs)
        progress(f"interrupted; the workspace source is restored. Finished "
                 f"{len(finished)} of {len(plan.selected)}: {', '.join(finished) or 'none'}")
        return 130
    found = matrix_module.score(matrix, plan.data.mutants, plan.variant)
    percent = "n/a" if found.percent is None else f"{found.percent:.0f} %"
    progress(f"{plan.variant} kernel: {found.scored_killed} of {found.scored} scored mutants "
             f"killed ({percent}); {unexpected} unexpected result(s) in this run; matrix in "
             f"{plan.output / 'matrix.md'}" + (f", page {plan.docs}" if plan.docs else ""))
    return 1 if args.strict and unexpected else 0


# -- list, check, report -------------------------------------------------------


def command_list(args: argparse.Namespace) -> int:
    mutants = mutant_module.select(mutant_module.load_mutants(args.data), quick=args.quick)
    width = max(len(mutant.id) for mutant in mutants)
    for mutant in mutants:
        print(f"{mutant.id:<{width}}  {mutant.expect:<10}  {'quick' if mutant.quick else '     '}"
              f"  {mutant.file}  {mutant.claim[:60]}")
    counts = {expect: sum(m.expect == expect for m in mutants)
              for expect in mutant_module.EXPECTATIONS}
    print(f"{len(mutants)} mutants: " + ", ".join(f"{n} {e}" for e, n in counts.items())
          + f"; {sum(m.quick for m in mutants)} quick")
    return 0


def command_check(args: argparse.Namespace) -> int:
    data = load_data(args.data)
    if args.source is not None:
        tree = args.source
    else:
        request = workspace_module.reference_request(args.debug, args.cache_dir, 1)
        reference = workspace_module.cached_reference(request, vm_build.print_progress)
        if reference is None:
            raise MutantError(f"the reference kernel {vm_build.cache_key(request)} is not built "
                              "yet: python -m movephys.vm build" + (" --debug" * args.debug)
                              + ", or give --source")
        tree = reference.source_tree
    lines = mutant_module.check_against(data.mutants, tree)
    print(f"{len(lines)} mutants fit {tree} exactly once each; every claim names a spec row "
          "or a commit message sentence")
    return 0


def command_report(args: argparse.Namespace) -> int:
    data = load_data(args.data)
    matrix = matrix_module.load(args.output / "matrix.json")
    write_outputs(matrix, data, args.output, None if args.no_docs else args.docs)
    print(f"wrote {args.output / 'matrix.md'}" + ("" if args.no_docs else f" and {args.docs}"))
    return 0


COMMANDS = {"run": command_run, "list": command_list, "check": command_check,
            "report": command_report}


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (MutantError, RunnerError, SpecError, OSError) as error:
        print(f"movephys.mutants: error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Before any mutant was applied (while building the reference or copying).
        print("movephys.mutants: interrupted", file=sys.stderr)
        return 130
