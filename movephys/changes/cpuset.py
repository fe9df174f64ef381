"""cgroup v2 groups of our own: a cpuset with chosen mems, made and always removed.

Groups are made directly under the cgroup2 mount's root (the only cgroup
allowed both processes and child controllers), named
``movephys-<pid>-<random>`` so parallel pytest-xdist workers never collide.
If the cpuset controller had to be enabled in the root's
``cgroup.subtree_control``, it is disabled again once no movephys group is
left. Finding the mount and whether a cpuset can be made is
:mod:`movephys.probes.cgroups`.
"""

from __future__ import annotations

import errno
import os
import secrets
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

from movephys.probes.cgroups import cgroup2_mount, parse_own_cgroup

NAME_PREFIX = "movephys-"
RMDIR_WAIT_S = 5.0  # an exiting member keeps the group busy until it is reaped


class CgroupError(OSError):
    """A cgroup operation failed (one line naming the file and the error)."""

    def __str__(self) -> str:  # the message alone, without "[Errno N]"
        return self.strerror or super().__str__()


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text)
    except OSError as error:
        message = f"writing {text!r} to {path} failed: {error.strerror}"
        raise CgroupError(error.errno, message) from None


@dataclass
class CpusetGroup:
    """One group we made; members are moved back where they came from on removal."""

    path: Path
    parent: Path
    origins: dict[int, Path] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.path.name

    def set_mems(self, nodes: Iterable[int]) -> None:
        _write(self.path / "cpuset.mems", ",".join(str(n) for n in nodes))

    def set_cpus(self, cpus: Iterable[int]) -> None:
        _write(self.path / "cpuset.cpus", ",".join(str(c) for c in cpus))

    def mems(self) -> str:
        return (self.path / "cpuset.mems.effective").read_text().strip()

    def add(self, pid: int) -> None:
        """Move a process in; works from a forked child too (moving itself)."""
        own = parse_own_cgroup(Path(f"/proc/{pid}/cgroup").read_text())
        if own is not None:
            self.origins[pid] = self.parent / own.lstrip("/")
        _write(self.path / "cgroup.procs", str(pid))

    def members(self) -> list[int]:
        try:
            text = (self.path / "cgroup.procs").read_text()
        except OSError:
            return []
        return [int(line) for line in text.split()]

    def remove(self) -> None:
        """Move every member out (to its origin, else the parent) and rmdir; tolerant of exits."""
        deadline = time.monotonic() + RMDIR_WAIT_S
        while True:
            for pid in self.members():
                destination = self.origins.get(pid, self.parent)
                try:
                    (destination / "cgroup.procs").write_text(str(pid))
                except OSError as error:
                    if error.errno != errno.ESRCH:  # ESRCH: it already exited
                        with suppress(OSError):
                            (self.parent / "cgroup.procs").write_text(str(pid))
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError as error:
                if error.errno != errno.EBUSY or time.monotonic() > deadline:
                    raise CgroupError(
                        error.errno, f"removing {self.path} failed: {error.strerror}"
                    ) from None
                time.sleep(0.05)


def _enable_controller(root: Path, controller: str) -> bool:
    """Enable a controller for the root's children; True when we were the ones to do it."""
    if controller in (root / "cgroup.subtree_control").read_text().split():
        return False
    _write(root / "cgroup.subtree_control", f"+{controller}")
    return True


def _disable_if_unused(root: Path, controller: str) -> None:
    if any(entry.name.startswith(NAME_PREFIX) for entry in root.iterdir() if entry.is_dir()):
        return
    with suppress(OSError):  # another user may have started needing it: leave it on
        (root / "cgroup.subtree_control").write_text(f"-{controller}")


@contextmanager
def temporary_group(
    root: Path | None = None, controllers: Iterable[str] = ()
) -> Iterator[CpusetGroup]:
    """A uniquely named group under the cgroup2 root, ``controllers`` enabled; removed on exit."""
    root = cgroup2_mount() if root is None else root
    if root is None:
        raise CgroupError(0, "no cgroup v2 filesystem mounted")
    enabled_here = [c for c in controllers if _enable_controller(root, c)]
    path = root / f"{NAME_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    try:
        path.mkdir()
    except OSError as error:
        raise CgroupError(error.errno, f"creating {path} failed: {error.strerror}") from None
    group = CpusetGroup(path, root)
    try:
        yield group
    finally:
        try:
            group.remove()
        finally:
            for controller in enabled_here:
                _disable_if_unused(root, controller)


@contextmanager
def cpuset_group(
    mems: Iterable[int], cpus: Iterable[int] | None = None, root: Path | None = None
) -> Iterator[CpusetGroup]:
    """A cpuset group allowing only ``mems`` (and ``cpus`` if given); removed on exit."""
    with temporary_group(root, ["cpuset"]) as group:
        if cpus is not None:
            group.set_cpus(cpus)
        group.set_mems(mems)
        yield group
