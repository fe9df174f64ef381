"""NUMA memory nodes: which have memory, which this process may use, and whose a PFN is.

Node ids can be sparse (0, 1, 16, 17 on POWER): nothing here assumes 0..n-1.
"""

from __future__ import annotations

from pathlib import Path

from movephys.arch import NODE_ROOT
from movephys.probes import kconfig, memblocks

STATUS = Path("/proc/self/status")
# x86_64 allows CONFIG_NODES_SHIFT up to 10, so MAX_NUMNODES <= 1024: a node id
# at or above this is beyond MAX_NUMNODES on any x86_64 kernel.
FALLBACK_NODES_SHIFT = 10


def parse_node_list(text: str) -> tuple[int, ...]:
    """A kernel node list ("0-1,16-17", "" when empty) as sorted ids."""
    ids: set[int] = set()
    for part in text.strip().split(","):
        part = part.strip()
        if not part:
            continue
        low, _, high = part.partition("-")
        ids.update(range(int(low), int(high or low) + 1))
    return tuple(sorted(ids))


def parse_mems_allowed(status_text: str) -> tuple[int, ...] | None:
    """Mems_allowed_list of a /proc/PID/status text (the cpuset's nodes), None when absent."""
    for line in status_text.splitlines():
        key, _, value = line.partition(":")
        if key == "Mems_allowed_list":
            return parse_node_list(value)
    return None


def _node_list(name: str, root: Path) -> tuple[int, ...]:
    return parse_node_list((root / name).read_text())


def online_nodes(root: Path = NODE_ROOT) -> tuple[int, ...]:
    return _node_list("online", root)


def memory_nodes(root: Path = NODE_ROOT) -> tuple[int, ...]:
    """N_MEMORY: nodes with memory (the nodes move_phys_pages accepts as targets)."""
    return _node_list("has_memory", root)


def memoryless_nodes(root: Path = NODE_ROOT) -> tuple[int, ...]:
    with_memory = set(memory_nodes(root))
    return tuple(node for node in online_nodes(root) if node not in with_memory)


def allowed_memory_nodes(root: Path = NODE_ROOT, status: Path = STATUS) -> tuple[int, ...]:
    """Memory nodes this process may allocate on (N_MEMORY and its cpuset), sorted."""
    allowed = parse_mems_allowed(status.read_text())
    with_memory = memory_nodes(root)
    if allowed is None:
        return with_memory
    return tuple(node for node in with_memory if node in allowed)


def parse_node_meminfo(text: str) -> dict[str, int]:
    """A node's meminfo ("Node 0 MemFree:   1234 kB" lines) as {"MemFree": 1234} in KiB."""
    values: dict[str, int] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 4 and fields[0] == "Node" and fields[2].endswith(":"):
            values[fields[2][:-1]] = int(fields[3])
    return values


def node_meminfo_kib(node: int, root: Path = NODE_ROOT) -> dict[str, int]:
    return parse_node_meminfo((root / f"node{node}" / "meminfo").read_text())


def max_numnodes_from_config(options: dict[str, str] | None) -> int | None:
    if not options:
        return None
    shift = options.get("CONFIG_NODES_SHIFT")
    if shift is None or not shift.isdigit():
        return 1 if options.get("CONFIG_NUMA") == "n" else None
    return 1 << int(shift)


def max_numnodes_or_bound() -> tuple[int, str]:
    """MAX_NUMNODES and how it was learned; without a config, x86_64's upper bound.

    The bound is safe for a "node >= MAX_NUMNODES" case: a node id in
    [nr_node_ids, MAX_NUMNODES) has no memory and gets ENODEV as well.
    """
    found = kconfig.read_config()
    if found is not None:
        options, source = found
        value = max_numnodes_from_config(dict(options))
        if value is not None:
            return value, f"1 << CONFIG_NODES_SHIFT from {source}"
    return 1 << FALLBACK_NODES_SHIFT, (
        f"no kernel config; 1 << {FALLBACK_NODES_SHIFT}, the largest MAX_NUMNODES on x86_64"
    )


def node_of_pfn(pfn: int, memory_root: Path = memblocks.MEMORY_ROOT) -> int | None:
    """The node of the memory block holding a PFN (sysfs links), None when no block has it."""
    block = memblocks.block_of_pfn(pfn, memory_root)
    return None if block is None else block.node


def node_pfn_ranges(node: int, memory_root: Path = memblocks.MEMORY_ROOT) -> list[range]:
    """PFN ranges of the online memory blocks of a node, merged where adjacent."""
    ranges: list[range] = []
    for block in memblocks.blocks(memory_root):
        if block.node != node or not block.online:
            continue
        if ranges and ranges[-1].stop == block.start_pfn:
            ranges[-1] = range(ranges[-1].start, block.end_pfn)
        else:
            ranges.append(range(block.start_pfn, block.end_pfn))
    return ranges
