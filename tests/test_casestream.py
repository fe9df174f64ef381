"""The case stream: every finished case on disk as it ends, read back after a crash."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sample_suite import SAMPLE_SUITE

from movephys import junit
from movephys.casestream import StreamError, read_stream

pytest_plugins = ["pytester"]

@pytest.fixture
def streamed(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the inner run needs only ours
    pytester.makepyfile(test_sample=SAMPLE_SUITE)
    path = pytester.path / "cases.jsonl"
    pytester.runpytest("-p", "movephys.casestream", f"--case-stream={path}")
    return path


def test_every_case_is_streamed_with_its_outcome(streamed: Path) -> None:
    stream = read_stream(streamed)
    assert stream.collected == 7 and stream.complete and stream.exitstatus == 1
    assert stream.running is None
    outcomes = {case.result.case_id: case.result.outcome for case in stream.finished}
    assert outcomes == {
        "test_sample.py::test_passes": junit.PASSED,
        "test_sample.py::test_fails": junit.FAILED,
        "test_sample.py::test_skips": junit.SKIPPED,
        "test_sample.py::test_eperm[unprivileged]": junit.PASSED,
        "test_sample.py::test_eperm[userns_root]": junit.PASSED,
        "test_sample.py::test_known_bug": junit.SKIPPED,
        "test_sample.py::test_setup_error": junit.ERROR,
    }
    failed = next(case.result for case in stream.finished if case.result.outcome == junit.FAILED)
    assert "the kernel said 2" in failed.message
    assert any("the kernel said 2" in line for line in failed.diagnostics)
    skipped = next(case.result for case in stream.finished if case.result.ok and
                   case.result.directive)
    assert skipped.directive == "SKIP no move_phys_pages on this kernel"


def test_a_stream_cut_by_a_crash_names_the_running_case(streamed: Path) -> None:
    lines = streamed.read_text().splitlines()
    started = next(i for i, line in enumerate(lines) if '"test_sample.py::test_skips"' in line
                   and '"start"' in line)
    streamed.write_text("\n".join(lines[:started + 1]) + '\n{"event": "end", "case": "te')
    stream = read_stream(streamed)
    assert stream.running == "test_sample.py::test_skips"
    assert [case.result.case_id for case in stream.finished] == [
        "test_sample.py::test_passes", "test_sample.py::test_fails"]
    assert not stream.complete


def test_a_bad_line_in_the_middle_is_a_one_line_error(tmp_path: Path) -> None:
    path = tmp_path / "cases.jsonl"
    path.write_text('{"event": "collected", "count": 2}\nnot json\n'
                    + json.dumps({"event": "finish", "exitstatus": 0}) + "\n")
    with pytest.raises(StreamError, match=r"cases.jsonl:2: not a stream event"):
        read_stream(path)


def test_no_stream_yet_is_an_empty_run(tmp_path: Path) -> None:
    stream = read_stream(tmp_path / "absent.jsonl")
    assert (stream.collected, stream.finished, stream.running) == (None, (), None)
