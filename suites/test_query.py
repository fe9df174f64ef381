"""Query mode (nodes == NULL): the node of every online frame, whatever its use."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass

import pytest
from suitekit import owned, targets
from suitekit.calls import Caller, describe_result, describe_status
from suitekit.expect import check_errno, check_status
from suitekit.machine import node_of_pfn, pfn_of
from suitekit.targets import Target

from movephys import memory
from movephys.arch import PAGE_SIZE, STAT_CHUNK, pfn_to_phys
from movephys.syscall.native import STATUS_SENTINEL, RawPointer

pytestmark = [pytest.mark.needs_syscall, pytest.mark.needs_root]

ATTEMPTS = 5


@dataclass(frozen=True)
class QueryCase:
    kind: str
    produce: Callable[[], AbstractContextManager[Target]]
    row: str = "query_node"


CASES = (
    QueryCase("anon", targets.anon),
    QueryCase("free_page", targets.free_page),
    QueryCase("kernel_page", targets.kernel_page),
    QueryCase("thp_tail", targets.thp_tail),
    QueryCase("hugetlb", targets.hugetlb),
    QueryCase("zero_page", targets.zero_page),
)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.kind)
def test_query_reports_node(case: QueryCase, caller: Caller) -> None:
    with case.produce() as target:
        assert target.node is not None, f"sysfs places {target.what} on no node"
        for _ in range(ATTEMPTS):
            result = caller.query([target.phys])
            if target.still_valid():
                break
        what = f"{target.what}, on node {target.node} per sysfs ({describe_result(result)})"
        check_status(0, result.status[0], case.row, what, node=target.node)
        assert result.ret == 0, f"ret {result.ret} for a query: {what}"


def test_query_efault_after_written_chunks(caller: Caller) -> None:
    """The second chunk of pages is unreadable: EFAULT, with the first chunk answered."""
    count = 2 * STAT_CHUNK
    with owned.private_anon(STAT_CHUNK) as pages, memory.anonymous(2 * PAGE_SIZE) as array:
        found = [pfn_of(addr) for addr in pages.named]
        assert None not in found
        pfns = [pfn for pfn in found if pfn is not None]
        first_chunk = b"".join(pfn_to_phys(pfn).to_bytes(8, "little") for pfn in pfns)
        start = PAGE_SIZE - len(first_chunk)
        array.write(start, first_chunk)
        array.mprotect(PAGE_SIZE, PAGE_SIZE, memory.PROT_NONE)
        result = caller(RawPointer(array.addr + start), None, count=count)
        what = (
            f"a query of {count} entries whose entries {STAT_CHUNK}.. lie in a PROT_NONE page "
            f"({describe_result(result)})"
        )
        check_errno(result.ret, result.errno, "pages_unreadable", what)
        for index, pfn in enumerate(pfns):
            check_status(index, result.status[index], "query_node", what, node=node_of_pfn(pfn))
        for index in range(STAT_CHUNK, count):
            assert result.status[index] == STATUS_SENTINEL, (
                f"status[{index}] = {describe_status(result.status[index])}: the kernel wrote "
                f"an entry of the chunk it could not read: {what}"
            )
