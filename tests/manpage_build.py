"""Building move_phys_pages.2 from a test: the command tox runs, in a temp dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANPAGE_DIR = REPO / "manpage"
PAGE_NAME = "move_phys_pages.2"


def build_man_page(out_dir: Path, source_date_epoch: str | None = None) -> Path:
    """Run `python -m sphinx -b man -W manpage OUT`; fail with Sphinx's output."""
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    if source_date_epoch is not None:
        env["SOURCE_DATE_EPOCH"] = source_date_epoch
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "man", "-W", "-q", "-E"]
        + [str(MANPAGE_DIR), str(out_dir)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"sphinx man build failed:\n{result.stdout}{result.stderr}")
    return out_dir / PAGE_NAME
