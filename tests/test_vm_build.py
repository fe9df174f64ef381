import shutil
from pathlib import Path

import pytest

from movephys.vm import build
from movephys.vm.errors import RunnerError


def _request(tmp_path: Path, patch_text: str = "a patch\n") -> build.BuildRequest:
    tarball = tmp_path / "linux-source-6.12.tar.xz"
    tarball.write_bytes(b"not really xz")
    patch = tmp_path / "0001-x.patch"
    patch.write_text(patch_text)
    fragment = tmp_path / "base.config"
    fragment.write_text("CONFIG_NUMA=y\n")
    return build.BuildRequest(tarball, (patch,), (fragment,), tmp_path / "cache", 2)


def test_cache_key_is_stable_for_an_unchanged_request(tmp_path: Path) -> None:
    assert build.cache_key(_request(tmp_path)) == build.cache_key(_request(tmp_path))


def test_cache_key_changes_with_a_patch(tmp_path: Path) -> None:
    before = build.cache_key(_request(tmp_path))
    assert build.cache_key(_request(tmp_path, "another patch\n")) != before


def test_shipped_series_is_in_order() -> None:
    names = [patch.name for patch in build.default_patches()]
    assert names == sorted(names)
    assert len(names) >= 3
    assert names[0].startswith("0001-")


def test_series_wires_the_first_free_number_of_6_12() -> None:
    series = "".join(patch.read_text() for patch in build.default_patches())
    assert "+463\tcommon\tmove_phys_pages" in series
    assert "+463\ti386\tmove_phys_pages" in series
    assert "+#define __NR_move_phys_pages 463" in series
    assert "COND_SYSCALL(move_phys_pages)" in series


def test_missing_tarball_names_the_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "DEFAULT_SOURCE", tmp_path / "absent.tar.xz")
    request = build.BuildRequest(tmp_path / "absent.tar.xz", (), (), tmp_path, 1)
    with pytest.raises(RunnerError, match="apt-get install .*linux-source-6.12"):
        build.check_prerequisites(request)


def test_missing_tools_name_their_packages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda tool: None if tool == "flex" else "/x")
    assert "flex" in build.missing_build_packages()


def test_an_installation_without_the_series_says_so(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "PATCH_DIR", tmp_path)
    with pytest.raises(RunnerError, match="lacks its series"):
        build.default_patches()


def test_a_missing_fragment_is_named_before_the_source(tmp_path: Path) -> None:
    request = build.BuildRequest(tmp_path / "absent.tar.xz", (), (tmp_path / "base.config",),
                                 tmp_path, 1)
    with pytest.raises(RunnerError, match=r"base\.config does not exist"):
        build.check_prerequisites(request)
