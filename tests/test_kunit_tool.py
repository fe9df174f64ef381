"""Finding the kernel's kunit_parser: a skip on a developer's machine, a failure in CI."""

from __future__ import annotations

from pathlib import Path

import kunit_tool
import pytest


@pytest.fixture
def no_parser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setattr(kunit_tool, "TOOL_DIR", tmp_path)
    return tmp_path


def test_without_the_parser_the_check_skips(no_parser: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(kunit_tool.REQUIRE, raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"no kunit_parser.py in {no_parser}"):
        kunit_tool.kunit_parser()


def test_without_the_parser_the_check_fails_where_it_is_required(
        no_parser: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(kunit_tool.REQUIRE, "1")
    with pytest.raises(pytest.fail.Exception, match="MOVEPHYS_REQUIRE_KUNIT=1: no kunit_parser"):
        kunit_tool.kunit_parser()

