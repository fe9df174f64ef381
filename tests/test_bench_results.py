"""Statistics, CSV rows and the paired (b)/(a) ratio, from recorded measurements."""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import TypedDict, Unpack

import pytest

from bench import results, stats
from bench.methods import status_note
from bench.results import Measurement, Summary


class Changes(TypedDict, total=False):
    verified: int
    note: str


def measurement(
    method: str, k: int, repeat: int, wall: float, **changes: Unpack[Changes]
) -> Measurement:
    row = Measurement(
        method=method, processes=64, pages_per_process=1024, k=k, repeat=repeat, wall_s=wall,
        cpu_s=wall, user_s=wall / 2, sys_s=wall / 2, peak_rss_kib=40000, rss_growth_kib=1000,
        verified=k, calls=1, processes_scanned=70, entries_scanned=123456,
    )
    return replace(row, **changes)


RECORDED = [
    measurement("phys", 4096, 0, 0.10),
    measurement("phys", 4096, 1, 0.20),
    measurement("phys", 4096, 2, 0.10),
    measurement("reverse", 4096, 0, 1.00),
    measurement("reverse", 4096, 1, 1.00),
    measurement("reverse", 4096, 2, 1.50),
]


def test_spread_of_odd_and_even_samples() -> None:
    assert stats.spread([3.0, 1.0, 2.0]) == stats.Spread(2.0, 1.0, 3.0, 3)
    assert stats.spread([1.0, 4.0]).median == 2.5


def test_spread_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        stats.spread([])


def test_rate() -> None:
    assert stats.rate(4096, 0.5) == 8192
    assert stats.rate(1, 0) == math.inf


def test_csv_round_trip(tmp_path: Path) -> None:
    rows = [*RECORDED, measurement("copy", 1, 0, 1e-5, note="2 chunk(s) differ, one, two")]
    path = results.write_rows(tmp_path / "sub" / results.RAW_CSV, rows)
    again = results.read_rows(path, Measurement)
    assert [r.method for r in again] == [r.method for r in rows]
    assert again[-1].note == "2 chunk(s) differ, one, two"
    assert again[0].wall_s == pytest.approx(0.10)
    assert isinstance(again[0].k, int)


def test_malformed_csv_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.csv"
    results.write_rows(path, RECORDED)
    path.write_text(path.read_text().replace("0.1,", "fast,", 1))
    with pytest.raises(results.ResultsError, match=r"bad.csv:2: not a Measurement row"):
        results.read_rows(path, Measurement)


def test_missing_csv_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(results.ResultsError, match="nothing.csv"):
        results.read_rows(tmp_path / "nothing.csv", Measurement)


def test_summary_pairs_each_repeat_with_phys() -> None:
    by_method = {row.method: row for row in results.summarize(RECORDED)}
    reverse = by_method["reverse"]
    # Paired ratios: 1.0/0.1, 1.0/0.2, 1.5/0.1 -> 10, 5, 15.
    assert reverse.over_phys_median == pytest.approx(10)
    assert (reverse.over_phys_low, reverse.over_phys_high) == pytest.approx((5, 15))
    assert reverse.wall_median_s == pytest.approx(1.0)
    assert reverse.pages_per_s == pytest.approx(4096)
    assert by_method["phys"].over_phys_median == pytest.approx(1)


def test_failed_rows_are_counted_not_averaged() -> None:
    rows = [*RECORDED, measurement("reverse", 4096, 3, 0.001, verified=17, note="lost pages")]
    reverse = next(r for r in results.summarize(rows) if r.method == "reverse")
    assert (reverse.n, reverse.failed) == (4, 1)
    assert reverse.wall_median_s == pytest.approx(1.0)


def test_summary_without_phys_has_no_ratio(tmp_path: Path) -> None:
    summary = results.summarize([measurement("translate", 16, 0, 0.5)])[0]
    assert math.isnan(summary.over_phys_median)
    path = results.write_rows(tmp_path / results.SUMMARY_CSV, [summary])
    assert math.isnan(results.read_rows(path, Summary)[0].over_phys_median)


def test_status_note_counts_what_did_not_move() -> None:
    assert status_note([1, 1, -16, -16, -2, 0x5A5A5A5A], 1) == (
        "2 x -EBUSY, 1 x -ENOENT, 1 x unwritten"
    )
    assert status_note([1, 1], 1) == ""
