"""Kconfig fragments: parse them, merge them, and check a built .config."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from movephys.locations import data_root
from movephys.vm.errors import RunnerError

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")

KERNEL_DIR = data_root() / "kernel"
BASE_FRAGMENT = KERNEL_DIR / "config" / "base.config"
DEBUG_FRAGMENT = KERNEL_DIR / "config" / "debug.config"


def parse_config(text: str, origin: str = "<text>") -> dict[str, str]:
    """Map each option to its value; "# CONFIG_X is not set" maps to "n"."""
    options: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if match := _SET.match(line):
            options[match[1]] = match[2]
        elif match := _UNSET.match(line):
            options[match[1]] = "n"
        elif not line.startswith("#"):
            raise RunnerError(f"{origin}:{number}: not a kconfig line: {line!r}")
    return options


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


def render_fragment(options: Mapping[str, str]) -> str:
    lines = [
        f"# {name} is not set" if value == "n" else f"{name}={value}"
        for name, value in options.items()
    ]
    return "\n".join(lines) + "\n"


def unmet_options(requested: Mapping[str, str], actual: Mapping[str, str]) -> list[str]:
    """Requested options that the resolved .config did not keep, as readable lines."""
    unmet = []
    for name, wanted in requested.items():
        got = actual.get(name, "n")
        if got != wanted:
            unmet.append(f"{name}={wanted} (got {got})")
    return unmet
