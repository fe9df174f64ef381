"""A user namespace in which the caller is root, for the "root in a user namespace" cases.

:func:`enter_as_root` changes the calling process: call it in a forked
child (the test process must keep its namespace). Root there has every
capability in the new namespace and none in the initial one, which is
where move_phys_pages checks CAP_SYS_ADMIN.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from cffi import FFI

from movephys.changes.child import ChildFailed, run_in_child

CLONE_NEWUSER = 0x10000000
PR_SET_DUMPABLE = 4

ffi = FFI()
ffi.cdef("int unshare(int flags); int prctl(int option, ...);")
libc: Any = ffi.dlopen(None)  # the cdef's functions: attributes only at run time


class UsernsError(OSError):
    """unshare or the id maps failed (one line)."""

    def __str__(self) -> str:  # the message alone, without "[Errno N]"
        return self.strerror or super().__str__()


def enter_as_root(outer_uid: int | None = None) -> None:
    """unshare(CLONE_NEWUSER) and map this process's uid and gid to 0 inside.

    ``outer_uid`` first switches to that unprivileged user (from root), so
    the namespace belongs to an ordinary user as it would in the field.
    """
    if outer_uid is not None:
        os.setgroups([])
        os.setresgid(outer_uid, outer_uid, outer_uid)
        os.setresuid(outer_uid, outer_uid, outer_uid)
        # The uid change made /proc/self root's; being dumpable again makes
        # it ours, so we may write our own id maps.
        libc.prctl(PR_SET_DUMPABLE, ffi.cast("unsigned long", 1))
    uid, gid = os.geteuid(), os.getegid()
    if libc.unshare(CLONE_NEWUSER) != 0:
        err = ffi.errno
        raise UsernsError(err, f"unshare(CLONE_NEWUSER) failed: {os.strerror(err)}")
    try:
        Path("/proc/self/uid_map").write_text(f"0 {uid} 1\n")
        Path("/proc/self/setgroups").write_text("deny\n")
        Path("/proc/self/gid_map").write_text(f"0 {gid} 1\n")
    except OSError as error:
        raise UsernsError(error.errno, f"writing the id maps failed: {error.strerror}") from None


def _probe() -> tuple[int, int]:
    enter_as_root()
    return os.geteuid(), os.getegid()


def unavailable_reason() -> str | None:
    """Why no user namespace can be made here, or None (tried in a child)."""
    limit = Path("/proc/sys/user/max_user_namespaces")
    if limit.exists() and limit.read_text().strip() == "0":
        return f"user namespaces disabled: {limit} is 0"
    try:
        ids = run_in_child(_probe, timeout=10)
    except ChildFailed as error:
        last = str(error).splitlines()[0]
        return f"no user namespace: {last}"
    if ids != (0, 0):
        return f"no user namespace: ids inside are {ids}, not (0, 0)"
    return None

