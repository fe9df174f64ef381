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
from manpage_build import MANPAGE_DIR, build_man_page

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
    assert source[0].startswith('.\\" Copyright ')
    assert "movephys developers" in source[0]
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
    assert "#include <sys/syscall.h>" in body
    assert "#include <numaif.h>" in body
    assert '.BI "long syscall(SYS_move_phys_pages, unsigned long " nr_pages ,' in body
    assert "glibc provides no wrapper for" in body


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


def test_date_from_source_date_epoch(tmp_path: Path) -> None:
    page = build_man_page(tmp_path / "epoch", source_date_epoch="1710806400")  # 2024-03-19
    assert ".TH move_phys_pages 2 2024-03-19 " in page.read_text(encoding="utf-8")
    assert "Copyright (c) 2024," in page.read_text(encoding="utf-8")


def test_example_program_compiles(tmp_path: Path) -> None:
    """Syntax only: the test must never run a guessed syscall number."""
    program = MANPAGE_DIR / "examples" / "move_phys_pages_example.c"
    result = _run(
        _tool("gcc"), "-fsyntax-only", "-Wall", "-Wextra", "-Werror",
        "-DSYS_move_phys_pages=0", str(program),
    )
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
