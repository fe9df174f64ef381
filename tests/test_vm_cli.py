from pathlib import Path

import pytest

from movephys.vm import cli


def test_missing_bzimage_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    status = cli.main(["run", "--bzimage", str(tmp_path / "nope"), "--", "true"])
    err = capsys.readouterr().err
    assert status == 2
    assert err.count("\n") == 1
    assert err.startswith("movephys.vm: error: kernel image")


def test_zero_nodes_is_refused_before_anything_boots(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]):
    status = cli.main(["run", "--nodes", "0", "--bzimage", str(tmp_path), "--", "true"])
    assert status == 2
    assert "--nodes must be at least 1" in capsys.readouterr().err


def test_run_without_command_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    image = tmp_path / "bzImage"
    image.write_bytes(b"")
    status = cli.main(["run", "--bzimage", str(image), "--accel", "tcg"])
    assert status == 2
    assert "run needs a command after --" in capsys.readouterr().err


def test_unknown_subcommand_exits_2_with_usage(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as stop:
        cli.main(["fly"])
    assert stop.value.code == 2
