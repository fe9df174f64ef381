"""A man translator that writes what man-pages(7) asks for, and nothing else.

Stock Sphinx output uppercases the title, writes .sp and .INDENT macros,
turns every hyphen into a minus and appends AUTHOR after SEE ALSO. This
subclass renders every node itself and refuses node types it does not know,
so none of the stock behaviour can leak into the page.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import TYPE_CHECKING

from docutils import nodes
from sphinx import addnodes
from sphinx.writers.manpage import ManualPageTranslator

from movephys.spec import Spec

from . import roff
from .specsource import current_spec

if TYPE_CHECKING:
    from sphinx.builders import Builder

SUPPORTED_NODES = frozenset(
    {
        "document",
        "section",
        "title",
        "paragraph",
        "definition_list",
        "definition_list_item",
        "term",
        "definition",
        "bullet_list",
        "list_item",
        "literal_block",
        "table",
        "synopsis",
        "prerendered",
        "comment",
        "target",
        "start_of_file",
    }
)

_FONTS: dict[type[nodes.Node], str] = {
    nodes.emphasis: roff.ITALIC,
    nodes.strong: roff.BOLD,
    nodes.literal: roff.BOLD,
}


class UnsupportedNodeError(Exception):
    """The page uses a construct this translator does not render."""


def copyright_year(spec: Spec) -> int:
    """The year the page's text was last changed: the spec's date.

    Not SOURCE_DATE_EPOCH, which dates a build: rebuilding an old release
    must not move its copyright forward.
    """
    return spec.meta.date.year


def page_date(spec: Spec) -> datetime.date:
    """SOURCE_DATE_EPOCH when set (reproducible builds), else the spec's date."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.datetime.fromtimestamp(int(epoch), tz=datetime.UTC).date()
    return spec.meta.date


def inline_spans(node: nodes.Element, font: str = roff.ROMAN) -> list[roff.Span]:
    spans: list[roff.Span] = []
    for child in node.children:
        if isinstance(child, nodes.Text):
            spans.append(roff.Span(font, child.astext()))
        elif isinstance(child, addnodes.manpage):
            spans.append(roff.Span(roff.BOLD, roff.NO_HYPHEN + child["page"]))
            spans.append(roff.Span(roff.ROMAN, f"({child['section']})"))
        elif isinstance(child, nodes.strong) and "function" in child["classes"]:
            spans.append(roff.Span(roff.BOLD, roff.NO_HYPHEN + child.astext()))
        elif isinstance(child, nodes.system_message):
            raise UnsupportedNodeError(f"reST problem in the page: {child.astext()}")
        elif isinstance(child, nodes.Element):
            spans.extend(inline_spans(child, _FONTS.get(type(child), font)))
    return spans


class ManPageTranslator(ManualPageTranslator):
    def __init__(self, document: nodes.document, builder: Builder) -> None:
        super().__init__(document, builder)
        self.spec = current_spec(Path(self.config.movephys_spec_dir))
        self.lines: list[str] = []
        self.depth = 0
        self.pending_break: str | None = None
        self.inside_item: list[str] = []
        self.has_table = False
        self.bullets_open = False

    # Dispatch: only the nodes this page is made of.

    def dispatch_visit(self, node: nodes.Node) -> None:
        name = type(node).__name__
        if name not in SUPPORTED_NODES:
            source = f"{node.source}:{node.line}" if getattr(node, "source", None) else "page"
            raise UnsupportedNodeError(f"{source}: the man translator does not render {name}")
        super().dispatch_visit(node)

    def astext(self) -> str:
        meta = self.spec.meta
        date = page_date(self.spec)
        # man(7): a first line of '\" t tells man(1) to run tbl.
        preprocessors = ["'\\\" t"] if self.has_table else []
        header = preprocessors + [
            f'.\\" Copyright (c) {copyright_year(self.spec)}, {meta.copyright}',
            '.\\"',
            f'.\\" SPDX-License-Identifier: {meta.license}',
            '.\\"',
            '.\\" Rendered from spec/*.toml by manpage/_ext/movephys_man.',
            f'.TH {meta.name} {meta.section} {date.isoformat()} "movephys {self.config.version}"',
            ".SH NAME",
            f"{meta.name} \\- {roff.escape(meta.summary)}",
        ]
        return "\n".join(header + self.lines) + "\n"

    def _break(self) -> None:
        if self.pending_break:
            self.lines.append(self.pending_break)
        self.pending_break = None

    def _paragraph_separator(self) -> str:
        return ".IP" if self.inside_item else ".P"

    # Structure.

    def visit_document(self, node: nodes.document) -> None:
        pass

    def depart_document(self, node: nodes.document) -> None:
        pass

    def visit_start_of_file(self, node: nodes.Element) -> None:
        pass

    def depart_start_of_file(self, node: nodes.Element) -> None:
        pass

    def visit_section(self, node: nodes.section) -> None:
        self.depth += 1

    def depart_section(self, node: nodes.section) -> None:
        self.depth -= 1

    def visit_title(self, node: nodes.title) -> None:
        # Depth 1 is the document title: NAME in the header replaces it.
        title = node.astext()
        if self.depth == 2:
            self.lines.append(f".SH {roff.quote_argument(title.upper())}")
        elif self.depth == 3:
            self.lines.append(f".SS {roff.quote_argument(title)}")
        elif self.depth > 3:
            raise UnsupportedNodeError(f"section nesting too deep at {title!r}")
        self.pending_break = None
        raise nodes.SkipNode

    # As Sphinx's own ManualPageTranslator.visit_comment (same ignore): it drops the
    # optional ``sub`` argument of docutils' visit_comment, which nothing here passes.
    def visit_comment(self, node: nodes.Element) -> None:  # type: ignore[override]
        raise nodes.SkipNode

    def visit_target(self, node: nodes.target) -> None:
        raise nodes.SkipNode

    def visit_paragraph(self, node: nodes.paragraph) -> None:
        self._break()
        self.lines.extend(roff.paragraph_lines(inline_spans(node)))
        self.pending_break = self._paragraph_separator()
        raise nodes.SkipNode

    # Lists: .TP for tagged entries, .IP with a bullet for plain ones.

    def visit_definition_list(self, node: nodes.definition_list) -> None:
        if self.inside_item:
            raise UnsupportedNodeError("nested lists are not part of this page")
        self.pending_break = None

    def depart_definition_list(self, node: nodes.definition_list) -> None:
        self.pending_break = ".P"

    def visit_definition_list_item(self, node: nodes.definition_list_item) -> None:
        self.lines.append(".TP")

    def depart_definition_list_item(self, node: nodes.definition_list_item) -> None:
        pass

    def visit_term(self, node: nodes.term) -> None:
        self.lines.append(roff.tag_line(inline_spans(node)))
        raise nodes.SkipNode

    def visit_definition(self, node: nodes.definition) -> None:
        self.inside_item.append("definition")
        self.pending_break = None

    def depart_definition(self, node: nodes.definition) -> None:
        self.inside_item.pop()
        self.pending_break = None

    def visit_bullet_list(self, node: nodes.bullet_list) -> None:
        if self.inside_item:
            raise UnsupportedNodeError("nested lists are not part of this page")
        self.pending_break = None
        self.bullets_open = False

    def depart_bullet_list(self, node: nodes.bullet_list) -> None:
        self.pending_break = ".P"

    def visit_list_item(self, node: nodes.list_item) -> None:
        # man-pages gives the indent on the first item only.
        self.lines.append(".IP \\[bu]" if self.bullets_open else ".IP \\[bu] 3")
        self.bullets_open = True
        self.inside_item.append("bullet")
        self.pending_break = None

    def depart_list_item(self, node: nodes.list_item) -> None:
        self.inside_item.pop()
        self.pending_break = None

    # Code.

    def visit_literal_block(self, node: nodes.literal_block) -> None:
        if "program" in node["classes"]:
            self._program(node)
        else:
            self.pending_break = self.pending_break or self._paragraph_separator()
            self._break()
            self.lines.append(".in +4n")
            self.lines.append(".EX")
            if "session" in node["classes"]:
                self.lines.extend(roff.session_lines(node.astext()))
            else:
                self.lines.extend(roff.code_lines(node.astext()))
            self.lines.append(".EE")
            self.lines.append(".in")
        self.pending_break = self._paragraph_separator()
        raise nodes.SkipNode

    def _program(self, node: nodes.literal_block) -> None:
        """A whole program, marked for the man-pages build that extracts it."""
        if self.lines[-1].startswith((".SH", ".SS")):
            self.lines.append("\\&")
        else:
            self.pending_break = self.pending_break or ".P"
            self._break()
        self.lines.append(f'.\\" SRC BEGIN ({node["source_name"]})')
        self.lines.append(".EX")
        self.lines.extend(roff.code_lines(node.astext()))
        self.lines.append(".EE")
        self.lines.append('.\\" SRC END')

    # Tables: through tbl(1), a header row in bold.

    def visit_table(self, node: nodes.table) -> None:
        header = [_cells(row) for row in node.findall(nodes.row) if _in_head(row)]
        body = [_cells(row) for row in node.findall(nodes.row) if not _in_head(row)]
        self.pending_break = self.pending_break or ".P"
        self._break()
        self.lines.extend(roff.table_lines(header, body))
        self.has_table = True
        self.pending_break = ".P"
        raise nodes.SkipNode

    def visit_synopsis(self, node: nodes.Element) -> None:
        self._break()
        self.lines.extend(node["roff_lines"])
        self.pending_break = ".P"
        raise nodes.SkipNode

    def visit_prerendered(self, node: nodes.Element) -> None:
        self.visit_synopsis(node)


def _in_head(row: nodes.row) -> bool:
    return isinstance(row.parent, nodes.thead)


def _cells(row: nodes.row) -> list[str]:
    return [" ".join(entry.astext().split()) for entry in row.children]
