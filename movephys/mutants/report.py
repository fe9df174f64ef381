"""From the suite's JUnit XML to failing case ids, and from those to spec rows.

The JUnit file is read by movephys.junit, the reader the conformance
matrix uses too, so the case ids here are the ones that page shows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from movephys import junit
from movephys.mutants.claims import spec_rows
from movephys.mutants.mutant import MutantError
from movephys.spec import Spec

FAILING_OUTCOMES = ("failed", "error")


@dataclass(frozen=True)
class SuiteReport:
    """What one junit.xml says: the case ids that failed, and how many cases ran."""

    failing: tuple[str, ...]  # failed or errored, in file order
    cases: int
    skipped: int


def read_report(path: Path) -> SuiteReport:
    """Failing case ids of a junit.xml; an unreadable file raises MutantError."""
    try:
        outcomes = junit.read_outcomes(path)
    except junit.JUnitError as error:
        raise MutantError(str(error)) from None
    failing = tuple(case for case, outcome in outcomes.items()
                    if outcome.outcome in FAILING_OUTCOMES)
    skipped = sum(1 for outcome in outcomes.values() if outcome.outcome == "skipped")
    return SuiteReport(failing=failing, cases=len(outcomes), skipped=skipped)


def read_optional_report(path: Path) -> tuple[SuiteReport | None, str]:
    """The report, or None and why: a guest that died may leave no file or half of one."""
    if not path.exists():
        return None, "no junit.xml"
    try:
        return read_report(path), ""
    except MutantError as error:
        return None, str(error)


def rows_proven(cases: Iterable[str], spec: Spec) -> tuple[str, ...]:
    """The ids of the spec rows that name any of @cases, in spec order."""
    wanted = set(cases)
    return tuple(row.id for row in spec_rows(spec) if wanted.intersection(row.cases))
