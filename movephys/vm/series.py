"""The kernel lines the reference series is carried on.

Each line has its own source tarball (Debian's linux-source-<line>), its
own port of the patches, and may need kconfig options on top of
base.config where its Kconfig differs. Everything else (the suite, the
spec, the runner) is shared: the suite learns the syscall number from the
kernel it runs on.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from movephys.vm.config import KERNEL_DIR
from movephys.vm.errors import RunnerError

TARBALL_DIR = Path("/usr/src")


@dataclass(frozen=True)
class Series:
    name: str  # the kernel line, as in Debian's linux-source-<name>
    patch_dir: Path
    fragments: tuple[Path, ...] = ()  # after base.config, before debug.config

    @property
    def package(self) -> str:
        return f"linux-source-{self.name}"

    @property
    def tarball(self) -> Path:
        return TARBALL_DIR / f"{self.package}.tar.xz"


SERIES: dict[str, Series] = {
    "6.12": Series("6.12", KERNEL_DIR / "patches"),
    "6.1": Series("6.1", KERNEL_DIR / "patches-6.1",
                  (KERNEL_DIR / "config" / "series-6.1.config",)),
}
DEFAULT_SERIES = "6.12"


def known() -> str:
    return ", ".join(sorted(SERIES, key=lambda name: tuple(int(part) for part in name.split("."))))


def lookup(name: str) -> Series:
    """The series of kernel line @name; an unknown line is a RunnerError."""
    try:
        return SERIES[name]
    except KeyError:
        raise RunnerError(f"unknown kernel series {name!r} (known: {known()})") from None


def of_tarball(path: Path) -> Series | None:
    """The series whose default tarball @path is, if any."""
    return next((series for series in SERIES.values() if series.tarball == path), None)
