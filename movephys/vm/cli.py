"""Command line of the runner: build, run, suite, selftest.

    python -m movephys.vm build [--series 6.1|6.12] [--debug] [--dry-run]
    python -m movephys.vm run [options] -- COMMAND...
    python -m movephys.vm suite [options] [--via-kselftest] [-- PYTEST-ARGS...]
    python -m movephys.vm selftest [options]
    python -m movephys.vm soak [options] [RUNS] [-- PYTEST-ARGS...]

Every command takes --series 6.1|6.12 (default 6.12): the kernel line
built, with its own port of the patches (movephys.vm.series), and --arch
x86_64|arm64 (default x86_64): arm64 is cross-built and booted under
qemu-system-aarch64 with a Debian root filesystem the runner builds
(movephys.vm.arches, movephys.vm.rootfs).

Exit status of suite and selftest: 0 passed, 1 cases failed (or the kernel
log reports a problem), 2 harness error (bad input, a failed build, QEMU
or pytest broke), 3 the kernel crashed or hung (the run ended early; every
finished case is kept in --results), 5 no tests collected, 130
interrupted. `run` exits with its command's status, or 2 or 3 as above.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path

from movephys import cache
from movephys.casestream import StreamError, read_stream
from movephys.locations import build_dir
from movephys.vm import arches, boot, build, kselftest, ports, run, series, soak
from movephys.vm.ending import EXIT_HARNESS, EXIT_INTERRUPTED, Ending
from movephys.vm.errors import RunnerError
from movephys.vm.salvage import salvage


def _add_kernel_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("kernel")
    group.add_argument("--series", default=series.DEFAULT_SERIES, metavar="LINE",
                       help=f"kernel line to build: {series.known()} (default: %(default)s); "
                            "chooses the tarball, the port of the patches (kernel/patches for "
                            "6.12, kernel/patches-<LINE> otherwise) and the line's kconfig "
                            "fragments")
    group.add_argument("--arch", default=arches.DEFAULT_ARCH, metavar="ARCH",
                       help=f"architecture to build and boot: {arches.known()} (default: "
                            "%(default)s); another than the host's is cross-built, booted "
                            "under TCG, with a Debian root filesystem the runner builds and "
                            "caches")
    group.add_argument("--source", type=Path, default=None,
                       help="linux-source tarball (patched with the series' patches) or a "
                            "kernel tree built as it is (default: "
                            f"{series.TARBALL_DIR}/linux-source-LINE.tar.xz)")
    group.add_argument("--image", "--bzimage", dest="image", type=Path,
                       help="boot this kernel image (bzImage, arm64's Image) of --arch "
                            "instead of building (give --headers too)")
    group.add_argument("--headers", type=Path,
                       help="installed uapi headers of --image (holds include/asm/)")
    group.add_argument("--debug", action="store_true",
                       help="add kernel/config/debug.config (DEBUG_VM, PROVE_LOCKING, KASAN)")
    group.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    group.add_argument("--cache-dir", type=Path, default=cache.cache_dir())
    group.add_argument("--dry-run", action="store_true",
                       help="print the kernel source, patches and kconfig fragments (and for "
                            "suite and soak the suite) this would use, then exit without "
                            "building or booting")


def _add_vm_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("virtual machine")
    group.add_argument("--nodes", type=int, default=None,
                       help=f"memory nodes (default 2; {run.SUITE_MEMORY_NODES} for suite, so "
                            "that two lie below 4 GiB and one above it)")
    group.add_argument("--node-memory", default=None,
                       help="memory per node, one size or one per node (default 1G)")
    group.add_argument("--memoryless-node", action="store_true",
                       help="add a node with CPUs and no memory (always for suite, whose "
                            "ENODEV case needs one)")
    group.add_argument("--cpus-per-node", type=int, default=None,
                       help="CPUs per node (default 1; 2 for selftest, whose migration "
                            "test needs at least 3 CPUs)")
    group.add_argument("--accel", choices=("auto", "tcg", "kvm"), default="auto",
                       help="auto uses KVM only after a bounded probe boot succeeds")
    group.add_argument("--timeout", type=float, default=None,
                       help="seconds before the guest is killed (default: for suite, from "
                            "the case count and --case-timeout; otherwise "
                            f"{run.COMMAND_TIMEOUT:.0f})")
    group.add_argument("--case-timeout", type=float, default=None,
                       help=f"seconds per suite case (default {run.CASE_TIMEOUT:.0f}, "
                            f"{run.DEBUG_CASE_TIMEOUT:.0f} with --debug); a case still "
                            "running 30 s later means the kernel is stuck: the run ends")
    group.add_argument("--quiet", action="store_true", help="do not echo the guest console")
    group.add_argument("--results", type=Path, default=build_dir() / "results")
    group.add_argument("--rwdir", type=Path, action="append", default=[],
                       help="host directory the guest may write (repeatable)")


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m movephys.vm", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    build_parser = commands.add_parser("build", help="build (or reuse) the reference kernel")
    _add_kernel_options(build_parser)
    for name, text in (("run", "run a command as root in the VM"),
                       ("suite", "run the conformance suite in the VM"),
                       ("selftest", "run the kernel's mm/migration selftest in the VM")):
        sub = commands.add_parser(name, help=text)
        _add_kernel_options(sub)
        _add_vm_options(sub)
        if name == "suite":
            sub.add_argument("--via-kselftest", action="store_true",
                             help="run the suite through the kselftest target "
                                  "(kselftest/move_phys_pages, installed with the kernel's "
                                  "lib.mk and run by run_kselftest.sh), as a test fleet does")
        if name != "selftest":
            sub.add_argument("rest", nargs=argparse.REMAINDER,
                             help="after --: the command (run) or pytest arguments (suite)")
    soak_parser = commands.add_parser(
        "soak", help="run the suite RUNS times in fresh guests; report flaky cases")
    _add_kernel_options(soak_parser)
    _add_vm_options(soak_parser)
    soak_parser.set_defaults(results=build_dir() / "soak", quiet=True)
    soak_parser.add_argument("runs", nargs="?", type=int, default=20,
                             help="how many runs (default 20)")
    # No REMAINDER here: it would swallow options given after RUNS
    # (soak 20 --results DIR); parse_args() cuts the pytest arguments at "--".
    ports.add_command(commands)
    return parser


def plan(args: argparse.Namespace) -> list[str]:
    """What the command would use, one "what: path" line each; finding them
    checks they are there, so an installation missing its data says so."""
    if args.image is not None:
        lines = [f"image: {args.image}", f"headers: {args.headers}"]
    else:
        request = run.build_request(args.source, args.cache_dir, args.debug, args.jobs,
                                    args.series, args.arch)
        build.check_inputs(request)
        lines = [f"series: {request.series}", f"arch: {request.arch}",
                 f"source: {request.source}"]
        lines += [f"patch: {patch}" for patch in request.patches]
        lines += [f"fragment: {fragment}" for fragment in request.fragments]
    if args.command in ("suite", "soak"):
        lines.append(f"suite: {run.suite_root() / 'suites'}")
    if getattr(args, "via_kselftest", False):
        lines.append(f"kselftest: {kselftest.target_dir()}")
    if args.command != "build":
        lines.append(f"results: {args.results}")
    return lines


def obtain_kernel(args: argparse.Namespace) -> run.Kernel:
    if args.image is not None:
        return run.given_kernel(args.image, args.headers, args.arch)
    return run.build_kernel(args.source, args.cache_dir, args.debug, args.jobs, args.series,
                            args.arch)


def _vm_options(args: argparse.Namespace) -> run.VmOptions:
    suite = args.command in ("suite", "soak")
    memory_nodes = args.nodes if args.nodes is not None else (
        run.SUITE_MEMORY_NODES if suite else 2)
    if memory_nodes < 1:
        raise RunnerError(f"--nodes must be at least 1, not {memory_nodes}")
    if args.timeout is not None and args.timeout <= 0:
        raise RunnerError(f"--timeout must be positive, not {args.timeout}")
    if args.case_timeout is not None and args.case_timeout <= 0:
        raise RunnerError(f"--case-timeout must be positive, not {args.case_timeout}")
    return run.VmOptions(
        nodes=boot.numa_layout(memory_nodes,
                               args.node_memory or (run.SUITE_NODE_MEMORY if suite else "1G"),
                               args.memoryless_node or suite,
                               args.cpus_per_node or (2 if args.command == "selftest" else 1)),
        accel=args.accel, timeout=args.timeout, cache_dir=args.cache_dir, echo=not args.quiet,
        case_timeout=args.case_timeout or (
            run.DEBUG_CASE_TIMEOUT if args.debug else run.CASE_TIMEOUT),
    )


def _rest(args: argparse.Namespace) -> list[str]:
    rest: list[str] = list(args.rest)
    return rest[1:] if rest[:1] == ["--"] else rest


def dispatch(args: argparse.Namespace) -> int:
    if args.command == ports.COMMAND:
        return ports.dispatch(args)
    # An unknown line or architecture is refused before anything else.
    series.lookup(args.series)
    arches.lookup(args.arch)
    if args.dry_run:
        print("\n".join(plan(args)))
        return 0
    if args.command == "build":
        kernel = obtain_kernel(args)
        print(f"image: {kernel.image}\nheaders: {kernel.headers}")
        return 0
    if args.command == "soak" and args.runs < 1:
        raise RunnerError(f"soak needs at least one run, not {args.runs}")
    options = _vm_options(args)
    kernel = obtain_kernel(args)
    results: Path = args.results
    if args.command == "run":
        command = _rest(args)
        if not command:
            raise RunnerError("run needs a command after --")
        for directory in args.rwdir:
            directory.mkdir(parents=True, exist_ok=True)
        job = run.run_in_fresh_workdir(
            kernel, shlex.join(command) if len(command) > 1 else command[0], options, results,
            rwdirs=tuple(args.rwdir))
        print(job.boot.output, end="")
    elif args.command == "suite":
        job = run.run_suite(kernel, options, results, _rest(args), args.via_kselftest)
        print(job.boot.output, end="")
    elif args.command == "soak":
        report = soak.soak(kernel, options, results, args.runs, _rest(args),
                           build.print_progress)
        print(soak.render(report), end="")
        return soak.status(report)
    else:
        job = run.run_selftest(kernel, options, results)
        print(job.boot.output, end="")
    for line in job.kernel_problems:
        print(f"kernel log: {line}", file=sys.stderr)
    if job.ending.report:
        what = "the kernel's report" if job.ending.kernel_broke else "the console's last lines"
        print(f"movephys.vm: {what}:", file=sys.stderr)
        for line in job.ending.report:
            print(f"  {line}", file=sys.stderr)
    return job.exit_code


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The runner's arguments; for soak, what follows "--" goes to pytest."""
    arguments = list(argv)
    pytest_args: list[str] = []
    if arguments[:1] == ["soak"] and "--" in arguments:
        cut = arguments.index("--")
        arguments, pytest_args = arguments[:cut], arguments[cut + 1:]
    args = make_parser().parse_args(arguments)
    if args.command == "soak":
        args.rest = pytest_args
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return dispatch(args)
    except RunnerError as error:
        print(f"movephys.vm: error: {error}", file=sys.stderr)
        return EXIT_HARNESS
    except KeyboardInterrupt:
        print(f"movephys.vm: interrupted{_finished_so_far(args)}", file=sys.stderr)
        return EXIT_INTERRUPTED


def _finished_so_far(args: argparse.Namespace) -> str:
    """What an interrupted suite run had finished (the guest is gone by now)."""
    if args.command != "suite":
        return ""
    results: Path = args.results
    try:
        stream = read_stream(results / run.STREAM_FILE)
    except StreamError:
        return ""
    if stream.collected is None:
        return " before the suite started"
    ending = Ending("harness", "interrupted (SIGINT)")
    salvaged = salvage(stream, ending, results / "results.ktap", results / "junit.xml")
    return f"; kept {salvaged.summary()} in {results}"
