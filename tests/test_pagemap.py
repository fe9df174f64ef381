"""PFNs from pagemap entries (fake files and the real /proc/self/pagemap)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from movephys import arch, memory
from movephys.probes import pagemap

PAGE = arch.PAGE_SIZE


def fake_pagemap(path: Path, entries: dict[int, int]) -> str:
    """A sparse pagemap file: entries maps a page index to its raw 64-bit word."""
    with open(path, "wb") as out:
        for index, word in entries.items():
            out.seek(index * 8)
            out.write(word.to_bytes(8, "little"))
        out.seek(max(entries) * 8 + 8)
        out.truncate()
    return str(path)


def test_decode_present_entry() -> None:
    entry = pagemap.decode_entry(pagemap.PRESENT | pagemap.EXCLUSIVE | 0x4534)
    assert (entry.present, entry.exclusive, entry.pfn) == (True, True, 0x4534)


def test_pfn_bits_stop_at_54() -> None:
    raw = pagemap.PRESENT | pagemap.SOFT_DIRTY | ((1 << 55) - 1)
    entry = pagemap.decode_entry(raw)
    assert entry.pfn == (1 << 55) - 1 and entry.soft_dirty


def test_swapped_entry_has_no_pfn() -> None:
    assert pagemap.decode_entry(pagemap.PRESENT | pagemap.SWAPPED | 0x1234).pfn == 0


def test_pfn_of_present_and_absent_pages(tmp_path: Path) -> None:
    path = fake_pagemap(tmp_path / "pagemap", {5: pagemap.PRESENT | 0x5149A, 6: 0})
    assert pagemap.pfn_of(5 * PAGE + 12, path=path) == 0x5149A
    assert pagemap.pfn_of(6 * PAGE, path=path) is None


def test_hidden_pfn_is_an_error(tmp_path: Path) -> None:
    path = fake_pagemap(tmp_path / "pagemap", {2: pagemap.PRESENT})
    with pytest.raises(pagemap.PagemapError, match="needs CAP_SYS_ADMIN"):
        pagemap.pfn_of(2 * PAGE, path=path)


def test_address_past_the_file(tmp_path: Path) -> None:
    path = fake_pagemap(tmp_path / "pagemap", {0: 0})
    with pytest.raises(pagemap.PagemapError, match="no entry for address"):
        pagemap.pfn_of(100 * PAGE, path=path)


@pytest.mark.skipif(os.geteuid() != 0, reason="PFNs in pagemap need CAP_SYS_ADMIN (run as root)")
def test_real_pagemap_sees_a_touched_page_and_not_an_untouched_one() -> None:
    with memory.anonymous(2 * PAGE) as mapping:
        mapping.madvise(0, mapping.length, memory.MADV_NOHUGEPAGE)
        mapping.write(0, b"x")
        assert pagemap.pfn_of(mapping.page(0)) is not None
        assert pagemap.pfn_of(mapping.page(1)) is None
        assert pagemap.pfn_of(mapping.page(0), pid=os.getpid()) == pagemap.pfn_of(mapping.page(0))
