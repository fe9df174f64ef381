"""Rows of a sweep and their CSV files: one raw row per measurement, one summary per cell.

Every ratio is paired: within one repeat of one (P, K) cell, a method's wall
time is divided by move_phys_pages' wall time from that same repeat, and the
summary gives the median and extremes of those quotients.
"""

from __future__ import annotations

import csv
import dataclasses
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from bench.plan import METHODS, PHYS
from bench.stats import rate, spread

RAW_CSV = "measurements.csv"
SUMMARY_CSV = "summary.csv"


class ResultsError(ValueError):
    """A results file is missing or malformed (one line)."""


@dataclass(frozen=True)
class Measurement:
    """One method run once on one (P, K) cell, verified."""

    method: str
    processes: int  # P
    pages_per_process: int  # M
    k: int  # target pages
    repeat: int
    wall_s: float
    cpu_s: float  # user + system of the mover
    user_s: float
    sys_s: float
    peak_rss_kib: int  # VmHWM of the mover, reset just before the method ran
    rss_growth_kib: int  # VmHWM minus VmRSS at the start
    verified: int  # pages (or translations, or copied pages) found right afterwards
    calls: int  # move syscalls issued (1 for phys, one per owner for reverse)
    processes_scanned: int  # pagemap walk only
    entries_scanned: int  # pagemap entries read by the walk
    note: str = ""  # what went wrong, "" when every page checked out

    @property
    def ok(self) -> bool:
        return self.verified == self.k and not self.note


@dataclass(frozen=True)
class Summary:
    """Median and extremes of one method on one (P, K) cell."""

    method: str
    processes: int
    k: int
    n: int
    failed: int
    wall_median_s: float
    wall_low_s: float
    wall_high_s: float
    cpu_median_s: float
    peak_rss_median_kib: float
    rss_growth_median_kib: float
    pages_per_s: float
    entries_scanned_median: float
    over_phys_median: float  # paired wall-time ratio to phys; nan without phys
    over_phys_low: float
    over_phys_high: float


Row = TypeVar("Row")
_CONVERT: dict[str, Any] = {"int": int, "float": float, "str": str}


def write_rows(path: Path, rows: Sequence[Any]) -> Path:
    if not rows:
        raise ResultsError(f"no rows to write to {path}")
    names = [field.name for field in dataclasses.fields(rows[0])]
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(_formatted(dataclasses.asdict(row)))
    partial.replace(path)  # whoever watches the file never sees it half written
    return path


def _formatted(values: dict[str, Any]) -> dict[str, Any]:
    return {
        name: f"{value:.6g}" if isinstance(value, float) else value
        for name, value in values.items()
    }


def read_rows(path: Path, kind: type[Row]) -> list[Row]:
    """Rows of ``kind`` from a CSV written by :func:`write_rows`."""
    try:
        with path.open(newline="") as stream:
            records = list(csv.DictReader(stream))
    except OSError as error:
        raise ResultsError(f"{path}: {error.strerror}") from None
    fields = dataclasses.fields(kind)  # type: ignore[arg-type]
    rows: list[Row] = []
    for line, record in enumerate(records, start=2):
        try:
            values = {f.name: _CONVERT[str(f.type)](record[f.name]) for f in fields}
        except (KeyError, TypeError, ValueError) as error:
            raise ResultsError(f"{path}:{line}: not a {kind.__name__} row ({error})") from None
        rows.append(kind(**values))
    return rows


def summarize(measurements: Iterable[Measurement]) -> list[Summary]:
    """One summary per (method, P, K), in METHODS order then P then K."""
    cells: dict[tuple[str, int, int], list[Measurement]] = defaultdict(list)
    for row in measurements:
        cells[(row.method, row.processes, row.k)].append(row)
    phys_wall = {
        (row.processes, row.k, row.repeat): row.wall_s
        for row in cells_rows(cells, PHYS)
        if row.ok
    }
    order = {name: index for index, name in enumerate(METHODS)}
    summaries = []
    for (method, processes, k), rows in sorted(
        cells.items(), key=lambda item: (order.get(item[0][0], 99), item[0][1], item[0][2])
    ):
        good = [row for row in rows if row.ok] or rows
        wall = spread([row.wall_s for row in good])
        ratios = [
            row.wall_s / phys_wall[(processes, k, row.repeat)]
            for row in good
            if phys_wall.get((processes, k, row.repeat), 0) > 0
        ]
        ratio = spread(ratios) if ratios else None
        nan = float("nan")
        summaries.append(Summary(
            method=method,
            processes=processes,
            k=k,
            n=len(rows),
            failed=sum(1 for row in rows if not row.ok),
            wall_median_s=wall.median,
            wall_low_s=wall.low,
            wall_high_s=wall.high,
            cpu_median_s=spread([row.cpu_s for row in good]).median,
            peak_rss_median_kib=spread([row.peak_rss_kib for row in good]).median,
            rss_growth_median_kib=spread([row.rss_growth_kib for row in good]).median,
            pages_per_s=rate(k, wall.median),
            entries_scanned_median=spread([row.entries_scanned for row in good]).median,
            over_phys_median=ratio.median if ratio else nan,
            over_phys_low=ratio.low if ratio else nan,
            over_phys_high=ratio.high if ratio else nan,
        ))
    return summaries


def cells_rows(
    cells: dict[tuple[str, int, int], list[Measurement]], method: str
) -> Iterable[Measurement]:
    for (name, _, _), rows in cells.items():
        if name == method:
            yield from rows
