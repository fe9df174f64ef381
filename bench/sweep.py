"""Running a plan: for each P a fresh workload, for each K and repeat every method once.

Within one repeat all methods act on the same K pages (drawn afresh for each
repeat), so their times pair up; the order of methods rotates from repeat to
repeat so no method always runs first. Before each method the targets'
current frames are read again (a move changes them); after a moving method
the holders check every target page (node by two probes, and data) and move
it back to the source node, or the sweep stops: a page left on the target
node would make the next method look faster than it is.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from bench import call_cost, clib, workload
from bench.call_cost import CallCost, CallCostError
from bench.measure import MeasureError, Usage, run_in_child
from bench.methods import MOVERS, Job, Verdict
from bench.plan import C_METHODS, MOVING_METHODS, Plan
from bench.results import Measurement
from bench.workload import Target, Workload
from movephys.changes import numa_balancing
from movephys.probes import nodes


class SweepError(RuntimeError):
    """The sweep cannot go on (one line)."""


@dataclass(frozen=True)
class Setup:
    source_node: int
    target_node: int
    syscall_nr: int | None
    seed: int = 6


def choose_nodes() -> tuple[int, int] | str:
    """The first two memory nodes this process may use, or why there are not two."""
    allowed = nodes.allowed_memory_nodes()
    if len(allowed) < 2:
        found = ", ".join(map(str, allowed)) or "none"
        return f"fewer than two memory nodes usable here (found: {found})"
    return allowed[0], allowed[1]


def rotated(methods: Sequence[str], repeat: int) -> list[str]:
    shift = repeat % len(methods)
    return [*methods[shift:], *methods[:shift]]


def drawn_pages(seed: int, processes: int, k: int, repeat: int, total: int) -> list[int]:
    return random.Random(f"{seed}/{processes}/{k}/{repeat}").sample(range(total), k)


def _row(
    method: str, work: Workload, k: int, repeat: int, usage: Usage | None, verdict: Verdict,
    verified: int, note: str,
) -> Measurement:
    nan = math.nan
    return Measurement(
        method=method,
        processes=len(work.holders),
        pages_per_process=work.pages_per_process,
        k=k,
        repeat=repeat,
        wall_s=usage.wall_s if usage else nan,
        cpu_s=usage.cpu_s if usage else nan,
        user_s=usage.user_s if usage else nan,
        sys_s=usage.sys_s if usage else nan,
        peak_rss_kib=usage.peak_rss_kib if usage else 0,
        rss_growth_kib=usage.rss_growth_kib if usage else 0,
        verified=verified,
        calls=verdict.calls,
        processes_scanned=verdict.processes_scanned,
        entries_scanned=verdict.entries_scanned,
        note=note,
    )


def _join(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


def measure_method(
    method: str, work: Workload, setup: Setup, targets: Sequence[Target], repeat: int,
    target_ranges: Sequence[range],
) -> Measurement:
    job = Job(tuple(targets), setup.source_node, setup.target_node, setup.syscall_nr)
    usage: Usage | None = None
    verdict = Verdict(0, 0)
    failure = ""
    try:
        usage, verdict = run_in_child(MOVERS[method](job))
    except MeasureError as error:
        failure = str(error)
    if method not in MOVING_METHODS:
        return _row(method, work, len(targets), repeat, usage, verdict, verdict.good,
                    _join(failure, verdict.note))
    # The holders' word decides, whatever the mover's calls reported.
    check = work.check(targets, setup.target_node, target_ranges)
    note = _join(failure, verdict.note, check.summary)
    if not _returned(work, targets, setup.source_node):
        raise SweepError(
            f"after {method}, some of the {len(targets)} target pages would not go back to "
            f"node {setup.source_node}; later figures would be wrong"
        )
    return _row(method, work, len(targets), repeat, usage, verdict, check.good, note)


def _returned(work: Workload, targets: Sequence[Target], node: int, attempts: int = 3) -> bool:
    """Move the targets back to ``node`` (place_on_node retries within each attempt too)."""
    return any(work.place(targets, node) == 0 for _ in range(attempts))


def _progress_line(processes: int, k: int, repeat: int, rows: Sequence[Measurement]) -> str:
    parts = []
    for row in rows:
        flag = "" if row.ok else " FAILED"
        parts.append(f"{row.method} {row.wall_s:.4g} s{flag}")
    return f"P={processes} K={k} repeat {repeat + 1}: " + ", ".join(parts)


def _need_c_baseline(plan: Plan) -> None:
    """Build the C baseline once, before any mover forks (they inherit it loaded)."""
    if plan.call_repeats or C_METHODS & set(plan.methods):
        reason = clib.unavailable_reason()
        if reason is not None:
            raise SweepError(f"{reason} (--methods without reverse_c,translate_c and "
                             "--call-repeats 0 measure the rest)")


def run_sweep(
    plan: Plan,
    setup: Setup,
    on_row: Callable[[Measurement], None],
    progress: Callable[[str], None],
    on_call: Callable[[CallCost], None] = lambda _: None,
) -> list[Measurement]:
    target_ranges = nodes.node_pfn_ranges(setup.target_node)
    if not target_ranges:
        raise SweepError(f"node {setup.target_node} has no online memory block")
    _need_c_baseline(plan)
    rows: list[Measurement] = []
    # Automatic NUMA balancing would move the holders' pages behind the methods' backs.
    with numa_balancing.disabled():
        for processes in plan.ps:
            rows.extend(_sweep_processes(plan, setup, processes, target_ranges, on_row,
                                         progress, on_call))
    return rows


def _call_costs(plan: Plan, setup: Setup, processes: int, progress: Callable[[str], None],
                on_call: Callable[[CallCost], None]) -> None:
    """The flat per-call cost, probed while the P holders run (bench.call_cost)."""
    try:
        found = call_cost.measure(setup.source_node, setup.target_node, setup.syscall_nr,
                                  processes, plan.call_repeats)
    except (CallCostError, MeasureError) as error:
        raise SweepError(f"the per-call cost probes failed: {error}") from None
    for row in found:
        on_call(row)
    progress(f"P={processes}: one call, median of {plan.call_repeats}: " + ", ".join(
        f"{row.probe} {row.median_us:.4g} µs" for row in found))


def _sweep_processes(
    plan: Plan, setup: Setup, processes: int, target_ranges: Sequence[range],
    on_row: Callable[[Measurement], None], progress: Callable[[str], None],
    on_call: Callable[[CallCost], None],
) -> list[Measurement]:
    pages = plan.pages_per_process(processes)
    progress(f"P={processes}: starting {processes} holder(s) of {pages} pages each "
             f"on node {setup.source_node}")
    rows: list[Measurement] = []
    with workload.started(processes, pages, setup.source_node) as work:
        if plan.call_repeats:
            _call_costs(plan, setup, processes, progress, on_call)
        for k in plan.ks:
            for repeat in range(plan.repeats):
                chosen = drawn_pages(setup.seed, processes, k, repeat, work.total_pages)
                done = []
                for method in rotated(plan.methods, repeat):
                    targets = work.targets(chosen)  # a move changed some frames: read them again
                    row = measure_method(method, work, setup, targets, repeat, target_ranges)
                    on_row(row)
                    done.append(row)
                rows.extend(done)
                progress(_progress_line(processes, k, repeat, done))
    return rows
