"""Runs of fonted text to man(7) source lines, the way man-pages(7) writes them.

Pure functions, no Sphinx: a paragraph arrives as a list of spans (font,
text) and leaves as source lines with one sentence per line, fonts as
.B/.I/.BR-style macros on their own lines, and escapes applied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ROMAN, BOLD, ITALIC = "R", "B", "I"

# A hyphen that starts a token before a letter or digit is a real minus
# sign or option dash: -1, -ENOENT, -lc. Hyphens inside words stay hyphens.
_MINUS = re.compile(r"(?<![\w\\-])-(?=[\w.])")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)")
_SPACE = re.compile(r"\s+")
_CLAUSE_END = re.compile(r"(?<=[,;:])\s+")
# mandoc -Tlint flags text lines longer than this; man-pages breaks them at
# clause boundaries ("semantic newlines") rather than anywhere.
MAX_TEXT_LINE = 80


@dataclass(frozen=True)
class Span:
    font: str
    text: str


def escape(text: str) -> str:
    """Escape backslashes and mark real minus signs as \\-."""
    return _MINUS.sub(r"\\-", text.replace("\\", "\\e"))


def escape_code(text: str) -> str:
    """Escape one line of code: every hyphen-minus is a minus to copy."""
    return text.replace("\\", "\\e").replace("-", "\\-")


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


def _merge(spans: list[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in spans:
        if not span.text:
            continue
        if merged and merged[-1].font == span.font:
            merged[-1] = Span(span.font, merged[-1].text + span.text)
        else:
            merged.append(span)
    return merged


def _units(spans: list[Span]) -> list[list[Span]]:
    """Split at roman white space: a unit is what one macro line can carry."""
    units: list[list[Span]] = [[]]
    for span in _merge([Span(s.font, _SPACE.sub(" ", s.text)) for s in spans]):
        if span.font != ROMAN:
            units[-1].append(span)
            continue
        pieces = span.text.split(" ")
        for index, piece in enumerate(pieces):
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
    """Break a long sentence after commas, semicolons and colons, then at words."""
    if len(sentence) <= limit:
        return [sentence]
    lines: list[str] = []
    for clause in _pack(_CLAUSE_END.split(sentence), limit):
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
    merged = _merge([Span(span.font, _SPACE.sub(" ", span.text)) for span in spans])
    merged = [span for span in merged if span.text.strip() or span.font == ROMAN]
    if len(merged) == 1 and merged[0].font != ROMAN:
        return _macro_line(merged)
    if len(merged) == 1:
        return protect_line(escape(merged[0].text.strip()))
    return _macro_line(merged)


def code_lines(text: str) -> list[str]:
    """Source lines of a no-fill code block, without the .EX/.EE around it."""
    return [protect_line(escape_code(line.rstrip())) for line in text.rstrip("\n").split("\n")]
