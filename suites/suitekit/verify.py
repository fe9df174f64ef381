"""Moving pages the test owns and proving the move four ways.

1. status == target (the spec row the case names);
2. an independent source: the new PFN from /proc/self/pagemap is on the
   target node per sysfs, and move_pages' query agrees;
3. the data written before the move reads back intact;
4. the old physical address is stale: passing it again (as a query and as a
   move to the node the old frame is on, so nothing of anyone's can move)
   leaves the page's PFN unchanged.

Migration is best effort: a batch that could not be migrated (positive
return value, -EBUSY, -EAGAIN) is retried a bounded number of times, each
attempt logged in the failure message.
"""

from __future__ import annotations

import errno
import time
from dataclasses import dataclass, field

from movephys import memory
from movephys.arch import pfn_to_phys
from movephys.syscall import native
from suitekit.calls import Caller, describe_result, describe_status
from suitekit.expect import check_status, expected_status, row_name, status_row
from suitekit.machine import node_of_pfn, pfn_of
from suitekit.owned import OwnedMemory

ATTEMPTS = 5
RETRY_SLEEP_S = 0.2
# Statuses worth another attempt. An entry left unwritten (the sentinel) is
# one only when the call also reported pages not migrated (ret > 0): with
# ret 0 every entry must have been written, and retrying would let a kernel
# that skips an entry's status pass on the second attempt.
TRANSIENT_STATUS = frozenset({-errno.EBUSY, -errno.EAGAIN})


@dataclass
class MoveReport:
    """What a verified move saw: frames before and after, and every attempt."""

    before: dict[int, int]  # virtual address -> pfn
    after: dict[int, int] = field(default_factory=dict)
    attempts: list[str] = field(default_factory=list)
    result: native.CallResult | None = None

    def log(self) -> str:
        return "; ".join(f"attempt {i + 1}: {line}" for i, line in enumerate(self.attempts))


def frames(addrs: tuple[int, ...]) -> dict[int, int]:
    found = {}
    for addr in addrs:
        pfn = pfn_of(addr)
        assert pfn is not None, f"pagemap: our page at {addr:#x} is not present"
        found[addr] = pfn
    return found


def move_with_retries(
    caller: Caller, owned: OwnedMemory, target: int, flags: int, row_id: str, offset: int = 0
) -> MoveReport:
    """Call until every named page reports the target, or the attempts run out."""
    # Gather every page on the first page's node (mainline move_pages, best effort),
    # so that no entry can pass as "already there".
    start = node_of_pfn(frames(owned.named[:1])[owned.named[0]])
    if start is not None and start != target and len(owned.named) > 1:
        memory.place_on_node(list(owned.named), start)
    report = MoveReport(before=frames(owned.every_page()))
    for _ in range(ATTEMPTS):
        pfns = frames(owned.named)
        phys = [pfn_to_phys(pfns[a]) + offset for a in owned.named]
        result = caller(phys, [target] * len(phys), flags)
        report.result = result
        report.attempts.append(describe_result(result))
        done = result.ret == 0 and all(value == target for value in result.status)
        transient = result.ret > 0 or any(v in TRANSIENT_STATUS for v in result.status)
        if done or not transient:
            break
        time.sleep(RETRY_SLEEP_S)
    assert report.result is not None
    want = expected_status(row_id, node=target)
    for index, value in enumerate(report.result.status):
        check_status(index, value, row_id, f"{owned.what} ({report.log()})", node=target)
    assert report.result.ret == 0, (
        f"ret {report.result.ret}, spec row {row_name(status_row(row_id))} expects 0 after "
        f"every entry reported {describe_status(want)} ({report.log()})"
    )
    report.after = frames(owned.every_page())
    return report


def check_placement(owned: OwnedMemory, report: MoveReport, target: int) -> None:
    """The independent sources: pagemap PFN -> sysfs node, and move_pages' query."""
    for addr, pfn in report.after.items():
        node = node_of_pfn(pfn)
        assert node == target, (
            f"status said node {target}, but pagemap puts {owned.what} at {addr:#x} in "
            f"pfn {pfn:#x}, which sysfs places on node {node} ({report.log()})"
        )
    addrs = list(report.after)
    for addr, value in zip(addrs, memory.nodes_of(addrs), strict=True):
        assert value == target, (
            f"status said node {target}, but move_pages' query reports "
            f"{describe_status(value)} for {owned.what} at {addr:#x} ({report.log()})"
        )


def check_data(owned: OwnedMemory, report: MoveReport) -> None:
    damaged = owned.damaged()
    assert not damaged, f"data of {owned.what} changed by the move: {'; '.join(damaged)}"


def check_stale(caller: Caller, owned: OwnedMemory, report: MoveReport) -> None:
    """The old addresses name the old frames: reusing them must not touch our page."""
    for addr in owned.named:
        old_pfn, new_pfn = report.before[addr], report.after[addr]
        if old_pfn == new_pfn:
            continue
        old_node = node_of_pfn(old_pfn)
        old_phys = pfn_to_phys(old_pfn)
        queried = caller.query_one(old_phys)
        assert queried in (old_node, -errno.ENOENT), (
            f"query of the old address {old_phys:#x} gives {describe_status(queried)}; "
            f"that frame is on node {old_node}, so only {old_node} or -2 (ENOENT) is legal"
        )
        if old_node is not None:
            again = caller([old_phys], [old_node])
            assert pfn_of(addr) == new_pfn, (
                f"moving the old address {old_phys:#x} to node {old_node} moved {owned.what} "
                f"again: pfn {new_pfn:#x} -> {pfn_of(addr)} ({describe_result(again)})"
            )


def move_and_verify(
    caller: Caller, owned: OwnedMemory, target: int, flags: int, row_id: str, offset: int = 0
) -> MoveReport:
    """Move the named pages (each address plus offset) and prove it; see the module doc."""
    report = move_with_retries(caller, owned, target, flags, row_id, offset)
    check_placement(owned, report, target)
    check_data(owned, report)
    check_stale(caller, owned, report)
    return report
