"""The soak report: per case, how often it did not pass over repeated runs."""

from __future__ import annotations

from pathlib import Path

from movephys import junit
from movephys.vm import soak
from movephys.vm.ending import EXIT_FAILED, EXIT_KERNEL, EXIT_PASSED

CASES = ("test_moves.py::test_move[anon]", "test_query.py::test_query[hole]",
         "test_compat.py::test_x[int80]")


def record(number: int, status: int = EXIT_PASSED, ending: str = "finished",
           seconds: float = 100.0, **changed: str) -> soak.RunRecord:
    outcomes = dict.fromkeys(CASES, junit.PASSED)
    for case in CASES:
        key = case.split("::")[1].split("[")[0]
        if key in changed:
            outcomes[case] = changed[key]
    return soak.RunRecord(number, status, ending, seconds, outcomes, 0)


def test_clean_runs_report_no_case() -> None:
    records = (record(1), record(2, seconds=90.0), record(3, seconds=130.0))
    report = soak.SoakReport(records, soak.tally(records))
    assert report.clean and soak.status(report) == EXIT_PASSED
    assert report.seconds() == (90.0, 100.0, 130.0)
    assert "0 flaky cases" in soak.render(report)


def test_a_case_failing_in_some_runs_is_flaky() -> None:
    records = (record(1), record(2, EXIT_FAILED, test_query=junit.FAILED), record(3))
    report = soak.SoakReport(records, soak.tally(records))
    assert report.tallies == (soak.CaseTally(
        "test_query.py::test_query[hole]", (junit.PASSED, junit.FAILED, junit.PASSED)),)
    assert report.tallies[0].flaky and soak.status(report) == EXIT_FAILED
    assert "| `test_query.py::test_query[hole]` | 1 | 3 | yes |" in soak.render(report)


def test_a_case_failing_in_every_run_is_not_flaky_but_still_reported() -> None:
    records = (record(1, EXIT_FAILED, test_move=junit.ERROR),
               record(2, EXIT_FAILED, test_move=junit.FAILED))
    (only,) = soak.tally(records)
    assert (only.failed, only.flaky) == (2, False)


def test_skips_are_not_failures_and_missing_cases_are() -> None:
    crashed = record(2, EXIT_KERNEL, "crashed")
    del crashed.outcomes[CASES[2]]
    records = (record(1, test_x=junit.SKIPPED), crashed)
    report = soak.SoakReport(records, soak.tally(records))
    assert [(t.case_id, t.outcomes, t.flaky) for t in report.tallies] == [
        ("test_compat.py::test_x[int80]", (junit.SKIPPED, junit.MISSING), False)]
    assert "1 crashed, 1 finished" in soak.render(report)


def test_the_report_is_written_as_markdown_and_json(tmp_path: Path) -> None:
    records = (record(1), record(2, EXIT_FAILED, test_query=junit.FAILED))
    soak.write(soak.SoakReport(records, soak.tally(records)), tmp_path)
    assert (tmp_path / "soak.md").read_text().startswith("# Soak")
    assert '"flaky": true' in (tmp_path / "soak.json").read_text()
