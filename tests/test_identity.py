"""Identity confirmation from recorded kallsyms and a fake /proc/kcore."""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from movephys.syscall import identity, kcore
from movephys.syscall.identity import LEVEL_FALLBACK, LEVEL_TABLE, QueryAnswer, confirm
from movephys.syscall.kallsyms import Kallsyms, parse_kallsyms
from movephys.syscall.numbers import NumberSource, SyscallNumbers

DATA = Path(__file__).parent / "data"
PORT = parse_kallsyms((DATA / "kallsyms-port-6.12.txt").read_text())
HOST = parse_kallsyms((DATA / "kallsyms-host-6.18.txt").read_text())
TABLE_SEGMENT = 0xFFFFFFFF82000000  # start of the fake kcore's one PT_LOAD segment


def fake_kcore(path: Path, words: dict[int, int], vaddr: int = TABLE_SEGMENT) -> Path:
    """An ELF64 core with a note segment and one PT_LOAD of 16 KiB at ``vaddr``."""
    ehdr = struct.Struct("<16sHHIQQQIHHHHHH")
    phdr = struct.Struct("<IIQQQQQQ")
    data_offset = 0x1000
    size = 0x4000
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header = ehdr.pack(ident, 4, 62, 1, 0, ehdr.size, 0, 0, ehdr.size, phdr.size, 2, 0, 0, 0)
    note = phdr.pack(4, 0, 0x800, 0, 0, 0x10, 0, 4)
    load = phdr.pack(1, 7, data_offset, vaddr, 0, size, size, 0x1000)
    image = bytearray(data_offset + size)
    image[: len(header)] = header
    image[ehdr.size : ehdr.size + 2 * phdr.size] = note + load
    for address, value in words.items():
        at = data_offset + address - vaddr
        image[at : at + 8] = value.to_bytes(8, "little")
    path.write_bytes(bytes(image))
    return path


def table_slot(symbols: Kallsyms, table: str, nr: int) -> int:
    address = symbols.address(table)
    assert address is not None
    return address + 8 * nr


def entry_address(symbols: Kallsyms, name: str) -> int:
    address = symbols.address(name)
    assert address is not None
    return address


class ProbeRecorder:
    """Stands in for the probe call so the tests see whether (and with what) it ran."""

    def __init__(self, outcome: tuple[int, int] = (-1, errno.EINVAL)) -> None:
        self.calls: list[int] = []
        self.outcome = outcome

    def __call__(self, nr: int) -> tuple[int, int]:
        self.calls.append(nr)
        return self.outcome


def numbers_for(
    nr: int | None, compat: int | None = None, table: dict[int, str] | None = None
) -> SyscallNumbers:
    return SyscallNumbers(
        NumberSource(nr, "test", table or {}), NumberSource(compat, "test", table or {})
    )


@pytest.fixture
def port_kcore(tmp_path: Path) -> Path:
    """sys_call_table[463] and ia32_sys_call_table[463] bound to the move_phys_pages entries."""
    return fake_kcore(
        tmp_path / "kcore",
        {
            table_slot(PORT, "sys_call_table", 463): entry_address(
                PORT, "__x64_sys_move_phys_pages"
            ),
            table_slot(PORT, "ia32_sys_call_table", 463): entry_address(
                PORT, "__ia32_sys_move_phys_pages"
            ),
            table_slot(PORT, "sys_call_table", 462): entry_address(PORT, "__x64_sys_mseal"),
        },
    )


def test_kcore_reads_word_through_load_segment(port_kcore: Path) -> None:
    slot = table_slot(PORT, "sys_call_table", 462)
    assert kcore.read_u64(slot, port_kcore) == entry_address(PORT, "__x64_sys_mseal")


@pytest.mark.parametrize(
    ("address", "message"),
    [(0xFFFFFFFF81000000, "no PT_LOAD segment covers 0xffffffff81000000"),
     (TABLE_SEGMENT + 0x4000 - 4, "no PT_LOAD segment covers")],
    ids=["below-segment", "straddles-end"],
)
def test_kcore_address_outside_segments(port_kcore: Path, address: int, message: str) -> None:
    with pytest.raises(kcore.KcoreError, match=message):
        kcore.read_u64(address, port_kcore)


def test_kcore_not_elf(tmp_path: Path) -> None:
    bogus = tmp_path / "kcore"
    bogus.write_bytes(b"not an elf file at all" * 4)
    with pytest.raises(kcore.KcoreError, match="not an ELF file"):
        kcore.read_u64(0, bogus)


def test_confirmed_by_sys_call_table_then_probed(port_kcore: Path) -> None:
    probe = ProbeRecorder()
    result = confirm(numbers_for(463, 463), symbols=PORT, kcore_path=port_kcore, probe=probe)
    assert result.confirmed and result.nr == 463
    assert result.native.level == LEVEL_TABLE
    assert result.reason.startswith("sys_call_table[463] is __x64_sys_move_phys_pages")
    assert result.reason.endswith("move_phys_pages(0, NULL, NULL, NULL, -1) gave EINVAL")
    assert (result.compat.confirmed, result.compat.level) == (True, LEVEL_TABLE)
    assert probe.calls == [463]


def test_number_bound_to_other_syscall_is_refused_without_a_call(port_kcore: Path) -> None:
    probe = ProbeRecorder()
    result = confirm(numbers_for(462), symbols=PORT, kcore_path=port_kcore, probe=probe)
    assert not result.confirmed
    assert result.reason == "sys_call_table[462] is __x64_sys_mseal, not __x64_sys_move_phys_pages"
    assert probe.calls == []


def test_table_too_short_is_reported(port_kcore: Path) -> None:
    """Seen on a kernel image built before its headers: the slot past the table holds 0."""
    result = confirm(numbers_for(10), symbols=PORT, kcore_path=port_kcore, probe=ProbeRecorder())
    assert result.reason == (
        "sys_call_table[10] holds 0x0, no syscall entry: the running kernel's table ends "
        "before 10 (kernel image older than its headers?)"
    )


def test_no_symbol_means_no_syscall_whatever_the_number() -> None:
    probe = ProbeRecorder()
    result = confirm(numbers_for(463, 463), symbols=HOST, probe=probe)
    assert result.reason == (
        "no __x64_sys_move_phys_pages in /proc/kallsyms: this kernel has no move_phys_pages"
    )
    assert not result.compat.confirmed
    assert probe.calls == []


def test_compat_reason_when_only_ia32_entry_is_missing(tmp_path: Path) -> None:
    text = (DATA / "kallsyms-port-6.12.txt").read_text().replace("__ia32_sys_move_phys", "x")
    result = confirm(
        numbers_for(463, 463),
        symbols=parse_kallsyms(text),
        kcore_path=tmp_path / "absent",
        probe=ProbeRecorder(),
    )
    assert result.confirmed
    assert result.compat.reason == (
        "no __ia32_sys_move_phys_pages in /proc/kallsyms: "
        "this kernel has no 32-bit move_phys_pages entry"
    )


def test_compat_reason_without_ia32_emulation(tmp_path: Path) -> None:
    lines = (DATA / "kallsyms-port-6.12.txt").read_text().splitlines()
    text = "\n".join(line for line in lines if "__ia32_" not in line)
    result = confirm(
        numbers_for(463, 463), symbols=parse_kallsyms(text), kcore_path=tmp_path / "absent",
        probe=ProbeRecorder(),
    )
    assert result.compat.reason.endswith("this kernel has no IA32 emulation")


def test_unknown_number_with_symbol_present() -> None:
    result = confirm(numbers_for(None), symbols=PORT, probe=ProbeRecorder())
    assert result.reason == (
        "__x64_sys_move_phys_pages exists but its number is unknown: test; "
        "give --syscall-nr or --kernel-headers"
    )


def test_fallback_confirms_when_kcore_is_missing(tmp_path: Path) -> None:
    probe = ProbeRecorder()
    result = confirm(
        numbers_for(463), symbols=PORT, kcore_path=tmp_path / "kcore", probe=probe
    )
    assert result.confirmed and result.native.level == LEVEL_FALLBACK
    assert "kcore unreadable" in result.reason
    assert probe.calls == [463]


@pytest.mark.parametrize(
    ("nr", "table", "reason"),
    [
        (462, {}, "462 is mseal on this kernel (__x64_sys_mseal in kallsyms)"),
        (454, {}, "454 is futex_wake on this kernel (__x64_sys_futex_wake in kallsyms)"),
        (300, {300: "fanotify_init"}, "300 is __NR_fanotify_init in the headers read, "
         "not move_phys_pages"),
    ],
    ids=["mseal", "futex_wake", "header-name"],
)
def test_fallback_refuses_collisions(
    tmp_path: Path, nr: int, table: dict[int, str], reason: str
) -> None:
    probe = ProbeRecorder()
    result = confirm(
        numbers_for(nr, table=table), symbols=PORT, kcore_path=tmp_path / "kcore", probe=probe
    )
    assert (result.confirmed, result.reason) == (False, reason)
    assert probe.calls == []


def test_fallback_when_table_symbol_absent() -> None:
    text = (DATA / "kallsyms-port-6.12.txt").read_text().replace(" sys_call_table", " other")
    result = confirm(numbers_for(463), symbols=parse_kallsyms(text), probe=ProbeRecorder())
    assert result.native.level == LEVEL_FALLBACK
    assert "no sys_call_table in kallsyms (no CONFIG_KALLSYMS_ALL" in result.reason


def test_hidden_addresses_fall_back() -> None:
    text = "\n".join(
        "0000000000000000" + line[16:]
        for line in (DATA / "kallsyms-port-6.12.txt").read_text().splitlines()
    )
    result = confirm(numbers_for(463), symbols=parse_kallsyms(text), probe=ProbeRecorder())
    assert result.native.level == LEVEL_FALLBACK
    assert "kallsyms addresses are hidden (run as root)" in result.reason


@pytest.mark.parametrize(
    ("outcome", "reason_end"),
    [
        ((-1, errno.ENOSYS), "gave ret=-1 errno=ENOSYS, expected -1/EINVAL"),
        ((0, 0), "gave ret=0 errno=0, expected -1/EINVAL"),
    ],
    ids=["enosys", "success"],
)
def test_probe_must_give_einval_at_the_fallback_level(
    tmp_path: Path, outcome: tuple[int, int], reason_end: str
) -> None:
    result = confirm(
        numbers_for(463), symbols=PORT, kcore_path=tmp_path / "kcore",
        probe=ProbeRecorder(outcome),
    )
    assert not result.confirmed
    assert result.reason == (
        f"move_phys_pages(0, NULL, NULL, NULL, -1) on number 463 {reason_end}"
    )


@pytest.mark.parametrize("outcome", [(0, 0), (-1, errno.ENOSYS)], ids=["success", "enosys"])
def test_table_confirmed_number_survives_a_wrong_flags_probe(
    port_kcore: Path, outcome: tuple[int, int]
) -> None:
    """The table proves the number: a port that accepts any flags gets a full report."""
    result = confirm(
        numbers_for(463), symbols=PORT, kcore_path=port_kcore, probe=ProbeRecorder(outcome)
    )
    assert result.confirmed and result.nr == 463
    assert result.native.flags_rejected is False
    assert "spec row whole_call_errors.unknown_flags fails" in result.reason


def test_probe_einval_is_recorded(port_kcore: Path) -> None:
    result = confirm(numbers_for(463), symbols=PORT, kcore_path=port_kcore, probe=ProbeRecorder())
    assert result.native.flags_rejected is True


def test_compat_probe_runs_only_when_given(port_kcore: Path) -> None:
    compat_probe = ProbeRecorder((-1, errno.EFAULT))
    result = confirm(
        numbers_for(463, 463), symbols=PORT, kcore_path=port_kcore, probe=ProbeRecorder(),
        compat_probe=compat_probe,
    )
    assert compat_probe.calls == [463]
    assert result.compat_nr == 463 and result.compat.flags_rejected is False


def test_compat_probe_refuses_at_the_fallback_level(tmp_path: Path) -> None:
    result = confirm(
        numbers_for(463, 463), symbols=PORT, kcore_path=tmp_path / "kcore",
        probe=ProbeRecorder(), compat_probe=ProbeRecorder((-1, errno.ENOSYS)),
    )
    assert not result.compat.confirmed and result.compat_nr is None


def test_unreadable_kallsyms(tmp_path: Path) -> None:
    result = confirm(numbers_for(463), kallsyms_path=str(tmp_path / "kallsyms"))
    assert not result.confirmed
    assert result.reason.endswith("unreadable (No such file or directory; run as root)")


needs_kcore: pytest.MarkDecorator = pytest.mark.skipif(
    not os.access("/proc/kcore", os.R_OK), reason="/proc/kcore absent or unreadable on this host"
)


@needs_kcore
def test_real_kcore_holds_the_table_entry_for_read() -> None:
    symbols = parse_kallsyms(Path("/proc/kallsyms").read_text())
    if "sys_call_table" not in symbols or symbols.addresses_hidden:
        pytest.skip("no sys_call_table address in /proc/kallsyms (needs KALLSYMS_ALL and root)")
    word = kcore.read_u64(table_slot(symbols, "sys_call_table", 0))
    assert symbols.syscall_symbol_at(word) == "__x64_sys_read"


def test_real_kernel_verdict_is_one_line() -> None:
    """On any host, confirm() gives a one-line reason and never raises."""
    from movephys.syscall.numbers import resolve

    result = identity.confirm(resolve(env={}))
    assert "\n" not in result.reason and result.reason


def answer(status: int, expected: int = 1, ret: int = 0) -> Callable[[int], QueryAnswer]:
    return lambda nr: QueryAnswer(ret, status, expected, "pfn 0x1234, a page of ours")


def test_fallback_number_whose_query_answers_the_node_is_the_call(tmp_path: Path) -> None:
    """No table to read (the i386 entry on 6.9+): the query probe stands in for EINVAL."""
    result = confirm(
        numbers_for(463), symbols=PORT, kcore_path=tmp_path / "kcore",
        probe=ProbeRecorder((0, 0)), query_probe=answer(1),
    )
    assert result.confirmed and result.native.flags_rejected is False
    assert "gave ret=0 status=1, the node sysfs gives, so the number is the call" in result.reason


@pytest.mark.parametrize(
    ("query", "reason_end"),
    [
        (answer(0), "gave ret=0 status=0, not node 1 as sysfs says"),
        (answer(1, ret=-1), "gave ret=-1 status=1, not node 1 as sysfs says"),
    ],
    ids=["wrong-node", "error"],
)
def test_fallback_number_whose_query_is_wrong_is_refused(
    tmp_path: Path, query: Callable[[int], QueryAnswer], reason_end: str
) -> None:
    result = confirm(
        numbers_for(463), symbols=PORT, kcore_path=tmp_path / "kcore",
        probe=ProbeRecorder((0, 0)), query_probe=query,
    )
    assert not result.confirmed and result.reason.endswith(reason_end)


def test_query_probe_not_needed_when_flags_give_einval(tmp_path: Path) -> None:
    def never(nr: int) -> QueryAnswer:
        raise AssertionError("the query probe ran")

    result = confirm(
        numbers_for(463), symbols=PORT, kcore_path=tmp_path / "kcore",
        probe=ProbeRecorder(), query_probe=never,
    )
    assert result.confirmed and result.native.flags_rejected is True
