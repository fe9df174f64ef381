"""The native (64-bit) calls: move_phys_pages and move_pages through libc's syscall().

ABI-mode cffi: ``long syscall(long number, ...)`` from the running process's
libc, every argument passed as a ``long`` in the variadic part. errno is read
from ``ffi.errno`` right after the call.

Arrays are given as Python sequences (copied into fresh C arrays), ``None``
(NULL), or a :class:`RawPointer` naming memory the caller built, e.g. a page
made PROT_NONE with :mod:`movephys.memory` so the kernel faults on it.

The status array is pre-filled with :data:`STATUS_SENTINEL` so entries the
kernel never wrote are visible: 0x5A5A5A5A is positive, so it is no -errno,
and it is far above any node id (MAX_NUMNODES is at most 1024 on x86_64).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cffi import FFI

from movephys import arch
from movephys.spec import load_spec

STATUS_SENTINEL = 0x5A5A5A5A

# The flag values are the spec's, like every other fact of the interface.
_FLAGS = load_spec()
MPOL_MF_MOVE = _FLAGS.flag("MPOL_MF_MOVE").value
MPOL_MF_MOVE_ALL = _FLAGS.flag("MPOL_MF_MOVE_ALL").value

ffi = FFI()
ffi.cdef("long syscall(long number, ...);")
libc: Any = ffi.dlopen(None)  # the cdef's functions: attributes only at run time


@dataclass(frozen=True)
class CallResult:
    """What one call did: raw return value, errno, and the status array afterwards."""

    ret: int  # -1 on a whole-call error
    errno: int  # 0 when ret >= 0
    status: tuple[int, ...]  # () when status was NULL or a RawPointer


@dataclass(frozen=True)
class RawPointer:
    """An address passed to the kernel as is (the caller owns the memory behind it)."""

    address: int


PagesArg = Sequence[int] | RawPointer | None
NodesArg = Sequence[int] | RawPointer | None
StatusArg = int | RawPointer | None  # an int is the length of a fresh status array


def _as_long(value: int) -> FFI.CData:
    """A cdata long for the variadic part; values above LONG_MAX wrap like C would."""
    value &= (1 << 64) - 1
    if value >= 1 << 63:
        value -= 1 << 64
    return ffi.cast("long", value)


def raw_syscall(number: int, *args: int) -> tuple[int, int]:
    """syscall(number, args...) -> (return value, errno or 0)."""
    ffi.errno = 0
    ret = libc.syscall(_as_long(number), *(_as_long(a) for a in args))
    return int(ret), (ffi.errno if ret < 0 else 0)


class _Arrays:
    """C arrays for one call, kept alive until the call returns."""

    def __init__(
        self, pages: PagesArg, nodes: NodesArg, status: StatusArg, status_fill: int
    ) -> None:
        self.pages, self.pages_addr = self._array("unsigned long[]", pages)
        self.nodes, self.nodes_addr = self._array("int[]", nodes)
        self.status: Any = None
        if isinstance(status, RawPointer):
            self.status_addr = status.address
        elif status is None:
            self.status_addr = 0
        else:
            if status < 0:
                raise ValueError(f"status length {status} is negative")
            self.status = ffi.new("int[]", [status_fill] * status) if status else None
            self.status_addr = self._address(self.status) if self.status is not None else 0
            self.status_len = status

    @staticmethod
    def _address(cdata: FFI.CData) -> int:
        return int(ffi.cast("uintptr_t", cdata))

    def _array(
        self, ctype: str, values: Sequence[int] | RawPointer | None
    ) -> tuple[FFI.CData | None, int]:
        if values is None:
            return None, 0
        if isinstance(values, RawPointer):
            return None, values.address
        if ctype == "unsigned long[]":
            values = [v & ((1 << 64) - 1) for v in values]
        # A zero-length array still gets a valid, distinct address.
        array = ffi.new(ctype, list(values) or 1)
        return array, self._address(array)

    def status_values(self) -> tuple[int, ...]:
        if self.status is None:
            return ()
        return tuple(self.status[i] for i in range(self.status_len))


def move_phys_pages(
    nr: int,
    pages: PagesArg,
    nodes: NodesArg,
    status: StatusArg,
    flags: int,
    *,
    syscall_nr: int,
    status_fill: int = STATUS_SENTINEL,
) -> CallResult:
    """move_phys_pages(nr, pages, nodes, status, flags) through ``syscall_nr``.

    Call only with a number :func:`movephys.syscall.identity.confirm` confirmed.
    ``status`` is a length (a fresh array pre-filled with ``status_fill``),
    ``None`` (NULL) or a :class:`RawPointer`.
    """
    arrays = _Arrays(pages, nodes, status, status_fill)
    ret, err = raw_syscall(
        syscall_nr, nr, arrays.pages_addr, arrays.nodes_addr, arrays.status_addr, flags
    )
    return CallResult(ret, err, arrays.status_values())


def move_pages(
    pid: int,
    nr: int,
    pages: PagesArg,
    nodes: NodesArg,
    status: StatusArg,
    flags: int,
    *,
    syscall_nr: int | None = None,
    status_fill: int = STATUS_SENTINEL,
) -> CallResult:
    """Mainline move_pages(pid, nr, pages, nodes, status, flags); pages are virtual addresses."""
    number = arch.host().move_pages_nr if syscall_nr is None else syscall_nr
    arrays = _Arrays(pages, nodes, status, status_fill)
    ret, err = raw_syscall(
        number, pid, nr, arrays.pages_addr, arrays.nodes_addr, arrays.status_addr, flags
    )
    return CallResult(ret, err, arrays.status_values())
