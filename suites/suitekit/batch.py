"""Batches whose neighbouring entries have different correct answers.

A batch is laid out by repeating a short pattern of slots: our pages placed
on alternating nodes (some named with an offset inside the page), and
entries no page can answer (a hole in the physical address space, the last
usable frame before a hole named with an offset, an unmapped or
never-touched virtual page).
A kernel that reads the wrong element, the wrong frame or with the wrong
element width therefore gives a wrong answer for some entry: it cannot
pass by luck, as it could when every entry has the same answer.

The pattern has five slots, a length prime to the 16-entry chunk of
do_pages_stat(), so the entry 16 (or 32) places further on is always of
another kind. Expected answers come from pagemap and sysfs at the time of
the call, never from another call of the syscall under test.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from movephys import memory
from movephys.arch import PAGE_SIZE, pfn_to_phys, phys_to_pfn
from movephys.probes import iomem, memblocks, release
from movephys.probes import nodes as node_probe
from movephys.verdicts import broken
from suitekit.calls import describe_status
from suitekit.expect import expected_status, status_mismatch
from suitekit.machine import node_of_pfn, page_flags, pfn_of

FOUR_GIB = 1 << 32
# An offset inside the page: the kernel must drop it (>> PAGE_SHIFT), not round up.
OFFSET = 0x5A8
CANDIDATES_PER_PAGE = 3  # pages allocated per page needed on a node, to find low frames
EDGE_SEARCH = 4096  # frames searched below a block's end for one that is not reserved

# move_pages(2) per-page answers, the mainline facts the virtual-address batches check.
MOVE_PAGES_UNMAPPED = -errno.EFAULT  # no VMA at the address
# Mapped, never touched: 6.12 looks pages up with folio_walk_start(), which
# finds no folio (-ENOENT); before it, follow_page(FOLL_DUMP) answered from
# no_page_table(), -EFAULT for an anonymous page (6.1.192's mm/gup.c).
FOLIO_WALK_SINCE = (6, 12)


def move_pages_not_present() -> int:
    return -errno.ENOENT if release.kernel_version() >= FOLIO_WALK_SINCE else -errno.EFAULT


@dataclass(frozen=True)
class Slot:
    """One position of the pattern: a page and where it starts and goes, or no page."""

    page: bool
    start: int = 0  # index into the batch's two nodes
    target: int = 0  # index into the batch's two nodes (move mode)
    offset: bool = False  # name the page with OFFSET added


# Query: neighbours always differ (node A, node B, no page, node A, node B).
QUERY_PATTERN = (
    Slot(True, start=0),
    Slot(True, start=1),
    Slot(False),
    Slot(True, start=0, offset=True),
    Slot(True, start=1),
)
# Move: every page changes node; runs of two entries with one target form
# batches of two inside the kernel's loop, and the target changes mid-call.
MOVE_PATTERN = (
    Slot(True, start=0, target=1),
    Slot(True, start=0, target=1, offset=True),
    Slot(False, target=0),
    Slot(True, start=1, target=0),
    Slot(True, start=1, target=0),
)


@dataclass(frozen=True)
class Entry:
    """One element of the batch, and how to know its correct answer."""

    slot: Slot
    page: int | None  # virtual address of our page; None when the entry names no page of ours
    address: int | None  # for entries with no page of ours: the address the call gets
    kind: str  # "page", "hole", "edge", "unmapped", "not_present"
    target: int  # node id (move mode)


@dataclass(frozen=True)
class Expectation:
    """What one entry must answer, and which spec row (or mainline fact) says so."""

    value: int
    row: str | None  # spec row id; None for a move_pages(2) fact
    what: str


def pattern(mode: str) -> tuple[Slot, ...]:
    return QUERY_PATTERN if mode == "query" else MOVE_PATTERN


def slots(size: int, mode: str) -> list[Slot]:
    chosen = pattern(mode)
    return [chosen[index % len(chosen)] for index in range(size)]


# -- physical addresses no page of ours has -------------------------------------------


def _limit_pfn(below: int | None) -> int:
    end = iomem.last_pfn().beyond
    return end if below is None else min(end, phys_to_pfn(below))


def hole_pfns(count: int, below: int | None) -> list[int]:
    """``count`` distinct hole frames, spread over every hole; beyond RAM when there is none."""
    gaps = iomem.holes(None if below is None else phys_to_pfn(below))
    if not gaps:
        if below is not None:
            pytest.skip(f"no hole in the physical address space below {below:#x}: "
                        "a 32-bit caller cannot name a frame that is not online")
        first = iomem.last_pfn().beyond
        return [first + index for index in range(count)]
    found = []
    for index in range(count):
        gap = gaps[index % len(gaps)]
        found.append(gap.start + (index * 0x101) % len(gap))
    return found


def edge_pfns(below: int | None) -> list[int]:
    """Near the end of each online block that a hole follows: its last usable frame.

    Named with OFFSET, such a frame answers its node; a kernel that rounds
    the address up instead of dropping the offset names a frame after it:
    a reserved one (firmware tables often end low RAM, and the kernel gives
    such pages the node of its own choosing, not always the block's), or
    the hole. Reserved frames are passed over, since sysfs cannot say their
    node independently.
    """
    online = {block.start_pfn: block for block in memblocks.blocks() if block.online}
    limit = _limit_pfn(below)
    edges = []
    for block in online.values():
        if block.end_pfn in online or block.end_pfn > limit:
            continue
        pfn = block.end_pfn - 1
        while pfn > block.end_pfn - EDGE_SEARCH and "RESERVED" in page_flags(pfn):
            pfn -= 1
        if "RESERVED" not in page_flags(pfn):
            edges.append(pfn)
    return sorted(edges)


# -- the batch ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch:
    """The entries of one call and the mapping holding our pages (unmapped on exit)."""

    entries: tuple[Entry, ...]
    physical: bool  # entries name frames; else virtual addresses of this process
    mapping: memory.Mapping
    seed: int

    def addresses(self) -> list[int]:
        """The array the call gets, read afresh: a page that moved has a new frame."""
        return [self._address(entry) for entry in self.entries]

    def _address(self, entry: Entry) -> int:
        offset = OFFSET if entry.slot.offset else 0
        if entry.page is None:
            assert entry.address is not None
            return entry.address
        if not self.physical:
            return entry.page + offset
        pfn = pfn_of(entry.page)
        if pfn is None:
            broken(f"pagemap: our page at {entry.page:#x} is no longer present")
        return pfn_to_phys(pfn) + offset

    def targets(self) -> list[int]:
        return [entry.target for entry in self.entries]

    def describe(self, index: int) -> str:
        entry = self.entries[index]
        head = f"entry {index} of {len(self.entries)}"
        if entry.page is None:
            assert entry.address is not None
            names = {
                "hole": "a hole: no memory block or RAM holds frame",
                "edge": "the last usable frame before a hole,",
                "unmapped": "an unmapped address",
                "not_present": "a mapped page never touched",
            }
            return f"{head}, {names[entry.kind]} {entry.address:#x}"
        pfn = pfn_of(entry.page)
        offset = f" + {OFFSET:#x}" if entry.slot.offset else ""
        if pfn is None:
            return f"{head}, our page at {entry.page:#x}{offset} (not present)"
        node = f"node {node_of_pfn(pfn)} per sysfs"
        if self.physical:
            return f"{head}, {pfn_to_phys(pfn):#x}{offset}: our page at {entry.page:#x} ({node})"
        return f"{head}, our page at {entry.page:#x}{offset} (pfn {pfn:#x}, {node})"

    def expect_query(self) -> list[Expectation]:
        return [self._expect(index, None) for index in range(len(self.entries))]

    def expect_move(self) -> list[Expectation]:
        return [self._expect(index, entry.target) for index, entry in enumerate(self.entries)]

    def _expect(self, index: int, target: int | None) -> Expectation:
        entry = self.entries[index]
        what = self.describe(index)
        if entry.kind == "unmapped":
            return Expectation(MOVE_PAGES_UNMAPPED, None, what)
        if entry.kind == "not_present":
            return Expectation(move_pages_not_present(), None, what)
        if entry.kind == "hole":
            row = "query_not_online" if target is None else "not_online"
            return Expectation(expected_status(row), row, what)
        if target is not None:
            return Expectation(target, "moved" if self.physical else None, what)
        pfn: int | None
        if entry.kind == "edge":
            assert entry.address is not None
            pfn = phys_to_pfn(entry.address)
        else:
            pfn = pfn_of(entry.page or 0)
        node = None if pfn is None else node_of_pfn(pfn)
        if node is None:
            broken(f"sysfs places no node on {what}")
        return Expectation(node, "query_node" if self.physical else None, what)

    def placement_problems(self) -> list[str]:
        """Pages whose frame (pagemap) is not on their target node (sysfs) after a move."""
        problems = []
        for index, entry in enumerate(self.entries):
            if entry.page is None:
                continue
            pfn = pfn_of(entry.page)
            node = None if pfn is None else node_of_pfn(pfn)
            if node != entry.target:
                frame = "not present" if pfn is None else f"pfn {pfn:#x}"
                problems.append(
                    f"entry {index}: pagemap puts our page at {entry.page:#x} in {frame}, "
                    f"which sysfs places on node {node}, not on its target node {entry.target}"
                )
        return problems

    def damaged(self) -> list[str]:
        lines = []
        for index, entry in enumerate(self.entries):
            if entry.page is None:
                continue
            page_index = (entry.page - self.mapping.addr) // PAGE_SIZE
            if self.mapping.read(entry.page - self.mapping.addr, PAGE_SIZE) != memory.page_pattern(
                self.seed, page_index
            ):
                lines.append(f"entry {index}: the data of our page at {entry.page:#x} changed")
        return lines


def mismatches(status: Sequence[int], expected: Sequence[Expectation]) -> list[str]:
    """One line per entry whose status differs from its expectation, naming both."""
    lines = []
    for index, (got, want) in enumerate(zip(status, expected, strict=True)):
        if got == want.value:
            continue
        if want.row is not None:
            lines.append(status_mismatch(index, got, want.row, want.value, want.what))
        else:
            lines.append(
                f"status[{index}] = {describe_status(got)}, move_pages(2) gives "
                f"{describe_status(want.value)} for {want.what}"
            )
    return lines


def _seed() -> int:
    return int.from_bytes(os.urandom(4), "little")


def _fill(mapping: memory.Mapping, pages: Sequence[int], seed: int) -> None:
    for page in pages:
        index = (page - mapping.addr) // PAGE_SIZE
        mapping.write(page - mapping.addr, memory.page_pattern(seed, index))


def _on_node(pages: Sequence[int], node: int, below: int | None) -> list[int]:
    """Place our pages on ``node`` (mainline move_pages); those that landed there, per
    pagemap and sysfs, and whose frame ends at or below ``below``."""
    if pages:
        memory.place_on_node(list(pages), node)
    landed = []
    for page in pages:
        pfn = pfn_of(page)
        if pfn is None or node_of_pfn(pfn) != node:
            continue
        if below is not None and pfn_to_phys(pfn + 1) > below:
            continue
        landed.append(page)
    return landed


def _check_low_memory(node: int, below: int) -> None:
    if not any(span.start < phys_to_pfn(below) for span in node_probe.node_pfn_ranges(node)):
        pytest.skip(
            f"node {node} has no memory below {below:#x}: a 32-bit caller cannot name "
            "a frame of it"
        )


@contextmanager
def physical_batch(
    size: int, mode: str, nodes: tuple[int, int], *, below: int | None
) -> Iterator[Batch]:
    """A batch of physical addresses; ``below`` (4 GiB for a 32-bit caller) bounds them."""
    layout = slots(size, mode)
    wanted = [sum(1 for slot in layout if slot.page and slot.start == side) for side in (0, 1)]
    spare = CANDIDATES_PER_PAGE if below is not None else 1
    allotted = [count * spare for count in wanted]
    invalid = sum(1 for slot in layout if not slot.page)
    with memory.anonymous(max(sum(allotted), 1) * PAGE_SIZE) as mapping:
        mapping.madvise(0, mapping.length, memory.MADV_NOHUGEPAGE)
        seed = _seed()
        mapping.fill_pattern(seed)
        pools = []
        first = 0
        for side in (0, 1):
            group = [mapping.page(first + index) for index in range(allotted[side])]
            first += allotted[side]
            if below is not None and wanted[side]:
                _check_low_memory(nodes[side], below)
            landed = _on_node(group, nodes[side], below)
            if len(landed) < wanted[side]:
                bound = "" if below is None else f" below {below:#x}"
                broken(
                    f"set-up: {len(landed)} of {len(group)} pages placed on node {nodes[side]} "
                    f"landed there{bound} per pagemap and sysfs; the batch needs {wanted[side]}"
                )
            pools.append(landed[: wanted[side]])
        holes = iter(hole_pfns(invalid, below))
        edges = edge_pfns(below) if mode == "query" else []
        entries = []
        empty = 0  # entries with no page so far: every second one is an edge in a query
        for index, slot in enumerate(layout):
            target = nodes[slot.target]
            if slot.page:
                entries.append(Entry(slot, pools[slot.start].pop(0), None, "page", target))
                continue
            if edges and empty % 2 == 1:
                edge = edges[index % len(edges)]
                entries.append(Entry(slot, None, pfn_to_phys(edge) + OFFSET, "edge", target))
            else:
                entries.append(Entry(slot, None, pfn_to_phys(next(holes)), "hole", target))
            empty += 1
        yield Batch(tuple(entries), True, mapping, seed)


@contextmanager
def virtual_batch(size: int, mode: str, nodes: tuple[int, int]) -> Iterator[Batch]:
    """A batch of our virtual addresses, all below 2 GiB (MAP_32BIT) so a 32-bit caller
    can name them; entries with no page alternate unmapped and never touched."""
    layout = slots(size, mode)
    with memory.anonymous(size * PAGE_SIZE, below_4g=True) as mapping:
        mapping.madvise(0, mapping.length, memory.MADV_NOHUGEPAGE)
        seed = _seed()
        entries = []
        empty = 0  # entries with no page so far: they alternate unmapped, never touched
        for index, slot in enumerate(layout):
            address = mapping.page(index)
            target = nodes[slot.target]
            if slot.page:
                entries.append(Entry(slot, address, None, "page", target))
                continue
            if empty % 2 == 0:
                mapping.punch_hole(index * PAGE_SIZE, PAGE_SIZE)
                entries.append(Entry(slot, None, address, "unmapped", target))
            else:
                entries.append(Entry(slot, None, address, "not_present", target))
            empty += 1
        pages = [entry.page for entry in entries if entry.page is not None]
        _fill(mapping, pages, seed)
        for side in (0, 1):
            group = [e.page for e in entries if e.page is not None and e.slot.start == side]
            landed = _on_node(group, nodes[side], None)
            if len(landed) < len(group):
                broken(
                    f"set-up: {len(landed)} of {len(group)} pages placed on node "
                    f"{nodes[side]} landed there per pagemap and sysfs"
                )
        yield Batch(tuple(entries), False, mapping, seed)
