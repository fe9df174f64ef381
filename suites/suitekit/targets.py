"""Physical addresses of frames the case does not move: holes, kernel pages, free pages...

Each producer is a context manager yielding a Target, or skipping with the
reason the machine cannot give one. Whatever a producer changes (a hugetlb
pool, an offlined memory block, a file) is restored on exit.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from movephys import memory
from movephys.arch import HPAGE_SIZE, PAGE_SIZE, hugetlb_pool, pfn_to_phys, phys_to_pfn
from movephys.changes import offline
from movephys.probes import iomem, memblocks
from movephys.verdicts import broken
from suitekit.machine import describe_pfn, node_of_pfn, page_flags, pfn_of
from suitekit.machine_lock import machine_lock
from suitekit.owned import private_anon, thp

ALL_ONES = (1 << 64) - 1
FREE_PAGE_SCAN = 1 << 16  # frames scanned per node for a free one


@dataclass(frozen=True)
class Target:
    phys: int
    node: int | None  # node of the frame per sysfs; None when no node has it
    what: str  # for messages: "a free page (pfn 0x1234, kpageflags BUDDY)"
    # Flags whose presence at the call proves the frame was still of its kind
    # (a free page can be allocated meanwhile); empty when the kind is stable.
    must_keep: frozenset[str] = frozenset()

    @property
    def pfn(self) -> int:
        return phys_to_pfn(self.phys)

    def still_valid(self) -> bool:
        return not self.must_keep or self.must_keep <= page_flags(self.pfn)


def _pfn_target(pfn: int, kind: str, must_keep: frozenset[str] = frozenset()) -> Target:
    return Target(pfn_to_phys(pfn), node_of_pfn(pfn), f"{kind} ({describe_pfn(pfn)})", must_keep)


@contextmanager
def hole() -> Iterator[Target]:
    """A frame below the last RAM that is neither System RAM nor in a present memory block."""
    pfn = iomem.hole_pfn()
    if pfn is None:
        pytest.skip(
            "no hole in the physical address space: below the last RAM frame every frame "
            f"is System RAM or in a present memory block of {memblocks.MEMORY_ROOT}"
        )
    yield Target(pfn_to_phys(pfn), None, f"a hole (pfn {pfn:#x})")


@contextmanager
def beyond_last_pfn() -> Iterator[Target]:
    last = iomem.last_pfn()
    pfn = last.beyond
    what = f"the frame after the last one of RAM (pfn {pfn:#x}; {last})"
    yield Target(pfn_to_phys(pfn), None, what)


@contextmanager
def offline_block() -> Iterator[Target]:
    """A memory block taken offline for the case, and put back online after."""
    with machine_lock(memblocks.BLOCK_SIZE_FILE), ExitStack() as stack:
        try:
            block = stack.enter_context(offline.offlined())
        except memblocks.MemoryBlockError as error:
            pytest.skip(str(error))
        pfn = block.start_pfn
        yield Target(
            pfn_to_phys(pfn), None, f"an offline memory block (block {block.index}, pfn {pfn:#x})"
        )


@contextmanager
def thp_tail() -> Iterator[Target]:
    with thp() as huge:
        pfn = pfn_of(huge.named[0])
        assert pfn is not None
        yield _pfn_target(pfn + 1, "the second page of a transparent huge page")


@contextmanager
def free_page() -> Iterator[Target]:
    """A frame in the buddy allocator; the case checks it is still free after the call."""
    from movephys.probes import kpageflags, nodes

    for node in nodes.allowed_memory_nodes():
        pfn = kpageflags.find_pfn_with("BUDDY", node=node, limit=FREE_PAGE_SCAN)
        if pfn is not None:
            yield _pfn_target(pfn, "a free page", frozenset({"BUDDY"}))
            return
    pytest.skip(f"no free page found in the first {FREE_PAGE_SCAN} frames of any node")


@contextmanager
def kernel_page() -> Iterator[Target]:
    """The first frame of the kernel's text: reserved, never on an LRU list."""
    code = iomem.kernel_code()
    if code is None:
        pytest.skip("/proc/iomem shows no 'Kernel code' range (addresses hidden?)")
    yield _pfn_target(phys_to_pfn(code.start), "a kernel text page")


@contextmanager
def zero_page() -> Iterator[Target]:
    """The shared zero page, mapped by reading a page never written."""
    with memory.anonymous(PAGE_SIZE) as mapping:
        mapping.madvise(0, PAGE_SIZE, memory.MADV_NOHUGEPAGE)
        mapping.read(0, 1)
        pfn = pfn_of(mapping.addr)
        if pfn is None or "ZERO_PAGE" not in page_flags(pfn):
            broken(
                "set-up: reading an untouched page did not map the zero page: "
                f"{'not present' if pfn is None else describe_pfn(pfn)}"
            )
        yield _pfn_target(pfn, "the shared zero page")


@contextmanager
def hugetlb() -> Iterator[Target]:
    """A hugetlb page from a pool grown by one page for the case (then shrunk back)."""
    from movephys.probes import nodes

    node = nodes.allowed_memory_nodes()[0]
    pool = hugetlb_pool(node)
    if not pool.exists():
        pytest.skip(f"no hugetlb pool of {HPAGE_SIZE >> 20} MiB pages on node {node}: "
                    f"{pool} absent")
    with machine_lock(pool):
        saved = int(pool.read_text())
        pool.write_text(str(saved + 1))
        try:
            if int(pool.read_text()) != saved + 1:
                broken(f"set-up: the hugetlb pool of node {node} could not grow by one huge page")
            with memory.anonymous(HPAGE_SIZE, hugetlb=True) as mapping:
                mapping.write(0, b"\1")
                pfn = pfn_of(mapping.addr)
                assert pfn is not None, "pagemap: the hugetlb page is not present"
                yield _pfn_target(pfn, "a hugetlb page")
        finally:
            pool.write_text(str(saved))


@contextmanager
def unmapped_page_cache() -> Iterator[Target]:
    """A page of a file's page cache that no process maps any more."""
    with tempfile.TemporaryDirectory(prefix="movephys-") as directory:
        path = Path(directory) / "unmapped"
        with path.open("wb") as file:
            file.write(b"u" * PAGE_SIZE)
            os.fsync(file.fileno())  # clean, so nothing but the mapping holds it
        with memory.file_mapping(path, PAGE_SIZE) as mapping:
            mapping.read(0, 1)
            pfn = pfn_of(mapping.addr)
            # move_pages drains the per-CPU LRU batches: the page lands on its LRU list.
            if pfn is not None and (node := node_of_pfn(pfn)) is not None:
                memory.place_on_node([mapping.addr], node, attempts=1)
        assert pfn is not None, f"pagemap: the page of {path} was not present while mapped"
        flags = page_flags(pfn)
        if "MMAP" in flags or "LRU" not in flags:
            broken(
                f"set-up: the page of {path} did not stay unmapped on an LRU list: "
                f"{describe_pfn(pfn)}"
            )
        yield _pfn_target(pfn, f"an unmapped page-cache page of {path}", frozenset({"LRU"}))


@contextmanager
def phys_zero() -> Iterator[Target]:
    yield _pfn_target(0, "physical address 0")


@contextmanager
def all_ones() -> Iterator[Target]:
    yield Target(ALL_ONES, None, f"physical address {ALL_ONES:#x}")


@contextmanager
def anon() -> Iterator[Target]:
    """A private anonymous page of the test."""
    with private_anon() as page:
        pfn = pfn_of(page.named[0])
        assert pfn is not None
        yield _pfn_target(pfn, page.what)
