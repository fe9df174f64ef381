"""Options, markers and machine gates of the move_phys_pages conformance suite.

Options and session hooks live here because pytest reads them only from the
rootdir conftest. A case's markers name what it needs; the setup hook skips
it with the precise reason when a need is not met, and the gate fixtures
(syscall_nr, two_nodes, ...) do the same for what they hand out. Nothing
here calls the syscall during collection; the number is confirmed once per
process, on first use. Under --require-syscall (the VM runner's), a call
that is not confirmed fails each case that needs it, with the reason: the
kernel under test was meant to have it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

import pytest

pytest_plugins = ["movephys.ktap", "movephys.casestream", "movephys.verdicts"]

MARKERS: dict[str, str] = {
    "needs_syscall": "needs move_phys_pages resolved and confirmed on the running kernel",
    "needs_root": "needs uid 0 with CAP_SYS_ADMIN",
    "needs_two_nodes": "needs two memory nodes this process may allocate on",
    "needs_compat": "needs a 32-bit caller (IA32 emulation and a -m32 helper)",
    "needs_cgroup_cpuset": "needs cgroup v2 with the cpuset controller",
    "destructive": "changes machine-wide memory state (then restores it); runs with --destructive",
    "slow": "runs for seconds on purpose (stress)",
}


@dataclass(frozen=True)
class SyscallVerdict:
    """The outcome of resolving and confirming the numbers, once per process."""

    nr: int | None  # the native number, only when confirmed
    compat_nr: int | None  # the i386 number, only when confirmed
    reason: str  # one line: how the native number was confirmed, or why not
    compat_reason: str
    compat_flags_rejected: bool | None = None  # the compat probe gave EINVAL; None: not probed

    @property
    def confirmed(self) -> bool:
        return self.nr is not None


SYSCALL_NUMBERS = pytest.StashKey[object]()
SYSCALL_VERDICT = pytest.StashKey[SyscallVerdict]()
NUMA_BALANCING_SAVED = pytest.StashKey[object]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("movephys", "move_phys_pages conformance suite")
    group.addoption(
        "--syscall-nr",
        type=int,
        default=None,
        metavar="NR",
        help="syscall number of move_phys_pages (still confirmed before use)",
    )
    group.addoption(
        "--compat-syscall-nr",
        type=int,
        default=None,
        metavar="NR",
        help="i386 syscall number of move_phys_pages (still confirmed before use)",
    )
    group.addoption(
        "--kernel-headers",
        default=None,
        metavar="DIR",
        help="kernel UAPI headers to read __NR_move_phys_pages from (default: the system's)",
    )
    group.addoption(
        "--require-syscall",
        action="store_true",
        default=False,
        help="the kernel must have the call: when it is not confirmed, every case that needs "
        "it fails with the reason instead of skipping",
    )
    group.addoption(
        "--destructive",
        action="store_true",
        default=False,
        help="run cases that offline memory or shrink a node's free memory (restored after)",
    )
    group.addoption(
        "--stress-seconds",
        type=float,
        default=5.0,
        metavar="S",
        help="duration of each stress case (default 5)",
    )


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    stress = config.getoption("--stress-seconds", default=5.0)
    if stress is not None and stress <= 0:
        raise pytest.UsageError(f"--stress-seconds: {stress} is not a positive duration")
    _resolve_numbers(config)


def _resolve_numbers(config: pytest.Config) -> None:
    """Read the numbers from options, environment and headers: no syscall is made here."""
    from movephys.syscall import numbers

    try:
        config.stash[SYSCALL_NUMBERS] = numbers.resolve(
            config.getoption("--syscall-nr"),
            explicit_compat=config.getoption("--compat-syscall-nr"),
            kernel_headers=config.getoption("--kernel-headers"),
        )
    except numbers.SyscallNumberError as error:
        raise pytest.UsageError(str(error)) from None


def syscall_verdict(config: pytest.Config) -> SyscallVerdict:
    """Confirm the resolved numbers once; never call a number not confirmed."""
    if SYSCALL_VERDICT not in config.stash:
        from movephys.syscall import compat, identity

        # Without a 32-bit caller the compat entry rests on the static check;
        # needs_compat skips every case that would call it.
        has_compat = compat.unavailable_reason() is None
        found = identity.confirm(
            config.stash[SYSCALL_NUMBERS],
            compat_probe=compat.probe_int80 if has_compat else None,
            query_probe=identity.native_query_probe,
            compat_query_probe=compat.query_probe if has_compat else None,
        )
        config.stash[SYSCALL_VERDICT] = SyscallVerdict(
            nr=found.nr,
            compat_nr=found.compat_nr,
            reason=f"move_phys_pages {'confirmed' if found.confirmed else 'not confirmed'}: "
            f"{found.reason}",
            compat_reason=found.compat.reason,
            compat_flags_rejected=found.compat.flags_rejected,
        )
    return config.stash[SYSCALL_VERDICT]


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _runs_suite(config: pytest.Config) -> bool:
    """Whether the run includes suites/ (unit tests alone must not touch the machine)."""
    suites = (config.rootpath / "suites").resolve()
    for arg in config.args or ["."]:
        path = (config.invocation_params.dir / arg.split("::")[0]).resolve()
        if path == suites or suites in path.parents or path in suites.parents:
            return True
    return False


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    # NUMA balancing is machine-wide: only the controller (or a serial run)
    # turns it off, so parallel workers never restore each other's value.
    if not _is_xdist_worker(config) and _runs_suite(config):
        from movephys.probes import numa_balancing

        config.stash[NUMA_BALANCING_SAVED] = numa_balancing.disable()


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if NUMA_BALANCING_SAVED in config.stash:
        from movephys.probes import numa_balancing

        numa_balancing.restore(config.stash[NUMA_BALANCING_SAVED])


# -- gates: one function per need says what is missing (None when met) --------
#
# The setup hook checks a case's markers before any fixture runs, in the order
# of GATES, so a case on a kernel without the call skips for that reason first.


def syscall_problem(config: pytest.Config) -> str | None:
    verdict = syscall_verdict(config)
    return None if verdict.confirmed else verdict.reason


def root_problem(config: pytest.Config) -> str | None:
    if os.geteuid() != 0:
        return f"needs root: running as uid {os.geteuid()}"
    from movephys.probes import caps

    if not caps.has_effective(caps.CAP_SYS_ADMIN):
        return "needs CAP_SYS_ADMIN in the effective set: this process lacks it"
    return None


def allowed_memory_nodes() -> tuple[int, ...]:
    """Memory nodes this process may allocate on (N_MEMORY and Mems_allowed), sorted."""
    from movephys.probes import nodes

    return tuple(nodes.allowed_memory_nodes())


def two_nodes_problem(config: pytest.Config) -> str | None:
    found = allowed_memory_nodes()
    if len(found) < 2:
        return f"fewer than two memory nodes this process may use: {list(found)}"
    return None


def compat_problem(config: pytest.Config) -> str | None:
    from movephys.syscall import compat

    problem = compat.unavailable_reason()
    return None if problem is None else f"no IA32 emulation: {problem}"


def cpuset_problem(config: pytest.Config) -> str | None:
    from movephys.probes import cgroups

    problem = cgroups.cpuset_unavailable_reason()
    return None if problem is None else f"no cgroup v2 cpuset controller: {problem}"


def destructive_problem(config: pytest.Config) -> str | None:
    if config.getoption("--destructive"):
        return None
    return "destructive: changes machine-wide memory state; pass --destructive to run"


GATES: dict[str, Callable[[pytest.Config], str | None]] = {
    "needs_syscall": syscall_problem,
    "needs_root": root_problem,
    "needs_compat": compat_problem,
    "needs_two_nodes": two_nodes_problem,
    "needs_cgroup_cpuset": cpuset_problem,
    "destructive": destructive_problem,
}


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, problem in GATES.items():
        if item.get_closest_marker(marker) is not None:
            reason = problem(item.config)
            if marker == "needs_syscall":
                _fail_or_skip_without_syscall(item.config, reason)
            _skip_on(reason)


def _skip_on(reason: str | None) -> None:
    if reason is not None:
        pytest.skip(reason)


def _fail_or_skip_without_syscall(config: pytest.Config, reason: str | None) -> None:
    """No confirmed call: a skip, or under --require-syscall the kernel's failure."""
    if reason is not None and config.getoption("--require-syscall"):
        from movephys.verdicts import KernelWrong

        raise KernelWrong(f"--require-syscall: this kernel must have the call, but {reason}")
    _skip_on(reason)


@pytest.fixture(scope="session")
def syscall_nr(pytestconfig: pytest.Config) -> int:
    """The confirmed number of move_phys_pages, or a skip (a failure under
    --require-syscall) saying why there is none."""
    verdict = syscall_verdict(pytestconfig)
    _fail_or_skip_without_syscall(pytestconfig, syscall_problem(pytestconfig))
    assert verdict.nr is not None
    return verdict.nr


@pytest.fixture(scope="session")
def confirmation(pytestconfig: pytest.Config) -> SyscallVerdict:
    """How the numbers were confirmed, for the cases that check the probes' answers."""
    return syscall_verdict(pytestconfig)


@pytest.fixture(scope="session")
def compat_syscall_nr(pytestconfig: pytest.Config, syscall_nr: int) -> int:
    """The confirmed i386 number of move_phys_pages.

    Without a 32-bit caller on this machine the case skips (needs_compat says
    why). With one, the kernel has IA32 emulation and the call, and the spec
    gives the i386 table the call: an i386 entry that is missing, answers
    ENOSYS or is another call is the kernel's failure, never a skip.
    """
    _skip_on(compat_problem(pytestconfig))
    verdict = syscall_verdict(pytestconfig)
    if verdict.compat_nr is None:
        from movephys.verdicts import KernelWrong

        raise KernelWrong(
            f"spec numbers, abi i386: this kernel has IA32 emulation and move_phys_pages "
            f"(number {syscall_nr}), so its i386 table must have the call too, but the "
            f"i386 entry is not confirmed: {verdict.compat_reason}"
        )
    return verdict.compat_nr


@pytest.fixture(scope="session")
def allowed_nodes() -> tuple[int, ...]:
    return allowed_memory_nodes()


@pytest.fixture(scope="session")
def two_nodes(pytestconfig: pytest.Config) -> tuple[int, int]:
    """The first two allowed memory nodes: never fixed ids, they can be sparse."""
    _skip_on(two_nodes_problem(pytestconfig))
    first, second = allowed_memory_nodes()[:2]
    return first, second


@pytest.fixture(scope="session")
def compat_caller(pytestconfig: pytest.Config) -> None:
    """Met when a 32-bit caller exists; a skip saying why not otherwise."""
    _skip_on(compat_problem(pytestconfig))
