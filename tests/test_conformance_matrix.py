"""The JUnit reader and the conformance matrix page of the HTML docs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from movephys.junit import JUnitError, case_id, read_outcomes

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "docs" / "_ext"))
sys.path.insert(0, str(REPO / "manpage" / "_ext"))


SYNTHETIC = Path(__file__).parent / "data" / "junit-synthetic.xml"


def test_case_id_from_pytest_classname() -> None:
    assert case_id("suites.test_moves", "test_move[shmem]") == "test_moves.py::test_move[shmem]"
    assert case_id("suites.test_moves.TestGroup", "test_x") == "test_moves.py::TestGroup::test_x"
    assert case_id("suites.sub.test_y", "test_z") == "sub/test_y.py::test_z"


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
    assert (tmp_path / "html" / "move_phys_pages.html").is_file()


def test_docs_build_fails_on_bad_results_file(tmp_path: Path) -> None:
    bad = tmp_path / "junit.xml"
    bad.write_text("<testsuites>")
    result = _build_docs(tmp_path / "html", bad)
    assert result.returncode != 0
    assert "MOVEPHYS_RESULTS" in result.stderr and "not valid XML" in result.stderr
