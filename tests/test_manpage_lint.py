"""move_phys_pages.2 passes the man-pages project's lint and follows man-pages(7).

Each lint command must print nothing. One mandoc message is filtered, the
same one the man-pages project filters in its own lint: mandoc's style
check wants an upper-case .TH title, which man-pages(7) no longer uses.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from manpage_build import (
    EXAMPLE_PROGRAM,
    EXAMPLE_SESSION,
    MANPAGE_DIR,
    build_example,
    build_man_page,
    reference_headers,
)

from movephys.spec import load_spec

MAN_PAGES_SECTION_ORDER = [
    "NAME",
    "LIBRARY",
    "SYNOPSIS",
    "DESCRIPTION",
    "RETURN VALUE",
    "ERRORS",
    "VERSIONS",
    "STANDARDS",
    "HISTORY",
    "NOTES",
    "CAVEATS",
    "BUGS",
    "EXAMPLES",
    "SEE ALSO",
]
MANDOC_FILTERED = "STYLE: lower case character in document title:"


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_man_page(tmp_path_factory.mktemp("man"))


@pytest.fixture(scope="module")
def source(page: Path) -> list[str]:
    return page.read_text(encoding="utf-8").split("\n")


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (Debian package: mandoc, groff or man-db)")
    return path


def _run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})}
    )


def _groff_version() -> tuple[int, ...]:
    first_line = _run(_tool("groff"), "--version").stdout.split("\n", 1)[0]
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", first_line)
    assert match, f"cannot read the groff version from {first_line!r}"
    return tuple(int(part) for part in match.groups(default="0"))


def test_mandoc_lint_prints_nothing(page: Path) -> None:
    result = _run(_tool("mandoc"), "-Tlint", str(page))
    messages = [line for line in result.stdout.splitlines() + result.stderr.splitlines() if line]
    assert [line for line in messages if MANDOC_FILTERED not in line] == []


def test_groff_warnings_print_nothing(page: Path) -> None:
    style = ["-rCHECKSTYLE=3"] if _groff_version() >= (1, 23) else []
    result = _run(_tool("groff"), "-man", "-ww", "-z", *style, str(page))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_man_warnings_print_nothing(page: Path) -> None:
    result = _run(_tool("man"), "--warnings", "-l", str(page), env={"MANWIDTH": "80"})
    assert result.returncode == 0
    assert result.stderr == ""


def test_lexgrog_parses_whatis_line(page: Path) -> None:
    result = _run(_tool("lexgrog"), str(page))
    assert result.returncode == 0, result.stdout + result.stderr
    summary = load_spec().meta.summary
    assert f'"move_phys_pages - {summary}"' in result.stdout


def test_no_rendered_line_past_79_columns(page: Path) -> None:
    rendered = _run(_tool("man"), "-l", str(page), env={"MANWIDTH": "80"})
    plain = subprocess.run(
        [_tool("col"), "-b", "-x"],
        input=rendered.stdout,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    too_long = [
        f"{number}: {line}" for number, line in enumerate(plain.splitlines(), 1) if len(line) > 79
    ]
    assert too_long == []
    assert "move_phys_pages" in plain


def test_header_comment_then_th(source: list[str]) -> None:
    # man(7): a page with a table says so on its first line, for man(1).
    assert source[0] == "'\\\" t"
    assert source[1].startswith('.\\" Copyright ')
    assert "movephys developers" in source[1]
    assert any(line.startswith('.\\" SPDX-License-Identifier: ') for line in source[:5])
    th_lines = [line for line in source if line.startswith(".TH")]
    assert len(th_lines) == 1
    version = __import__("movephys").__version__
    pattern = rf'^\.TH move_phys_pages 2 \d{{4}}-\d{{2}}-\d{{2}} "movephys {re.escape(version)}"$'
    assert re.match(pattern, th_lines[0]), th_lines[0]


def _sections(source: list[str]) -> list[str]:
    return [line[4:].strip('"') for line in source if line.startswith(".SH ")]


def test_sections_in_man_pages_order(source: list[str]) -> None:
    sections = _sections(source)
    assert [name for name in MAN_PAGES_SECTION_ORDER if name in sections] == sections
    for required in ("NAME", "LIBRARY", "SYNOPSIS", "DESCRIPTION", "RETURN VALUE", "ERRORS"):
        assert required in sections


def test_nothing_after_see_also(source: list[str]) -> None:
    assert _sections(source)[-1] == "SEE ALSO"
    tail = source[source.index('.SH "SEE ALSO"') + 1 :]
    assert all(line.startswith(".BR ") or line == "" for line in tail), tail
    assert not tail[-2].endswith(".")
    names = [line.split()[1:3] for line in tail if line]
    keys = [(section.strip("(),"), name) for name, section in names]
    assert keys == sorted(keys)


def _section_body(source: list[str], name: str) -> list[str]:
    heading = f'.SH "{name}"' if " " in name else f".SH {name}"
    start = source.index(heading) + 1
    end = next(
        (index for index in range(start, len(source)) if source[index].startswith(".SH")),
        len(source),
    )
    return source[start:end]


def test_errors_alphabetical_one_tp_per_condition(source: list[str]) -> None:
    body = _section_body(source, "ERRORS")
    tags = [body[index + 1] for index, line in enumerate(body) if line == ".TP"]
    assert all(tag.startswith(".B E") for tag in tags), tags
    errnos = [tag.split()[1] for tag in tags]
    assert errnos == sorted(errnos)
    assert len(tags) == len(load_spec().whole_call_errors)


def test_synopsis_is_a_syscall_without_wrapper(source: list[str]) -> None:
    body = "\n".join(_section_body(source, "SYNOPSIS"))
    assert ".B #include <unistd.h>" in body
    # glibc defines no SYS_move_phys_pages; the kernel's header has the number.
    assert '"#include <asm/unistd.h>"' in body and " __NR_* " in body
    assert "numaif.h" not in body and "sys/syscall.h" not in body
    assert '.BI "long syscall(__NR_move_phys_pages, unsigned long " nr_pages ,' in body
    assert "glibc provides no wrapper for" in body


def test_synopsis_uses_the_current_array_syntax(source: list[str]) -> None:
    body = _section_body(source, "SYNOPSIS")
    assert '.BI "             const void *" pages [ nr_pages ],' in body
    assert not [line for line in body if "[." in line]


def test_library_is_the_man_pages_idiom(source: list[str]) -> None:
    assert _section_body(source, "LIBRARY") == ["Standard C library", ".RI ( libc ,\\~ \\-lc )"]


def test_no_stock_sphinx_macros(source: list[str]) -> None:
    forbidden = (".sp", ".INDENT", ".UNINDENT", ".PP", ".LP", ".de ", ".SH AUTHOR", ".SH COPYRIGHT")
    found = [line for line in source if line.startswith(forbidden)]
    assert found == []
    assert "" not in source[:-1], "blank line in the source"


def _text_lines(source: list[str]) -> list[str]:
    """Filled text lines: not requests, not comments, not inside .nf or .EX."""
    lines, verbatim = [], False
    for line in source:
        if line in (".nf", ".EX"):
            verbatim = True
        elif line in (".fi", ".EE"):
            verbatim = False
        elif not verbatim and line and not line.startswith((".", "'")):
            lines.append(line)
    return lines


def test_one_sentence_per_source_line(source: list[str]) -> None:
    joined = [line for line in _text_lines(source) if re.search(r"[a-z)][.!?] +[A-Z]", line)]
    assert joined == []


def test_minus_only_for_real_minus_signs(source: list[str]) -> None:
    hyphen_as_minus = [line for line in _text_lines(source) if re.search(r"\w\\-\w", line)]
    assert hyphen_as_minus == []
    assert "\\-1" in "\n".join(source)


def test_paragraphs_are_p_after_sh_nothing(source: list[str]) -> None:
    after_heading = [
        source[index + 1] for index, line in enumerate(source) if line.startswith((".SH", ".SS"))
    ]
    assert not [line for line in after_heading if line in (".P", ".IP", ".sp")]


def test_two_builds_are_byte_identical(tmp_path: Path, page: Path) -> None:
    again = build_man_page(tmp_path / "again")
    assert again.read_bytes() == page.read_bytes()


def test_date_from_spec_without_source_date_epoch(source: list[str]) -> None:
    date = load_spec().meta.date.isoformat()
    assert any(line.startswith(f".TH move_phys_pages 2 {date} ") for line in source)


def test_date_from_source_date_epoch_copyright_from_spec(tmp_path: Path) -> None:
    page = build_man_page(tmp_path / "epoch", source_date_epoch="1710806400")  # 2024-03-19
    text = page.read_text(encoding="utf-8")
    assert ".TH move_phys_pages 2 2024-03-19 " in text
    # A build's date must not move the copyright of the text.
    assert f"Copyright (c) {load_spec().meta.date.year}," in text


def _code_ranges(source: list[str]) -> list[bool]:
    """For each source line, whether it is code: inside .nf/.fi or .EX/.EE."""
    code, inside = [], False
    for line in source:
        if line in (".nf", ".EX"):
            inside = True
        elif line in (".fi", ".EE"):
            inside = False
        code.append(inside and line not in (".nf", ".EX"))
    return code


def test_no_source_line_over_80_and_no_text_line_over_75(source: list[str]) -> None:
    assert [line for line in source if len(line) > 80] == []
    long_text = [
        f"{number}: {line}"
        for number, (line, code) in enumerate(zip(source, _code_ranges(source), strict=True), 1)
        if len(line) > 75 and not code
    ]
    assert long_text == []


@pytest.mark.parametrize("width", [80, 60])
def test_see_also_names_never_hyphenate(page: Path, width: int) -> None:
    rendered = _run(_tool("man"), "-l", str(page), env={"MANWIDTH": str(width)}).stdout
    plain = subprocess.run([_tool("col"), "-b", "-x"], input=rendered, capture_output=True,
                           text=True, check=True).stdout
    see_also = plain.split("SEE ALSO", 1)[1].split("\n\n", 1)[0]
    assert not re.search(r"[-\u2010]\n", see_also), see_also
    words = see_also.split()
    for reference in load_spec().see_also:
        assert any(word.rstrip(",") == str(reference) for word in words), (reference, see_also)


def test_numbers_are_a_tbl_table(source: list[str]) -> None:
    body = _section_body(source, "VERSIONS")
    table = body[body.index(".TS") + 1 : body.index(".TE")]
    assert table[:2] == ["lB lB lB lB", "l l l l."]
    assert any(line.startswith("RFC v3\t462\t") for line in table)


def test_move_statuses_are_ranked(source: list[str]) -> None:
    body = _section_body(source, "DESCRIPTION")
    tags = [body[index + 1] for index, line in enumerate(body) if line == ".TP"]
    # "11. (unchanged)" is all roman: a plain text tag.
    ranks = [int(match[1]) for tag in tags if (match := re.match(r'(?:\.R[BI] ")?(\d+)\. ', tag))]
    assert ranks == list(range(1, len(load_spec().status_move) + 1))


def test_examples_program_source_with_src_markers(source: list[str]) -> None:
    body = _section_body(source, "EXAMPLES")
    start = body.index('.\\" SRC BEGIN (move_phys_pages_example.c)')
    assert body[start - 2 : start] == ['.SS "Program source"', "\\&"]
    assert body[start + 1] == ".EX"
    end = body.index('.\\" SRC END')
    assert body[end - 1] == ".EE"
    program = EXAMPLE_PROGRAM.read_text(encoding="utf-8").rstrip("\n").split("\n")
    assert len(body[start + 2 : end - 1]) == len(program)


def test_examples_show_the_sample_session(source: list[str]) -> None:
    body = "\n".join(_section_body(source, "EXAMPLES"))
    for line in EXAMPLE_SESSION.read_text(encoding="utf-8").splitlines():
        expected = line.replace("-", "\\-")
        if line.startswith("$ "):
            expected = f"$ \\fB{expected[2:]}\\fP"
        assert expected in body


@pytest.fixture(scope="module")
def headers() -> Path:
    found, reason = reference_headers()
    if found is None:
        pytest.skip(reason)
    return found


def test_example_program_builds_as_the_page_says(tmp_path: Path, headers: Path) -> None:
    """The page's own command, DIR filled in: no -D, no libnuma. Never run here."""
    result = build_example(headers, tmp_path)
    assert (result.returncode, result.stderr) == (0, "")
    assert (tmp_path / "a.out").is_file()


@pytest.mark.parametrize("bits", ["-m64", "-m32"])
def test_example_program_has_no_warnings(headers: Path, bits: str) -> None:
    """-m32 too: the refusal of an address a pointer cannot hold must compile there."""
    result = _run(_tool("gcc"), bits, "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
                  "-I", str(headers / "include"), str(EXAMPLE_PROGRAM))
    if bits == "-m32" and "bits/" in result.stderr and "No such file" in result.stderr:
        pytest.skip("no 32-bit C library headers (Debian package: gcc-multilib)")
    assert (result.returncode, result.stderr) == (0, "")


def test_malformed_spec_fails_the_build_in_one_line(tmp_path: Path) -> None:
    spec_copy = tmp_path / "spec"
    shutil.copytree(MANPAGE_DIR.parent / "spec", spec_copy)
    errors = spec_copy / "errors.toml"
    errors.write_text(errors.read_text().replace('errno = "EINVAL"', 'errno = "EBOGUS"', 1))
    result = _run(
        sys.executable, "-m", "sphinx", "-b", "man", "-q", "-E",
        "-D", f"movephys_spec_dir={spec_copy}", str(MANPAGE_DIR), str(tmp_path / "out"),
    )
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "errors.toml: whole_call_errors[0].errno: unknown errno name 'EBOGUS'" in result.stderr
