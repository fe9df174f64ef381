"""Page flags of a physical frame from /proc/kpageflags (root only), and finding frames by flag.

One 64-bit word per PFN. Bits 0-26 are the uapi KPF_* flags; 32 and up are
the kernel-internal ones page-types shows with -r (RESERVED, MLOCKED...).
Flags are a snapshot: a free page found now can be allocated a moment later.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from pathlib import Path

KPAGEFLAGS = Path("/proc/kpageflags")
ENTRY_SIZE = 8
SCAN_CHUNK = 4096  # PFNs read per read() while scanning


class KpageflagsError(OSError):
    """/proc/kpageflags unreadable or without an entry for a PFN (one line)."""

    def __str__(self) -> str:  # the message alone, without "[Errno N]"
        return self.strerror or super().__str__()


class KPF(enum.IntFlag):
    LOCKED = 1 << 0
    ERROR = 1 << 1
    REFERENCED = 1 << 2
    UPTODATE = 1 << 3
    DIRTY = 1 << 4
    LRU = 1 << 5
    ACTIVE = 1 << 6
    SLAB = 1 << 7
    WRITEBACK = 1 << 8
    RECLAIM = 1 << 9
    BUDDY = 1 << 10
    MMAP = 1 << 11
    ANON = 1 << 12
    SWAPCACHE = 1 << 13
    SWAPBACKED = 1 << 14
    COMPOUND_HEAD = 1 << 15
    COMPOUND_TAIL = 1 << 16
    HUGE = 1 << 17
    UNEVICTABLE = 1 << 18
    HWPOISON = 1 << 19
    NOPAGE = 1 << 20
    KSM = 1 << 21
    THP = 1 << 22
    OFFLINE = 1 << 23
    ZERO_PAGE = 1 << 24
    IDLE = 1 << 25
    PGTABLE = 1 << 26
    RESERVED = 1 << 32
    MLOCKED = 1 << 33
    OWNER_2 = 1 << 34
    PRIVATE = 1 << 35
    PRIVATE_2 = 1 << 36
    OWNER_PRIVATE = 1 << 37
    ARCH = 1 << 38
    SOFTDIRTY = 1 << 40
    ARCH_2 = 1 << 41
    ARCH_3 = 1 << 42


def as_flags(names: Iterable[str] | str | KPF) -> KPF:
    """KPF from a KPF, one name ("BUDDY") or several names."""
    if isinstance(names, KPF):
        return names
    if isinstance(names, str):
        names = [names]
    flags = KPF(0)
    for name in names:
        try:
            flags |= KPF[name.upper()]
        except KeyError:
            raise ValueError(f"no page flag named {name!r}") from None
    return flags


def names_of(flags: int) -> frozenset[str]:
    return frozenset(flag.name for flag in KPF if flags & flag and flag.name)


def _read_words(first_pfn: int, count: int, path: Path) -> list[int]:
    try:
        with open(path, "rb", buffering=0) as kpageflags:
            kpageflags.seek(first_pfn * ENTRY_SIZE)
            raw = kpageflags.read(count * ENTRY_SIZE)
    except OSError as error:
        raise KpageflagsError(error.errno, f"{path} unreadable: {error.strerror}") from None
    usable = len(raw) // ENTRY_SIZE
    return [
        int.from_bytes(raw[i * ENTRY_SIZE : (i + 1) * ENTRY_SIZE], "little") for i in range(usable)
    ]


def flags_of(pfn: int, path: Path = KPAGEFLAGS) -> KPF:
    words = _read_words(pfn, 1, path)
    if not words:
        raise KpageflagsError(0, f"{path}: no entry for pfn {pfn:#x} (beyond the last PFN)")
    return KPF(words[0])


def flag_names(pfn: int, path: Path = KPAGEFLAGS) -> frozenset[str]:
    """Names of the flags set for a frame, e.g. frozenset({"LRU", "MMAP", "ANON"})."""
    return names_of(flags_of(pfn, path))


def find_pfn(
    want: Iterable[str] | str | KPF,
    pfns: Iterable[range],
    *,
    exclude: Iterable[str] | str | KPF = (),
    limit: int = 1 << 20,
    path: Path = KPAGEFLAGS,
) -> int | None:
    """The first PFN in ``pfns`` with every ``want`` flag and no ``exclude`` flag.

    Scans at most ``limit`` frames in total (bounded time), None when not found.
    """
    wanted, excluded = as_flags(want), as_flags(exclude)
    budget = limit
    for span in pfns:
        start = span.start
        while start < span.stop and budget > 0:
            count = min(SCAN_CHUNK, span.stop - start, budget)
            words = _read_words(start, count, path)
            for offset, word in enumerate(words):
                if word & wanted == wanted and not word & excluded:
                    return start + offset
            if len(words) < count:
                return None  # past the last PFN
            start += count
            budget -= count
    return None


def find_pfn_with(
    want: Iterable[str] | str | KPF,
    *,
    node: int | None = None,
    exclude: Iterable[str] | str | KPF = (),
    limit: int = 1 << 20,
    path: Path = KPAGEFLAGS,
) -> int | None:
    """A PFN with the given flags, in one node's online memory blocks (or anywhere)."""
    from movephys.probes import memblocks, nodes

    if node is None:
        spans = [range(b.start_pfn, b.end_pfn) for b in memblocks.blocks() if b.online]
    else:
        spans = nodes.node_pfn_ranges(node)
    return find_pfn(want, spans, exclude=exclude, limit=limit, path=path)
