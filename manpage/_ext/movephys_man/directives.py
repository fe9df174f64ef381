"""Directives that render the page's lists and paragraphs from the spec.

Each produces ordinary docutils nodes (paragraphs, definition lists,
literal blocks), so the HTML builder shows them unchanged and the man
translator turns them into man-pages macros. Every directive notes the spec
files as dependencies, so editing a table rebuilds the page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import ClassVar

from docutils import nodes
from docutils.parsers.rst import directives
from sphinx.util.docutils import SphinxDirective

from movephys.spec import Rule, Spec, StatusRow

from . import synopsis as synopsis_text
from .specsource import current_spec
from .synopsis_node import prerendered, synopsis

MANPAGE_DIR = Path(__file__).resolve().parents[2]
EXAMPLES_DIR = MANPAGE_DIR / "examples"


class SpecDirective(SphinxDirective):
    """Base: the spec, dependency notes, and rST inline text to nodes."""

    has_content = False

    @property
    def spec(self) -> Spec:
        directory = Path(self.config.movephys_spec_dir)
        spec = current_spec(directory)
        for path in spec.files:
            self.env.note_dependency(str(path))
        return spec

    def inline(self, text: str) -> list[nodes.Node]:
        # The line breaks of the spec text are its semantic newlines: kept.
        lines = (" ".join(line.split()) for line in text.strip().splitlines())
        children, messages = self.state.inline_text("\n".join(lines), self.lineno)
        return [*children, *messages]

    def paragraph(self, text: str) -> nodes.paragraph:
        return nodes.paragraph("", "", *self.inline(text))

    def item(self, term: Sequence[nodes.Node], *paragraphs: str) -> nodes.definition_list_item:
        definition = nodes.definition("", *(self.paragraph(text) for text in paragraphs))
        return nodes.definition_list_item("", nodes.term("", "", *term), definition)


def simple_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> nodes.table:
    """A docutils table of plain text: HTML shows it, the man translator
    turns it into tbl(1) input."""
    group = nodes.tgroup("", cols=len(header))
    group += [nodes.colspec("", colwidth=1) for _ in header]

    def row(cells: Sequence[str]) -> nodes.row:
        return nodes.row("", *(nodes.entry("", nodes.paragraph(cell, cell)) for cell in cells))

    group += nodes.thead("", row(header))
    group += nodes.tbody("", *(row(cells) for cells in rows))
    return nodes.table("", group)


class LibraryDirective(SpecDirective):
    """The LIBRARY line, spelled as man-pages spells it (a no-break space)."""

    def run(self) -> list[nodes.Node]:
        meta = self.spec.meta
        text = f"{meta.library} ({meta.library_short}, {meta.library_link})"
        node = prerendered("", nodes.paragraph(text, text))
        link = meta.library_link.replace("-", "\\-")
        node["roff_lines"] = [meta.library, f".RI ( {meta.library_short} ,\\~ {link} )"]
        return [node]


class SynopsisDirective(SpecDirective):
    """The prototype and the pidfd_open.2-style note on the missing wrapper."""

    def run(self) -> list[nodes.Node]:
        spec = self.spec
        name = spec.meta.name
        text = synopsis_text.plain_text(name, spec.signature)
        node = synopsis("", nodes.literal_block(text, text, language="c"))
        node["roff_lines"] = synopsis_text.roff_lines(name, spec.signature)
        note = self.paragraph(
            f"*Note*: glibc provides no wrapper for :fn:`{name}`, "
            "necessitating the use of :manpage:`syscall(2)`."
        )
        return [node, note]


class ArgumentsDirective(SpecDirective):
    def run(self) -> list[nodes.Node]:
        items = [
            self.item([nodes.emphasis(arg.name, arg.name)], arg.meaning)
            for arg in self.spec.signature.args
        ]
        return [nodes.definition_list("", *items)]


class FlagsDirective(SpecDirective):
    def run(self) -> list[nodes.Node]:
        items = []
        for flag in self.spec.flags:
            term = [nodes.strong(flag.name, flag.name), nodes.Text(f" ({flag.value})")]
            items.append(self.item(term, flag.meaning))
        return [nodes.definition_list("", *items)]


RULE_GROUPS = (
    "description",
    "capability",
    "compat",
    "return_value",
    "versions",
    "standards",
    "notes",
    "address_sources",
    "caveats",
    "bugs",
)


def _id_list(argument: str) -> list[str]:
    return [item.strip() for item in argument.split(",") if item.strip()]


class RulesDirective(SpecDirective):
    """Rules of one group, one paragraph each, or one paragraph with :join:."""

    required_arguments = 1
    option_spec: ClassVar[dict[str, Callable[[str], object]]] = {
        "only": _id_list,
        "exclude": _id_list,
        "join": directives.flag,
        "bullets": directives.flag,
    }

    def run(self) -> list[nodes.Node]:
        group = self.arguments[0]
        if group not in RULE_GROUPS:
            raise self.error(f"unknown rule group {group!r}; expected one of {RULE_GROUPS}")
        rules: tuple[Rule, ...] = getattr(self.spec, group)
        known = {rule.id for rule in rules}
        for wanted in [*self.options.get("only", []), *self.options.get("exclude", [])]:
            if wanted not in known:
                raise self.error(f"{group} has no rule {wanted!r}")
        only = self.options.get("only")
        if only:
            rules = tuple(rule for wanted in only for rule in rules if rule.id == wanted)
        excluded = set(self.options.get("exclude", []))
        texts = [rule.text for rule in rules if rule.id not in excluded]
        if "join" in self.options:
            return [self.paragraph(" ".join(texts))]
        if "bullets" in self.options:
            items = [nodes.list_item("", self.paragraph(text)) for text in texts]
            return [nodes.bullet_list("", *items, bullet="*")]
        return [self.paragraph(text) for text in texts]


class ErrorsDirective(SpecDirective):
    """ERRORS: alphabetical by errno, one entry per condition."""

    def run(self) -> list[nodes.Node]:
        rows = sorted(self.spec.whole_call_errors, key=lambda row: row.errno)
        items = [self.item([nodes.strong(row.errno, row.errno)], row.condition) for row in rows]
        return [nodes.definition_list("", *items)]


def status_term(row: StatusRow) -> list[nodes.Node]:
    if row.value == "node":
        text = "the target node" if row.mode == "move" else "the page's node"
        return [nodes.emphasis(text, text)]
    if row.value == "unwritten":
        return [nodes.Text("(unchanged)")]
    return [nodes.strong(row.value, row.value)]


class StatusDirective(SpecDirective):
    """Per-page status values of one mode, in the order the kernel decides them.

    With :numbered: each tag carries its rank, so that a reader sees which
    condition wins when several hold (four causes give -ENOENT first).
    """

    required_arguments = 1
    option_spec: ClassVar[dict[str, Callable[[str], object]]] = {"numbered": directives.flag}

    def run(self) -> list[nodes.Node]:
        mode = self.arguments[0]
        if mode not in ("move", "query"):
            raise self.error(f"status mode must be move or query, not {mode!r}")
        rows = self.spec.status_move if mode == "move" else self.spec.status_query
        items = []
        for rank, row in enumerate(rows, 1):
            term = status_term(row)
            if "numbered" in self.options:
                term.insert(0, nodes.Text(f"{rank}. "))
            items.append(self.item(term, row.condition))
        return [nodes.definition_list("", *items)]


class NumbersDirective(SpecDirective):
    """A table of numbers, a series a row and an ABI a column, then the
    mainline calls that took them."""

    def run(self) -> list[nodes.Node]:
        spec = self.spec
        series_names = list(dict.fromkeys(number.series for number in spec.numbers))
        abis = list(dict.fromkeys(number.abi for number in spec.numbers))
        rows = []
        for series in series_names:
            by_abi = {number.abi: str(number.nr) for number in spec.numbers_for(series)}
            rows.append([series, *(by_abi.get(abi, "") for abi in abis)])
        used = {number.nr for number in spec.numbers}
        taken = [
            f"{collision.nr} to :fn:`{collision.name}` in Linux {collision.since}"
            for collision in spec.collisions
            if collision.nr in used
        ]
        if len(taken) > 1:
            taken[-1] = "and " + taken[-1]
        return [
            simple_table(["Series", *abis], rows),
            self.paragraph(f"Mainline Linux gave {', '.join(taken)}."),
        ]


class HistoryDirective(SpecDirective):
    """Dated rows as a list by date; undated rows as paragraphs after it."""

    def run(self) -> list[nodes.Node]:
        history = self.spec.history
        items = [
            self.item([nodes.Text(row.date)], row.text) for row in history if row.date is not None
        ]
        result: list[nodes.Node] = [nodes.definition_list("", *items)] if items else []
        result += [self.paragraph(row.text) for row in history if row.date is None]
        return result


class ElementWidthsDirective(SpecDirective):
    def run(self) -> list[nodes.Node]:
        rows = [
            [width.caller, width.kernel, f"{width.bits // 8} bytes"]
            for width in self.spec.element_widths
        ]
        return [simple_table(["Caller", "Kernel", "Element of pages"], rows)]


class SeeAlsoDirective(SpecDirective):
    """Ordered by section then name; no final period."""

    def run(self) -> list[nodes.Node]:
        references = ", ".join(f":manpage:`{page}`" for page in self.spec.see_also)
        return [self.paragraph(references)]


class ExampleDirective(SpecDirective):
    """A file from manpage/examples/, shown whole: a program (``.c``), or a
    sample shell session (``.session``: "$ " starts what the reader types)."""

    required_arguments = 1

    def run(self) -> list[nodes.Node]:
        path = EXAMPLES_DIR / self.arguments[0]
        if not path.is_file():
            raise self.error(f"no example file {path}")
        self.env.note_dependency(str(path))
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".session":
            block = nodes.literal_block(text, text, language="console")
            block["classes"].append("session")
            return [block]
        block = nodes.literal_block(text, text, language="c")
        block["classes"].append("program")
        block["source_name"] = path.name
        return [block]


DIRECTIVES: dict[str, type[SpecDirective]] = {
    "mpp-library": LibraryDirective,
    "mpp-synopsis": SynopsisDirective,
    "mpp-arguments": ArgumentsDirective,
    "mpp-flags": FlagsDirective,
    "mpp-rules": RulesDirective,
    "mpp-errors": ErrorsDirective,
    "mpp-status": StatusDirective,
    "mpp-numbers": NumbersDirective,
    "mpp-history": HistoryDirective,
    "mpp-element-widths": ElementWidthsDirective,
    "mpp-see-also": SeeAlsoDirective,
    "mpp-example": ExampleDirective,
}
