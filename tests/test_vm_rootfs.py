import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from movephys.vm import rootfs
from movephys.vm.errors import RunnerError

STATUS = """\
Package: libc6
Status: install ok installed
Architecture: arm64
Version: 2.36-9+deb12u10
Description: GNU C Library: Shared libraries
 Contains the standard libraries.

Package: python3
Status: install ok installed
Version: 3.11.2-1+b1

Package: python2
Status: deinstall ok config-files
Version: 2.7.18-3
"""

GUEST = rootfs.GuestSystem("3.11", (2, 36))


def _request(tmp_path: Path, **changes: str) -> rootfs.RootfsRequest:
    return rootfs.RootfsRequest(changes.pop("debian_arch", "arm64"), tmp_path / "cache",
                                **changes)


def _debootstrapped(root: Path) -> None:
    """What the steps after debootstrap read in a root."""
    (root / "var" / "lib" / "dpkg").mkdir(parents=True)
    (root / "var" / "lib" / "dpkg" / "status").write_text(STATUS)
    (root / "usr" / "lib" / "python3.11").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc" / "hostname").write_text("the-host\n")
    (root / rootfs.PACKAGE_CACHE).mkdir(parents=True)
    (root / rootfs.PACKAGE_CACHE / "python3_3.11.2-1+b1_arm64.deb").write_bytes(b"!<arch>\n")


def _no_commands(*_args: Any, **_kwargs: Any) -> None:
    raise AssertionError("ran a command")


@pytest.fixture
def mounts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A mount table umount edits, as the kernel's would be."""
    table = tmp_path / "mounts"
    table.write_text("proc /proc proc rw 0 0\n")
    monkeypatch.setattr(rootfs, "MOUNTS", table)
    return table


@pytest.fixture
def commands(monkeypatch: pytest.MonkeyPatch, mounts: Path) -> list[list[str]]:
    """Every command subprocess.run is given; umount takes its line out of the table,
    the verify step prints each requirement's version."""
    ran: list[list[str]] = []

    def run(command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        ran.append(command)
        if command[0] == "umount":
            lines = mounts.read_text().splitlines(keepends=True)
            mounts.write_text("".join(line for line in lines
                                      if line.split()[1] != command[-1]))
            return subprocess.CompletedProcess(command, 0, "", "")
        names = command[command.index(rootfs.VERIFY_SCRIPT) + 1:]
        return subprocess.CompletedProcess(
            command, 0, "".join(f"{name} 9.0\n" for name in names), "")

    monkeypatch.setattr(subprocess, "run", run)
    monkeypatch.setattr(rootfs, "missing_prerequisites", lambda arch: [])
    return ran


def test_cache_key_is_stable_for_an_unchanged_request(tmp_path: Path) -> None:
    wanted = ("cffi>=1.15", "pytest>=8")
    assert (rootfs.cache_key(_request(tmp_path), wanted)
            == rootfs.cache_key(_request(tmp_path), wanted))


def test_cache_key_ignores_where_the_cache_is(tmp_path: Path) -> None:
    moved = rootfs.RootfsRequest("arm64", tmp_path / "elsewhere")
    assert rootfs.cache_key(moved, ()) == rootfs.cache_key(_request(tmp_path), ())


def test_cache_key_changes_with_the_request_and_the_requirements(tmp_path: Path) -> None:
    keys = {
        rootfs.cache_key(_request(tmp_path), ("pytest>=8",)),
        rootfs.cache_key(_request(tmp_path), ("pytest>=9",)),
        rootfs.cache_key(_request(tmp_path, debian_arch="amd64"), ("pytest>=8",)),
        rootfs.cache_key(_request(tmp_path, release="trixie"), ("pytest>=8",)),
        rootfs.cache_key(_request(tmp_path, mirror="http://mirror.example/debian"),
                         ("pytest>=8",)),
    }
    assert len(keys) == 5


def test_cache_key_changes_with_the_recipe(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    before = rootfs.cache_key(_request(tmp_path), ())
    monkeypatch.setattr(rootfs, "RECIPE_VERSION", "next")
    assert rootfs.cache_key(_request(tmp_path), ()) != before


def test_a_done_root_is_reused_without_a_command(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    request = _request(tmp_path)
    key = rootfs.cache_key(request, rootfs.requirements())
    home = request.cache_dir / "rootfs" / key
    (home / "root").mkdir(parents=True)
    (home / "done.json").write_text("{}\n")
    monkeypatch.setattr(rootfs, "run_logged", _no_commands)
    monkeypatch.setattr(subprocess, "run", _no_commands)
    monkeypatch.setattr(rootfs, "missing_prerequisites", _no_commands)
    messages: list[str] = []
    built = rootfs.ensure(request, messages.append)
    assert (built.path, built.key, built.python) == (home / "root", key, "/usr/bin/python3")
    assert built.seconds < 5
    assert messages == [f"reusing root filesystem {key} ({home / 'root'})"]


def test_missing_prerequisites_stop_the_build_before_any_command(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rootfs, "missing_prerequisites",
                        lambda arch: ["apt-get install debootstrap"])
    monkeypatch.setattr(rootfs, "run_logged", _no_commands)
    with pytest.raises(RunnerError, match="root filesystem: apt-get install debootstrap$"):
        rootfs.ensure(_request(tmp_path), print)


def test_debootstrap_command(tmp_path: Path) -> None:
    assert rootfs.debootstrap_command(_request(tmp_path), tmp_path / "root") == [
        "debootstrap", "--arch=arm64", "--variant=minbase",
        "--include=python3,sysvinit-core,iproute2,busybox-static",
        "bookworm", str(tmp_path / "root"), "http://deb.debian.org/debian",
    ]


def test_pip_installs_the_guests_wheels_into_its_local_site_packages(tmp_path: Path) -> None:
    command = rootfs.pip_command(_request(tmp_path), tmp_path / "root", GUEST,
                                 ("cffi>=1.15", "pytest>=8"))
    assert command[1:4] == ["-m", "pip", "install"]
    options = " ".join(command)
    assert f"--target {tmp_path}/root/usr/local/lib/python3.11/dist-packages " in options
    assert ("--only-binary=:all: --implementation cp --python-version 3.11 --abi cp311 "
            "--platform manylinux_2_36_aarch64 --platform manylinux_2_35_aarch64 ") in options
    assert "--no-compile" in command
    assert options.endswith(" --platform manylinux_2_17_aarch64 "
                            "--platform manylinux2014_aarch64 cffi>=1.15 pytest>=8")


def test_wheel_platforms_run_back_to_manylinux2014() -> None:
    tags = rootfs.wheel_platforms("aarch64", (2, 36))
    assert tags[0] == "manylinux_2_36_aarch64"
    assert tags[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert len(tags) == 36 - 17 + 2


def test_chroot_commands_run_the_roots_interpreter_isolated(tmp_path: Path) -> None:
    assert rootfs.compile_command(tmp_path, GUEST, "/usr/bin/python3") == [
        "chroot", str(tmp_path), "/usr/bin/python3", "-I", "-m", "compileall", "-q",
        "/usr/local/lib/python3.11/dist-packages",
    ]
    verify = rootfs.verify_command(tmp_path, "/usr/bin/python3", ("cffi>=1.15", "pytest-xdist"))
    assert verify == ["chroot", str(tmp_path), "/usr/bin/python3", "-I", "-c",
                      rootfs.VERIFY_SCRIPT, "cffi", "pytest-xdist"]


def test_chroot_env_hides_the_hosts_python(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONPATH", "/host/lib")
    monkeypatch.setenv("VIRTUAL_ENV", "/host/venv")
    monkeypatch.setenv("http_proxy", "http://proxy:3128")
    monkeypatch.setenv("PATH", "/host/venv/bin:/usr/bin")
    env = rootfs.chroot_env()
    assert "PYTHONPATH" not in env and "VIRTUAL_ENV" not in env
    assert env["http_proxy"] == "http://proxy:3128"
    assert env["PATH"].startswith(rootfs.SYSTEM_PATH + ":")


def test_requirements_are_the_dependencies_and_the_suite_extra(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\ndependencies = ["a>=1", "b"]\n'
                         '[project.optional-dependencies]\nsuite = ["c-d"]\ndocs = ["e"]\n')
    assert rootfs.requirements(pyproject) == ("a>=1", "b", "c-d")


def test_the_projects_requirements_hold_a_pytest_newer_than_debians() -> None:
    wanted = rootfs.requirements()
    assert "pytest>=8" in wanted
    assert {"cffi", "pytest-timeout"} <= {rootfs.requirement_name(item) for item in wanted}


def test_a_missing_pyproject_says_so(tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match="pyproject.toml does not exist"):
        rootfs.requirements(tmp_path / "pyproject.toml")


@pytest.mark.parametrize(("requirement", "name"), [
    ("pytest>=8", "pytest"), ("cffi >= 1.15", "cffi"),
    ("pytest-xdist[psutil]>=3", "pytest-xdist"), ("zope.interface", "zope.interface"),
])
def test_requirement_name(requirement: str, name: str) -> None:
    assert rootfs.requirement_name(requirement) == name


def test_installed_versions_skip_what_is_not_installed() -> None:
    assert rootfs.installed_versions(STATUS) == {"libc6": "2.36-9+deb12u10",
                                                 "python3": "3.11.2-1+b1"}


def test_guest_system_is_read_from_the_root(tmp_path: Path) -> None:
    _debootstrapped(tmp_path)
    assert rootfs.guest_system(tmp_path) == GUEST


def test_guest_system_without_its_standard_library_says_so(tmp_path: Path) -> None:
    _debootstrapped(tmp_path)
    (tmp_path / "usr" / "lib" / "python3.11").rmdir()
    with pytest.raises(RunnerError, match=r"python3 3\.11\.2-1\+b1 is installed but .*"
                                          r"usr/lib/python3\.11 is missing"):
        rootfs.guest_system(tmp_path)


def test_guest_system_of_an_unfinished_root_says_so(tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match="no installed python3 and libc6"):
        rootfs.guest_system(tmp_path)


def _host(monkeypatch: pytest.MonkeyPatch, binfmt: Path, tools: set[str]) -> None:
    monkeypatch.setattr(rootfs, "BINFMT_DIR", binfmt)
    monkeypatch.setattr(shutil, "which", lambda tool: f"/usr/bin/{tool}" if tool in tools
                        else None)
    monkeypatch.setattr(platform, "machine", lambda: "x86_64")
    monkeypatch.setattr(os, "geteuid", lambda: 0)


def _binfmt(directory: Path, entry: str | None) -> Path:
    directory.mkdir()
    (directory / "status").write_text("enabled\n")
    if entry is not None:
        (directory / "qemu-aarch64").write_text(entry)
    return directory


TOOLS = {"debootstrap", "qemu-aarch64-static", "update-binfmts"}
ENTRY = "enabled\ninterpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P\nflags: PF\noffset 0\n"


def test_nothing_is_missing_on_a_ready_host(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    _host(monkeypatch, _binfmt(tmp_path / "binfmt", ENTRY), TOOLS)
    assert rootfs.missing_prerequisites("arm64") == []


def test_missing_packages_are_one_apt_get_line(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _host(monkeypatch, _binfmt(tmp_path / "binfmt", ENTRY), set())
    assert rootfs.missing_prerequisites("arm64") == [
        "apt-get install debootstrap qemu-user-static binfmt-support"]


def test_binfmt_misc_not_mounted_says_how(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _host(monkeypatch, tmp_path / "absent", TOOLS)
    assert rootfs.missing_prerequisites("arm64") == [
        f"binfmt_misc is not mounted: mount -t binfmt_misc binfmt_misc {tmp_path / 'absent'}"
        " && update-binfmts --enable qemu-aarch64"]


@pytest.mark.parametrize("entry", [None, ENTRY.replace("enabled", "disabled")])
def test_no_enabled_entry_says_how(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   entry: str | None) -> None:
    _host(monkeypatch, _binfmt(tmp_path / "binfmt", entry), TOOLS)
    assert rootfs.missing_prerequisites("arm64") == [
        "binfmt_misc has no enabled qemu-aarch64 entry: apt-get install qemu-user-static"
        " && update-binfmts --enable qemu-aarch64"]


def test_an_entry_a_chroot_cannot_use_says_why(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    _host(monkeypatch, _binfmt(tmp_path / "binfmt", ENTRY.replace("PF", "P")), TOOLS)
    [problem] = rootfs.missing_prerequisites("arm64")
    assert problem.startswith("binfmt_misc's qemu-aarch64 entry lacks the F flag")


def test_a_native_root_needs_no_emulation(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _host(monkeypatch, tmp_path / "absent", {"debootstrap"})
    assert rootfs.missing_prerequisites("amd64") == []


def test_an_unknown_architecture_is_named(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _host(monkeypatch, tmp_path / "absent", TOOLS)
    assert rootfs.missing_prerequisites("sparc") == [
        "no root filesystem recipe for architecture sparc (known: amd64, arm64)"]


def test_mount_points_are_unescaped() -> None:
    assert rootfs.parse_mounts("proc /a\\040b/proc proc rw 0 0\n") == [Path("/a b/proc")]


def test_a_failed_build_leaves_neither_mounts_nor_a_done_root(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mounts: Path,
        commands: list[list[str]]) -> None:
    request = _request(tmp_path)
    home = request.cache_dir / "rootfs" / rootfs.cache_key(request, rootfs.requirements())
    partial = home / "root.partial"
    (partial / "stale").mkdir(parents=True)

    def debootstrap(command: list[str], *_args: Any, **_kwargs: Any) -> None:
        assert not (partial / "stale").exists()
        (partial / "proc").mkdir(parents=True)
        with mounts.open("a") as table:
            table.write(f"proc {partial}/proc proc rw 0 0\n"
                        f"sysfs {partial}/proc/sys sysfs rw 0 0\n")
        raise RunnerError("debootstrap failed (exit 1)")

    monkeypatch.setattr(rootfs, "run_logged", debootstrap)
    with pytest.raises(RunnerError, match="debootstrap failed"):
        rootfs.ensure(request, lambda message: None)
    assert commands == [["umount", "--lazy", f"{partial}/proc/sys"],
                        ["umount", "--lazy", f"{partial}/proc"]]
    assert mounts.read_text() == "proc /proc proc rw 0 0\n"
    assert not (home / "root").exists()
    assert not (home / "done.json").exists()


def test_a_tree_still_mounted_is_not_removed(tmp_path: Path, mounts: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "tree" / "dev").mkdir(parents=True)
    mounts.write_text(f"/dev {tmp_path}/tree/dev none rw,bind 0 0\n")
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: None)
    with pytest.raises(RunnerError, match=r"tree/dev is still mounted"):
        rootfs.remove_tree(tmp_path / "tree")
    assert (tmp_path / "tree" / "dev").is_dir()


def test_a_build_is_renamed_into_place_and_marked_done_last(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, commands: list[list[str]]) -> None:
    request = _request(tmp_path)
    wanted = rootfs.requirements()
    home = request.cache_dir / "rootfs" / rootfs.cache_key(request, wanted)
    (home / "root" / "half").mkdir(parents=True)  # renamed once, never marked done
    steps: list[str] = []

    def run_logged(command: list[str], log: Path, *_args: Any, **_kwargs: Any) -> None:
        steps.append(command[0] if command[0] != sys.executable else "pip")
        assert not (home / "root").exists() and not (home / "done.json").exists()
        if command[0] == "debootstrap":
            _debootstrapped(Path(command[-2]))
        elif command[0] == sys.executable:
            site = Path(command[command.index("--target") + 1])
            (site / "bin").mkdir(parents=True)
            (site / "bin" / "pytest").write_text("#!/host/venv/bin/python\n")

    monkeypatch.setattr(rootfs, "run_logged", run_logged)
    built = rootfs.ensure(request, lambda message: None)
    assert steps == ["debootstrap", "pip", "chroot"]
    assert built.path == home / "root" and not (home / "root.partial").exists()
    root = built.path
    assert not (root / "half").exists()
    assert not (root / "etc" / "hostname").exists()
    assert not list((root / rootfs.PACKAGE_CACHE).iterdir())
    assert not (root / "usr" / "local" / "lib" / "python3.11" / "dist-packages" / "bin").exists()
    assert (root / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert (root / "lib" / "modules").is_dir() and (root / "etc" / "fstab").is_file()
    done = json.loads((home / "done.json").read_text())
    names = [rootfs.requirement_name(item) for item in wanted]
    assert done["versions"] == {name: "9.0" for name in names}
    assert commands[-1][:3] == ["chroot", str(home / "root.partial"), "/usr/bin/python3"]


def test_a_root_whose_requirements_fail_to_load_is_not_marked_done(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, commands: list[list[str]]) -> None:
    def run_logged(command: list[str], *_args: Any, **_kwargs: Any) -> None:
        if command[0] == "debootstrap":
            _debootstrapped(Path(command[-2]))

    def broken(command: list[str], **_kwargs: Any) -> subprocess.CompletedProcess[str]:
        if command[0] == "umount":
            return subprocess.CompletedProcess(command, 0, "", "")
        return subprocess.CompletedProcess(
            command, 1, "", "Traceback ...\nModuleNotFoundError: No module named 'cffi'\n")

    monkeypatch.setattr(rootfs, "run_logged", run_logged)
    monkeypatch.setattr(subprocess, "run", broken)
    request = _request(tmp_path)
    with pytest.raises(RunnerError, match=r"cannot run the suite's requirements \(exit 1\), "
                                          r"see .*build.log: ModuleNotFoundError"):
        rootfs.ensure(request, lambda message: None)
    assert not list(request.cache_dir.glob("rootfs/*/done.json"))
