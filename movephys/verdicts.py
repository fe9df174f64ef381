"""pytest plugin: the three verdicts, as LTP keeps them: fail, error (broken set-up), skip.

- The kernel answered wrong: a failure (TFAIL), even when a fixture is the
  first to see it, e.g. an i386 entry that is not the call: fixtures raise
  :class:`KernelWrong`, which the suite's conftest reports as the case's
  failure, not as an error of its set-up.
- The harness could not build the case's precondition (no THP formed
  although THP is enabled, a cgroup that could not be created, a page that
  did not land on the node it was placed on): an error (TBROK). Cases raise
  :class:`SetupBroken`, reported as a set-up error (JUnit <error>, a KTAP
  diagnostic saying "set-up broke") even when raised during the call.
  The harness's own machinery failing (:data:`HARNESS_ERRORS`) counts the same.
- The machine lacks something: a skip with the precise reason (pytest.skip).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import NoReturn

import pytest

from movephys.changes.child import ChildFailed
from movephys.changes.cpuset import CgroupError
from movephys.syscall.compat import HelperError


class SetupBroken(Exception):
    """The case could not build its precondition; the message says which and why."""


class KernelWrong(AssertionError):
    """The kernel under test is wrong, found while preparing the case."""


def broken(message: str) -> NoReturn:
    raise SetupBroken(message)


# Failures of the harness's own machinery: a cgroup it could not create, a
# 32-bit helper that did not answer, a child that died setting up. Reported
# like SetupBroken.
HARNESS_ERRORS: tuple[type[BaseException], ...] = (
    SetupBroken, CgroupError, HelperError, ChildFailed
)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Report by whose fault a case did not pass, not by the phase it was in."""
    report = yield
    excinfo = call.excinfo
    if excinfo is not None and report.when == "call" and excinfo.errisinstance(HARNESS_ERRORS):
        report.when = "setup"
    elif excinfo is not None and report.when == "setup" and excinfo.errisinstance(KernelWrong):
        report.when = "call"
    return report
