"""Where movephys finds the files it needs at run time, and where a run writes.

The spec tables, the kernel series, the kconfig fragments and the suite are
edited at the top of a checkout. setup.py copies them, in the same layout,
into movephys/_data of the wheel (and so of an installed sdist), so that a
reader names a file the same way wherever the package runs from:
``data_root() / "kernel" / "patches"``. This module is the one place that
chooses between the two.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
# setup.py (BuildPyWithData) writes the copy here; the two names must agree.
SHIPPED_DIR = PACKAGE_DIR / "_data"
# Only a checkout has the spec beside the package: site-packages never does.
CHECKOUT_MARKER = Path("spec") / "syscall.toml"


def checkout() -> Path | None:
    """The checkout the package is imported from, or None when it is installed."""
    candidate = PACKAGE_DIR.parent
    return candidate if (candidate / CHECKOUT_MARKER).is_file() else None


def data_root() -> Path:
    """The directory holding spec/, kernel/, suites/ and conftest.py: the
    checkout when running from one (so edits count at once), else the copy
    the wheel carries."""
    return checkout() or SHIPPED_DIR


def build_dir() -> Path:
    """Where results go by default: the checkout's build/, else ./build, never
    into site-packages."""
    return (checkout() or Path.cwd()) / "build"
