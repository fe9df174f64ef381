"""Sphinx configuration of the HTML docs: python -m sphinx -b html -W docs build/docs"""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
for path in (REPO, REPO / "manpage" / "_ext", HERE / "_ext"):
    sys.path.insert(0, str(path))

import movephys  # noqa: E402

project = "movephys"
author = "movephys developers"
copyright = "movephys developers"  # Sphinx's name, shadowing the builtin
version = release = movephys.__version__
extensions = ["movephys_docs"]
root_doc = "index"
exclude_patterns = ["_build", "_ext", "architecture.md", "case-catalog.md"]
html_static_path = ["_static"]
html_theme = "alabaster"
html_title = f"movephys {version}"
# :manpage:`page(n)` links to the Linux man-pages project; write
# :manpage:`!move_phys_pages(2)` for a page man7.org does not have.
manpages_url = "https://man7.org/linux/man-pages/man{section}/{page}.{section}.html"
