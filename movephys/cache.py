"""Where movephys keeps what it builds (kernels, the 32-bit helper, mutant workspaces).

$MOVEPHYS_CACHE, else $XDG_CACHE_HOME/movephys, else ~/.cache/movephys.
The VM runner sets $MOVEPHYS_CACHE in the guest, whose home may be read-only.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path


def cache_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    if env.get("MOVEPHYS_CACHE"):
        return Path(env["MOVEPHYS_CACHE"])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "movephys"
    return Path(env.get("HOME") or Path.home()) / ".cache" / "movephys"
