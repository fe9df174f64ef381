"""The running kernel's build configuration, when the machine exposes it.

Read from /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-$(uname -r).
Missing everywhere is ``None``: callers then say what they could not learn.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from movephys.kconfig import KconfigError, parse_config


def config_paths() -> tuple[Path, ...]:
    return (Path("/proc/config.gz"), Path(f"/boot/config-{os.uname().release}"))


def read_config(paths: Iterable[Path] | None = None) -> tuple[Mapping[str, str], str] | None:
    """The first readable configuration and where it came from, else None."""
    for path in config_paths() if paths is None else paths:
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        text = gzip.decompress(raw) if path.suffix == ".gz" else raw
        try:
            return parse_config(text.decode(errors="replace"), str(path)), str(path)
        except KconfigError:
            continue  # not a configuration after all: try the next place
    return None


