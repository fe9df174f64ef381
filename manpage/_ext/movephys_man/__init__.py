"""Sphinx extension rendering move_phys_pages.2 (and its HTML twin) from spec/.

Used by manpage/conf.py (man builder) and docs/conf.py (HTML builder), so
there is one renderer. It adds the ``mpp-*`` directives, the ``:fn:`` role
(a function name followed by "()"), the synopsis node, and, for the man
builder, a translator that follows man-pages(7).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.config import Config

from movephys.spec import SpecError, spec_dir

from .directives import DIRECTIVES
from .specsource import current_spec
from .synopsis_node import depart_synopsis_html, prerendered, synopsis, visit_synopsis_html
from .translator import ManPageTranslator


def function_role(
    name: str,
    rawtext: str,
    text: str,
    lineno: int,
    inliner: object,
    options: dict[str, Any] | None = None,
    content: list[str] | None = None,
) -> tuple[list[nodes.Node], list[nodes.system_message]]:
    """:fn:`move_phys_pages` -> bold name, then "()" in roman (man-pages style)."""
    # The class tells the man translator to keep the name from hyphenating.
    return [nodes.strong(text, text, classes=["function"]), nodes.Text("()")], []


def configure_from_spec(app: Sphinx, config: Config) -> None:
    """Fail on a malformed spec with its one-line message; name the page from it."""
    try:
        spec = current_spec(Path(config.movephys_spec_dir))
    except SpecError as error:
        # SystemExit passes Sphinx's crash report by: the user sees one line.
        raise SystemExit(f"spec error: {error}") from None
    meta = spec.meta
    config.man_pages = [(config.root_doc, meta.name, meta.summary, [], meta.section)]


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("movephys_spec_dir", str(spec_dir()), "env", types=frozenset({str}))
    app.add_node(synopsis, html=(visit_synopsis_html, depart_synopsis_html))
    app.add_node(prerendered, html=(visit_synopsis_html, depart_synopsis_html))
    app.add_role("fn", function_role)
    for name, directive in DIRECTIVES.items():
        app.add_directive(name, directive)
    app.set_translator("man", ManPageTranslator)
    app.connect("config-inited", configure_from_spec)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
