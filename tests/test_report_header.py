"""The suite's report header says where the number came from and how it was confirmed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _header(*options: str) -> list[str]:
    # Every case deselected: the header is printed, no case runs.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "suites", "-p", "no:cacheprovider",
         "-k", "no_case_has_this_name", *options],
        capture_output=True, text=True, cwd=REPO, check=False, timeout=120,
    )
    return [line for line in result.stdout.splitlines() if line.startswith(("move_phys_pages",
                                                                            "compat entry"))]


def test_a_number_from_the_command_line_is_named_with_its_source() -> None:
    # 463 is confirmed against this host's kallsyms and table before any call;
    # on a kernel without the call that refuses it, and nothing is called.
    lines = _header("--syscall-nr", "463")
    assert lines[0] == "move_phys_pages: number 463 from --syscall-nr"
    assert lines[1].startswith(("move_phys_pages confirmed: ", "move_phys_pages not confirmed: "))


def test_collection_alone_prints_no_header() -> None:
    assert _header("--collect-only") == []
