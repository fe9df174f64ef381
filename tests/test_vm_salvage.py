"""Results of a run whose kernel crashed: every finished case kept, the running one marked."""

from __future__ import annotations

from pathlib import Path

import pytest
from kunit_tool import kunit_parser

from movephys import junit, ktap
from movephys.casestream import FinishedCase, Stream
from movephys.vm.ending import Ending
from movephys.vm.salvage import salvage

CRASH = Ending("crashed", "kernel panic after 80 s: Fatal exception",
               ("BUG: unable to handle page fault for address: 0000000000002718",
                "Call Trace:", " __x64_sys_move_phys_pages+0x4d/0x90",
                "Kernel panic - not syncing: Fatal exception"))


def finished(case_id: str, outcome: str = junit.PASSED) -> FinishedCase:
    failed = outcome in (junit.FAILED, junit.ERROR)
    result = ktap.CaseResult(case_id, ok=not failed, outcome=outcome)
    if failed:
        result.diagnostics = ["call failed:", "E assert 0 == 1"]
        result.message = "assert 0 == 1"
    if outcome == junit.SKIPPED:
        result.directive = "SKIP no hole"
    return FinishedCase(result, 1.25)


@pytest.fixture
def stream() -> Stream:
    return Stream(collected=169, running="test_moves.py::test_move[anon]", exitstatus=None,
                  finished=(finished("test_bad_args.py::test_einval[zero]"),
                            finished("test_query.py::test_query[hole]", junit.FAILED),
                            finished("test_compat.py::test_x[int80]", junit.SKIPPED)))


def test_finished_cases_are_kept_and_the_running_one_crashed(tmp_path: Path,
                                                             stream: Stream) -> None:
    kept = salvage(stream, CRASH, tmp_path / "results.ktap", tmp_path / "junit.xml")
    assert (kept.finished, kept.passed, kept.failed, kept.skipped) == (3, 1, 1, 1)
    assert kept.crashed_case == "test_moves.py::test_move[anon]" and kept.not_run == 165
    outcomes = junit.read_outcomes(tmp_path / "junit.xml")
    assert {case: found.outcome for case, found in outcomes.items()} == {
        "test_bad_args.py::test_einval[zero]": junit.PASSED,
        "test_query.py::test_query[hole]": junit.FAILED,
        "test_compat.py::test_x[int80]": junit.SKIPPED,
        "test_moves.py::test_move[anon]": junit.FAILED,
    }
    crashed = outcomes["test_moves.py::test_move[anon]"].message
    assert crashed.startswith("the kernel crashed during this case: kernel panic after 80 s")


def test_the_ktap_carries_the_trace_and_what_never_ran(tmp_path: Path, stream: Stream) -> None:
    salvage(stream, CRASH, tmp_path / "results.ktap", tmp_path / "junit.xml")
    lines = (tmp_path / "results.ktap").read_text().splitlines()
    assert lines[:2] == ["KTAP version 1", "1..4"]
    crashed = lines.index("not ok 4 test_moves.py::test_move[anon]")
    assert "#  __x64_sys_move_phys_pages+0x4d/0x90" in lines[:crashed]
    assert lines[-1] == "# 165 of 169 cases never ran"


def test_kunit_parser_reads_a_salvaged_report(tmp_path: Path, stream: Stream) -> None:
    salvage(stream, CRASH, tmp_path / "results.ktap", tmp_path / "junit.xml")
    parser = kunit_parser()
    test = parser.parse_run_tests((tmp_path / "results.ktap").read_text().splitlines())
    assert test.counts.errors == 0
    assert (test.counts.passed, test.counts.failed, test.counts.skipped) == (1, 2, 1)


def test_a_harness_ending_marks_the_running_case_as_an_error(tmp_path: Path,
                                                             stream: Stream) -> None:
    salvage(stream, Ending("harness", "QEMU ended with status 134"), tmp_path / "r.ktap",
            tmp_path / "junit.xml")
    found = junit.read_outcomes(tmp_path / "junit.xml")["test_moves.py::test_move[anon]"]
    assert found.outcome == junit.ERROR and "set-up broke" in found.message


def test_a_crash_before_collection_keeps_the_kernels_report(tmp_path: Path) -> None:
    kept = salvage(Stream(None, (), None, None), CRASH, tmp_path / "r.ktap", tmp_path / "j.xml")
    assert kept.not_run is None and kept.finished == 0
    text = (tmp_path / "r.ktap").read_text()
    assert "1..0" in text and "# Kernel panic - not syncing: Fatal exception" in text
