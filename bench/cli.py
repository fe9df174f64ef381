"""Command line of the bench.

    python -m bench run [--quick] [--k 1,4,...] [--p 1,8,64] [--repeats N]
                        [--methods phys,known,reverse,reverse_c,translate,translate_c,copy]
                        [--call-repeats N]
                        [--kernel-headers DIR | --syscall-nr N] [--out build/bench]
    python -m bench suite-time [--out build/bench] [-- PYTEST-ARGS...]
    python -m bench report [--out build/bench] [--docs docs/bench]
    python -m bench vm [--quick] [run options] [--no-suite-time] [--vm-accel auto|tcg|kvm]

``run`` measures on the running kernel (root, two memory nodes); ``vm`` does
run, suite-time and report with the reference kernel under QEMU (KVM where
a bounded test boot proves it works, else TCG; ``--vm-accel kvm`` insists).
Exit status: 0 all measured and verified, 1 a page failed verification or the
kernel cannot be measured (one line says why), 2 bad usage.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bench import machine, plan, report, results, suite_time, vm
from bench.call_cost import CALL_CSV, CallCost
from bench.gate import syscall_gate
from bench.measure import MeasureError
from bench.results import RAW_CSV, Measurement
from bench.sweep import Setup, SweepError, choose_nodes, run_sweep
from bench.workload import WorkloadError
from movephys.syscall.numbers import SyscallNumberError

DEFAULT_OUT = Path("build/bench")
EXIT_FAILED = 1
EXIT_USAGE = 2


class Refusal(RuntimeError):
    """The bench cannot measure here (one line; exit 1)."""


class UsageError(ValueError):
    """Bad input (one line; exit 2)."""


def add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quick", action="store_true",
                        help=f"K in {plan.QUICK_KS}, P in {plan.QUICK_PS}, "
                             f"{plan.QUICK_REPEATS} repeats")
    parser.add_argument("--k", help="comma-separated K values (target pages)")
    parser.add_argument("--p", help="comma-separated P values (processes)")
    parser.add_argument("--repeats", type=int)
    parser.add_argument("--call-repeats", type=int,
                        help="single calls timed per per-call-cost probe and P "
                             f"(default {plan.FULL_CALL_REPEATS}, quick "
                             f"{plan.QUICK_CALL_REPEATS}, 0: no probes)")
    parser.add_argument("--methods", default=",".join(plan.METHODS),
                        help="subset of %(default)s")
    parser.add_argument("--kernel-headers", help="uapi headers giving __NR_move_phys_pages")
    parser.add_argument("--syscall-nr", help="the move_phys_pages number (still confirmed)")
    parser.add_argument("--nodes", help="SOURCE,TARGET node ids (default: the first two)")
    parser.add_argument("--accel", help="label the figures with this execution mode "
                                        "instead of detecting it")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="measure the four methods on this kernel")
    add_run_options(run)
    run.add_argument("--out", type=Path, default=DEFAULT_OUT)
    timing = commands.add_parser("suite-time", help="time pytest suites, serial and -n auto")
    timing.add_argument("--out", type=Path, default=DEFAULT_OUT)
    timing.add_argument("rest", nargs=argparse.REMAINDER, help="after --: pytest arguments")
    rep = commands.add_parser("report", help="summary, plots and results.inc from the CSV")
    rep.add_argument("--out", type=Path, default=DEFAULT_OUT)
    rep.add_argument("--docs", type=Path, help="also copy the results into this docs folder")
    vm = commands.add_parser("vm", help="run, suite-time and report on the reference kernel")
    add_run_options(vm)
    vm.add_argument("--out", type=Path, default=DEFAULT_OUT)
    vm.add_argument("--docs", type=Path, help="also copy the results into this docs folder")
    vm.add_argument("--no-suite-time", action="store_true")
    vm.add_argument("--timeout", type=float, default=3600.0, help="seconds per VM job")
    vm.add_argument("--vm-accel", choices=("auto", "tcg", "kvm"), default="auto",
                    help="auto: KVM when a bounded test boot works here, else TCG; "
                         "kvm: refuse when it does not")
    return parser


def plan_from(args: argparse.Namespace) -> plan.Plan:
    try:
        return plan.make_plan(
            quick=args.quick,
            ks=plan.parse_int_list(args.k, "--k") if args.k else None,
            ps=plan.parse_int_list(args.p, "--p") if args.p else None,
            repeats=args.repeats,
            methods=plan.parse_methods(args.methods),
            call_repeats=args.call_repeats,
        )
    except plan.PlanError as error:
        raise UsageError(str(error)) from None


def nodes_from(text: str | None) -> tuple[int, int]:
    if text is None:
        chosen = choose_nodes()
        if isinstance(chosen, str):
            raise Refusal(f"cannot move pages between nodes: {chosen}")
        return chosen
    parts = text.split(",")
    if len(parts) != 2 or not all(part.strip().isdigit() for part in parts):
        raise UsageError(f"--nodes: {text!r} is not SOURCE,TARGET (two node ids)")
    return int(parts[0]), int(parts[1])


def command_run(args: argparse.Namespace) -> int:
    chosen = plan_from(args)
    if os.geteuid() != 0:
        raise Refusal("needs root: pagemap shows PFNs only with CAP_SYS_ADMIN, and "
                      "move_pages on other processes needs CAP_SYS_NICE")
    try:
        found, account = syscall_gate(args.syscall_nr, args.kernel_headers)
    except SyscallNumberError as error:
        raise UsageError(str(error)) from None
    if plan.PHYS in chosen.methods and not found.confirmed:
        rest = ",".join(name for name in plan.METHODS if name != plan.PHYS)
        raise Refusal(f"refusing to measure move_phys_pages: {account} "
                      f"(--methods {rest} measures the rest)")
    source, target = nodes_from(args.nodes)
    if source == target:
        print(f"bench: warning: source and target are both node {source}: nothing moves, "
              "the figures time the code path only", file=sys.stderr)
    machine.save(machine.describe(account, args.accel), args.out)
    (args.out / CALL_CSV).unlink(missing_ok=True)  # never report an earlier run's probes
    rows: list[Measurement] = []
    calls: list[CallCost] = []

    def keep(row: Measurement) -> None:
        rows.append(row)
        results.write_rows(args.out / RAW_CSV, rows)  # a partial sweep still leaves its rows

    def keep_call(row: CallCost) -> None:
        calls.append(row)
        results.write_rows(args.out / CALL_CSV, calls)

    def progress(line: str) -> None:
        print(f"bench: {line}", flush=True)

    try:
        run_sweep(chosen, Setup(source, target, found.nr), keep, progress, keep_call)
    except (SweepError, WorkloadError, MeasureError) as error:
        raise Refusal(str(error)) from None
    report.write(report.load(args.out), args.out)
    failed = [row for row in rows if not row.ok]
    for row in failed[:5]:
        print(f"bench: FAILED {row.method} P={row.processes} K={row.k} repeat {row.repeat}: "
              f"{row.verified}/{row.k} verified; {row.note}", file=sys.stderr)
    print(f"bench: {len(rows)} measurements, {len(failed)} failed verification; "
          f"results in {args.out}")
    return EXIT_FAILED if failed else 0


def command_suite_time(args: argparse.Namespace) -> int:
    rest: list[str] = list(args.rest)
    rest = rest[1:] if rest[:1] == ["--"] else rest
    runs = []
    for mode in suite_time.MODES:
        print(f"bench: timing pytest suites ({mode})", flush=True)
        runs.append(suite_time.time_suite(mode, rest))
        print(f"bench: {mode}: {runs[-1].wall_s:.1f} s, exit {runs[-1].exit_code}, "
              f"{runs[-1].outcome}", flush=True)
    results.write_rows(args.out / suite_time.SUITE_CSV, runs)
    return 0 if all(run.exit_code in (0, 5) for run in runs) else EXIT_FAILED


def command_report(args: argparse.Namespace) -> int:
    try:
        loaded = report.load(args.out)
    except ValueError as error:
        raise UsageError(str(error)) from None
    for path in report.write(loaded, args.out, args.docs):
        print(path)
    return 0


def dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return command_run(args)
    if args.command == "suite-time":
        return command_suite_time(args)
    if args.command == "report":
        return command_report(args)
    plan_from(args)  # bad options fail here, before a VM boots
    try:
        return vm.run_all(args)
    except vm.VmError as error:
        raise Refusal(str(error)) from None


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    try:
        return dispatch(args)
    except UsageError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Refusal as error:
        print(f"bench: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
