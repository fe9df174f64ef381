"""cgroup v2 groups: parsing, reasons, and a real group made and removed (only ours)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from movephys.changes import cpuset
from movephys.probes import cgroups

HOST_MOUNTINFO = """\
25 30 0:23 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
34 25 0:30 / /sys/fs/cgroup ro,nosuid,nodev,noexec shared:9 - tmpfs tmpfs ro,mode=755
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
42 34 0:39 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset
"""
VM_MOUNTINFO = "30 25 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw\n"


def test_parse_cgroup2_mount() -> None:
    assert cgroups.parse_cgroup2_mount(HOST_MOUNTINFO) == Path("/sys/fs/cgroup/unified")
    assert cgroups.parse_cgroup2_mount(VM_MOUNTINFO) == Path("/sys/fs/cgroup")
    assert cgroups.parse_cgroup2_mount(HOST_MOUNTINFO.splitlines()[0]) is None


def test_parse_own_cgroup() -> None:
    text = "4:memory:/process_api/x\n0::/user.slice/session-1.scope\n"
    assert cgroups.parse_own_cgroup(text) == "/user.slice/session-1.scope"
    assert cgroups.parse_own_cgroup("4:memory:/x\n") is None


@pytest.mark.parametrize(
    ("root", "controllers", "writable", "reason"),
    [
        (None, None, False, "no cgroup v2 filesystem mounted"),
        (
            Path("/sys/fs/cgroup/unified"),
            "hugetlb\n",
            True,
            "the cpuset controller is not available at /sys/fs/cgroup/unified "
            "(controllers: hugetlb; bound to a cgroup v1 hierarchy?)",
        ),
        (Path("/sys/fs/cgroup"), "cpuset cpu io memory", False,
         "/sys/fs/cgroup is not writable (run as root)"),
        (Path("/sys/fs/cgroup"), "cpuset cpu io memory hugetlb pids", True, None),
    ],
    ids=["no-v2", "v1-cpuset", "not-root", "usable"],
)
def test_cpuset_reason(
    root: Path | None, controllers: str | None, writable: bool, reason: str | None
) -> None:
    assert cgroups.cpuset_reason_for(root, controllers, writable) == reason


def test_reason_here_is_one_line_or_none() -> None:
    reason = cgroups.cpuset_unavailable_reason()
    assert reason is None or "\n" not in reason


@pytest.fixture
def cgroup2_root() -> Path:
    root = cgroups.cgroup2_mount()
    if root is None or not os.access(root, os.W_OK):
        pytest.skip("no writable cgroup v2 mount here (needs root)")
    return root


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(["sleep", "60"])
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def group_of(pid: int) -> str | None:
    return cgroups.parse_own_cgroup(Path(f"/proc/{pid}/cgroup").read_text())


def test_group_holds_a_process_then_gives_it_back(
    cgroup2_root: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    before = group_of(sleeper.pid)
    with cpuset.temporary_group(cgroup2_root) as group:
        assert group.name.startswith(f"movephys-{os.getpid()}-")
        group.add(sleeper.pid)
        assert group.members() == [sleeper.pid]
        assert group_of(sleeper.pid) == f"/{group.name}"
    assert not group.path.exists()
    assert group_of(sleeper.pid) == before


def test_group_removed_after_its_member_died(
    cgroup2_root: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    with pytest.raises(RuntimeError), cpuset.temporary_group(cgroup2_root) as group:
        group.add(sleeper.pid)
        sleeper.kill()
        raise RuntimeError("case failed")
    assert not group.path.exists()


def test_cpuset_group_restricts_mems() -> None:
    reason = cgroups.cpuset_unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with cpuset.cpuset_group([0]) as group:
        assert group.mems() == "0"
    assert not group.path.exists()
