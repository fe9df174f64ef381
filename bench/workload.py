"""The processes whose pages are moved: P holders of M pages each on one node (bench side).

The holders are forked by a zygote, a fresh ``python -m bench.holder``
interpreter (see :mod:`bench.holder`), so they carry none of the bench's
libraries; the bench talks to each holder over its own socket. Global page
g of the workload is page g % M of holder g // M.

:func:`started` reaps every holder and the zygote on exit, also on failure,
killing any that does not leave in time.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import recv_handle

from bench.holder import MAX_PROBLEMS, Check
from movephys import arch

REPLY_TIMEOUT_S = 900.0  # a holder moving 65536 pages under TCG takes a while
CHECKOUT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class WorkloadError(RuntimeError):
    """The workload could not be set up or a holder stopped answering (one line)."""


@dataclass(frozen=True)
class Target:
    """One page of the workload, with its frame at the time it was read."""

    holder: int
    index: int  # page index inside the holder's mapping
    pid: int
    vaddr: int
    pfn: int


def _reply(connection: Connection, who: str, what: str) -> object:
    if not connection.poll(REPLY_TIMEOUT_S):
        raise WorkloadError(f"{who} did not answer {what!r} in {REPLY_TIMEOUT_S:.0f} s")
    try:
        reply = connection.recv()
    except (EOFError, OSError):
        raise WorkloadError(f"{who} exited during {what!r}") from None
    if isinstance(reply, tuple) and reply[:1] == ("error",):
        raise WorkloadError(f"{who}: {reply[1]}")
    return reply


@dataclass
class Holder:
    pid: int
    connection: Connection
    base: int = 0

    def ask(self, *message: object) -> object:
        self.connection.send(message)
        return _reply(self.connection, f"holder {self.pid}", str(message[0]))


@dataclass
class Workload:
    holders: list[Holder]
    pages_per_process: int
    node: int

    @property
    def total_pages(self) -> int:
        return len(self.holders) * self.pages_per_process

    def targets(self, pages: Sequence[int]) -> list[Target]:
        """The current frame of each global page, read by its holder."""
        per_holder: dict[int, list[int]] = {}
        for page in pages:
            holder, index = divmod(page, self.pages_per_process)
            per_holder.setdefault(holder, []).append(index)
        found: list[Target] = []
        for holder, indexes in per_holder.items():
            owner = self.holders[holder]
            pfns = owner.ask("pfns", indexes)
            assert isinstance(pfns, list)
            for index, pfn in zip(indexes, pfns, strict=True):
                if pfn is None:
                    raise WorkloadError(f"holder {owner.pid} page {index} is not present")
                vaddr = owner.base + index * arch.PAGE_SIZE
                found.append(Target(holder, index, owner.pid, vaddr, pfn))
        return found

    def check(self, targets: Sequence[Target], node: int, node_ranges: Sequence[range]) -> Check:
        good = 0
        problems: list[str] = []
        for holder, indexes in _by_holder(targets).items():
            result = self.holders[holder].ask("check", indexes, node, list(node_ranges))
            assert isinstance(result, Check)
            good += result.good
            problems.extend(result.problems)
        return Check(good, tuple(problems[:MAX_PROBLEMS]))

    def place(self, targets: Sequence[Target], node: int) -> int:
        """Move the targets' pages to ``node``; returns how many would not go."""
        left = 0
        for holder, indexes in _by_holder(targets).items():
            count = self.holders[holder].ask("place", indexes, node)
            assert isinstance(count, int)
            left += count
        return left


def _by_holder(targets: Sequence[Target]) -> dict[int, list[int]]:
    per_holder: dict[int, list[int]] = {}
    for target in targets:
        per_holder.setdefault(target.holder, []).append(target.index)
    return per_holder


def _start_zygote() -> tuple[subprocess.Popen[bytes], Connection]:
    ours, theirs = socket.socketpair()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.holder", str(theirs.fileno())],
        pass_fds=(theirs.fileno(),), cwd=CHECKOUT,
    )
    theirs.close()
    return process, Connection(ours.detach())


def _spawn(zygote: Connection, number: int, pages: int, node: int) -> Holder:
    zygote.send(("spawn", number, pages, node))
    if not zygote.poll(REPLY_TIMEOUT_S):
        raise WorkloadError("the holder zygote did not answer")
    try:
        handle = recv_handle(zygote)
        pid = zygote.recv()
    except (EOFError, OSError) as error:
        raise WorkloadError(f"the holder zygote failed: {error}") from None
    return Holder(pid, Connection(handle))


def _close(zygote_process: subprocess.Popen[bytes], zygote: Connection,
           holders: Sequence[Holder]) -> None:
    for holder in holders:
        with suppress(OSError):
            holder.connection.send(("exit",))
        holder.connection.close()
    with suppress(OSError):
        zygote.send(("exit",))
    zygote.close()
    try:
        zygote_process.wait(timeout=30)  # the zygote reaps the holders first
    except subprocess.TimeoutExpired:
        zygote_process.kill()
        zygote_process.wait()


@contextmanager
def started(processes: int, pages_per_process: int, node: int) -> Iterator[Workload]:
    """Start the holders, wait until each holds its pages on ``node``, reap them on exit."""
    zygote_process, zygote = _start_zygote()
    workload = Workload([], pages_per_process, node)
    try:
        for number in range(processes):
            workload.holders.append(_spawn(zygote, number, pages_per_process, node))
        for holder in workload.holders:
            reply = _reply(holder.connection, f"holder {holder.pid}", "start")
            assert isinstance(reply, tuple)
            _, holder.base, misplaced = reply
            if misplaced:
                raise WorkloadError(
                    f"holder {holder.pid}: {misplaced} of {pages_per_process} pages "
                    f"would not go to node {node}"
                )
        yield workload
    finally:
        _close(zygote_process, zygote, workload.holders)
