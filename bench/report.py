"""Plots and reStructuredText tables from recorded rows, for build/bench and the docs page.

Reads ``measurements.csv`` and ``machine.json`` (and ``suite_time.csv`` when
present) from a results directory; writes ``summary.csv``, the SVG charts
and ``results.inc``, an include for docs/bench.rst whose figures are named
relative to the docs source root (``/bench/NAME.svg``).
"""

from __future__ import annotations

import math
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench import machine as machine_facts
from bench import svg
from bench.plan import COPY, METHODS, PHYS, REVERSE, TRANSLATE
from bench.results import RAW_CSV, SUMMARY_CSV, Measurement, Summary, read_rows, summarize
from bench.results import write_rows as write_csv
from bench.suite_time import SUITE_CSV, SuiteRun

RESULTS_RST = "results.inc"  # not .rst: Sphinx must not take it for a page of its own
HEADLINE_K = 4096
LABELS = {
    PHYS: "(a) move_phys_pages",
    REVERSE: "(b) walk + move_pages",
    TRANSLATE: "(c) walk only",
    COPY: "floor: memcpy",
}


@dataclass(frozen=True)
class Report:
    summaries: tuple[Summary, ...]
    machine: machine_facts.Machine
    suite_runs: tuple[SuiteRun, ...] = ()

    def cell(self, method: str, processes: int, k: int) -> Summary | None:
        for row in self.summaries:
            if (row.method, row.processes, row.k) == (method, processes, k):
                return row
        return None

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


def ratio_vs_k(report: Report) -> svg.Chart:
    series = []
    for style, method in enumerate((REVERSE, TRANSLATE)):
        for colour, processes in enumerate(report.ps):
            points = []
            for k in report.ks:
                row = report.cell(method, processes, k)
                if row is not None and math.isfinite(row.over_phys_median):
                    points.append(svg.Point(k, row.over_phys_median, row.over_phys_low,
                                            row.over_phys_high))
            if points:
                name = "(b)/(a)" if method == REVERSE else "(c)/(a)"
                series.append(svg.Series(f"{name} P={processes}", tuple(points), colour, style))
    return svg.Chart(
        "Time of reverse translation over move_phys_pages (paired repeats)",
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


def headline(report: Report) -> list[str]:
    k, processes = headline_k(report), max(report.ps)
    row = report.cell(REVERSE, processes, k)
    if row is None or not math.isfinite(row.over_phys_median):
        return ["No paired (b)/(a) figure: move_phys_pages was not measured in this run.", ""]
    return [
        f"At K={k} and P={processes}, reverse translation plus move_pages took "
        f"**{row.over_phys_median:.3g} times** as long as one move_phys_pages call "
        f"(paired repeats: {row.over_phys_low:.3g} to {row.over_phys_high:.3g}).",
        "",
    ]


def machine_block(facts: machine_facts.Machine) -> list[str]:
    lines = []
    if facts.emulated:
        lines += [
            ".. note::",
            "",
            "   These figures were measured under QEMU TCG (software emulation of the CPU):",
            "   absolute times are far above hardware; compare methods, not absolute values.",
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


def rst(report: Report, figures: Sequence[str]) -> str:
    lines = [".. Generated by ``python -m bench report``; do not edit.", ""]
    lines += machine_block(report.machine)
    lines += workload_line(report)
    lines += headline(report)
    for name in figures:
        lines += [f".. figure:: /bench/{name}", f"   :alt: {name}", ""]
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
    return from_rows(rows, facts, suite)


def from_rows(
    rows: Sequence[Measurement], facts: machine_facts.Machine,
    suite_runs: Sequence[SuiteRun] = (),
) -> Report:
    return Report(tuple(summarize(rows)), facts, tuple(suite_runs))


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
                       out / SUITE_CSV]:
            if source.exists():
                shutil.copy2(source, docs / source.name)
    return written
