"""Memory blocks of /sys/devices/system/memory: which exist, their state, zone and node.

Each ``memoryN`` directory is one block of ``block_size_bytes`` (hex) bytes
starting at physical address ``N * block_size``; its ``state`` is online or
offline and a ``nodeX`` link names its node. Taking one offline is
:mod:`movephys.changes.offline`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from movephys.arch import PAGE_SIZE

MEMORY_ROOT = Path("/sys/devices/system/memory")
BLOCK_SIZE_FILE = MEMORY_ROOT / "block_size_bytes"
_BLOCK_DIR = re.compile(r"^memory(\d+)$")
_NODE_LINK = re.compile(r"^node(\d+)$")


class MemoryBlockError(OSError):
    """A block could not change state (one line naming the block and the error)."""

    def __str__(self) -> str:  # the message alone, without "[Errno N]"
        return self.strerror or super().__str__()


@dataclass(frozen=True)
class MemoryBlock:
    index: int
    state: str  # "online", "offline", "going-offline"
    node: int | None
    removable: bool | None  # None when the file is absent
    valid_zones: str  # "Normal", "Movable", "DMA32", "none" ... ("" when absent)
    start_pfn: int
    end_pfn: int  # exclusive

    @property
    def online(self) -> bool:
        return self.state == "online"

    @property
    def name(self) -> str:
        return f"memory{self.index}"


def parse_block_size(text: str) -> int:
    """block_size_bytes is hex without a prefix, e.g. ``8000000`` for 128 MiB."""
    return int(text.strip(), 16)


def block_size_bytes(root: Path = MEMORY_ROOT) -> int:
    return parse_block_size((root / "block_size_bytes").read_text())


def read_attribute(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def read_block(
    index: int, root: Path = MEMORY_ROOT, block_size: int | None = None
) -> MemoryBlock | None:
    directory = root / f"memory{index}"
    state = read_attribute(directory / "state")
    if state is None:
        return None
    size = block_size_bytes(root) if block_size is None else block_size
    pages = size // PAGE_SIZE
    phys_index = read_attribute(directory / "phys_index")
    first = int(phys_index, 16) if phys_index else index
    node = None
    for entry in directory.iterdir():
        match = _NODE_LINK.match(entry.name)
        if match:
            node = int(match.group(1))
            break
    removable = read_attribute(directory / "removable")
    return MemoryBlock(
        index=index,
        state=state,
        node=node,
        removable=None if removable is None else removable == "1",
        valid_zones=read_attribute(directory / "valid_zones") or "",
        start_pfn=first * pages,
        end_pfn=(first + 1) * pages,
    )


def blocks(root: Path = MEMORY_ROOT) -> list[MemoryBlock]:
    """Every memory block present, by index."""
    size = block_size_bytes(root)
    indexes = sorted(
        int(match.group(1))
        for match in (_BLOCK_DIR.match(entry.name) for entry in root.iterdir())
        if match
    )
    found = (read_block(index, root, size) for index in indexes)
    return [block for block in found if block is not None]


def block_of_pfn(pfn: int, root: Path = MEMORY_ROOT) -> MemoryBlock | None:
    """The block holding a PFN, or None when no block covers it."""
    size = block_size_bytes(root)
    return read_block(pfn * PAGE_SIZE // size, root, size)


