"""32-bit callers: availability reasons, the helper build, and mainline move_pages through both."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from movephys import arch, cache, kconfig, memory
from movephys.syscall import compat

CONFIG_ON = kconfig.parse_config("CONFIG_IA32_EMULATION=y\n")


@pytest.mark.parametrize(
    ("config", "cmdline", "entries", "reason"),
    [
        (CONFIG_ON, "root=/dev/vda", True, None),
        (None, "", None, None),
        (
            kconfig.parse_config("# CONFIG_IA32_EMULATION is not set\n"),
            "",
            False,
            "kernel built without CONFIG_IA32_EMULATION",
        ),
        (
            CONFIG_ON,
            "quiet ia32_emulation=false",
            True,
            "IA32 emulation disabled on the kernel command line (ia32_emulation=false)",
        ),
        (
            kconfig.parse_config(
                "CONFIG_IA32_EMULATION=y\nCONFIG_IA32_EMULATION_DEFAULT_DISABLED=y\n"
            ),
            "",
            True,
            "IA32 emulation off by default (CONFIG_IA32_EMULATION_DEFAULT_DISABLED=y)",
        ),
        (
            kconfig.parse_config(
                "CONFIG_IA32_EMULATION=y\nCONFIG_IA32_EMULATION_DEFAULT_DISABLED=y\n"
            ),
            "ia32_emulation=1",
            True,
            None,
        ),
        (None, "", False, "no __ia32_sys_* entries in /proc/kallsyms (kernel without IA32 "
         "emulation)"),
    ],
    ids=["on", "unknown", "not-built", "cmdline-off", "default-off", "default-off-cmdline-on",
         "no-entries"],
)
def test_emulation_reason(
    config: dict[str, str] | None, cmdline: str, entries: bool | None, reason: str | None
) -> None:
    assert compat.emulation_reason(config, cmdline, entries) == reason


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"MOVEPHYS_CACHE": "/x/c", "XDG_CACHE_HOME": "/y"}, "/x/c"),
        ({"XDG_CACHE_HOME": "/y"}, "/y/movephys"),
        ({"HOME": "/h"}, "/h/.cache/movephys"),
    ],
    ids=["explicit", "xdg", "default"],
)
def test_one_cache_dir(env: dict[str, str], expected: str) -> None:
    assert cache.cache_dir(env) == Path(expected)


def test_unknown_path_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown compat path 'x32'"):
        compat.unavailable_reason("x32")


def test_stub_matches_its_assembly() -> None:
    """Callee-saved pushes, int $0x80, pops and ret: nothing else touches the stack."""
    assert compat.INT80_STUB[:2] == b"\x53\x55" and compat.INT80_STUB[-1:] == b"\xc3"
    assert b"\xcd\x80" in compat.INT80_STUB
    assert len(compat.INT80_STUB) == 35


def helper_reason() -> str | None:
    return compat.unavailable_reason("ia32_binary")


def test_helper_is_built_once_per_source(tmp_path: Path) -> None:
    try:
        first = compat.build_helper(tmp_path)
    except compat.CompatUnavailable as error:
        pytest.skip(str(error))
    assert first.name.startswith("compat32-") and os.access(first, os.X_OK)
    assert compat.build_helper(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == [first.name]


@pytest.mark.skipif(helper_reason() is not None, reason=str(helper_reason()))
def test_helper_refuses_a_malformed_request() -> None:
    with pytest.raises(compat.HelperError, match="unknown key: colour=blue"):
        compat.run_helper(["colour=blue"])


@pytest.mark.parametrize("path", compat.PATHS)
def test_move_pages_compat_fix_on_own_pages(path: str) -> None:
    """Mainline since 6.6: a 32-bit move reads 32-bit pointers, so every page is found."""
    reason = compat.unavailable_reason(path)
    if reason is not None:
        pytest.skip(reason)
    result = compat.move_pages_own(path, 3)
    assert result.query.ret == 0 and all(node >= 0 for node in result.query.status)
    assert result.move.ret == 0 and result.move.status == result.query.status
    assert all(address < 1 << 32 for address in result.addresses)


def test_int80_reads_32bit_elements() -> None:
    """A uint64_t array seen through int $0x80: element 1 is the high half of element 0."""
    reason = compat.unavailable_reason("int80")
    if reason is not None:
        pytest.skip(reason)
    with memory.anonymous(arch.PAGE_SIZE, below_4g=True) as page:
        page.touch()
        as_u64 = page.addr.to_bytes(8, "little") * 2
        result = compat.move_pages(0, 2, as_u64, None, 2, 0, path="int80")
    assert result.ret == 0
    assert result.status[0] >= 0
    assert result.status[1] == -errno.EFAULT  # address 0: the zero high half


def test_int80_whole_call_error_sets_errno() -> None:
    reason = compat.unavailable_reason("int80")
    if reason is not None:
        pytest.skip(reason)
    result = compat.move_pages(0, 1, b"\0\0\0\0", None, 1, -1, path="int80")
    assert (result.ret, result.errno) == (-1, errno.EINVAL)
