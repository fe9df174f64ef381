"""What a conformance matrix is made of: the spec's rows in their groups, the
cases each names, and the test modules (families) the cases fall into.

One home for the conformance matrix page (docs/_ext/movephys_docs/matrix.py)
and the ports matrix (movephys.ports), so both show the same rows, label
them the same way and count a family's cases alike. Standard library and
the spec only: no Sphinx.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from movephys.junit import CaseOutcome
from movephys.spec import ErrorRow, Rule, Spec, StatusRow

Row = ErrorRow | StatusRow | Rule
NOT_RUN = "not run"  # a case a row names that the results file lacks


@dataclass(frozen=True)
class RowGroup:
    title: str
    rows: tuple[Row, ...]


def row_groups(spec: Spec) -> tuple[RowGroup, ...]:
    """The rows a matrix shows, in its order: every traced row (a gap too) and
    the rules that name cases."""
    return (
        RowGroup("Whole-call errors", spec.whole_call_errors),
        RowGroup("Status of a move", spec.status_move),
        RowGroup("Status of a query", spec.status_query),
        RowGroup("Other rules", tuple(rule for rule in spec.rule_rows() if rule.cases)),
    )


def row_label(row: Row) -> str:
    """The value a row is about: its errno, its status and mode, or nothing for a rule."""
    if isinstance(row, ErrorRow):
        return row.errno
    if isinstance(row, StatusRow):
        return f"{row.value} ({row.mode})"
    return ""


def row_text(row: Row) -> str:
    """The row's sentence (rST inline markup) as the spec words it."""
    return row.text if isinstance(row, Rule) else row.condition


def family_of(case: str) -> str:
    """The test module of a case id, e.g. test_moves.py."""
    return case.partition("::")[0]


def family_cases(
    named: frozenset[str], outcomes: Mapping[str, CaseOutcome] | None
) -> dict[str, list[str]]:
    """Family -> its cases, named by a row or present in the results, both sorted."""
    families: dict[str, list[str]] = {}
    for case in sorted(named | set(outcomes or {})):
        families.setdefault(family_of(case), []).append(case)
    return dict(sorted(families.items()))


@dataclass(frozen=True)
class FamilyTotal:
    family: str  # the test module, e.g. test_moves.py
    cases: int  # named by a row or present in the results
    named: int  # of those, named by a row
    outcomes: Counter[str]  # outcome -> cases; empty without a results file


def family_totals(
    named: frozenset[str], outcomes: Mapping[str, CaseOutcome] | None
) -> list[FamilyTotal]:
    """Per test module: its cases (named or run), how many a row names, their outcomes."""
    totals = []
    for family, mine in family_cases(named, outcomes).items():
        counted: Counter[str] = Counter()
        if outcomes is not None:
            counted.update(outcomes[c].outcome if c in outcomes else NOT_RUN for c in mine)
        totals.append(FamilyTotal(family, len(mine), sum(c in named for c in mine), counted))
    return totals


def unnamed_cases(
    named: frozenset[str], outcomes: Mapping[str, CaseOutcome]
) -> list[CaseOutcome]:
    """Cases the results file has and no spec row names, by case id."""
    return [outcomes[case] for case in sorted(set(outcomes) - named)]
