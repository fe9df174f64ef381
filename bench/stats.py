"""Median and spread of repeated measurements (small samples: min and max, not stddev)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Spread:
    median: float
    low: float  # the smallest value seen
    high: float  # the largest value seen
    n: int



def spread(values: Sequence[float]) -> Spread:
    if not values:
        raise ValueError("no values to summarise")
    return Spread(statistics.median(values), min(values), max(values), len(values))


def rate(count: int, seconds: float) -> float:
    """Items per second; inf for a time too small to measure."""
    return count / seconds if seconds > 0 else float("inf")
