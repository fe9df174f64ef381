"""The holder side of the workload, run as ``python -m bench.holder FD``.

That process is a zygote: a fresh interpreter that imports only what a
holder needs (cffi, the memory module, the probes: no numpy), so each holder
it forks maps little besides its own pages, and a pagemap walk over it reads
about what it would read over a small real process. For each ``spawn``
request it forks a holder and hands the bench that holder's end of a new
socket pair (SCM_RIGHTS).

A holder maps M private anonymous pages (THP off, so every page is its own
frame), writes a pattern unique to (holder, page) into each, places them on
the source node with move_pages, then serves commands: report the PFNs of
some pages, check that some pages are on a node with their data intact, or
move them to a node. Holders check themselves with the project's probes
(pagemap, memory blocks) and with move_pages' query mode, so a method that
moved the wrong frames, or corrupted one, is caught by someone other than
the method. Holders and zygote exit when their pipe closes.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from multiprocessing.connection import Connection
from multiprocessing.reduction import send_handle

from bench.children import reap
from movephys import arch, memory
from movephys.probes import nodes, pagemap
from movephys.probes.pagemap import ENTRY_SIZE

MAX_PROBLEMS = 3  # problems quoted per holder; the count says the rest


@dataclass(frozen=True)
class Check:
    """What holders found about a set of their pages."""

    good: int  # pages on the node, with their data, per both probes
    problems: tuple[str, ...]  # the first few, quoted

    @property
    def summary(self) -> str:
        return "; ".join(self.problems)


def cpus_of_node(node: int) -> set[int]:
    path = arch.NODE_ROOT / f"node{node}" / "cpulist"
    try:
        return set(nodes.parse_node_list(path.read_text()))
    except OSError:
        return set()


def pattern_seed(holder: int) -> int:
    return 0xB00 + holder


def own_pfns(mapping: memory.Mapping, indexes: Sequence[int]) -> list[int | None]:
    """PFNs of our pages by one read of /proc/self/pagemap, decoded by the probe."""
    with open("/proc/self/pagemap", "rb", buffering=0) as stream:
        stream.seek(mapping.addr // arch.PAGE_SIZE * ENTRY_SIZE)
        raw = stream.read(mapping.pages * ENTRY_SIZE)
    pfns: list[int | None] = []
    for index in indexes:
        entry = pagemap.decode_entry(
            int.from_bytes(raw[index * ENTRY_SIZE:(index + 1) * ENTRY_SIZE], "little")
        )
        pfns.append(entry.pfn if entry.present and not entry.swapped and entry.pfn else None)
    return pfns


def check_pages(
    mapping: memory.Mapping, seed: int, indexes: Sequence[int], node: int,
    node_ranges: Sequence[range],
) -> Check:
    pfns = own_pfns(mapping, indexes)
    kernel_nodes = memory.nodes_of([mapping.page(index) for index in indexes])
    good = 0
    problems: list[str] = []
    for index, pfn, kernel_node in zip(indexes, pfns, kernel_nodes, strict=True):
        problem = ""
        if pfn is None:
            problem = "not present"
        elif not any(pfn in pfn_range for pfn_range in node_ranges):
            problem = f"PFN {pfn:#x} is outside node {node}'s memory blocks"
        elif kernel_node != node:
            problem = f"move_pages query says node {kernel_node}"
        elif mapping.read(index * arch.PAGE_SIZE, arch.PAGE_SIZE) != (
            memory.page_pattern(seed, index)
        ):
            problem = "data differ from the pattern written"
        if problem:
            if len(problems) < MAX_PROBLEMS:
                problems.append(f"pid {os.getpid()} page {index}: {problem}")
        else:
            good += 1
    return Check(good, tuple(problems))


def serve(connection: Connection, mapping: memory.Mapping, seed: int) -> None:
    while True:
        try:
            command, *args = connection.recv()
        except EOFError:
            return
        if command == "pfns":
            connection.send(own_pfns(mapping, args[0]))
        elif command == "check":
            connection.send(check_pages(mapping, seed, *args))
        elif command == "place":
            indexes, node = args
            status = memory.place_on_node([mapping.page(index) for index in indexes], node)
            connection.send(sum(1 for value in status if value != node))
        else:
            return


def hold(connection: Connection, holder: int, pages: int, node: int) -> None:
    cpus = cpus_of_node(node)
    if cpus:
        os.sched_setaffinity(0, cpus)  # first touch lands on the node; place_on_node fixes the rest
    seed = pattern_seed(holder)
    with memory.anonymous(pages * arch.PAGE_SIZE) as mapping:
        mapping.madvise(0, mapping.length, memory.MADV_NOHUGEPAGE)
        mapping.fill_pattern(seed)
        status = memory.place_on_node([mapping.page(i) for i in range(pages)], node)
        misplaced = sum(1 for value in status if value != node)
        connection.send(("ready", mapping.addr, misplaced))
        serve(connection, mapping, seed)


def _run_holder(connection: Connection, holder: int, pages: int, node: int) -> None:
    """A forked holder's whole life; it never returns into the zygote's loop."""
    code = 0
    try:
        hold(connection, holder, pages, node)
    except BaseException as error:  # report anything, then leave
        code = 1
        with suppress(Exception):
            connection.send(("error", f"{type(error).__name__}: {error}"))
    finally:
        os._exit(code)


def zygote(bench: Connection) -> None:
    """Fork a holder per ``spawn`` request; on ``exit`` or EOF, reap them all and return."""
    holders: list[int] = []
    try:
        while True:
            try:
                command, *args = bench.recv()
            except EOFError:
                break
            if command != "spawn":
                break
            ours, theirs = socket.socketpair()
            pid = os.fork()
            if pid == 0:
                bench.close()
                ours.close()
                _run_holder(Connection(theirs.detach()), *args)
            theirs.close()
            send_handle(bench, ours.fileno(), os.getppid())
            ours.close()
            bench.send(pid)
            holders.append(pid)
    finally:
        for pid in holders:
            reap(pid, grace_s=10.0)


def main(argv: Sequence[str]) -> int:
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m bench.holder FD (started by bench.workload)", file=sys.stderr)
        return 2
    zygote(Connection(int(argv[0])))
    return 0


if __name__ == "__main__":
    # Run the imported module, not __main__, so pickled Checks name bench.holder.Check.
    from bench import holder

    raise SystemExit(holder.main(sys.argv[1:]))
