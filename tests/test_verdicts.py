"""The verdicts plugin: fail, error and skip by whose fault, not by pytest's phase."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

SAMPLE_SUITE = """
import pytest
from movephys.verdicts import KernelWrong, SetupBroken, broken
from movephys.changes.cpuset import CgroupError

def test_kernel_wrong():
    assert 2 == 3, "the kernel said 2, the spec expected 3"

def test_precondition_broke_in_the_call():
    broken("set-up: no THP formed although THP is enabled")

def test_cgroup_not_created():
    raise CgroupError(13, "creating /sys/fs/cgroup/x failed: Permission denied")

@pytest.fixture
def entry():
    raise KernelWrong("the i386 entry answers ENOSYS")

def test_fixture_found_the_kernel_wrong(entry):
    pass

def test_machine_lacks():
    pytest.skip("fewer than two memory nodes")
"""


@pytest.fixture
def outcomes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(test_sample=SAMPLE_SUITE)
    result = pytester.runpytest_subprocess("-p", "movephys.verdicts", "-rA")
    found = {}
    for line in result.outlines:
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "ERROR") and "::" in rest:
            found[rest.split("::", 1)[1].split(" ")[0]] = word
        elif word == "SKIPPED" and "fewer than two memory nodes" in rest:
            found["test_machine_lacks"] = word
    return found


def test_a_wrong_answer_fails(outcomes: dict[str, str]) -> None:
    assert outcomes["test_kernel_wrong"] == "FAILED"


def test_a_broken_precondition_is_an_error(outcomes: dict[str, str]) -> None:
    assert outcomes["test_precondition_broke_in_the_call"] == "ERROR"
    assert outcomes["test_cgroup_not_created"] == "ERROR"


def test_a_fixture_that_finds_the_kernel_wrong_fails_the_case(outcomes: dict[str, str]) -> None:
    assert outcomes["test_fixture_found_the_kernel_wrong"] == "FAILED"


def test_what_the_machine_lacks_is_a_skip(outcomes: dict[str, str]) -> None:
    assert outcomes["test_machine_lacks"] == "SKIPPED"
