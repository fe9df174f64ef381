"""The C walk (bench/revtrans.c): the numpy walk's answers on recorded trees, and live holders.

The recorded trees are those of test_bench_translate; the live tests start
real holders (bench.holder) on node 0 and compare the C walk with what
movephys.probes.pagemap reads, then move the pages with mainline move_pages
to the node they are on (nothing leaves node 0, so one node is enough).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_bench_translate import ANON, HEAP, MAPS, entry, write_process

from bench import clib, sweep, translate, workload
from bench.plan import KNOWN, REVERSE_C, TRANSLATE_C
from bench.translate_c import CWalk, translate_c
from bench.workload import Workload
from movephys import arch
from movephys.probes import nodes, pagemap
from movephys.probes.pagemap import SWAPPED
from movephys.syscall import native

needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="no gcc to build the C walk")
needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="pagemap shows PFNs only to CAP_SYS_ADMIN")
pytestmark = needs_gcc


@pytest.fixture
def proc(tmp_path: Path) -> Path:
    root = tmp_path / "proc"
    write_process(root, 100, MAPS, {HEAP: entry(0x1000), ANON + 3 * arch.PAGE_SIZE: entry(0x2000)})
    second = {ANON: entry(0x3000), ANON + arch.PAGE_SIZE: entry(0x3001, SWAPPED)}
    write_process(root, 200, MAPS, second)
    write_process(root, 300, MAPS, {HEAP: entry(0x3000)})  # a second owner of 0x3000
    (root / "2").mkdir()  # a kernel thread: empty maps
    (root / "2" / "maps").write_text("")
    (root / "400").mkdir()  # exited between readdir and open: no maps
    return root


def first_owners(found: translate.Translation) -> dict[int, tuple[int, int]]:
    return {pfn: owners[0] for pfn, owners in found.owners.items()}


def test_c_walk_gives_the_numpy_walks_first_owners(proc: Path) -> None:
    wanted = [0x3000, 0x1000, 0x2000, 0x3001, 0x9999, 0x1000]  # unsorted, a repeat
    assert first_owners(translate_c(wanted, proc)) == first_owners(
        translate.translate(wanted, proc)) == {
        0x1000: (100, HEAP), 0x2000: (100, ANON + 3 * arch.PAGE_SIZE), 0x3000: (200, ANON)}


def test_c_walk_counts_what_it_read(proc: Path) -> None:
    found = translate_c([0x9999], proc)  # never found: every process is read
    assert found.processes_scanned == 3
    numpy_found = translate.translate([0x9999], proc)
    assert found.entries_scanned == numpy_found.entries_scanned


def test_c_walk_stops_once_every_frame_has_an_owner(proc: Path) -> None:
    assert translate_c([0x1000], proc).processes_scanned == 1


def test_c_walk_reads_a_large_vma_in_chunks(tmp_path: Path) -> None:
    root = tmp_path / "proc"
    size = (translate.CHUNK_PAGES + 10) * arch.PAGE_SIZE
    start = 0x7F0000000000
    last = start + size - arch.PAGE_SIZE
    write_process(root, 5, f"{start:x}-{start + size:x} rw-p 00000000 00:00 0\n",
                  {start: entry(1), last: entry(2)})
    found = translate_c([1, 2], root)
    assert first_owners(found) == {1: (5, start), 2: (5, last)}


def test_nothing_wanted_reads_nothing(proc: Path) -> None:
    found = translate_c([], proc)
    assert found.owners == {} and found.processes_scanned == 0


def test_build_is_cached_by_content(tmp_path: Path) -> None:
    first = clib.build(tmp_path)
    assert first.name == f"revtrans-{clib.REVTRANS.key(clib.SOURCE.read_bytes())}.so"
    assert clib.build(tmp_path) == first
    assert [path.name for path in tmp_path.iterdir()] == [first.name]  # no temporary left


def test_a_missing_gcc_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(clib.CBaselineUnavailable, match="^no gcc to build revtrans.c"):
        clib.build(tmp_path / "cache")


@pytest.fixture
def holders() -> Iterator[Workload]:
    with workload.started(2, 32, 0) as work:
        yield work


@needs_root
def test_c_walk_finds_live_holders_pages_as_pagemap_reads_them(holders: Workload) -> None:
    targets = holders.targets(range(holders.total_pages))
    for target in targets:  # the probe, read from here, agrees with the holder's own read
        assert pagemap.pfn_of(target.vaddr, pid=target.pid) == target.pfn
    found = translate_c([target.pfn for target in targets])
    assert first_owners(found) == {t.pfn: (t.pid, t.vaddr) for t in targets}


@needs_root
def test_c_move_calls_move_pages_per_owner(holders: Workload) -> None:
    targets = holders.targets([0, 1, 40, 63])  # two pages of each holder
    walk = CWalk([target.pfn for target in targets])
    assert walk.translate() == 4
    calls = walk.move(arch.host().move_pages_nr, 0, native.MPOL_MF_MOVE)
    outcome = walk.move_outcome(calls)
    assert (outcome.calls, outcome.failed_calls, outcome.status) == (2, 0, (0, 0, 0, 0))
    assert holders.check(targets, 0, nodes.node_pfn_ranges(0)).good == 4


@needs_root
@pytest.mark.parametrize("method", [KNOWN, REVERSE_C, TRANSLATE_C])
def test_new_methods_measure_and_verify(holders: Workload, method: str) -> None:
    targets = holders.targets([3, 50])
    setup = sweep.Setup(0, 0, None)
    row = sweep.measure_method(method, holders, setup, targets, 0, nodes.node_pfn_ranges(0))
    assert row.ok, row.note
    assert row.verified == 2 and row.wall_s > 0
