"""Successful moves: every kind of page the call must migrate, verified four ways.

LTP move_pages02/03/05/09 style: the case is a row of CASES, the body one path.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
from suitekit import owned as producers
from suitekit.calls import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, Caller, describe_result
from suitekit.expect import check_status
from suitekit.machine import node_of_pfn, other_node, phys_of
from suitekit.owned import OwnedMemory
from suitekit.verify import frames, move_and_verify

from movephys.arch import pfn_to_phys
from movephys.changes.child import holding_child

pytestmark = [
    pytest.mark.needs_syscall,
    pytest.mark.needs_root,
    pytest.mark.needs_two_nodes,
]


@dataclass(frozen=True)
class MoveCase:
    id: str
    produce: Callable[[], AbstractContextManager[OwnedMemory]]
    flags: int
    row: str  # the status row the case proves


MOVE_CASES = (
    MoveCase("private_anon", producers.private_anon, MPOL_MF_MOVE, "moved"),
    MoveCase("thp_head", producers.thp, MPOL_MF_MOVE, "moved"),
    MoveCase("shmem", producers.shmem, MPOL_MF_MOVE, "moved"),
    MoveCase("page_cache", producers.page_cache, MPOL_MF_MOVE, "moved"),
    # Two mappings of one KSM frame count as shared: only MOVE_ALL may move it.
    MoveCase("ksm", producers.ksm_merged, MPOL_MF_MOVE_ALL, "moved"),
    MoveCase("mlocked", lambda: producers.private_anon(mlocked=True), MPOL_MF_MOVE, "moved"),
    MoveCase("flags_zero", producers.private_anon, 0, "moved"),
)


def current_node(owned: OwnedMemory) -> int | None:
    return node_of_pfn(frames(owned.named)[owned.named[0]])


@pytest.mark.parametrize("case", MOVE_CASES, ids=lambda case: case.id)
def test_move(case: MoveCase, caller: Caller, two_nodes: tuple[int, int]) -> None:
    with case.produce() as owned:
        target = other_node(current_node(owned), two_nodes)
        move_and_verify(caller, owned, target, case.flags, case.row)


@dataclass(frozen=True)
class SharedCase:
    id: str
    flags: int
    row: str


SHARED_CASES = (
    SharedCase("move", MPOL_MF_MOVE, "shared_without_move_all"),
    SharedCase("flags_zero", 0, "shared_without_move_all"),
    SharedCase("move_all", MPOL_MF_MOVE_ALL, "moved"),
)


@pytest.mark.parametrize("case", SHARED_CASES, ids=lambda case: case.id)
def test_shared_after_fork(case: SharedCase, caller: Caller, two_nodes: tuple[int, int]) -> None:
    with producers.private_anon() as owned, holding_child(os.getpid) as (child, _):
        # The child shares every page of the test copy-on-write until it exits.
        target = other_node(current_node(owned), two_nodes)
        if case.row == "moved":
            move_and_verify(caller, owned, target, case.flags, case.row)
            return
        pfn = frames(owned.named)[owned.named[0]]
        result = caller([pfn_to_phys(pfn)], [target], case.flags)
        what = f"{owned.what} shared with child {child} after fork ({describe_result(result)})"
        check_status(0, result.status[0], case.row, what, node=target)
        assert frames(owned.named)[owned.named[0]] == pfn, (
            f"status {result.status[0]} but the shared page moved anyway: {what}"
        )


def test_already_on_target(caller: Caller, two_nodes: tuple[int, int]) -> None:
    with producers.private_anon() as owned:
        pfn = frames(owned.named)[owned.named[0]]
        node = node_of_pfn(pfn)
        assert node is not None
        result = caller([pfn_to_phys(pfn)], [node])
        what = f"{owned.what} already on node {node} ({describe_result(result)})"
        check_status(0, result.status[0], "already_on_target", what, node=node)
        assert result.ret == 0, f"ret {result.ret} for a page already in place: {what}"
        assert frames(owned.named)[owned.named[0]] == pfn, f"the page moved anyway: {what}"
        assert not owned.damaged(), f"data changed: {what}"


def test_mixed_batch(caller: Caller, two_nodes: tuple[int, int]) -> None:
    """Valid and invalid entries interleaved: each gets its own status, ret 0."""
    with producers.private_anon(2) as owned:
        first, second = owned.named
        target = other_node(current_node(owned), two_nodes)
        all_ones = (1 << 64) - 1
        pages = [phys_of(first), all_ones, phys_of(second)]
        result = caller(pages, [target] * 3)
        what = f"a batch [{owned.what}, physical address {all_ones:#x}, {owned.what}]"
        check_status(
            0, result.status[0], "moved", f"{what} ({describe_result(result)})", node=target
        )
        check_status(1, result.status[1], "not_online", f"{what} ({describe_result(result)})")
        check_status(
            2, result.status[2], "moved", f"{what} ({describe_result(result)})", node=target
        )
        assert result.ret == 0, (
            f"ret {result.ret}, spec rule zero_when_all_handled expects 0: errors in status "
            f"are not counted ({describe_result(result)})"
        )
        assert not owned.damaged()


def test_stale_address_not_moved_again(caller: Caller, two_nodes: tuple[int, int]) -> None:
    """After a move the old address names the old frame, not the page that left it."""
    with producers.private_anon() as owned:
        start = current_node(owned)
        assert start is not None
        report = move_and_verify(caller, owned, other_node(start, two_nodes), MPOL_MF_MOVE, "moved")
        addr = owned.named[0]
        old_phys = pfn_to_phys(report.before[addr])
        queried = caller.query_one(old_phys)
        assert queried in (start, -errno.ENOENT), (
            f"query of the old address {old_phys:#x} = {queried}: the old frame is on node "
            f"{start}; a kernel that followed the page would say {report.after[addr]:#x}'s node"
        )
        # Aimed at the node the old frame is on, so whatever page holds it now stays put.
        result = caller([old_phys], [start])
        assert frames(owned.named)[addr] == report.after[addr], (
            f"passing the old address {old_phys:#x} moved {owned.what} again: pfn "
            f"{report.after[addr]:#x} -> {frames(owned.named)[addr]:#x} ({describe_result(result)})"
        )
