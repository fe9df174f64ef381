"""Build a Debian root filesystem for a guest of another architecture, cached.

A foreign guest (arm64 under ``vng --arch arm64 --root DIR``) cannot share
the host's root: its userland must be of its own architecture. debootstrap
installs a minimal Debian with the architecture's python3, qemu-user
(through binfmt_misc) runs its second stage, and the host's pip installs
the suite's requirements as the guest's wheels.

A root is cached under a key hashed from the recipe, the request and the
requirements, built beside its final place and renamed there once
verified, so an interrupted build never leaves a root that looks done.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

from movephys.locations import data_root
from movephys.vm import arches
from movephys.vm.build import Progress, run_logged
from movephys.vm.errors import RunnerError

RECIPE_VERSION = "1"  # bump when the steps below change what they produce

# Beyond minbase, which has bash, coreutils, util-linux, mount and grep:
# python3 for the suite, and what virtme-init calls. vng runs that bash
# init for a foreign --arch (its faster virtme-ng-init is built for the
# host's): it ends the guest with `poweroff -f` (sysvinit-core; without
# one PID 1 exits and the kernel panics) and brings lo up with `ip`.
# vng builds an initramfs around the root's static busybox whenever the
# kernel has modules to load, and refuses to boot without one.
GUEST_PACKAGES = ("python3", "sysvinit-core", "iproute2", "busybox-static")

# virtme-init mounts or binds over these; the root is exported read-only,
# so whatever is missing cannot be created at boot.
GUEST_MOUNT_DIRS = ("dev", "proc", "sys", "run", "tmp", "lib/modules", "etc/lvm")
GUEST_MOUNT_FILES = ("etc/fstab", "etc/hosts", "etc/shadow", "etc/sudoers")
# debootstrap copies these from the host; a guest must not see the host's.
HOST_FILES = ("etc/resolv.conf", "etc/hostname")
# debootstrap keeps the packages it installed here; virtme-init mounts a
# tmpfs over /var/cache, so the guest would never see them.
PACKAGE_CACHE = Path("var") / "cache" / "apt" / "archives"

SUITE_EXTRA = "suite"  # pyproject.toml's extra with the suite's pytest plugins
BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
MOUNTS = Path("/proc/self/mounts")
# Searched first, in the chroot and for debootstrap and chroot on the host:
# a virtual environment's bin/ first on PATH exists only on the host.
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Run by the guest's interpreter: the one compiled wheel (cffi's backend)
# loads and calls libc, every pytest plugin loads as pytest would load it,
# and each requirement named in argv prints "name version".
VERIFY_SCRIPT = """\
import sys
from importlib import metadata
import cffi
ffi = cffi.FFI()
ffi.cdef("int getpid(void);")
ffi.dlopen(None).getpid()
import pytest
for plugin in metadata.entry_points(group="pytest11"):
    plugin.load()
for name in sys.argv[1:]:
    print(name, metadata.version(name))
"""

_REQUIREMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_MOUNT_ESCAPE = re.compile(r"\\([0-7]{3})")


@dataclass(frozen=True)
class RootfsRequest:
    debian_arch: str  # "arm64"
    cache_dir: Path  # the runner's cache (movephys.cache.cache_dir())
    release: str = "bookworm"
    mirror: str = "http://deb.debian.org/debian"


@dataclass(frozen=True)
class Rootfs:
    path: Path  # the root directory to give vng --root
    key: str
    seconds: float  # 0-ish when reused
    python: str = "/usr/bin/python3"  # the interpreter inside the root


@dataclass(frozen=True)
class GuestSystem:
    """What debootstrap installed, read from the root's dpkg database."""

    python: str  # "3.11": the interpreter the wheels are chosen for
    glibc: tuple[int, int]  # (2, 36): the newest manylinux the root runs


def _arch(debian_arch: str) -> arches.VmArch:
    for target in arches.ARCHES.values():
        if target.debian_arch == debian_arch:
            return target
    known = ", ".join(sorted(target.debian_arch for target in arches.ARCHES.values()))
    raise RunnerError(f"no root filesystem recipe for architecture {debian_arch} "
                      f"(known: {known})")


def machine(debian_arch: str) -> str:
    """The kernel's name (uname -m) of @debian_arch, which also names
    qemu-user's binfmt_misc entry and a manylinux wheel's machine."""
    return _arch(debian_arch).machines[0]


def is_foreign(debian_arch: str) -> bool:
    return not _arch(debian_arch).native


def _binfmt_problem(name: str) -> str | None:
    """Why binfmt_misc would not run @name's binaries in a chroot, or None."""
    fix = f"update-binfmts --enable {name}"
    if not (BINFMT_DIR / "status").exists():
        return (f"binfmt_misc is not mounted: mount -t binfmt_misc binfmt_misc {BINFMT_DIR}"
                f" && {fix}")
    if (BINFMT_DIR / "status").read_text().strip() != "enabled":
        return f"binfmt_misc is disabled: echo 1 > {BINFMT_DIR / 'status'}"
    entry = BINFMT_DIR / name
    lines = entry.read_text().splitlines() if entry.exists() else []
    if "enabled" not in lines:
        return f"binfmt_misc has no enabled {name} entry: apt-get install qemu-user-static && {fix}"
    flags = next((line.split()[1] for line in lines
                  if line.startswith("flags:") and len(line.split()) > 1), "")
    if "F" not in flags:
        # Without F the kernel opens the interpreter by path at exec time,
        # inside the chroot, where it does not exist.
        return (f"binfmt_misc's {name} entry lacks the F flag a chroot needs: "
                f"apt-get install qemu-user-static && {fix}")
    return None


def missing_prerequisites(debian_arch: str) -> list[str]:
    """One line per missing piece of a build for @debian_arch, each with its fix."""
    try:
        guest_machine = machine(debian_arch)
    except RunnerError as error:
        return [str(error)]
    problems: list[str] = []
    packages: list[str] = []
    if shutil.which("debootstrap") is None:
        packages.append("debootstrap")
    if is_foreign(debian_arch):
        if shutil.which(f"qemu-{guest_machine}-static") is None:
            packages.append("qemu-user-static")
        if shutil.which("update-binfmts") is None:
            packages.append("binfmt-support")
    if packages:
        problems.append("apt-get install " + " ".join(packages))
    if is_foreign(debian_arch) and (binfmt := _binfmt_problem(f"qemu-{guest_machine}")):
        problems.append(binfmt)
    if importlib.util.find_spec("pip") is None:
        problems.append(f"{sys.executable} has no pip: {sys.executable} -m ensurepip")
    if os.geteuid() != 0:
        problems.append("debootstrap needs root: run the build as root")
    return problems


def requirements(pyproject: Path | None = None) -> tuple[str, ...]:
    """The suite's requirements as pip takes them: the project's dependencies
    and its suite extra, from pyproject.toml, their one home."""
    path = data_root() / "pyproject.toml" if pyproject is None else pyproject
    if not path.is_file():
        raise RunnerError(f"{path} does not exist (reinstall movephys, or run from a checkout)")
    project = tomllib.loads(path.read_text())["project"]
    return (*project["dependencies"], *project["optional-dependencies"][SUITE_EXTRA])


def requirement_name(requirement: str) -> str:
    """The distribution a PEP 508 requirement names ("pytest" of "pytest>=8")."""
    found = _REQUIREMENT_NAME.match(requirement.strip())
    if found is None:
        raise RunnerError(f"cannot read a distribution name in the requirement {requirement!r}")
    return found.group()


def cache_key(request: RootfsRequest, wanted: tuple[str, ...]) -> str:
    # Every field but where the cache is: a field added later counts at once.
    fields = {field.name: str(getattr(request, field.name))
              for field in dataclasses.fields(request) if field.name != "cache_dir"}
    recipe = {"recipe": RECIPE_VERSION, "packages": GUEST_PACKAGES, "request": fields,
              "requirements": wanted}
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]


def debootstrap_command(request: RootfsRequest, target: Path) -> list[str]:
    return ["debootstrap", f"--arch={request.debian_arch}", "--variant=minbase",
            f"--include={','.join(GUEST_PACKAGES)}", request.release, str(target),
            request.mirror]


def installed_versions(status: str) -> dict[str, str]:
    """Package -> version of what a dpkg status file says is installed."""
    versions = {}
    for paragraph in status.split("\n\n"):
        fields = {}
        for line in paragraph.splitlines():
            name, _, value = line.partition(": ")
            if not line.startswith((" ", "\t")):
                fields[name] = value
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            versions[fields["Package"]] = fields.get("Version", "")
    return versions


def guest_system(root: Path) -> GuestSystem:
    """The Python and glibc @root has: the wheels are chosen for them, not guessed."""
    status = root / "var" / "lib" / "dpkg" / "status"
    versions = installed_versions(status.read_text()) if status.is_file() else {}
    python = re.match(r"(\d+\.\d+)", versions.get("python3", ""))
    glibc = re.match(r"(\d+)\.(\d+)", versions.get("libc6", ""))
    if python is None or glibc is None:
        raise RunnerError(f"{status} lists no installed python3 and libc6: debootstrap did "
                          "not finish")
    guest = GuestSystem(python.group(1), (int(glibc.group(1)), int(glibc.group(2))))
    stdlib = root / "usr" / "lib" / f"python{guest.python}"
    if not stdlib.is_dir():
        raise RunnerError(f"python3 {versions['python3']} is installed but {stdlib} is missing")
    return guest


def site_packages(root: Path, guest: GuestSystem) -> Path:
    """Debian's interpreter looks here first and dpkg never writes here."""
    return root / "usr" / "local" / "lib" / f"python{guest.python}" / "dist-packages"


def wheel_platforms(guest_machine: str, glibc: tuple[int, int]) -> list[str]:
    """manylinux tags the root's glibc runs, newest first. pip widens only the
    legacy manylinux2014 to older tags, never a manylinux_2_X one, so each
    glibc back to 2.17 (manylinux2014's) is named."""
    major, minor = glibc
    tags = [f"manylinux_{major}_{older}_{guest_machine}" for older in range(minor, 16, -1)]
    return [*tags, f"manylinux2014_{guest_machine}"]


def pip_command(request: RootfsRequest, root: Path, guest: GuestSystem,
                wanted: tuple[str, ...]) -> list[str]:
    nodot = guest.python.replace(".", "")
    platforms = [option for tag in wheel_platforms(machine(request.debian_arch), guest.glibc)
                 for option in ("--platform", tag)]
    return [
        sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
        # The guest's interpreter writes the bytecode, below: the host's may
        # be another version, whose files the guest would ignore.
        "--no-compile",
        "--target", str(site_packages(root, guest)),
        "--only-binary=:all:", "--implementation", "cp", "--python-version", guest.python,
        "--abi", f"cp{nodot}", *platforms, *wanted,
    ]


def chroot_env() -> dict[str, str]:
    """The host's environment (its proxies reach the mirror) without what
    would point the root's Python at the host's; C.UTF-8, the one locale
    a fresh root has."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith("PYTHON") and name != "VIRTUAL_ENV"}
    path = os.pathsep.join(filter(None, (SYSTEM_PATH, env.get("PATH"))))
    return dict(env, PATH=path, LC_ALL="C.UTF-8")


def compile_command(root: Path, guest: GuestSystem, python: str) -> list[str]:
    inside = site_packages(Path("/"), guest)
    return ["chroot", str(root), python, "-I", "-m", "compileall", "-q", str(inside)]


def verify_command(root: Path, python: str, wanted: tuple[str, ...]) -> list[str]:
    return ["chroot", str(root), python, "-I", "-c", VERIFY_SCRIPT,
            *(requirement_name(requirement) for requirement in wanted)]


def parse_mounts(text: str) -> list[Path]:
    return [Path(_MOUNT_ESCAPE.sub(lambda code: chr(int(code.group(1), 8)), line.split()[1]))
            for line in text.splitlines() if len(line.split()) > 1]


def mounts_under(directory: Path) -> list[Path]:
    """Mount points at or below @directory, deepest first (the order to unmount)."""
    top = directory.resolve()
    inside = [mount for mount in parse_mounts(MOUNTS.read_text())
              if mount == top or top in mount.parents]
    return sorted(inside, key=lambda mount: len(mount.parts), reverse=True)


def unmount_under(directory: Path) -> list[Path]:
    """Lazily unmount what debootstrap left mounted in @directory (its second
    stage mounts /proc and /sys there, and may not get to unmount them);
    returns what is still mounted."""
    for mount in mounts_under(directory):
        subprocess.run(["umount", "--lazy", str(mount)], capture_output=True, check=False)
    return mounts_under(directory)


def remove_tree(directory: Path) -> None:
    """rmtree crosses mount points: a host filesystem bound into the tree
    would be emptied with it, so nothing may stay mounted there."""
    if left := unmount_under(directory):
        raise RunnerError(f"cannot remove {directory}: {left[0]} is still mounted "
                          f"(umount -l {left[0]})")
    if directory.is_dir() and not directory.is_symlink():
        shutil.rmtree(directory)
    else:
        directory.unlink(missing_ok=True)


def prepare_for_guest(root: Path) -> None:
    for name in HOST_FILES:
        (root / name).unlink(missing_ok=True)
    for package in (root / PACKAGE_CACHE).glob("*.deb"):
        package.unlink()
    # Only what does not exist, not even as a symbolic link: a link in a
    # root may point anywhere on the host.
    for name in GUEST_MOUNT_DIRS:
        if not os.path.lexists(root / name):
            (root / name).mkdir(parents=True)
            (root / name).chmod(0o1777 if name == "tmp" else 0o755)
    for name in GUEST_MOUNT_FILES:
        if not os.path.lexists(root / name):
            (root / name).touch()


def _ticking(progress: Progress, what: str) -> Progress:
    """run_logged's reports count compiled objects, which these steps have
    none of: keep its 20 s cadence, say the time spent."""
    started = time.monotonic()
    return lambda _message: progress(f"{what}: {time.monotonic() - started:.0f} s")


def _step(command: list[str], log: Path, progress: Progress, what: str) -> None:
    run_logged(command, log, _ticking(progress, what), what, env=chroot_env())


def verify(root: Path, python: str, wanted: tuple[str, ...], log: Path) -> dict[str, str]:
    """Run the guest's interpreter on the root (qemu-user through binfmt_misc):
    the installed version of each requirement."""
    command = verify_command(root, python, wanted)
    done = subprocess.run(command, capture_output=True, text=True, errors="replace",
                          env=chroot_env(), check=False)
    with log.open("a") as sink:
        sink.write(f"$ {shlex.join(command)}\n{done.stdout}{done.stderr}")
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RunnerError(f"the root's {python} cannot run the suite's requirements "
                          f"(exit {done.returncode}), see {log}: {last}")
    return {name: version for name, _, version in
            (line.partition(" ") for line in done.stdout.splitlines())}


def _build(request: RootfsRequest, root: Path, wanted: tuple[str, ...], log: Path,
           progress: Progress, python: str) -> dict[str, str]:
    what = f"debootstrap {request.release} {request.debian_arch}"
    progress(f"{what} from {request.mirror} (log: {log})")
    _step(debootstrap_command(request, root), log, progress, what)
    guest = guest_system(root)
    prepare_for_guest(root)
    progress(f"installing {', '.join(wanted)} for Python {guest.python}")
    _step(pip_command(request, root, guest, wanted), log, progress, "pip install")
    # Console scripts whose #! names the host's interpreter: the guest runs
    # `python3 -m pytest`.
    shutil.rmtree(site_packages(root, guest) / "bin", ignore_errors=True)
    # The root is read-only in the guest: bytecode not written now would be
    # compiled again at every start.
    _step(compile_command(root, guest, python), log, progress, "compiling the requirements")
    progress("checking the requirements with the root's own python3")
    return verify(root, python, wanted, log)


def ensure(request: RootfsRequest, progress: Progress) -> Rootfs:
    """The root filesystem of @request: reused when built before, else built."""
    started = time.monotonic()
    wanted = requirements()
    key = cache_key(request, wanted)
    home = request.cache_dir / "rootfs" / key
    root = home / "root"
    done = home / "done.json"
    python = Rootfs.python
    if done.exists() and root.is_dir():
        progress(f"reusing root filesystem {key} ({root})")
        return Rootfs(root, key, time.monotonic() - started, python)

    if problems := missing_prerequisites(request.debian_arch):
        raise RunnerError("cannot build a root filesystem: " + "; ".join(problems))
    home.mkdir(parents=True, exist_ok=True)
    log = home / "build.log"
    log.write_text("")
    partial = home / "root.partial"
    remove_tree(partial)
    remove_tree(root)  # renamed but never marked done: built by an older run, or half
    try:
        versions = _build(request, partial, wanted, log, progress, python)
    finally:
        if left := unmount_under(partial):
            progress(f"could not unmount {left[0]}: umount -l {left[0]}")
    partial.rename(root)
    seconds = time.monotonic() - started
    done.write_text(json.dumps({"key": key, "seconds": round(seconds, 1),
                                "request": {"debian_arch": request.debian_arch,
                                            "release": request.release,
                                            "mirror": request.mirror},
                                "versions": versions}, indent=1) + "\n")
    progress(f"built root filesystem {key} in {seconds:.0f} s: "
             + ", ".join(f"{name} {version}" for name, version in versions.items()))
    return Rootfs(root, key, seconds, python)
