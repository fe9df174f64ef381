"""Conformance suite and man page for the proposed move_phys_pages syscall."""

__version__ = "0.1.0"
