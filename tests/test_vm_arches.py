"""The runner's architectures: cross-build variables, images, QEMU, fragments."""

from __future__ import annotations

import platform
import shutil
from pathlib import Path

import pytest

from movephys.vm import arches, boot, build, run
from movephys.vm.errors import RunnerError


def test_unknown_architecture_is_one_line() -> None:
    with pytest.raises(RunnerError,
                       match=r"unknown architecture 'riscv64' \(known: arm64, x86_64\)"):
        arches.lookup("riscv64")


def test_every_architecture_has_its_fragment() -> None:
    assert all(arch.fragment.is_file() for arch in arches.ARCHES.values())


def test_a_foreign_architecture_is_cross_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    assert arches.lookup("x86_64").make_variables == ()
    arm64 = arches.lookup("arm64")
    assert arm64.make_variables == ("ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-")
    assert arm64.compiler == "aarch64-linux-gnu-gcc"


def test_on_an_arm64_host_x86_64_is_the_foreign_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "aarch64")
    assert arches.lookup("arm64").make_variables == ()
    assert arches.lookup("x86_64").make_variables == ("ARCH=x86_64",
                                                       "CROSS_COMPILE=x86_64-linux-gnu-")


def test_arm64_request_takes_its_fragment_and_its_own_cache_key() -> None:
    x86 = run.build_request(cache_dir=Path("/tmp/cache"))
    arm64 = run.build_request(cache_dir=Path("/tmp/cache"), arch_name="arm64")
    assert [fragment.name for fragment in arm64.fragments] == ["base.config", "arch-arm64.config"]
    assert arm64.arch == "arm64" and x86.arch == "x86_64"
    assert build.cache_key(arm64) != build.cache_key(x86)


def test_missing_cross_compiler_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(shutil, "which",
                        lambda tool: None if tool.startswith("aarch64") else f"/usr/bin/{tool}")
    monkeypatch.setattr(Path, "exists", lambda self: True)
    assert build.missing_build_packages("arm64") == ["gcc-aarch64-linux-gnu"]
    assert build.missing_build_packages("x86_64") == []


def test_make_cross_compiles_through_ccache(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}")
    commands: list[list[str]] = []
    monkeypatch.setattr(build, "run_logged", lambda command, *rest, **kw: commands.append(command))
    build.make(tmp_path, tmp_path / "out", ["Image"], 2, tmp_path / "log", print, {}, "building",
               "arm64")
    assert commands == [["make", "-C", str(tmp_path), f"O={tmp_path / 'out'}", "-j2",
                         "ARCH=arm64", "CROSS_COMPILE=aarch64-linux-gnu-", "Image",
                         "CC=ccache aarch64-linux-gnu-gcc"]]


def _request(tmp_path: Path, root: Path | None, arch: str = "arm64",
             rwdirs: tuple[Path, ...] = ()) -> boot.BootRequest:
    return boot.BootRequest(
        image=tmp_path / "Image", command="true", nodes=boot.two_nodes(), accel="tcg",
        timeout=10, workdir=tmp_path / "checkout" / "results" / "vm",
        cwd=tmp_path / "checkout", rwdirs=rwdirs, arch=arch, root=root)


def test_a_guest_with_its_own_root_gets_the_checkout_mounted(tmp_path: Path) -> None:
    request = _request(tmp_path, tmp_path / "root", rwdirs=(tmp_path / "out",))
    command = boot.vng_command(request, request.workdir / "guest.sh")
    checkout = tmp_path / "checkout"
    cut = command.index("--arch")
    assert command[cut:cut + 6] == ["--arch", "arm64", "--root", str(tmp_path / "root"),
                                    "--rodir", f"{checkout}={checkout}"]
    # Writable ones first in /run (virtme-ng mounts every --rwdir before the
    # --rodir that would hide them), bound at their host paths by the script.
    rwdirs = [command[index + 1] for index, word in enumerate(command) if word == "--rwdir"]
    assert rwdirs == [f"/run/movephys/rw0={request.workdir}", f"/run/movephys/rw1={tmp_path}/out"]
    assert command[-1] == "sh /run/movephys/rw0/guest.sh"
    script = boot.guest_script(request)
    assert script.splitlines()[1:4] == [
        "mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 125",
        f"mount --bind /run/movephys/rw0 {request.workdir} || exit 125",
        f"mount --bind /run/movephys/rw1 {tmp_path}/out || exit 125"]


def test_a_host_root_guest_mounts_writable_directories_in_place(tmp_path: Path) -> None:
    request = _request(tmp_path, None, "x86_64")
    command = boot.vng_command(request, request.workdir / "guest.sh")
    assert command[command.index("--rwdir") + 1] == str(request.workdir)
    assert command[-1] == f"sh {request.workdir / 'guest.sh'}"
    assert "mount " not in boot.guest_script(request)


def test_a_host_root_guest_names_no_architecture(tmp_path: Path) -> None:
    command = boot.vng_command(_request(tmp_path, None, "x86_64"), tmp_path / "guest.sh")
    assert "--arch" not in command and "--root" not in command


def test_mount_points_are_made_in_the_root_and_removed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "usr").mkdir(parents=True)
    request = _request(tmp_path, root)
    inside = root / request.workdir.relative_to("/")
    with boot.mount_points_in(root, boot.mount_points(request)):
        assert inside.is_dir() and (root / request.cwd.relative_to("/")).is_dir()
    assert sorted(path.name for path in root.iterdir()) == ["usr"]


def test_mount_points_leave_the_host_alone_without_a_root(tmp_path: Path) -> None:
    with boot.mount_points_in(None, [tmp_path / "absent"]):
        pass
    assert not (tmp_path / "absent").exists()


def test_missing_qemu_names_the_architecture_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boot, "vng_executable", lambda: "/usr/bin/vng")
    monkeypatch.setattr(shutil, "which", lambda tool: None)
    with pytest.raises(RunnerError, match="qemu-system-aarch64 is not installed: apt-get "
                                          "install qemu-system-arm"):
        boot.check_prerequisites("arm64")
