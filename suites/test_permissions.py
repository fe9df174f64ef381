"""Who may call: CAP_SYS_ADMIN in the initial user namespace, nothing less.

The review of the RFC (Corbet, Gleixner, Lutomirski) asked that every weaker
caller be refused, in every mode; unknown flags are refused before that.
Each caller is set up in a forked child; the page named belongs to the test.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from suitekit import credentials, owned
from suitekit.calls import MPOL_MF_MOVE, Caller, describe_result
from suitekit.expect import check_errno, check_status
from suitekit.machine import node_of_pfn, pfn_of

from movephys.arch import pfn_to_phys
from movephys.changes.child import run_in_child
from movephys.probes import caps
from movephys.syscall import native

pytestmark = [pytest.mark.needs_syscall, pytest.mark.needs_root]


@dataclass(frozen=True)
class Mode:
    id: str
    nr: int
    query: bool


MODES = (Mode("move", 1, False), Mode("query", 1, True), Mode("zero_pages", 0, False))
WEAKER_CALLERS = ("unprivileged", "root_without_sys_admin", "cap_sys_nice_only", "userns_root")


def call_as(
    who: str, caller: Caller, phys: int, node: int, mode: Mode, flags: int
) -> tuple[native.CallResult, str]:
    """The call made by a child with the credentials of who."""

    def in_child() -> tuple[native.CallResult, str]:
        credentials.WHO[who]()
        pages = [phys][: mode.nr]
        nodes = None if mode.query else [node][: mode.nr]
        result = caller(pages, nodes, flags)
        effective = caps.get().effective
        names = "CAP_SYS_ADMIN" if caps.CAP_SYS_ADMIN in effective else "no CAP_SYS_ADMIN"
        return result, f"euid {os.geteuid()}, {len(effective)} effective caps, {names}"

    return run_in_child(in_child)


@pytest.mark.parametrize("mode", MODES, ids=lambda mode: mode.id)
@pytest.mark.parametrize("who", WEAKER_CALLERS)
def test_eperm(who: str, mode: Mode, caller: Caller) -> None:
    unavailable = credentials.WHO_UNAVAILABLE.get(who, lambda: None)()
    if unavailable is not None:
        pytest.skip(unavailable)
    with owned.private_anon() as page:
        pfn = pfn_of(page.named[0])
        assert pfn is not None
        node = node_of_pfn(pfn)
        assert node is not None
        # Aimed at the node the page is on: a kernel that wrongly lets the call
        # through still moves nothing.
        result, creds = call_as(who, caller, pfn_to_phys(pfn), node, mode, MPOL_MF_MOVE)
        check_errno(
            result.ret,
            result.errno,
            "no_cap_sys_admin",
            f"a {mode.id} call by {who.replace('_', ' ')} ({creds}; {describe_result(result)})",
        )


@pytest.mark.parametrize("mode", MODES[:2], ids=lambda mode: mode.id)
def test_cap_sys_admin_nonroot_allowed(
    mode: Mode, caller: Caller, allowed_nodes: tuple[int, ...]
) -> None:
    """uid 65534 holding CAP_SYS_ADMIN moves (or queries) a page of its own."""

    def in_child() -> tuple[int, int | None, int, native.CallResult]:
        with owned.private_anon() as page:
            # Read while still root: after setuid the process is not dumpable
            # and its /proc files belong to root.
            pfn = pfn_of(page.named[0])
            assert pfn is not None
            node = node_of_pfn(pfn)
            target = next((n for n in allowed_nodes if n != node), node)
            assert target is not None
            credentials.sys_admin_as_nobody()
            nodes = None if mode.query else [target]
            return pfn, node, target, caller([pfn_to_phys(pfn)], nodes, MPOL_MF_MOVE)

    pfn, node, target, result = run_in_child(in_child)
    what = (
        f"a {mode.id} by uid 65534 with CAP_SYS_ADMIN of its page pfn {pfn:#x} on node {node} "
        f"(spec rule capability.cap_sys_admin_suffices; {describe_result(result)})"
    )
    if mode.query:
        check_status(0, result.status[0], "query_node", what, node=node)
    else:
        check_status(0, result.status[0], "moved", what, node=target)
    assert result.ret == 0, f"ret {result.ret}: {what}"


@dataclass(frozen=True)
class BadFlag:
    id: str
    flags: int


BAD_FLAGS = (
    BadFlag("strict_bit", 1),  # MPOL_MF_STRICT: valid for mbind, not here
    BadFlag("bit3", 1 << 3),
    BadFlag("sign_bit", -(1 << 31)),
    BadFlag("all_ones", -1),
)


@pytest.mark.parametrize("who", ("root", "unprivileged"))
@pytest.mark.parametrize("flag", BAD_FLAGS, ids=lambda flag: flag.id)
def test_bad_flags_einval(flag: BadFlag, who: str, caller: Caller) -> None:
    with owned.private_anon() as page:
        pfn = pfn_of(page.named[0])
        assert pfn is not None
        node = node_of_pfn(pfn)
        assert node is not None
        result, creds = call_as(who, caller, pfn_to_phys(pfn), node, MODES[0], flag.flags)
        check_errno(
            result.ret,
            result.errno,
            "unknown_flags",
            f"flags {flag.flags & 0xFFFFFFFF:#x} from {who} ({creds}; {describe_result(result)})",
        )
