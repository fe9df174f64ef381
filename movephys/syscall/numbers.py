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
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from movephys import arch

SYSCALL_NAME = "move_phys_pages"
ENV_NATIVE = "MOVEPHYS_SYSCALL_NR"
ENV_COMPAT = "MOVEPHYS_COMPAT_SYSCALL_NR"

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
    native_abi: arch.Abi | None = None,
    compat_abi: arch.Abi | None = None,
) -> SyscallNumbers:
    """Resolve both numbers in the documented order; see the module docstring.

    The header paths are those of the machine's ABIs unless given.
    """
    env = os.environ if env is None else env
    native_abi = native_abi or arch.host()
    compat_abi = compat_abi or arch.compat()
    root = None if kernel_headers is None else Path(kernel_headers)
    if root is not None and not root.is_dir():
        raise SyscallNumberError(f"--kernel-headers: {root} is not a directory")
    native_paths = _header_paths(native_abi, root)
    compat_paths = [] if compat_abi is None else _header_paths(compat_abi, root)

    native_headers = number_from_headers(native_paths)
    compat_headers = number_from_headers(compat_paths)
    native = _explicit(explicit, "--syscall-nr", env, ENV_NATIVE)
    compat = _explicit(explicit_compat, "--compat-syscall-nr", env, ENV_COMPAT)
    return SyscallNumbers(
        native=_with_table(native, native_headers) if native else native_headers,
        compat=_with_table(compat, compat_headers) if compat else compat_headers,
    )


def _header_paths(abi: arch.Abi, root: Path | None) -> list[Path]:
    if root is None:
        return [Path(path) for path in abi.system_headers]
    return [root / relative for relative in abi.headers_in_dir]
