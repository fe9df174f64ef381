"""Memory the test owns and moves: mappings with a known pattern in every page.

Each producer is a context manager that maps, fills, and on exit unmaps and
removes whatever it created, also when the case fails.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from movephys import memory
from movephys.arch import HPAGE_SIZE, PAGE_SIZE
from movephys.verdicts import broken
from suitekit.machine import node_of_pfn, page_flags, pfn_of
from suitekit.machine_lock import machine_lock

KSM_RUN = Path("/sys/kernel/mm/ksm/run")
KSM_MERGE_TIMEOUT_S = 20.0


@dataclass
class OwnedMemory:
    """Pages of one mapping the case names, and the pages that must move with them."""

    mapping: memory.Mapping
    what: str
    named: tuple[int, ...]  # virtual addresses whose frames the case passes to the call
    followers: tuple[int, ...] = ()  # addresses that share a named frame (THP tails, KSM twin)
    patterns: dict[int, bytes] = field(default_factory=dict)

    def fill(self, seed: int) -> None:
        for index, addr in enumerate(self.named + self.followers):
            data = memory.page_pattern(seed, index)
            self.mapping.write(addr - self.mapping.addr, data)
            self.patterns[addr] = data

    def settle(self) -> None:
        """Gather the named pages on the first one's node, and onto the LRU lists.

        Mainline move_pages drains every CPU's LRU batches before it moves
        anything, so fresh pages are on an LRU list afterwards, as a
        long-lived page would be. Best effort: a shared page stays put.
        """
        first = pfn_of(self.named[0])
        node = node_of_pfn(first) if first is not None else None
        if node is not None:
            memory.place_on_node(list(self.named), node, attempts=1)

    def damaged(self) -> list[str]:
        """One line per page whose contents differ from the pattern written before."""
        lines = []
        for addr, data in self.patterns.items():
            now = self.mapping.read(addr - self.mapping.addr, len(data))
            if now != data:
                first = next(i for i, (a, b) in enumerate(zip(now, data, strict=True)) if a != b)
                lines.append(f"page at {addr:#x}: first differing byte at offset {first:#x}")
        return lines

    def every_page(self) -> tuple[int, ...]:
        return self.named + self.followers


def _seed() -> int:
    return int.from_bytes(os.urandom(4), "little")


@contextmanager
def private_anon(pages: int = 1, *, mlocked: bool = False) -> Iterator[OwnedMemory]:
    with memory.anonymous(pages * PAGE_SIZE) as mapping:
        mapping.madvise(0, mapping.length, memory.MADV_NOHUGEPAGE)
        owned = OwnedMemory(
            mapping,
            "a private anonymous page" + (" (mlocked)" if mlocked else ""),
            tuple(mapping.addr + i * PAGE_SIZE for i in range(pages)),
        )
        owned.fill(_seed())
        if mlocked:
            mapping.mlock()
        owned.settle()
        yield owned


@contextmanager
def shmem(pages: int = 1) -> Iterator[OwnedMemory]:
    with memory.anonymous(pages * PAGE_SIZE, shared=True) as mapping:
        owned = OwnedMemory(
            mapping,
            "a shared anonymous (shmem) page",
            tuple(mapping.addr + i * PAGE_SIZE for i in range(pages)),
        )
        owned.fill(_seed())
        owned.settle()
        yield owned


@contextmanager
def page_cache(pages: int = 1) -> Iterator[OwnedMemory]:
    """A regular file in the temporary directory, mapped shared and written."""
    with tempfile.TemporaryDirectory(prefix="movephys-") as directory:
        path = Path(directory) / "page-cache"
        path.write_bytes(b"\0" * pages * PAGE_SIZE)
        with memory.file_mapping(path, pages * PAGE_SIZE) as mapping:
            owned = OwnedMemory(
                mapping,
                f"a page-cache page of {path} ({_fs_type(path)})",
                tuple(mapping.addr + i * PAGE_SIZE for i in range(pages)),
            )
            owned.fill(_seed())
            owned.settle()
            yield owned


def _fs_type(path: Path) -> str:
    best = ("", "unknown")
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, mount_point, fs_type, *_ = line.split()
        if str(path).startswith(mount_point) and len(mount_point) > len(best[0]):
            best = (mount_point, fs_type)
    return best[1]


@contextmanager
def thp() -> Iterator[OwnedMemory]:
    """One transparent huge page named by its head; its tails must follow it."""
    with memory.anonymous(2 * HPAGE_SIZE) as mapping:
        head = (mapping.addr + HPAGE_SIZE - 1) & ~(HPAGE_SIZE - 1)
        mapping.madvise(head - mapping.addr, HPAGE_SIZE, memory.MADV_HUGEPAGE)
        mapping.write(head - mapping.addr, b"\1")
        pfn = pfn_of(head)
        flags = page_flags(pfn) if pfn is not None else frozenset()
        if "THP" not in flags or "COMPOUND_HEAD" not in flags:
            setting = _thp_setting()
            found = (
                f"first page {'not present' if pfn is None else f'pfn {pfn:#x}'} kpageflags "
                f"{' '.join(sorted(flags)) or 'none'}; THP setting {setting}"
            )
            if setting == "absent" or "[never]" in setting:
                pytest.skip(f"no transparent huge pages on this machine: {found}")
            broken(f"set-up: no transparent huge page formed although THP is enabled: {found}")
        tails = tuple(head + i * PAGE_SIZE for i in range(1, HPAGE_SIZE // PAGE_SIZE))
        owned = OwnedMemory(mapping, "the head of a transparent huge page", (head,), tails)
        owned.fill(_seed())
        owned.settle()
        yield owned


def _thp_setting() -> str:
    path = Path("/sys/kernel/mm/transparent_hugepage/enabled")
    return path.read_text().strip() if path.exists() else "absent"


@contextmanager
def ksm_merged() -> Iterator[OwnedMemory]:
    """Two identical pages merged by KSM into one frame (run set, then restored)."""
    if not KSM_RUN.exists():
        pytest.skip(f"no KSM: {KSM_RUN} absent")
    with memory.anonymous(2 * PAGE_SIZE) as mapping:
        mapping.madvise(0, mapping.length, memory.MADV_NOHUGEPAGE)
        data = memory.page_pattern(_seed(), 0)
        mapping.write(0, data)
        mapping.write(PAGE_SIZE, data)
        owned = OwnedMemory(
            mapping, "a KSM-merged page", (mapping.addr,), (mapping.addr + PAGE_SIZE,)
        )
        owned.patterns = {mapping.addr: data, mapping.addr + PAGE_SIZE: data}
        mapping.madvise(0, mapping.length, memory.MADV_MERGEABLE)
        with machine_lock(KSM_RUN):
            saved = KSM_RUN.read_text().strip()
            KSM_RUN.write_text("1")
            try:
                _wait_for_merge(owned)
                owned.settle()
                yield owned
            finally:
                mapping.madvise(0, mapping.length, memory.MADV_UNMERGEABLE)
                KSM_RUN.write_text(saved)


def _wait_for_merge(owned: OwnedMemory) -> None:
    first, second = owned.every_page()
    deadline = time.monotonic() + KSM_MERGE_TIMEOUT_S
    while time.monotonic() < deadline:
        pfn = pfn_of(first)
        if pfn is not None and pfn == pfn_of(second) and "KSM" in page_flags(pfn):
            return
        time.sleep(0.2)
    broken(f"set-up: KSM did not merge two identical pages within {KSM_MERGE_TIMEOUT_S:.0f} s")
