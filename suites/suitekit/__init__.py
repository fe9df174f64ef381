"""Shared test logic of the conformance suite: producing pages, calling, verifying."""
