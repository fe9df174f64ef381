"""The conformance matrix: each spec row, the cases proving it, their outcome.

Outcomes come from MOVEPHYS_RESULTS when set (a JUnit XML file of a suite
run, for example build/results/junit.xml), else from the reference run
committed as docs/reference/junit.xml. MOVEPHYS_RESULTS may name several
runs (files separated by os.pathsep, or a directory of run-*/junit.xml as
a soak writes): a case that failed, broke or never ran in one and passed
in another is flaky (movephys.junit.is_flaky, the soak's rule too). Rows
no case can reach
show their untested_because as a gap. Below the rows: totals per family
(test module) and, with a results file, the cases no row names. The rows,
their labels and the totals are movephys.conformance's, which the ports
matrix (movephys.ports) shares.
"""

from __future__ import annotations

import os
from pathlib import Path

from docutils import nodes
from movephys_man.directives import SpecDirective

from movephys.conformance import (
    NOT_RUN,
    FamilyTotal,
    Row,
    family_totals,
    row_groups,
    row_label,
    row_text,
    unnamed_cases,
)
from movephys.junit import (
    ERROR,
    FAILED,
    FLAKY,
    PASSED,
    SKIPPED,
    CaseOutcome,
    JUnitError,
    combine,
    read_outcomes,
)

RESULTS_VARIABLE = "MOVEPHYS_RESULTS"
REFERENCE_RESULTS = "reference/junit.xml"  # relative to docs/: the reference run
REFRESH_REFERENCE = ("python3 -m tox -e vm  # on the reference kernel\n"
                     f"python -m movephys.junit build/results/junit.xml docs/{REFERENCE_RESULTS}")
OUTCOME_COLUMNS = (PASSED, FAILED, ERROR, FLAKY, SKIPPED, NOT_RUN)


def results_files(value: str) -> list[Path]:
    """The JUnit files a MOVEPHYS_RESULTS value names, in order.

    Files are separated by os.pathsep; a directory stands for its
    run-*/junit.xml (the runs of `python -m movephys.vm soak`).
    """
    files: list[Path] = []
    for part in filter(None, value.split(os.pathsep)):
        path = Path(part)
        if path.is_dir():
            runs = sorted(path.glob("run-*/junit.xml"))
            if not runs:
                raise JUnitError(f"{part}: a directory without run-*/junit.xml")
            files += runs
        else:
            files.append(path)
    return files


def table_row(cells: list[nodes.Node]) -> nodes.row:
    """A table row of @cells; bare text gets a paragraph of its own."""
    row = nodes.row()
    for cell in cells:
        block = cell if isinstance(cell, nodes.Element) else nodes.paragraph("", "", cell)
        row += nodes.entry("", block)
    return row


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
        results = os.environ.get(RESULTS_VARIABLE) or None
        try:
            sources = results_files(results or str(Path(self.env.srcdir) / REFERENCE_RESULTS))
            for source in sources:
                self.env.note_dependency(str(source))
            outcomes = combine([read_outcomes(source) for source in sources])
        except JUnitError as error:
            where = RESULTS_VARIABLE if results else "the reference run"
            raise self.error(f"{where}: {error}") from None
        spec = self.spec
        result: list[nodes.Node] = [self._legend(results, sources, outcomes)]
        for group in row_groups(spec):
            section = nodes.rubric(group.title, group.title)
            result += [section, self._table(group.rows, outcomes)]
        named = spec.case_ids()
        result += [nodes.rubric("Totals per family", "Totals per family"),
                   self._totals(family_totals(named, outcomes), outcomes is not None)]
        result += [nodes.rubric("Cases no row names", "Cases no row names"),
                   self._unnamed(named, outcomes)]
        return result

    def _totals(self, totals: list[FamilyTotal], with_outcomes: bool) -> nodes.table:
        # Without results only the named cases are known: a "Cases" column would repeat them.
        headings = ["Family", "Named by a row"]
        if with_outcomes:
            headings = ["Family", "Cases", "Named by a row", *OUTCOME_COLUMNS]
        group = nodes.tgroup(cols=len(headings))
        for _ in headings:
            group += nodes.colspec(colwidth=10)
        group += nodes.thead("", table_row([nodes.Text(text) for text in headings]))
        body = nodes.tbody()
        for total in totals:
            run = [total.outcomes[name] for name in OUTCOME_COLUMNS]
            counts = [total.cases, total.named, *run] if with_outcomes else [total.named]
            family: list[nodes.Node] = [nodes.literal(total.family, total.family)]
            body += table_row(family + [nodes.Text(str(n)) for n in counts])
        group += body
        return nodes.table("", group, classes=["mpp-matrix", "mpp-totals"])

    def _unnamed(
        self, named: frozenset[str], outcomes: dict[str, CaseOutcome] | None
    ) -> nodes.Node:
        if outcomes is None:
            return self.paragraph("Listed when the docs are built with a results file: "
                                  "the spec knows only the cases its rows name.")
        found = unnamed_cases(named, outcomes)
        if not found:
            return self.paragraph("None: every case of the results file is named by a row.")
        items = nodes.bullet_list()
        for outcome in found:
            parts = self._case(outcome.case_id, outcome, True)
            items += nodes.list_item("", nodes.paragraph("", "", *parts))
        return items

    def _legend(
        self, results: str | None, sources: list[Path], outcomes: dict[str, CaseOutcome]
    ) -> nodes.Node:
        checkout = Path(self.env.srcdir).parent
        shown = ", ".join(f"``{shown_path(str(source), checkout)}``" for source in sources)
        if results is None:
            return self.paragraph(
                f"Outcomes from the reference run, {shown}: ``tox -e vm`` on the "
                f"reference kernel ({len(outcomes)} cases). Set ``{RESULTS_VARIABLE}`` "
                "to show another run."
            )
        if len(sources) == 1:
            return self.paragraph(f"Outcomes from {shown}, named by ``{RESULTS_VARIABLE}`` "
                                  f"({len(outcomes)} cases).")
        flaky = sum(outcome.outcome == FLAKY for outcome in outcomes.values())
        return self.paragraph(
            f"Outcomes of {len(sources)} runs named by ``{RESULTS_VARIABLE}`` "
            f"({len(outcomes)} cases, {flaky} flaky: did not pass in one run, passed in "
            f"another; otherwise the last run's outcome): {shown}."
        )

    def _table(self, rows: tuple[Row, ...], outcomes: dict[str, CaseOutcome] | None) -> nodes.table:
        headings = ["Row", "Value", "Condition", "Cases"]
        group = nodes.tgroup(cols=len(headings))
        for width in (12, 10, 40, 38):
            group += nodes.colspec(colwidth=width)
        group += nodes.thead("", table_row([nodes.Text(text) for text in headings]))
        body = nodes.tbody()
        for row in rows:
            cells = [
                nodes.literal(row.id, row.id),
                nodes.Text(row_label(row)),
                nodes.inline("", "", *self.inline(row_text(row))),
                self._cases(row, outcomes),
            ]
            body += table_row(cells)
        group += body
        return nodes.table("", group, classes=["mpp-matrix"])

    def _cases(self, row: Row, outcomes: dict[str, CaseOutcome] | None) -> nodes.Element:
        if not row.cases:
            reason = row.untested_because or ""
            return nodes.paragraph(
                "", "", nodes.inline(reason, f"gap: {reason}", classes=["mpp-gap"])
            )
        items = nodes.bullet_list()
        for case in row.cases:
            outcome = outcomes.get(case) if outcomes is not None else None
            parts = self._case(case, outcome, outcomes is not None)
            items += nodes.list_item("", nodes.paragraph("", "", *parts))
        return items

    @staticmethod
    def _case(case: str, outcome: CaseOutcome | None, with_outcomes: bool) -> list[nodes.Node]:
        """The case id and, in a build with results, its coloured outcome."""
        parts: list[nodes.Node] = [nodes.literal(case, case)]
        if with_outcomes and outcome is None:
            parts.append(nodes.inline("", f" {NOT_RUN}", classes=["mpp-missing"]))
        elif outcome is not None:
            label = f" {outcome.outcome}" + (f": {outcome.message}" if outcome.message else "")
            parts.append(nodes.inline("", label, classes=[f"mpp-{outcome.outcome}"]))
        return parts
