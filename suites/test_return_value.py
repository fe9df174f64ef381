"""The return value counts pages that could not be migrated; their status stays unwritten."""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from suitekit import owned
from suitekit.calls import Caller, describe_errno, describe_result
from suitekit.expect import check_errno, check_status
from suitekit.machine import home_and_other, node_of_pfn
from suitekit.machine_lock import machine_lock
from suitekit.owned import OwnedMemory
from suitekit.verify import frames

from movephys import arch, memory
from movephys.arch import HPAGE_SIZE, PAGE_SIZE, hugetlb_pool, pfn_to_phys
from movephys.probes import nodes as node_probe
from movephys.syscall import native
from movephys.syscall.native import raw_syscall
from movephys.verdicts import broken

pytestmark = [pytest.mark.needs_syscall, pytest.mark.needs_root, pytest.mark.needs_two_nodes]

@contextmanager
def held_by_pipe(page: OwnedMemory) -> Iterator[None]:
    """vmsplice the page into a pipe: the pipe buffer holds a reference until read."""
    read_end, write_end = os.pipe()
    try:
        with memory.anonymous(PAGE_SIZE) as iov:
            iov.write(0, page.named[0].to_bytes(8, "little") + PAGE_SIZE.to_bytes(8, "little"))
            ret, err = raw_syscall(arch.host().vmsplice_nr, write_end, iov.addr, 1, 0)
        if ret != PAGE_SIZE:
            pytest.fail(f"vmsplice of our page gave ret {ret} errno {describe_errno(err)}")
        yield
    finally:
        os.close(write_end)
        os.close(read_end)


def test_pinned_page_positive_count(caller: Caller, two_nodes: tuple[int, int]) -> None:
    """A page whose reference a pipe holds cannot migrate: ret 1, status left as filled."""
    with owned.private_anon() as page, held_by_pipe(page):
        before = frames(page.named)
        pfn = before[page.named[0]]
        _, target = home_and_other(pfn, two_nodes)
        result = caller([pfn_to_phys(pfn)], [target])
        what = f"{page.what} held by a pipe through vmsplice ({describe_result(result)})"
        assert result.ret == 1, (
            f"ret {result.ret}, spec rule return_value.positive_not_migrated expects 1 "
            f"(one page not migrated) for {what}"
        )
        check_status(0, result.status[0], "batch_not_migrated", what)
        assert frames(page.named) == before, f"the page moved despite ret {result.ret}: {what}"
        assert not page.damaged(), f"data changed: {what}"


def _mem_free_kb(node: int) -> int:
    free = node_probe.node_meminfo_kib(node).get("MemFree")
    if free is None:
        broken(f"set-up: no MemFree in node{node}/meminfo")
    return free


FILL_CHUNK = 512  # filler pages per move_pages call, until the node first refuses
FILL_MARGIN_PAGES = 4096  # filler beyond the node's free memory (16 MiB)
ATTEMPTS = 3  # kswapd may free a little on the node between the fill and the call


def _refused(result: native.CallResult) -> bool:
    return (result.ret == -1 and result.errno == errno.ENOMEM) or result.ret > 0


def _fill(filler: memory.Mapping, node: int) -> str:
    """Move our filler pages to the node (mainline move_pages) until one page is refused.

    A refused batch frees the pages it had allocated for itself, so after the
    first refusal the fill goes on page by page, until a single page is refused.
    """
    addrs = [filler.page(i) for i in range(filler.pages)]
    chunk, start = FILL_CHUNK, 0
    while start < len(addrs):
        part = addrs[start : start + chunk]
        result = native.move_pages(
            0, len(part), part, [node] * len(part), len(part), native.MPOL_MF_MOVE
        )
        if _refused(result):
            if chunk == 1:
                return f"a filler page was refused ({describe_result(result)})"
            chunk = 1
            continue
        start += len(part)
    return f"all {len(addrs)} filler pages fitted without a refusal"


@contextmanager
def node_exhausted(node: int) -> Iterator[Callable[[], str]]:
    """Leave the node no free page; give everything back on exit.

    The hugetlb pool takes every free 2 MiB block; mainline move_pages of our
    own filler pages then takes the fragments left, until the node refuses.
    Allocations for migration name the node (__GFP_THISNODE), so they fail
    instead of calling the OOM killer. Yields a function that (re)fills the
    node and says how far it got, for messages.
    """
    pool = hugetlb_pool(node)
    if not pool.exists():
        pytest.skip(f"no hugetlb pool of {HPAGE_SIZE >> 20} MiB pages on node {node}: "
                    f"{pool} absent")
    with machine_lock(pool):
        saved = int(pool.read_text())
        try:
            pool.write_text(str(saved + _mem_free_kb(node) * 1024 // HPAGE_SIZE + 16))
            grown, free_kb = int(pool.read_text()), _mem_free_kb(node)
            filler_pages = free_kb * 1024 // PAGE_SIZE + FILL_MARGIN_PAGES
            with memory.anonymous(filler_pages * PAGE_SIZE) as filler:
                filler.madvise(0, filler.length, memory.MADV_NOHUGEPAGE)
                filler.touch()

                def exhaust() -> str:
                    filled = _fill(filler, node)
                    return (
                        f"node {node}: hugetlb pool {saved} -> {grown} pages, MemFree {free_kb} "
                        f"kB, then {filled}, MemFree now {_mem_free_kb(node)} kB"
                    )

                yield exhaust
        finally:
            pool.write_text(str(saved))


@pytest.mark.destructive
def test_enomem_leaves_status_unwritten(caller: Caller, two_nodes: tuple[int, int]) -> None:
    with owned.private_anon() as page:
        before = frames(page.named)
        pfn = before[page.named[0]]
        home, target = home_and_other(pfn, two_nodes)
        log = []
        with node_exhausted(target) as exhaust:
            for _ in range(ATTEMPTS):
                how = exhaust()
                result = caller([pfn_to_phys(frames(page.named)[page.named[0]])], [target])
                log.append(f"{how}; move_phys_pages: {describe_result(result)}")
                if result.ret != 0:
                    break
                # The node found room after all: bring the page home and fill again.
                memory.place_on_node(list(page.named), home)
        what = f"a move to an exhausted node ({' / '.join(log)})"
        if result.ret == 0:
            broken(f"set-up: node {target} kept room for the page in {ATTEMPTS} fills: {what}")
        check_errno(result.ret, result.errno, "target_out_of_memory", what)
        check_status(0, result.status[0], "batch_not_migrated", what)
        assert node_of_pfn(frames(page.named)[page.named[0]]) == home, (
            f"the page left node {home} despite ENOMEM: {what}"
        )
        assert not page.damaged(), f"data changed: {what}"
