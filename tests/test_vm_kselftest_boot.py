"""`movephys.vm suite --via-kselftest` on the reference kernel (boots the VM).

Marked `boots`: `tox -e unit` leaves it out, `tox -e guest` runs it, so the
kselftest target (installed with the kernel's lib.mk, run by
run_kselftest.sh in the guest) runs once in every CI run and cannot rot.
A few cases keep it short: the whole suite runs the direct way in `tox -e vm`.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from kunit_tool import kunit_parser

pytestmark = pytest.mark.boots

REPO = Path(__file__).resolve().parents[1]
RESULT = "ok 1 selftests: move_phys_pages: move_phys_pages.sh"


def test_suite_through_the_kselftest_target_passes_in_the_guest(tmp_path: Path) -> None:
    results = tmp_path / "results"
    done = subprocess.run(
        [sys.executable, "-m", "movephys.vm", "suite", "--via-kselftest", "--quiet",
         "--results", str(results), "--", "-k", "test_bad_args"],
        cwd=REPO, capture_output=True, text=True, timeout=3600, check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    log = (results / "kselftest.log").read_text().splitlines()
    assert log[:2] == ["TAP version 13", "1..1"] and RESULT in log, log[-20:]
    nested = [line[2:] for line in log if line.startswith("# ")]
    start = nested.index("KTAP version 1")
    parser = kunit_parser()
    test = parser.parse_run_tests(nested[start:])
    assert test.status == parser.TestStatus.SUCCESS
    assert test.counts.passed > 0 and test.counts.failed == test.counts.errors == 0
    # The runner's own files come from the options passed through kselftest.
    ktap = parser.parse_run_tests((results / "results.ktap").read_text().splitlines())
    assert ktap.counts.passed == test.counts.passed
    assert (results / "junit.xml").is_file() and (results / "cases.jsonl").is_file()
