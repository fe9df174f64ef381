"""Physical address map from /proc/iomem: System RAM, kernel code, holes, the last PFN.

Only root sees addresses; others read zeros, which :func:`read_iomem`
reports as an error rather than as a map of nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from movephys.arch import phys_to_pfn

IOMEM = Path("/proc/iomem")
SYSTEM_RAM = "System RAM"


class IomemError(OSError):
    """/proc/iomem unreadable or its addresses hidden (one line)."""

    def __str__(self) -> str:  # the message alone, without "[Errno N]"
        return self.strerror or super().__str__()


@dataclass(frozen=True)
class IomemRange:
    start: int
    end: int  # inclusive, as the kernel prints it
    name: str
    depth: int  # 0 for top-level resources, +1 per two spaces of indentation

    @property
    def first_pfn(self) -> int:
        return phys_to_pfn(self.start)

    @property
    def end_pfn(self) -> int:
        """The PFN after the last whole or partial page of the range."""
        return phys_to_pfn(self.end) + 1


def parse_iomem(text: str) -> list[IomemRange]:
    ranges = []
    for line in text.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        span, _, name = line.strip().partition(" : ")
        low, _, high = span.partition("-")
        ranges.append(IomemRange(int(low, 16), int(high, 16), name.strip(), indent // 2))
    return ranges


def addresses_hidden(ranges: Sequence[IomemRange]) -> bool:
    return bool(ranges) and all(r.start == 0 and r.end == 0 for r in ranges)


def read_iomem(path: Path = IOMEM) -> list[IomemRange]:
    try:
        ranges = parse_iomem(path.read_text())
    except OSError as error:
        raise IomemError(error.errno, f"{path} unreadable: {error.strerror}") from None
    if addresses_hidden(ranges):
        raise IomemError(0, f"{path} shows every address as 0: reading it needs root")
    return ranges


def system_ram(ranges: Sequence[IomemRange]) -> list[IomemRange]:
    """Top-level System RAM ranges, by address."""
    top_ram = (r for r in ranges if r.depth == 0 and r.name == SYSTEM_RAM)
    return sorted(top_ram, key=lambda r: r.start)


def kernel_code(ranges: Sequence[IomemRange] | None = None) -> IomemRange | None:
    """The "Kernel code" range (inside System RAM), None when absent or hidden."""
    if ranges is None:
        try:
            ranges = read_iomem()
        except IomemError:
            return None
    return next((r for r in ranges if r.name == "Kernel code"), None)


def last_ram_pfn(ranges: Sequence[IomemRange]) -> int | None:
    """The highest PFN inside System RAM, None when there is no System RAM."""
    ram = system_ram(ranges)
    return phys_to_pfn(max(r.end for r in ram)) if ram else None


def find_holes(
    ranges: Sequence[IomemRange], blocks: Sequence[range], limit: int | None = None
) -> list[range]:
    """PFN ranges below the last RAM PFN (and ``limit``) outside System RAM and every block.

    ``blocks`` are the PFN ranges of the present memory blocks. Such a frame
    has no online struct page: move_phys_pages must report it -ENOENT.
    Reserved ranges inside a present block are not holes (their pages exist,
    PG_reserved), hence the memory-block test.
    """
    last = last_ram_pfn(ranges)
    if last is None:
        return []
    end = last if limit is None else min(last, limit)
    taken = sorted(
        [(r.first_pfn, r.end_pfn) for r in system_ram(ranges)]
        + [(b.start, b.stop) for b in blocks]
    )
    holes = []
    cursor = 0
    for start, stop in [*taken, (end, end)]:
        if cursor < min(start, end):
            holes.append(range(cursor, min(start, end)))
        cursor = max(cursor, stop)
    return holes


def find_hole_pfn(ranges: Sequence[IomemRange], blocks: Sequence[range]) -> int | None:
    """The first PFN of :func:`find_holes`, None when there is no hole."""
    holes = find_holes(ranges, blocks)
    return holes[0].start if holes else None


@dataclass(frozen=True)
class LastPfn:
    """The last PFN of RAM, by /proc/iomem and by the memory blocks in sysfs."""

    iomem: int | None
    memory_blocks: int | None  # last PFN of the highest present block

    @property
    def beyond(self) -> int:
        """A PFN past both: no page exists there."""
        return max(v for v in (self.iomem, self.memory_blocks, 0) if v is not None) + 1


def last_pfn(ranges: Sequence[IomemRange] | None = None) -> LastPfn:
    from movephys.probes import memblocks

    if ranges is None:
        ranges = read_iomem()
    try:
        present = memblocks.blocks()
    except OSError:
        present = []
    return LastPfn(last_ram_pfn(ranges), max((b.end_pfn - 1 for b in present), default=None))


def holes(limit: int | None = None) -> list[range]:
    """:func:`find_holes` on this machine (root: /proc/iomem addresses)."""
    from movephys.probes import memblocks

    spans = [range(b.start_pfn, b.end_pfn) for b in memblocks.blocks()]
    return find_holes(read_iomem(), spans, limit)


def hole_pfn(ranges: Sequence[IomemRange] | None = None) -> int | None:
    """:func:`find_hole_pfn` on this machine (root: /proc/iomem addresses)."""
    from movephys.probes import memblocks

    if ranges is None:
        ranges = read_iomem()
    spans = [range(b.start_pfn, b.end_pfn) for b in memblocks.blocks()]
    return find_hole_pfn(ranges, spans)
