"""Kconfig fragments: parse them, merge them, and check a built .config."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from movephys import kconfig
from movephys.locations import data_root
from movephys.vm.errors import RunnerError

KERNEL_DIR = data_root() / "kernel"
BASE_FRAGMENT = KERNEL_DIR / "config" / "base.config"
DEBUG_FRAGMENT = KERNEL_DIR / "config" / "debug.config"


def parse_config(text: str, origin: str = "<text>") -> dict[str, str]:
    """The options of a fragment or a .config; a line of neither is a RunnerError."""
    try:
        return kconfig.parse_config(text, origin)
    except kconfig.KconfigError as error:
        raise RunnerError(str(error)) from None


def load_fragments(paths: Iterable[Path]) -> dict[str, str]:
    """Merge fragments in order; a later fragment overrides an earlier one."""
    merged: dict[str, str] = {}
    for path in paths:
        try:
            text = path.read_text()
        except OSError as error:
            raise RunnerError(f"cannot read kconfig fragment {path}: {error.strerror}") from None
        merged.update(parse_config(text, str(path)))
    return merged


def unmet_options(requested: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    """Requested options that the resolved .config did not keep, as readable lines."""
    unmet = []
    for name, wanted in requested.items():
        got = actual.get(name, "n")
        if got != wanted:
            unmet.append(f"{name}={wanted} (got {got})")
    return unmet
