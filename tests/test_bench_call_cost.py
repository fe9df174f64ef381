"""The per-call cost probes: their choice, their summary, the split, and a real run on the host."""

from __future__ import annotations

import os
import shutil

import pytest

from bench import call_cost
from bench.call_cost import CallCost


def test_probes_follow_the_machine() -> None:
    names = [probe.name for probe in call_cost.probes(0, 1, None)]
    assert names == ["query", "same_node", "one_page"]  # no confirmed number: no phys_*
    assert [probe.name for probe in call_cost.probes(0, 0, 463)] == [
        "query", "same_node", "phys_query", "phys_same_node"]  # one node: nothing to move to
    one_page = call_cost.probes(0, 1, 463)[-1]
    assert (one_page.name, one_page.phys, one_page.node_a, one_page.node_b) == (
        "phys_one_page", True, 0, 1)


def test_summary_in_microseconds() -> None:
    row = call_cost.summary("query", 8, [1000 * value for value in range(1, 11)], 1)
    assert (row.calls, row.unexpected, row.median_us, row.min_us, row.max_us) == (
        10, 1, 5.5, 1.0, 10.0)
    assert row.p10_us < 2 and row.p90_us > 9


def row(probe: str, median_us: float) -> CallCost:
    return CallCost(probe, 64, 100, 0, median_us, median_us, median_us, median_us, median_us)


def test_split_names_the_drain_and_the_migration() -> None:
    rows = [row("query", 10.0), row("same_node", 40_010.0), row("one_page", 50_010.0),
            row("phys_query", 12.0), row("phys_same_node", 41_012.0)]
    part = call_cost.split(rows)
    assert part is not None
    assert (part.query_us, part.drain_us, part.migrate_us) == (10.0, 40_000.0, 10_000.0)
    assert part.drain_share == pytest.approx(0.8, abs=1e-3)
    phys = call_cost.split(rows, call_cost.PHYS_PREFIX)
    assert phys is not None and phys.drain_us == 41_000.0 and phys.migrate_us is None
    assert call_cost.split([row("query", 1.0)]) is None


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("gcc") is None,
                    reason="needs root (move_pages on a placed page) and gcc")
def test_probes_run_on_this_kernel() -> None:
    # Mainline move_pages on a page of our own: query and a MOVE to its own node.
    rows = call_cost.measure(0, 0, None, 1, 20)
    assert [r.probe for r in rows] == ["query", "same_node"]
    assert all(r.calls == 20 and r.unexpected == 0 and r.median_us > 0 for r in rows)
