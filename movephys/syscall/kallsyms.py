"""Kernel symbols from /proc/kallsyms, as text so tests can feed recorded output."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from movephys import arch

KALLSYMS = "/proc/kallsyms"


class KallsymsError(OSError):
    """/proc/kallsyms could not be read (one-line reason)."""


@dataclass(frozen=True)
class Kallsyms:
    """Symbol names and addresses of the running kernel (core kernel first, then modules)."""

    addresses: dict[str, int] = field(default_factory=dict)
    names_at: dict[int, list[str]] = field(default_factory=dict, repr=False)

    def __contains__(self, name: object) -> bool:
        return name in self.addresses

    def address(self, name: str) -> int | None:
        return self.addresses.get(name)

    @property
    def addresses_hidden(self) -> bool:
        """True when kptr_restrict shows every address as zero (not root)."""
        return bool(self.addresses) and not any(self.addresses.values())

    def syscall_symbol_at(self, address: int) -> str | None:
        """The syscall entry symbol (``__x64_sys_*``, ``__ia32_*``) at ``address``, else None."""
        for name in self.names_at.get(address, []):
            if name.startswith(arch.entry_prefixes()):
                return name
        return None


def parse_kallsyms(text: str) -> Kallsyms:
    """Parse ``address type name [module]`` lines; the first definition of a name wins."""
    addresses: dict[str, int] = {}
    names_at: dict[int, list[str]] = {}
    for line in text.splitlines():
        parts = line.split()
        if len(parts) < 3:
            continue
        try:
            address = int(parts[0], 16)
        except ValueError:
            continue
        name = parts[2]
        if name not in addresses:
            addresses[name] = address
            names_at.setdefault(address, []).append(name)
    return Kallsyms(addresses, names_at)


def read_kallsyms(path: str | Path = KALLSYMS) -> Kallsyms:
    try:
        return parse_kallsyms(Path(path).read_text(errors="replace"))
    except OSError as error:
        raise KallsymsError(f"{path} unreadable ({error.strerror}; run as root)") from None
