"""The fair ratio, its range, the walk speed-up, costs per page and the line fit."""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from bench import analysis
from bench.results import Summary

CELL = Summary(method="phys", processes=1, k=1, n=3, failed=0, wall_median_s=1.0,
               wall_low_s=1.0, wall_high_s=1.0, cpu_median_s=1.0, peak_rss_median_kib=0,
               rss_growth_median_kib=0, pages_per_s=1.0, entries_scanned_median=0,
               over_phys_median=1.0, over_phys_low=1.0, over_phys_high=1.0)


def cell(method: str, processes: int, k: int, wall: float, ratio: float = math.nan) -> Summary:
    return replace(CELL, method=method, processes=processes, k=k, wall_median_s=wall,
                   over_phys_median=ratio, over_phys_low=ratio * 0.9, over_phys_high=ratio * 1.1)


def test_fair_ratio_takes_the_faster_baseline_per_cell() -> None:
    cells = analysis.index([
        cell("reverse", 1, 1, 2.0, 20.0), cell("reverse_c", 1, 1, 0.5, 5.0),
        cell("reverse", 1, 4, 2.0, 4.0), cell("reverse_c", 1, 4, 3.0, 6.0),
    ])
    fair = analysis.fair_ratios(cells, [1], [1, 4, 16])
    assert [(r.k, r.baseline, r.median) for r in fair] == [(1, "reverse_c", 5.0),
                                                          (4, "reverse", 4.0)]
    found = analysis.ratio_range(fair)
    assert found is not None
    assert (found.low.k, found.high.k) == (4, 1)
    assert found.lowest_repeat == pytest.approx(3.6) and found.highest_repeat == pytest.approx(5.5)
    assert analysis.ratio_range([]) is None


def test_a_baseline_without_phys_gives_no_ratio() -> None:
    assert analysis.fair_ratio(analysis.index([cell("reverse", 1, 1, 2.0)]), 1, 1) is None


def test_walk_speed_and_page_cost() -> None:
    cells = analysis.index([
        cell("translate", 8, 64, 1.0), cell("translate_c", 8, 64, 0.25),
        cell("phys", 8, 64, 0.064), cell("known", 8, 64, 0.032), cell("copy", 8, 64, 0.0064),
    ])
    (speed,) = analysis.walk_speeds(cells, [8], [64])
    assert speed.speedup == 4.0
    cost = analysis.page_cost(cells, 8, 64)
    assert cost is not None
    assert cost.over_known_s == pytest.approx(0.5e-3) and cost.over_copy_s == pytest.approx(0.9e-3)
    assert analysis.page_cost(cells, 8, 4) is None


def test_line_fit_recovers_fixed_and_per_page_costs() -> None:
    points = [(k, 0.05 + 20e-6 * k) for k in (1, 4, 64, 4096, 65536)]
    fixed, per_page = analysis.fit_line(points) or (0.0, 0.0)
    assert fixed == pytest.approx(0.05) and per_page == pytest.approx(20e-6)
    assert analysis.fit_line([(4, 1.0)]) is None
    cells = analysis.index([cell("phys", 1, k, t) for k, t in points])
    (fit,) = analysis.line_fits(cells, ["phys", "known"], [1], [k for k, _ in points])
    assert (fit.method, fit.processes) == ("phys", 1)
