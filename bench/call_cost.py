"""The flat cost of one call, apart from the pages it moves (issue 12).

Under TCG a move_phys_pages call of one page took 30-120 ms. The suspect is
what do_pages_move() does before it looks at any page: lru_cache_disable(),
which in 6.12 runs synchronize_rcu_expedited() and then
__lru_add_drain_all(true) on every call, i.e. IPIs to every CPU and a work
item queued on each online CPU that must be waited for. move_pages and
move_phys_pages share do_pages_move(), so both pay it; their query mode
(nodes NULL, do_pages_stat()) does not.

So each probe times single calls on one page of the mover's own, every call
on its own clock (bench/revtrans.c: rt_time_probe), and the differences
name the parts:

``query``      move_pages, nodes NULL: syscall entry, mm lookup, no drain;
``same_node``  move_pages MOVE to the node the page is already on:
               do_pages_move() with its lru_cache_disable(), nothing migrates;
``one_page``   MOVE to the other node and back, alternately: the drain plus
               the migration of one page;
``phys_*``     the same three through move_phys_pages (only with a confirmed
               number).

same_node minus query is the drain; one_page minus same_node is one page's
migration. The rows go to call_cost.csv, one per probe and P.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from bench import clib
from bench.measure import Mover, run_in_child
from movephys import arch, memory
from movephys.syscall import native

CALL_CSV = "call_cost.csv"
QUERY = "query"
SAME_NODE = "same_node"
ONE_PAGE = "one_page"
PHYS_PREFIX = "phys_"
PROBES: tuple[str, ...] = (QUERY, SAME_NODE, ONE_PAGE)


class CallCostError(RuntimeError):
    """A probe could not run (one line)."""


@dataclass(frozen=True)
class Probe:
    name: str
    phys: bool
    query: bool
    node_a: int  # where the page is when the probe starts
    node_b: int  # where the odd calls send it (node_a: nowhere)


@dataclass(frozen=True)
class CallCost:
    """Single calls of one probe, timed one by one, while P holders ran (a row of call_cost.csv)."""

    probe: str
    processes: int
    calls: int
    unexpected: int  # calls that failed or left the page elsewhere than asked
    median_us: float
    p10_us: float
    p90_us: float
    min_us: float
    max_us: float


def probes(source: int, target: int, phys_nr: int | None) -> list[Probe]:
    """The probes this machine allows: one_page needs two nodes, phys_* a confirmed number."""
    chosen = []
    for phys in (False, True):
        if phys and phys_nr is None:
            continue
        prefix = PHYS_PREFIX if phys else ""
        chosen.append(Probe(prefix + QUERY, phys, True, source, source))
        chosen.append(Probe(prefix + SAME_NODE, phys, False, source, source))
        if source != target:
            chosen.append(Probe(prefix + ONE_PAGE, phys, False, source, target))
    return chosen


def summary(name: str, processes: int, ns: Sequence[int], unexpected: int) -> CallCost:
    micro = sorted(value / 1000 for value in ns)
    deciles = statistics.quantiles(micro, n=10) if len(micro) > 1 else micro * 9
    return CallCost(name, processes, len(micro), unexpected, statistics.median(micro),
                    deciles[0], deciles[-1], micro[0], micro[-1])


def _time_probe(probe: Probe, nr: int, vaddr: int, repeats: int) -> tuple[list[int], int]:
    lib = clib.load()
    c_probe = clib.ffi.new("struct rt_probe *", {
        "nr": nr, "phys": int(probe.phys), "query": int(probe.query), "node_a": probe.node_a,
        "node_b": probe.node_b, "flags": 0 if probe.query else native.MPOL_MF_MOVE,
        "vaddr": vaddr,
    })
    ns = clib.ffi.new("uint64_t[]", repeats)
    unexpected = clib.ffi.new("long *")
    ret = lib.rt_time_probe(clib.config(), c_probe, repeats, ns, unexpected)
    if ret < 0:
        raise CallCostError(f"probe {probe.name} could not run (error {-ret})")
    return [int(ns[index]) for index in range(repeats)], int(unexpected[0])


def _mover(chosen: Sequence[Probe], phys_nr: int | None, repeats: int) -> Mover:
    def prepare() -> tuple[ExitStack, memory.Mapping]:
        stack = ExitStack()
        page = stack.enter_context(memory.anonymous(arch.PAGE_SIZE))
        page.madvise(0, page.length, memory.MADV_NOHUGEPAGE)
        page.write(0, b"\x5a" * arch.PAGE_SIZE)
        return stack, page

    def work(state: tuple[ExitStack, memory.Mapping]) -> list[tuple[str, list[int], int]]:
        _, page = state
        timed = []
        for probe in chosen:
            # Every probe starts with the page on node_a, whatever the last one left.
            if memory.place_on_node([page.addr], probe.node_a) != (probe.node_a,):
                raise CallCostError(f"the probe page would not go to node {probe.node_a}")
            nr = phys_nr if probe.phys and phys_nr is not None else arch.host().move_pages_nr
            timed.append((probe.name, *_time_probe(probe, nr, page.addr, repeats)))
        return timed

    def check(state: tuple[ExitStack, memory.Mapping], timed: Any) -> Any:
        state[0].close()
        return timed

    return Mover(prepare, work, check)


def measure(source: int, target: int, phys_nr: int | None, processes: int,
            repeats: int) -> list[CallCost]:
    """Every probe ``repeats`` times in a forked mover; one row per probe."""
    chosen = probes(source, target, phys_nr)
    _, timed = run_in_child(_mover(chosen, phys_nr, repeats))
    return [summary(name, processes, ns, unexpected) for name, ns, unexpected in timed]


@dataclass(frozen=True)
class Split:
    """The flat cost of a one-page move taken apart (medians, µs)."""

    prefix: str  # "" for move_pages, "phys_" for move_phys_pages
    query_us: float
    drain_us: float  # same_node - query: do_pages_move's set-up, lru_cache_disable() above all
    migrate_us: float | None  # one_page - same_node: moving the page itself

    @property
    def drain_share(self) -> float | None:
        """The drain's part of a one-page move, 0..1."""
        if self.migrate_us is None:
            return None
        total = self.query_us + self.drain_us + self.migrate_us
        return self.drain_us / total if total > 0 else None


def split(rows: Sequence[CallCost], prefix: str = "") -> Split | None:
    """The parts for one syscall, from the rows of one P (None without query and same_node)."""
    medians = {row.probe: row.median_us for row in rows}
    query, same = medians.get(prefix + QUERY), medians.get(prefix + SAME_NODE)
    if query is None or same is None:
        return None
    one = medians.get(prefix + ONE_PAGE)
    return Split(prefix, query, same - query, None if one is None else one - same)
