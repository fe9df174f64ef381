"""The physical address map from recorded /proc/iomem text."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from movephys import arch
from movephys.probes import iomem

DATA = Path(__file__).parent / "data"
PAGE = arch.PAGE_SIZE
BLOCK_PAGES = (128 << 20) // PAGE


def recorded(name: str) -> list[iomem.IomemRange]:
    return iomem.parse_iomem((DATA / name).read_text())


def blocks_covering(*spans: tuple[int, int]) -> list[range]:
    """Memory-block PFN ranges for the given [first, last) block indexes."""
    return [range(first * BLOCK_PAGES, last * BLOCK_PAGES) for first, last in spans]


def test_parse_nesting() -> None:
    ranges = recorded("iomem-host.txt")
    code = iomem.kernel_code(ranges)
    assert code is not None and code.depth == 1 and code.start == 0x01000000
    assert [r.depth for r in ranges if r.name == "virtio-pci-modern"][0] == 2


def test_system_ram_is_top_level_only() -> None:
    ram = iomem.system_ram(recorded("iomem-host.txt"))
    assert [(r.start, r.end) for r in ram] == [
        (0x1000, 0x9FBFF),
        (0x100000, 0xBFFFFFFF),
        (0x100000000, 0x63FFFFFFF),
    ]


def test_last_ram_pfn() -> None:
    assert iomem.last_ram_pfn(recorded("iomem-host.txt")) == 0x63FFFFFFF // PAGE
    assert iomem.last_ram_pfn(recorded("iomem-qemu-2g.txt")) == 0x7FFDFFFF // PAGE


def test_hole_in_the_pci_window() -> None:
    # Host: blocks 0-23 (0-3 GiB) and 32-199 (4-25 GiB) present.
    hole = iomem.find_hole_pfn(recorded("iomem-host.txt"), blocks_covering((0, 24), (32, 200)))
    assert hole == 0xC0000000 // PAGE


def test_reserved_range_inside_a_block_is_no_hole() -> None:
    # QEMU 2 GiB: blocks 0-15 cover all RAM, and the reserved tail with it.
    assert iomem.find_hole_pfn(recorded("iomem-qemu-2g.txt"), blocks_covering((0, 16))) is None


def test_hidden_addresses(tmp_path: Path) -> None:
    assert iomem.addresses_hidden(recorded("iomem-host-hidden.txt"))
    with pytest.raises(iomem.IomemError, match="needs root"):
        iomem.read_iomem(DATA / "iomem-host-hidden.txt")
    assert iomem.kernel_code(recorded("iomem-host-hidden.txt")).start == 0  # type: ignore[union-attr]


def test_last_pfn_beyond() -> None:
    last = iomem.LastPfn(iomem=0x7FFDF, memory_blocks=0x7FFFF)
    assert last.beyond == 0x80000


@pytest.mark.skipif(os.geteuid() != 0, reason="/proc/iomem shows addresses to root only")
def test_real_machine_agrees_with_its_memory_blocks() -> None:
    last = iomem.last_pfn()
    assert last.iomem is not None and last.memory_blocks is not None
    assert last.iomem <= last.memory_blocks


def test_every_hole_and_a_limit() -> None:
    ranges = recorded("iomem-host.txt")
    blocks = blocks_covering((0, 24), (32, 200))
    assert iomem.find_holes(ranges, blocks) == [range(24 * BLOCK_PAGES, 32 * BLOCK_PAGES)]
    assert iomem.find_holes(ranges, blocks, limit=28 * BLOCK_PAGES) == [
        range(24 * BLOCK_PAGES, 28 * BLOCK_PAGES)
    ]
    assert iomem.find_holes(ranges, blocks, limit=20 * BLOCK_PAGES) == []
