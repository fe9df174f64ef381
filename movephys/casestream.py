"""Results streamed out as each case ends (``--case-stream PATH``), and read back.

pytest writes its JUnit and KTAP files when the session ends; a kernel that
panics in the middle of the run ends the session first. This plugin appends
one JSON line per event to PATH, flushed and synced at once, so the host
still has every finished case and knows which case was running::

    {"event": "collected", "count": 169}
    {"event": "start", "case": "test_moves.py::test_move[anon]"}
    {"event": "end", "case": "test_moves.py::test_move[anon]", "outcome": "passed", ...}
    {"event": "finish", "exitstatus": 0}

The result fields are those of :class:`movephys.ktap.CaseResult`, so the
host renders the same KTAP from them (see movephys.vm.salvage).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any

import pytest

from movephys.ktap import CaseResult, case_id, record


class StreamError(Exception):
    """A stream that cannot be read; str() is one line."""


@dataclass(frozen=True)
class FinishedCase:
    result: CaseResult
    seconds: float


@dataclass(frozen=True)
class Stream:
    """What a (possibly cut-off) stream says about the run."""

    collected: int | None  # None: collection never finished
    finished: tuple[FinishedCase, ...]
    running: str | None  # the case that started and never ended
    exitstatus: int | None  # None: the session never finished

    @property
    def complete(self) -> bool:
        return self.exitstatus is not None


class StreamWriter:
    """Appends the events of this session to the stream file."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.file: IO[str] = path.open("w", encoding="utf-8")
        self.results: dict[str, CaseResult] = {}
        self.started: dict[str, float] = {}

    def _write(self, event: dict[str, Any]) -> None:
        self.file.write(json.dumps(event, separators=(",", ":")) + "\n")
        self.file.flush()
        # The guest writes through 9p or virtiofs: reach the host before a panic does.
        os.fsync(self.file.fileno())

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self._write({"event": "collected", "count": len(session.items)})

    def pytest_runtest_logstart(self, nodeid: str) -> None:
        self.started[nodeid] = time.monotonic()
        self.results[nodeid] = CaseResult(case_id(nodeid))
        self._write({"event": "start", "case": case_id(nodeid)})

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record(self.results.setdefault(report.nodeid, CaseResult(case_id(report.nodeid))),
               report)

    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        result = self.results.pop(nodeid, CaseResult(case_id(nodeid)))
        seconds = time.monotonic() - self.started.pop(nodeid, time.monotonic())
        self._write({"event": "end", **asdict(result), "seconds": round(seconds, 3)})

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self._write({"event": "finish", "exitstatus": int(exitstatus)})
        self.file.close()


def read_stream(path: Path) -> Stream:
    """Read a stream; a last line cut off by a crash is ignored, any other bad line is an error."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return Stream(None, (), None, None)
    except OSError as error:
        raise StreamError(f"{path}: {error.strerror}") from None
    collected: int | None = None
    finished: list[FinishedCase] = []
    running: str | None = None
    exitstatus: int | None = None
    for number, line in enumerate(lines, start=1):
        try:
            event = json.loads(line)
            kind = event["event"]
            if kind == "collected":
                collected = int(event["count"])
            elif kind == "start":
                running = str(event["case"])
            elif kind == "end":
                seconds = float(event.pop("seconds"))
                del event["event"]
                finished.append(FinishedCase(CaseResult(**event), seconds))
                running = None
            elif kind == "finish":
                exitstatus = int(event["exitstatus"])
            else:
                raise ValueError(f"unknown event {kind!r}")
        except (ValueError, KeyError, TypeError) as error:
            if number == len(lines):
                break  # the guest died while writing this line
            raise StreamError(f"{path}:{number}: not a stream event: {error}") from None
    return Stream(collected, tuple(finished), running, exitstatus)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("ktap", "KTAP report").addoption(
        "--case-stream", metavar="PATH", default=None,
        help="append each case's result to PATH as it ends (JSON lines), for the VM runner")


def pytest_configure(config: pytest.Config) -> None:
    path = config.getoption("case_stream", default=None)
    if path and not hasattr(config, "workerinput"):
        config.pluginmanager.register(StreamWriter(Path(path)), "movephys-case-stream")
