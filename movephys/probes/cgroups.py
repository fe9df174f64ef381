"""cgroup v2 facts: where the filesystem is mounted, a process's own group,
and whether a cpuset group of our own can be made here.

Making one is :mod:`movephys.changes.cpuset`.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
def parse_cgroup2_mount(mountinfo_text: str) -> Path | None:
    """The mount point of the cgroup2 filesystem in a /proc/PID/mountinfo text."""
    for line in mountinfo_text.splitlines():
        fields = line.split()
        if "-" not in fields:
            continue
        separator = fields.index("-")
        if separator + 1 < len(fields) and fields[separator + 1] == "cgroup2":
            return Path(fields[4])
    return None


def parse_own_cgroup(proc_cgroup_text: str) -> str | None:
    """The v2 path ("0::/path") of a /proc/PID/cgroup text."""
    for line in proc_cgroup_text.splitlines():
        if line.startswith("0::"):
            return line[3:].strip()
    return None


def cgroup2_mount() -> Path | None:
    return parse_cgroup2_mount(MOUNTINFO.read_text())


def cpuset_reason_for(root: Path | None, controllers: str | None, writable: bool) -> str | None:
    if root is None:
        return "no cgroup v2 filesystem mounted"
    if controllers is None:
        return f"{root}/cgroup.controllers unreadable"
    if "cpuset" not in controllers.split():
        return (
            f"the cpuset controller is not available at {root} "
            f"(controllers: {controllers.strip() or 'none'}; bound to a cgroup v1 hierarchy?)"
        )
    if not writable:
        return f"{root} is not writable (run as root)"
    return None


def cpuset_unavailable_reason() -> str | None:
    """Why a cpuset group of our own cannot be made here, or None."""
    root = cgroup2_mount()
    controllers = None
    if root is not None:
        with suppress(OSError):
            controllers = (root / "cgroup.controllers").read_text()
    writable = root is not None and os.access(root, os.W_OK)
    return cpuset_reason_for(root, controllers, writable)


