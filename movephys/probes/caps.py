"""Capabilities of this process through capget/capset (cffi), and dropping them.

The changing functions (:func:`drop`, :func:`keep_only`,
:func:`setuid_keeping`, :func:`become`) change the calling process for good:
call them in a child (:func:`movephys.probes.child.run_in_child` with
``setup=``), never in the test process.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass

from cffi import FFI

CAP_SETUID = 7
CAP_SETPCAP = 8
CAP_SYS_ADMIN = 21
CAP_SYS_NICE = 23

LINUX_CAPABILITY_VERSION_3 = 0x20080522
PR_SET_KEEPCAPS = 8
PR_CAPBSET_DROP = 24
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4

ffi = FFI()
ffi.cdef(
    """
    typedef struct { uint32_t version; int pid; } cap_header_t;
    typedef struct { uint32_t effective; uint32_t permitted; uint32_t inheritable; } cap_data_t;
    int capget(cap_header_t *header, cap_data_t *data);
    int capset(cap_header_t *header, const cap_data_t *data);
    int prctl(int option, ...);
    """
)
libc = ffi.dlopen(None)


class CapabilityError(OSError):
    """capget/capset/prctl failed (one line)."""

    def __str__(self) -> str:  # the message alone, without "[Errno N]"
        return self.strerror or super().__str__()


@dataclass(frozen=True)
class CapSets:
    effective: frozenset[int]
    permitted: frozenset[int]
    inheritable: frozenset[int]


def _mask(caps: Iterable[int]) -> int:
    mask = 0
    for cap in caps:
        mask |= 1 << cap
    return mask


def _caps(mask: int) -> frozenset[int]:
    return frozenset(bit for bit in range(64) if mask >> bit & 1)


def _fail(call: str) -> CapabilityError:
    err = ffi.errno
    return CapabilityError(err, f"{call} failed: {os.strerror(err)}")


def get(pid: int = 0) -> CapSets:
    """The capability sets of ``pid`` (0: this thread)."""
    header = ffi.new("cap_header_t *", {"version": LINUX_CAPABILITY_VERSION_3, "pid": pid})
    data = ffi.new("cap_data_t[2]")
    if libc.capget(header, data) != 0:
        raise _fail("capget")

    def join(field: str) -> frozenset[int]:
        return _caps(getattr(data[0], field) | getattr(data[1], field) << 32)

    return CapSets(join("effective"), join("permitted"), join("inheritable"))


def set_caps(sets: CapSets) -> None:
    header = ffi.new("cap_header_t *", {"version": LINUX_CAPABILITY_VERSION_3, "pid": 0})
    data = ffi.new("cap_data_t[2]")
    for name in ("effective", "permitted", "inheritable"):
        mask = _mask(getattr(sets, name))
        setattr(data[0], name, mask & 0xFFFFFFFF)
        setattr(data[1], name, mask >> 32)
    if libc.capset(header, data) != 0:
        raise _fail("capset")


def has_effective(cap: int) -> bool:
    return cap in get().effective


def _prctl(option: int, *args: int) -> None:
    cargs = [ffi.cast("unsigned long", a) for a in args]
    if libc.prctl(option, *cargs) != 0:
        raise _fail(f"prctl({option})")


def _clear_ambient() -> None:
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)


def drop(caps: Iterable[int]) -> None:
    """Remove ``caps`` from every set and the bounding set; uid unchanged (in a child only)."""
    removed = frozenset(caps)
    current = get()
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
