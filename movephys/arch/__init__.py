"""The ABI facts of each architecture, one small module per ABI (x86_64, i386, arm64).

Shaped like kunit_tool's qemu_configs/: each module defines one :class:`Abi`
and nothing else, so a port to another architecture adds a file here. What
every architecture shares (the memory page of the running machine, the
chunking of mm/migrate.c, the sysfs paths that depend on the huge page size)
lives below. Facts of move_phys_pages itself stay in spec/; the syscall's
number is never a fact here: it is learned from the kernel under test.
"""

from __future__ import annotations

import os
import platform
from dataclasses import dataclass
from pathlib import Path

# The memory page of the machine we run on: 4 KiB on x86, 4, 16 or 64 KiB on arm64.
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
PAGE_SHIFT = PAGE_SIZE.bit_length() - 1

# The PMD-sized huge page (THP, default hugetlb size): one page-table page
# of 8-byte entries maps it; 2 MiB with 4 KiB pages.
HPAGE_SIZE = PAGE_SIZE * (PAGE_SIZE // 8)

# DO_PAGES_STAT_CHUNK_NR in mm/migrate.c: query mode copies the arrays
# 16 entries at a time, so batches are sized around it.
STAT_CHUNK = 16

NODE_ROOT = Path("/sys/devices/system/node")
NR_HUGEPAGES = Path("/proc/sys/vm/nr_hugepages")


class UnknownAbi(ValueError):
    """No ABI module for the machine or name given (one line)."""


@dataclass(frozen=True)
class Abi:
    """What one syscall ABI fixes: its calls' numbers and how its kernel names them."""

    name: str  # as spec/numbers.toml's abi column spells it
    machines: tuple[str, ...]  # uname -m values running this ABI natively
    pointer_bits: int
    # Mainline numbers of the calls the suite makes besides move_phys_pages:
    # ABI, they never change once released.
    move_pages_nr: int
    getpid_nr: int
    vmsplice_nr: int
    # How /proc/kallsyms names this ABI's syscall entries, the plain wrapper
    # first (SYSCALL_DEFINE), then the COMPAT_SYSCALL_DEFINE one if any.
    entry_prefixes: tuple[str, ...]
    table_symbol: str  # the dispatch table in kallsyms ("" when there is none)
    # unistd headers: relative to a --kernel-headers directory, and the system's.
    headers_in_dir: tuple[str, ...]
    system_headers: tuple[str, ...]

    def entry_symbols(self, call: str) -> tuple[str, ...]:
        """The names ``call``'s entry of this ABI may have in /proc/kallsyms."""
        return tuple(prefix + call for prefix in self.entry_prefixes)


def known() -> tuple[Abi, ...]:
    from movephys.arch import arm64, i386, x86_64

    return x86_64.ABI, i386.ABI, arm64.ABI


def entry_prefixes() -> tuple[str, ...]:
    """Every ABI's entry prefixes: a kallsyms name with one is a syscall entry."""
    return tuple(prefix for abi in known() for prefix in abi.entry_prefixes)


def pfn_to_phys(pfn: int) -> int:
    return pfn << PAGE_SHIFT


def phys_to_pfn(phys: int) -> int:
    return phys >> PAGE_SHIFT


def hugetlb_pool(node: int) -> Path:
    """A node's persistent pool of HPAGE_SIZE hugetlb pages (its nr_hugepages in sysfs)."""
    size = f"hugepages-{HPAGE_SIZE // 1024}kB"
    return NODE_ROOT / f"node{node}" / "hugepages" / size / "nr_hugepages"


def by_name(name: str) -> Abi:
    for abi in known():
        if abi.name == name or name in abi.machines:
            return abi
    raise UnknownAbi(f"no ABI facts for {name!r} (known: x86_64, i386, arm64)")


def host() -> Abi:
    """The native ABI of the machine we run on."""
    return by_name(platform.machine())


def compat() -> Abi | None:
    """The 32-bit ABI the native one can also run (IA32 on x86_64), else None."""
    from movephys.arch import i386

    return i386.ABI if host().name == "x86_64" else None
