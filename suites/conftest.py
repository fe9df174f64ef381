"""Fixtures every case family of the suite shares.

Markers name what a case needs; the root conftest skips a case whose needs
are not met, with the precise reason, before any fixture here runs.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from suitekit.calls import Caller
from suitekit.kernel_log import KernelLogWatch
from suitekit.machine_lock import case_lock

# Under pytest-xdist the kernel log is shared: a splat fails every case that
# was running anywhere when it was logged, since the log cannot say whose it is.
KERNEL_LOG = pytest.StashKey[KernelLogWatch]()


@pytest.fixture(autouse=True)
def one_destructive_case_at_a_time(request: pytest.FixtureRequest) -> Iterator[None]:
    """Under pytest-xdist, a destructive case runs alone; the others share the machine."""
    with case_lock(exclusive=request.node.get_closest_marker("destructive") is not None):
        yield


@pytest.fixture(autouse=True)
def kernel_log_clean(request: pytest.FixtureRequest) -> Iterator[KernelLogWatch]:
    """Fail the case when the kernel logs BUG, WARNING, Oops, KASAN or lockdep during it.

    The call phase is checked by the hook below so that a splat counts as the
    case's failure; lines that appear during teardown are checked here. A log
    that cannot be read makes every case a set-up error saying why.
    """
    watch = KernelLogWatch.start()
    request.node.stash[KERNEL_LOG] = watch
    yield watch
    splat = watch.new_splat()
    watch.close()
    if splat:
        pytest.fail(f"kernel log during teardown:\n{splat}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    result = yield
    watch = item.stash.get(KERNEL_LOG, None)
    if watch is not None:
        splat = watch.new_splat()
        if splat:
            pytest.fail(f"kernel log during the case:\n{splat}", pytrace=False)
    return result


@pytest.fixture
def caller(syscall_nr: int) -> Caller:
    """move_phys_pages bound to the confirmed number."""
    return Caller(syscall_nr)
