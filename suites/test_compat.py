"""32-bit callers: pages is an array of 32-bit elements, zero-extended.

Two ways into the compat entry: a genuine 32-bit program (gcc -m32, run
under IA32 emulation) and int $0x80 from this 64-bit process with the arrays
mapped below 4 GiB. Expected values come from native queries of the same
frames, so each case says what a correct reading of the array gives.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from suitekit import owned
from suitekit.calls import MPOL_MF_MOVE, Caller, describe_result
from suitekit.machine import node_of_pfn, pfn_of

from movephys import memory
from movephys.arch import pfn_to_phys, phys_to_pfn
from movephys.probes import memblocks
from movephys.probes import nodes as node_probe
from movephys.syscall import compat
from movephys.syscall.identity import Identity
from movephys.verdicts import broken

pytestmark = [pytest.mark.needs_compat]

FOUR_GIB = 1 << 32
CANDIDATE_PAGES = 64  # pages allocated to find two whose frames lie below 4 GiB


EACH_PATH = pytest.mark.parametrize(
    "path",
    [pytest.param(path, id=path, marks=pytest.mark.needs_compat(path)) for path in compat.PATHS],
)


def node_below_4g() -> int | None:
    """An allowed node with memory below 4 GiB physical (first-touch may land above it)."""
    for node in node_probe.allowed_memory_nodes():
        if any(span.start < phys_to_pfn(FOUR_GIB) for span in node_probe.node_pfn_ranges(node)):
            return node
    return None


@pytest.fixture
def low_pages() -> Iterator[list[int]]:
    """Physical addresses of two of our pages whose frames lie below 4 GiB."""
    with owned.private_anon(CANDIDATE_PAGES) as pages:
        node = node_below_4g()
        if node is not None:
            memory.place_on_node(list(pages.named), node)
        phys = [pfn_to_phys(pfn) for pfn in map(pfn_of, pages.named) if pfn is not None]
        low = [address for address in phys if address < FOUR_GIB][:2]
        if node is None:
            pytest.skip("no allowed memory node has memory below 4 GiB physical")
        if len(low) < 2:
            broken(
                f"set-up: fewer than two of {CANDIDATE_PAGES} fresh pages lie below 4 GiB "
                f"(placed on node {node}, the first with memory there)"
            )
        yield low


@pytest.mark.needs_syscall
@pytest.mark.needs_root
@pytest.mark.parametrize("mode", ("move", "query"))
@EACH_PATH
def test_compat_reads_32bit_elements(
    path: str, mode: str, compat_syscall_nr: int, caller: Caller, low_pages: list[int]
) -> None:
    """Spec rule compat.compat_reads_32bit_elements, in both modes."""
    want = list(caller.query(low_pages).status)
    nodes = None if mode == "query" else want  # a move to where each page is moves nothing
    result = compat.move_phys_pages(
        2, compat.pointer_array(low_pages), nodes, 2, MPOL_MF_MOVE,
        path=path, syscall_nr=compat_syscall_nr,
    )
    assert list(result.status) == want and result.ret == 0, (
        f"{path} {mode} of a 32-bit array [{low_pages[0]:#x}, {low_pages[1]:#x}]: "
        f"{describe_result(result)}; spec rule compat.compat_reads_32bit_elements expects "
        f"ret 0, status {want} (the native query of the same frames)"
    )


def frame_above_4g() -> int:
    """The first frame of the first present memory block at or above 4 GiB."""
    size = memblocks.block_size_bytes()
    above = [b.index * size for b in memblocks.blocks() if b.index * size >= FOUR_GIB]
    if not above:
        pytest.skip("no memory at or above 4 GiB physical on this machine")
    return min(above)


@pytest.mark.needs_syscall
@pytest.mark.needs_root
@EACH_PATH
def test_compat_cannot_name_above_4g(path: str, compat_syscall_nr: int, caller: Caller) -> None:
    """The most a 32-bit element can say about a frame above 4 GiB is its low 32 bits."""
    high = frame_above_4g()
    truncated = high & (FOUR_GIB - 1)
    want = caller.query([truncated]).status[0]
    result = compat.move_phys_pages(
        1, compat.pointer_array([truncated]), None, 1, 0, path=path, syscall_nr=compat_syscall_nr
    )
    assert result.status[0] == want, (
        f"{path} query of {truncated:#x} (the low 32 bits of {high:#x}): "
        f"{describe_result(result)}; spec rule compat.compat_below_4g_only expects "
        f"status {want}, the native answer for the zero-extended {truncated:#x}"
    )


@pytest.mark.needs_syscall
@pytest.mark.needs_root
@EACH_PATH
def test_compat_uint64_array_misread(
    path: str, compat_syscall_nr: int, caller: Caller, low_pages: list[int]
) -> None:
    """A uint64_t array as the draft man page wrote it: element i is read from byte 4*i."""
    first = low_pages[0]
    misread = [first & (FOUR_GIB - 1), first >> 32]  # what 32-bit elements see
    want = list(caller.query(misread).status)
    result = compat.move_phys_pages(
        2, compat.pointer_array(low_pages, 64), None, 2, 0, path=path, syscall_nr=compat_syscall_nr
    )
    assert list(result.status) == want, (
        f"{path} query of the uint64_t array [{low_pages[0]:#x}, {low_pages[1]:#x}]: "
        f"{describe_result(result)}; spec rule compat.compat_uint64_misread expects status "
        f"{want}, the native answers for {misread[0]:#x} and {misread[1]:#x}"
    )


@pytest.mark.needs_syscall
@pytest.mark.needs_root
@EACH_PATH
def test_compat_move_and_query_agree(
    path: str, compat_syscall_nr: int, low_pages: list[int]
) -> None:
    """Both modes read the same elements: the query's nodes are where the move finds them."""
    array = compat.pointer_array(low_pages)
    queried = compat.move_phys_pages(2, array, None, 2, 0, path=path, syscall_nr=compat_syscall_nr)
    moved = compat.move_phys_pages(
        2, array, list(queried.status), 2, MPOL_MF_MOVE, path=path, syscall_nr=compat_syscall_nr
    )
    assert list(moved.status) == list(queried.status), (
        f"{path}: query {describe_result(queried)}, move to those nodes "
        f"{describe_result(moved)}; spec rule compat.compat_move_and_query_agree expects "
        "the same status from both"
    )
    for address, node in zip(low_pages, queried.status, strict=True):
        assert node == node_of_pfn(phys_to_pfn(address)), (
            f"{path} query of {address:#x} gave {node}, sysfs says node "
            f"{node_of_pfn(phys_to_pfn(address))}"
        )


@pytest.mark.needs_syscall
@pytest.mark.needs_root
def test_i386_entry_is_the_call(compat_syscall_nr: int, confirmation: Identity) -> None:
    """Spec numbers, abi i386: with IA32 emulation the i386 table carries the call.

    The compat_syscall_nr fixture fails the case when the entry is missing,
    answers ENOSYS or is another call; here the entry's own flag check.
    """
    assert confirmation.compat.flags_rejected is not False, (
        f"i386 entry {compat_syscall_nr}: {confirmation.compat.reason}; spec row "
        "whole_call_errors.unknown_flags expects EINVAL from 32-bit callers too"
    )


@EACH_PATH
def test_move_pages_compat_fix(path: str) -> None:
    """move_pages from a 32-bit caller (mainline): its move mode reads 32-bit elements too.

    Before "mm/migrate: fix do_pages_move for compat pointers" (6.6), a move
    read 64-bit elements, so entry 0 combined two pointers and failed.
    """
    own = compat.move_pages_own(path, 2)
    queried, moved = own.query, own.move
    assert queried.ret == 0 and all(v >= 0 for v in queried.status), (
        f"{path} move_pages query of two of its own pages: {describe_result(queried)}"
    )
    assert moved.ret == 0 and list(moved.status) == list(queried.status), (
        f"{path} move_pages of two of its own pages {[hex(a) for a in own.addresses]} "
        f"to the nodes its query gave "
        f"({list(queried.status)}): {describe_result(moved)}; spec rule "
        "compat.move_pages_compat_fix expects the same nodes, read from 32-bit elements"
    )
