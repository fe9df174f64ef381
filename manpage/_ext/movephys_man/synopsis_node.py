"""Nodes carrying their man(7) lines pre-rendered: the SYNOPSIS, and any
other idiom man-pages spells one fixed way (the LIBRARY line)."""

from __future__ import annotations

from docutils import nodes


# docutils names node classes in lowercase.
class synopsis(nodes.General, nodes.Element):
    """Children are a literal block for HTML; ``roff_lines`` is the man form."""


class prerendered(nodes.General, nodes.Element):
    """Children are what HTML shows; ``roff_lines`` is the man form."""


def visit_synopsis_html(translator: object, node: synopsis) -> None:
    """HTML shows the literal block child as it is."""


def depart_synopsis_html(translator: object, node: synopsis) -> None:
    """Nothing to close."""
