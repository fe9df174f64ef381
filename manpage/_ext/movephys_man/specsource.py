"""The spec the pages render, loaded once per set of file versions."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from movephys.spec import Spec, load_spec


@lru_cache(maxsize=4)
def _load(directory: Path, stamps: tuple[int, ...]) -> Spec:
    return load_spec(directory)


def current_spec(directory: Path) -> Spec:
    """Reload only when a spec file changed (an incremental build edits them)."""
    stamps = tuple(path.stat().st_mtime_ns for path in sorted(directory.glob("*.toml")))
    return _load(directory, stamps)
