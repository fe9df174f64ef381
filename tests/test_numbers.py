"""Resolution of the move_phys_pages number: explicit > environment > headers."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TypedDict

import pytest

from movephys import arch
from movephys.arch import i386, x86_64
from movephys.syscall import numbers
from movephys.syscall.numbers import SyscallNumberError, resolve

UNISTD_64 = """\
#ifndef _ASM_UNISTD_64_H
#define _ASM_UNISTD_64_H

#define __NR_read 0
#define __NR_move_pages 279
#define __NR_mseal 462
#define __NR_move_phys_pages 463

#endif /* _ASM_UNISTD_64_H */
"""
UNISTD_32 = "#define __NR_move_pages 317\n#define __NR_move_phys_pages 463\n"
ASM_GENERIC = """\
#define __NR_mseal 462
__SYSCALL(__NR_mseal, sys_mseal)
#define __NR_move_phys_pages 463
__SYSCALL(__NR_move_phys_pages, sys_move_phys_pages)
#undef __NR_syscalls
#define __NR_syscalls 464
"""
NO_SYSCALL_64 = "#define __NR_read 0\n#define __NR_mseal 462\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def installed_headers(tmp_path: Path) -> Path:
    """A tree as ``make headers_install INSTALL_HDR_PATH=DIR`` leaves it."""
    write(tmp_path / "include/asm/unistd_64.h", UNISTD_64)
    write(tmp_path / "include/asm/unistd_32.h", UNISTD_32)
    return tmp_path


class SystemHeaders(TypedDict):
    native_abi: arch.Abi
    compat_abi: arch.Abi


def with_system_headers(native: list[str], compat: list[str]) -> SystemHeaders:
    """The x86_64 and i386 ABIs with their system headers at the paths given."""
    return {
        "native_abi": replace(x86_64.ABI, system_headers=tuple(native)),
        "compat_abi": replace(i386.ABI, system_headers=tuple(compat)),
    }


@pytest.fixture
def no_system_headers(tmp_path: Path) -> SystemHeaders:
    missing = str(tmp_path / "absent.h")
    return with_system_headers([missing], [missing])


def test_parse_unistd_reads_literal_defines_only() -> None:
    parsed = numbers.parse_unistd(UNISTD_64 + "#define __NR_x32 (__X32_SYSCALL_BIT + 512)\n")
    assert parsed == {"read": 0, "move_pages": 279, "mseal": 462, "move_phys_pages": 463}


def test_explicit_beats_environment_and_headers(installed_headers: Path) -> None:
    result = resolve(
        "470", kernel_headers=installed_headers, env={numbers.ENV_NATIVE: "471"}
    )
    assert (result.nr, result.native.source) == (470, "--syscall-nr")
    assert result.compat.nr == 463  # the compat number still comes from the headers


def test_environment_beats_headers(installed_headers: Path) -> None:
    env = {numbers.ENV_NATIVE: "0x1d8", numbers.ENV_COMPAT: "472"}
    result = resolve(kernel_headers=installed_headers, env=env)
    assert (result.nr, result.native.source) == (472, "$MOVEPHYS_SYSCALL_NR")
    assert (result.compat_nr, result.compat.source) == (472, "$MOVEPHYS_COMPAT_SYSCALL_NR")


def test_explicit_number_keeps_header_table(installed_headers: Path) -> None:
    result = resolve(462, kernel_headers=installed_headers, env={})
    assert result.native.table[462] == "mseal"


@pytest.mark.parametrize(
    "relative",
    [
        "include/asm/unistd_64.h",
        "asm/unistd_64.h",
        "arch/x86/include/generated/uapi/asm/unistd_64.h",
        "include/uapi/asm-generic/unistd.h",
    ],
    ids=["installed", "include-dir", "build-tree", "asm-generic"],
)
def test_kernel_headers_layouts(tmp_path: Path, relative: str) -> None:
    text = ASM_GENERIC if "generic" in relative else UNISTD_64
    header = write(tmp_path / relative, text)
    result = resolve(kernel_headers=tmp_path, env={})
    assert (result.nr, result.native.source) == (463, str(header))


def test_system_headers_used_without_kernel_headers(tmp_path: Path) -> None:
    native = write(tmp_path / "unistd_64.h", UNISTD_64)
    compat = write(tmp_path / "unistd_32.h", UNISTD_32)
    result = resolve(env={}, **with_system_headers([str(native)], [str(compat)]))
    assert (result.nr, result.compat_nr) == (463, 463)
    assert result.compat.source == str(compat)


def test_nothing_found_is_a_result(tmp_path: Path) -> None:
    native = write(tmp_path / "unistd_64.h", NO_SYSCALL_64)
    result = resolve(env={}, **with_system_headers([str(native)], []))
    assert result.nr is None and not result.native.found
    assert result.native.source == f"no __NR_move_phys_pages in {native}"
    assert result.native.table[462] == "mseal"
    assert result.compat.source == "no __NR_move_phys_pages in no header"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("abc", "--syscall-nr: 'abc' is not an integer syscall number"),
        ("4.5", "--syscall-nr: '4.5' is not an integer syscall number"),
        ("-1", "--syscall-nr: -1 is negative; syscall numbers are >= 0"),
        (-3, "--syscall-nr: -3 is negative; syscall numbers are >= 0"),
        ("0x80000000", "--syscall-nr: 2147483648 does not fit a syscall number (int)"),
    ],
    ids=["word", "float", "negative-text", "negative-int", "too-big"],
)
def test_bad_explicit_value_is_one_line_error(
    value: str | int, message: str, no_system_headers: SystemHeaders
) -> None:
    with pytest.raises(SyscallNumberError) as caught:
        resolve(value, env={}, **no_system_headers)
    assert str(caught.value) == message


def test_bad_environment_value_names_the_variable(no_system_headers: SystemHeaders) -> None:
    with pytest.raises(SyscallNumberError, match=r"^\$MOVEPHYS_SYSCALL_NR: 'x' is not"):
        resolve(env={numbers.ENV_NATIVE: "x"}, **no_system_headers)


def test_missing_kernel_headers_dir_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SyscallNumberError, match="is not a directory"):
        resolve(kernel_headers=tmp_path / "nope", env={})


def test_abi_by_machine_name() -> None:
    assert arch.by_name("x86_64").move_pages_nr == 279
    assert arch.by_name("i686").move_pages_nr == 317
    assert arch.by_name("aarch64").move_pages_nr == 239
    with pytest.raises(arch.UnknownAbi, match="sparc"):
        arch.by_name("sparc")
