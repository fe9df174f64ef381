from pathlib import Path

import pytest

from movephys.vm import build, cli, run


def test_missing_bzimage_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(["run", "--bzimage", str(tmp_path / "nope"), "--", "true"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("movephys.vm: error: kernel image")


def test_zero_nodes_is_refused_before_anything_boots(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["run", "--nodes", "0", "--bzimage", str(tmp_path), "--", "true"])
    assert status == 2
    assert "--nodes must be at least 1" in capsys.readouterr().err


def test_run_without_command_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    image = tmp_path / "bzImage"
    image.write_bytes(b"")
    status = cli.main(["run", "--bzimage", str(image), "--accel", "tcg"])
    assert status == 2
    assert "run needs a command after --" in capsys.readouterr().err


def test_unknown_subcommand_exits_2_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as stop:
        cli.main(["fly"])
    assert stop.value.code == 2


def test_soak_takes_options_after_the_run_count_and_pytest_arguments_after_dashes() -> None:
    args = cli.parse_args(["soak", "5", "--results", "build/soak-x", "--", "-k", "geometry"])
    assert (args.runs, args.results, args.rest) == (5, Path("build/soak-x"), ["-k", "geometry"])
    assert cli.parse_args(["soak"]).runs == 20 and cli.parse_args(["soak"]).rest == []


def test_suite_still_passes_everything_after_dashes_to_pytest() -> None:
    assert cli.parse_args(["suite", "--quiet", "--", "-k", "x"]).rest == ["--", "-k", "x"]


def test_dry_run_lists_the_series_fragments_and_suite_of_the_checkout(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["suite", "--dry-run", "--results", "out"]) == 0
    lines = capsys.readouterr().out.splitlines()
    checkout = Path(__file__).resolve().parents[1]
    assert lines[:3] == ["series: 6.12", "arch: x86_64", f"source: {build.DEFAULT_SOURCE}"]
    assert lines[3].startswith(f"patch: {checkout / 'kernel' / 'patches' / '0001-'}")
    assert lines[-4:] == [f"fragment: {checkout / 'kernel' / 'config' / 'base.config'}",
                          f"fragment: {checkout / 'kernel' / 'config' / 'arch-x86_64.config'}",
                          f"suite: {checkout / 'suites'}", "results: out"]


def test_dry_run_without_the_suite_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(run, "data_root", lambda: tmp_path)
    status = cli.main(["suite", "--dry-run", "--image", str(tmp_path / "bzImage")])
    err = capsys.readouterr().err
    assert status == 2
    assert err == (f"movephys.vm: error: {tmp_path / 'conftest.py'} does not exist: this "
                   "movephys installation lacks the suite (reinstall it, or run from a "
                   "checkout)\n")
