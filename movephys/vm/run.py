"""Run jobs in the reference kernel: a command, the suite, the selftest.

Each job boots the kernel once, reads back what the guest recorded, and
fails when the kernel log reports a BUG, WARNING, Oops, KASAN or lockdep
splat, whatever the command itself said. A suite run streams each case's
result to the host as it ends; when the kernel crashes or hangs the run
ends early and keeps every finished case (movephys.vm.salvage).
"""

from __future__ import annotations

import hashlib
import os
import shlex
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from movephys import cache
from movephys.casestream import read_stream
from movephys.locations import data_root
from movephys.probes.kmsg import problem_lines
from movephys.vm import arches, boot, build, config, kselftest, rootfs, series
from movephys.vm.ending import Ending, command_status, ending_of, suite_status
from movephys.vm.errors import RunnerError
from movephys.vm.salvage import Salvaged, salvage
from movephys.vm.watch import Budget, SuiteWatch

SELFTEST_HUGEPAGES = 8  # 2 MiB pages: enough for both hugetlb cases on two nodes
# The suite's guest: QEMU puts 2 GiB of a 3 GiB guest below 4 GiB, so with
# three 1 GiB nodes, nodes 0 and 1 lie wholly below 4 GiB (a 32-bit caller can
# name any of their frames; a node with memory on both sides would hand out
# its high frames first) and node 2 lies above it, with a hole [2G, 4G) below.
# A CPU-only node is added for ENODEV.
SUITE_MEMORY_NODES = 3
SUITE_NODE_MEMORY = "1G"
# Per case, enforced in the guest by pytest-timeout. The slowest case takes
# 5 s under TCG on the lean kernel; KASAN and lockdep make it several times slower.
CASE_TIMEOUT = 60.0
DEBUG_CASE_TIMEOUT = 240.0
COMMAND_TIMEOUT = 1800.0  # a command other than the suite, unless --timeout says otherwise
STREAM_FILE = "cases.jsonl"


def suite_nodes() -> tuple[boot.NumaNode, ...]:
    """The NUMA layout the suite is written for (see above)."""
    return boot.numa_layout(SUITE_MEMORY_NODES, SUITE_NODE_MEMORY, memoryless=True)


@dataclass(frozen=True)
class Kernel:
    image: Path
    headers: Path | None  # installed uapi headers: include/asm/unistd_64.h
    source_tree: Path | None
    arch: str = arches.DEFAULT_ARCH


@dataclass(frozen=True)
class VmOptions:
    nodes: tuple[boot.NumaNode, ...]
    accel: boot.Accel
    timeout: float | None  # None: COMMAND_TIMEOUT, or for the suite its case count's bound
    cache_dir: Path
    echo: bool
    case_timeout: float = CASE_TIMEOUT


@dataclass(frozen=True)
class JobResult:
    exit_code: int  # the runner's status (movephys.vm.ending): the command's own for `run`
    boot: boot.BootResult
    kernel_problems: tuple[str, ...]
    ending: Ending
    salvaged: Salvaged | None = None  # a suite run that ended early: what it kept


@dataclass(frozen=True)
class Guest:
    """Where the guest's programs come from: the host's root and interpreter
    for the host's own architecture, a root filesystem of its own otherwise."""

    root: Path | None
    python: str


def guest_of(kernel: Kernel, cache_dir: Path) -> Guest:
    target = arches.lookup(kernel.arch)
    if target.native:
        return Guest(None, sys.executable)
    built = rootfs.ensure(rootfs.RootfsRequest(target.debian_arch, cache_dir),
                          build.print_progress)
    return Guest(built.path, built.python)


def from_build(built: build.BuiltKernel) -> Kernel:
    return Kernel(built.image, built.headers, built.source_tree, built.arch)


def given_kernel(image: Path, headers: Path | None, arch: str = arches.DEFAULT_ARCH) -> Kernel:
    if not image.is_file():
        raise RunnerError(f"kernel image {image} does not exist")
    if headers is not None and not headers.is_dir():
        raise RunnerError(f"kernel headers directory {headers} does not exist")
    return Kernel(image, headers, None, arches.lookup(arch).name)


def boot_job(kernel: Kernel, command: str, options: VmOptions, workdir: Path,
             rwdirs: tuple[Path, ...] = (), environment: tuple[tuple[str, str], ...] = (),
             timeout: float = COMMAND_TIMEOUT, watch: SuiteWatch | None = None,
             guest: Guest | None = None) -> tuple[boot.BootResult, tuple[str, ...], Ending]:
    """Boot once and run @command: what the guest recorded, its kernel problems, its ending."""
    guest = guest or guest_of(kernel, options.cache_dir)
    # KVM runs the host's own architecture only.
    accel = "tcg" if guest.root is not None else boot.choose_accel(
        options.accel, kernel.image, options.cache_dir, workdir)
    build.print_progress(f"booting {kernel.image} ({accel}, "
                         f"{len(options.nodes)} NUMA nodes): {command}")
    result = boot.boot(boot.BootRequest(
        image=kernel.image, command=command, nodes=options.nodes, accel=accel,
        timeout=options.timeout or timeout, workdir=workdir, cwd=data_root(), rwdirs=rwdirs,
        environment=(("PYTHONDONTWRITEBYTECODE", "1"), *environment),
        rodirs=() if kernel.headers is None else (kernel.headers,),
        arch=kernel.arch, root=guest.root, echo=_echo if options.echo else None, watch=watch,
    ))
    (workdir / "console.log").write_text(result.console)
    problems = tuple(problem_lines(result.kernel_log or result.console))
    ending = ending_of(result)
    if ending.kind == "finished":
        build.print_progress(f"guest exited {result.exit_code} after {result.seconds:.0f} s; "
                             f"kernel log: {len(problems)} problem line(s)")
    else:
        what = f"the kernel {ending.kind}" if ending.kernel_broke else "the harness broke"
        build.print_progress(f"{what}: {ending.reason} (console: {workdir / 'console.log'})")
    return result, problems, ending


def run_command(kernel: Kernel, command: str, options: VmOptions, workdir: Path,
                rwdirs: tuple[Path, ...] = (),
                environment: tuple[tuple[str, str], ...] = ()) -> JobResult:
    result, problems, ending = boot_job(kernel, command, options, workdir, rwdirs, environment)
    return JobResult(command_status(result.exit_code, ending, len(problems)), result, problems,
                     ending)


def run_in_fresh_workdir(kernel: Kernel, command: str, options: VmOptions, results: Path,
                         rwdirs: tuple[Path, ...] = ()) -> JobResult:
    """Run @command with a work directory of its own under @results, removed
    afterwards, so that two runs at once never swap commands."""
    results.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="vm-run-", dir=results))
    try:
        return run_command(kernel, command, options, workdir=workdir, rwdirs=rwdirs,
                           environment=(("MOVEPHYS_CACHE", "/tmp/movephys-cache"),))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def build_request(source: Path | None = None, cache_dir: Path | None = None,
                  debug: bool = False, jobs: int | None = None,
                  series_name: str = series.DEFAULT_SERIES,
                  arch_name: str = arches.DEFAULT_ARCH) -> build.BuildRequest:
    """What to build for kernel line @series_name on @arch_name: by default
    its tarball with its port of our series; a tree is built as it is.
    Either way base.config, the architecture's fragment and the line's
    fragments, in that order, and debug.config last."""
    line = series.lookup(series_name)
    target = arches.lookup(arch_name)
    source = line.tarball if source is None else source
    fragments = (config.BASE_FRAGMENT, target.fragment, *line.fragments,
                 *((config.DEBUG_FRAGMENT,) if debug else ()))
    return build.BuildRequest(
        source=source, patches=() if source.is_dir() else build.default_patches(line.patch_dir),
        fragments=fragments, cache_dir=cache_dir or cache.cache_dir(),
        jobs=max(1, jobs or os.cpu_count() or 1), series=line.name, arch=target.name,
    )


def build_kernel(source: Path | None = None, cache_dir: Path | None = None,
                 debug: bool = False, jobs: int | None = None,
                 series_name: str = series.DEFAULT_SERIES,
                 arch_name: str = arches.DEFAULT_ARCH) -> Kernel:
    """Build or reuse a kernel (see build_request)."""
    request = build_request(source, cache_dir, debug, jobs, series_name, arch_name)
    return from_build(build.build(request, build.print_progress))


def _echo(line: str) -> None:
    print(line, flush=True)


def suite_root() -> Path:
    """The directory holding suites/ and the conftest.py with the suite's
    options: the checkout, or the copy an installed movephys carries."""
    root = data_root()
    for needed in (root / "conftest.py", root / "suites" / "conftest.py"):
        if not needed.is_file():
            raise RunnerError(f"{needed} does not exist: this movephys installation lacks "
                              "the suite (reinstall it, or run from a checkout)")
    return root


def suite_options(kernel: Kernel, results: Path, case_timeout: float) -> list[str]:
    """The suite's own options in the guest, however pytest is started."""
    # The guest is disposable: cases that change machine-wide memory
    # state (offlining a block, exhausting a node) run there.
    options = [
        "--require-syscall", "--destructive", f"--timeout={case_timeout:.0f}",
        f"--junitxml={results / 'junit.xml'}", f"--ktap={results / 'results.ktap'}",
        f"--case-stream={results / STREAM_FILE}",
    ]
    if kernel.headers is not None:
        options.append(f"--kernel-headers={kernel.headers}")
    return options


def suite_command(kernel: Kernel, results: Path, pytest_args: list[str],
                  case_timeout: float = CASE_TIMEOUT, python: str = sys.executable) -> str:
    root = suite_root()
    arguments = [
        # An explicit rootdir: an installed copy has no pytest ini file to
        # anchor it, and without it the root conftest.py would not be read.
        python, "-m", "pytest", f"--rootdir={root}", str(root / "suites"),
        "-p", "no:cacheprovider", "-rs", *suite_options(kernel, results, case_timeout),
    ]
    return shlex.join([*arguments, *pytest_args])


def kselftest_job(kernel: Kernel, results: Path, pytest_args: list[str],
                  case_timeout: float = CASE_TIMEOUT, python: str = sys.executable
                  ) -> tuple[str, tuple[tuple[str, str], ...]]:
    """The guest command and environment of a suite run through the kselftest target."""
    installed = kselftest.install(kernel.source_tree, results)
    arguments = [*suite_options(kernel, results, case_timeout), *pytest_args]
    return (kselftest.guest_command(installed, results / "kselftest.log"),
            kselftest.environment(python, arguments))


def run_suite(kernel: Kernel, options: VmOptions, results: Path,
              pytest_args: list[str], via_kselftest: bool = False) -> JobResult:
    """@via_kselftest: through the kselftest target's run_kselftest.sh (movephys.vm.kselftest)."""
    results.mkdir(parents=True, exist_ok=True)
    # A file left by an earlier run would be read as this run's.
    for stale in ("junit.xml", "results.ktap", STREAM_FILE, "kernel.log", "suite.log",
                  "kselftest.log"):
        (results / stale).unlink(missing_ok=True)
    stream = results / STREAM_FILE
    guest = guest_of(kernel, options.cache_dir)
    command = suite_command(kernel, results, pytest_args, options.case_timeout, guest.python)
    environment: tuple[tuple[str, str], ...] = ()
    if via_kselftest:
        command, environment = kselftest_job(kernel, results, pytest_args, options.case_timeout,
                                             guest.python)
    result, problems, ending = boot_job(
        kernel, command, options, workdir=results / "vm", rwdirs=(results,),
        environment=(("MOVEPHYS_CACHE", "/tmp/movephys-cache"), *environment),
        timeout=float("inf"), watch=SuiteWatch(stream, Budget(options.case_timeout)),
        guest=guest,
    )
    (results / "kernel.log").write_text(result.kernel_log or result.console)
    (results / "suite.log").write_text(result.output)
    salvaged = None
    if ending.kind != "finished":
        salvaged = salvage(read_stream(stream), ending, results / "results.ktap",
                           results / "junit.xml")
        build.print_progress(f"kept {salvaged.summary()}; results in {results}")
    status = kselftest.pytest_status(result.exit_code) if via_kselftest else result.exit_code
    return JobResult(suite_status(status, ending, len(problems)), result, problems,
                     ending, salvaged)


def selftest_binary(kernel: Kernel, cache_dir: Path) -> Path:
    """Build the kernel's own tools/testing/selftests/mm/migration."""
    if kernel.source_tree is None or kernel.headers is None:
        raise RunnerError("the migration selftest needs a kernel source tree and its headers")
    tree_digest = hashlib.sha256(str(kernel.source_tree.resolve()).encode()).hexdigest()[:16]
    output = cache_dir / "selftests" / tree_digest
    output.mkdir(parents=True, exist_ok=True)
    binary = output / "migration"
    build.run_logged(
        ["make", "-C", str(kernel.source_tree / "tools/testing/selftests/mm"),
         f"OUTPUT={output}", f"KHDR_INCLUDES=-isystem {kernel.headers / 'include'}",
         str(binary)],
        output / "build.log", build.print_progress, "building the migration selftest",
    )
    return binary


def run_selftest(kernel: Kernel, options: VmOptions, results: Path) -> JobResult:
    binary = selftest_binary(kernel, options.cache_dir)
    results.mkdir(parents=True, exist_ok=True)
    # As run_vmtests.sh does: the hugetlb cases need a pool to migrate from.
    command = (f"echo {SELFTEST_HUGEPAGES} > /proc/sys/vm/nr_hugepages; "
               f"{shlex.quote(str(binary))}; status=$?; "
               "echo 0 > /proc/sys/vm/nr_hugepages; exit $status")
    job = run_command(kernel, command, options, workdir=results / "vm-selftest",
                      rwdirs=(results,))
    (results / "selftest-migration.log").write_text(job.boot.output)
    return job
