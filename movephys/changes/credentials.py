"""Dropping capabilities and switching users, through capset and prctl (cffi).

Every function here changes the calling process for good: call them in a
child (:func:`movephys.changes.child.run_in_child` with ``setup=``), never
in the test process. Reading the sets is :mod:`movephys.probes.caps`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from cffi import FFI

from movephys.probes import caps as capabilities
from movephys.probes.caps import CAP_SETPCAP, CapSets

ffi = FFI()
ffi.include(capabilities.ffi)
ffi.cdef(
    """
    int capset(cap_header_t *header, const cap_data_t *data);
    int prctl(int option, ...);
    """
)
libc: Any = ffi.dlopen(None)  # the cdef's functions: attributes only at run time


PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

def _mask(caps: Iterable[int]) -> int:
    mask = 0
    for cap in caps:
        mask |= 1 << cap
    return mask


def set_caps(sets: CapSets) -> None:
    version = capabilities.LINUX_CAPABILITY_VERSION_3
    header = ffi.new("cap_header_t *", {"version": version, "pid": 0})
    data = ffi.new("cap_data_t[2]")
    for name in ("effective", "permitted", "inheritable"):
        mask = _mask(getattr(sets, name))
        setattr(data[0], name, mask & 0xFFFFFFFF)
        setattr(data[1], name, mask >> 32)
    if libc.capset(header, data) != 0:
        raise capabilities.capability_error("capset", ffi.errno)


def _prctl(option: int, *args: int) -> None:
    cargs = [ffi.cast("unsigned long", a) for a in args]
    if libc.prctl(option, *cargs) != 0:
        raise capabilities.capability_error(f"prctl({option})", ffi.errno)


def _clear_ambient() -> None:
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def drop(caps: Iterable[int]) -> None:
    """Remove ``caps`` from every set and the bounding set; uid unchanged (in a child only)."""
    removed = frozenset(caps)
    current = capabilities.get()
    for cap in removed:
        if CAP_SETPCAP in current.effective:
            _prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)
    _clear_ambient()
    set_caps(
        CapSets(
            current.effective - removed,
            current.permitted - removed,
            current.inheritable - removed,
        )
    )


def keep_only(caps: Iterable[int]) -> None:
    """Hold exactly ``caps`` (effective and permitted); uid unchanged (in a child only)."""
    kept = frozenset(caps)
    _clear_ambient()
    set_caps(CapSets(kept, kept, frozenset()))


def become(uid: int, gid: int | None = None) -> None:
    """Switch real, effective and saved ids to an unprivileged user: every capability goes."""
    gid = uid if gid is None else gid
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)


def setuid_keeping(uid: int, caps: Iterable[int], gid: int | None = None) -> None:
    """Become ``uid`` (non-zero) yet keep ``caps`` effective (PR_SET_KEEPCAPS; in a child only)."""
    kept = frozenset(caps)
    _prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0)
    become(uid, gid)
    # The uid change cleared the effective set; the permitted set survived KEEPCAPS.
    set_caps(CapSets(kept, kept, frozenset()))
