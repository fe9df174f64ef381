"""The running kernel's build configuration, when the machine exposes it.

Read from /proc/config.gz (CONFIG_IKCONFIG_PROC) or /boot/config-$(uname -r).
Missing everywhere is ``None``: callers then say what they could not learn.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Iterable, Mapping
from pathlib import Path


def config_paths() -> tuple[Path, ...]:
    return (Path("/proc/config.gz"), Path(f"/boot/config-{os.uname().release}"))


def parse_config(text: str) -> dict[str, str]:
    """``CONFIG_X=value`` lines as {"CONFIG_X": "value"}; ``# CONFIG_X is not set`` as "n"."""
    options: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("CONFIG_") and "=" in line:
            name, _, value = line.partition("=")
            options[name] = value.strip('"')
        elif line.startswith("# CONFIG_") and line.endswith(" is not set"):
            options[line[2:].split()[0]] = "n"
    return options


def read_config(paths: Iterable[Path] | None = None) -> tuple[Mapping[str, str], str] | None:
    """The first readable configuration and where it came from, else None."""
    for path in config_paths() if paths is None else paths:
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        text = gzip.decompress(raw) if path.suffix == ".gz" else raw
        return parse_config(text.decode(errors="replace")), str(path)
    return None


def enabled(options: Mapping[str, str], name: str) -> bool:
    return options.get(name) in ("y", "m")
