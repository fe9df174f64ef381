"""Batch geometry: every ABI, both modes, batch sizes on both sides of each boundary.

The kernel walks a batch in pieces: query mode copies the arrays 16 entries
at a time (do_pages_stat()), move mode gathers consecutive entries with one
target node and flushes them when the target changes, when an entry cannot
be queued, and after the last entry. A port that steps an array wrongly at
one of those places (as 6.12.117's do_pages_stat() does for 32-bit callers
past the first chunk) answers some entries from the wrong element. Each
batch here mixes pages on both nodes with entries no page can answer
(suitekit.batch), so every such misreading shows up as a wrong entry, named
with what it should have been and what it was.

The same geometry runs against mainline move_pages(), whose code
move_phys_pages shares: on the reference kernel it guards that shared code,
on any host it checks the host's move_pages().
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pytest
from suitekit import batch
from suitekit.calls import MPOL_MF_MOVE, Caller, describe_result
from suitekit.verify import TRANSIENT_STATUS

from movephys.arch import STAT_CHUNK
from movephys.syscall import compat, native
from movephys.verdicts import broken

pytestmark = [pytest.mark.needs_root, pytest.mark.needs_two_nodes]

ATTEMPTS = 5
SHOWN_PROBLEMS = 24


@dataclass(frozen=True)
class Size:
    entries: int
    why: str


SIZES = (
    Size(1, "a single entry"),
    Size(STAT_CHUNK - 1, "one short of a stat chunk"),
    Size(STAT_CHUNK, "exactly one stat chunk"),
    Size(STAT_CHUNK + 1, "one entry into the second chunk"),
    Size(2 * STAT_CHUNK + 1, "one entry into the third chunk"),
    Size(3 * STAT_CHUNK, "three full chunks, as in the compat stepping report"),
)
ABIS = (
    pytest.param("native", id="native"),
    *(pytest.param(path, id=path, marks=pytest.mark.needs_compat(path)) for path in compat.PATHS),
)
MODES = ("query", "move")

Call = Callable[[Sequence[int], Sequence[int] | None], native.CallResult]


def size_id(size: Size) -> str:
    return f"n{size.entries}"


def run_batch(layout: batch.Batch, mode: str, call: Call, what: str) -> None:
    """One call (retried while migration is only transiently refused), every entry checked."""
    if mode == "query":
        expected = layout.expect_query()
        result = call(layout.addresses(), None)
        attempts = [describe_result(result)]
    else:
        attempts = []
        for _ in range(ATTEMPTS):
            result = call(layout.addresses(), layout.targets())
            attempts.append(f"ret {result.ret}")
            if result.ret <= 0 and not TRANSIENT_STATUS.intersection(result.status):
                break
        expected = layout.expect_move()
    problems = batch.mismatches(result.status, expected)
    if mode == "move" and not problems:
        problems = layout.placement_problems()
    problems += layout.damaged()
    if result.ret != 0:
        problems.insert(0, f"ret {result.ret} (errno {result.errno}), expected 0: every entry "
                           "was handled or got its own error")
    shown = problems[:SHOWN_PROBLEMS]
    if len(problems) > len(shown):
        shown.append(f"... and {len(problems) - len(shown)} more")
    assert not problems, (
        f"{what}: {len(problems)} problem(s) in a batch of {len(layout.entries)} "
        f"({'; '.join(attempts)}):\n" + "\n".join(shown)
    )


@pytest.mark.needs_syscall
@pytest.mark.parametrize("size", SIZES, ids=size_id)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("abi", ABIS)
def test_move_phys_pages_geometry(
    abi: str, mode: str, size: Size, caller: Caller, two_nodes: tuple[int, int],
    request: pytest.FixtureRequest,
) -> None:
    """Spec rows query_node, query_not_online, moved and not_online, entry by entry."""
    if abi == "native":
        below = None

        def call(pages: Sequence[int], nodes: Sequence[int] | None) -> native.CallResult:
            return caller(pages, nodes, MPOL_MF_MOVE)
    else:
        below = batch.FOUR_GIB
        compat_nr: int = request.getfixturevalue("compat_syscall_nr")

        def call(pages: Sequence[int], nodes: Sequence[int] | None) -> native.CallResult:
            if max(pages) >= batch.FOUR_GIB:
                broken("set-up: a page retried after a transient refusal now lies above "
                       "4 GiB, where a 32-bit caller cannot name it")
            return compat.move_phys_pages(
                len(pages), compat.pointer_array(pages), nodes, len(pages), MPOL_MF_MOVE,
                path=abi, syscall_nr=compat_nr,
            )

    with batch.physical_batch(size.entries, mode, two_nodes, below=below) as layout:
        run_batch(layout, mode, call, f"move_phys_pages {mode}, {abi} caller, {size.why}")


@pytest.mark.parametrize("size", SIZES, ids=size_id)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("abi", ABIS)
def test_move_pages_geometry(abi: str, mode: str, size: Size, two_nodes: tuple[int, int]) -> None:
    """The shared code through mainline move_pages(2), on this process's own pages."""
    if abi == "native":

        def call(pages: Sequence[int], nodes: Sequence[int] | None) -> native.CallResult:
            return native.move_pages(0, len(pages), list(pages), nodes, len(pages), MPOL_MF_MOVE)
    else:

        def call(pages: Sequence[int], nodes: Sequence[int] | None) -> native.CallResult:
            # The 32-bit helper is another process: it names this one by pid.
            return compat.move_pages(
                os.getpid(), len(pages), compat.pointer_array(pages), nodes, len(pages),
                MPOL_MF_MOVE, path=abi,
            )

    with batch.virtual_batch(size.entries, mode, two_nodes) as layout:
        run_batch(layout, mode, call, f"move_pages {mode}, {abi} caller, {size.why}")
