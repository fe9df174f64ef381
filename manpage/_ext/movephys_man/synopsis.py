"""SYNOPSIS of a system call without a glibc wrapper, as pidfd_open.2 has it."""

from __future__ import annotations

from movephys.spec import Arg, Signature

from .roff import BOLD, ITALIC, ROMAN, Span, escape_code, merge_spans, quote_argument

Line = list[Span]


def declarator(arg: Arg) -> Line:
    """``const void **`` with array_of n -> ``const void *`` *pages* ``[`` *n* ``]``.

    man-pages since 6.10 names the length without the leading period of
    the old ``[.n]`` form, as read.2 and move_pages.2 do.
    """
    c_type = arg.c_type
    if arg.array_of is None:
        return [Span(BOLD, c_type + ("" if c_type.endswith("*") else " ")), Span(ITALIC, arg.name)]
    if not c_type.endswith("*"):
        raise ValueError(f"{arg.name}: array_of needs a pointer type, not {c_type!r}")
    element = c_type[:-1].rstrip()
    return [
        Span(BOLD, element + ("" if element.endswith("*") else " ")),
        Span(ITALIC, arg.name),
        Span(BOLD, "["),
        Span(ITALIC, arg.array_of),
        Span(BOLD, "]"),
    ]


def include_lines(signature: Signature) -> list[Line]:
    width = max(len(f"#include <{include.header}>") for include in signature.includes)
    lines: list[Line] = []
    for include in signature.includes:
        directive = f"#include <{include.header}>"
        if not include.defines:
            lines.append([Span(BOLD, directive)])
            continue
        padding = " " * (width - len(directive) + 2)
        lines.append(
            [
                Span(BOLD, directive),
                Span(ROMAN, f"{padding}/* Definition of "),
                Span(BOLD, include.defines),
                Span(ROMAN, " constants */"),
            ]
        )
    return lines


NUMBER_PREFIXES = ("SYS_", "__NR_")


def number_prefix(signature: Signature) -> str:
    """SYS_ or __NR_: whichever the included headers define for the number."""
    for include in signature.includes:
        prefix = include.defines.removesuffix("*")
        if prefix in NUMBER_PREFIXES:
            return prefix
    raise ValueError("no include defines the syscall number (SYS_* or __NR_*)")


def prototype_lines(name: str, signature: Signature) -> list[Line]:
    """One argument per line, continuation lines aligned under the first."""
    opening = f"{signature.return_type} syscall("
    prefix = number_prefix(signature)
    lines: list[Line] = []
    for index, arg in enumerate(signature.args):
        lead = opening + f"{prefix}{name}, " if index == 0 else " " * len(opening)
        tail = ");" if index == len(signature.args) - 1 else ","
        line = [Span(BOLD, lead), *declarator(arg), Span(BOLD, tail)]
        lines.append(merge_spans(line))
    return lines


def plain_text(name: str, signature: Signature) -> str:
    """The SYNOPSIS as plain text, for HTML and for a compile check."""
    lines = include_lines(signature) + [[]] + prototype_lines(name, signature)
    return "\n".join("".join(span.text for span in line) for line in lines)


def _macro(line: Line) -> str:
    fonts = "".join(span.font for span in line)
    if len(line) == 1:
        return f".{fonts} {escape_code(line[0].text)}"
    macro = fonts[:2]
    if any(font != macro[index % 2] for index, font in enumerate(fonts)):
        raise ValueError(f"fonts {fonts} do not alternate between two")
    return f".{macro} " + " ".join(quote_argument(escape_code(span.text)) for span in line)


def roff_lines(name: str, signature: Signature) -> list[str]:
    """A no-fill block: code bold, argument names italic."""
    lines = [".nf"]
    lines += [_macro(line) for line in include_lines(signature)]
    lines.append(".P")
    lines += [_macro(line) for line in prototype_lines(name, signature)]
    lines.append(".fi")
    return lines
