"""The ports matrix page: movephys.ports of the committed reference runs.

The 6.12 x86_64 run's reference is the conformance matrix's,
docs/reference/junit.xml (it gives the 6.12 x86_64 and the 6.12 i386
compat columns); every other run's is docs/reference/ports/<run>/junit.xml,
a copy of build/ports/<run>/junit.xml made with python -m movephys.junit.
A run without one shows as not run.
"""

from __future__ import annotations

from pathlib import Path

from docutils import nodes
from movephys_man.directives import SpecDirective

from movephys import ports
from movephys.conformance import NOT_RUN
from movephys.junit import ERROR, FAILED, PASSED, SKIPPED, CaseOutcome, JUnitError, read_outcomes

from .matrix import REFERENCE_RESULTS, shown_path, table_row

REFERENCE_PORTS = "reference/ports"  # relative to docs/: <run>/junit.xml
STATE_CLASSES = {PASSED: "mpp-passed", FAILED: "mpp-failed", ERROR: "mpp-error",
                 SKIPPED: "mpp-skipped", NOT_RUN: "mpp-missing",
                 ports.NOT_APPLICABLE: "mpp-na"}


def reference_file(docs: Path, port_run: ports.PortRun) -> Path:
    """Where the docs keep @port_run's reference results."""
    if port_run == ports.X86_64_6_12:
        return docs / REFERENCE_RESULTS
    return docs / REFERENCE_PORTS / port_run.slug / "junit.xml"


class PortsMatrixDirective(SpecDirective):
    def run(self) -> list[nodes.Node]:
        docs = Path(self.env.srcdir)
        results: dict[str, dict[str, CaseOutcome] | None] = {}
        sources: dict[str, str] = {}
        for port_run in ports.runs_of(ports.COLUMNS):
            path = reference_file(docs, port_run)
            if not path.is_file():
                continue
            self.env.note_dependency(str(path))
            try:
                results[port_run.slug] = read_outcomes(path)
            except JUnitError as error:
                raise self.error(f"the {port_run.slug} reference run: {error}") from None
            sources[port_run.slug] = shown_path(str(path), docs.parent)
        matrix = ports.build_matrix(self.spec, ports.COLUMNS, results, sources)
        reasons = matrix.skip_reasons()
        names = [column.name for column in matrix.columns]
        result: list[nodes.Node] = [self.paragraph(ports.LEGEND), self._columns(matrix)]
        for group in dict.fromkeys(row.group for row in matrix.rows):
            result += [nodes.rubric(group, group), self._table(
                ["Row", "Value", *names],
                [[self._row_id(row), nodes.Text(row.label),
                  *(self._cell(cell, reasons) for cell in row.cells)]
                 for row in matrix.rows if row.group == group])]
        result += [nodes.rubric("Totals per family", "Totals per family"), self._table(
            ["Family", *names],
            [[nodes.literal(row.family, row.family),
              *(self._cell(cell, reasons) for cell in row.cells)] for row in matrix.families])]
        result += [nodes.rubric("Skip reasons", "Skip reasons"), self._reasons(reasons)]
        result += [nodes.rubric("Cases that failed or broke", "Cases that failed or broke"),
                   self._failing(matrix)]
        return result

    def _columns(self, matrix: ports.Matrix) -> nodes.table:
        rows: list[list[nodes.Node]] = []
        for column, source in zip(matrix.columns, matrix.sources, strict=True):
            where: nodes.Node = nodes.literal(source, source) if source else nodes.inline(
                "", f"none committed: add docs/{REFERENCE_PORTS}/{column.run.slug}/junit.xml",
                classes=["mpp-missing"])
            rows.append([nodes.Text(column.name), nodes.Text(ports.SELECTIONS[column.cases]),
                         nodes.paragraph("", "", where)])
        return self._table(["Column", "Cases", "Reference results"], rows)

    @staticmethod
    def _table(headings: list[str], rows: list[list[nodes.Node]]) -> nodes.table:
        group = nodes.tgroup(cols=len(headings))
        for _ in headings:
            group += nodes.colspec(colwidth=10)
        group += nodes.thead("", table_row([nodes.Text(text) for text in headings]))
        group += nodes.tbody("", *(table_row(cells) for cells in rows))
        return nodes.table("", group, classes=["mpp-matrix"])

    @staticmethod
    def _row_id(row: ports.MatrixRow) -> nodes.Node:
        parts: list[nodes.Node] = [nodes.literal(row.id, row.id)]
        if row.gap is not None:
            parts.append(nodes.inline("", f" gap: {row.gap}", classes=["mpp-gap"]))
        return nodes.paragraph("", "", *parts)

    @staticmethod
    def _cell(cell: ports.Cell, reasons: dict[str, int]) -> nodes.Node:
        text = ports.cell_text(cell, reasons)
        return nodes.inline(text, text, classes=[STATE_CLASSES.get(cell.state, "mpp-error")])

    def _reasons(self, reasons: dict[str, int]) -> nodes.Node:
        if not reasons:
            return self.paragraph("None: no case of the reference runs skipped.")
        items = nodes.enumerated_list(enumtype="arabic", prefix="", suffix=".")
        items += [nodes.list_item("", nodes.paragraph(reason, reason)) for reason in reasons]
        return items

    def _failing(self, matrix: ports.Matrix) -> nodes.Node:
        found = ports.failing_cases(matrix)
        if not found:
            return self.paragraph("None.")
        items = nodes.bullet_list()
        for column, outcome in found:
            label = f" {outcome.outcome}" + (f": {outcome.message}" if outcome.message else "")
            items += nodes.list_item("", nodes.paragraph(
                "", f"{column.name}: ", nodes.literal(outcome.case_id, outcome.case_id),
                nodes.inline("", label, classes=[STATE_CLASSES[outcome.outcome]])))
        return items
