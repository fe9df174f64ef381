"""--series: which kernel line the runner builds, and what that chooses."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from movephys.vm import build, cli, config, run, series
from movephys.vm.errors import RunnerError

CHECKOUT = Path(__file__).resolve().parents[1]
X86_FRAGMENT = CHECKOUT / "kernel" / "config" / "arch-x86_64.config"


def test_default_series_is_6_12_for_every_command() -> None:
    for command in (["build"], ["suite"], ["run", "--", "true"], ["selftest"], ["soak"]):
        assert cli.parse_args(command).series == "6.12"


def test_series_option_is_read_by_every_command() -> None:
    for command in (["build"], ["suite"], ["run"], ["selftest"], ["soak"]):
        assert cli.parse_args([*command, "--series", "6.1"]).series == "6.1"


def test_6_1_chooses_its_tarball_patches_and_fragment() -> None:
    request = run.build_request(series_name="6.1", cache_dir=Path("/tmp/cache"))
    assert request.series == "6.1"
    assert request.source == Path("/usr/src/linux-source-6.1.tar.xz")
    assert [patch.parent for patch in request.patches] == [CHECKOUT / "kernel" / "patches-6.1"] * 4
    assert request.fragments == (config.BASE_FRAGMENT, X86_FRAGMENT,
                                 CHECKOUT / "kernel" / "config" / "series-6.1.config")


def test_6_12_keeps_the_reference_tarball_patches_and_base_config() -> None:
    request = run.build_request(cache_dir=Path("/tmp/cache"))
    assert request.series == "6.12"
    assert request.source == build.DEFAULT_SOURCE == Path("/usr/src/linux-source-6.12.tar.xz")
    assert request.patches == build.default_patches()
    assert request.fragments == (config.BASE_FRAGMENT, X86_FRAGMENT)


def test_debug_config_comes_after_the_series_fragment() -> None:
    request = run.build_request(series_name="6.1", cache_dir=Path("/tmp/cache"), debug=True)
    assert [fragment.name for fragment in request.fragments] == [
        "base.config", "arch-x86_64.config", "series-6.1.config", "debug.config"]


def test_a_given_source_overrides_the_series_tarball_only(tmp_path: Path) -> None:
    tarball = tmp_path / "linux-6.1.y.tar.xz"
    request = run.build_request(tarball, tmp_path, series_name="6.1")
    assert request.source == tarball
    assert request.patches == build.default_patches(series.lookup("6.1").patch_dir)


def test_every_series_is_shipped_in_order() -> None:
    for line in series.SERIES.values():
        names = [patch.name for patch in build.default_patches(line.patch_dir)]
        assert names == sorted(names) and names[0].startswith("0001-")
        assert all(fragment.is_file() for fragment in line.fragments)


def test_6_1_series_wires_the_first_free_number_of_6_1() -> None:
    text = "".join(patch.read_text()
                   for patch in build.default_patches(series.lookup("6.1").patch_dir))
    assert "+451\tcommon\tmove_phys_pages" in text
    assert "+451\ti386\tmove_phys_pages" in text
    assert "+#define __NR_move_phys_pages 451" in text
    assert "+#define __NR_syscalls 452" in text
    assert "COND_SYSCALL(move_phys_pages)" in text


def test_6_1_fragment_keeps_9p_reachable() -> None:
    assert config.load_fragments(series.lookup("6.1").fragments) == {"CONFIG_INET": "y"}


def test_cache_key_of_the_two_default_requests_differ(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """The lines differ by their tarball, patches and fragments, which the key hashes."""
    monkeypatch.setattr(build, "_file_digest", lambda path: "same bytes")
    keys = {build.cache_key(run.build_request(cache_dir=tmp_path, series_name=name))
            for name in series.SERIES}
    assert len(keys) == len(series.SERIES)


def test_unknown_series_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["build", "--series", "5.10", "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert err == "movephys.vm: error: unknown kernel series '5.10' (known: 6.1, 6.12)\n"


def test_unknown_series_is_refused_even_with_a_given_image(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["run", "--series", "7", "--bzimage", str(tmp_path), "--", "true"]) == 2
    assert "unknown kernel series '7'" in capsys.readouterr().err


def test_dry_run_of_6_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["build", "--series", "6.1", "--dry-run"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[:3] == ["series: 6.1", "arch: x86_64", "source: /usr/src/linux-source-6.1.tar.xz"]
    assert [line.split("/")[-1] for line in lines[3:7]] == [
        patch.name for patch in build.default_patches(CHECKOUT / "kernel" / "patches-6.1")]
    assert lines[7:] == [f"fragment: {config.BASE_FRAGMENT}",
                         f"fragment: {CHECKOUT / 'kernel' / 'config' / 'arch-x86_64.config'}",
                         f"fragment: {CHECKOUT / 'kernel' / 'config' / 'series-6.1.config'}"]


def test_missing_6_1_tarball_names_its_package(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(series, "TARBALL_DIR", tmp_path)
    monkeypatch.setattr(shutil, "which", lambda tool: "/x")
    request = dataclasses.replace(run.build_request(cache_dir=tmp_path, series_name="6.1"),
                                  patches=(), fragments=())
    assert request.source == tmp_path / "linux-source-6.1.tar.xz"
    with pytest.raises(RunnerError, match=r"apt-get install .*linux-source-6\.1\b"):
        build.check_prerequisites(request)
