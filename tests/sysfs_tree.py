"""Builders of small /sys/devices/system/{node,memory} trees for the probe tests."""

from __future__ import annotations

from pathlib import Path

BLOCK_SIZE = 0x8000000  # 128 MiB, as x86_64 prints it: "8000000"


def node_tree(root: Path, online: str, has_memory: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "online").write_text(online + "\n")
    (root / "has_memory").write_text(has_memory + "\n")
    (root / "possible").write_text(online + "\n")
    return root


def memory_tree(root: Path, blocks: dict[int, tuple[str, int | None, str]]) -> Path:
    """blocks: index -> (state, node or None, valid_zones)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "block_size_bytes").write_text(f"{BLOCK_SIZE:x}\n")
    for index, (state, node, zones) in blocks.items():
        block = root / f"memory{index}"
        block.mkdir()
        (block / "state").write_text(state + "\n")
        (block / "phys_index").write_text(f"{index:08x}\n")
        (block / "removable").write_text("1\n")
        (block / "valid_zones").write_text(zones + "\n")
        if node is not None:
            (block / f"node{node}").mkdir()  # a symlink in sysfs; only the name is read
    return root
