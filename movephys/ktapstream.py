"""pytest plugin streaming KTAP version 1 to a file descriptor as cases end (``--ktap-fd N``).

movephys.ktap writes its file when the session ends; a kselftest run is read
as it goes (run_kselftest.sh prefixes each line with "# " and a fleet keeps
what it saw when a test times out), so this one writes the version line and
the plan once collection is done, then each case's result the moment its
teardown ends, flushed::

    KTAP version 1
    1..2
    ok 1 test_query.py::test_query_chunk_boundary
    ok 2 test_compat.py::test_x[int80] # SKIP no 32-bit caller: ...
    # Totals: pass:1 fail:0 xfail:0 xpass:0 skip:1 error:0

Lines are movephys.ktap's (the same case ids, directives and diagnostics);
the closing "# Totals:" line is the one kselftest.h's ksft_print_cnts()
prints. A planned case the session never ran (a stop on the first failure,
an interrupt) gets a "not ok" line saying so, so that the document always
holds as many results as its plan. The descriptor is duplicated when the
plugin starts: pytest's capture of fds 1 and 2 never reaches it, so
``--ktap-fd 3 3>&1 1>&2`` puts KTAP alone on the shell's stdout.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import TextIO

import pytest

from movephys.junit import ERROR
from movephys.ktap import CaseCollector, CaseResult

# The counters of kselftest.h, in the order ksft_print_cnts() prints them.
COUNTERS = ("pass", "fail", "xfail", "xpass", "skip", "error")


def verdict(result: CaseResult) -> str:
    """The kselftest counter a finished case adds to."""
    if not result.ok:
        return "error" if result.outcome == ERROR else "fail"
    if result.directive.startswith("SKIP"):
        return "skip"
    if result.directive.startswith("XFAIL"):
        return "xfail"
    return "pass"


def totals_line(counts: Counter[str]) -> str:
    return "# Totals: " + " ".join(f"{name}:{counts[name]}" for name in COUNTERS)


class KtapStream(CaseCollector):
    """Writes each result to @out as it is known; counts them as kselftest does."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self.out = out
        self.collection_errors: list[str] = []
        self.planned: list[str] = []
        self.written: set[str] = set()
        self.counts: Counter[str] = Counter()
        self.started = False

    def _write(self, lines: list[str]) -> None:
        self.out.write("".join(f"{line}\n" for line in lines))
        self.out.flush()

    def _emit(self, nodeid: str) -> None:
        if nodeid in self.written or nodeid not in self.planned:
            return
        result = self._result(nodeid)
        self.written.add(nodeid)
        self.counts[verdict(result)] += 1
        self._write(result.lines(len(self.written)))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        super().pytest_collectreport(report)
        if report.failed:
            self.collection_errors.append(report.nodeid or "collection")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        config = session.config
        # pytest runs nothing after a collection error unless told to go on.
        runs = not self.collection_errors or config.getoption("continue_on_collection_errors")
        items = [item.nodeid for item in session.items] if runs else []
        self.planned = [*self.collection_errors, *items]
        self.started = True
        self._write(["KTAP version 1", f"1..{len(self.planned)}"])
        for nodeid in self.collection_errors:
            self._emit(nodeid)
        if config.getoption("collectonly"):
            for nodeid in items:
                self._result(nodeid).directive = "SKIP collected only (--collect-only)"
                self._emit(nodeid)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self._emit(nodeid)

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if not self.started:
            return  # no plan was written: the caller says what stopped pytest
        for nodeid in self.planned:
            if nodeid not in self.written:
                result = self._result(nodeid)
                result.ok = False
                result.outcome = ERROR
                result.directive = ""
                result.diagnostics.append(
                    f"not run: the session ended before this case (pytest status {exitstatus})")
                self._emit(nodeid)
        self._write([totals_line(self.counts)])


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ktap", "KTAP report")
    group.addoption(
        "--ktap-fd",
        metavar="FD",
        type=int,
        default=None,
        help="stream the results as KTAP version 1 to file descriptor FD as cases end",
    )


def pytest_configure(config: pytest.Config) -> None:
    fd = config.getoption("ktap_fd", default=None)
    if fd is None or hasattr(config, "workerinput"):
        return
    if getattr(config.option, "dist", "no") != "no":
        raise pytest.UsageError("--ktap-fd streams from one process: run it without -n "
                                "(pytest-xdist), or use --ktap PATH")
    try:
        out = os.fdopen(os.dup(fd), "w", buffering=1, encoding="utf-8", errors="replace")
    except OSError as error:
        raise pytest.UsageError(f"--ktap-fd {fd}: {error.strerror}") from None
    config.pluginmanager.register(KtapStream(out), "movephys-ktap-stream")
