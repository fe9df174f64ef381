"""Plots and reStructuredText tables from recorded rows, for build/bench and the docs page.

Reads ``measurements.csv`` and ``machine.json`` (and ``suite_time.csv``,
``call_cost.csv`` and ``vm.json`` when present) from a results directory;
writes ``summary.csv``, the SVG charts and ``results.inc``, an include for
docs/bench.rst whose figures are named relative to the docs source root
(``/bench/NAME.svg``). The include leads with the range of the fair ratio
(:mod:`bench.analysis`), not with one cell.
"""

from __future__ import annotations

import functools
import math
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import analysis, call_cost, svg
from bench import machine as machine_facts
from bench.call_cost import CALL_CSV, CallCost
from bench.machine import VM_JSON, AccelChoice, load_choice
from bench.plan import (
    COPY,
    KNOWN,
    METHODS,
    PHYS,
    REVERSE,
    REVERSE_C,
    TRANSLATE,
    TRANSLATE_C,
)
from bench.results import RAW_CSV, SUMMARY_CSV, Measurement, Summary, read_rows, summarize
from bench.results import write_rows as write_csv
from bench.suite_time import SUITE_CSV, SuiteRun

RESULTS_RST = "results.inc"  # not .rst: Sphinx must not take it for a page of its own
HEADLINE_K = 4096
LABELS = {
    PHYS: "(a) move_phys_pages",
    KNOWN: "(d) move_pages, addresses known",
    REVERSE: "(b) numpy walk + move_pages",
    REVERSE_C: "(b) C walk + move_pages",
    TRANSLATE: "(c) numpy walk only",
    TRANSLATE_C: "(c) C walk only",
    COPY: "floor: memcpy",
}
# A one-page move whose time is at least this share drain is called drain-bound;
# within EVEN_SPLIT_MARGIN of it neither part is "most" of the move.
DRAIN_BOUND_SHARE = 0.5
EVEN_SPLIT_MARGIN = 0.1


@dataclass(frozen=True)
class Report:
    summaries: tuple[Summary, ...]
    machine: machine_facts.Machine
    suite_runs: tuple[SuiteRun, ...] = ()
    calls: tuple[CallCost, ...] = ()
    accel: AccelChoice | None = None  # how `bench vm` chose TCG or KVM; None: not recorded

    @functools.cached_property
    def cells(self) -> dict[tuple[str, int, int], Summary]:
        return analysis.index(self.summaries)

    def cell(self, method: str, processes: int, k: int) -> Summary | None:
        return self.cells.get((method, processes, k))

    @property
    def ks(self) -> list[int]:
        return sorted({row.k for row in self.summaries})

    @property
    def ps(self) -> list[int]:
        return sorted({row.processes for row in self.summaries})

    @property
    def methods(self) -> list[str]:
        present = {row.method for row in self.summaries}
        return [name for name in METHODS if name in present]


def machine_label(machine: machine_facts.Machine) -> str:
    return f"Linux {machine.kernel_release}, {machine.accel}, {machine.cpus} CPU(s)"


def headline_k(report: Report) -> int:
    """K=4096 when measured, else the largest K measured."""
    return HEADLINE_K if HEADLINE_K in report.ks else max(report.ks)


def _point(row: Summary | None, x: float) -> svg.Point | None:
    if row is None or not math.isfinite(row.wall_median_s):
        return None
    return svg.Point(x, row.wall_median_s, row.wall_low_s, row.wall_high_s)


def time_vs_k(report: Report, processes: int) -> svg.Chart:
    series = []
    for method in report.methods:
        points = [_point(report.cell(method, processes, k), k) for k in report.ks]
        series.append(svg.Series(LABELS[method], tuple(p for p in points if p)))
    return svg.Chart(
        f"Wall time to act on K pages held by {processes} process(es)",
        "K (target pages)", "seconds (median, bar = min..max)", tuple(series),
        machine_label(report.machine),
    )


def time_vs_p(report: Report, k: int) -> svg.Chart:
    series = []
    for method in report.methods:
        points = [_point(report.cell(method, processes, k), processes) for processes in report.ps]
        series.append(svg.Series(LABELS[method], tuple(p for p in points if p)))
    return svg.Chart(
        f"Wall time for K={k} pages against the number of processes P",
        "P (processes holding the pages)", "seconds (median, bar = min..max)", tuple(series),
        machine_label(report.machine),
    )


def _ratio_points(report: Report, method: str, processes: int) -> tuple[svg.Point, ...]:
    points = []
    for k in report.ks:
        row = report.cell(method, processes, k)
        if row is not None and math.isfinite(row.over_phys_median):
            points.append(svg.Point(k, row.over_phys_median, row.over_phys_low,
                                    row.over_phys_high))
    return tuple(points)


def ratio_vs_k(report: Report) -> svg.Chart:
    series = []
    for colour, processes in enumerate(report.ps):
        fair = analysis.fair_ratios(report.cells, [processes], report.ks)
        series.append(svg.Series(
            f"fair (b)/(a) P={processes}",
            tuple(svg.Point(r.k, r.median, r.low, r.high) for r in fair), colour, 0))
        for style, (method, name) in enumerate(((REVERSE, "numpy (b)/(a)"),
                                                (KNOWN, "(d)/(a)")), start=1):
            points = _ratio_points(report, method, processes)
            if points:
                series.append(svg.Series(f"{name} P={processes}", points, colour, style))
    return svg.Chart(
        "Time over move_phys_pages' (paired repeats; fair = faster baseline)",
        "K (target pages)", "ratio (median, bar = min..max)", tuple(series),
        machine_label(report.machine),
    )


def rss_vs_k(report: Report, processes: int) -> svg.Chart:
    series = []
    for method in report.methods:
        points = []
        for k in report.ks:
            row = report.cell(method, processes, k)
            if row is not None:
                points.append(svg.Point(k, row.rss_growth_median_kib / 1024))
        series.append(svg.Series(LABELS[method], tuple(points)))
    return svg.Chart(
        f"Peak RSS growth of the mover, P={processes} (0 is not drawn)",
        "K (target pages)", "MiB above the mover's RSS at start", tuple(series),
        machine_label(report.machine),
    )


def charts(report: Report) -> dict[str, svg.Chart]:
    found = {f"time_vs_k_p{p}.svg": time_vs_k(report, p) for p in report.ps}
    k = headline_k(report)
    found[f"time_vs_p_k{k}.svg"] = time_vs_p(report, k)
    if PHYS in report.methods:
        found["ratio_vs_k.svg"] = ratio_vs_k(report)
    found[f"rss_vs_k_p{max(report.ps)}.svg"] = rss_vs_k(report, max(report.ps))
    return found


# ----------------------------------------------------------------------- rst

def seconds_text(value: float) -> str:
    if not math.isfinite(value):
        return "--"
    if value < 1e-3:
        return f"{value * 1e6:.3g} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


def _timing(row: Summary | None) -> str:
    if row is None:
        return ""
    text = f"{seconds_text(row.wall_median_s)} ({seconds_text(row.wall_low_s)}.." \
           f"{seconds_text(row.wall_high_s)})"
    return text + (f" **{row.failed} failed**" if row.failed else "")


def _ratio(row: Summary | None) -> str:
    if row is None or not math.isfinite(row.over_phys_median):
        return "--"
    return f"{row.over_phys_median:.3g} ({row.over_phys_low:.3g}..{row.over_phys_high:.3g})"


# What docutils reads as the start of a list item: an enumerator ("(a)", "b)",
# "3.", "#.") or a bullet, followed by a space or the end of the text.
_LIST_START = re.compile(r"(\(?[0-9A-Za-z#]+\)|[0-9A-Za-z#]+\.|[-+*])(\s|$)")


def cell_text(text: str) -> str:
    """``text`` as a table cell shows it: a leading "(a) " escaped, not made a lettered list."""
    return "\\" + text if _LIST_START.match(text) else text


def list_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = [f".. list-table:: {title}", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        first, *rest = (cell_text(cell) for cell in row)
        lines.append(f"   * - {first}")
        lines.extend(f"     - {cell}" for cell in rest)
    return [*lines, ""]


def wall_table(report: Report) -> list[str]:
    header = ["P", "K", *(LABELS[m] for m in report.methods)]
    if PHYS in report.methods and REVERSE in report.methods:
        header.append("(b)/(a)")
    rows = []
    for processes in report.ps:
        for k in report.ks:
            cells = [str(processes), str(k)]
            cells += [_timing(report.cell(method, processes, k)) for method in report.methods]
            if len(header) > len(cells):
                cells.append(_ratio(report.cell(REVERSE, processes, k)))
            rows.append(cells)
    return list_table("Wall time, median (min..max) of the repeats", header, rows)


def cost_table(report: Report, processes: int) -> list[str]:
    header = ["method", "K", "CPU s", "pages/s", "peak RSS MiB", "RSS growth MiB",
              "pagemap entries read"]
    rows = []
    for method in report.methods:
        for k in report.ks:
            row = report.cell(method, processes, k)
            if row is None:
                continue
            rows.append([
                LABELS[method], str(k), f"{row.cpu_median_s:.3g}", f"{row.pages_per_s:.3g}",
                f"{row.peak_rss_median_kib / 1024:.1f}", f"{row.rss_growth_median_kib / 1024:.1f}",
                f"{row.entries_scanned_median:.0f}" if row.entries_scanned_median else "--",
            ])
    return list_table(f"Cost per method at P={processes} (medians)", header, rows)


def suite_table(runs: Sequence[SuiteRun]) -> list[str]:
    rows = [[run.mode, f"{run.wall_s:.1f}", str(run.exit_code), run.outcome] for run in runs]
    return list_table(
        "The conformance suite's own run time (same VM, interpreter start included)",
        ["pytest", "wall s", "exit", "outcome"], rows,
    )


def workload_line(report: Report) -> list[str]:
    total = max(report.ks)
    return [
        f"The P processes held {total} pages between them ({total}/P each, on node 0); "
        f"K ran over {', '.join(map(str, report.ks))} and P over "
        f"{', '.join(map(str, report.ps))}, each cell repeated "
        f"{max(row.n for row in report.summaries)} times.",
        "",
    ]


def _where(ratio: analysis.FairRatio) -> str:
    return f"K={ratio.k}, P={ratio.processes}"


def headline(report: Report) -> list[str]:
    """The fair ratio's range over every cell, then per P, then the K=4096 point."""
    ratios = analysis.fair_ratios(report.cells, report.ps, report.ks)
    found = analysis.ratio_range(ratios)
    if found is None:
        return ["No paired (b)/(a) figure: move_phys_pages was not measured in this run.", ""]
    both = REVERSE in report.methods and REVERSE_C in report.methods
    baseline = ("with the faster of the numpy and C baselines in each cell" if both else
                f"with the only baseline measured in this run ({LABELS[found.low.baseline]})")
    lines = [
        f"Over every K and P measured, reverse translation plus move_pages, {baseline}, "
        f"took **{found.low.median:.3g} to "
        f"{found.high.median:.3g} times** as long as one move_phys_pages call (medians of "
        f"paired repeats: {found.low.median:.3g} at {_where(found.low)}, "
        f"{found.high.median:.3g} at {_where(found.high)}; single repeats "
        f"{found.lowest_repeat:.3g} to {found.highest_repeat:.3g}).",
        "",
    ]
    for processes in report.ps:
        per_p = analysis.ratio_range([r for r in ratios if r.processes == processes])
        if per_p is not None:
            lines.append(f"* P={processes}: {per_p.low.median:.3g} (K={per_p.low.k}) to "
                         f"{per_p.high.median:.3g} (K={per_p.high.k})")
    lines.append("")
    point = analysis.fair_ratio(report.cells, max(report.ps), headline_k(report))
    if point is not None:
        lines += [
            f"At K={point.k} and P={point.processes} the fair ratio is {point.median:.3g} "
            f"({LABELS[point.baseline]} was the faster baseline; paired repeats "
            f"{point.low:.3g} to {point.high:.3g}).",
            "",
        ]
    return lines


def machine_block(facts: machine_facts.Machine) -> list[str]:
    lines = []
    if facts.emulated:
        lines += [
            ".. note::",
            "",
            "   These figures were measured under QEMU TCG (software emulation of the CPU).",
            "   Absolute times, and the flat cost of each call, do not carry over to hardware;",
            "   ratios of work per page done inside the same kernel are expected to, roughly",
            "   (see the page above the results).",
            "",
        ]
    node_text = ", ".join(f"node {n}: {mib} MiB" for n, mib in facts.node_memory_mib.items())
    lines += [
        f":Kernel: ``{facts.kernel_release}`` ``{facts.kernel_version}``",
        f":Execution: {facts.accel}",
        f":CPU: {facts.cpu_model}, {facts.cpus} CPU(s)",
        f":Memory nodes: {node_text or 'unknown'}",
        f":move_phys_pages: {facts.syscall}",
        f":Python: {facts.python}",
        f":Measured: {facts.date}",
        "",
    ]
    return lines


def kvm_lines(report: Report) -> list[str]:
    """Whether these are KVM's figures, and if not why not and how to get them."""
    if report.accel is None:
        return ["How the execution mode was chosen is not recorded (the sweep was not run by "
                "``python -m bench vm``).", ""]
    if report.accel.used == "kvm":
        return ["Measured under KVM: the runner's bounded test boot under KVM worked.", ""]
    return [f"Not measured under KVM: {report.accel.kvm}. Where KVM works, "
            "``python -m bench vm --vm-accel kvm`` runs the same sweep under it.", ""]


def fair_table(report: Report) -> list[str]:
    header = ["P", "K", "numpy (b)/(a)", "C (b)/(a)", "fair (b)/(a)", "faster baseline"]
    rows = []
    for ratio in analysis.fair_ratios(report.cells, report.ps, report.ks):
        rows.append([str(ratio.processes), str(ratio.k),
                     _ratio(report.cell(REVERSE, ratio.processes, ratio.k)),
                     _ratio(report.cell(REVERSE_C, ratio.processes, ratio.k)),
                     f"{ratio.median:.3g} ({ratio.low:.3g}..{ratio.high:.3g})",
                     "C" if ratio.baseline == REVERSE_C else "numpy"])
    if not rows:
        return []
    return list_table("Reverse translation + move_pages over move_phys_pages, paired "
                      "median (min..max)", header, rows)


def walk_table(report: Report) -> list[str]:
    speeds = analysis.walk_speeds(report.cells, report.ps, report.ks)
    rows = [[str(s.processes), str(s.k), seconds_text(s.numpy_s), seconds_text(s.c_s),
             f"{s.speedup:.3g}"] for s in speeds]
    if not rows:
        return []
    return list_table("The walk alone, numpy against C (medians)",
                      ["P", "K", "numpy walk", "C walk", "numpy / C"], rows)


def per_page_text(seconds: float) -> str:
    """A per-page cost in µs, signed: (a) can be cheaper than (d) within the noise."""
    return f"{seconds * 1e6:.3g} µs" if math.isfinite(seconds) else "--"


def page_cost_table(report: Report) -> list[str]:
    header = ["P", "K", "(a) per page", "(d) per page", "floor per page", "(a) - (d)",
              "(a) - floor", "(a)/(d)"]
    rows = []
    for cost in analysis.page_costs(report.cells, report.ps, report.ks):
        rows.append([str(cost.processes), str(cost.k), per_page_text(cost.phys_s),
                     per_page_text(cost.known_s), per_page_text(cost.copy_s),
                     per_page_text(cost.over_known_s), per_page_text(cost.over_copy_s),
                     f"{cost.phys_s / cost.known_s:.3g}" if cost.known_s > 0 else "--"])
    if not rows:
        return []
    return list_table("The kernel's cost per page: move_phys_pages (a) against move_pages "
                      "with known addresses (d) and the copy floor (medians / K)", header, rows)


def fit_table(report: Report) -> list[str]:
    fits = analysis.line_fits(report.cells, [m for m in (PHYS, KNOWN, COPY)
                                             if m in report.methods], report.ps, report.ks)
    rows = [[LABELS[f.method], str(f.processes), seconds_text(f.fixed_s),
             per_page_text(f.per_page_s)] for f in fits]
    if not rows:
        return []
    return list_table("Time = fixed + K x per page, fitted over all K (relative weights)",
                      ["method", "P", "fixed per call", "per page"], rows)


def call_table(calls: Sequence[CallCost]) -> list[str]:
    rows = [[str(row.processes), row.probe, str(row.calls), seconds_text(row.median_us / 1e6),
             f"{seconds_text(row.p10_us / 1e6)}..{seconds_text(row.p90_us / 1e6)}",
             seconds_text(row.min_us / 1e6), str(row.unexpected)] for row in calls]
    return list_table("One call on one page, timed call by call (bench.call_cost)",
                      ["P", "probe", "calls", "median", "10..90 %", "min", "unexpected"], rows)


def _split_line(name: str, part: call_cost.Split) -> str:
    text = (f"{name}: a query takes {seconds_text(part.query_us / 1e6)}; a MOVE to the "
            f"page's own node, which migrates nothing, "
            f"{seconds_text((part.query_us + part.drain_us) / 1e6)}, so "
            f"lru_cache_disable() and the rest of do_pages_move()'s set-up cost "
            f"{seconds_text(part.drain_us / 1e6)}")
    if part.migrate_us is None or part.drain_share is None:
        return text + "."
    if abs(part.drain_share - DRAIN_BOUND_SHARE) < EVEN_SPLIT_MARGIN:
        verdict = "set-up and migration take about half each"
    elif part.drain_share >= DRAIN_BOUND_SHARE:
        verdict = "most of a one-page move is that set-up, not the migration"
    else:
        verdict = "the migration itself, not the set-up, is most of a one-page move"
    return (text + f"; migrating the page adds {seconds_text(part.migrate_us / 1e6)}. "
            f"The set-up is {part.drain_share:.0%} of a one-page move: {verdict}.")


def call_cost_lines(report: Report) -> list[str]:
    """What the flat cost per call is, from the probes of the largest P."""
    if not report.calls:
        return ["The per-call cost was not probed in this run (``--call-repeats 0``).", ""]
    processes = max(row.processes for row in report.calls)
    rows = [row for row in report.calls if row.processes == processes]
    lines = []
    for prefix, name in (("", "move_pages"), (call_cost.PHYS_PREFIX, "move_phys_pages")):
        part = call_cost.split(rows, prefix)
        if part is not None:
            lines += [f"* {_split_line(name, part)}"]
    return [f"Medians at P={processes}:", "", *lines, "", *call_table(report.calls)]


def rst(report: Report, figures: Sequence[str]) -> str:
    lines = [".. Generated by ``python -m bench report``; do not edit.", ""]
    lines += headline(report)
    lines += machine_block(report.machine)
    lines += kvm_lines(report)
    lines += workload_line(report)
    for name in figures:
        lines += [f".. figure:: /bench/{name}", f"   :alt: {name}", ""]
    lines += fair_table(report)
    lines += walk_table(report)
    lines += page_cost_table(report)
    lines += fit_table(report)
    lines += call_cost_lines(report)
    lines += wall_table(report)
    lines += cost_table(report, max(report.ps))
    if report.suite_runs:
        lines += suite_table(report.suite_runs)
    return "\n".join(lines)


def load(directory: Path) -> Report:
    rows: list[Measurement] = read_rows(directory / RAW_CSV, Measurement)
    if not rows:
        raise ValueError(f"{directory / RAW_CSV} has no measurements")
    facts = machine_facts.load(directory / machine_facts.MACHINE_JSON)
    suite_path = directory / SUITE_CSV
    suite = read_rows(suite_path, SuiteRun) if suite_path.exists() else []
    calls_path = directory / CALL_CSV
    calls = read_rows(calls_path, CallCost) if calls_path.exists() else []
    return from_rows(rows, facts, suite, calls, load_choice(directory / VM_JSON))


def from_rows(
    rows: Sequence[Measurement], facts: machine_facts.Machine,
    suite_runs: Sequence[SuiteRun] = (), calls: Sequence[CallCost] = (),
    accel: AccelChoice | None = None,
) -> Report:
    return Report(tuple(summarize(rows)), facts, tuple(suite_runs), tuple(calls), accel)


def write(report: Report, out: Path, docs: Path | None = None) -> list[Path]:
    """summary.csv, the charts and results.inc into ``out`` (and copies into ``docs``)."""
    out.mkdir(parents=True, exist_ok=True)
    written = [write_csv(out / SUMMARY_CSV, list(report.summaries))]
    found = charts(report)
    for name, chart in found.items():
        path = out / name
        path.write_text(svg.render(chart))
        written.append(path)
    path = out / RESULTS_RST
    path.write_text(rst(report, list(found)))
    written.append(path)
    if docs is not None:
        docs.mkdir(parents=True, exist_ok=True)
        for source in [*written, out / RAW_CSV, out / machine_facts.MACHINE_JSON,
                       out / SUITE_CSV, out / CALL_CSV, out / VM_JSON]:
            if source.exists():
                shutil.copy2(source, docs / source.name)
    return written
