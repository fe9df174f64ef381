"""Sphinx configuration: build/man/move_phys_pages.2 from spec/ and the page skeleton.

Build with: python -m sphinx -b man -W manpage build/man
"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE / "_ext"))

import movephys  # noqa: E402

project = "movephys"
author = "movephys developers"
copyright = "movephys developers"  # Sphinx's name, shadowing the builtin
version = release = movephys.__version__
# movephys_man sets man_pages from spec/syscall.toml (name, summary, section).
extensions = ["movephys_man"]
root_doc = "index"
exclude_patterns = ["_build", "examples"]
man_show_urls = False
