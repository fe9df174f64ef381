"""The kernel's own KTAP parser (tools/testing/kunit/kunit_parser.py), for checking our KTAP.

Found through $KUNIT_TOOL_DIR, else in the source of any kernel the runner
has built (its cache), which CI builds before the unit tests run. Without
it the checks skip, except under MOVEPHYS_REQUIRE_KUNIT=1 (set by .ci/test),
where they fail: in CI the check must run, never quietly stop running.
"""

from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

from movephys import cache

RELATIVE = Path("tools/testing/kunit")
REQUIRE = "MOVEPHYS_REQUIRE_KUNIT"


def kunit_tool_dir() -> Path | None:
    if explicit := os.environ.get("KUNIT_TOOL_DIR"):
        return Path(explicit)
    for source in sorted((cache.cache_dir() / "kernels").glob("*/src")):
        if (source / RELATIVE / "kunit_parser.py").is_file():
            return source / RELATIVE
    return None


# Found at import: pytester gives each inner run a HOME (and so a cache) of its own.
TOOL_DIR = kunit_tool_dir()


def kunit_parser() -> ModuleType:
    """kunit_parser, imported; a skip (a failure under $MOVEPHYS_REQUIRE_KUNIT=1) without it."""
    tool_dir = TOOL_DIR
    if tool_dir is None or not (tool_dir / "kunit_parser.py").is_file():
        reason = (f"no kunit_parser.py in {tool_dir or cache.cache_dir() / 'kernels'} "
                  "(build a kernel with python -m movephys.vm build, or set KUNIT_TOOL_DIR)")
        if os.environ.get(REQUIRE) == "1":
            pytest.fail(f"{REQUIRE}=1: {reason}", pytrace=False)
        pytest.skip(reason)
    sys.path.insert(0, str(tool_dir))
    try:
        return importlib.import_module("kunit_parser")
    finally:
        sys.path.remove(str(tool_dir))
