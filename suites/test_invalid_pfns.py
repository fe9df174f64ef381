"""Addresses that name no movable page: each gets its status, the call goes on.

Move mode aims every frame at the node it is already on (or the first
allowed node when it is on none): the first matching row of the spec decides
before "already on the target", and a frame that changed meanwhile (a free
page allocated by someone) still moves nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
from suitekit import owned, targets
from suitekit.calls import MPOL_MF_MOVE, Caller, describe_result
from suitekit.expect import check_status
from suitekit.machine import node_of_pfn, phys_of
from suitekit.targets import Target
from suitekit.verify import move_and_verify

from movephys.arch import phys_to_pfn

pytestmark = [pytest.mark.needs_syscall, pytest.mark.needs_root]

ATTEMPTS = 5  # a frame of a volatile kind (free page) may change under the call


@dataclass(frozen=True)
class InvalidPfnCase:
    kind: str
    produce: Callable[[], AbstractContextManager[Target]]
    move_row: str
    query_row: str
    destructive: bool = False
    # Rows of a frame that turns out to have no node on this machine: physical
    # address 0 is a reserved RAM page on a PC, flash outside RAM on QEMU's arm64 virt.
    no_node_rows: tuple[str, str] | None = None

    def rows(self, target: Target) -> tuple[str, str]:
        """(move row, query row) of @target, by what sysfs says the frame is."""
        if target.node is None and self.no_node_rows is not None:
            return self.no_node_rows
        return self.move_row, self.query_row


CASES = (
    InvalidPfnCase("hole", targets.hole, "not_online", "query_not_online"),
    InvalidPfnCase("beyond_last_pfn", targets.beyond_last_pfn, "not_online", "query_not_online"),
    InvalidPfnCase(
        "offline_block", targets.offline_block, "not_online", "query_not_online", destructive=True
    ),
    InvalidPfnCase("thp_tail", targets.thp_tail, "tail_page", "query_node"),
    InvalidPfnCase("free_page", targets.free_page, "not_lru", "query_node"),
    InvalidPfnCase("kernel_page", targets.kernel_page, "not_lru", "query_node"),
    InvalidPfnCase("zero_page", targets.zero_page, "not_lru", "query_node"),
    InvalidPfnCase("hugetlb", targets.hugetlb, "not_lru", "query_node"),
    InvalidPfnCase("unmapped_page_cache", targets.unmapped_page_cache, "not_mapped", "query_node"),
    InvalidPfnCase("phys_zero", targets.phys_zero, "not_lru", "query_node",
                   no_node_rows=("not_online", "query_not_online")),
    InvalidPfnCase("all_ones", targets.all_ones, "not_online", "query_not_online"),
)


def _params() -> list[object]:
    params: list[object] = []
    for case in CASES:
        marks = [pytest.mark.destructive] if case.destructive else []
        for mode in ("move", "query"):
            params.append(pytest.param(case, mode, id=f"{case.kind}-{mode}", marks=marks))
    return params


@pytest.mark.parametrize(("case", "mode"), _params())
def test_invalid_pfn(
    case: InvalidPfnCase, mode: str, caller: Caller, allowed_nodes: tuple[int, ...]
) -> None:
    with case.produce() as target:
        aim = target.node if target.node is not None else allowed_nodes[0]
        nodes = None if mode == "query" else [aim]
        move_row, query_row = case.rows(target)
        row = query_row if mode == "query" else move_row
        log = []
        for _ in range(ATTEMPTS):
            result = caller([target.phys], nodes, MPOL_MF_MOVE)
            log.append(describe_result(result))
            if target.still_valid():
                break
        else:
            pytest.fail(f"{target.what} changed kind during each of {ATTEMPTS} calls: {log}")
        what = f"{target.what} in {mode} mode ({'; '.join(log)})"
        check_status(0, result.status[0], row, what, node=target.node)
        assert result.ret == 0, f"ret {result.ret}: a per-page error is not a failed page: {what}"


OFFSET = 0x123


@pytest.mark.parametrize("mode", (pytest.param("move", marks=pytest.mark.needs_two_nodes), "query"))
def test_offset_in_page_same_as_aligned(
    mode: str, caller: Caller, request: pytest.FixtureRequest
) -> None:
    """Spec rule description.offset_ignored: the low bits of an address are dropped."""
    with owned.private_anon() as page:
        phys = phys_of(page.named[0])
        if mode == "move":
            first, second = request.getfixturevalue("two_nodes")
            target = second if node_of_pfn(phys_to_pfn(phys)) == first else first
            move_and_verify(caller, page, target, MPOL_MF_MOVE, "moved", offset=OFFSET)
            return
        node = node_of_pfn(phys_to_pfn(phys))
        result = caller.query([phys, phys + OFFSET])
        what = f"{page.what} at {phys:#x}, queried at {phys:#x} and {phys + OFFSET:#x}"
        check_status(
            0, result.status[0], "query_node", f"{what} ({describe_result(result)})", node=node
        )
        check_status(
            1, result.status[1], "query_node", f"{what} ({describe_result(result)})", node=node
        )
