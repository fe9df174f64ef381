"""The kselftest target (kselftest/move_phys_pages): installed with the kernel's own
lib.mk, run directly and through run_kselftest.sh on this host, its KTAP read
by the kernel's kunit_parser; the streaming plugin; the VM runner's command.

The real suite runs here: it never calls an unconfirmed number, so on a
kernel without the call it ends in skips (about 4 s a run).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from kunit_tool import TOOL_DIR, kunit_parser

from movephys import kselftest as entry
from movephys.vm import cli, kselftest, run
from movephys.vm.errors import RunnerError

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[1]
RESULT = "selftests: move_phys_pages: move_phys_pages.sh"
KTAP_LINE = re.compile(r"^(KTAP version 1|1\.\.\d+|(not )?ok \d+ \S.*|#.*)$")


def kernel_source() -> Path:
    """The kernel tree kunit_tool.py found (its lib.mk and run_kselftest.sh are used)."""
    kunit_parser()  # the same skip, or failure under MOVEPHYS_REQUIRE_KUNIT=1, without it
    assert TOOL_DIR is not None
    return TOOL_DIR.parents[2]


def host_has_the_call() -> bool:
    try:
        return "sys_move_phys_pages" in Path("/proc/kallsyms").read_text()
    except OSError:
        return False


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The target installed as the VM runner installs it (make install with lib.mk)."""
    return kselftest.install(kernel_source(), tmp_path_factory.mktemp("results"))


def _run(command: list[str], env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                          env=env, cwd=cwd)


def _parse(lines: list[str]) -> tuple[ModuleType, Any]:
    """kunit_parser and its Test of @lines (the parser has no type hints)."""
    parser = kunit_parser()
    return parser, parser.parse_run_tests(lines)


def _results(lines: list[str]) -> list[str]:
    return [line for line in lines if re.match(r"^(not )?ok \d+ ", line)]


# -- the installed tree ------------------------------------------------------


def test_install_holds_the_script_settings_and_the_suite(installed: Path) -> None:
    target = installed / "move_phys_pages"
    assert os.access(target / "move_phys_pages.sh", os.X_OK)
    settings = (target / "settings").read_text().splitlines()
    assert [line for line in settings if not line.startswith("#")] == ["timeout=900"]
    assert "CONFIG_NUMA=y" in (target / "config").read_text().splitlines()
    payload = target / "movephys-suite"
    for needed in ("conftest.py", "pytest.ini", "spec/syscall.toml", "suites/conftest.py",
                   "movephys/kselftest.py", "movephys/syscall/helpers"):
        assert (payload / needed).exists(), needed
    assert not list(payload.rglob("__pycache__")) and not (payload / "movephys/_data").exists()
    assert (installed / "kselftest-list.txt").read_text() == "move_phys_pages:move_phys_pages.sh\n"
    assert (installed / "run_kselftest.sh").is_file()
    assert (installed / "kselftest" / "runner.sh").is_file()


def test_make_without_a_suite_or_checkout_says_so_in_one_line(tmp_path: Path) -> None:
    selftests = kernel_source() / kselftest.SELFTESTS
    shutil.copy2(selftests / "lib.mk", tmp_path / "lib.mk")
    shutil.copytree(REPO / "kselftest" / "move_phys_pages", tmp_path / "move_phys_pages")
    bare = _run(["make", "-s", "-C", str(tmp_path / "move_phys_pages")])
    assert bare.returncode != 0
    assert "movephys-suite is missing: give MOVEPHYS_SRC=" in bare.stderr
    wrong = _run(["make", "-s", "-C", str(tmp_path / "move_phys_pages"),
                  f"MOVEPHYS_SRC={tmp_path}"])
    assert wrong.returncode != 0
    assert f"MOVEPHYS_SRC={tmp_path}: not a movephys checkout" in wrong.stderr


# -- the run script on this host ---------------------------------------------


def test_script_skips_with_4_when_every_case_needs_the_missing_call(installed: Path) -> None:
    if host_has_the_call():
        pytest.skip("this host's kernel has move_phys_pages")
    done = _run([str(installed / "move_phys_pages" / "move_phys_pages.sh"), "-m", "needs_syscall"])
    lines = done.stdout.splitlines()
    assert done.returncode == entry.KSFT_SKIP, done.stderr[-2000:]
    assert lines[0] == "KTAP version 1"
    assert all(KTAP_LINE.match(line) for line in lines), lines
    results = _results(lines)
    assert len(results) > 100 and lines[1] == f"1..{len(results)}"
    assert all(re.search(r" # SKIP .*has no move_phys_pages", line) for line in results)
    assert lines[-1] == f"# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:{len(results)} error:0"
    parser, test = _parse(lines)
    assert test.status == parser.TestStatus.SKIPPED
    assert (test.counts.skipped, test.counts.errors) == (len(results), 0)
    assert "short test summary info" in done.stderr  # pytest's own report, on stderr


def test_whole_suite_under_run_kselftest_nests_its_ktap(installed: Path) -> None:
    done = _run([str(installed / "run_kselftest.sh"), "-t", "move_phys_pages:move_phys_pages.sh"])
    lines = done.stdout.splitlines()
    assert lines[:2] == ["TAP version 13", "1..1"]
    assert "# timeout set to 900" in lines
    outer = [line for line in lines if re.match(rf"^(not )?ok 1 {RESULT}( #|$)", line)]
    assert len(outer) == 1, lines[-20:]
    # The document the script printed, as run_kselftest.sh nested it: every line "# "-prefixed.
    start = lines.index("# KTAP version 1")
    inner = [line[2:] for line in lines[start:] if line.startswith("# ")]
    end = next(i for i, line in enumerate(inner) if line.startswith("# Totals: "))
    document = inner[:end + 1]
    assert all(KTAP_LINE.match(line) for line in document), document
    parser, test = _parse(document)
    assert test.counts.errors == 0
    assert test.counts.total() == int(document[1].removeprefix("1.."))
    expected = ("ok 1 " if test.status == parser.TestStatus.SUCCESS else
                "ok 1 " if test.status == parser.TestStatus.SKIPPED else "not ok 1 ")
    assert outer[0].startswith(expected + RESULT)
    assert outer[0].endswith("# SKIP") == (test.status == parser.TestStatus.SKIPPED)
    outer_parser, outer_test = _parse(lines)
    assert outer_test.counts.errors == 0 and outer_test.counts.total() == 1


# -- the run script against small suites: pass, fail, stop, no python ---------


TINY = {
    "passes": "import pytest\n\ndef test_a():\n    pass\n\n"
              "def test_b():\n    pytest.skip('not here')\n",
    "fails": "def test_a():\n    pass\n\ndef test_b():\n    assert 2 == 3, 'the kernel said 2'\n",
    "skips": "import pytest\n\ndef test_a():\n    pytest.skip('no move_phys_pages')\n",
}


def _tiny_target(installed: Path, tmp_path: Path, suite: str) -> Path:
    target = tmp_path / "move_phys_pages"
    payload = target / "movephys-suite"
    shutil.copytree(installed / "move_phys_pages" / "movephys-suite" / "movephys",
                    payload / "movephys")
    # spec/ marks the payload as a checkout (movephys.locations).
    shutil.copytree(installed / "move_phys_pages" / "movephys-suite" / "spec", payload / "spec")
    (payload / "suites").mkdir()
    (payload / "conftest.py").write_text("")
    (payload / "pytest.ini").write_text("[pytest]\n")
    (payload / "suites" / "test_tiny.py").write_text(TINY[suite])
    script = target / "move_phys_pages.sh"
    shutil.copy2(installed / "move_phys_pages" / "move_phys_pages.sh", script)
    return script


@pytest.mark.parametrize(("suite", "status", "counts"), [
    ("passes", entry.KSFT_PASS, (1, 0, 1)),
    ("fails", entry.KSFT_FAIL, (1, 1, 0)),
    ("skips", entry.KSFT_SKIP, (0, 0, 1)),
])
def test_script_status_and_ktap(installed: Path, tmp_path: Path, suite: str, status: int,
                                counts: tuple[int, int, int]) -> None:
    done = _run([str(_tiny_target(installed, tmp_path, suite))])
    assert done.returncode == status, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert all(KTAP_LINE.match(line) for line in lines), lines
    _, test = _parse(lines)
    assert (test.counts.passed, test.counts.failed, test.counts.skipped) == counts
    assert test.counts.errors == 0


def test_pytest_usage_error_is_a_failure_with_a_ktap_document(installed: Path,
                                                              tmp_path: Path) -> None:
    done = _run([str(_tiny_target(installed, tmp_path, "passes")), "--no-such-option"])
    assert done.returncode == entry.KSFT_FAIL
    lines = done.stdout.splitlines()
    assert lines[:2] == ["KTAP version 1", "1..1"] and "not ok 1 move_phys_pages" in lines
    assert "--no-such-option" in done.stderr


def test_stop_on_first_failure_still_gives_every_planned_result(installed: Path,
                                                               tmp_path: Path) -> None:
    script = _tiny_target(installed, tmp_path, "fails")
    (script.parent / "movephys-suite" / "suites" / "test_tiny.py").write_text(
        "def test_a():\n    assert False\n\ndef test_b():\n    pass\n")
    done = _run([str(script), "-x"])
    assert done.returncode == entry.KSFT_FAIL
    lines = done.stdout.splitlines()
    assert _results(lines) == ["not ok 1 test_tiny.py::test_a", "not ok 2 test_tiny.py::test_b"]
    assert "# not run: the session ended before this case (pytest status 1)" in lines


def test_no_python3_or_no_pytest_is_a_skip(installed: Path, tmp_path: Path) -> None:
    script = _tiny_target(installed, tmp_path, "passes")
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    done = _run(["/bin/sh", str(script)], env={"PATH": str(empty)})
    assert (done.returncode, done.stdout) == (
        entry.KSFT_SKIP, "KTAP version 1\n1..1\nok 1 move_phys_pages # SKIP python3 not found\n")
    bare = tmp_path / "python-without-site"
    bare.write_text(f"#!/bin/sh\nexec {sys.executable} -S -I \"$@\"\n")
    bare.chmod(0o755)
    done = _run([str(script)], env={**os.environ, "MOVEPHYS_PYTHON": str(bare)})
    assert done.returncode == entry.KSFT_SKIP
    assert done.stdout.splitlines()[-1] == (
        "ok 1 move_phys_pages # SKIP python3 module pytest not installed")
    _, test = _parse(done.stdout.splitlines())
    assert (test.counts.skipped, test.counts.errors) == (1, 0)


# -- the entry's status and the stream plugin --------------------------------


@pytest.mark.parametrize(("pytest_status", "counts", "expected"), [
    (0, Counter(passed=0, skip=3), entry.KSFT_SKIP),
    (0, Counter({"pass": 1, "skip": 3}), entry.KSFT_PASS),
    (0, Counter(xfail=1), entry.KSFT_PASS),
    (1, Counter({"pass": 1, "fail": 1}), entry.KSFT_FAIL),
    (1, Counter(error=1), entry.KSFT_FAIL),
    (2, Counter({"pass": 1}), entry.KSFT_FAIL),
    (5, Counter(), entry.KSFT_FAIL),
])
def test_entry_status(pytest_status: int, counts: Counter[str], expected: int) -> None:
    assert entry.status(pytest_status, counts) == expected


def test_entry_arguments_add_a_case_timeout_only_when_none_is_given() -> None:
    root = Path("/s")
    arguments = entry.pytest_arguments(root, 7, ["-k", "x"], timeout_plugin=True)
    assert arguments[:2] == ["--rootdir=/s", "/s/suites"]
    assert "--ktap-fd=7" in arguments and "--timeout=60" in arguments
    assert arguments[-2:] == ["-k", "x"]
    assert "--timeout=60" not in entry.pytest_arguments(root, 7, ["--timeout=5"], True)
    assert not any(a.startswith("--timeout") for a in entry.pytest_arguments(root, 7, [], False))


def test_ktap_fd_streams_to_a_descriptor(pytester: pytest.Pytester, tmp_path: Path) -> None:
    pytester.makepyfile(test_s="import pytest\n\ndef test_a():\n    pass\n\n"
                        "def test_b():\n    pytest.skip('why')\n")
    out = tmp_path / "out.ktap"
    with out.open("w") as sink:
        pytester.runpytest("-p", "movephys.ktapstream", f"--ktap-fd={sink.fileno()}")
    lines = out.read_text().splitlines()
    assert lines == ["KTAP version 1", "1..2", "ok 1 test_s.py::test_a",
                     "ok 2 test_s.py::test_b # SKIP why",
                     "# Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0"]


def test_ktap_fd_that_is_not_open_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_s="def test_a():\n    pass\n")
    result = pytester.runpytest("-p", "movephys.ktapstream", "--ktap-fd=987")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ktap-fd 987: Bad file descriptor*"])


# -- the VM runner's --via-kselftest, without booting -------------------------


@pytest.mark.parametrize(("line", "status"), [
    (f"ok 1 {RESULT}", 0),
    (f"ok 1 {RESULT} # SKIP", 4),
    (f"not ok 1 {RESULT} # exit=1", 1),
    (f"not ok 1 {RESULT} # TIMEOUT 900 seconds", 124),
    ("", 2),
])
def test_guest_command_exits_with_the_status_of_the_result_line(tmp_path: Path, line: str,
                                                                 status: int) -> None:
    fake = tmp_path / "run_kselftest.sh"
    fake.write_text(f"#!/bin/sh\necho 'TAP version 13'\necho '1..1'\necho '{line}'\n")
    fake.chmod(0o755)
    command = kselftest.guest_command(tmp_path, tmp_path / "kselftest.log")
    done = _run(["/bin/sh", "-c", command])
    assert done.returncode == status
    assert done.stdout.splitlines()[-1] == line  # the run's output still reaches the console


def test_guest_command_runs_the_installed_target_on_this_host(installed: Path,
                                                              tmp_path: Path) -> None:
    if host_has_the_call():
        pytest.skip("this host's kernel has move_phys_pages")
    log = tmp_path / "kselftest.log"
    env = {**os.environ, **dict(kselftest.environment(sys.executable, ["-m", "needs_syscall"]))}
    done = _run(["/bin/sh", "-c", kselftest.guest_command(installed, log)], env=env)
    assert done.returncode == entry.KSFT_SKIP, done.stdout[-2000:]
    assert f"ok 1 {RESULT} # SKIP" in log.read_text().splitlines()


def test_status_mapping_back_to_the_runners() -> None:
    assert [kselftest.pytest_status(s) for s in (0, 1, 124, 4, 2, None)] == [0, 1, 1, 2, 2, None]


def test_arguments_with_blanks_cannot_pass_through_kselftest() -> None:
    assert kselftest.script_arguments(["-k", "geometry", "--destructive"]) == (
        "-k geometry --destructive")
    with pytest.raises(RunnerError, match="blank or quote"):
        kselftest.script_arguments(["-k", "a or b"])


def test_kselftest_job_passes_the_runners_options_to_the_script(tmp_path: Path) -> None:
    source = kernel_source()
    kernel = run.Kernel(tmp_path / "bzImage", tmp_path / "headers", source)
    command, environment = run.kselftest_job(kernel, tmp_path / "results", ["-k", "query"], 60)
    results = tmp_path / "results"
    assert command.startswith(
        f"{results / 'kselftest' / 'run_kselftest.sh'} -t move_phys_pages:move_phys_pages.sh "
        f"| tee {results / 'kselftest.log'}")
    env = dict(environment)
    assert env["MOVEPHYS_PYTHON"] == sys.executable
    assert env[kselftest.ARGS_VARIABLE].split() == [
        "--require-syscall", "--destructive", "--timeout=60",
        f"--junitxml={results / 'junit.xml'}", f"--ktap={results / 'results.ktap'}",
        f"--case-stream={results / run.STREAM_FILE}", f"--kernel-headers={tmp_path / 'headers'}",
        "-k", "query"]
    assert (results / "kselftest" / "move_phys_pages" / "move_phys_pages.sh").is_file()


def test_via_kselftest_needs_a_kernel_tree(tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match="build the kernel with --source, not --image"):
        kselftest.install(None, tmp_path)
    with pytest.raises(RunnerError, match="not a kernel source tree"):
        kselftest.install(tmp_path, tmp_path / "results")


def test_dry_run_names_the_target(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["suite", "--via-kselftest", "--dry-run", "--results", "out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-2:] == [f"kselftest: {REPO / 'kselftest' / 'move_phys_pages'}", "results: out"]
    assert cli.parse_args(["suite", "--via-kselftest"]).via_kselftest
    assert not cli.parse_args(["suite"]).via_kselftest
