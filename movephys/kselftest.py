"""The kselftest entry: the suite through pytest, KTAP on stdout, kselftest's exit status.

    python3 -m movephys.kselftest [PYTEST-ARGS...]

What the kselftest target's run script (kselftest/move_phys_pages/ of the
checkout, tools/testing/selftests/move_phys_pages/ of a kernel tree) runs
once it has found python3, pytest and cffi, with the suite it carries on
PYTHONPATH. It runs the suite of movephys.locations.data_root() (the
carried copy is laid out as a checkout) and streams one KTAP version 1
document to stdout as the cases end (movephys.ktapstream); pytest's own
report follows on stderr, as "# " lines, when the run ends. The document
is a top-level one: run_kselftest.sh merges stdout and stderr and prefixes
every line with "# ", which nests it in the runner's own TAP, as it does
for every kselftest program.

The exit status is kselftest's (kselftest.h): 0 (KSFT_PASS) when cases
passed and none failed, 1 (KSFT_FAIL) when a case failed or broke or pytest
itself stopped (a usage error, an interrupt, no case collected), 4
(KSFT_SKIP) when every case skipped, as on a kernel without the call.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from movephys.ktapstream import KtapStream

KSFT_PASS = 0
KSFT_FAIL = 1
KSFT_XFAIL = 2
KSFT_XPASS = 3
KSFT_SKIP = 4

# Per case, when pytest-timeout is there: the VM runner's default
# (movephys.vm.run.CASE_TIMEOUT), which the target's settings file outlasts.
CASE_TIMEOUT = 60
NAME = "move_phys_pages"


def pytest_arguments(root: Path, ktap_fd: int, extra: Sequence[str],
                     timeout_plugin: bool) -> list[str]:
    """pytest's arguments for the suite under @root streaming KTAP to @ktap_fd, then the
    caller's @extra."""
    arguments = [
        f"--rootdir={root}", str(root / "suites"), "-p", "no:cacheprovider", "-rs",
        # movephys.ktap first: imported by the stream before the root conftest names
        # it, pytest could no longer rewrite its asserts, and would warn.
        "-p", "movephys.ktap", "-p", "movephys.ktapstream", f"--ktap-fd={ktap_fd}",
    ]
    gives_timeout = any(arg == "--timeout" or arg.startswith("--timeout=") for arg in extra)
    if timeout_plugin and not gives_timeout:
        arguments.append(f"--timeout={CASE_TIMEOUT}")
    return [*arguments, *extra]


def status(pytest_status: int, counts: Counter[str]) -> int:
    """kselftest's exit status from pytest's and the cases' verdicts."""
    if pytest_status not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        return KSFT_FAIL  # interrupted, internal error, usage error, nothing collected
    if pytest_status != pytest.ExitCode.OK or counts["fail"] or counts["error"]:
        return KSFT_FAIL
    if counts["skip"] and not (counts["pass"] or counts["xfail"] or counts["xpass"]):
        return KSFT_SKIP
    return KSFT_PASS


def stopped_document(pytest_status: int) -> str:
    """The KTAP of a run pytest ended before it collected anything."""
    return "\n".join([
        "KTAP version 1",
        "1..1",
        f"# pytest stopped with status {pytest_status} before it collected the suite "
        "(its message is on stderr)",
        f"not ok 1 {NAME}",
        "# Totals: pass:0 fail:0 xfail:0 xpass:0 skip:0 error:1",
    ]) + "\n"


def suite_root() -> Path | None:
    from movephys.locations import data_root

    root = data_root()
    if (root / "conftest.py").is_file() and (root / "suites").is_dir():
        return root
    return None


class _Stream:
    """Finds the stream plugin pytest made from --ktap-fd, to read its counts after."""

    def __init__(self) -> None:
        self.plugin: KtapStream | None = None

    @pytest.hookimpl(trylast=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        self.plugin = config.pluginmanager.get_plugin("movephys-ktap-stream")


def main(argv: Sequence[str] | None = None) -> int:
    extra = list(sys.argv[1:] if argv is None else argv)
    root = suite_root()
    if root is None:
        print("movephys.kselftest: error: no suite (conftest.py and suites/) beside the "
              "movephys package", file=sys.stderr)
        return KSFT_FAIL
    # KTAP keeps the real stdout. pytest's own report waits in a file: its
    # progress lines end only when a file's cases do, and run_kselftest.sh
    # merges stdout and stderr, so written as it goes it would split KTAP lines.
    sys.stdout.flush()
    ktap_fd = os.dup(1)
    found = _Stream()
    timeout_plugin = importlib.util.find_spec("pytest_timeout") is not None
    with tempfile.TemporaryFile() as report:
        os.dup2(report.fileno(), 1)
        try:
            pytest_status = int(pytest.main(
                pytest_arguments(root, ktap_fd, extra, timeout_plugin), plugins=[found]))
        finally:
            sys.stdout.flush()
            os.dup2(2, 1)
            report.seek(0)
            text = report.read().decode("utf-8", "replace")
            sys.stderr.write("".join(f"# {line}".rstrip() + "\n" for line in text.splitlines()))
            sys.stderr.flush()
    if found.plugin is None or not found.plugin.started:
        with os.fdopen(ktap_fd, "w", encoding="utf-8") as out:
            out.write(stopped_document(pytest_status))
        return KSFT_FAIL
    return status(pytest_status, found.plugin.counts)


if __name__ == "__main__":
    sys.exit(main())
