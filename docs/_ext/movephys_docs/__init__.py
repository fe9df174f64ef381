"""Docs-only additions to the shared movephys_man extension: the matrices."""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx

from .matrix import ConformanceMatrixDirective
from .ports import PortsMatrixDirective


def setup(app: Sphinx) -> dict[str, Any]:
    app.setup_extension("movephys_man")
    app.add_directive("mpp-conformance-matrix", ConformanceMatrixDirective)
    app.add_directive("mpp-ports-matrix", PortsMatrixDirective)
    app.add_css_file("matrix.css")
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
