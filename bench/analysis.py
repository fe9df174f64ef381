"""Figures derived from the per-cell summaries: the fair ratio, its range, costs per page.

The fair baseline of a (P, K) cell is whichever reverse translation plus
move_pages, numpy or C, had the smaller median there; its paired ratio to
move_phys_pages is the one quoted. Costs per page come two ways: per cell
((a) minus (d), over K), which small K swamps with the flat per-call cost,
and from a line t = fixed + K x per_page fitted over all K of one P with
relative weights (each point counts by its relative error, so the small-K
points decide the fixed part and the large-K ones the slope).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bench.plan import BASELINES, COPY, KNOWN, PHYS, TRANSLATE, TRANSLATE_C
from bench.results import Summary

Cells = Mapping[tuple[str, int, int], Summary]


def index(summaries: Iterable[Summary]) -> dict[tuple[str, int, int], Summary]:
    return {(row.method, row.processes, row.k): row for row in summaries}


def _finite(row: Summary | None) -> bool:
    return row is not None and math.isfinite(row.wall_median_s)


@dataclass(frozen=True)
class FairRatio:
    processes: int
    k: int
    baseline: str  # the faster of BASELINES in this cell
    median: float  # baseline / phys, paired repeats
    low: float
    high: float


def fair_ratio(cells: Cells, processes: int, k: int) -> FairRatio | None:
    """The faster baseline's paired ratio to (a) in one cell, None without a pair."""
    found = [cells[(name, processes, k)] for name in BASELINES if (name, processes, k) in cells]
    paired = [row for row in found if _finite(row) and math.isfinite(row.over_phys_median)]
    if not paired:
        return None
    best = min(paired, key=lambda row: row.wall_median_s)
    return FairRatio(processes, k, best.method, best.over_phys_median, best.over_phys_low,
                     best.over_phys_high)


def fair_ratios(cells: Cells, ps: Sequence[int], ks: Sequence[int]) -> list[FairRatio]:
    return [ratio for p in ps for k in ks if (ratio := fair_ratio(cells, p, k)) is not None]


@dataclass(frozen=True)
class RatioRange:
    low: FairRatio  # the cell with the smallest median
    high: FairRatio  # the cell with the largest median
    lowest_repeat: float  # the extremes of single paired repeats over those cells
    highest_repeat: float


def ratio_range(ratios: Sequence[FairRatio]) -> RatioRange | None:
    if not ratios:
        return None
    return RatioRange(min(ratios, key=lambda r: r.median), max(ratios, key=lambda r: r.median),
                      min(r.low for r in ratios), max(r.high for r in ratios))


@dataclass(frozen=True)
class WalkSpeed:
    """The numpy walk's time over the C walk's in one cell (translation alone)."""

    processes: int
    k: int
    numpy_s: float
    c_s: float

    @property
    def speedup(self) -> float:
        return self.numpy_s / self.c_s if self.c_s > 0 else math.inf


def walk_speeds(cells: Cells, ps: Sequence[int], ks: Sequence[int]) -> list[WalkSpeed]:
    found = []
    for p in ps:
        for k in ks:
            numpy_row, c_row = cells.get((TRANSLATE, p, k)), cells.get((TRANSLATE_C, p, k))
            if numpy_row and c_row and _finite(numpy_row) and _finite(c_row):
                found.append(WalkSpeed(p, k, numpy_row.wall_median_s, c_row.wall_median_s))
    return found


@dataclass(frozen=True)
class PageCost:
    """One cell's medians per page (seconds): (a), (d), the floor, and (a) over each."""

    processes: int
    k: int
    phys_s: float
    known_s: float
    copy_s: float

    @property
    def over_known_s(self) -> float:
        return self.phys_s - self.known_s

    @property
    def over_copy_s(self) -> float:
        return self.phys_s - self.copy_s


def page_cost(cells: Cells, processes: int, k: int) -> PageCost | None:
    rows = [cells.get((name, processes, k)) for name in (PHYS, KNOWN, COPY)]
    if not all(_finite(row) for row in rows):
        return None
    phys, known, floor = (row.wall_median_s / k for row in rows if row is not None)
    return PageCost(processes, k, phys, known, floor)


def page_costs(cells: Cells, ps: Sequence[int], ks: Sequence[int]) -> list[PageCost]:
    return [cost for p in ps for k in ks if (cost := page_cost(cells, p, k)) is not None]


@dataclass(frozen=True)
class LineFit:
    """t = fixed_s + K x per_page_s for one method at one P."""

    method: str
    processes: int
    fixed_s: float
    per_page_s: float


def fit_line(points: Sequence[tuple[int, float]]) -> tuple[float, float] | None:
    """(fixed, per page) minimising the relative error; None below two distinct K."""
    usable = [(float(k), t) for k, t in points if t > 0 and math.isfinite(t)]
    if len({k for k, _ in usable}) < 2:
        return None
    weights = [1 / t**2 for _, t in usable]
    s = sum(weights)
    sk = sum(w * k for w, (k, _) in zip(weights, usable, strict=True))
    skk = sum(w * k * k for w, (k, _) in zip(weights, usable, strict=True))
    st = sum(w * t for w, (_, t) in zip(weights, usable, strict=True))
    skt = sum(w * k * t for w, (k, t) in zip(weights, usable, strict=True))
    det = s * skk - sk * sk
    if det == 0:
        return None
    return (st * skk - sk * skt) / det, (s * skt - sk * st) / det


def line_fits(cells: Cells, methods: Sequence[str], ps: Sequence[int],
              ks: Sequence[int]) -> list[LineFit]:
    fits = []
    for method in methods:
        for p in ps:
            points = [(k, row.wall_median_s) for k in ks
                      if (row := cells.get((method, p, k))) is not None]
            fitted = fit_line(points)
            if fitted is not None:
                fits.append(LineFit(method, p, *fitted))
    return fits
