"""Reverse translation as a tiering daemon must do it without move_phys_pages.

The daemon knows physical frames (PFNs) and nothing about their owners, so it
reads /proc/PID/maps and /proc/PID/pagemap of every process on the system and
keeps the (pid, virtual address) of each entry whose PFN it wants. The scan
is vectorised with numpy so the measured cost is the kernel's (reading
pagemap) and the walk's, not a Python loop per entry.

Everything reads through ``proc`` (default /proc), so tests feed it a
recorded tree: ``PID/maps`` text and a sparse ``PID/pagemap`` file.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from movephys import arch
from movephys.probes.pagemap import ENTRY_SIZE, PFN_MASK, PRESENT, SWAPPED

CHUNK_PAGES = 1 << 16  # entries per pread: 512 KiB
# VMAs closer than this are read as one range: the hole's entries read as 0
# and cost less than another pread and its numpy calls (a process maps its
# libraries back to back, so this merges hundreds of VMAs into a few runs).
MERGE_GAP_PAGES = 256
# Not a user mapping: pagemap has no entries for it (it lies above TASK_SIZE).
SKIPPED_VMAS = frozenset({"[vsyscall]"})


@dataclass(frozen=True)
class Vma:
    start: int
    end: int
    name: str

    @property
    def pages(self) -> int:
        return (self.end - self.start) // arch.PAGE_SIZE


@dataclass
class Translation:
    """Owners of each wanted PFN found, and how much the walk read to find them."""

    owners: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # pfn -> [(pid, va)]
    processes_scanned: int = 0
    entries_scanned: int = 0

    def by_process(self) -> dict[int, list[tuple[int, int]]]:
        """pid -> [(virtual address, pfn)] using each PFN's first owner (as a mover would)."""
        grouped: dict[int, list[tuple[int, int]]] = {}
        for pfn, found in self.owners.items():
            pid, vaddr = found[0]
            grouped.setdefault(pid, []).append((vaddr, pfn))
        return grouped


def parse_maps(text: str) -> list[Vma]:
    """The VMAs of a /proc/PID/maps text ("start-end perms offset dev inode [name]")."""
    vmas = []
    for line in text.splitlines():
        fields = line.split(maxsplit=5)
        if len(fields) < 5 or "-" not in fields[0]:
            continue
        low, _, high = fields[0].partition("-")
        vmas.append(Vma(int(low, 16), int(high, 16), fields[5].strip() if len(fields) > 5 else ""))
    return vmas


def wanted_array(pfns: Collection[int]) -> np.ndarray:
    """The wanted PFNs sorted, as the lookup table of :func:`matches`."""
    return np.array(sorted(set(pfns)), dtype=np.uint64)


def matches(entries: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indexes into ``entries`` of present, unswapped pages whose PFN is wanted, and the PFNs."""
    present = np.flatnonzero((entries & np.uint64(PRESENT | SWAPPED)) == np.uint64(PRESENT))
    if present.size == 0 or wanted.size == 0:
        return present[:0], np.empty(0, dtype=np.uint64)
    pfns = entries[present] & np.uint64(PFN_MASK)
    slots = np.minimum(np.searchsorted(wanted, pfns), wanted.size - 1)
    hit = wanted[slots] == pfns
    return present[hit], pfns[hit]


def pids(proc: Path) -> list[int]:
    return sorted(int(entry.name) for entry in os.scandir(proc) if entry.name.isdigit())


def page_runs(vmas: Iterable[Vma], max_gap_pages: int = MERGE_GAP_PAGES) -> list[range]:
    """Page-number ranges covering the VMAs, merging those at most ``max_gap_pages`` apart."""
    runs: list[range] = []
    for vma in sorted(vmas, key=lambda v: v.start):
        if vma.name in SKIPPED_VMAS or vma.pages <= 0:
            continue
        first, stop = vma.start // arch.PAGE_SIZE, vma.end // arch.PAGE_SIZE
        if runs and first - runs[-1].stop <= max_gap_pages:
            runs[-1] = range(runs[-1].start, max(stop, runs[-1].stop))
        else:
            runs.append(range(first, stop))
    return runs


def _chunks(run: range) -> Iterator[tuple[int, int]]:
    """(first page number, page count) pieces of a run, CHUNK_PAGES at most each."""
    for first in range(run.start, run.stop, CHUNK_PAGES):
        yield first, min(CHUNK_PAGES, run.stop - first)


def scan_process(pid: int, wanted: np.ndarray, result: Translation, proc: Path) -> None:
    """Add the wanted PFNs one process maps to ``result``; a process that exited adds nothing."""
    try:
        vmas = parse_maps((proc / str(pid) / "maps").read_text())
        if not vmas:
            return  # a kernel thread
        fd = os.open(proc / str(pid) / "pagemap", os.O_RDONLY)
    except OSError:
        return  # gone, or not ours to read: a daemon skips it the same way
    try:
        result.processes_scanned += 1
        for run in page_runs(vmas):
            for first_page, count in _chunks(run):
                try:
                    data = os.pread(fd, count * ENTRY_SIZE, first_page * ENTRY_SIZE)
                except OSError:
                    return  # the process exited while being read
                usable = len(data) - len(data) % ENTRY_SIZE
                entries = np.frombuffer(data[:usable], dtype=np.uint64)
                result.entries_scanned += entries.size
                indexes, found = matches(entries, wanted)
                for index, pfn in zip(indexes.tolist(), found.tolist(), strict=True):
                    vaddr = (first_page + index) * arch.PAGE_SIZE
                    result.owners.setdefault(pfn, []).append((pid, vaddr))
    finally:
        os.close(fd)


def translate(pfns: Collection[int], proc: Path = Path("/proc")) -> Translation:
    """Walk every process under ``proc`` and find the owners of ``pfns``."""
    wanted = wanted_array(pfns)
    result = Translation()
    for pid in pids(proc):
        scan_process(pid, wanted, result, proc)
    return result
