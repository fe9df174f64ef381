"""The conformance matrix: each spec row, the cases proving it, their outcome.

The outcome column appears when MOVEPHYS_RESULTS names a JUnit XML file of
a suite run (for example build/results/junit.xml). Rows no case can reach
show their untested_because as a gap.
"""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes
from movephys_man.directives import SpecDirective

from movephys.junit import CaseOutcome, JUnitError, read_outcomes
from movephys.spec import ErrorRow, Rule, StatusRow

RESULTS_VARIABLE = "MOVEPHYS_RESULTS"
Row = ErrorRow | StatusRow | Rule


def _row_label(row: Row) -> str:
    if isinstance(row, ErrorRow):
        return row.errno
    if isinstance(row, StatusRow):
        return f"{row.value} ({row.mode})"
    return ""


def _text(row: Row) -> str:
    return row.text if isinstance(row, Rule) else row.condition


def shown_path(results: str, checkout: Path) -> str:
    """The results file as the page names it: relative to the checkout, else by name.

    The build machine's directories mean nothing to a reader of the page.
    """
    path = Path(results).resolve()
    try:
        return path.relative_to(checkout.resolve()).as_posix()
    except ValueError:
        return path.name


class ConformanceMatrixDirective(SpecDirective):
    def run(self) -> list[nodes.Node]:
        outcomes: dict[str, CaseOutcome] | None = None
        results = os.environ.get(RESULTS_VARIABLE)
        if results:
            self.env.note_dependency(results)
            try:
                outcomes = read_outcomes(Path(results))
            except JUnitError as error:
                raise self.error(f"{RESULTS_VARIABLE}: {error}") from None
        spec = self.spec
        groups: list[tuple[str, tuple[Row, ...]]] = [
            ("Whole-call errors", spec.whole_call_errors),
            ("Status of a move", spec.status_move),
            ("Status of a query", spec.status_query),
            ("Other rules", tuple(rule for rule in spec.rule_rows() if rule.cases)),
        ]
        result: list[nodes.Node] = [self._legend(results, outcomes)]
        for title, rows in groups:
            section = nodes.rubric(title, title)
            result += [section, self._table(rows, outcomes)]
        return result

    def _legend(self, results: str | None, outcomes: dict[str, CaseOutcome] | None) -> nodes.Node:
        if outcomes is None:
            return self.paragraph(
                f"No results file given: set ``{RESULTS_VARIABLE}`` to a JUnit XML file "
                "of a suite run to see each case's outcome."
            )
        shown = shown_path(results or "", Path(self.env.srcdir).parent)
        return self.paragraph(f"Outcomes from ``{shown}`` ({len(outcomes)} cases).")

    def _table(self, rows: tuple[Row, ...], outcomes: dict[str, CaseOutcome] | None) -> nodes.table:
        headings = ["Row", "Value", "Condition", "Cases"]
        group = nodes.tgroup(cols=len(headings))
        for width in (12, 10, 40, 38):
            group += nodes.colspec(colwidth=width)
        group += nodes.thead("", self._table_row([nodes.Text(text) for text in headings]))
        body = nodes.tbody()
        for row in rows:
            cells = [
                nodes.literal(row.id, row.id),
                nodes.Text(_row_label(row)),
                nodes.inline("", "", *self.inline(_text(row))),
                self._cases(row, outcomes),
            ]
            body += self._table_row(cells)
        group += body
        return nodes.table("", group, classes=["mpp-matrix"])

    @staticmethod
    def _table_row(cells: list[nodes.Node]) -> nodes.row:
        row = nodes.row()
        for cell in cells:
            block = cell if isinstance(cell, nodes.Element) else nodes.paragraph("", "", cell)
            row += nodes.entry("", block)
        return row

    def _cases(self, row: Row, outcomes: dict[str, CaseOutcome] | None) -> nodes.Element:
        if not row.cases:
            reason = row.untested_because or ""
            return nodes.paragraph(
                "", "", nodes.inline(reason, f"gap: {reason}", classes=["mpp-gap"])
            )
        items = nodes.bullet_list()
        for case in row.cases:
            outcome = outcomes.get(case) if outcomes is not None else None
            parts: list[nodes.Node] = [nodes.literal(case, case)]
            if outcomes is not None and outcome is None:
                parts.append(nodes.inline("", " not run", classes=["mpp-missing"]))
            elif outcome is not None:
                label = f" {outcome.outcome}" + (f": {outcome.message}" if outcome.message else "")
                parts.append(nodes.inline("", label, classes=[f"mpp-{outcome.outcome}"]))
            items += nodes.list_item("", nodes.paragraph("", "", *parts))
        return items
