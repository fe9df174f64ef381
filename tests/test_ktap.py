"""The KTAP plugin: output format, case ids, and parsing by the kernel's kunit_parser."""

from __future__ import annotations

import pytest
from kunit_tool import kunit_parser
from sample_suite import SAMPLE_SUITE

from movephys import ktap

pytest_plugins = ["pytester"]

@pytest.fixture(autouse=True)
def no_plugin_autoload(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner runs need only this plugin; loading every installed one is slow."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


@pytest.fixture
def ktap_output(pytester: pytest.Pytester) -> list[str]:
    suites = pytester.mkdir("suites")
    (suites / "test_sample.py").write_text(SAMPLE_SUITE)
    out = pytester.path / "results" / "run.ktap"
    result = pytester.runpytest("-p", "movephys.ktap", "--ktap", str(out), "suites")
    result.assert_outcomes(passed=3, failed=1, skipped=1, xfailed=1, errors=1)
    return out.read_text().splitlines()


def test_header_and_plan(ktap_output: list[str]) -> None:
    assert ktap_output[:2] == ["KTAP version 1", "1..7"]


def test_result_lines_use_case_ids_relative_to_suites(ktap_output: list[str]) -> None:
    results = [line for line in ktap_output[2:] if not line.startswith("#")]
    assert results == [
        "ok 1 test_sample.py::test_passes",
        "not ok 2 test_sample.py::test_fails",
        "ok 3 test_sample.py::test_skips # SKIP no move_phys_pages on this kernel",
        "ok 4 test_sample.py::test_eperm[unprivileged]",
        "ok 5 test_sample.py::test_eperm[userns_root]",
        "ok 6 test_sample.py::test_known_bug # XFAIL known RFC bug",
        "not ok 7 test_sample.py::test_setup_error",
    ]


def test_failure_diagnostics_precede_the_result(ktap_output: list[str]) -> None:
    index = ktap_output.index("not ok 2 test_sample.py::test_fails")
    before = ktap_output[: index]
    diagnostics = before[before.index("ok 1 test_sample.py::test_passes") + 1 :]
    assert diagnostics[0] == "# call failed:"
    assert all(line.startswith("#") for line in diagnostics)
    assert any("the kernel said 2, the spec expected 3" in line for line in diagnostics)


def test_setup_error_is_reported_as_setup(ktap_output: list[str]) -> None:
    assert "# set-up broke (an error of the harness, not a kernel failure):" in ktap_output
    assert any("RuntimeError: set-up broke" in line for line in ktap_output)


def test_kunit_parser_reads_the_report(ktap_output: list[str]) -> None:
    parser = kunit_parser()
    test = parser.parse_run_tests(ktap_output)
    assert test.counts.errors == 0
    assert (test.counts.passed, test.counts.failed, test.counts.skipped) == (4, 2, 1)
    assert [sub.name for sub in test.subtests][:3] == [
        "test_sample.py::test_passes",
        "test_sample.py::test_fails",
        "test_sample.py::test_skips",
    ]
    assert test.status == parser.TestStatus.FAILURE


def test_no_file_without_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_ok():\n    pass\n")
    pytester.runpytest("-p", "movephys.ktap").assert_outcomes(passed=1)
    assert not list(pytester.path.rglob("*.ktap"))


def test_collection_error_is_not_ok(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken="import nonexistent_module_xyz\n")
    out = pytester.path / "out.ktap"
    pytester.runpytest("-p", "movephys.ktap", "--ktap", str(out))
    lines = out.read_text().splitlines()
    assert lines[1] == "1..1"
    assert lines[-1] == "not ok 1 test_broken.py"


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("suites/test_query.py::test_chunk", "test_query.py::test_chunk"),
        ("test_query.py::test_x[a-b]", "test_query.py::test_x[a-b]"),
        ("repo/suites/test_a.py::t", "test_a.py::t"),
        ("mysuites/test_a.py::t", "mysuites/test_a.py::t"),
        ("suites/t.py::t[#1]", "t.py::t[%231]"),
        ("suites/t.py::t[a\nb]", "t.py::t[a b]"),
    ],
    ids=["suites-prefix", "already-relative", "nested", "not-suites", "hash", "newline"],
)
def test_case_id(nodeid: str, expected: str) -> None:
    assert ktap.case_id(nodeid) == expected
