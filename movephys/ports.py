"""The ports matrix: each spec row's verdict on every kernel line and architecture.

Its columns (:data:`COLUMNS`) are the (kernel line, architecture) pairs
the project supports. Each takes its outcomes from one suite run
(:class:`PortRun`), a JUnit file. The 6.12 x86_64 run gives two columns:
its 32-bit cases (:func:`is_compat_case`) are the "6.12 i386 compat"
column, the rest the "6.12 x86_64" column. Every other run is one column
of all its cases (6.1 has no compat column of its own, so its 32-bit cases
count in "6.1 x86_64"; on arm64 they skip: no 32-bit caller there).

The rows are the conformance matrix's (:mod:`movephys.conformance`: the
same spec rows, naming the same case ids), then one total per family
(test module) over all its cases, named by a row or run. A cell is
:func:`aggregate` of the row's cases that fall in its column.

:func:`render_markdown` and :func:`to_json` write build/ports/matrix.md and
matrix.json for ``python -m movephys.vm ports`` (movephys.vm.ports, which
runs the suite); the docs page docs/ports.rst shows the same matrix of the
committed reference runs. Standard library, the spec and JUnit only.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from movephys import caseid
from movephys.conformance import NOT_RUN, family_cases, family_of, row_groups, row_label
from movephys.junit import ERROR, FAILED, PASSED, SKIPPED, CaseOutcome
from movephys.spec import Spec
from movephys.syscall.compat import PATHS as COMPAT_PATHS

NOT_APPLICABLE = "n/a"  # the row names no case this column runs
PRECEDENCE = (FAILED, ERROR, NOT_RUN, PASSED, SKIPPED)  # a cell's state: the first its cases have
COUNTED = (PASSED, FAILED, ERROR, SKIPPED, NOT_RUN)  # the order a cell's counts are shown in
NO_REASON = "(no reason given)"
COMPAT_FAMILY = "test_compat.py"
FORMAT = 1  # of matrix.json

Selection = Literal["native", "compat", "all"]
SELECTIONS: dict[Selection, str] = {
    "native": "the run's cases but the 32-bit ones",
    "compat": "the run's 32-bit cases (the i386 entry)",
    "all": "every case of the run",
}


LEGEND = (
    "Each spec row's outcome per kernel line and architecture. A cell sums up the "
    "row's cases in its column: failed if any failed, else error if any broke, else "
    "not run if the run lacks any, else passed if any passed, else skipped (with the "
    "reasons); n/a where the row names no case the column runs. The 6.12 i386 compat "
    "column is the 32-bit cases of the 6.12 x86_64 run (all of "
    f"{COMPAT_FAMILY} and every case with a {' or '.join(COMPAT_PATHS)} parameter), "
    "the 6.12 x86_64 column its other cases."
)


class PortsError(Exception):
    """Bad input to the ports matrix; str() is one line."""


@dataclass(frozen=True)
class PortRun:
    """One suite run: a kernel line built for an architecture."""

    series: str  # a line of movephys.vm.series.SERIES
    arch: str  # a name of movephys.vm.arches.ARCHES

    @property
    def slug(self) -> str:
        """Its directory under the results: 6.12-x86_64."""
        return f"{self.series}-{self.arch}"


@dataclass(frozen=True)
class Column:
    name: str  # as the matrix heads it: "6.12 i386 compat"
    run: PortRun
    cases: Selection

    @property
    def slug(self) -> str:
        """The name on a command line or in a path: 6.12-i386-compat."""
        return self.name.replace(" ", "-")


X86_64_6_12 = PortRun("6.12", "x86_64")
COLUMNS = (
    Column("6.12 x86_64", X86_64_6_12, "native"),
    Column("6.12 i386 compat", X86_64_6_12, "compat"),
    Column("6.1 x86_64", PortRun("6.1", "x86_64"), "all"),
    Column("6.12 arm64", PortRun("6.12", "arm64"), "all"),
)


def choose_columns(slugs: Sequence[str]) -> tuple[Column, ...]:
    """The columns @slugs name, in COLUMNS order; an unknown one is a PortsError."""
    known = {column.slug: column for column in COLUMNS}
    unknown = [slug for slug in slugs if slug not in known]
    if unknown:
        raise PortsError(f"unknown column {unknown[0]!r} (known: {', '.join(known)})")
    if not slugs:
        raise PortsError("no column chosen")
    return tuple(column for column in COLUMNS if column.slug in slugs)


def runs_of(columns: Sequence[Column]) -> tuple[PortRun, ...]:
    """The suite runs @columns need, each once, in column order."""
    return tuple(dict.fromkeys(column.run for column in columns))


def is_compat_case(case_id: str) -> bool:
    """A case through the 32-bit (i386) entry: all of test_compat.py, and any
    case one of whose parameter ids is a compat path (ia32_binary, int80:
    movephys.syscall.compat.PATHS, the ids the suite parametrizes with)."""
    return family_of(case_id) == COMPAT_FAMILY or any(
        parameter in COMPAT_PATHS for parameter in caseid.parameter_ids(case_id))


def in_column(column: Column, case_id: str) -> bool:
    if column.cases == "all":
        return True
    return is_compat_case(case_id) == (column.cases == "compat")


@dataclass(frozen=True)
class Cell:
    state: str  # failed, error, not run, passed, skipped or n/a
    counts: tuple[tuple[str, int], ...] = ()  # outcome -> cases, the non-zero ones, COUNTED order
    skip_reasons: tuple[str, ...] = ()  # distinct, in case order
    failing: tuple[CaseOutcome, ...] = ()  # the cases that failed or broke

    def count(self, outcome: str) -> int:
        return dict(self.counts).get(outcome, 0)

    @property
    def cases(self) -> int:
        return sum(count for _, count in self.counts)

    @property
    def bad(self) -> bool:
        return self.state in (FAILED, ERROR)


def aggregate(cases: Sequence[str], outcomes: Mapping[str, CaseOutcome] | None) -> Cell:
    """The cell of @cases in one run's @outcomes (None: the run has no results).

    - no case: n/a, the row names no case this column runs;
    - else any case failed: failed;
    - else any case broke (a JUnit error: set-up or harness): error;
    - else any case the run lacks (it never reached it, ended early, or has
      no results at all): not run;
    - else any case passed: passed, the others skipped (their reasons kept);
    - else every case skipped: skipped, with its distinct reasons.

    The cell keeps the count of each outcome, the distinct skip reasons in
    case order (NO_REASON for a skip without one) and the cases that failed
    or broke.
    """
    if not cases:
        return Cell(NOT_APPLICABLE)
    found = [(outcomes or {}).get(case) for case in cases]
    tally = Counter(outcome.outcome if outcome else NOT_RUN for outcome in found)
    state = next((state for state in PRECEDENCE if tally[state]), ERROR)  # ERROR: unknown kind
    reasons = dict.fromkeys(outcome.message or NO_REASON for outcome in found
                            if outcome is not None and outcome.outcome == SKIPPED)
    failing = tuple(outcome for outcome in found
                    if outcome is not None and outcome.outcome in (FAILED, ERROR))
    counts = tuple((name, tally[name]) for name in COUNTED if tally[name])
    return Cell(state, counts, tuple(reasons), failing)


@dataclass(frozen=True)
class MatrixRow:
    group: str  # Whole-call errors, Status of a move, ...
    id: str
    label: str  # its errno or status (movephys.conformance.row_label)
    gap: str | None  # why no case reaches it, for a row naming none
    cells: tuple[Cell, ...]  # one per column


@dataclass(frozen=True)
class FamilyRow:
    family: str
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Matrix:
    columns: tuple[Column, ...]
    sources: tuple[str | None, ...]  # per column: its results as shown, None: no results
    rows: tuple[MatrixRow, ...]
    families: tuple[FamilyRow, ...]

    def cells(self) -> Iterator[Cell]:
        for row in self.rows:
            yield from row.cells
        for family in self.families:
            yield from family.cells

    @property
    def bad(self) -> bool:
        """A cell failed or broke."""
        return any(cell.bad for cell in self.cells())

    def skip_reasons(self) -> dict[str, int]:
        """Each distinct skip reason -> its number (from 1, in order of appearance)."""
        reasons = dict.fromkeys(reason for cell in self.cells() for reason in cell.skip_reasons)
        return {reason: number for number, reason in enumerate(reasons, 1)}


Outcomes = Mapping[str, CaseOutcome]


def build_matrix(spec: Spec, columns: Sequence[Column], results: Mapping[str, Outcomes | None],
                 sources: Mapping[str, str] | None = None) -> Matrix:
    """The matrix of @columns from @results (run slug -> outcomes; a run absent
    or None has none). @sources: run slug -> its results file as shown."""
    def outcomes(column: Column) -> Outcomes | None:
        return results.get(column.run.slug)

    rows = tuple(
        MatrixRow(group.title, row.id, row_label(row),
                  None if row.cases else (row.untested_because or ""),
                  tuple(aggregate([case for case in row.cases if in_column(column, case)],
                                  outcomes(column)) for column in columns))
        for group in row_groups(spec) for row in group.rows
    )
    per_column = [_column_families(spec.case_ids(), column, outcomes(column))
                  for column in columns]
    families = tuple(
        FamilyRow(family, tuple(aggregate(mine.get(family, []), outcomes(column))
                                for mine, column in zip(per_column, columns, strict=True)))
        for family in sorted({family for mine in per_column for family in mine})
    )
    shown = tuple((sources or {}).get(column.run.slug) if outcomes(column) is not None else None
                  for column in columns)
    return Matrix(tuple(columns), shown, rows, families)


def _column_families(named: frozenset[str], column: Column,
                     outcomes: Outcomes | None) -> dict[str, list[str]]:
    mine = frozenset(case for case in named if in_column(column, case))
    if outcomes is not None:
        outcomes = {case: found for case, found in outcomes.items() if in_column(column, case)}
    return family_cases(mine, outcomes)


@dataclass(frozen=True)
class RunRecord:
    """How one suite run of ``python -m movephys.vm ports`` went."""

    run: str  # PortRun.slug
    status: int  # the runner's exit status (movephys.vm.ending), 2 when the build failed
    ending: str  # finished, crashed, hung, harness, or build failed
    build_seconds: float  # building or reusing the kernel
    suite_seconds: float | None  # None: the suite never started
    cases: int  # in its junit.xml
    note: str = ""  # one line: why the run broke


def cell_text(cell: Cell, reasons: Mapping[str, int]) -> str:
    """A cell in words: its state, its counts and its skip reasons' numbers.

    "passed (6)", "passed (4 passed, 2 skipped [1])", "skipped (2) [1, 2]", "n/a".
    """
    if cell.state == NOT_APPLICABLE:
        return NOT_APPLICABLE
    refs = f" [{', '.join(str(reasons[reason]) for reason in cell.skip_reasons)}]" \
        if cell.skip_reasons else ""
    if len(cell.counts) == 1:
        return f"{cell.state} ({cell.cases}){refs}"
    parts = [f"{count} {outcome}" + (refs if outcome == SKIPPED else "")
             for outcome, count in cell.counts]
    return f"{cell.state} ({', '.join(parts)})"


def _json_cell(cell: Cell) -> dict[str, Any]:
    return {"state": cell.state, "counts": dict(cell.counts),
            "skip_reasons": list(cell.skip_reasons),
            "failing": [{"case": found.case_id, "outcome": found.outcome,
                         "message": found.message} for found in cell.failing]}


def to_json(matrix: Matrix, records: Sequence[RunRecord] = ()) -> dict[str, Any]:
    """matrix.json: the columns, the runs and their timings, every cell by column slug."""
    def cells(row: MatrixRow | FamilyRow) -> dict[str, Any]:
        return {column.slug: _json_cell(cell)
                for column, cell in zip(matrix.columns, row.cells, strict=True)}

    return {
        "format": FORMAT,
        "columns": [{"name": column.name, "slug": column.slug, "run": column.run.slug,
                     "series": column.run.series, "arch": column.run.arch,
                     "cases": column.cases, "results": source}
                    for column, source in zip(matrix.columns, matrix.sources, strict=True)],
        "runs": [{"run": record.run, "status": record.status, "ending": record.ending,
                  "build_seconds": round(record.build_seconds, 1),
                  "suite_seconds": None if record.suite_seconds is None
                  else round(record.suite_seconds, 1),
                  "cases": record.cases, "note": record.note} for record in records],
        "rows": [{"group": row.group, "id": row.id, "label": row.label, "gap": row.gap,
                  "cells": cells(row)} for row in matrix.rows],
        "families": [{"family": row.family, "cells": cells(row)} for row in matrix.families],
    }


def _md(text: str) -> str:
    """Text safe in a Markdown table cell."""
    return " ".join(text.replace("|", "\\|").split())


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


def _table(headings: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    return lines + ["| " + " | ".join(row) + " |" for row in rows] + [""]


def render_markdown(matrix: Matrix, records: Sequence[RunRecord] = ()) -> str:
    """matrix.md: the columns and their results, the runs' timings, the rows by
    group, the family totals, the skip reasons and the cases that failed or broke."""
    reasons = matrix.skip_reasons()
    names = [column.name for column in matrix.columns]
    lines = ["# Ports matrix", "", LEGEND, ""]
    lines += _table(["Column", "Run", "Cases", "Results"], [
        [column.name, column.run.slug, SELECTIONS[column.cases],
         f"`{source}`" if source else "none: not run"]
        for column, source in zip(matrix.columns, matrix.sources, strict=True)])
    if records:
        lines += ["## Runs", ""]
        lines += _table(["Run", "Exit", "Ending", "Cases", "Build s", "Suite s", "Note"], [
            [record.run, str(record.status), record.ending, str(record.cases),
             _seconds(record.build_seconds), _seconds(record.suite_seconds), _md(record.note)]
            for record in records])
    for group in dict.fromkeys(row.group for row in matrix.rows):
        lines += [f"## {group}", ""]
        lines += _table(["Row", "Value", *names], [
            [f"`{row.id}`" + (f" (gap: {_md(row.gap)})" if row.gap is not None else ""),
             _md(row.label), *(cell_text(cell, reasons) for cell in row.cells)]
            for row in matrix.rows if row.group == group])
    lines += ["## Totals per family", ""]
    lines += _table(["Family", *names], [
        [f"`{row.family}`", *(cell_text(cell, reasons) for cell in row.cells)]
        for row in matrix.families])
    lines += ["## Skip reasons", ""]
    lines += [f"{number}. {_md(reason)}" for reason, number in reasons.items()] or ["None."]
    lines += ["", "## Cases that failed or broke", ""]
    lines += [f"- {column.name}: `{found.case_id}` {found.outcome}"
              + (f": {_md(found.message)}" if found.message else "")
              for column, found in failing_cases(matrix)] or ["None."]
    return "\n".join(lines) + "\n"


def failing_cases(matrix: Matrix) -> list[tuple[Column, CaseOutcome]]:
    """Each column's failing cases once (a case counts in its row and its family)."""
    found: dict[tuple[str, str], tuple[Column, CaseOutcome]] = {}
    for row in matrix.families:
        for column, cell in zip(matrix.columns, row.cells, strict=True):
            for outcome in cell.failing:
                found.setdefault((column.slug, outcome.case_id), (column, outcome))
    return list(found.values())


def write_reports(directory: Path, matrix: Matrix, records: Sequence[RunRecord] = ()) -> None:
    """matrix.json and matrix.md in @directory."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "matrix.json").write_text(
        json.dumps(to_json(matrix, records), indent=1) + "\n", encoding="utf-8")
    (directory / "matrix.md").write_text(render_markdown(matrix, records), encoding="utf-8")
