"""The machine facts the suite reads, each from movephys.probes (one place to adapt)."""

from __future__ import annotations

from movephys.arch import pfn_to_phys
from movephys.probes import kpageflags, nodes, pagemap
from movephys.verdicts import broken


def pfn_of(addr: int) -> int | None:
    """The PFN /proc/self/pagemap gives for a virtual address; None when not present."""
    return pagemap.pfn_of(addr)


def phys_of(addr: int) -> int:
    pfn = pfn_of(addr)
    if pfn is None:
        raise AssertionError(f"pagemap: page at {addr:#x} is not present")
    return pfn_to_phys(pfn)


def node_of_pfn(pfn: int) -> int | None:
    """The node whose memory holds the frame, from sysfs; None when no node has it."""
    return nodes.node_of_pfn(pfn)


def page_flags(pfn: int) -> frozenset[str]:
    """The names of the /proc/kpageflags bits set for the frame (e.g. {"LRU", "MMAP"})."""
    return kpageflags.flag_names(pfn)


def describe_pfn(pfn: int) -> str:
    flags = " ".join(sorted(page_flags(pfn))) or "none"
    return f"pfn {pfn:#x}, kpageflags {flags}"


def other_node(node: int | None, two_nodes: tuple[int, int]) -> int:
    """The one of the two nodes a page on ``node`` is not on."""
    return two_nodes[1] if node == two_nodes[0] else two_nodes[0]


def home_and_other(pfn: int, two_nodes: tuple[int, int]) -> tuple[int, int]:
    """The node our page's frame is on (sysfs) and the other of the two nodes."""
    home = node_of_pfn(pfn)
    if home is None:
        broken(f"set-up: no memory node holds pfn {pfn:#x} of our own page, per sysfs")
    return home, other_node(home, two_nodes)
