"""Page flags by PFN and the bounded search for a frame with given flags."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from movephys.probes import kpageflags
from movephys.probes.kpageflags import KPF


def fake_kpageflags(path: Path, words: list[int]) -> Path:
    path.write_bytes(b"".join(word.to_bytes(8, "little") for word in words))
    return path


@pytest.fixture
def flags_file(tmp_path: Path) -> Path:
    return fake_kpageflags(
        tmp_path / "kpageflags",
        [
            KPF.RESERVED,  # 0
            KPF.SLAB,  # 1
            KPF.LRU | KPF.MMAP | KPF.ANON,  # 2
            KPF.BUDDY,  # 3
            KPF.COMPOUND_HEAD | KPF.THP | KPF.LRU | KPF.ANON,  # 4
            KPF.COMPOUND_TAIL | KPF.THP | KPF.ANON,  # 5
            KPF.BUDDY | KPF.HWPOISON,  # 6
            KPF.ZERO_PAGE | KPF.MMAP,  # 7
        ],
    )


def test_flag_names(flags_file: Path) -> None:
    assert kpageflags.flag_names(2, flags_file) == {"LRU", "MMAP", "ANON"}
    assert kpageflags.flag_names(0, flags_file) == {"RESERVED"}
    assert kpageflags.flags_of(5, flags_file) & KPF.COMPOUND_TAIL


def test_pfn_beyond_the_file(flags_file: Path) -> None:
    with pytest.raises(kpageflags.KpageflagsError, match="no entry for pfn 0x8"):
        kpageflags.flags_of(8, flags_file)


@pytest.mark.parametrize(
    ("want", "exclude", "spans", "expected"),
    [
        ("BUDDY", (), [range(0, 8)], 3),
        ("BUDDY", "HWPOISON", [range(4, 8)], None),
        (["THP", "COMPOUND_TAIL"], (), [range(0, 8)], 5),
        ("ZERO_PAGE", (), [range(0, 2), range(6, 8)], 7),
        ("SLAB", (), [range(2, 100)], None),
    ],
    ids=["buddy", "excluded", "two-flags", "second-span", "past-the-end"],
)
def test_find_pfn(
    flags_file: Path,
    want: str | list[str],
    exclude: str | tuple[str, ...],
    spans: list[range],
    expected: int | None,
) -> None:
    assert kpageflags.find_pfn(want, spans, exclude=exclude, path=flags_file) == expected


def test_find_pfn_is_bounded(flags_file: Path) -> None:
    assert kpageflags.find_pfn("ZERO_PAGE", [range(0, 8)], limit=4, path=flags_file) is None


def test_unknown_flag_name() -> None:
    with pytest.raises(ValueError, match="no page flag named 'BUDY'"):
        kpageflags.as_flags("BUDY")


@pytest.mark.skipif(
    not os.access(kpageflags.KPAGEFLAGS, os.R_OK), reason="/proc/kpageflags needs root"
)
def test_real_machine_has_a_free_page() -> None:
    pfn = kpageflags.find_pfn_with("BUDDY", limit=1 << 18)
    assert pfn is not None
