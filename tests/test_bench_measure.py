"""A mover in its own process: usage is its own, failures come back as one line."""

from __future__ import annotations

import os

import pytest

from bench.measure import MeasureError, Mover, reset_peak_rss, run_in_child, status_kib

STATUS = "Name:\tpython\nVmHWM:\t   40960 kB\nVmRSS:\t   30000 kB\n"


def test_status_kib() -> None:
    assert status_kib(STATUS, "VmHWM") == 40960
    with pytest.raises(MeasureError, match="no VmSwap"):
        status_kib(STATUS, "VmSwap")


def test_usage_and_verdict_come_from_the_child() -> None:
    def work(state: int) -> int:
        block = bytearray(32 << 20)  # 32 MiB touched: the peak must show it
        return state + len(block) + os.getpid()

    usage, verdict = run_in_child(Mover(lambda: 1, work, lambda state, result: result))
    assert verdict - 1 - (32 << 20) != os.getpid()  # it ran elsewhere
    assert usage.wall_s > 0 and usage.cpu_s >= 0
    if reset_peak_rss():  # clear_refs works here, so the child's peak was its own
        assert usage.rss_growth_kib >= 30 * 1024


def test_a_failing_mover_is_one_line() -> None:
    def work(_: None) -> None:
        raise OSError("no such frame")

    one_line = r"^the mover failed: child \d+ raised OSError: no such frame$"
    with pytest.raises(MeasureError, match=one_line):
        run_in_child(Mover(lambda: None, work, lambda state, result: result))


def test_a_mover_that_dies_is_reported() -> None:
    with pytest.raises(MeasureError, match="died"):
        run_in_child(Mover(lambda: None, lambda _: os._exit(3), lambda state, result: result))


def test_a_slow_mover_is_killed() -> None:
    import time

    with pytest.raises(MeasureError, match="gave no result within 0 s and was killed"):
        run_in_child(Mover(lambda: None, lambda _: time.sleep(30), lambda s, r: r),
                     timeout_s=0.2)
