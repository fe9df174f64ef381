"""Memory the tests own: mmap/madvise/mlock/mprotect/munmap through cffi.

Every mapping is a context manager that unmaps on exit, also when the case
fails. Offsets are relative to the mapping and bounds-checked; reading or
writing a page made PROT_NONE from Python would kill the process, so only
the kernel should touch such pages (that is their purpose: EFAULT cases).

Placing a page on a node before a case moves it uses mainline move_pages
(:func:`place_on_node`); :func:`nodes_of` is move_pages' query mode, a source
of a page's node independent of move_phys_pages.
"""

from __future__ import annotations

import errno
import os
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cffi import FFI

from movephys.arch import PAGE_SIZE
from movephys.syscall import native

PROT_NONE = 0x0
PROT_READ = 0x1
PROT_WRITE = 0x2
PROT_EXEC = 0x4
PROT_RW = PROT_READ | PROT_WRITE

MAP_SHARED = 0x01
MAP_PRIVATE = 0x02
MAP_ANONYMOUS = 0x20
MAP_32BIT = 0x40  # x86_64: the mapping lies in the first 2 GiB
MAP_POPULATE = 0x8000
MAP_HUGETLB = 0x40000

MADV_MERGEABLE = 12
MADV_UNMERGEABLE = 13
MADV_HUGEPAGE = 14
MADV_NOHUGEPAGE = 15

ffi = FFI()
ffi.cdef(
    """
    void *mmap(void *addr, size_t length, int prot, int flags, int fd, long offset);
    int munmap(void *addr, size_t length);
    int mprotect(void *addr, size_t length, int prot);
    int madvise(void *addr, size_t length, int advice);
    int mlock(const void *addr, size_t length);
    int munlock(const void *addr, size_t length);
    """
)
libc: Any = ffi.dlopen(None)  # the cdef's functions: attributes only at run time
MAP_FAILED = (1 << 64) - 1


class MappingError(OSError):
    """A memory call failed; the message names the call and the errno (one line)."""

    def __str__(self) -> str:  # the message alone, without "[Errno N]"
        return self.strerror or super().__str__()


def _check(call: str, ret: int) -> None:
    if ret != 0:
        err = ffi.errno
        name = errno.errorcode.get(err, str(err))
        raise MappingError(err, f"{call} failed: {name} ({os.strerror(err)})")


def _pointer(address: int) -> object:
    return ffi.cast("void *", address)


@dataclass
class Mapping:
    """One mapping this process made; ``addr`` is page aligned."""

    addr: int
    length: int
    what: str  # "anonymous private", "shared file /tmp/x", ... for messages

    def page(self, index: int) -> int:
        """The address of page ``index`` of the mapping."""
        self._bounds(index * PAGE_SIZE, PAGE_SIZE)
        return self.addr + index * PAGE_SIZE

    @property
    def pages(self) -> int:
        return self.length // PAGE_SIZE

    def _bounds(self, offset: int, size: int) -> None:
        if offset < 0 or size < 0 or offset + size > self.length:
            raise ValueError(
                f"[{offset:#x}, {offset + size:#x}) is outside the {self.length:#x}-byte mapping"
            )

    def read(self, offset: int, size: int) -> bytes:
        self._bounds(offset, size)
        return bytes(ffi.buffer(ffi.cast("char *", self.addr + offset), size))

    def write(self, offset: int, data: bytes) -> None:
        self._bounds(offset, len(data))
        ffi.memmove(ffi.cast("char *", self.addr + offset), data, len(data))

    def touch(self) -> None:
        """Write one byte in every page so each is backed by its own frame."""
        for index in range(self.pages):
            self.write(index * PAGE_SIZE, b"\x01")

    def fill_pattern(self, seed: int) -> None:
        for index in range(self.pages):
            self.write(index * PAGE_SIZE, page_pattern(seed, index))

    def write_i32s(self, offset: int, values: Sequence[int]) -> int:
        self._bounds(offset, 4 * len(values))
        return write_array(self.addr + offset, "int32_t", values)

    def read_i32s(self, offset: int, count: int) -> tuple[int, ...]:
        self._bounds(offset, 4 * count)
        return read_array(self.addr + offset, "int32_t", count)

    def madvise(self, offset: int, length: int, advice: int) -> None:
        self._bounds(offset, length)
        _check(f"madvise({advice})", libc.madvise(_pointer(self.addr + offset), length, advice))

    def mprotect(self, offset: int, length: int, prot: int) -> None:
        self._bounds(offset, length)
        _check(f"mprotect({prot})", libc.mprotect(_pointer(self.addr + offset), length, prot))

    def mlock(self, offset: int = 0, length: int | None = None) -> None:
        length = self.length - offset if length is None else length
        self._bounds(offset, length)
        _check("mlock", libc.mlock(_pointer(self.addr + offset), length))

    def munlock(self, offset: int = 0, length: int | None = None) -> None:
        length = self.length - offset if length is None else length
        self._bounds(offset, length)
        _check("munlock", libc.munlock(_pointer(self.addr + offset), length))

    def punch_hole(self, offset: int, length: int) -> None:
        """Unmap part of the mapping: an address there has no VMA at all.

        The whole mapping is still unmapped on exit; munmap of a range with
        holes in it is allowed.
        """
        self._bounds(offset, length)
        _check("munmap", libc.munmap(_pointer(self.addr + offset), length))


def page_pattern(seed: int, index: int) -> bytes:
    """A page of bytes unique to (seed, page index), so a swapped page shows."""
    stamp = f"movephys:{seed & 0xFFFFFFFF:08x}:{index:06d}:".encode()
    return (stamp * (PAGE_SIZE // len(stamp) + 1))[:PAGE_SIZE]


def write_array(address: int, ctype: str, values: Sequence[int]) -> int:
    """Store ``values`` as C ``ctype`` elements at a raw address the caller owns."""
    bits = ffi.sizeof(ctype) * 8
    mask = (1 << bits) - 1
    array = ffi.cast(f"{ctype} *", address)
    for index, value in enumerate(values):
        value &= mask
        if not ctype.startswith("u") and value >= 1 << (bits - 1):
            value -= 1 << bits
        array[index] = value
    return address


def read_array(address: int, ctype: str, count: int) -> tuple[int, ...]:
    array = ffi.cast(f"{ctype} *", address)
    return tuple(array[index] for index in range(count))


def _round_up(length: int, unit: int) -> int:
    return (length + unit - 1) // unit * unit


def _mmap(length: int, prot: int, flags: int, fd: int, offset: int, what: str) -> Mapping:
    if length <= 0:
        raise ValueError(f"mapping length {length} is not positive")
    address = int(ffi.cast("uintptr_t", libc.mmap(ffi.NULL, length, prot, flags, fd, offset)))
    if address == MAP_FAILED:
        err = ffi.errno
        hint = ""
        if flags & MAP_HUGETLB and err == errno.ENOMEM:
            hint = ": no free hugetlb page (see /proc/sys/vm/nr_hugepages)"
        raise MappingError(
            err, f"mmap of {length:#x} bytes ({what}) failed: {errno.errorcode.get(err, err)}{hint}"
        )
    return Mapping(address, length, what)


def _unmap(mapping: Mapping) -> None:
    libc.munmap(_pointer(mapping.addr), mapping.length)


@contextmanager
def anonymous(
    length: int,
    *,
    shared: bool = False,
    below_4g: bool = False,
    hugetlb: bool = False,
    populate: bool = False,
    prot: int = PROT_RW,
    hugepage_size: int = 2 << 20,
) -> Iterator[Mapping]:
    """An anonymous mapping (private, or shared = shmem), unmapped on exit.

    ``below_4g`` uses MAP_32BIT (the first 2 GiB, for int $0x80 arrays);
    ``hugetlb`` uses MAP_HUGETLB and rounds the length up to ``hugepage_size``.
    """
    flags = MAP_ANONYMOUS | (MAP_SHARED if shared else MAP_PRIVATE)
    kinds = ["shared" if shared else "private", "anonymous"]
    if below_4g:
        flags |= MAP_32BIT
        kinds.append("MAP_32BIT")
    if hugetlb:
        flags |= MAP_HUGETLB
        length = _round_up(length, hugepage_size)
        kinds.append("hugetlb")
    else:
        length = _round_up(length, PAGE_SIZE)
    if populate:
        flags |= MAP_POPULATE
    mapping = _mmap(length, prot, flags, -1, 0, " ".join(kinds))
    try:
        yield mapping
    finally:
        _unmap(mapping)


@contextmanager
def file_mapping(
    path: str | os.PathLike[str],
    length: int,
    *,
    shared: bool = True,
    offset: int = 0,
    prot: int = PROT_RW,
) -> Iterator[Mapping]:
    """A mapping of an existing file (page cache, or shmem on tmpfs), unmapped on exit."""
    mode = os.O_RDWR if prot & PROT_WRITE else os.O_RDONLY
    fd = os.open(path, mode | os.O_CLOEXEC)
    try:
        flags = MAP_SHARED if shared else MAP_PRIVATE
        what = f"{'shared' if shared else 'private'} file {Path(path)}"
        mapping = _mmap(_round_up(length, PAGE_SIZE), prot, flags, fd, offset, what)
    finally:
        os.close(fd)
    try:
        yield mapping
    finally:
        _unmap(mapping)


def executable_page(code: bytes) -> int:
    """A read-only executable page holding ``code``, mapped for the process's lifetime.

    For machine-code stubs (int $0x80): one page per stub, never unmapped,
    because the callable made from it may be used until the process exits.
    """
    if len(code) > PAGE_SIZE:
        raise ValueError(f"{len(code)} bytes of code do not fit one page")
    page = _mmap(PAGE_SIZE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0, "code stub")
    page.write(0, code)
    page.mprotect(0, PAGE_SIZE, PROT_READ | PROT_EXEC)
    return page.addr


def lasting_below_4g(length: int) -> Mapping:
    """A private anonymous MAP_32BIT mapping kept for the process's lifetime.

    For the arrays of int $0x80 calls: mapped once, before any case unmaps
    pages of its own on purpose, so that a call never maps one of them again.
    """
    return _mmap(_round_up(length, PAGE_SIZE), PROT_RW,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_32BIT, -1, 0,
                 "private anonymous MAP_32BIT, for the process's lifetime")


def nodes_of(addrs: Sequence[int]) -> tuple[int, ...]:
    """The node of each of our pages by move_pages' query mode (-errno when none)."""
    result = native.move_pages(0, len(addrs), list(addrs), None, len(addrs), 0)
    if result.ret != 0:
        raise MappingError(result.errno, f"move_pages query failed: errno {result.errno}")
    return result.status


def place_on_node(
    addrs: Sequence[int], node: int, *, attempts: int = 5, pause_s: float = 0.05
) -> tuple[int, ...]:
    """Move our pages to ``node`` with mainline move_pages (MOVE), retrying a bounded time.

    Returns the final status of each page; the caller checks it is ``node``
    (a page may refuse to move, e.g. -EBUSY).
    """
    status: tuple[int, ...] = ()
    for _ in range(attempts):
        result = native.move_pages(
            0, len(addrs), list(addrs), [node] * len(addrs), len(addrs), native.MPOL_MF_MOVE
        )
        if result.ret < 0:
            raise MappingError(
                result.errno, f"move_pages to node {node} failed: errno {result.errno}"
            )
        status = result.status
        if all(value == node for value in status):
            return status
        time.sleep(pause_s)
    return status
