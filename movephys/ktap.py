"""pytest plugin writing the run's results as KTAP version 1 (``--ktap PATH``).

One result line per test item, numbered in the order results arrive (so it
also works on the pytest-xdist controller), written when the session ends::

    KTAP version 1
    1..3
    # permissions.py:12: AssertionError: ...   <- diagnostics of the next result
    not ok 1 test_permissions.py::test_eperm[unprivileged-move]
    ok 2 test_query.py::test_query_chunk_boundary
    ok 3 test_compat.py::test_x[int80] # SKIP IA32_EMULATION disabled

The description is the pytest node id relative to ``suites/``. Failures carry
their report text as ``# `` diagnostic lines before the result line, as
kunit_tool reads them. A collection error is a ``not ok`` line of its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from movephys import caseid
from movephys.junit import ERROR, FAILED, PASSED, SKIPPED

MAX_DIAGNOSTIC_LINES = 60


@dataclass
class CaseResult:
    """The combined outcome of one test's setup, call and teardown."""

    case_id: str
    ok: bool = True
    directive: str = ""  # "SKIP reason" or "XFAIL reason"
    diagnostics: list[str] = field(default_factory=list)
    outcome: str = PASSED  # as JUnit names it: passed, failed, error or skipped
    message: str = ""  # the first line of what went wrong, for JUnit's message

    def lines(self, number: int) -> list[str]:
        head = [f"# {line}".rstrip() for line in self.diagnostics]
        status = "ok" if self.ok else "not ok"
        suffix = f" # {self.directive}" if self.directive else ""
        return [*head, f"{status} {number} {self.case_id}{suffix}"]


def case_id(nodeid: str) -> str:
    """The case id of a node, made safe for a KTAP description."""
    # '#' starts a KTAP directive; newlines would end the line.
    return " ".join(caseid.from_nodeid(nodeid).replace("#", "%23").split())


def _one_line(text: str) -> str:
    return " ".join(text.split())


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
    else:
        reason = str(longrepr or "")
    reason = reason.removeprefix("Skipped: ")
    return _one_line(reason) or "skipped"


def _diagnostics(report: pytest.TestReport) -> list[str]:
    # A set-up error is the harness's (LTP's TBROK), not a wrong answer of the kernel.
    if report.when == "setup":
        lines = ["set-up broke (an error of the harness, not a kernel failure):"]
    else:
        lines = [f"{report.when} failed:"]
    text_lines = (report.longreprtext or "").splitlines()
    if len(text_lines) > MAX_DIAGNOSTIC_LINES:
        dropped = len(text_lines) - MAX_DIAGNOSTIC_LINES
        text_lines = [f"... {dropped} lines cut ...", *text_lines[-MAX_DIAGNOSTIC_LINES:]]
    return lines + text_lines


def record(result: CaseResult, report: pytest.TestReport) -> None:
    """Fold one phase's report (setup, call or teardown) into the case's result."""
    wasxfail = getattr(report, "wasxfail", None)
    if report.skipped and wasxfail is not None:
        result.directive = _one_line(f"XFAIL {wasxfail}".strip())
        result.outcome = SKIPPED
    elif report.skipped:
        result.directive = f"SKIP {skip_reason(report)}"
        result.outcome = SKIPPED
    elif report.failed:
        result.ok = False
        result.directive = ""
        # A phase other than the call failing is the harness's (see movephys.verdicts).
        result.outcome = FAILED if report.when == "call" else ERROR
        result.message = result.message or _first_line(report)
        result.diagnostics.extend(_diagnostics(report))


def _first_line(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    text = getattr(crash, "message", None) or report.longreprtext or ""
    return _one_line(text.splitlines()[0] if text.splitlines() else "")[:300]


def render(results: Iterable[CaseResult], trailer: Iterable[str] = ()) -> str:
    """A KTAP version 1 document: the plan, then each result numbered in order.

    @trailer: diagnostic lines after the last result (what ended the run).
    """
    cases = list(results)
    lines = ["KTAP version 1", f"1..{len(cases)}"]
    for number, result in enumerate(cases, start=1):
        lines.extend(result.lines(number))
    lines.extend(f"# {line}".rstrip() for line in trailer)
    return "\n".join(lines) + "\n"


class CaseCollector:
    """Folds pytest's reports into one CaseResult per node, a failed collection included.

    The KTAP writers differ only in when they write: :class:`KtapWriter` at
    the end of the session, movephys.ktapstream as each case ends.
    """

    def __init__(self) -> None:
        self.results: dict[str, CaseResult] = {}

    def _result(self, nodeid: str) -> CaseResult:
        if nodeid not in self.results:
            self.results[nodeid] = CaseResult(case_id(nodeid))
        return self.results[nodeid]

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record(self._result(report.nodeid), report)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            result = self._result(report.nodeid or "collection")
            result.ok = False
            result.outcome = ERROR
            result.diagnostics.extend(["collection failed:", *str(report.longrepr).splitlines()])


class KtapWriter(CaseCollector):
    """Collects reports during the session and writes the KTAP file at its end."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def render(self) -> str:
        return render(self.results.values())

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(session.config, "workerinput"):
            return  # an xdist worker: the controller writes the file
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(self.render())

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        terminalreporter.write_line(f"KTAP report: {self.path}")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ktap", "KTAP report")
    group.addoption(
        "--ktap",
        metavar="PATH",
        default=None,
        help="write the results as KTAP version 1 to PATH",
    )


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("ktap", default=None)
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(KtapWriter(Path(path)), "movephys-ktap-writer")
