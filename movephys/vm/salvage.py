"""Results of a suite run whose guest ended before pytest wrote them.

From the case stream: every finished case as it was, the case that was
running marked as crashed with the kernel's report attached, and a line
saying how many cases never ran. Written as results.ktap (read by the
kernel's kunit_parser) and junit.xml, where pytest would have put them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from movephys import junit, ktap
from movephys.casestream import FinishedCase, Stream
from movephys.vm.ending import Ending


@dataclass(frozen=True)
class Salvaged:
    finished: int
    passed: int
    failed: int  # failures and errors
    skipped: int
    crashed_case: str | None
    not_run: int | None  # None: the case count was never known

    def summary(self) -> str:
        counts = (f"{self.finished} case(s) finished ({self.passed} passed, {self.failed} "
                  f"failed, {self.skipped} skipped)")
        crashed = f"; crashed in {self.crashed_case}" if self.crashed_case else ""
        not_run = "" if self.not_run is None else f"; {self.not_run} never ran"
        return counts + crashed + not_run


def crashed_case(case_id: str, ending: Ending) -> FinishedCase:
    """The case that was running when the guest ended, as a failure (an error for the harness)."""
    verdict = {"crashed": "the kernel crashed during this case",
               "hung": "the kernel hung during this case"}.get(
        ending.kind, "set-up broke (an error of the harness, not a kernel failure): the run "
        "ended during this case")
    outcome = junit.FAILED if ending.kernel_broke else junit.ERROR
    diagnostics = [f"{verdict}: {ending.reason}", *ending.report]
    result = ktap.CaseResult(case_id, ok=False, diagnostics=diagnostics, outcome=outcome,
                             message=f"{verdict}: {ending.reason}"[:300])
    return FinishedCase(result, 0.0)


def salvage(stream: Stream, ending: Ending, ktap_path: Path, junit_path: Path) -> Salvaged:
    cases = list(stream.finished)
    if stream.running is not None:
        cases.append(crashed_case(stream.running, ending))
    not_run = None if stream.collected is None else max(0, stream.collected - len(cases))
    trailer = [f"the run ended early: {ending.reason}"]
    if not_run is not None:
        trailer.append(f"{not_run} of {stream.collected} cases never ran")
    if stream.running is None and ending.report:
        trailer += ["the kernel's report:", *ending.report]
    ktap_path.parent.mkdir(parents=True, exist_ok=True)
    ktap_path.write_text(ktap.render((case.result for case in cases), trailer))
    junit_path.write_text(junit.render([
        junit.JUnitCase(case.result.case_id, case.result.outcome, case.result.message,
                        "\n".join(case.result.diagnostics), case.seconds)
        for case in cases
    ]))
    outcomes = [case.result.outcome for case in stream.finished]
    return Salvaged(
        finished=len(outcomes), passed=outcomes.count(junit.PASSED),
        failed=outcomes.count(junit.FAILED) + outcomes.count(junit.ERROR),
        skipped=outcomes.count(junit.SKIPPED), crashed_case=stream.running, not_run=not_run,
    )
