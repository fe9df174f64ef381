"""Latest outcome of each suite case from a JUnit XML file (pytest --junitxml).

Standard library only. Case ids are pytest node ids relative to suites/,
the form the spec's `cases` lists use.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from pathlib import Path

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"


class JUnitError(Exception):
    """An unreadable results file; str() is one line."""


@dataclass(frozen=True)
class CaseOutcome:
    case_id: str
    outcome: str
    message: str


def case_id(classname: str, name: str) -> str:
    """pytest's classname "suites.test_moves.TestX" + name -> "test_moves.py::TestX::name"."""
    parts = classname.split(".")
    if parts and parts[0] == "suites":
        parts = parts[1:]
    modules = [index for index, part in enumerate(parts) if part.startswith("test_")]
    if not modules:
        raise JUnitError(f"testcase {name!r}: no test module in classname {classname!r}")
    module = modules[-1]
    path = "/".join(parts[: module + 1]) + ".py"
    return "::".join([path, *parts[module + 1 :], name])


def _outcome(testcase: ElementTree.Element) -> tuple[str, str]:
    for tag, outcome in (("failure", FAILED), ("error", ERROR), ("skipped", SKIPPED)):
        child = testcase.find(tag)
        if child is not None:
            message = child.get("message") or (child.text or "").strip()
            return outcome, " ".join(message.split())
    return PASSED, ""


def read_outcomes(path: Path) -> dict[str, CaseOutcome]:
    """Outcome per case id; a case listed twice keeps its last entry."""
    try:
        root = ElementTree.parse(path).getroot()
    except FileNotFoundError:
        raise JUnitError(f"{path}: no such results file") from None
    except ElementTree.ParseError as error:
        raise JUnitError(f"{path}: not valid XML: {error}") from None
    if root.tag not in ("testsuites", "testsuite"):
        raise JUnitError(f"{path}: root element is <{root.tag}>, not <testsuites> or <testsuite>")
    outcomes: dict[str, CaseOutcome] = {}
    for testcase in root.iter("testcase"):
        name, classname = testcase.get("name"), testcase.get("classname")
        if not name or not classname:
            raise JUnitError(f"{path}: a <testcase> lacks name or classname")
        identifier = case_id(classname, name)
        outcome, message = _outcome(testcase)
        outcomes[identifier] = CaseOutcome(identifier, outcome, message)
    return outcomes
