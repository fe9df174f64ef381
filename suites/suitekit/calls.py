"""Calling move_phys_pages with the confirmed number, and saying what came back."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass

from movephys.syscall import native

MPOL_MF_MOVE = native.MPOL_MF_MOVE
MPOL_MF_MOVE_ALL = native.MPOL_MF_MOVE_ALL

QUERY = None  # nodes=None is query mode


def describe_errno(number: int) -> str:
    """'-14 (EFAULT)' for a negative status, '14 (EFAULT)' for an errno."""
    name = errno.errorcode.get(abs(number), "?")
    return f"{number} ({name})"


def describe_status(value: int) -> str:
    """A status entry as a reader wants it: a node id, or the errno name."""
    if value < 0:
        return describe_errno(value)
    if value == native.STATUS_SENTINEL:
        return f"{value} (the sentinel: not written)"
    return f"{value} (node {value})"


def describe_result(result: native.CallResult) -> str:
    head = f"ret {result.ret}"
    if result.ret == -1:
        head += f" errno {describe_errno(result.errno)}"
    statuses = ", ".join(describe_status(value) for value in result.status)
    return f"{head}, status [{statuses}]"


ONE_PER_ENTRY = -1


@dataclass(frozen=True)
class Caller:
    """move_phys_pages with the number identity confirmed; nothing else calls it."""

    nr: int

    def __call__(
        self,
        pages: native.PagesArg,
        nodes: native.NodesArg,
        flags: int = MPOL_MF_MOVE,
        *,
        count: int | None = None,
        status: native.StatusArg = ONE_PER_ENTRY,
    ) -> native.CallResult:
        """Call with one entry per element of pages unless count says otherwise.

        status is a length (a fresh array pre-filled with the sentinel), None
        (NULL) or a RawPointer; by default one entry per page.
        """
        if count is None:
            if not isinstance(pages, Sequence):
                raise ValueError("count is needed when pages is NULL or a raw pointer")
            count = len(pages)
        if status == ONE_PER_ENTRY:
            status = count
        return native.move_phys_pages(count, pages, nodes, status, flags, syscall_nr=self.nr)

    def query(self, phys: Sequence[int]) -> native.CallResult:
        return self(phys, QUERY, MPOL_MF_MOVE)

    def query_one(self, phys: int) -> int:
        return self.query([phys]).status[0]
