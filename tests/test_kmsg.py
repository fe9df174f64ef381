"""Kernel log reading and the problem-line filter."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from movephys.probes import kmsg

DATA = Path(__file__).parent / "data"


def test_problem_lines_of_recorded_log() -> None:
    lines = kmsg.problem_lines((DATA / "dmesg-mixed.txt").read_text())
    assert len(lines) == 14
    assert lines[0].endswith("WARNING: CPU: 1 PID: 321 at mm/migrate.c:2345 "
                             "move_phys_pages_stat+0x1f/0x80")
    assert not any("Linux version" in line or "mounted filesystem" in line for line in lines)
    assert not any("cut here" in line or "page:00000000deadbeef" in line for line in lines)


@pytest.mark.parametrize(
    "line",
    [
        "<4>[ 1.0] WARNING: CPU: 0 PID: 1 at x",
        "BUG: sleeping function called from invalid context",
        "     inconsistent lock state",
        "INFO: trying to register non-static key.",
    ],
)
def test_is_splat(line: str) -> None:
    assert kmsg.is_splat(line)


@pytest.mark.parametrize(
    "line",
    ["Oopsy daisy is not a word here", "DEBUG: fine", "warning: lowercase is not the kernel's"],
)
def test_is_not_splat(line: str) -> None:
    assert kmsg.is_splat(line) == ("Oops" in line.split())


def test_parse_record() -> None:
    raw = b"4,1234,5678901,-;WARNING: CPU: 0 PID: 1 at x\n SUBSYSTEM=pci\n DEVICE=+pci:00:02.0\n"
    record = kmsg.parse_record(raw)
    assert record == kmsg.KmsgRecord(4, 1234, 5678901, "WARNING: CPU: 0 PID: 1 at x")
    assert kmsg.parse_record(b"garbage without a header") is None


def test_unreadable_log_raises_the_reason(tmp_path: Path) -> None:
    missing = str(tmp_path / "kmsg")
    with pytest.raises(kmsg.KmsgUnreadable) as caught:
        kmsg.open_at_end(missing)
    assert str(caught.value) == f"kernel log unreadable: {missing}: No such file or directory"


def _log_readable() -> bool:
    try:
        kmsg.open_at_end().close()
    except kmsg.KmsgUnreadable:
        return False
    return True


@pytest.mark.skipif(
    not _log_readable() or not os.access(kmsg.KMSG, os.W_OK),
    reason=f"{kmsg.KMSG} not readable and writable here (needs root)",
)
def test_reader_sees_only_records_after_its_mark() -> None:
    marker = f"movephys unit test marker {os.getpid()}-{os.urandom(4).hex()}"
    with kmsg.open_at_end() as reader:
        with open(kmsg.KMSG, "w") as log:
            log.write(f"<6>{marker}\n")
        lines = kmsg.new_lines(reader)
        assert any(line.endswith(marker) for line in lines)
        assert not any(line.endswith(marker) for line in kmsg.new_lines(reader))


def test_kernel_report_runs_from_the_first_problem_to_the_end_of_the_panic() -> None:
    console = "\n".join([
        "virtme-ng-init: starting script", "BUG: soft lockup - CPU#1 stuck for 22s! [python:65]",
        *(f" frame_{number}+0x10/0x20" for number in range(200)),
        "Kernel panic - not syncing: softlockup: hung tasks",
        "---[ end Kernel panic - not syncing: softlockup: hung tasks ]---", "after the end"])
    report = kmsg.kernel_report(console)
    assert report[0].startswith("BUG: soft lockup")
    assert len(report) == kmsg.MAX_REPORT_LINES + 1
    assert report[-2].endswith("more lines in console.log")
    assert report[-1].startswith("---[ end Kernel panic")
    assert kmsg.panic_reason(console) == "softlockup: hung tasks"


def test_a_clean_console_has_no_report() -> None:
    assert kmsg.kernel_report("Linux version 6.12\nvirtme-ng-init: script exited") == []
    assert kmsg.panic_reason("reboot: Power down") is None
