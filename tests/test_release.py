"""The running kernel's (major, minor) from its release string."""

from __future__ import annotations

import pytest

from movephys.probes import release


@pytest.mark.parametrize(
    ("text", "expected"),
    [("6.12.117-amd64", (6, 12)), ("6.1.192", (6, 1)), ("6.18.0-rc3+", (6, 18))],
    ids=["debian", "lts", "rc"],
)
def test_parse_release(text: str, expected: tuple[int, int]) -> None:
    assert release.parse_release(text) == expected


def test_unparsable_release_is_one_line() -> None:
    with pytest.raises(release.ReleaseError, match="does not start with major.minor"):
        release.parse_release("custom")


def test_this_kernel_has_a_version() -> None:
    assert release.kernel_version() >= (2, 6)
