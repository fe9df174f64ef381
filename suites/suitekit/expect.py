"""Expected values taken from the spec rows, and messages that name the row.

A case names the row it proves by id ("not_lru", "no_cap_sys_admin"); the
expected value is read from that row, never written into the test.
"""

from __future__ import annotations

import functools

from movephys.spec import ErrorRow, Spec, StatusRow, load_spec
from movephys.syscall.native import STATUS_SENTINEL
from suitekit.calls import describe_errno, describe_status


@functools.cache
def spec() -> Spec:
    return load_spec()


def status_row(row_id: str) -> StatusRow:
    return spec().status_row(row_id)


def error_row(row_id: str) -> ErrorRow:
    return spec().error_row(row_id)


def row_name(row: StatusRow | ErrorRow) -> str:
    table = f"status_{row.mode}" if isinstance(row, StatusRow) else "whole_call_errors"
    return f"{table}.{row.id}"


def expected_status(row_id: str, *, node: int | None = None) -> int:
    """The status a row promises: -errno, the given node for "node", or the sentinel."""
    row = status_row(row_id)
    if row.value == "node":
        if node is None:
            raise ValueError(f"spec row {row_id} expects a node, and the case gave none")
        return node
    if row.value == "unwritten":
        return STATUS_SENTINEL
    value = row.status_value
    assert value is not None
    return value


def status_mismatch(index: int, got: int, row_id: str, want: int, what: str) -> str:
    """'status[0] = -14 (EFAULT), spec row status_move.not_lru expects -2 (ENOENT) for ...'."""
    return (
        f"status[{index}] = {describe_status(got)}, spec row "
        f"{row_name(status_row(row_id))} expects {describe_status(want)} for {what}"
    )


def check_status(index: int, got: int, row_id: str, what: str, *, node: int | None = None) -> None:
    want = expected_status(row_id, node=node)
    assert got == want, status_mismatch(index, got, row_id, want, what)


def errno_mismatch(ret: int, got_errno: int, row_id: str, what: str) -> str:
    row = error_row(row_id)
    got = f"ret {ret}" if ret != -1 else f"ret -1 errno {describe_errno(got_errno)}"
    return (
        f"{got}, spec row {row_name(row)} expects ret -1 errno "
        f"{describe_errno(row.errno_value)} for {what}"
    )


def check_errno(ret: int, got_errno: int, row_id: str, what: str) -> None:
    want = error_row(row_id).errno_value
    assert ret == -1 and got_errno == want, errno_mismatch(ret, got_errno, row_id, what)
