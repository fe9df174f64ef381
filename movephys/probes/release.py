"""The running kernel's version, from uname(2): (major, minor) of "6.12.117-amd64"."""

from __future__ import annotations

import os
import re

_VERSION = re.compile(r"^(\d+)\.(\d+)")


class ReleaseError(ValueError):
    """A release string that does not start with major.minor (one line)."""


def parse_release(release: str) -> tuple[int, int]:
    match = _VERSION.match(release)
    if match is None:
        raise ReleaseError(f"kernel release {release!r} does not start with major.minor")
    return int(match[1]), int(match[2])


def kernel_version() -> tuple[int, int]:
    return parse_release(os.uname().release)
