"""Mappings through cffi: they map, hold data, change protection and always unmap."""

from __future__ import annotations

from pathlib import Path

import pytest

from movephys import arch, memory

PAGE = arch.PAGE_SIZE


def mapped(address: int) -> bool:
    for line in Path("/proc/self/maps").read_text().splitlines():
        start, end = (int(part, 16) for part in line.split()[0].split("-"))
        if start <= address < end:
            return True
    return False


def test_anonymous_holds_data_and_unmaps() -> None:
    with memory.anonymous(3 * PAGE) as mapping:
        assert mapping.addr % PAGE == 0 and mapping.pages == 3
        mapping.fill_pattern(seed=7)
        assert mapping.read(PAGE, PAGE) == memory.page_pattern(7, 1)
        mapping.write(PAGE + 5, b"changed")
        assert mapping.read(PAGE + 5, 7) == b"changed"
        assert mapped(mapping.addr)
    assert not mapped(mapping.addr)


def test_unmapped_even_when_the_case_fails() -> None:
    with pytest.raises(RuntimeError), memory.anonymous(PAGE) as mapping:
        raise RuntimeError("case failed")
    assert not mapped(mapping.addr)


def test_bounds_are_checked() -> None:
    with memory.anonymous(PAGE) as mapping, pytest.raises(ValueError, match="outside"):
        mapping.read(PAGE - 2, 4)


def test_below_4g_uses_map_32bit() -> None:
    with memory.anonymous(PAGE, below_4g=True) as mapping:
        assert mapping.addr + mapping.length <= 1 << 32
        assert "MAP_32BIT" in mapping.what


def test_raw_arrays_round_trip() -> None:
    with memory.anonymous(PAGE) as mapping:
        address = mapping.write_i32s(0, [-1, 5, 0x5A5A5A5A])
        assert mapping.read_i32s(0, 3) == (-1, 5, 0x5A5A5A5A)
        assert memory.read_array(address, "int32_t", 2) == (-1, 5)


def test_madvise_mlock_and_node_query() -> None:
    with memory.anonymous(2 * PAGE) as mapping:
        mapping.madvise(0, mapping.length, memory.MADV_NOHUGEPAGE)
        mapping.touch()
        mapping.mlock()
        mapping.munlock()
        nodes = memory.nodes_of([mapping.page(0), mapping.page(1)])
        assert all(node >= 0 for node in nodes)
        assert memory.place_on_node([mapping.page(0)], nodes[0]) == (nodes[0],)


def test_madvise_error_is_one_line() -> None:
    with memory.anonymous(PAGE) as mapping, pytest.raises(memory.MappingError) as caught:
        mapping.madvise(0, PAGE, 9999)
    assert str(caught.value).endswith("madvise(9999) failed: EINVAL (Invalid argument)")


def test_file_mapping_writes_through(tmp_path: Path) -> None:
    path = tmp_path / "backing"
    path.write_bytes(bytes(PAGE))
    with memory.file_mapping(path, PAGE) as mapping:
        mapping.write(0, b"page cache")
        assert "shared file" in mapping.what
    assert path.read_bytes().startswith(b"page cache")


def test_hugetlb_without_pool_says_so() -> None:
    if int(Path("/proc/sys/vm/nr_hugepages").read_text()) != 0:
        pytest.skip("this host has a hugetlb pool; the error path cannot be shown")
    with pytest.raises(memory.MappingError, match="no free hugetlb page"), memory.anonymous(
        PAGE, hugetlb=True
    ):
        pass
