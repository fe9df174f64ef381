"""The ports matrix: cell aggregation, the compat split, its renderings and
`python -m movephys.vm ports` with the kernel builds and suite runs stubbed.

The JUnit input is synthetic (tests/data/ports/, junit.render): no kernel
ran any of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from movephys import junit, ports
from movephys.conformance import NOT_RUN
from movephys.junit import ERROR, FAILED, PASSED, SKIPPED, CaseOutcome, JUnitCase, read_outcomes
from movephys.ports import NOT_APPLICABLE, Cell, aggregate
from movephys.spec import load_spec
from movephys.vm import arches, boot, cli, run, series
from movephys.vm import ports as vm_ports
from movephys.vm.ending import Ending
from movephys.vm.errors import RunnerError

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).parent / "data" / "ports"
X86 = "6.12-x86_64"
ARM = "6.12-arm64"
NO_4G = "no memory at or above 4 GiB physical on this machine"
NO_IA32 = "no IA32 emulation in this kernel"


def outcome(case: str, kind: str, message: str = "") -> CaseOutcome:
    return CaseOutcome(case, kind, message)


def run_of(*found: CaseOutcome) -> dict[str, CaseOutcome]:
    return {item.case_id: item for item in found}


# Aggregation


def test_a_row_without_cases_in_the_column_is_not_applicable() -> None:
    assert aggregate([], run_of(outcome("a", PASSED))) == Cell(NOT_APPLICABLE)
    assert aggregate([], None) == Cell(NOT_APPLICABLE)


@pytest.mark.parametrize(
    ("kinds", "state"),
    [
        pytest.param([PASSED, PASSED], PASSED, id="all-passed"),
        pytest.param([PASSED, SKIPPED, ERROR, FAILED, None], FAILED, id="a-failure-wins"),
        pytest.param([PASSED, SKIPPED, ERROR, None], ERROR, id="then-an-error"),
        pytest.param([PASSED, SKIPPED, None], NOT_RUN, id="then-a-case-not-run"),
        pytest.param([SKIPPED, PASSED], PASSED, id="then-a-pass"),
        pytest.param([SKIPPED, SKIPPED], SKIPPED, id="all-skipped"),
    ],
)
def test_cell_state_by_precedence(kinds: list[str | None], state: str) -> None:
    cases = [f"test_a.py::test_{n}" for n in range(len(kinds))]
    found = run_of(*(outcome(case, kind, "why") for case, kind in zip(cases, kinds, strict=True)
                     if kind is not None))
    cell = aggregate(cases, found)
    assert cell.state == state
    assert cell.cases == len(kinds)
    assert cell.count(NOT_RUN) == kinds.count(None)
    assert [item.outcome for item in cell.failing] == [
        kind for kind in kinds if kind in (FAILED, ERROR)]


def test_a_run_without_results_leaves_every_case_not_run() -> None:
    cell = aggregate(["test_a.py::test_x", "test_a.py::test_y"], None)
    assert (cell.state, cell.counts) == (NOT_RUN, ((NOT_RUN, 2),))


def test_skipped_cells_keep_each_distinct_reason_in_case_order() -> None:
    cases = ["test_a.py::test_1", "test_a.py::test_2", "test_a.py::test_3", "test_a.py::test_4"]
    cell = aggregate(cases, run_of(outcome(cases[0], SKIPPED, NO_IA32),
                                   outcome(cases[1], SKIPPED, NO_4G),
                                   outcome(cases[2], SKIPPED, NO_IA32),
                                   outcome(cases[3], SKIPPED)))
    assert cell.state == SKIPPED
    assert cell.skip_reasons == (NO_IA32, NO_4G, ports.NO_REASON)


def test_counts_are_in_a_fixed_order() -> None:
    cases = ["test_a.py::test_1", "test_a.py::test_2", "test_a.py::test_3"]
    cell = aggregate(cases, run_of(outcome(cases[0], SKIPPED, NO_IA32),
                                   outcome(cases[1], FAILED, "wrong"),
                                   outcome(cases[2], PASSED)))
    assert cell.counts == ((PASSED, 1), (FAILED, 1), (SKIPPED, 1))


@pytest.mark.parametrize(
    ("cell", "text"),
    [
        (Cell(NOT_APPLICABLE), "n/a"),
        (Cell(PASSED, ((PASSED, 6),)), "passed (6)"),
        (Cell(PASSED, ((PASSED, 4), (SKIPPED, 2)), (NO_IA32,)), "passed (4 passed, 2 skipped [1])"),
        (Cell(SKIPPED, ((SKIPPED, 3),), (NO_4G, NO_IA32)), "skipped (3) [2, 1]"),
        (Cell(FAILED, ((PASSED, 5), (FAILED, 1))), "failed (5 passed, 1 failed)"),
    ],
    ids=["n/a", "passed", "passed-and-skipped", "skipped", "failed"],
)
def test_cell_text(cell: Cell, text: str) -> None:
    assert ports.cell_text(cell, {NO_IA32: 1, NO_4G: 2}) == text


# Columns and the compat split


@pytest.mark.parametrize(
    ("case", "compat"),
    [
        ("test_compat.py::test_i386_entry_is_the_call", True),
        ("test_compat.py::test_move_pages_compat_fix[int80]", True),
        ("test_geometry.py::test_move_phys_pages_geometry[ia32_binary-move-n16]", True),
        ("test_geometry.py::test_move_pages_geometry[int80-query-n1]", True),
        ("test_geometry.py::test_move_phys_pages_geometry[native-query-n1]", False),
        ("test_permissions.py::test_bad_flags_einval[all_ones-root]", False),
        ("test_moves.py::test_x[int80x]", False),
    ],
)
def test_compat_cases_are_test_compat_and_the_32bit_parameters(case: str, compat: bool) -> None:
    assert ports.is_compat_case(case) is compat


def test_the_6_12_x86_64_run_splits_into_two_columns() -> None:
    native, compat, six_one, arm = ports.COLUMNS
    assert [column.slug for column in ports.COLUMNS] == [
        X86, "6.12-i386-compat", "6.1-x86_64", ARM]
    assert native.run == compat.run == ports.X86_64_6_12
    assert [run.slug for run in ports.runs_of(ports.COLUMNS)] == [X86, "6.1-x86_64", ARM]
    case = "test_geometry.py::test_move_phys_pages_geometry[int80-query-n1]"
    assert [ports.in_column(column, case) for column in ports.COLUMNS] == [
        False, True, True, True]
    other = "test_geometry.py::test_move_phys_pages_geometry[native-query-n1]"
    assert [ports.in_column(column, other) for column in ports.COLUMNS] == [
        True, False, True, True]
    assert (six_one.cases, arm.cases) == ("all", "all")


def test_every_run_is_a_line_of_the_runner() -> None:
    for port_run in ports.runs_of(ports.COLUMNS):
        assert series.lookup(port_run.series).name == port_run.series
        assert arches.lookup(port_run.arch).name == port_run.arch


def test_columns_are_chosen_by_slug_in_table_order() -> None:
    chosen = ports.choose_columns([ARM, "6.12-i386-compat"])
    assert [column.slug for column in chosen] == ["6.12-i386-compat", ARM]
    assert ports.runs_of(chosen) == (ports.X86_64_6_12, chosen[1].run)
    with pytest.raises(ports.PortsError, match="unknown column 'sparc'") as caught:
        ports.choose_columns(["sparc"])
    assert "\n" not in str(caught.value)


# The matrix of recorded runs


@pytest.fixture(scope="module")
def matrix() -> ports.Matrix:
    results = {X86: read_outcomes(DATA / f"{X86}.xml"), ARM: read_outcomes(DATA / f"{ARM}.xml")}
    return ports.build_matrix(load_spec(), ports.COLUMNS, results,
                              {X86: f"{X86}/junit.xml", ARM: f"{ARM}/junit.xml"})


def states(matrix: ports.Matrix, row_id: str) -> list[str]:
    row = next(row for row in matrix.rows if row.id == row_id)
    return [cell.state for cell in row.cells]


def family(matrix: ports.Matrix, name: str) -> tuple[Cell, ...]:
    return next(row.cells for row in matrix.families if row.family == name)


def test_rows_are_the_conformance_rows(matrix: ports.Matrix) -> None:
    from movephys.conformance import row_groups

    spec = load_spec()
    assert [row.id for row in matrix.rows] == [
        row.id for group in row_groups(spec) for row in group.rows]
    assert matrix.sources == (f"{X86}/junit.xml", f"{X86}/junit.xml", None, f"{ARM}/junit.xml")


def test_cells_of_the_recorded_runs(matrix: ports.Matrix) -> None:
    # 8 native cases and the i386 entry's; on arm64 the latter skips.
    assert states(matrix, "unknown_flags") == [PASSED, PASSED, NOT_RUN, PASSED]
    row = next(row for row in matrix.rows if row.id == "unknown_flags")
    assert row.cells[0].counts == ((PASSED, 8),) and row.cells[1].counts == ((PASSED, 1),)
    assert row.cells[3].counts == ((PASSED, 8), (SKIPPED, 1))
    assert row.cells[3].skip_reasons == (NO_IA32,)
    # Both cases in test_compat.py: n/a on the native column. arm64 skipped one
    # and lacks the other: not run before skipped.
    assert states(matrix, "compat_below_4g_only") == [NOT_APPLICABLE, SKIPPED, NOT_RUN, NOT_RUN]
    assert states(matrix, "node_out_of_range") == [FAILED, NOT_APPLICABLE, NOT_RUN, PASSED]
    assert states(matrix, "query_mode") == [ERROR, NOT_APPLICABLE, NOT_RUN, NOT_RUN]
    gap = next(row for row in matrix.rows if row.id == "not_built")
    assert gap.gap and all(cell.state == NOT_APPLICABLE for cell in gap.cells)


def test_family_totals_split_and_count_unnamed_cases(matrix: ports.Matrix) -> None:
    compat = family(matrix, "test_compat.py")  # most of the family never ran
    assert [cell.state for cell in compat] == [NOT_APPLICABLE, NOT_RUN, NOT_RUN, NOT_RUN]
    assert (compat[1].count(PASSED), compat[1].count(SKIPPED)) == (1, 2)
    assert compat[1].skip_reasons == (NO_4G,)
    geometry = family(matrix, "test_geometry.py")
    assert geometry[0].count(PASSED) == 1 and geometry[1].count(PASSED) == 1
    moves = family(matrix, "test_moves.py")
    assert moves[0].count(PASSED) == 1  # test_synthetic_unnamed: in the run, in no row
    assert family(matrix, "test_bad_args.py")[0].state == FAILED
    assert matrix.bad


def test_json_has_every_cell_and_the_runs(matrix: ports.Matrix) -> None:
    record = ports.RunRecord(X86, 1, "finished", 12.34, 56.78, 17)
    data = json.loads(json.dumps(ports.to_json(matrix, [record])))
    assert data["format"] == ports.FORMAT
    assert [column["slug"] for column in data["columns"]] == [
        column.slug for column in ports.COLUMNS]
    assert data["runs"] == [{"run": X86, "status": 1, "ending": "finished",
                             "build_seconds": 12.3, "suite_seconds": 56.8, "cases": 17,
                             "note": ""}]
    row = next(row for row in data["rows"] if row["id"] == "node_out_of_range")
    assert row["cells"][X86] == {
        "state": FAILED, "counts": {PASSED: 1, FAILED: 1}, "skip_reasons": [],
        "failing": [{"case": "test_bad_args.py::test_enodev[max_numnodes]",
                     "outcome": FAILED, "message": "ENODEV expected, kernel returned 0"}]}
    assert row["cells"]["6.12-i386-compat"]["state"] == NOT_APPLICABLE
    assert {family["family"] for family in data["families"]} >= {"test_compat.py"}


def test_markdown_shows_cells_reasons_and_failures(matrix: ports.Matrix) -> None:
    text = ports.render_markdown(matrix, [ports.RunRecord(ARM, 3, "crashed", 5, None, 12,
                                                          "kernel panic | oops")])
    lines = text.splitlines()
    assert lines[0] == "# Ports matrix"
    assert "| 6.12-arm64 | 3 | crashed | 12 | 5 | - | kernel panic \\| oops |" in lines
    reasons = matrix.skip_reasons()
    assert f"{reasons[NO_4G]}. {NO_4G}" in lines and f"{reasons[NO_IA32]}. {NO_IA32}" in lines
    assert (f"| `compat_below_4g_only` |  | n/a | skipped (2) [{reasons[NO_4G]}] | "
            f"not run (2) | not run (1 skipped [{reasons[NO_IA32]}], 1 not run) |") in lines
    assert ("- 6.12 x86_64: `test_bad_args.py::test_enodev[max_numnodes]` failed: "
            "ENODEV expected, kernel returned 0") in lines
    assert "- 6.12 x86_64: `test_query.py::test_query_reports_node[anon]` error: " \
        "set-up: the page did not land on node 1" in lines
    assert "| `test_compat.py` | n/a |" in text


# The command, with build_kernel and run_suite stubbed


class FakeClock:
    """Each call one second later: a build takes 1 s, a suite 1 s."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def job(exit_code: int, ending: Ending) -> run.JobResult:
    result = boot.BootResult(exit_code=None if ending.kind != "finished" else exit_code,
                             output="", kernel_log="", console="", seconds=1.0, accel="tcg")
    return run.JobResult(exit_code, result, (), ending)


FINISHED = Ending("finished", "")


@pytest.fixture
def stubbed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[list[str]]:
    """6.12 x86_64 has a failing case, 6.1's build fails, 6.12 arm64's kernel crashes."""
    calls: list[str] = []

    def build_kernel(source: Path | None = None, cache_dir: Path | None = None,
                     debug: bool = False, jobs: int | None = None, series_name: str = "6.12",
                     arch_name: str = "x86_64") -> run.Kernel:
        calls.append(f"build {series_name} {arch_name} jobs={jobs}")
        if series_name == "6.1":
            raise RunnerError("building bzImage failed (exit 2), see build.log: error")
        return run.Kernel(tmp_path / f"{series_name}-{arch_name}", None, None)

    def run_suite(kernel: run.Kernel, options: run.VmOptions, results: Path,
                  pytest_args: list[str], via_kselftest: bool = False) -> run.JobResult:
        calls.append(f"suite {kernel.image.name} {results.name} echo={options.echo}")
        results.mkdir(parents=True, exist_ok=True)
        ok = JUnitCase("test_bad_args.py::test_enodev[minus_one]", PASSED)
        if kernel.image.name == X86:
            bad = JUnitCase("test_bad_args.py::test_enodev[max_numnodes]", FAILED, "wrong")
            (results / "junit.xml").write_text(junit.render([ok, bad]))
            return job(1, FINISHED)
        (results / "junit.xml").write_text(junit.render([ok]))
        return job(3, Ending("crashed", "kernel panic after 9 s: Oops"))

    monkeypatch.setattr(run, "build_kernel", build_kernel)
    monkeypatch.setattr(run, "run_suite", run_suite)
    yield calls


def request(results: Path, columns: tuple[ports.Column, ...] = ports.COLUMNS
            ) -> vm_ports.PortsRequest:
    options = run.VmOptions(nodes=run.suite_nodes(), accel="tcg", timeout=None,
                            cache_dir=results / "cache", echo=False)
    return vm_ports.PortsRequest(columns, results, options, results / "cache", 2)


def test_every_run_runs_past_a_failing_and_a_broken_one(
    stubbed: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "ports"
    (results / "6.1-x86_64").mkdir(parents=True)
    (results / "6.1-x86_64" / "junit.xml").write_text("stale: an earlier run's")
    status = vm_ports.run_ports(request(results), clock=FakeClock(), progress=lambda _: None)
    assert status == 2  # a run broke
    assert stubbed == [
        "build 6.12 x86_64 jobs=2", f"suite {X86} {X86} echo=False",
        "build 6.1 x86_64 jobs=2",
        "build 6.12 arm64 jobs=2", f"suite {ARM} {ARM} echo=False",
    ]
    assert not (results / "6.1-x86_64" / "junit.xml").exists()
    data = json.loads((results / "matrix.json").read_text())
    runs = {record["run"]: record for record in data["runs"]}
    assert runs[X86] == {"run": X86, "status": 1, "ending": "finished", "build_seconds": 1.0,
                         "suite_seconds": 1.0, "cases": 2, "note": ""}
    assert runs["6.1-x86_64"]["ending"] == vm_ports.BUILD_FAILED
    assert runs["6.1-x86_64"]["suite_seconds"] is None
    assert runs["6.1-x86_64"]["note"].startswith("building bzImage failed")
    assert (runs[ARM]["status"], runs[ARM]["ending"], runs[ARM]["cases"]) == (3, "crashed", 1)
    row = next(row for row in data["rows"] if row["id"] == "node_out_of_range")
    assert {slug: cell["state"] for slug, cell in row["cells"].items()} == {
        X86: FAILED, "6.12-i386-compat": NOT_APPLICABLE, "6.1-x86_64": NOT_RUN, ARM: NOT_RUN}
    assert "## Runs" in (results / "matrix.md").read_text()
    out = capsys.readouterr().out
    assert f"{X86}: finished, exit 1, 2 cases, build 1 s, suite 1 s" in out
    assert f"ports matrix: {results / 'matrix.md'}" in out


def test_failing_cells_alone_exit_1_and_a_clean_run_0(
    stubbed: list[str], tmp_path: Path
) -> None:
    native = ports.choose_columns([X86])
    assert vm_ports.run_ports(request(tmp_path / "a", native), progress=lambda _: None) == 1
    compat = ports.choose_columns(["6.12-i386-compat"])
    # The same run: its compat column has no failing cell, but the run exited 1.
    assert vm_ports.run_ports(request(tmp_path / "b", compat), progress=lambda _: None) == 1
    records = [ports.RunRecord(X86, 0, "finished", 1, 1, 1)]
    clean = ports.build_matrix(load_spec(), compat, {X86: {}})
    assert vm_ports.status(clean, records) == 0


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        pytest.param(["--columns", "sparc"], "--columns: unknown column 'sparc' (known: ",
                     id="unknown-column"),
        pytest.param(["--columns", ","], "--columns: no column chosen", id="no-column"),
        pytest.param(["--jobs", "0"], "--jobs must be at least 1, not 0", id="no-jobs"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    stubbed: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str],
    argv: list[str], message: str,
) -> None:
    status = cli.main(["ports", "--results", str(tmp_path), *argv])
    err = capsys.readouterr().err
    assert status == 2
    assert err.startswith(f"movephys.vm: error: {message}") and err.count("\n") == 1
    assert stubbed == []


def test_results_that_cannot_be_written_are_one_line(
    stubbed: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    status = cli.main(["ports", "--results", str(blocker), "--quiet"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert err.startswith(f"movephys.vm: error: cannot write the matrix to {blocker}")
    assert stubbed == []


def test_the_command_takes_its_options() -> None:
    args = cli.parse_args(["ports", "--results", "out", "--columns", f"{X86},{ARM}", "--quiet",
                           "--cache-dir", "c", "--jobs", "3", "--accel", "tcg"])
    assert (args.results, args.columns, args.quiet, args.cache_dir, args.jobs, args.accel) == (
        Path("out"), f"{X86},{ARM}", True, Path("c"), 3, "tcg")
    assert [column.slug for column in vm_ports.choose_columns(cli.parse_args(
        ["ports"]).columns)] == [column.slug for column in ports.COLUMNS]


# The docs page


def test_reference_files_of_the_docs() -> None:
    sys.path[:0] = [str(REPO / "docs" / "_ext"), str(REPO / "manpage" / "_ext")]
    from movephys_docs.ports import reference_file

    docs = REPO / "docs"
    assert reference_file(docs, ports.X86_64_6_12) == docs / "reference" / "junit.xml"
    assert reference_file(docs, ports.COLUMNS[3].run) == (
        docs / "reference" / "ports" / ARM / "junit.xml")


def test_docs_page_shows_every_column(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-W", "-q", "-E", "docs",
         str(tmp_path / "html")],
        capture_output=True, text=True, cwd=REPO, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    page = (tmp_path / "html" / "ports.html").read_text(encoding="utf-8")
    for column in ports.COLUMNS:
        assert f"<th class=\"head\"><p>{column.name}</p></th>" in page
    assert 'class="mpp-passed"' in page and 'class="mpp-na"' in page
    assert "Totals per family" in page and "docs/reference/junit.xml" in page
    assert 'href="ports.html"' in (tmp_path / "html" / "index.html").read_text(encoding="utf-8")
