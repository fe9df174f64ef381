"""Whole-call errors from the arguments: ENODEV, EFAULT, and nr_pages == 0."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from suitekit import owned
from suitekit.calls import QUERY, Caller, describe_result
from suitekit.expect import check_errno, check_status
from suitekit.machine import node_of_pfn, pfn_of
from suitekit.verify import frames

from movephys import memory
from movephys.arch import PAGE_SIZE, pfn_to_phys
from movephys.probes import nodes as node_probe
from movephys.syscall.native import RawPointer

pytestmark = [pytest.mark.needs_syscall, pytest.mark.needs_root]


def max_numnodes() -> int:
    """MAX_NUMNODES from the kernel config, else the largest x86_64 allows (also ENODEV)."""
    value, _source = node_probe.max_numnodes_or_bound()
    return value


def memoryless_node() -> int:
    """An online node without memory (CPU-only, as the VM boots with), else the
    lowest node id below MAX_NUMNODES without memory (an offline one)."""
    if online_without_memory := node_probe.memoryless_nodes():
        return online_without_memory[0]
    with_memory = set(node_probe.memory_nodes())
    limit, source = node_probe.max_numnodes_or_bound()
    node = next((n for n in range(limit) if n not in with_memory), None)
    if node is None:
        pytest.skip(f"every node id below MAX_NUMNODES ({limit}, {source}) has memory")
    return node


@dataclass(frozen=True)
class BadNode:
    id: str
    node: Callable[[], int]  # gives the node id at run time
    row: str


BAD_NODES = (
    BadNode("minus_one", lambda: -1, "node_out_of_range"),
    BadNode("max_numnodes", max_numnodes, "node_out_of_range"),
    BadNode("memoryless", memoryless_node, "node_without_memory"),
)


@pytest.mark.parametrize("case", BAD_NODES, ids=lambda case: case.id)
def test_enodev(case: BadNode, caller: Caller) -> None:
    node = case.node()
    with owned.private_anon() as page:
        before = frames(page.named)
        result = caller([pfn_to_phys(before[page.named[0]])], [node])
        what = f"target node {node} ({describe_result(result)})"
        check_errno(result.ret, result.errno, case.row, what)
        assert frames(page.named) == before, f"the page moved anyway: {what}"


@dataclass(frozen=True)
class Efault:
    array: str  # the argument that points into a page the kernel cannot use
    mode: str
    row: str


EFAULT_CASES = (
    Efault("pages", "move", "pages_unreadable"),
    Efault("pages", "query", "pages_unreadable"),
    Efault("nodes", "move", "nodes_unreadable"),
    Efault("status", "move", "status_unwritable"),
    Efault("status", "query", "status_unwritable"),
)


@pytest.mark.parametrize("case", EFAULT_CASES, ids=lambda case: f"{case.array}-{case.mode}")
def test_efault(case: Efault, caller: Caller) -> None:
    with owned.private_anon() as page, memory.anonymous(PAGE_SIZE) as bad:
        # Read-only, so only a write faults for status; unreadable for pages and nodes.
        bad.mprotect(0, PAGE_SIZE, memory.PROT_READ if case.array == "status" else memory.PROT_NONE)
        before = frames(page.named)
        pfn = before[page.named[0]]
        node = node_of_pfn(pfn)
        assert node is not None
        pages = RawPointer(bad.addr) if case.array == "pages" else [pfn_to_phys(pfn)]
        nodes = (
            QUERY
            if case.mode == "query"
            else (RawPointer(bad.addr) if case.array == "nodes" else [node])
        )
        status = RawPointer(bad.addr) if case.array == "status" else 1
        # Aimed at the page's own node: nothing moves even if the kernel gets past the fault.
        result = caller(pages, nodes, count=1, status=status)
        what = f"a {case.mode} whose {case.array} array is unusable ({describe_result(result)})"
        check_errno(result.ret, result.errno, case.row, what)
        assert frames(page.named) == before, f"the page moved: {what}"


def test_efault_keeps_earlier_side_effects(caller: Caller, two_nodes: tuple[int, int]) -> None:
    """Entry 0 is moved and its status written before entry 1's address faults."""
    with owned.private_anon() as page, memory.anonymous(2 * PAGE_SIZE) as array:
        before = frames(page.named)
        pfn = before[page.named[0]]
        start = node_of_pfn(pfn)
        target = two_nodes[1] if start == two_nodes[0] else two_nodes[0]
        array.write(PAGE_SIZE - 8, pfn_to_phys(pfn).to_bytes(8, "little"))
        array.mprotect(PAGE_SIZE, PAGE_SIZE, memory.PROT_NONE)
        result = caller(RawPointer(array.addr + PAGE_SIZE - 8), [target, target], count=2)
        what = f"entry 0 {page.what}, entry 1 in a PROT_NONE page ({describe_result(result)})"
        check_errno(result.ret, result.errno, "pages_unreadable", what)
        check_status(
            0, result.status[0], "moved", f"{what}; spec rule error_after_side_effects", node=target
        )
        after = pfn_of(page.named[0])
        assert after is not None and node_of_pfn(after) == target, (
            f"status[0] = {result.status[0]} but pagemap puts the page in pfn {after} on node "
            f"{node_of_pfn(after) if after else None}: {what}"
        )
        assert not page.damaged(), f"data changed: {what}"


def test_zero_pages_returns_zero(caller: Caller) -> None:
    """Spec rule return_value.zero_pages: nothing to do is success, in both modes."""
    moved = caller([], [], count=0, status=0)
    queried = caller([], QUERY, count=0, status=0)
    for mode, result in (("move", moved), ("query", queried)):
        assert result.ret == 0, (
            f"{mode} with nr_pages 0: {describe_result(result)}; spec rule "
            "return_value.zero_pages expects 0"
        )
