"""Memory blocks and the offline/online dance (on a stand-in sysfs tree)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sysfs_tree import BLOCK_SIZE, memory_tree

from movephys.probes import memblocks

PAGES_PER_BLOCK = BLOCK_SIZE // os.sysconf("SC_PAGE_SIZE")


@pytest.fixture
def memory(tmp_path: Path) -> Path:
    return memory_tree(
        tmp_path / "memory",
        {
            0: ("online", 0, "none"),
            1: ("online", 0, "Normal"),
            2: ("online", 0, "Normal"),
            8: ("online", 1, "Normal"),
            9: ("online", 1, "Movable"),
            10: ("offline", 1, "Normal"),
        },
    )


def test_block_size_is_hex() -> None:
    assert memblocks.parse_block_size("8000000\n") == 128 << 20


def test_blocks(memory: Path) -> None:
    found = memblocks.blocks(memory)
    assert [b.index for b in found] == [0, 1, 2, 8, 9, 10]
    nine = found[4]
    assert (nine.node, nine.online, nine.valid_zones) == (1, True, "Movable")
    assert (nine.start_pfn, nine.end_pfn) == (9 * PAGES_PER_BLOCK, 10 * PAGES_PER_BLOCK)
    assert memblocks.block_of_pfn(9 * PAGES_PER_BLOCK + 1, memory) == nine
    assert memblocks.block_of_pfn(5 * PAGES_PER_BLOCK, memory) is None


def test_candidates_prefer_movable_then_high_blocks(memory: Path) -> None:
    order = [b.index for b in memblocks.offline_candidates(memblocks.blocks(memory))]
    assert order == [9, 8, 2, 1]
    only_node0 = memblocks.offline_candidates(memblocks.blocks(memory), node=0)
    assert [b.index for b in only_node0] == [2, 1]


def test_never_a_nodes_last_online_block(tmp_path: Path) -> None:
    root = memory_tree(tmp_path / "m", {0: ("online", 0, "none"), 4: ("online", 1, "Normal")})
    block, tried = memblocks.offline_one(root=root)
    assert block is None
    assert tried == "no online block other than block 0 or a node's last"


def test_online_puts_an_offlined_block_back_into_its_zone(memory: Path) -> None:
    block, _ = memblocks.offline_one(root=memory)
    assert block is not None and block.index == 9
    assert (memory / "memory9/state").read_text() == "offline"
    (memory / "memory9/state").write_text("offline\n")  # what sysfs would read back
    memblocks.online(block, memory)
    assert (memory / "memory9/state").read_text() == "online_movable"


def test_refusal_is_reported_per_block(memory: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def busy(block: memblocks.MemoryBlock, root: Path) -> None:
        raise memblocks.MemoryBlockError(
            16, f"{block.name}: writing 'offline' to state failed: Device or resource busy"
        )

    monkeypatch.setattr(memblocks, "offline", busy)
    block, tried = memblocks.offline_one(node=0, root=memory)
    assert block is None
    assert tried == (
        "memory2: writing 'offline' to state failed: Device or resource busy; "
        "memory1: writing 'offline' to state failed: Device or resource busy"
    )
