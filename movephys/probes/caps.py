"""Capabilities of a process through capget (cffi): the constants, the sets, a reader.

Dropping them is :mod:`movephys.changes.credentials`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from cffi import FFI

CAP_SETUID = 7
CAP_SETPCAP = 8
CAP_SYS_ADMIN = 21
CAP_SYS_NICE = 23

LINUX_CAPABILITY_VERSION_3 = 0x20080522
ffi = FFI()
ffi.cdef(
    """
    typedef struct { uint32_t version; int pid; } cap_header_t;
    typedef struct { uint32_t effective; uint32_t permitted; uint32_t inheritable; } cap_data_t;
    int capget(cap_header_t *header, cap_data_t *data);
    """
)
libc: Any = ffi.dlopen(None)  # the cdef's functions: attributes only at run time


class CapabilityError(OSError):
    """capget/capset/prctl failed (one line)."""

    def __str__(self) -> str:  # the message alone, without "[Errno N]"
        return self.strerror or super().__str__()


@dataclass(frozen=True)
class CapSets:
    effective: frozenset[int]
    permitted: frozenset[int]
    inheritable: frozenset[int]


def _caps(mask: int) -> frozenset[int]:
    return frozenset(bit for bit in range(64) if mask >> bit & 1)


def capability_error(call: str, err: int) -> CapabilityError:
    return CapabilityError(err, f"{call} failed: {os.strerror(err)}")


def get(pid: int = 0) -> CapSets:
    """The capability sets of ``pid`` (0: this thread)."""
    header = ffi.new("cap_header_t *", {"version": LINUX_CAPABILITY_VERSION_3, "pid": pid})
    data = ffi.new("cap_data_t[2]")
    if libc.capget(header, data) != 0:
        raise capability_error("capget", ffi.errno)

    def join(field: str) -> frozenset[int]:
        return _caps(getattr(data[0], field) | getattr(data[1], field) << 32)

    return CapSets(join("effective"), join("permitted"), join("inheritable"))


def has_effective(cap: int) -> bool:
    return cap in get().effective


