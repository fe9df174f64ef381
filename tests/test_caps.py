"""Credentials changed in forked children: capabilities, uids, user namespaces."""

from __future__ import annotations

import errno
import os
import time

import pytest

from movephys.changes import credentials, userns
from movephys.changes.child import ChildFailed, run_in_child
from movephys.probes import caps
from movephys.syscall import native

NOBODY = 65534
needs_root = pytest.mark.skipif(
    os.geteuid() != 0 or not caps.has_effective(caps.CAP_SETUID),
    reason="changing uids and capabilities needs root",
)


def my_credentials() -> tuple[int, frozenset[int]]:
    return os.geteuid(), caps.get().effective


def test_child_result_and_errors_come_back() -> None:
    assert run_in_child(lambda: os.getpid()) != os.getpid()
    with pytest.raises(ChildFailed, match="raised ValueError: bad"):
        run_in_child(lambda: (_ for _ in ()).throw(ValueError("bad")))


def test_child_is_killed_and_reaped_on_timeout() -> None:
    start = time.monotonic()
    with pytest.raises(ChildFailed, match="no result within 1 s and was killed"):
        run_in_child(lambda: time.sleep(30), timeout=1)
    assert time.monotonic() - start < 10
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # nothing left to reap


def test_child_dying_without_result() -> None:
    with pytest.raises(ChildFailed, match="died without a result \\(exit status 3\\)"):
        run_in_child(lambda: os._exit(3))


@needs_root
def test_setuid_keeping_sys_admin() -> None:
    uid, effective = run_in_child(
        my_credentials, setup=lambda: credentials.setuid_keeping(NOBODY, {caps.CAP_SYS_ADMIN})
    )
    assert (uid, effective) == (NOBODY, frozenset({caps.CAP_SYS_ADMIN}))


@needs_root
def test_keep_only_and_drop() -> None:
    kept = run_in_child(my_credentials, setup=lambda: credentials.keep_only({caps.CAP_SYS_NICE}))
    assert kept == (0, frozenset({caps.CAP_SYS_NICE}))
    dropped = run_in_child(my_credentials, setup=lambda: credentials.drop({caps.CAP_SYS_ADMIN}))
    uid, effective = dropped
    assert uid == 0 and caps.CAP_SYS_ADMIN not in effective and caps.CAP_SYS_NICE in effective


@needs_root
def test_unprivileged_user_has_nothing() -> None:
    nobody = run_in_child(my_credentials, setup=lambda: credentials.become(NOBODY))
    assert nobody == (NOBODY, frozenset())


@needs_root
def test_dropped_capability_is_enforced_by_the_kernel() -> None:
    """Without CAP_SYS_NICE, move_pages MOVE_ALL on our own page is refused (mainline)."""

    def move_all() -> tuple[int, int]:
        result = native.move_pages(0, 0, [], [], 0, native.MPOL_MF_MOVE_ALL)
        return result.ret, result.errno

    assert run_in_child(move_all) == (0, 0)
    assert run_in_child(move_all, setup=lambda: credentials.drop({caps.CAP_SYS_NICE})) == (
        -1, errno.EPERM
    )


def test_user_namespace_root() -> None:
    reason = userns.unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    outer = NOBODY if os.geteuid() == 0 else None
    uid, effective = run_in_child(my_credentials, setup=lambda: userns.enter_as_root(outer))
    assert uid == 0 and caps.CAP_SYS_ADMIN in effective  # in the namespace, not outside

