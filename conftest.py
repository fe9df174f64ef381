"""Options, markers and machine gates of the move_phys_pages conformance suite.

Options and session hooks live here because pytest reads them only from the
rootdir conftest. A case's markers name what it needs, and are the only
gate: the setup hook skips it with the precise reason when a need is not
met; a case using a gated fixture (syscall_nr, two_nodes, ...) is given
that fixture's markers at collection. Nothing
here calls the syscall during collection; the number is confirmed once per
process, on first use. Under --require-syscall (the VM runner's), a call
that is not confirmed fails each case that needs it, with the reason: the
kernel under test was meant to have it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from movephys.changes.numa_balancing import Saved
    from movephys.syscall.identity import Identity
    from movephys.syscall.numbers import NumberSource, SyscallNumbers

pytest_plugins = ["movephys.ktap", "movephys.casestream", "movephys.verdicts"]

MARKERS: dict[str, str] = {
    "needs_syscall": "needs move_phys_pages resolved and confirmed on the running kernel",
    "needs_root": "needs uid 0 with CAP_SYS_ADMIN",
    "needs_two_nodes": "needs two memory nodes this process may allocate on",
    "needs_compat": "needs a 32-bit caller (IA32 emulation); needs_compat(path): by that path",
    "needs_cgroup_cpuset": "needs cgroup v2 with the cpuset controller",
    "destructive": "changes machine-wide memory state (then restores it); runs with --destructive",
    "slow": "runs for seconds on purpose (stress)",
}


SYSCALL_NUMBERS: pytest.StashKey[SyscallNumbers] = pytest.StashKey()
SYSCALL_IDENTITY = pytest.StashKey["Identity"]()
NUMA_BALANCING_SAVED: pytest.StashKey[Saved] = pytest.StashKey()


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


def syscall_identity(config: pytest.Config) -> Identity:
    """Confirm the resolved numbers once; never call a number not confirmed."""
    if SYSCALL_IDENTITY not in config.stash:
        from movephys.syscall import compat, identity

        # Without a 32-bit caller the compat entry rests on the static check;
        # needs_compat skips every case that would call it.
        has_compat = compat.unavailable_reason() is None
        config.stash[SYSCALL_IDENTITY] = identity.confirm(
            config.stash[SYSCALL_NUMBERS],
            compat_probe=compat.probe_int80 if has_compat else None,
            query_probe=identity.native_query_probe,
            compat_query_probe=compat.query_probe if has_compat else None,
        )
    return config.stash[SYSCALL_IDENTITY]


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


def pytest_report_header(config: pytest.Config) -> list[str]:
    """Where the number came from and how it was confirmed: what a maintainer
    checks first on a port, printed before any case runs."""
    # Confirming probes the call: a collection alone never calls it.
    if (not _runs_suite(config) or config.option.collectonly
            or SYSCALL_NUMBERS not in config.stash):
        return []
    numbers = config.stash[SYSCALL_NUMBERS]
    identity = syscall_identity(config)
    lines = [_number_line("move_phys_pages", numbers.native), identity.account()]
    if numbers.compat.found:
        verdict = "confirmed" if identity.compat.confirmed else "not confirmed"
        lines += [_number_line("compat entry", numbers.compat),
                  f"compat entry {verdict}: {identity.compat.reason}"]
    return lines


def _number_line(entry: str, number: NumberSource) -> str:
    if number.nr is None:
        return f"{entry}: no number: {number.source}"
    return f"{entry}: number {number.nr} from {number.source}"


def pytest_sessionstart(session: pytest.Session) -> None:
    config = session.config
    # NUMA balancing is machine-wide: only the controller (or a serial run)
    # turns it off, so parallel workers never restore each other's value.
    if not _is_xdist_worker(config) and _runs_suite(config):
        from movephys.changes import numa_balancing

        config.stash[NUMA_BALANCING_SAVED] = numa_balancing.disable()


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if NUMA_BALANCING_SAVED in config.stash:
        from movephys.changes import numa_balancing

        numa_balancing.restore(config.stash[NUMA_BALANCING_SAVED])


# -- gates: one function per need says what is missing (None when met) --------
#
# Markers are the only gate: the setup hook checks a case's markers before
# any fixture runs, in the order of GATES, so a case on a kernel without the
# call skips for that reason first. A case that uses a gated fixture gets
# the fixture's markers at collection (FIXTURE_NEEDS); the fixtures only
# hand out what the gate has checked.


def syscall_problem(item: pytest.Item) -> str | None:
    found = syscall_identity(item.config)
    return None if found.confirmed else found.account()


def root_problem(item: pytest.Item) -> str | None:
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


def two_nodes_problem(item: pytest.Item) -> str | None:
    found = allowed_memory_nodes()
    if len(found) < 2:
        return f"fewer than two memory nodes this process may use: {list(found)}"
    return None


def compat_problem(item: pytest.Item) -> str | None:
    """No 32-bit caller at all, or none by the path a ``needs_compat(path)`` marker names."""
    from movephys.syscall import compat

    problem = compat.unavailable_reason()
    if problem is not None:
        return f"no 32-bit caller: {problem}"
    for marker in item.iter_markers("needs_compat"):
        for path in marker.args:
            problem = compat.unavailable_reason(path)
            if problem is not None:
                return f"no {path} path: {problem}"
    return None


def cpuset_problem(item: pytest.Item) -> str | None:
    from movephys.probes import cgroups

    problem = cgroups.cpuset_unavailable_reason()
    return None if problem is None else f"no cgroup v2 cpuset controller: {problem}"


def destructive_problem(item: pytest.Item) -> str | None:
    if item.config.getoption("--destructive"):
        return None
    return "destructive: changes machine-wide memory state; pass --destructive to run"


GATES: dict[str, Callable[[pytest.Item], str | None]] = {
    "needs_syscall": syscall_problem,
    "needs_root": root_problem,
    "needs_compat": compat_problem,
    "needs_two_nodes": two_nodes_problem,
    "needs_cgroup_cpuset": cpuset_problem,
    "destructive": destructive_problem,
}

FIXTURE_NEEDS: dict[str, tuple[str, ...]] = {
    "syscall_nr": ("needs_syscall",),
    "compat_syscall_nr": ("needs_syscall", "needs_compat"),
    "two_nodes": ("needs_two_nodes",),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        for fixture in getattr(item, "fixturenames", ()):
            for need in FIXTURE_NEEDS.get(fixture, ()):
                if item.get_closest_marker(need) is None:
                    item.add_marker(need)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    for marker, problem in GATES.items():
        if item.get_closest_marker(marker) is None:
            continue
        reason = problem(item)
        if reason is None:
            continue
        if marker == "needs_syscall" and item.config.getoption("--require-syscall"):
            from movephys.verdicts import KernelWrong

            raise KernelWrong(f"--require-syscall: this kernel must have the call, but {reason}")
        pytest.skip(reason)


def _gated(request: pytest.FixtureRequest, need: str) -> None:
    """A fixture reached without its marker's gate is a suite bug (fetched by name late)."""
    if request.node.get_closest_marker(need) is None:
        from movephys.verdicts import broken

        broken(f"set-up: {request.fixturename} needs the {need} marker on "
               f"{request.node.nodeid}, whose gate did not run")


@pytest.fixture(scope="session")
def syscall_nr(pytestconfig: pytest.Config) -> int:
    """The confirmed number of move_phys_pages (the needs_syscall gate has passed)."""
    nr = syscall_identity(pytestconfig).nr
    assert nr is not None, "the needs_syscall gate lets no case through without the call"
    return nr


@pytest.fixture(scope="session")
def confirmation(pytestconfig: pytest.Config) -> Identity:
    """How the numbers were confirmed, for the cases that check the probes' answers."""
    return syscall_identity(pytestconfig)


@pytest.fixture
def compat_syscall_nr(request: pytest.FixtureRequest, syscall_nr: int) -> int:
    """The confirmed i386 number of move_phys_pages.

    The needs_compat gate has found a 32-bit caller, so the kernel has IA32
    emulation and the call, and the spec gives the i386 table the call: an
    i386 entry that is missing, answers ENOSYS or is another call is the
    kernel's failure, never a skip.
    """
    _gated(request, "needs_compat")
    found = syscall_identity(request.config)
    if found.compat_nr is None:
        from movephys.verdicts import KernelWrong

        raise KernelWrong(
            f"spec numbers, abi i386: this kernel has IA32 emulation and move_phys_pages "
            f"(number {syscall_nr}), so its i386 table must have the call too, but the "
            f"i386 entry is not confirmed: {found.compat.reason}"
        )
    return found.compat_nr


@pytest.fixture(scope="session")
def allowed_nodes() -> tuple[int, ...]:
    return allowed_memory_nodes()


@pytest.fixture
def two_nodes(request: pytest.FixtureRequest) -> tuple[int, int]:
    """The first two allowed memory nodes: never fixed ids, they can be sparse."""
    _gated(request, "needs_two_nodes")
    first, second = allowed_memory_nodes()[:2]
    return first, second
