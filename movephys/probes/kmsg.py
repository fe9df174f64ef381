"""New kernel log lines since a mark, and the lines that report a kernel problem.

The reader opens /dev/kmsg non-blocking and seeks to its end, so each
:func:`new_lines` call returns the records logged since the previous one.
An unreadable log (dmesg_restrict without root, no /dev/kmsg) raises
:class:`KmsgUnreadable` saying why: the caller decides what a run without
the log is worth, never a reader that quietly sees nothing.
"""

from __future__ import annotations

import errno
import os
import re
from dataclasses import dataclass

KMSG = "/dev/kmsg"
READ_SIZE = 8192  # /dev/kmsg returns one record per read; records are < 1 KiB

# Searched anywhere in a line, so "[   12.345678] " timestamps and
# "<4>" priorities in front are allowed.
PROBLEM_PATTERNS = tuple(
    re.compile(pattern)
    for pattern in (
        r"\bBUG: ",
        r"\bkernel BUG at\b",
        r"\bBUG [\w.-]+ \(",  # slab debugging: "BUG kmalloc-64 (Not tainted): ..."
        r"\bWARNING: ",
        r"\bOops\b",
        r"\bKASAN\b",
        r"\bUBSAN\b",
        r"\bKFENCE\b",
        r"possible circular locking",
        r"possible recursive locking",
        r"inconsistent lock state",
        r"\bINFO: ",  # lockdep, hung tasks ("INFO: task x blocked"), RCU stalls
        r"rcu: .*(detected stalls|self-detected stall)",
        r"Kernel panic",
        r"general protection fault",
        r"Unable to handle kernel",
        r"\blist_(add|del) corruption",
        r"refcount_t: ",
    )
)


def is_splat(line: str) -> bool:
    """Whether one kernel log line reports a bug, warning, oops, sanitizer or lockdep finding."""
    return any(pattern.search(line) for pattern in PROBLEM_PATTERNS)


def problem_lines(text: str) -> list[str]:
    """The lines of a kernel log (dmesg text, any prefixes) that report a problem."""
    return [line for line in text.splitlines() if is_splat(line)]


PANIC = re.compile(r"Kernel panic - not syncing: (.*)")
PANIC_END = re.compile(r"---\[ end Kernel panic")
MAX_REPORT_LINES = 80


def panic_reason(text: str) -> str | None:
    """Why the kernel panicked ("softlockup: hung tasks", "Fatal exception"), if it did."""
    for line in text.splitlines():
        if match := PANIC.search(line):
            return match[1].strip()
    return None


def kernel_report(text: str) -> list[str]:
    """The kernel's own report of what went wrong: from the first problem line to
    the end of the panic (or of the log), the first @MAX_REPORT_LINES lines of it."""
    lines = text.splitlines()
    first = next((index for index, line in enumerate(lines) if is_splat(line)), None)
    if first is None:
        return []
    end = next((index for index in range(first, len(lines)) if PANIC_END.search(lines[index])),
               len(lines) - 1)
    report = lines[first:end + 1]
    if len(report) > MAX_REPORT_LINES:
        cut = len(report) - MAX_REPORT_LINES
        report = [*report[:MAX_REPORT_LINES - 1], f"... {cut} more lines in console.log",
                  report[-1]]
    return report


@dataclass(frozen=True)
class KmsgRecord:
    """One /dev/kmsg record: ``priority,sequence,timestamp_us,flags;message``."""

    priority: int
    sequence: int
    timestamp_us: int
    message: str


def parse_record(raw: bytes) -> KmsgRecord | None:
    """Parse one record; its dictionary lines (leading space) are dropped."""
    text = raw.decode("utf-8", errors="replace")
    header, sep, rest = text.partition(";")
    if not sep:
        return None
    fields = header.split(",")
    try:
        priority, sequence, timestamp = (int(field) for field in fields[:3])
    except ValueError:
        return None
    message = rest.split("\n", 1)[0]
    return KmsgRecord(priority & 7, sequence, timestamp, message)


class KmsgReader:
    """An open /dev/kmsg positioned after the last record read."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> KmsgReader:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def records(self) -> list[KmsgRecord]:
        """Every record logged since the previous call (or since opening)."""
        found: list[KmsgRecord] = []
        while True:
            try:
                raw = os.read(self.fd, READ_SIZE)
            except BlockingIOError:
                return found
            except OSError as error:
                if error.errno == errno.EPIPE:
                    continue  # records were overwritten before we read them; go on
                raise
            if not raw:
                return found
            record = parse_record(raw)
            if record is not None:
                found.append(record)


def _open(path: str) -> int:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    os.lseek(fd, 0, os.SEEK_END)
    return fd


class KmsgUnreadable(Exception):
    """The kernel log cannot be read; str() says which file and why, in one line."""


def open_at_end(path: str = KMSG) -> KmsgReader:
    """A reader positioned at the end of the log; KmsgUnreadable when it cannot be read."""
    try:
        return KmsgReader(_open(path))
    except OSError as error:
        denied = error.errno in (errno.EPERM, errno.EACCES)
        hint = " (dmesg_restrict: run as root)" if denied else ""
        raise KmsgUnreadable(f"kernel log unreadable: {path}: {error.strerror}{hint}") from None


def new_lines(reader: KmsgReader) -> list[str]:
    """The messages logged since the reader's mark; the mark moves to the end."""
    return [record.message for record in reader.records()]
