"""Reading kernel virtual memory from /proc/kcore (an ELF64 core file).

Only what identity needs: one little-endian 64-bit word at a kernel virtual
address, found through the PT_LOAD segment whose ``p_vaddr`` range covers it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

KCORE = "/proc/kcore"
PT_LOAD = 1
ELF_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
PROGRAM_HEADER = struct.Struct("<IIQQQQQQ")


class KcoreError(OSError):
    """/proc/kcore missing, not an ELF64 core, or not covering an address (one line)."""


@dataclass(frozen=True)
class LoadSegment:
    offset: int
    vaddr: int
    filesz: int

    def covers(self, address: int, size: int) -> bool:
        return self.vaddr <= address and address + size <= self.vaddr + self.filesz


def load_segments(core: BinaryIO) -> list[LoadSegment]:
    """The PT_LOAD segments of an ELF64 little-endian core file."""
    header = core.read(ELF_HEADER.size)
    if len(header) < ELF_HEADER.size or header[:4] != b"\x7fELF":
        raise KcoreError("not an ELF file")
    fields = ELF_HEADER.unpack(header)
    ident = fields[0]
    if ident[4] != 2 or ident[5] != 1:
        raise KcoreError("not a little-endian ELF64 core")
    phoff, phentsize, phnum = fields[5], fields[9], fields[10]
    segments = []
    for index in range(phnum):
        core.seek(phoff + index * phentsize)
        raw = core.read(PROGRAM_HEADER.size)
        if len(raw) < PROGRAM_HEADER.size:
            raise KcoreError(f"program header {index} truncated")
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, _memsz, _align = (
            PROGRAM_HEADER.unpack(raw)
        )
        if p_type == PT_LOAD:
            segments.append(LoadSegment(p_offset, p_vaddr, p_filesz))
    return segments


def read_u64(address: int, path: str | Path = KCORE) -> int:
    """The 64-bit word at kernel virtual ``address``."""
    try:
        with open(path, "rb") as core:
            for segment in load_segments(core):
                if segment.covers(address, 8):
                    core.seek(segment.offset + address - segment.vaddr)
                    word = core.read(8)
                    if len(word) != 8:
                        raise KcoreError(f"{path}: short read at {address:#x}")
                    return int.from_bytes(word, "little")
    except KcoreError as error:
        raise KcoreError(f"{path}: {error}") from None
    except OSError as error:
        raise KcoreError(f"{path} unreadable ({error.strerror})") from None
    raise KcoreError(f"{path}: no PT_LOAD segment covers {address:#x}")
