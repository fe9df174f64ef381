"""Watching the kernel log for splats during one case."""

from __future__ import annotations

from dataclasses import dataclass

from movephys.probes import kmsg


@dataclass
class KernelLogWatch:
    """New kernel log lines since start(); inert when the log cannot be read."""

    reader: kmsg.KmsgReader | None

    @classmethod
    def start(cls) -> KernelLogWatch:
        return cls(kmsg.open_at_end())

    def new_splat(self) -> str:
        """The problem lines logged since the last look, joined; '' when none."""
        if self.reader is None:
            return ""
        return "\n".join(line for line in kmsg.new_lines(self.reader) if kmsg.is_splat(line))

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()
