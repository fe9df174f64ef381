"""Taking a memory block offline for a case, and always putting it back.

Offlining is machine-wide: :func:`offlined` puts the block back online on
exit, into ZONE_MOVABLE when that is where it was. Reading the blocks is
:mod:`movephys.probes.memblocks`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from movephys import arch
from movephys.probes.memblocks import (
    MEMORY_ROOT,
    MemoryBlock,
    MemoryBlockError,
    blocks,
    read_attribute,
)

OFFLINE_CANDIDATES = 8  # blocks tried before giving up; each try may migrate 128 MiB

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
    if read_attribute(root / block.name / "state") == "online":
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


@contextmanager
def offlined(node: int | None = None, root: Path = MEMORY_ROOT) -> Iterator[MemoryBlock]:
    """A block offline inside the block, online again on exit; MemoryBlockError if none."""
    block, tried = offline_one(node, root)
    if block is None:
        # arch/arm64/mm/mmu.c vetoes offlining any memory present at boot.
        why = " (arm64 refuses to offline boot memory)" if arch.host().name == "arm64" else ""
        raise MemoryBlockError(0, f"no memory block could be offlined{why}: {tried}")
    try:
        yield block
    finally:
        online(block, root)
