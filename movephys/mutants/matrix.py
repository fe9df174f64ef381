"""The kill matrix: one row per mutant, one outcome column per kernel (lean, debug).

Stored as build/mutants/matrix.json, which each run updates: a run of some
mutants, or of one kernel, keeps the other results. A result is shown only
while it was recorded for the mutant's current edit (its digest), so
editing a mutant's data retires its old outcome. Rendered as
build/mutants/matrix.md and as the docs page docs/mutants.md.
"""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from movephys.mutants.claims import Claim
from movephys.mutants.mutant import SURVIVORS, Mutant, MutantError, write_atomically
from movephys.mutants.run import HARNESS_ERROR, KILLING_OUTCOMES

Variant = Literal["lean", "debug"]
VARIANTS: tuple[Variant, ...] = ("lean", "debug")
BUILD_FAILED = "build-failed"
FORMAT = 1
SHOWN_CASES = 3  # failing cases named in a table cell; the JSON has them all
SHOWN_ROWS = 6


@dataclass(frozen=True)
class Result:
    """One mutant on one kernel."""

    outcome: str  # killed, survived, crashed, timeout, harness-error or build-failed
    failing_cases: tuple[str, ...]
    spec_rows: tuple[str, ...]  # the rows the failing cases prove
    build_seconds: float
    run_seconds: float | None  # None when the build failed
    cases: int  # cases the suite reported
    skipped: int
    note: str
    line: int  # where the edit starts in the reference source
    reference: str  # the reference kernel's cache key
    digest: str  # the mutant's edit when this was recorded
    finished: str  # ISO time, UTC


@dataclass
class Matrix:
    results: dict[str, dict[str, Result]] = field(default_factory=dict)  # id -> variant ->
    workspaces: dict[str, dict[str, Any]] = field(default_factory=dict)  # variant -> costs

    def record(self, mutant_id: str, variant: Variant, result: Result) -> None:
        self.results.setdefault(mutant_id, {})[variant] = result

    def current(self, mutant: Mutant, variant: Variant) -> Result | None:
        result = self.results.get(mutant.id, {}).get(variant)
        return result if result is not None and result.digest == mutant.digest else None


def now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def _result(data: Mapping[str, Any]) -> Result:
    return Result(
        outcome=str(data["outcome"]),
        failing_cases=tuple(str(case) for case in data["failing_cases"]),
        spec_rows=tuple(str(row) for row in data["spec_rows"]),
        build_seconds=float(data["build_seconds"]),
        run_seconds=None if data["run_seconds"] is None else float(data["run_seconds"]),
        cases=int(data["cases"]),
        skipped=int(data.get("skipped", 0)),
        note=str(data["note"]),
        line=int(data["line"]),
        reference=str(data["reference"]),
        digest=str(data["digest"]),
        finished=str(data["finished"]),
    )


def load(path: Path) -> Matrix:
    """The stored matrix, or an empty one when there is none yet."""
    if not path.exists():
        return Matrix()
    try:
        data = json.loads(path.read_text())
        matrix = Matrix(workspaces=dict(data.get("workspaces", {})))
        for row in data["mutants"]:
            for variant, result in row["results"].items():
                if result is not None and variant in VARIANTS:
                    matrix.record(str(row["id"]), variant, _result(result))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
        raise MutantError(f"{path}: not a kill matrix this version can read "
                          f"({type(error).__name__}: {error}); move it away to start afresh"
                          ) from None
    return matrix


# -- judging -------------------------------------------------------------------


def verdict(mutant: Mutant, variant: Variant, outcome: str) -> str:
    """"expected", "unexpected", "defect" (the mutant did not build) or "harness"
    (QEMU or pytest broke: the run says nothing about the mutant, run it again)."""
    if outcome == BUILD_FAILED:
        return "defect"
    if outcome == HARNESS_ERROR:
        return "harness"
    killed = outcome in KILLING_OUTCOMES
    if mutant.expect in SURVIVORS:
        return "unexpected" if killed else "expected"
    if mutant.expect == "debug" and variant == "lean":
        return "expected"  # the lean kernel may or may not see it
    return "expected" if killed else "unexpected"


@dataclass(frozen=True)
class Score:
    variant: Variant
    run: int
    killed: int  # crashed and timeout included
    survived_expected: int
    survived_unexpected: int
    build_failed: int
    scored: int  # the mutants this kernel is meant to kill, among those run and built
    scored_killed: int

    @property
    def percent(self) -> float | None:
        return None if not self.scored else 100.0 * self.scored_killed / self.scored


def is_scored(mutant: Mutant, variant: Variant) -> bool:
    """Documented survivors never count, and debug-only mutants not on the lean kernel."""
    return mutant.expect not in SURVIVORS and not (mutant.expect == "debug" and variant == "lean")


def score(matrix: Matrix, mutants: Sequence[Mutant], variant: Variant) -> Score:
    """Mutation score on @variant: kills among the mutants it is meant to kill."""
    run = killed = expected = unexpected = failed = scored = scored_killed = 0
    for mutant in mutants:
        result = matrix.current(mutant, variant)
        if result is None or result.outcome == HARNESS_ERROR:
            continue
        run += 1
        if result.outcome == BUILD_FAILED:
            failed += 1
            continue
        was_killed = result.outcome in KILLING_OUTCOMES
        if was_killed:
            killed += 1
        elif verdict(mutant, variant, result.outcome) == "expected":
            expected += 1
        else:
            unexpected += 1
        if is_scored(mutant, variant):
            scored += 1
            scored_killed += was_killed
    return Score(variant, run, killed, expected, unexpected, failed, scored, scored_killed)


# -- storing -------------------------------------------------------------------


def _claim_json(claim: Claim) -> dict[str, str]:
    return {"text": claim.text, "kind": claim.kind, "source": claim.source}


def to_json(matrix: Matrix, mutants: Sequence[Mutant], claims: Mapping[str, Claim]
            ) -> dict[str, Any]:
    rows = []
    for mutant in mutants:
        results: dict[str, Any] = {}
        verdicts: dict[str, str | None] = {}
        for variant in VARIANTS:
            result = matrix.current(mutant, variant)
            results[variant] = asdict(result) if result else None
            verdicts[variant] = verdict(mutant, variant, result.outcome) if result else None
        rows.append({
            "id": mutant.id, "file": mutant.file, "claim": _claim_json(claims[mutant.id]),
            "expect": mutant.expect, "reason": mutant.reason, "quick": mutant.quick,
            "digest": mutant.digest, "results": results, "verdicts": verdicts,
        })
    return {
        "format": FORMAT,
        "written": now(),
        "workspaces": matrix.workspaces,
        "scores": {variant: asdict(score(matrix, mutants, variant)) for variant in VARIANTS},
        "mutants": rows,
    }


def write(matrix: Matrix, mutants: Sequence[Mutant], claims: Mapping[str, Claim],
          output: Path) -> None:
    """matrix.json and matrix.md in @output."""
    output.mkdir(parents=True, exist_ok=True)
    text = json.dumps(to_json(matrix, mutants, claims), indent=1) + "\n"
    write_atomically(output / "matrix.json", text.encode())
    write_atomically(output / "matrix.md", render_matrix(matrix, mutants, claims).encode())


# -- rendering -----------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.replace("|", "\\|").split())


def _claim_text(claim: Claim) -> str:
    if claim.kind == "spec":
        return f"`{claim.source}`"
    patch = claim.source.split("-", 1)[0]
    words = claim.text if len(claim.text) <= 70 else claim.text[:67].rstrip() + "..."
    return f"{patch}: \"{words}\""


def _listed(items: Sequence[str], shown: int) -> str:
    if not items:
        return ""
    named = ", ".join(f"`{item}`" for item in items[:shown])
    return named + (f" (+{len(items) - shown} more)" if len(items) > shown else "")


def _outcome_cell(mutant: Mutant, variant: Variant, result: Result | None) -> str:
    if result is None:
        return "not run"
    judged = verdict(mutant, variant, result.outcome)
    return result.outcome + ("" if judged == "expected" else f" ({judged})")


def _seconds(result: Result | None) -> str:
    if result is None:
        return ""
    run = "" if result.run_seconds is None else f" + {result.run_seconds:.0f}"
    return f"{result.build_seconds:.0f}{run}"


def _shown(matrix: Matrix, mutant: Mutant) -> Result | None:
    """The result whose details a row shows: lean's, else debug's."""
    return matrix.current(mutant, "lean") or matrix.current(mutant, "debug")


def render_table(matrix: Matrix, mutants: Sequence[Mutant], claims: Mapping[str, Claim]) -> str:
    lines = [
        "| Mutant | Where | Claim | Expect | Lean | Debug | Failing cases | Spec rows proven "
        "| Build + suite (s) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for mutant in mutants:
        shown = _shown(matrix, mutant)
        where = mutant.file + (f":{shown.line}" if shown else "")
        details = ""
        if shown is not None:
            details = (_listed(shown.failing_cases, SHOWN_CASES) or _cell(shown.note[:160])
                       or f"none of {shown.cases} ({shown.skipped} skipped)")
        cells = [
            f"`{mutant.id}`", f"`{where}`", _claim_text(claims[mutant.id]), mutant.expect,
            _outcome_cell(mutant, "lean", matrix.current(mutant, "lean")),
            _outcome_cell(mutant, "debug", matrix.current(mutant, "debug")),
            details, _listed(shown.spec_rows, SHOWN_ROWS) if shown else "",
            " / ".join(filter(None, (_seconds(matrix.current(mutant, variant))
                                     for variant in VARIANTS))),
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def render_scores(matrix: Matrix, mutants: Sequence[Mutant]) -> str:
    lines = [
        "| Kernel | Run | Killed | Survived, expected | Survived, unexpected | Build failed "
        "| Score |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in VARIANTS:
        found = score(matrix, mutants, variant)
        percent = "" if found.percent is None else (
            f"{found.scored_killed}/{found.scored} ({found.percent:.0f} %)")
        lines.append(f"| {variant} | {found.run} | {found.killed} | {found.survived_expected} "
                     f"| {found.survived_unexpected} | {found.build_failed} | {percent} |")
    return "\n".join(lines) + "\n"


def _workspace_lines(matrix: Matrix) -> list[str]:
    lines = []
    for variant, costs in matrix.workspaces.items():
        prime = costs.get("prime_seconds")
        lines.append(f"- {variant}: reference kernel `{costs.get('reference', '?')}`, workspace "
                     f"copied in {costs.get('copy_seconds', '?')} s, first build in it "
                     + (f"{prime} s" if prime is not None else "not done yet"))
    return lines


def render_matrix(matrix: Matrix, mutants: Sequence[Mutant], claims: Mapping[str, Claim]) -> str:
    return "\n".join([
        "# Kill matrix", "",
        f"Written {now()} by `python -m movephys.mutants`; {len(mutants)} mutants.", "",
        render_scores(matrix, mutants),
        render_table(matrix, mutants, claims),
        *(["Workspaces:", "", *_workspace_lines(matrix), ""] if matrix.workspaces else []),
    ])


def _reason_list(mutants: Iterable[Mutant], claims: Mapping[str, Claim]) -> list[str]:
    return [f"- `{mutant.id}` ({mutant.expect}; claim {_claim_text(claims[mutant.id])}): "
            f"{mutant.reason}" for mutant in mutants]


def _unexpected(matrix: Matrix, mutants: Sequence[Mutant], claims: Mapping[str, Claim]
                ) -> list[str]:
    lines = []
    for mutant in mutants:
        for variant in VARIANTS:
            result = matrix.current(mutant, variant)
            if result is None or verdict(mutant, variant, result.outcome) == "expected":
                continue
            what = {"defect": "did not build", "unexpected": result.outcome,
                    "harness": "hit a harness error (not judged; run it again)"}[
                verdict(mutant, variant, result.outcome)]
            detail = f": {_cell(result.note[:200])}" if result.note else ""
            lines.append(f"- `{mutant.id}` on the {variant} kernel {what} (expected "
                         f"{mutant.expect}; claim {_claim_text(claims[mutant.id])}){detail}")
    return lines


DOCS_INTRO = """\
Each mutant is one deliberate defect in the reference port: an edit of the
patched 6.12 source (`kernel/mutants/mutants.toml`) that breaks one claim of
the series' commit messages or one row of the spec. The runner applies each
mutant to a copy of the cached reference build, rebuilds it, runs the whole
conformance suite on it in the NUMA VM, and restores the source. A mutant is
*killed* when the suite fails on it (a kernel that crashed or hung counts as
killed; a run where QEMU or pytest broke is not judged) and *survives* when
the suite passes. A survivor the data did not predict names a behaviour no
case checks.

    tox -e mutants                          # every mutant on the lean kernel
    tox -e mutants -- --quick               # the quick subset (about 10)
    tox -e mutants -- --debug               # the debug kernel's column
    tox -e mutants -- --only ID,ID -- -k moves    # some mutants; pytest args after --

`expect` says what should happen: `lean` (the normal suite kills it),
`debug` (only the kernel with KASAN, lockdep and DEBUG_VM is expected to),
`equivalent` or `untestable` (a documented survivor, with the reason below).
The score counts kills among the mutants the suite is meant to kill on that
kernel. Full results, with every failing case, are in
`build/mutants/matrix.json`; each mutant's logs and JUnit file are in
`build/mutants/<kernel>/<id>/`.
"""


def render_docs(matrix: Matrix, mutants: Sequence[Mutant], claims: Mapping[str, Claim]) -> str:
    survivors = [mutant for mutant in mutants if mutant.expect in SURVIVORS]
    debug_only = [mutant for mutant in mutants if mutant.expect == "debug"]
    unexpected = _unexpected(matrix, mutants, claims)
    parts = [
        "# Mutation score of the conformance suite", "",
        DOCS_INTRO,
        f"This page was written {now()} from `build/mutants/matrix.json` by "
        "`python -m movephys.mutants`.", "",
        "## Score", "",
        render_scores(matrix, mutants),
        *(["Workspaces:", "", *_workspace_lines(matrix), ""] if matrix.workspaces else []),
        "## Kill matrix", "",
        "Build + suite: wall seconds per kernel (lean / debug). Failing cases and spec rows "
        "are those of the lean run, else of the debug run.", "",
        render_table(matrix, mutants, claims),
        "## Expected survivors", "",
        *_reason_list(survivors, claims), "",
        "## Mutants only the debug kernel is expected to kill", "",
        *_reason_list(debug_only, claims), "",
        "## Unexpected results", "",
        *(unexpected or ["None among the mutants run."]), "",
    ]
    return "\n".join(parts)


def write_docs(matrix: Matrix, mutants: Sequence[Mutant], claims: Mapping[str, Claim],
               path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(path, render_docs(matrix, mutants, claims).encode())
