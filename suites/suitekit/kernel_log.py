"""Watching the kernel log for splats during one case."""

from __future__ import annotations

from dataclasses import dataclass

from movephys.probes import kmsg
from movephys.verdicts import broken


@dataclass
class KernelLogWatch:
    """New kernel log lines since start().

    A log that cannot be read is a set-up error of the case, never a watch
    that sees nothing: "any kernel splat fails the case" would be silently
    off, and the case's pass would claim what nobody checked. The suite runs
    as root, so an unreadable /dev/kmsg means the machine was set up wrong
    (no devtmpfs, an LSM, a container without it), which an error says.
    """

    reader: kmsg.KmsgReader

    @classmethod
    def start(cls, path: str = kmsg.KMSG) -> KernelLogWatch:
        try:
            return cls(kmsg.open_at_end(path))
        except kmsg.KmsgUnreadable as error:
            broken(f"set-up: {error}: a kernel splat during the case would go unseen")

    def new_splat(self) -> str:
        """The problem lines logged since the last look, joined; '' when none."""
        return "\n".join(line for line in kmsg.new_lines(self.reader) if kmsg.is_splat(line))

    def close(self) -> None:
        self.reader.close()
