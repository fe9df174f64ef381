"""From recorded JUnit XML to failing case ids, spec rows, outcomes and the kill matrix."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from movephys.mutants import matrix, report
from movephys.mutants.claims import Claim
from movephys.mutants.matrix import Matrix, Result
from movephys.mutants.mutant import Mutant, MutantError
from movephys.mutants.run import HARNESS_ERROR, SuiteRun, classify
from movephys.spec import load_spec
from movephys.vm.ending import Ending

# Recorded from `python -m movephys.vm suite` (pytest --junitxml) and cut
# down: a flags mutant fails the unprivileged EINVAL cases; setup errors
# count as failing too; skips do not.
KILLED_JUNIT = """\
<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="1"
failures="2" skipped="1" tests="5" time="93.1" timestamp="2026-11-27T05:01:02" hostname="virtme-ng">
<testcase classname="suites.test_permissions" name="test_bad_flags_einval[strict_bit-root]"
 time="0.121"><failure message="AssertionError: errors.toml row unknown_flags expects EINVAL">
flags 0x1 from root: ret 0</failure></testcase>
<testcase classname="suites.test_permissions" name="test_bad_flags_einval[all_ones-unprivileged]"
 time="0.098"><failure message="AssertionError: ret 0">ret 0</failure></testcase>
<testcase classname="suites.test_query" name="test_query_reports_node[anon]" time="0.2"/>
<testcase classname="suites.test_compat" name="test_compat_cannot_name_above_4g[int80]" time="0">
<skipped type="pytest.skip" message="no memory at or above 4 GiB physical"/></testcase>
<testcase classname="suites.test_moves" name="test_move[shmem]" time="0.0">
<error message="failed on setup with &quot;OSError&quot;">OSError</error></testcase>
</testsuite></testsuites>
"""

PASSED_JUNIT = """\
<?xml version="1.0" encoding="utf-8"?><testsuites><testsuite name="pytest" errors="0"
failures="0" skipped="0" tests="2"><testcase classname="suites.test_query"
name="test_query_reports_node[anon]" time="0.2"/><testcase classname="suites.test_moves"
name="test_move[shmem]" time="0.3"/></testsuite></testsuites>
"""


def junit(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "junit.xml"
    path.write_text(text)
    return path


def test_failing_case_ids_are_the_spec_form(tmp_path: Path) -> None:
    found = report.read_report(junit(tmp_path, KILLED_JUNIT))
    assert found.failing == (
        "test_permissions.py::test_bad_flags_einval[strict_bit-root]",
        "test_permissions.py::test_bad_flags_einval[all_ones-unprivileged]",
        "test_moves.py::test_move[shmem]",
    )
    assert (found.cases, found.skipped) == (5, 1)
    assert report.read_report(junit(tmp_path, PASSED_JUNIT)).failing == ()


def test_unreadable_or_missing_junit(tmp_path: Path) -> None:
    assert report.read_optional_report(tmp_path / "junit.xml") == (None, "no junit.xml")
    found, problem = report.read_optional_report(junit(tmp_path, KILLED_JUNIT[:300]))
    assert found is None and "not valid XML" in problem
    with pytest.raises(MutantError, match="not valid XML"):
        report.read_report(junit(tmp_path, "<testsuites><testcase"))


def test_rows_proven_by_failing_cases() -> None:
    spec = load_spec()
    row = next(row for row in spec.traced_rows() if row.cases)
    proven = report.rows_proven([row.cases[0], "test_nothing.py::test_nothing"], spec)
    assert row.id in proven
    assert report.rows_proven([], spec) == ()


FINISHED = Ending("finished", "")


@pytest.mark.parametrize(
    ("exit_code", "ending", "failing", "problems", "outcome", "note"),
    [
        pytest.param(0, FINISHED, (), (), "survived", "", id="passed"),
        pytest.param(1, FINISHED, ("t.py::t",), (), "killed", "", id="failed"),
        pytest.param(1, FINISHED, (), ("[ 3.1] BUG: KASAN: wild-memory-access",), "killed",
                     "kernel log: [ 3.1] BUG: KASAN: wild-memory-access", id="splat-only"),
        pytest.param(1, FINISHED, None, (), "killed", "suite exit 1, no junit.xml",
                     id="no-report"),
        pytest.param(2, FINISHED, None, (), "harness-error", "", id="pytest-usage-error"),
        pytest.param(3, Ending("hung", "no case ended for 91 s"), ("t.py::t",), (), "timeout",
                     "no case ended for 91 s", id="hung"),
        pytest.param(3, Ending("crashed", "kernel panic: Fatal exception"), ("t.py::t",),
                     ("Kernel panic - not syncing",), "crashed",
                     "kernel panic: Fatal exception; kernel log: Kernel panic - not syncing",
                     id="panic"),
        pytest.param(2, Ending("harness", "QEMU (virtme-ng) ended with status 134"), None, (),
                     "harness-error", "QEMU (virtme-ng) ended with status 134", id="qemu-abort"),
    ],
)
def test_classify(exit_code: int | None, ending: Ending, failing: tuple[str, ...] | None,
                  problems: tuple[str, ...], outcome: str, note: str) -> None:
    found = None if failing is None else report.SuiteReport(failing, 10, 0)
    assert classify(exit_code, ending, found, "no junit.xml", problems) == (outcome, note)


def test_a_harness_error_is_not_judged_and_not_scored() -> None:
    typo = mutant("typo")
    assert matrix.verdict(typo, "lean", HARNESS_ERROR) == "harness"


def mutant(identifier: str, expect: str = "lean", reason: str | None = None) -> Mutant:
    return Mutant(identifier, "mm/migrate.c", f"find {identifier}", "replace", "unknown_flags",
                  False, expect, reason)  # type: ignore[arg-type]


def result(who: Mutant, outcome: str, failing: tuple[str, ...] = ()) -> Result:
    return Result(outcome, failing, ("unknown_flags",) if failing else (), 14.2,
                  None if outcome == matrix.BUILD_FAILED else 131.0, 97, 3, "", 2769,
                  "3e9f7c39a1a58930", who.digest, "2026-11-27T05:00:00+00:00")


MUTANTS = (
    mutant("killer"),
    mutant("gap"),
    mutant("twin", "equivalent", "only the order of two tests changes"),
    mutant("locking", "debug", "only DEBUG_VM asserts the lock"),
    mutant("typo"),
)
CLAIMS = {item.id: Claim("unknown_flags", "spec", "unknown_flags", ()) for item in MUTANTS}


def filled() -> Matrix:
    killer, gap, twin, locking, typo = MUTANTS
    found = Matrix()
    found.record("killer", "lean", result(killer, "killed", ("test_permissions.py::test_x",)))
    found.record("gap", "lean", result(gap, "survived"))
    found.record("twin", "lean", result(twin, "survived"))
    found.record("locking", "lean", result(locking, "survived"))
    found.record("locking", "debug", result(locking, "crashed"))
    found.record("typo", "lean", result(typo, matrix.BUILD_FAILED))
    return found


def test_verdicts() -> None:
    killer, gap, twin, locking, typo = MUTANTS
    assert matrix.verdict(killer, "lean", "timeout") == "expected"
    assert matrix.verdict(gap, "lean", "survived") == "unexpected"
    assert matrix.verdict(twin, "lean", "survived") == "expected"
    assert matrix.verdict(twin, "debug", "killed") == "unexpected"
    assert matrix.verdict(locking, "lean", "survived") == "expected"
    assert matrix.verdict(locking, "debug", "survived") == "unexpected"
    assert matrix.verdict(typo, "lean", matrix.BUILD_FAILED) == "defect"


def test_score_leaves_out_survivors_debug_only_and_build_failures() -> None:
    lean = matrix.score(filled(), MUTANTS, "lean")
    assert (lean.run, lean.killed, lean.survived_expected, lean.survived_unexpected,
            lean.build_failed) == (5, 1, 2, 1, 1)
    assert (lean.scored_killed, lean.scored) == (1, 2)
    assert lean.percent == 50.0
    debug = matrix.score(filled(), MUTANTS, "debug")
    assert (debug.run, debug.scored_killed, debug.scored) == (1, 1, 1)


def test_json_round_trip_and_stale_results_are_dropped(tmp_path: Path) -> None:
    matrix.write(filled(), MUTANTS, CLAIMS, tmp_path)
    loaded = matrix.load(tmp_path / "matrix.json")
    assert loaded.current(MUTANTS[0], "lean") == filled().current(MUTANTS[0], "lean")
    data = json.loads((tmp_path / "matrix.json").read_text())
    assert data["mutants"][1]["verdicts"] == {"lean": "unexpected", "debug": None}
    assert data["scores"]["lean"]["scored"] == 2
    # The gap mutant's edit changed since: its old outcome is no longer shown.
    edited = mutant("gap")
    edited = Mutant(edited.id, edited.file, "another find", edited.replace, edited.claim,
                    edited.quick, edited.expect, edited.reason)
    assert loaded.current(edited, "lean") is None


def test_unreadable_matrix_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "matrix.json").write_text('{"mutants": [{"id": "x"}]}')
    with pytest.raises(MutantError, match="not a kill matrix") as error:
        matrix.load(tmp_path / "matrix.json")
    assert "\n" not in str(error.value)
    assert matrix.load(tmp_path / "absent.json").results == {}


def test_markdown_rows_and_docs_page() -> None:
    table = matrix.render_table(filled(), MUTANTS, CLAIMS)
    lines = table.splitlines()
    assert len(lines) == 2 + len(MUTANTS)
    assert lines[2].startswith("| `killer` | `mm/migrate.c:2769` | `unknown_flags` | lean | "
                               "killed | not run | `test_permissions.py::test_x`")
    assert "survived (unexpected)" in lines[3] and "none of 97 (3 skipped)" in lines[3]
    assert "| survived | crashed |" in lines[5]
    assert "build-failed (defect)" in lines[6]
    page = matrix.render_docs(filled(), MUTANTS, CLAIMS)
    assert page.startswith("# Mutation score of the conformance suite")
    assert ("- `twin` (equivalent; claim `unknown_flags`): only the order of two tests "
            "changes") in page
    assert "- `locking` (debug;" in page
    assert "- `gap` on the lean kernel survived (expected lean" in page
    assert "- `typo` on the lean kernel did not build" in page
    assert "| lean | 5 | 1 | 2 | 1 | 1 | 1/2 (50 %) |" in page


def test_commit_claims_are_shortened() -> None:
    claim = Claim("holds the folio lock across the reverse-map walk, which file-backed and "
                  "KSM folios require", "commit", "0003-mm-migrate-add.patch", ())
    text = matrix._claim_text(claim)
    assert text.startswith('0003: "holds the folio lock') and text.endswith('..."')


def test_suite_run_is_a_plain_record() -> None:
    run = SuiteRun("killed", 1, 93.0, ("t.py::t",), 97, 0, "")
    assert run.outcome == "killed" and run.failing == ("t.py::t",)
