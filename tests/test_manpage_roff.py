"""The man(7) line writer of the page extension: fonts, sentences, escapes."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "manpage" / "_ext"))

from movephys_man.roff import (
    BOLD,
    ITALIC,
    ROMAN,
    Span,
    code_lines,
    escape,
    paragraph_lines,
    semantic_lines,
    session_lines,
    table_lines,
    tag_line,
)


def test_fonts_become_macro_lines_with_punctuation_attached() -> None:
    spans = [Span(ROMAN, "If "), Span(ITALIC, "nodes"), Span(ROMAN, " is NULL, see "),
             Span(BOLD, "move_pages"), Span(ROMAN, "(2).")]
    assert paragraph_lines(spans) == ["If", ".I nodes", "is NULL, see", ".BR \\%move_pages (2)."]


def test_one_sentence_per_line() -> None:
    assert paragraph_lines([Span(ROMAN, "One thing. Another thing.")]) == [
        "One thing.",
        "Another thing.",
    ]


def test_minus_only_for_real_minus_signs() -> None:
    assert escape("returns -1 or -ENOENT; file-backed 32-bit pages, link -lc") == (
        "returns \\-1 or \\-ENOENT; file-backed 32-bit pages, link \\-lc"
    )


def test_line_starting_with_a_period_is_protected() -> None:
    assert paragraph_lines([Span(ROMAN, ".config is read")]) == ["\\&.config is read"]


def test_long_sentence_breaks_at_every_clause_not_packed() -> None:
    sentence = "a" * 50 + ", " + "b" * 50 + "; " + "c" * 10
    assert semantic_lines(sentence) == ["a" * 50 + ",", "b" * 50 + ";", "c" * 10]


def test_short_sentence_stays_on_one_line() -> None:
    assert semantic_lines("one, two; three") == ["one, two; three"]


def test_line_breaks_of_the_text_are_kept() -> None:
    spans = [Span(ROMAN, "A clause,\nanother clause "), Span(ITALIC, "arg"),
             Span(ROMAN, "\nand the rest.")]
    assert paragraph_lines(spans) == ["A clause,", "another clause", ".I arg", "and the rest."]


def test_no_text_line_over_75_columns() -> None:
    words = " ".join(["word"] * 40) + "."
    assert max(len(line) for line in paragraph_lines([Span(ROMAN, words)])) <= 75


def test_identifiers_and_page_names_do_not_hyphenate() -> None:
    assert escape("set_mempolicy(2) and /sys/kernel/mm/page_idle/bitmap") == (
        "\\%set_mempolicy(2) and \\%/sys/kernel/mm/page_idle/bitmap"
    )
    assert escape("\u2060mbind, no_hyphen") == "\\%mbind, \\%no_hyphen"


def test_no_break_space() -> None:
    assert escape("libc,\u00a0-lc") == "libc,\\~\\-lc"


def test_tag_is_one_line() -> None:
    tag = tag_line([Span(BOLD, "MPOL_MF_MOVE"), Span(ROMAN, " (2)")])
    assert tag == '.BR \\%MPOL_MF_MOVE " (2)"'
    assert tag_line([Span(ITALIC, "the target node")]) == '.I "the target node"'


def test_code_escapes_backslash_and_every_minus_and_blank_lines() -> None:
    assert code_lines('printf("%d\\n", -1);\n\nx->y;\n') == [
        'printf("%d\\[rs]n", \\-1);',
        "\\&",
        "x\\->y;",
    ]


def test_session_commands_bold() -> None:
    assert session_lines("$ cc -I DIR x.c\nbefore: node 0\n") == [
        "$ \\fBcc \\-I DIR x.c\\fP",
        "before: node 0",
    ]


def test_table_through_tbl() -> None:
    assert table_lines([["Series", "x86_64"]], [["RFC v1", "454"]]) == [
        ".TS", "lB lB", "l l.", "Series\t\\%x86_64", "RFC v1\t454", ".TE",
    ]
