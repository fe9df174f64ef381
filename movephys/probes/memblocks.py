"""Memory blocks of /sys/devices/system/memory, and taking one offline for a case.

Each ``memoryN`` directory is one block of ``block_size_bytes`` (hex) bytes
starting at physical address ``N * block_size``; its ``state`` is online or
offline and a ``nodeX`` link names its node. Offlining is machine-wide:
:func:`offline_one` takes one offline, :func:`online` puts it back.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

MEMORY_ROOT = Path("/sys/devices/system/memory")
BLOCK_SIZE_FILE = MEMORY_ROOT / "block_size_bytes"
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
OFFLINE_CANDIDATES = 8  # blocks tried before giving up; each try may migrate 128 MiB

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


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except OSError:
        return None


def read_block(
    index: int, root: Path = MEMORY_ROOT, block_size: int | None = None
) -> MemoryBlock | None:
    directory = root / f"memory{index}"
    state = _read(directory / "state")
    if state is None:
        return None
    size = block_size_bytes(root) if block_size is None else block_size
    pages = size // PAGE_SIZE
    phys_index = _read(directory / "phys_index")
    first = int(phys_index, 16) if phys_index else index
    node = None
    for entry in directory.iterdir():
        match = _NODE_LINK.match(entry.name)
        if match:
            node = int(match.group(1))
            break
    removable = _read(directory / "removable")
    return MemoryBlock(
        index=index,
        state=state,
        node=node,
        removable=None if removable is None else removable == "1",
        valid_zones=_read(directory / "valid_zones") or "",
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


def _set_state(block: MemoryBlock, state: str, root: Path) -> None:
    try:
        (root / block.name / "state").write_text(state)
    except OSError as error:
        raise MemoryBlockError(
            error.errno, f"{block.name}: writing {state!r} to state failed: {error.strerror}"
        ) from None


def offline(block: MemoryBlock, root: Path = MEMORY_ROOT) -> None:
    _set_state(block, "offline", root)


def online(block: MemoryBlock, root: Path = MEMORY_ROOT) -> None:
    """Put a block back online, into ZONE_MOVABLE when that is where it was.

    ``block`` is the snapshot taken before offlining; a block already online
    is left alone (the kernel refuses to online it twice).
    """
    if _read(root / block.name / "state") == "online":
        return
    movable = block.valid_zones.strip() == "Movable"
    _set_state(block, "online_movable" if movable else "online", root)


def offline_candidates(all_blocks: list[MemoryBlock], node: int | None = None) -> list[MemoryBlock]:
    """Online blocks worth trying: ZONE_MOVABLE first, then from the top of memory.

    Never block 0 and never a node's last online block.
    """
    per_node: dict[int | None, int] = {}
    for block in all_blocks:
        if block.online:
            per_node[block.node] = per_node.get(block.node, 0) + 1
    eligible = [
        block
        for block in all_blocks
        if block.online
        and block.index != 0
        and block.removable is not False
        and per_node[block.node] > 1
        and (node is None or block.node == node)
    ]
    return sorted(eligible, key=lambda b: (b.valid_zones.strip() != "Movable", -b.index))


def offline_one(
    node: int | None = None, root: Path = MEMORY_ROOT, limit: int = OFFLINE_CANDIDATES
) -> tuple[MemoryBlock | None, str]:
    """Offline the first candidate that agrees; returns it (as it was) and what was tried."""
    tried = []
    for block in offline_candidates(blocks(root), node)[:limit]:
        try:
            offline(block, root)
        except MemoryBlockError as error:
            tried.append(str(error))
            continue
        return block, "; ".join(tried)
    return None, "; ".join(tried) or "no online block other than block 0 or a node's last"

