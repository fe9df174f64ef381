"""The command line: one-line errors with exit 2, and a whole run with the VM and make faked."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from movephys.mutants import build, cli, workspace
from movephys.mutants.build import RebuildRequest, RebuildResult
from movephys.mutants.run import Outcome, SuiteRun, suite_options
from movephys.vm import build as vm_build
from movephys.vm import cli as vm_cli
from movephys.vm import run as vm_run
from movephys.vm.build import BuiltKernel
from movephys.vm.errors import RunnerError

SOURCE = "int a;\n\tif (flags & ~MASK)\n\t\treturn -EINVAL;\nint b;\n\tif (!capable(X))\n"
DATA = """\
[[mutant]]
id = "flags-unchecked"
file = "mm/migrate.c"
claim = "unknown_flags"
expect = "lean"
quick = true
find = '''
\tif (flags & ~MASK)
\t\treturn -EINVAL;
'''
replace = ''

[[mutant]]
id = "capability-unchecked"
file = "mm/migrate.c"
claim = "no_cap_sys_admin"
expect = "equivalent"
reason = "a test of the runner: said to survive"
quick = false
find = '''
\tif (!capable(X))
'''
replace = '''
\tif (0)
'''
"""


@pytest.fixture
def data(tmp_path: Path) -> Path:
    path = tmp_path / "mutants.toml"
    path.write_text(DATA)
    return path


@pytest.fixture
def reference(tmp_path: Path) -> BuiltKernel:
    home = tmp_path / "cache" / "kernels" / "feedfacecafe0000"
    (home / "src" / "mm").mkdir(parents=True)
    (home / "src" / "mm" / "migrate.c").write_text(SOURCE)
    (home / "build" / "arch" / "x86" / "boot").mkdir(parents=True)
    (home / "build" / "arch" / "x86" / "boot" / "bzImage").write_bytes(b"kernel")
    (home / "usr" / "include").mkdir(parents=True)
    return BuiltKernel(home / "build" / "arch" / "x86" / "boot" / "bzImage", home / "usr",
                       home / "src", home / "build", "feedfacecafe0000", 0.0)


def one_line_error(capsys: pytest.CaptureFixture[str]) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("movephys.mutants: error: ")
    return err


def test_unknown_id_is_refused_before_anything_is_built(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vm_build, "build", lambda *args: pytest.fail("built"))
    assert cli.main(["run", "--only", "no-such-mutant"]) == 2
    assert "unknown mutant id: no-such-mutant" in one_line_error(capsys)


def test_malformed_data_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[[mutant]]\nid = 'x'\nfind = \n")
    assert cli.main(["list", "--data", str(bad)]) == 2
    assert "not valid TOML" in one_line_error(capsys)


def test_check_against_a_tree(data: Path, reference: BuiltKernel,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["check", "--data", str(data), "--source", str(reference.source_tree)]) == 0
    assert "2 mutants fit" in capsys.readouterr().out
    (reference.source_tree / "mm" / "migrate.c").write_text(SOURCE + SOURCE)
    assert cli.main(["check", "--data", str(data), "--source", str(reference.source_tree)]) == 2
    assert "mutant flags-unchecked: its find text occurs more than once" in one_line_error(capsys)


def test_list(data: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["list", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("flags-unchecked       lean        quick  mm/migrate.c")
    assert out.splitlines()[-1] == ("2 mutants: 1 lean, 0 debug, 1 equivalent, 0 untestable; "
                                    "1 quick")


def test_pytest_arguments_after_the_separator() -> None:
    args = cli.make_parser().parse_args(["run", "--only", "a,b", "--", "-k", "moves"])
    assert cli._pytest_args(args.rest) == ["-k", "moves"]
    assert args.only == "a,b"


class FakeVm:
    """make and the VM replaced: records what the workspace held when it was built."""

    def __init__(self, outcome: Outcome = "killed", build_ok: bool = True,
                 interrupt: bool = False) -> None:
        self.outcome = outcome
        self.build_ok = build_ok
        self.interrupt = interrupt
        self.built: list[tuple[str, str]] = []
        self.suites: list[Path] = []

    def rebuild(self, request: RebuildRequest, progress: object) -> RebuildResult:
        source = (request.workspace.source_tree / "mm" / "migrate.c").read_text()
        self.built.append((request.what, source))
        ok = self.build_ok or request.what.startswith("first build")
        return RebuildResult(ok, 2.0, "" if ok else "building failed (exit 2): error: x")

    def run_suite(self, kernel: vm_run.Kernel, options: vm_run.VmOptions, results: Path,
                  pytest_args: list[str]) -> SuiteRun:
        self.suites.append(results)
        if self.interrupt:
            raise KeyboardInterrupt
        assert kernel.headers is not None and kernel.headers.name == "usr"
        failing = ("test_permissions.py::test_bad_flags_einval[strict_bit-root]",)
        return SuiteRun(self.outcome, 1, 90.0, failing if self.outcome == "killed" else (),
                        97, 2, "")


def run_cli(tmp_path: Path, data: Path, reference: BuiltKernel, fake: FakeVm,
            monkeypatch: pytest.MonkeyPatch, *extra: str) -> int:
    monkeypatch.setattr(vm_build, "build", lambda request, progress: reference)
    monkeypatch.setattr(cli, "rebuild", fake.rebuild)
    monkeypatch.setattr(cli, "run_suite", fake.run_suite)
    return cli.main(["run", "--data", str(data), "--cache-dir", str(tmp_path / "cache"),
                     "--output", str(tmp_path / "out"), "--docs", str(tmp_path / "mutants.md"),
                     *extra])


def test_a_run_applies_builds_restores_and_writes_the_matrix(
        tmp_path: Path, data: Path, reference: BuiltKernel, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    fake = FakeVm()
    assert run_cli(tmp_path, data, reference, fake, monkeypatch, "--only",
                   "flags-unchecked") == 0
    first, mutated = fake.built
    assert first == ("first build in the workspace", SOURCE)
    assert mutated[0] == "building flags-unchecked"
    assert "EINVAL" not in mutated[1] and "capable" in mutated[1]
    space = workspace.workspace_root(tmp_path / "cache", reference.key)
    assert (space / "src" / "mm" / "migrate.c").read_text() == SOURCE
    assert (reference.source_tree / "mm" / "migrate.c").read_text() == SOURCE
    assert fake.suites == [tmp_path / "out" / "lean" / "flags-unchecked"]
    stored = json.loads((tmp_path / "out" / "matrix.json").read_text())
    row = stored["mutants"][0]
    assert row["results"]["lean"]["outcome"] == "killed"
    assert row["results"]["lean"]["spec_rows"][:1] == ["unknown_flags"]
    assert row["results"]["lean"]["line"] == 2
    assert stored["mutants"][1]["results"] == {"lean": None, "debug": None}
    assert stored["workspaces"]["lean"]["prime_seconds"] == 2.0
    assert "| `flags-unchecked` |" in (tmp_path / "out" / "matrix.md").read_text()
    assert "a test of the runner: said to survive" in (tmp_path / "mutants.md").read_text()
    assert "flags-unchecked: killed (expected, expect lean)" in capsys.readouterr().err
    # A second run reuses the primed workspace: no first build again.
    fake = FakeVm(outcome="survived")
    assert run_cli(tmp_path, data, reference, fake, monkeypatch, "--only",
                   "capability-unchecked", "--strict") == 0
    assert [what for what, _ in fake.built] == ["building capability-unchecked"]
    stored = json.loads((tmp_path / "out" / "matrix.json").read_text())
    assert [row["verdicts"]["lean"] for row in stored["mutants"]] == ["expected", "expected"]


def test_a_mutant_that_does_not_build_is_a_defect_not_a_kill(
        tmp_path: Path, data: Path, reference: BuiltKernel,
        monkeypatch: pytest.MonkeyPatch) -> None:
    fake = FakeVm(build_ok=False)
    assert run_cli(tmp_path, data, reference, fake, monkeypatch, "--quick", "--strict") == 1
    assert fake.suites == []
    stored = json.loads((tmp_path / "out" / "matrix.json").read_text())
    lean = stored["mutants"][0]["results"]["lean"]
    assert (lean["outcome"], lean["run_seconds"]) == ("build-failed", None)
    assert "error: x" in lean["note"]
    assert stored["scores"]["lean"]["build_failed"] == 1
    space = workspace.workspace_root(tmp_path / "cache", reference.key)
    assert (space / "src" / "mm" / "migrate.c").read_text() == SOURCE


def test_an_interrupted_run_restores_and_exits_130(
        tmp_path: Path, data: Path, reference: BuiltKernel, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert run_cli(tmp_path, data, reference, FakeVm(interrupt=True), monkeypatch) == 130
    space = workspace.workspace_root(tmp_path / "cache", reference.key)
    assert (space / "src" / "mm" / "migrate.c").read_text() == SOURCE
    assert not (space / workspace.JOURNAL).exists()
    assert "interrupted; the workspace source is restored. Finished 0 of 2: none" in (
        capsys.readouterr().err)


def test_an_edit_that_does_not_fit_stops_before_the_workspace_is_made(
        tmp_path: Path, data: Path, reference: BuiltKernel, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    (reference.source_tree / "mm" / "migrate.c").write_text("int a;\n")
    assert run_cli(tmp_path, data, reference, FakeVm(), monkeypatch) == 2
    assert "its find text is not in mm/migrate.c" in one_line_error(capsys)
    assert not (tmp_path / "cache" / "mutants").exists()


def test_report_renders_again(tmp_path: Path, data: Path,
                              capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["report", "--data", str(data), "--output", str(tmp_path / "out"),
                     "--docs", str(tmp_path / "page.md")]) == 0
    assert "not run" in (tmp_path / "out" / "matrix.md").read_text()
    assert (tmp_path / "page.md").read_text().startswith("# Mutation score")


def test_rebuild_uses_the_runners_make_and_reports_failure(
        tmp_path: Path, reference: BuiltKernel, monkeypatch: pytest.MonkeyPatch) -> None:
    space = workspace.Workspace(tmp_path / "ws", reference)
    space.root.mkdir()
    calls: list[list[str]] = []

    def fake_make(tree: Path, build_dir: Path, targets: list[str], jobs: int, log: Path,
                  progress: object, env: dict[str, str], what: str) -> None:
        calls.append(targets)
        assert (tree, build_dir) == (space.source_tree, space.build_dir)
        if "fail" in what:
            raise RunnerError(f"{what} failed (exit 2), see {log}: error: expected ';'")

    monkeypatch.setattr(vm_build, "make", fake_make)
    request = RebuildRequest(space, 2, tmp_path / "cache", tmp_path / "log", "building x", True)
    assert build.rebuild(request, print).ok
    assert calls == [["bzImage"], ["headers_install", f"INSTALL_HDR_PATH={space.headers}"]]
    assert (space.root / workspace.HEADERS_DIRTY).exists()
    failed = build.rebuild(RebuildRequest(space, 2, tmp_path / "cache", tmp_path / "log",
                                          "building fail", False), print)
    assert not failed.ok and "expected ';'" in failed.error


def test_make_env_widens_the_ccache_base_dir(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}")
    assert build.make_env(tmp_path)["CCACHE_BASEDIR"] == str(tmp_path)


def test_suite_options_are_the_vm_runners_for_suite(tmp_path: Path) -> None:
    ours = suite_options(False, "tcg", tmp_path, echo=False)
    theirs = vm_cli._vm_options(vm_cli.make_parser().parse_args(["suite"]))
    assert ours.nodes == theirs.nodes
    assert any(node.memory == "0" for node in ours.nodes)  # the memoryless node of ENODEV
    assert (ours.timeout, ours.case_timeout) == (theirs.timeout, theirs.case_timeout)
    assert (ours.accel, ours.cache_dir, ours.echo) == ("tcg", tmp_path, False)
    debug = vm_cli._vm_options(vm_cli.make_parser().parse_args(["suite", "--debug"]))
    assert suite_options(True, "auto", tmp_path, echo=True).case_timeout == debug.case_timeout
    assert suite_options(False, "auto", tmp_path, echo=True, timeout=321.0).timeout == 321.0
