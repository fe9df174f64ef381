"""Physical frame of a virtual address, from /proc/PID/pagemap.

Each page has a 64-bit entry: bit 63 present, bit 62 swapped, bit 61
file-page or shared-anon, bit 56 exclusively mapped, bit 55 soft-dirty,
bits 0-54 the PFN. Since Linux 4.2 the PFN reads as 0 without
CAP_SYS_ADMIN, which :func:`pfn_of` reports as an error, not as PFN 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from movephys.arch import PAGE_SIZE

ENTRY_SIZE = 8
PRESENT = 1 << 63
SWAPPED = 1 << 62
FILE_OR_SHARED = 1 << 61
EXCLUSIVE = 1 << 56
SOFT_DIRTY = 1 << 55
PFN_MASK = (1 << 55) - 1


class PagemapError(OSError):
    """pagemap unreadable, or the PFN hidden (one line)."""

    def __str__(self) -> str:  # the message alone, without "[Errno N]"
        return self.strerror or super().__str__()


@dataclass(frozen=True)
class PagemapEntry:
    present: bool
    swapped: bool
    file_or_shared: bool
    exclusive: bool
    soft_dirty: bool
    pfn: int  # 0 when not present, swapped, or hidden


def decode_entry(raw: int) -> PagemapEntry:
    return PagemapEntry(
        present=bool(raw & PRESENT),
        swapped=bool(raw & SWAPPED),
        file_or_shared=bool(raw & FILE_OR_SHARED),
        exclusive=bool(raw & EXCLUSIVE),
        soft_dirty=bool(raw & SOFT_DIRTY),
        pfn=raw & PFN_MASK if raw & PRESENT and not raw & SWAPPED else 0,
    )


def read_entry(vaddr: int, pid: int | str = "self", path: str | None = None) -> PagemapEntry:
    """The pagemap entry of the page holding ``vaddr`` in process ``pid``."""
    path = path or f"/proc/{pid}/pagemap"
    try:
        with open(path, "rb", buffering=0) as pagemap:
            pagemap.seek(vaddr // PAGE_SIZE * ENTRY_SIZE)
            raw = pagemap.read(ENTRY_SIZE)
    except OSError as error:
        raise PagemapError(error.errno, f"{path} unreadable: {error.strerror}") from None
    if len(raw) != ENTRY_SIZE:
        raise PagemapError(0, f"{path}: no entry for address {vaddr:#x}")
    return decode_entry(int.from_bytes(raw, "little"))


def pfn_of(vaddr: int, pid: int | str = "self", path: str | None = None) -> int | None:
    """The PFN backing ``vaddr``; None when the page is not present (or swapped out)."""
    entry = read_entry(vaddr, pid, path)
    if not entry.present or entry.swapped:
        return None
    if entry.pfn == 0:
        raise PagemapError(
            0,
            f"pagemap shows PFN 0 for present page {vaddr:#x}: PFNs are hidden, "
            "reading them needs CAP_SYS_ADMIN",
        )
    return entry.pfn

