"""The conformance suite's own run time: ``pytest suites`` serial and with ``-n auto``.

Each run is a fresh interpreter, timed from start to exit, as a user would
see it; the outcome is pytest's last summary line.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

SUITE_CSV = "suite_time.csv"
CHECKOUT = Path(__file__).resolve().parents[1]
MODES: dict[str, tuple[str, ...]] = {"serial": ("-n", "0"), "-n auto": ("-n", "auto")}


@dataclass(frozen=True)
class SuiteRun:
    mode: str
    wall_s: float
    exit_code: int
    outcome: str  # pytest's final line, e.g. "98 passed, 4 skipped in 61.2s"


def outcome_line(output: str) -> str:
    """pytest's final summary line (with any '=' framing removed)."""
    for line in reversed(output.splitlines()):
        text = line.strip().strip("=").strip()
        if text and any(word in text for word in ("passed", "failed", "skipped", "error",
                                                  "no tests ran", "deselected")):
            return text
    return "no pytest summary line"


def pytest_command(mode: str, pytest_args: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "pytest", "suites", "-q", "-p", "no:cacheprovider",
            *MODES[mode], *pytest_args]


def time_suite(mode: str, pytest_args: Sequence[str], timeout_s: float = 3600.0) -> SuiteRun:
    start = time.perf_counter()
    try:
        done = subprocess.run(pytest_command(mode, pytest_args), cwd=CHECKOUT, text=True,
                              capture_output=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        return SuiteRun(mode, time.perf_counter() - start, -1, f"timed out after {timeout_s:.0f} s")
    wall = time.perf_counter() - start
    return SuiteRun(mode, wall, done.returncode, outcome_line(done.stdout + done.stderr))
