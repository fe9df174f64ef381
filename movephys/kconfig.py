"""The kconfig text format: ``CONFIG_X=value`` and ``# CONFIG_X is not set`` lines.

One parser for both readers of it: the running kernel's configuration
(:mod:`movephys.probes.kconfig`) and the runner's fragments
(:mod:`movephys.vm.config`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

_SET = re.compile(r"^(CONFIG_[A-Za-z0-9_]+)=(.*)$")
_UNSET = re.compile(r"^# (CONFIG_[A-Za-z0-9_]+) is not set$")


class KconfigError(ValueError):
    """A line that is neither an option, an unset option, a comment nor blank (one line)."""


def parse_config(text: str, origin: str = "<text>") -> dict[str, str]:
    """Map each option to its value as written; "# CONFIG_X is not set" maps to "n"."""
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
            raise KconfigError(f"{origin}:{number}: not a kconfig line: {line!r}")
    return options


def render_config(options: Mapping[str, str]) -> str:
    lines = [
        f"# {name} is not set" if value == "n" else f"{name}={value}"
        for name, value in options.items()
    ]
    return "\n".join(lines) + "\n"


def enabled(options: Mapping[str, str], name: str) -> bool:
    return options.get(name) in ("y", "m")
