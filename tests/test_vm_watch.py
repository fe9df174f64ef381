"""The host's watch over a suite run: a stalled kernel ends the run, a slow one does not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movephys.vm.watch import FINISH_SECONDS, GRACE_SECONDS, Budget, SuiteWatch

BUDGET = Budget(case_timeout=60.0)


def append(path: Path, *events: dict[str, object]) -> None:
    with path.open("a") as stream:
        for event in events:
            stream.write(json.dumps(event) + "\n")


def ended(case: str) -> dict[str, object]:
    return {"event": "end", "case_id": case, "seconds": 1.0, "outcome": "passed"}


def test_boot_and_collection_get_five_case_timeouts(tmp_path: Path) -> None:
    watch = SuiteWatch(tmp_path / "cases.jsonl", BUDGET)
    assert watch(BUDGET.startup - 1) is None
    assert "had not started" in (watch(BUDGET.startup + 1) or "")


def test_a_case_running_past_its_timeout_and_grace_stops_the_run(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    watch = SuiteWatch(path, BUDGET)
    append(path, {"event": "collected", "count": 3}, {"event": "start", "case": "t.py::a"},
           ended("t.py::a"), {"event": "start", "case": "t.py::b"})
    assert watch(20.0) is None
    assert watch(20.0 + BUDGET.case_timeout + GRACE_SECONDS - 1) is None
    reason = watch(20.0 + BUDGET.case_timeout + GRACE_SECONDS + 1)
    assert reason is not None and "in t.py::b" in reason and "stopped making progress" in reason


def test_progress_resets_the_clock(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    watch = SuiteWatch(path, BUDGET)
    append(path, {"event": "collected", "count": 100})
    for second in range(10, 1000, 50):
        append(path, {"event": "start", "case": f"t.py::c{second}"}, ended(f"t.py::c{second}"))
        assert watch(float(second)) is None


def test_the_overall_bound_follows_from_the_case_count(tmp_path: Path) -> None:
    assert BUDGET.overall(10) == BUDGET.startup + 10 * (60.0 + GRACE_SECONDS) + FINISH_SECONDS
    assert BUDGET.overall(200) > BUDGET.overall(10)


def test_a_guest_that_does_not_exit_after_the_session_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    watch = SuiteWatch(path, BUDGET)
    append(path, {"event": "collected", "count": 0}, {"event": "finish", "exitstatus": 5})
    assert watch(30.0) is None
    assert "did not exit" in (watch(31.0 + FINISH_SECONDS) or "")


@pytest.fixture
def one_case_running(tmp_path: Path) -> tuple[Path, SuiteWatch]:
    """A stream of three cases collected, the first one started, and its watch."""
    path = tmp_path / "cases.jsonl"
    append(path, {"event": "collected", "count": 3}, {"event": "start", "case": "t.py::a"})
    return path, SuiteWatch(path, BUDGET)


def test_a_kernel_report_without_progress_after_it_stops_the_run(
    one_case_running: tuple[Path, SuiteWatch],
) -> None:
    _, watch = one_case_running
    console = ["virtme-ng-init: starting script"]
    assert watch(20.0, console) is None
    console += ["BUG: kernel NULL pointer dereference, address: 0000000000000018",
                "Oops: Oops: 0000 [#1] SMP"]
    assert watch(21.0, console) is None
    assert watch(21.0 + BUDGET.after_report - 1, console) is None
    reason = watch(22.0 + BUDGET.after_report, console)
    assert reason is not None and reason.startswith('the kernel reported "BUG: kernel NULL')


def test_a_warning_followed_by_progress_does_not_stop_the_run(
    one_case_running: tuple[Path, SuiteWatch],
) -> None:
    path, watch = one_case_running
    console = ["WARNING: CPU: 1 PID: 65 at mm/migrate.c:2300 do_pages_move+0x1ee/0x500"]
    assert watch(20.0, console) is None
    append(path, ended("t.py::a"), {"event": "start", "case": "t.py::b"})
    assert watch(30.0, console) is None
    assert watch(30.0 + BUDGET.after_report + 1, console) is None


def test_a_report_during_boot_leaves_the_boot_its_time(tmp_path: Path) -> None:
    watch = SuiteWatch(tmp_path / "cases.jsonl", BUDGET)
    console = ["WARNING: CPU: 0 PID: 1 at kernel/locking/lockdep.c:1 lockdep_init+0x1/0x2"]
    assert watch(5.0, console) is None
    assert watch(5.0 + BUDGET.after_report + 60, console) is None
