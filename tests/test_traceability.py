"""Every error and status row is in the man page and proven by a real suite case.

Case ids are pytest node ids relative to suites/. They are collected in a
subprocess (`pytest --collect-only -q suites`); collection never calls the
syscall. A row naming a case that suites/ does not have fails here, so a
row stays red until its case exists. Rows no case can reach say why in
`untested_because` and show as gaps in the conformance matrix; the spec
loader rejects a row with neither, and a case id not relative to suites/.
docs/case-catalog.md must name the same files, tests and counts, and the
reference run the conformance matrix shows must hold the same cases.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from manpage_build import REPO, build_man_page

from movephys import caseid
from movephys.junit import read_outcomes
from movephys.spec import ErrorRow, Rule, TracedRow, load_spec

SPEC = load_spec()
TRACED = SPEC.traced_rows()
ROWS_WITH_CASES = tuple(row for row in SPEC.traced_rows() + SPEC.rule_rows() if row.cases)
# Hand-kept for its prose (what each parameter means); its counts and names
# are checked against the collected suites below.
CATALOG = REPO / "docs" / "case-catalog.md"

_ROLE = re.compile(r":(manpage|fn):`([^`]*)`")
_EMPHASIS = re.compile(r"\*\*?([^*]+)\*\*?")


def plain_spec_text(text: str) -> str:
    """The words a reader sees: rST inline markup removed."""
    text = _ROLE.sub(lambda match: match[2] + ("()" if match[1] == "fn" else ""), text)
    return " ".join(_EMPHASIS.sub(r"\1", text).split())


def _macro_arguments(line: str) -> list[str]:
    return [
        quoted if quoted or bare == "" else bare
        for quoted, bare in re.findall(r'"((?:[^"]|\\")*)"|(\S+)', line.split(" ", 1)[1])
    ]


def plain_page_text(lines: list[str]) -> str:
    """Roff source to its words: font macros joined, escapes undone."""
    words = []
    for line in lines:
        if re.match(r"^\.(B|I|BR|RB|IR|RI|BI|IB) ", line):
            words.append("".join(_macro_arguments(line)))
        elif line and not line.startswith((".", "'")):
            words.append(line)
    text = " ".join(words)
    escapes = (("\\-", "-"), ("\\&", ""), ("\\%", ""), ("\\~", " "), ("\\[rs]", "\\"),
               ("\\(dq", '"'))
    for escape, character in escapes:
        text = text.replace(escape, character)
    return " ".join(text.split())


def _section(lines: list[str], heading: str) -> list[str]:
    start = lines.index(heading) + 1
    end = next((i for i in range(start, len(lines)) if lines[i].startswith(".SH")), len(lines))
    return lines[start:end]


@pytest.fixture(scope="module")
def page_lines(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    page = build_man_page(tmp_path_factory.mktemp("man"))
    return page.read_text(encoding="utf-8").split("\n")


@pytest.fixture(scope="module")
def suite_case_ids() -> frozenset[str]:
    """Node ids of suites/, relative to it, from a collection-only run."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"]
        + ["suites"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=False,
    )
    ids = frozenset(
        caseid.from_nodeid(line.strip())
        for line in result.stdout.splitlines()
        if "::" in line and not line.startswith(" ")
    )
    if result.returncode not in (0, 5) or not ids:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-15:])
        pytest.fail(f"collecting suites/ failed (exit {result.returncode}):\n{tail}")
    return ids


def collected_functions(case_ids: frozenset[str]) -> dict[str, set[str]]:
    """Test functions (without parameters) of each suites/ file, from node ids."""
    found: dict[str, set[str]] = {}
    for case in case_ids:
        path, _, test = case.partition("::")
        found.setdefault(path, set()).add(test.split("[", 1)[0])
    return found


def catalog_functions(text: str) -> dict[str, set[str]]:
    """The ``- test_name`` entries under each ``## file.py`` heading, in the catalog's order."""
    found: dict[str, set[str]] = {}
    section: set[str] = set()
    for line in text.splitlines():
        if line.startswith("## "):
            section = found.setdefault(line[3:].strip(), set())
        elif match := re.match(r"- (test_\w+)", line):
            section.add(match.group(1))
    return found


def catalog_counts(text: str) -> tuple[int, list[int]]:
    """The total in the title and the "Cases per family" counts, in their order."""
    total = re.search(r"^# Case catalog .*?(\d+) cases\)", text, re.MULTILINE)
    families = re.search(r"Cases per\s+family:(.*?)\.", text, re.DOTALL)
    assert total and families, f"{CATALOG.name}: no case total or per-family counts"
    return int(total.group(1)), [int(n) for n in re.findall(r"\s(\d+)(?:,|$)", families.group(1))]


def test_case_catalog_names_the_collected_suites(suite_case_ids: frozenset[str]) -> None:
    text = CATALOG.read_text(encoding="utf-8")
    listed = catalog_functions(text)
    assert listed == collected_functions(suite_case_ids), f"{CATALOG.name} is out of date"
    per_file = [sum(case.startswith(f"{path}::") for case in suite_case_ids) for path in listed]
    assert catalog_counts(text) == (len(suite_case_ids), per_file), (
        f"{CATALOG.name}: the total or the per-family counts (in section order) are out of date"
    )


def test_reference_run_has_the_collected_cases(suite_case_ids: frozenset[str]) -> None:
    """A case added, renamed or removed in suites/ needs a fresh reference run."""
    sys.path[:0] = [str(REPO / "docs" / "_ext"), str(REPO / "manpage" / "_ext")]
    from movephys_docs.matrix import REFERENCE_RESULTS, REFRESH_REFERENCE

    reference = REPO / "docs" / REFERENCE_RESULTS
    recorded = frozenset(read_outcomes(reference))
    missing, stale = sorted(suite_case_ids - recorded), sorted(recorded - suite_case_ids)
    assert not missing and not stale, (
        f"docs/{REFERENCE_RESULTS} is not a run of the current suites/: "
        f"{len(missing)} case(s) missing ({', '.join(missing[:5])}), "
        f"{len(stale)} no longer collected ({', '.join(stale[:5])}). Refresh it:\n"
        + REFRESH_REFERENCE)


def _row_id(row: TracedRow | Rule) -> str:
    return row.id


@pytest.mark.parametrize("row", TRACED, ids=_row_id)
def test_row_appears_in_man_page(row: TracedRow, page_lines: list[str]) -> None:
    tag: str | None
    if isinstance(row, ErrorRow):  # the rows of SPEC.whole_call_errors
        section = _section(page_lines, ".SH ERRORS")
        tag = f".B {row.errno}"
    else:
        section = _section(page_lines, ".SH DESCRIPTION")
        tag = f".B \\{row.value}" if row.value.startswith("-") else None
    condition = plain_spec_text(row.condition)
    assert condition in plain_page_text(section), f"{row.id}: {condition!r} not in the page"
    if tag is not None:
        # A tag of the ordered move list carries its rank: .RB "3. " \-ENOENT
        tags = [section[index + 1] for index, line in enumerate(section[:-1]) if line == ".TP"]
        value = tag.removeprefix(".B ")
        assert tag in tags or any(line.endswith(f'" {value}') for line in tags), (
            f"{row.id}: no {value!r} entry"
        )


@pytest.mark.parametrize("row", ROWS_WITH_CASES, ids=_row_id)
def test_row_cases_exist_in_suites(row: TracedRow | Rule, suite_case_ids: frozenset[str]) -> None:
    missing = sorted(case for case in row.cases if case not in suite_case_ids)
    assert not missing, f"{row.id} names cases suites/ does not have: {', '.join(missing)}"


def test_plain_page_text_joins_font_macros() -> None:
    lines = ["If", ".I nodes", "is NULL,", ".BR \\%move_pages (2),", "returns \\-1."]
    assert plain_page_text(lines) == "If nodes is NULL, move_pages(2), returns -1."


def test_plain_spec_text_drops_markup() -> None:
    text = "*flags* has **MPOL_MF_MOVE**, see :manpage:`move_pages(2)` and :fn:`mseal`."
    assert plain_spec_text(text) == "flags has MPOL_MF_MOVE, see move_pages(2) and mseal()."
