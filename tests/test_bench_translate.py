"""The pagemap-walk translator, fed a recorded /proc tree (maps text, sparse pagemap files)."""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np
import pytest

from bench import translate
from movephys import arch
from movephys.probes.pagemap import EXCLUSIVE, PRESENT, SOFT_DIRTY, SWAPPED

# Recorded from /proc/PID/maps of `cat` on the development host (trimmed).
MAPS = "".join(line + "\n" for line in (
    '559e7d15b000-559e7d15d000 r--p 00000000 fe:00 260131                     /usr/bin/cat',
    '559ea5754000-559ea5775000 rw-p 00000000 00:00 0                          [heap]',
    '7fde7b7db000-7fde7b7fd000 rw-p 00000000 00:00 0 ',
    '7fde7ba4d000-7fde7ba51000 r--p 00000000 00:00 0                          [vvar]',
    'ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0                  [vsyscall]',
))
HEAP = 0x559EA5754000
ANON = 0x7FDE7B7DB000


def entry(pfn: int, flags: int = PRESENT) -> int:
    return flags | pfn


def write_process(proc: Path, pid: int, maps: str, entries: dict[int, int]) -> None:
    """maps text and a sparse pagemap holding ``entries`` (virtual address -> raw entry)."""
    directory = proc / str(pid)
    directory.mkdir(parents=True)
    (directory / "maps").write_text(maps)
    with (directory / "pagemap").open("wb") as pagemap:
        for vaddr, raw in entries.items():
            pagemap.seek(vaddr // arch.PAGE_SIZE * 8)
            pagemap.write(struct.pack("<Q", raw))


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    write_process(root, 100, MAPS, {
        HEAP: entry(0x1000),
        HEAP + arch.PAGE_SIZE: entry(0x1001, PRESENT | EXCLUSIVE | SOFT_DIRTY),
        ANON + 3 * arch.PAGE_SIZE: entry(0x2000),
    })
    write_process(root, 200, MAPS, {
        ANON: entry(0x3000),
        ANON + arch.PAGE_SIZE: entry(0x3001, SWAPPED),  # a swap entry, not a frame
    })
    (root / "2").mkdir()  # a kernel thread: empty maps
    (root / "2" / "maps").write_text("")
    (root / "self").mkdir()  # not a pid
    return root


def test_parse_maps_reads_ranges_and_names() -> None:
    vmas = translate.parse_maps(MAPS)
    assert [v.name for v in vmas] == ["/usr/bin/cat", "[heap]", "", "[vvar]", "[vsyscall]"]
    assert vmas[1] == translate.Vma(HEAP, 0x559EA5775000, "[heap]")
    assert vmas[1].pages == 0x21


def test_translate_finds_each_owner_and_address(proc: Path) -> None:
    result = translate.translate([0x1000, 0x1001, 0x2000, 0x3000], proc)
    assert result.owners == {
        0x1000: [(100, HEAP)],
        0x1001: [(100, HEAP + arch.PAGE_SIZE)],
        0x2000: [(100, ANON + 3 * arch.PAGE_SIZE)],
        0x3000: [(200, ANON)],
    }
    assert result.processes_scanned == 2  # the kernel thread has no maps


def test_swapped_and_unwanted_entries_are_not_matches(proc: Path) -> None:
    result = translate.translate([0x3001, 0x9999], proc)
    assert result.owners == {}


def test_by_process_groups_first_owners(proc: Path) -> None:
    grouped = translate.translate([0x1000, 0x2000, 0x3000], proc).by_process()
    assert grouped == {
        100: [(HEAP, 0x1000), (ANON + 3 * arch.PAGE_SIZE, 0x2000)], 200: [(ANON, 0x3000)]
    }


def test_entries_counted_per_vma_page(proc: Path) -> None:
    result = translate.translate([0x1000], proc)
    pages = sum(v.pages for v in translate.parse_maps(MAPS) if v.name != "[vsyscall]")
    # A sparse pagemap file ends after its last written entry, so later VMAs read short.
    assert 0 < result.entries_scanned <= 2 * pages


def test_a_process_that_vanished_is_skipped(proc: Path) -> None:
    (proc / "300").mkdir()  # maps gone: the process exited between scandir and open
    result = translate.translate([0x1000], proc)
    assert result.owners == {0x1000: [(100, HEAP)]}


def test_a_frame_mapped_twice_lists_both_owners(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    write_process(root, 10, MAPS, {HEAP: entry(0x77)})
    write_process(root, 11, MAPS, {ANON: entry(0x77)})
    assert translate.translate([0x77], root).owners == {0x77: [(10, HEAP), (11, ANON)]}


def test_matches_ignores_flag_bits_but_needs_present() -> None:
    raw = np.array([0, entry(5), entry(6, PRESENT | EXCLUSIVE), 6, entry(7, SWAPPED)],
                   dtype=np.uint64)
    indexes, pfns = translate.matches(raw, translate.wanted_array([5, 6, 7]))
    assert indexes.tolist() == [1, 2]
    assert pfns.tolist() == [5, 6]


def test_matches_with_nothing_wanted() -> None:
    raw = np.array([entry(5)], dtype=np.uint64)
    indexes, _ = translate.matches(raw, translate.wanted_array([]))
    assert indexes.size == 0


def test_large_vma_is_read_in_chunks(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    size = (translate.CHUNK_PAGES + 10) * arch.PAGE_SIZE
    start = 0x7F0000000000
    maps = f"{start:x}-{start + size:x} rw-p 00000000 00:00 0\n"
    last = start + size - arch.PAGE_SIZE
    write_process(root, 5, maps, {start: entry(1), last: entry(2)})
    result = translate.translate([1, 2], root)
    assert result.owners == {1: [(5, start)], 2: [(5, last)]}
    assert result.entries_scanned == translate.CHUNK_PAGES + 10


@pytest.mark.skipif(os.geteuid() != 0, reason="pagemap shows PFNs only to CAP_SYS_ADMIN")
def test_translate_finds_a_page_of_this_process() -> None:
    from movephys import memory
    from movephys.probes import pagemap

    with memory.anonymous(2 * arch.PAGE_SIZE) as mapping:
        mapping.touch()
        pfn = pagemap.pfn_of(mapping.addr)
        assert pfn is not None
        result = translate.translate([pfn])
        assert (os.getpid(), mapping.addr) in result.owners[pfn]


def test_page_runs_merge_close_vmas_and_skip_vsyscall() -> None:
    page = arch.PAGE_SIZE
    vmas = [
        translate.Vma(10 * page, 12 * page, "lib"),
        translate.Vma(12 * page, 20 * page, "lib"),
        translate.Vma(30 * page, 31 * page, ""),  # 10 pages away: merged
        translate.Vma(2000 * page, 2001 * page, "[stack]"),  # far: a run of its own
        translate.Vma(0xFFFFFFFFFF600000, 0xFFFFFFFFFF601000, "[vsyscall]"),
    ]
    assert translate.page_runs(vmas, max_gap_pages=16) == [range(10, 31), range(2000, 2001)]
    assert translate.page_runs(vmas, max_gap_pages=0) == [
        range(10, 20), range(30, 31), range(2000, 2001)
    ]
