"""Pages ping-pong between two nodes while threads read and write them.

The RFC's own selftest did this for one page, one flag, and checked only the
return value; here every round re-reads the PFNs, every status must be legal,
and every page's contents must match the last version its writer wrote.
"""

from __future__ import annotations

import errno
import threading
import time
from dataclasses import dataclass, field

import pytest
from suitekit import owned
from suitekit.calls import Caller, describe_result, describe_status
from suitekit.machine import node_of_pfn
from suitekit.owned import OwnedMemory
from suitekit.verify import frames

from movephys.arch import PAGE_SIZE, pfn_to_phys
from movephys.syscall.native import STATUS_SENTINEL

pytestmark = [
    pytest.mark.needs_syscall,
    pytest.mark.needs_root,
    pytest.mark.needs_two_nodes,
    pytest.mark.slow,
]

PAGES = 8
# Statuses a page of ours, mapped by us alone, may get: the target, or "try again".
TRANSIENT = frozenset({-errno.EBUSY, -errno.EAGAIN})


def stamp(page: int, version: int) -> bytes:
    text = f"page {page:04d} version {version:012d};".encode()
    return (text * (PAGE_SIZE // len(text) + 1))[:PAGE_SIZE]


@dataclass
class Traffic:
    """Writer and reader threads over the pages; problems are collected, not raised."""

    memory: OwnedMemory
    stop: threading.Event = field(default_factory=threading.Event)
    versions: list[int] = field(default_factory=lambda: [0] * PAGES)
    problems: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def offset(self, page: int) -> int:
        return self.memory.named[page] - self.memory.mapping.addr

    def write_loop(self) -> None:
        while not self.stop.is_set():
            for page in range(PAGES):
                with self.lock:
                    version = self.versions[page] + 1
                    self.memory.mapping.write(self.offset(page), stamp(page, version))
                    self.versions[page] = version

    def read_loop(self) -> None:
        while not self.stop.is_set():
            for page in range(PAGES):
                with self.lock:
                    version = self.versions[page]
                    data = self.memory.mapping.read(self.offset(page), PAGE_SIZE)
                if data != stamp(page, version):
                    self.problems.append(
                        f"page {page}: read {data[:40]!r}... where version {version} was written"
                    )


def test_ping_pong_under_access(
    caller: Caller, two_nodes: tuple[int, int], pytestconfig: pytest.Config
) -> None:
    duration = pytestconfig.getoption("--stress-seconds")
    with owned.private_anon(PAGES) as pages:
        traffic = Traffic(pages)
        for page in range(PAGES):
            pages.mapping.write(traffic.offset(page), stamp(page, 0))
        threads = [
            threading.Thread(target=traffic.write_loop, name="writer"),
            threading.Thread(target=traffic.read_loop, name="reader-1"),
            threading.Thread(target=traffic.read_loop, name="reader-2"),
        ]
        for thread in threads:
            thread.start()
        rounds = moved = 0
        illegal: list[str] = []
        try:
            deadline = time.monotonic() + duration
            while time.monotonic() < deadline and not illegal:
                pfns = frames(pages.named)
                home = node_of_pfn(pfns[pages.named[0]])
                target = two_nodes[1] if home == two_nodes[0] else two_nodes[0]
                result = caller([pfn_to_phys(pfns[a]) for a in pages.named], [target] * PAGES)
                rounds += 1
                if result.ret < 0:
                    illegal.append(f"round {rounds}: {describe_result(result)}")
                for index, value in enumerate(result.status):
                    if value == target:
                        moved += 1
                        node = node_of_pfn(frames(pages.named)[pages.named[index]])
                        if node != target:
                            illegal.append(
                                f"round {rounds}: status[{index}] = {target} but the page is "
                                f"on node {node} per pagemap and sysfs"
                            )
                    elif value not in TRANSIENT and not (
                        result.ret > 0 and value == STATUS_SENTINEL
                    ):
                        illegal.append(
                            f"round {rounds}: status[{index}] = {describe_status(value)} "
                            f"({describe_result(result)})"
                        )
        finally:
            traffic.stop.set()
            for thread in threads:
                thread.join()
        assert not illegal, "illegal results while pages ping-ponged:\n" + "\n".join(illegal)
        assert not traffic.problems, "data lost under migration:\n" + "\n".join(
            traffic.problems[:10]
        )
        for page in range(PAGES):
            data = pages.mapping.read(traffic.offset(page), PAGE_SIZE)
            assert data == stamp(page, traffic.versions[page]), (
                f"page {page}: final contents are not version {traffic.versions[page]}"
            )
        assert moved > 0, f"no page moved in {rounds} rounds of {duration} s"
