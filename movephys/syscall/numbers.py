"""Where the move_phys_pages syscall number comes from.

Order: an explicit value (the suite's ``--syscall-nr``), then
``$MOVEPHYS_SYSCALL_NR``, then ``__NR_move_phys_pages`` in the kernel headers
given with ``--kernel-headers``, else the system's headers under /usr/include.
The same order holds for the i386 (compat) number, with
``--compat-syscall-nr`` and ``$MOVEPHYS_COMPAT_SYSCALL_NR``.

Finding nothing is a result (``nr is None`` with the places searched), never an
exception; a malformed value is a :class:`SyscallNumberError` with one line.
Nothing here calls a syscall: numbers are only confirmed by
:mod:`movephys.syscall.identity`.
"""

from __future__ import annotations

import os
import platform
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

SYSCALL_NAME = "move_phys_pages"
ENV_NATIVE = "MOVEPHYS_SYSCALL_NR"
ENV_COMPAT = "MOVEPHYS_COMPAT_SYSCALL_NR"

# move_pages is mainline; its numbers are ABI and never change.
MOVE_PAGES_NR: Mapping[str, int] = {"x86_64": 279, "i386": 317, "aarch64": 239}

# Relative to a --kernel-headers DIR: an installed header tree
# (make headers_install INSTALL_HDR_PATH=DIR or DIR/include), a build tree
# (generated uapi headers) or a source tree (asm-generic, native only).
NATIVE_HEADERS_IN_DIR = (
    "include/asm/unistd_64.h",
    "asm/unistd_64.h",
    "arch/x86/include/generated/uapi/asm/unistd_64.h",
    "include/uapi/asm-generic/unistd.h",
    "asm-generic/unistd.h",
)
COMPAT_HEADERS_IN_DIR = (
    "include/asm/unistd_32.h",
    "asm/unistd_32.h",
    "arch/x86/include/generated/uapi/asm/unistd_32.h",
)
SYSTEM_NATIVE_HEADERS = (
    "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
    "/usr/include/asm/unistd_64.h",
    "/usr/include/asm-generic/unistd.h",
)
SYSTEM_COMPAT_HEADERS = (
    "/usr/include/x86_64-linux-gnu/asm/unistd_32.h",
    "/usr/include/i386-linux-gnu/asm/unistd_32.h",
    "/usr/include/asm/unistd_32.h",
)

_NR_DEFINE = re.compile(r"^\s*#\s*define\s+__NR_(\w+)\s+\(?\s*(0[xX][0-9a-fA-F]+|\d+)\s*\)?\s*$")


class SyscallNumberError(ValueError):
    """A syscall number or header directory given by the user is unusable (one line)."""


@dataclass(frozen=True)
class NumberSource:
    """One resolved number (or its absence) and where it came from."""

    nr: int | None
    source: str  # "--syscall-nr", "$MOVEPHYS_SYSCALL_NR", a header path, or what was searched
    # Every __NR_ name in the header table that was read, so identity can tell
    # whether the number names another syscall there.
    table: Mapping[int, str] = field(default_factory=dict, compare=False, repr=False)

    @property
    def found(self) -> bool:
        return self.nr is not None


@dataclass(frozen=True)
class SyscallNumbers:
    """The native (x86_64 / asm-generic) and compat (i386) numbers of move_phys_pages."""

    native: NumberSource
    compat: NumberSource

    @property
    def nr(self) -> int | None:
        return self.native.nr

    @property
    def source(self) -> str:
        return self.native.source

    @property
    def compat_nr(self) -> int | None:
        return self.compat.nr


def parse_number(text: str, origin: str) -> int:
    """A syscall number from user input (decimal or 0x hex), else a one-line error."""
    value = text.strip()
    try:
        number = int(value, 0)
    except ValueError:
        raise SyscallNumberError(
            f"{origin}: {text!r} is not an integer syscall number"
        ) from None
    if number < 0:
        raise SyscallNumberError(f"{origin}: {number} is negative; syscall numbers are >= 0")
    if number >= 1 << 31:
        raise SyscallNumberError(f"{origin}: {number} does not fit a syscall number (int)")
    return number


def parse_unistd(text: str) -> dict[str, int]:
    """Every ``#define __NR_name value`` with a literal value in a unistd header."""
    numbers: dict[str, int] = {}
    for line in text.splitlines():
        match = _NR_DEFINE.match(line)
        if match:
            numbers.setdefault(match.group(1), int(match.group(2), 0))
    return numbers


def _by_number(names: Mapping[str, int]) -> dict[int, str]:
    table: dict[int, str] = {}
    for name, number in names.items():
        table.setdefault(number, name)
    return table


def number_from_headers(candidates: Iterable[Path]) -> NumberSource:
    """``__NR_move_phys_pages`` from the first readable header among ``candidates``."""
    searched: list[str] = []
    first_table: dict[int, str] | None = None
    for path in candidates:
        try:
            names = parse_unistd(path.read_text(errors="replace"))
        except OSError:
            searched.append(str(path))
            continue
        if first_table is None:
            first_table = _by_number(names)
        if SYSCALL_NAME in names:
            return NumberSource(names[SYSCALL_NAME], str(path), _by_number(names))
        searched.append(str(path))
    where = ", ".join(searched) if searched else "no header"
    return NumberSource(None, f"no __NR_{SYSCALL_NAME} in {where}", first_table or {})


def _explicit(
    value: int | str | None, origin: str, env: Mapping[str, str], env_name: str
) -> NumberSource | None:
    if value is not None:
        return NumberSource(parse_number(str(value), origin), origin)
    if env.get(env_name, "").strip():
        return NumberSource(parse_number(env[env_name], f"${env_name}"), f"${env_name}")
    return None


def _with_table(chosen: NumberSource, headers: NumberSource) -> NumberSource:
    """An explicit number keeps the header table so identity can detect collisions."""
    return NumberSource(chosen.nr, chosen.source, headers.table)


def resolve(
    explicit: int | str | None = None,
    kernel_headers: str | os.PathLike[str] | None = None,
    *,
    explicit_compat: int | str | None = None,
    env: Mapping[str, str] | None = None,
    system_native: Iterable[str] = SYSTEM_NATIVE_HEADERS,
    system_compat: Iterable[str] = SYSTEM_COMPAT_HEADERS,
) -> SyscallNumbers:
    """Resolve both numbers in the documented order; see the module docstring."""
    env = os.environ if env is None else env
    if kernel_headers is not None:
        root = Path(kernel_headers)
        if not root.is_dir():
            raise SyscallNumberError(f"--kernel-headers: {root} is not a directory")
        native_paths = [root / rel for rel in NATIVE_HEADERS_IN_DIR]
        compat_paths = [root / rel for rel in COMPAT_HEADERS_IN_DIR]
    else:
        native_paths = [Path(p) for p in system_native]
        compat_paths = [Path(p) for p in system_compat]

    native_headers = number_from_headers(native_paths)
    compat_headers = number_from_headers(compat_paths)
    native = _explicit(explicit, "--syscall-nr", env, ENV_NATIVE)
    compat = _explicit(explicit_compat, "--compat-syscall-nr", env, ENV_COMPAT)
    return SyscallNumbers(
        native=_with_table(native, native_headers) if native else native_headers,
        compat=_with_table(compat, compat_headers) if compat else compat_headers,
    )


def move_pages_nr(machine: str | None = None) -> int:
    """The mainline move_pages number for this machine (or ``machine``)."""
    arch = machine or platform.machine()
    if arch in ("i686", "i586", "i486"):
        arch = "i386"
    try:
        return MOVE_PAGES_NR[arch]
    except KeyError:
        raise SyscallNumberError(f"no move_pages number known for machine {arch!r}") from None
