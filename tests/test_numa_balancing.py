"""Disabling automatic NUMA balancing and restoring it (on a stand-in knob file)."""

from __future__ import annotations

from pathlib import Path

import pytest

from movephys.changes import numa_balancing


@pytest.fixture
def knob(tmp_path: Path) -> Path:
    path = tmp_path / "numa_balancing"
    path.write_text("1\n")
    return path


def test_disable_then_restore(knob: Path) -> None:
    saved = numa_balancing.disable(knob)
    assert knob.read_text() == "0"
    assert saved.note == f"{knob} was 1, now 0"
    numa_balancing.restore(saved)
    assert knob.read_text() == "1"


def test_context_restores_after_failure(knob: Path) -> None:
    with pytest.raises(RuntimeError), numa_balancing.disabled(knob):
        assert knob.read_text() == "0"
        raise RuntimeError("case failed")
    assert knob.read_text() == "1"


def test_absent_knob_is_nothing_to_do(tmp_path: Path) -> None:
    saved = numa_balancing.disable(tmp_path / "absent")
    assert saved.value is None and "absent" in saved.note
    numa_balancing.restore(saved)
    assert not (tmp_path / "absent").exists()


def test_already_off_is_left_alone(knob: Path) -> None:
    knob.write_text("0\n")
    saved = numa_balancing.disable(knob)
    numa_balancing.restore(saved)
    assert (saved.value, knob.read_text()) == (None, "0\n")
