"""Runs of fonted text to man(7) source lines, the way man-pages(7) writes them.

Pure functions, no Sphinx: a paragraph arrives as a list of spans (font,
text) and leaves as source lines with one sentence or clause per line
(semantic newlines: the line breaks of the spec text are kept), fonts as
.B/.I/.BR-style macros on their own lines, and escapes applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROMAN, BOLD, ITALIC = "R", "B", "I"

# A hyphen that starts a token before a letter or digit is a real minus
# sign or option dash: -1, -ENOENT, -lc. Hyphens inside words stay hyphens.
_MINUS = re.compile(r"(?<![\w\\-])-(?=[\w.])")
_SENTENCE_END = re.compile(r"(?<=[.!?])[ ]+(?=\S)")
# Spaces and tabs only: a newline is a line break the author asked for, and
# U+00A0 is a space that must not break (\~).
_SPACE = re.compile(r"[ \t]+")
_CLAUSE_END = re.compile(r"(?<=[,;:])[ ]+")
# An identifier (a word with an underscore) must not be hyphenated:
# groff would render set_mempolicy as "set_mem-policy".
# \% must stand at the start of a word: inside one it marks a hyphenation point.
_IDENTIFIER = re.compile(r"(?<![^\s(])(?!\u2060)(?=[^\s(]*_)")
# Marks a word that must not be hyphenated; becomes \% in the source.
NO_HYPHEN = "\u2060"
NO_BREAK_SPACE = "\u00a0"
LINE_BREAK = "\n"
# man-pages: no source line over 80 columns, and none but code over 75.
MAX_TEXT_LINE = 75


@dataclass(frozen=True)
class Span:
    font: str
    text: str


def escape(text: str) -> str:
    """Escape backslashes, mark real minus signs as \\-, keep names whole."""
    text = _MINUS.sub(r"\\-", text.replace("\\", "\\[rs]"))
    text = _IDENTIFIER.sub(NO_HYPHEN, text)
    return text.replace(NO_HYPHEN, "\\%").replace(NO_BREAK_SPACE, "\\~")


def escape_code(text: str) -> str:
    """Escape one line of code: every hyphen-minus is a minus to copy."""
    return text.replace("\\", "\\[rs]").replace("-", "\\-")


def protect_line(line: str) -> str:
    """A text line must not start with a control character or be blank."""
    if not line:
        return "\\&"
    if line[0] in ".'":
        return "\\&" + line
    return line


def quote_argument(text: str) -> str:
    if text == "" or " " in text or '"' in text:
        return '"' + text.replace('"', '\\(dq') + '"'
    return text


def merge_spans(spans: list[Span]) -> list[Span]:
    """Neighbouring spans of one font joined, empty ones dropped."""
    merged: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if merged and merged[-1].font == span.font:
            merged[-1] = Span(span.font, merged[-1].text + span.text)
        else:
            merged.append(span)
    return merged


def _normalize(text: str) -> str:
    """Runs of spaces become one; a line break swallows the spaces around it."""
    lines = [_SPACE.sub(" ", line).strip(" ") for line in text.split(LINE_BREAK)]
    edges = (" " if text[:1] in " \t" else "", " " if text[-1:] in " \t" else "")
    return edges[0] * bool(lines[0]) + LINE_BREAK.join(lines) + edges[1] * bool(lines[-1])


_BREAK_UNIT = [Span(ROMAN, LINE_BREAK)]


def _units(spans: list[Span]) -> list[list[Span]]:
    """Split at roman white space: a unit is what one macro line can carry.

    A line break of the source text is a unit of its own, so that the
    sentence or clause after it starts a new source line.
    """
    units: list[list[Span]] = [[]]
    for span in merge_spans([Span(s.font, _normalize(s.text)) for s in spans]):
        if span.font != ROMAN:
            units[-1].append(Span(span.font, span.text.replace(LINE_BREAK, " ")))
            continue
        for line_index, line in enumerate(span.text.split(LINE_BREAK)):
            if line_index:
                units += [_BREAK_UNIT, []]
            for index, piece in enumerate(line.split(" ")):
                if index:
                    units.append([])
                if piece:
                    units[-1].append(Span(ROMAN, piece))
    return [unit for unit in units if unit]


def _macro_line(unit: list[Span]) -> str:
    fonts = [span.font for span in unit]
    texts = [escape(span.text.strip()) if len(unit) == 1 else escape(span.text) for span in unit]
    if len(unit) == 1:
        return f".{fonts[0]} {quote_argument(texts[0])}"
    pair = {fonts[0], fonts[1]}
    alternates = len(pair) == 2 and all(font == fonts[i % 2] for i, font in enumerate(fonts))
    if alternates and len(unit) <= 6:
        return f".{fonts[0]}{fonts[1]} " + " ".join(quote_argument(text) for text in texts)
    inline = "".join(f"\\f{span.font}{text}" for span, text in zip(unit, texts, strict=True))
    return protect_line(inline + "\\fR")


def _pack(pieces: list[str], limit: int) -> list[str]:
    lines: list[str] = []
    for piece in pieces:
        if lines and len(lines[-1]) + 1 + len(piece) <= limit:
            lines[-1] += " " + piece
        else:
            lines.append(piece)
    return lines


def semantic_lines(sentence: str, limit: int = MAX_TEXT_LINE) -> list[str]:
    """A sentence too long for one line: one clause per line, then words.

    The spec text should already break long sentences at its clauses;
    packing words is the last resort, for a clause longer than a line.
    """
    if len(sentence) <= limit:
        return [sentence]
    lines: list[str] = []
    for clause in _CLAUSE_END.split(sentence):
        lines.extend(_pack(clause.split(" "), limit) if len(clause) > limit else [clause])
    return lines


def _text_lines(words: list[str]) -> list[str]:
    text = escape(" ".join(words))
    return [
        protect_line(line)
        for sentence in _SENTENCE_END.split(text)
        for line in semantic_lines(sentence)
    ]


def paragraph_lines(spans: list[Span]) -> list[str]:
    """Source lines of one filled paragraph (or one .TP tag)."""
    lines: list[str] = []
    words: list[str] = []
    for unit in _units(spans):
        if unit is _BREAK_UNIT:
            if words:
                lines.extend(_text_lines(words))
                words = []
            continue
        if all(span.font == ROMAN for span in unit):
            words.append("".join(span.text for span in unit))
            continue
        if words:
            lines.extend(_text_lines(words))
            words = []
        lines.append(_macro_line(unit))
    if words:
        lines.extend(_text_lines(words))
    return lines


def tag_line(spans: list[Span]) -> str:
    """The single source line a .TP tag must fit in."""
    merged = merge_spans([Span(span.font, _SPACE.sub(" ", span.text.replace(LINE_BREAK, " ")))
                     for span in spans])
    merged = [span for span in merged if span.text.strip() or span.font == ROMAN]
    if len(merged) == 1 and merged[0].font != ROMAN:
        return _macro_line(merged)
    if len(merged) == 1:
        return protect_line(escape(merged[0].text.strip()))
    return _macro_line(merged)


def code_lines(text: str) -> list[str]:
    """Source lines of a no-fill code block, without the .EX/.EE around it."""
    return [protect_line(escape_code(line.rstrip())) for line in text.rstrip("\n").split("\n")]


def session_lines(text: str) -> list[str]:
    """A shell session: what the reader types after "$ " in bold."""
    lines = []
    for line in text.rstrip("\n").split("\n"):
        if line.startswith("$ "):
            lines.append("$ \\fB" + escape_code(line[2:]) + "\\fP")
        else:
            lines.append(protect_line(escape_code(line)))
    return lines


def table_lines(header: list[list[str]], body: list[list[str]]) -> list[str]:
    """A tbl(1) table: left-aligned columns, the header row in bold."""
    columns = max(len(row) for row in header + body)
    formats = [" ".join(["lB"] * columns)] if header else []
    formats.append(" ".join(["l"] * columns) + ".")
    rows = ["\t".join(escape(cell) for cell in row) for row in header + body]
    return [".TS", *formats, *(protect_line(row) for row in rows), ".TE"]
