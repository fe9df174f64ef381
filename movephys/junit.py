"""JUnit XML of suite runs: the latest outcome of each case from a file
pytest --junitxml wrote, and a file in the same form for a run whose guest
died before pytest could write one.

Standard library only. Case ids are pytest node ids relative to suites/,
the form the spec's `cases` lists use.

To publish a run's results in the docs (the reference run of the
conformance matrix), copy them without what names the build machine:

    python -m movephys.junit build/results/junit.xml docs/reference/junit.xml
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ElementTree
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from movephys import caseid

PASSED, FAILED, ERROR, SKIPPED = "passed", "failed", "error", "skipped"
FLAKY = "flaky"  # over several runs: failed, broke or went missing in one, passed in another
MISSING = "missing"  # absent from one run that other runs have: the run ended before it


class JUnitError(Exception):
    """An unreadable results file; str() is one line."""


@dataclass(frozen=True)
class CaseOutcome:
    case_id: str
    outcome: str
    message: str


def _case_id(classname: str, name: str, path: Path) -> str:
    try:
        return caseid.from_junit(classname, name)
    except caseid.CaseIdError as error:
        raise JUnitError(f"{path}: {error}") from None


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
        identifier = _case_id(classname, name, path)
        outcome, message = _outcome(testcase)
        outcomes[identifier] = CaseOutcome(identifier, outcome, message)
    return outcomes


def not_passing(outcome: str) -> bool:
    """A run's outcome that counts against a case: failed, broke or never ran."""
    return outcome in (FAILED, ERROR, MISSING)


def is_flaky(outcomes: Sequence[str]) -> bool:
    """The one rule for several runs: not passing in some, passed in others."""
    return any(map(not_passing, outcomes)) and PASSED in outcomes


def combine(runs: Sequence[dict[str, CaseOutcome]]) -> dict[str, CaseOutcome]:
    """One outcome per case over @runs: its last, or FLAKY by :func:`is_flaky`.

    A case absent from a run that others have counts as MISSING there. A
    flaky case's message says in how many runs it did not pass and the last
    such message.
    """
    combined: dict[str, CaseOutcome] = {}
    for case in sorted({case for outcomes in runs for case in outcomes}):
        seen = [outcomes.get(case, CaseOutcome(case, MISSING, "not in this run"))
                for outcomes in runs]
        if is_flaky([found.outcome for found in seen]):
            bad = [found for found in seen if not_passing(found.outcome)]
            message = f"did not pass in {len(bad)} of {len(seen)} runs"
            message += f": {bad[-1].message}" if bad[-1].message else ""
            combined[case] = CaseOutcome(case, FLAKY, message)
        else:
            combined[case] = next(found for found in reversed(seen) if found.outcome != MISSING)
    return combined


@dataclass(frozen=True)
class JUnitCase:
    """One case to write: what pytest would have recorded for it."""

    case_id: str
    outcome: str  # passed, failed, error or skipped
    message: str = ""
    text: str = ""  # the report, as the element's text
    seconds: float = 0.0


_TAGS = {FAILED: "failure", ERROR: "error", SKIPPED: "skipped"}


def render(cases: list[JUnitCase], suite: str = "pytest") -> str:
    """A <testsuites> document as pytest writes it (counts, times, one element per case)."""
    counts = {outcome: sum(case.outcome == outcome for case in cases) for outcome in _TAGS}
    root = ElementTree.Element("testsuites")
    element = ElementTree.SubElement(root, "testsuite", {
        "name": suite, "tests": str(len(cases)), "failures": str(counts[FAILED]),
        "errors": str(counts[ERROR]), "skipped": str(counts[SKIPPED]),
        "time": f"{sum(case.seconds for case in cases):.3f}",
    })
    for case in cases:
        classname, name = caseid.junit_names(case.case_id)
        testcase = ElementTree.SubElement(element, "testcase", {
            "classname": classname, "name": name, "time": f"{case.seconds:.3f}"})
        tag = _TAGS.get(case.outcome)
        if tag is not None:
            child = ElementTree.SubElement(testcase, tag, {"message": case.message})
            child.text = case.text
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


HOST_ATTRIBUTES = ("hostname", "timestamp")  # of <testsuite>: the machine and hour of a run


# The directories of the checkout a run came from, before the suite's own
# files a skip or failure names (/work/main/conftest.py:263: ...).
CHECKOUT_PREFIX = re.compile(r"(?<![\w.~-])/(?:[^\s:/'\"]+/)+?(?=(?:suites/|conftest\.py))")


def without_checkout(text: str) -> str:
    """@text with the checkout's path before the suite's files removed."""
    return CHECKOUT_PREFIX.sub("", text)


def publish(source: Path, target: Path) -> int:
    """Copy @source to @target without HOST_ATTRIBUTES, indented; the number of cases.

    The copy names nothing of the build machine and is the same bytes for
    the same outcomes and times, so a refresh diffs only what changed.
    """
    outcomes = read_outcomes(source)  # refuse a file the matrix could not read
    root = ElementTree.parse(source).getroot()
    for suite in root.iter("testsuite"):
        for attribute in HOST_ATTRIBUTES:
            suite.attrib.pop(attribute, None)
    for element in root.iter():
        if element.text:
            element.text = without_checkout(element.text)
        for name, value in element.attrib.items():
            element.attrib[name] = without_checkout(value)
    ElementTree.indent(root)
    target.parent.mkdir(parents=True, exist_ok=True)
    text = ElementTree.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
    target.write_text(text, encoding="utf-8")
    return len(outcomes)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m movephys.junit SOURCE.xml TARGET.xml", file=sys.stderr)
        return 2
    try:
        cases = publish(Path(argv[0]), Path(argv[1]))
    except JUnitError as error:
        print(f"movephys.junit: {error}", file=sys.stderr)
        return 1
    print(f"{argv[1]}: {cases} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
