"""The JUnit reader, the conformance matrix page, and what the HTML docs are built from."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from movephys.junit import CaseOutcome, JUnitError, read_outcomes

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "docs" / "_ext"))
sys.path.insert(0, str(REPO / "manpage" / "_ext"))


SYNTHETIC = Path(__file__).parent / "data" / "junit-synthetic.xml"


def test_outcomes_read_and_last_entry_wins() -> None:
    outcomes = read_outcomes(SYNTHETIC)
    assert outcomes["test_permissions.py::test_eperm[unprivileged-move]"].outcome == "passed"
    assert outcomes["test_bad_args.py::test_enodev[minus_one]"].outcome == "passed"
    skipped = outcomes["test_compat.py::test_compat_cannot_name_above_4g[int80]"]
    assert (skipped.outcome, skipped.message) == ("skipped", "no IA32 emulation in this kernel")


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        pytest.param("<testsuites><testcase", "not valid XML", id="truncated"),
        pytest.param("<html/>", "root element is <html>", id="wrong-root"),
        pytest.param("<testsuite><testcase name='x'/></testsuite>", "lacks name", id="no-class"),
    ],
)
def test_bad_results_file_one_line_error(tmp_path: Path, content: str, problem: str) -> None:
    path = tmp_path / "junit.xml"
    path.write_text(content)
    with pytest.raises(JUnitError, match=problem) as caught:
        read_outcomes(path)
    assert "\n" not in str(caught.value)


def _build_docs(out: Path, results: Path | None) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "MOVEPHYS_RESULTS"}
    if results is not None:
        env["MOVEPHYS_RESULTS"] = str(results)
    return subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", "-E", "docs", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        check=False,
    )


def test_docs_matrix_colours_outcomes(tmp_path: Path) -> None:
    result = _build_docs(tmp_path / "html", SYNTHETIC)
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "html" / "conformance.html").read_text(encoding="utf-8")
    assert 'class="mpp-passed"' in page
    assert 'class="mpp-skipped"' in page and "no IA32 emulation" in page
    assert 'class="mpp-gap"' in page and "isolation fails only in a race" in page
    assert 'class="mpp-missing"' in page
    totals = page[page.index("Totals per family"):]
    assert "<code class=\"docutils literal notranslate\"><span class=\"pre\">test_moves.py</span>" \
        in totals
    assert "test_moves.py::TestGroup::test_inner" in totals[totals.index("Cases no row names"):]
    assert (tmp_path / "html" / "move_phys_pages.html").is_file()
    shown = {page.name: hits for page in sorted((tmp_path / "html").glob("*.html"))
             if (hits := host_paths(page.read_text(encoding="utf-8")))}
    assert not shown, f"pages name paths of the build machine: {shown}"


def test_docs_build_fails_on_bad_results_file(tmp_path: Path) -> None:
    bad = tmp_path / "junit.xml"
    bad.write_text("<testsuites>")
    result = _build_docs(tmp_path / "html", bad)
    assert result.returncode != 0
    assert "MOVEPHYS_RESULTS" in result.stderr and "not valid XML" in result.stderr


# What the HTML docs are built from: the pages, the bench data and includes,
# the extension, and the spec and man page sources the man page page renders.
DOCS_SOURCES = ("docs", "spec", "manpage")
TEXT_SUFFIXES = {".rst", ".md", ".inc", ".json", ".csv", ".svg", ".py", ".toml", ".css", ".c",
                 ".xml"}
# A path into a home, a scratch or a checkout directory names the machine
# that built or measured, not anything a reader has; /proc, /sys, /dev stay.
HOST_PATH = re.compile(r"(?<![\w.~-])/(?:root|home|work|tmp|var/tmp|Users)/")


def host_paths(text: str) -> list[str]:
    """Absolute paths in ``text`` that belong to the machine it was written on."""
    found = {match.group() for match in HOST_PATH.finditer(text)}
    # This checkout and home, wherever they are, are a build machine's paths too.
    found |= {f"{own}/" for own in (str(REPO), str(Path.home())) if f"{own}/" in text}
    return sorted(found - {"//"})


def test_host_paths_are_found_and_generic_ones_kept() -> None:
    assert host_paths("from /root/.cache/k/usr/include/asm/unistd_64.h:") == ["/root/"]
    assert host_paths("``/tmp`` is a tmpfs; read /proc/kcore; <kernel headers>/asm") == []


def test_docs_sources_name_no_host_path() -> None:
    found = {
        str(path.relative_to(REPO)): hits
        for top in DOCS_SOURCES
        for path in sorted((REPO / top).rglob("*"))
        if path.suffix in TEXT_SUFFIXES and "__pycache__" not in path.parts
        and (hits := host_paths(path.read_text(encoding="utf-8", errors="replace")))
    }
    assert not found, f"absolute paths of a build machine in docs sources: {found}"


def test_results_file_is_shown_relative_to_the_checkout(tmp_path: Path) -> None:
    from movephys_docs.matrix import shown_path

    assert shown_path(str(SYNTHETIC), REPO) == "tests/data/junit-synthetic.xml"
    assert shown_path(str(tmp_path / "junit.xml"), REPO) == "junit.xml"


def test_family_totals_count_named_and_run_cases() -> None:
    from movephys.conformance import NOT_RUN, family_totals, unnamed_cases

    named = frozenset({"test_a.py::test_x[1]", "test_a.py::test_x[2]", "test_b.py::test_y"})
    outcomes = read_outcomes(SYNTHETIC) | {
        "test_a.py::test_x[1]": CaseOutcome("test_a.py::test_x[1]", "failed", "wrong")}
    totals = {total.family: total for total in family_totals(named, outcomes)}
    assert (totals["test_a.py"].cases, totals["test_a.py"].named) == (2, 2)
    assert totals["test_a.py"].outcomes == {"failed": 1, NOT_RUN: 1}
    assert (totals["test_moves.py"].cases, totals["test_moves.py"].named) == (1, 0)
    assert [total.outcomes for total in family_totals(named, None)] == [{}, {}]
    assert "test_moves.py::TestGroup::test_inner" in [
        case.case_id for case in unnamed_cases(named, outcomes)]


def test_publish_drops_the_build_machine(tmp_path: Path) -> None:
    from movephys.junit import HOST_ATTRIBUTES, publish

    source = tmp_path / "junit.xml"
    source.write_text(SYNTHETIC.read_text(encoding="utf-8").replace(
        "<testsuite ", '<testsuite hostname="virtme-ng" timestamp="2026-11-27T07:54:25" ', 1))
    assert 'hostname="virtme-ng"' in source.read_text(encoding="utf-8")
    published, again = tmp_path / "out" / "junit.xml", tmp_path / "again.xml"
    assert publish(source, published) == len(read_outcomes(SYNTHETIC))
    assert not any(f'{name}="' in published.read_text(encoding="utf-8")
                   for name in HOST_ATTRIBUTES)
    assert read_outcomes(published) == read_outcomes(SYNTHETIC)
    publish(published, again)
    assert again.read_bytes() == published.read_bytes()


@pytest.mark.parametrize(("text", "published"), [
    ("/work/main/conftest.py:263: no 32-bit caller", "conftest.py:263: no 32-bit caller"),
    ("/srv/ci/wt-1/suites/suitekit/targets.py:80: no block",
     "suites/suitekit/targets.py:80: no block"),
    ("--kernel-headers=/root/.cache/movephys/kernels/x/usr", None),
    ("memory31: writing 'offline' to state failed", None),
], ids=["conftest", "suitekit", "not-the-suite", "no-path"])
def test_publish_drops_the_checkout_before_the_suites_files(text: str,
                                                            published: str | None) -> None:
    from movephys.junit import without_checkout

    assert without_checkout(text) == (text if published is None else published)


def test_runs_combine_to_flaky_where_a_case_failed_and_passed() -> None:
    from movephys.junit import FLAKY, combine

    def run(**outcomes: str) -> dict[str, CaseOutcome]:
        return {case: CaseOutcome(case, outcome, "wrong" if outcome == "failed" else "")
                for case, outcome in outcomes.items()}

    combined = combine([run(a="failed", b="passed", c="failed", d="skipped", e="passed"),
                        run(a="passed", b="passed", c="failed", d="passed", e="passed"),
                        run(a="passed", b="passed", c="failed", d="passed")])
    assert combined["a"] == CaseOutcome("a", FLAKY, "did not pass in 1 of 3 runs: wrong")
    # e never ran in the third run (it ended early): as in the soak, that counts.
    assert combined["e"] == CaseOutcome("e", FLAKY, "did not pass in 1 of 3 runs: not in this run")
    assert [combined[case].outcome for case in "bcd"] == ["passed", "failed", "passed"]


def _soak(directory: Path, runs: list[str]) -> None:
    from movephys.junit import JUnitCase, render

    case = "test_bad_args.py::test_enodev[minus_one]"
    for number, outcome in enumerate(runs, 1):
        path = directory / f"run-{number:02d}" / "junit.xml"
        path.parent.mkdir(parents=True)
        path.write_text(render([JUnitCase(case, outcome, "ENODEV expected")]))


def test_results_name_files_or_a_soak_directory(tmp_path: Path) -> None:
    from movephys_docs.matrix import results_files

    _soak(tmp_path / "soak", ["passed", "failed"])
    runs = [tmp_path / "soak" / "run-01" / "junit.xml", tmp_path / "soak" / "run-02" / "junit.xml"]
    assert results_files(str(tmp_path / "soak")) == runs
    assert results_files(os.pathsep.join([str(SYNTHETIC), str(runs[1])])) == [SYNTHETIC, runs[1]]
    with pytest.raises(JUnitError, match="without run-"):
        results_files(str(tmp_path))


def test_docs_matrix_shows_flaky_cases(tmp_path: Path) -> None:
    _soak(tmp_path / "soak", ["passed", "failed", "passed"])
    result = _build_docs(tmp_path / "html", tmp_path / "soak")
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "html" / "conformance.html").read_text(encoding="utf-8")
    assert 'class="mpp-flaky"' in page and "did not pass in 1 of 3 runs: ENODEV expected" in page
    assert "Outcomes of 3 runs" in page and "1 flaky" in page


def test_docs_man_page_references_link_to_man7(tmp_path: Path) -> None:
    result = _build_docs(tmp_path / "html", SYNTHETIC)
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "html" / "move_phys_pages.html").read_text(encoding="utf-8")
    links = dict(re.findall(r'<a class="manpage reference external" href="([^"]+)">([^<]+)<',
                            page))
    man7 = "https://man7.org/linux/man-pages/"
    assert links.get(f"{man7}man2/move_pages.2.html") == "move_pages(2)"
    assert links.get(f"{man7}man8/numactl.8.html") == "numactl(8)"
    assert all(url.startswith(man7) for url in links), links
    assert not [url for url in links if "move_phys_pages" in url], (
        "move_phys_pages(2) is not on man7.org: write :manpage:`!move_phys_pages(2)`")
