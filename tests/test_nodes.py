"""Memory nodes, cpuset-allowed nodes, MAX_NUMNODES and the node of a PFN."""

from __future__ import annotations

from pathlib import Path

import pytest
from sysfs_tree import BLOCK_SIZE, memory_tree, node_tree

from movephys import arch, kconfig
from movephys.probes import nodes

DATA = Path(__file__).parent / "data"
PAGES_PER_BLOCK = BLOCK_SIZE // arch.PAGE_SIZE


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0", (0,)), ("0-1,16-17\n", (0, 1, 16, 17)), ("", ()), ("\n", ()), ("3,1", (1, 3))],
    ids=["one", "sparse-ranges", "empty", "newline", "unsorted"],
)
def test_parse_node_list(text: str, expected: tuple[int, ...]) -> None:
    assert nodes.parse_node_list(text) == expected


def test_parse_mems_allowed_from_recorded_status() -> None:
    assert nodes.parse_mems_allowed((DATA / "status-host-1node.txt").read_text()) == (0,)
    assert nodes.parse_mems_allowed((DATA / "status-sparse-4node.txt").read_text()) == (
        0, 1, 16, 17
    )
    assert nodes.parse_mems_allowed("Name:\tx\n") is None


@pytest.fixture
def sparse_machine(tmp_path: Path) -> Path:
    """Nodes 0, 1, 16, 17 online; 1 is memoryless; the cpuset allows 0, 1, 16, 17."""
    return node_tree(tmp_path / "node", online="0-1,16-17", has_memory="0,16-17")


def test_sparse_nodes(sparse_machine: Path) -> None:
    status = DATA / "status-sparse-4node.txt"
    assert nodes.memory_nodes(sparse_machine) == (0, 16, 17)
    assert nodes.memoryless_nodes(sparse_machine) == (1,)
    assert nodes.allowed_memory_nodes(sparse_machine, status) == (0, 16, 17)


def test_cpuset_narrows_allowed_nodes(sparse_machine: Path, tmp_path: Path) -> None:
    status = tmp_path / "status"
    status.write_text("Mems_allowed_list:\t16\n")
    assert nodes.allowed_memory_nodes(sparse_machine, status) == (16,)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ("CONFIG_NUMA=y\nCONFIG_NODES_SHIFT=6\n", 64),
        ("# CONFIG_NUMA is not set\n", 1),
        ("CONFIG_NUMA=y\n", None),
        ("", None),
    ],
    ids=["shift-6", "no-numa", "no-shift", "empty"],
)
def test_max_numnodes_from_config(config: str, expected: int | None) -> None:
    assert nodes.max_numnodes_from_config(kconfig.parse_config(config)) == expected


def test_max_numnodes_or_bound_is_a_power_of_two() -> None:
    value, source = nodes.max_numnodes_or_bound()
    assert value >= 1 and value & (value - 1) == 0 and source


def test_node_of_pfn_and_ranges(tmp_path: Path) -> None:
    memory = memory_tree(
        tmp_path / "memory",
        {
            0: ("online", 0, "none"),
            1: ("online", 0, "Normal"),
            2: ("offline", 0, "Normal"),
            8: ("online", 16, "Normal"),
            9: ("online", 16, "Movable"),
        },
    )
    assert nodes.node_of_pfn(PAGES_PER_BLOCK + 5, memory) == 0
    assert nodes.node_of_pfn(9 * PAGES_PER_BLOCK, memory) == 16
    assert nodes.node_of_pfn(4 * PAGES_PER_BLOCK, memory) is None  # a hole
    assert nodes.node_pfn_ranges(0, memory) == [range(0, 2 * PAGES_PER_BLOCK)]
    assert nodes.node_pfn_ranges(16, memory) == [range(8 * PAGES_PER_BLOCK, 10 * PAGES_PER_BLOCK)]


def test_real_machine_has_a_memory_node() -> None:
    with_memory = nodes.memory_nodes()
    assert with_memory and set(nodes.allowed_memory_nodes()) <= set(with_memory)


def test_node_meminfo_in_kib() -> None:
    text = ("Node 1 MemTotal:        1031552 kB\nNode 1 MemFree:          912340 kB\n"
            "Node 1 HugePages_Total:     0\n")
    assert nodes.parse_node_meminfo(text) == {
        "MemTotal": 1031552, "MemFree": 912340, "HugePages_Total": 0}


def test_this_machine_reports_free_memory_per_node() -> None:
    for node in nodes.memory_nodes():
        assert nodes.node_meminfo_kib(node)["MemFree"] > 0
