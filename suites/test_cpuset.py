"""A page mapped by a process in a cpuset without the target node gets -EACCES.

move_pages checks the cpuset of the task named by pid; move_phys_pages has no
task, so the RFC checks the owner of every mm that maps the page, and one
refusing mapper is enough. Each case makes its own cgroup v2 cpuset group
(unique name) and removes it, also on failure.
"""

from __future__ import annotations

import os
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
from suitekit import owned
from suitekit.calls import MPOL_MF_MOVE, MPOL_MF_MOVE_ALL, Caller, describe_result
from suitekit.expect import check_status
from suitekit.machine import home_and_other, node_of_pfn, pfn_of
from suitekit.verify import frames, move_and_verify

from movephys.arch import pfn_to_phys
from movephys.changes import cpuset
from movephys.changes.child import holding_child
from movephys.verdicts import broken

pytestmark = [
    pytest.mark.needs_syscall,
    pytest.mark.needs_root,
    pytest.mark.needs_two_nodes,
    pytest.mark.needs_cgroup_cpuset,
]

# Keeps the child's mappings alive until it exits (it never returns to pytest).
_CHILD_KEEPS = ExitStack()


def page_in_cpuset(group: cpuset.CpusetGroup) -> tuple[int, int]:
    """In the child: join the group, allocate and fill a page, report (pid, pfn)."""
    group.add(os.getpid())
    page = _CHILD_KEEPS.enter_context(owned.private_anon())
    pfn = pfn_of(page.named[0])
    assert pfn is not None
    return os.getpid(), pfn


def join_and_map(group: cpuset.CpusetGroup, page: owned.OwnedMemory) -> int | None:
    """In the child: join the group, then map the inherited shared page.

    fork does not copy the page tables of a shared mapping, so the child maps
    the page only once it touches it; joining first (mems holding the page's
    node) migrates nothing.
    """
    group.add(os.getpid())
    page.mapping.read(page.named[0] - page.mapping.addr, 1)
    return pfn_of(page.named[0])


def check_child_maps(child: int, child_pfn: int | None, pfn: int) -> None:
    """Without the child's mapping the case would prove nothing."""
    assert child_pfn == pfn, (
        f"set-up: child {child} maps pfn {child_pfn}, not the page under test (pfn {pfn:#x})"
    )


@dataclass(frozen=True)
class CpusetCase:
    id: str
    flags: int


CASES = (CpusetCase("move", MPOL_MF_MOVE), CpusetCase("move_all", MPOL_MF_MOVE_ALL))


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_cpuset_eacces(case: CpusetCase, caller: Caller, two_nodes: tuple[int, int]) -> None:
    home, target = two_nodes
    with (
        cpuset.cpuset_group(mems=[home]) as group,
        holding_child(lambda: page_in_cpuset(group)) as (_, (pid, pfn)),
    ):
        result = caller([pfn_to_phys(pfn)], [target], case.flags)
        what = (
            f"a page of process {pid} in cpuset {group.name} (mems {home}) moved to node "
            f"{target} ({describe_result(result)})"
        )
        check_status(0, result.status[0], "cpuset_denies", what)
        assert node_of_pfn(pfn) == home


def test_cpuset_intersection_eacces(caller: Caller, two_nodes: tuple[int, int]) -> None:
    """A shared page: the test allows every node, its child's cpuset does not."""
    with owned.shmem() as page:
        pfn = frames(page.named)[page.named[0]]
        home, target = home_and_other(pfn, two_nodes)
        with (
            cpuset.cpuset_group(mems=[home]) as group,
            holding_child(lambda: join_and_map(group, page)) as (child, child_pfn),
        ):
            check_child_maps(child, child_pfn, pfn)
            result = caller([pfn_to_phys(pfn)], [target], MPOL_MF_MOVE_ALL)
            what = (
                f"{page.what} mapped by the test (all nodes) and by a child in cpuset "
                f"{group.name} (mems {home}), moved to node {target} ({describe_result(result)})"
            )
            check_status(0, result.status[0], "cpuset_denies", what)
            assert frames(page.named)[page.named[0]] == pfn, f"the page moved anyway: {what}"


def test_cpuset_allows_after_widening(caller: Caller, two_nodes: tuple[int, int]) -> None:
    """The same page moves once the cpuset's mems include the target node."""
    with owned.shmem() as page:
        home, target = home_and_other(frames(page.named)[page.named[0]], two_nodes)
        with (
            cpuset.cpuset_group(mems=[home]) as group,
            holding_child(lambda: join_and_map(group, page)) as (child, child_pfn),
        ):
            pfn = frames(page.named)[page.named[0]]
            check_child_maps(child, child_pfn, pfn)
            refused = caller([pfn_to_phys(pfn)], [target], MPOL_MF_MOVE_ALL)
            what = f"{page.what} of a child in cpuset {group.name} (mems {home})"
            check_status(
                0, refused.status[0], "cpuset_denies", f"{what} ({describe_result(refused)})"
            )
            group.set_mems(sorted({home, target}))
            move_and_verify(caller, page, target, MPOL_MF_MOVE_ALL, "moved")


def break_cow(group: cpuset.CpusetGroup, page: owned.OwnedMemory) -> int | None:
    """In the child: join the group, then write the inherited private page.

    The write gives the child a copy of its own; the parent's frame keeps the
    child's VMA on its reverse map, although the child maps it no longer.
    """
    group.add(os.getpid())
    page.mapping.write(page.named[0] - page.mapping.addr, b"child")
    return pfn_of(page.named[0])


def test_cpuset_of_a_process_that_broke_cow_does_not_decide(
    caller: Caller, two_nodes: tuple[int, int]
) -> None:
    """Only processes that map the page count: the reverse map also names a child
    that copied the page on write, and that child's cpuset must not refuse the move."""
    with owned.private_anon() as page:
        pfn = frames(page.named)[page.named[0]]
        home, target = home_and_other(pfn, two_nodes)
        with (
            cpuset.cpuset_group(mems=[home]) as group,
            holding_child(lambda: break_cow(group, page)) as (child, child_pfn),
        ):
            if child_pfn is None or child_pfn == pfn:
                broken(f"set-up: child {child} did not get a copy of pfn {pfn:#x} on write "
                       f"(it maps {child_pfn})")
            # Messages about the page say whose copy it is and why it must move.
            page.what = (
                f"{page.what} of the test at pfn {pfn:#x}, whose child {child} in cpuset "
                f"{group.name} (mems {home}) copied it on write (its copy: pfn {child_pfn:#x})"
            )
            move_and_verify(caller, page, target, MPOL_MF_MOVE, "moved")
