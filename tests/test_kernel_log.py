"""The suite's kernel log watch: an unreadable log is an error of every case, never silence."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from movephys.verdicts import SetupBroken

pytest_plugins = ["pytester"]

SUITES = Path(__file__).resolve().parent.parent / "suites"


@pytest.fixture
def kernel_log(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """suitekit.kernel_log, imported from suites/ (which is not on the path of the unit tests)."""
    monkeypatch.syspath_prepend(str(SUITES))
    return importlib.import_module("suitekit.kernel_log")


def test_an_unreadable_log_breaks_the_set_up_with_the_reason(tmp_path: Path,
                                                             kernel_log: ModuleType) -> None:
    missing = tmp_path / "kmsg"
    with pytest.raises(SetupBroken) as caught:
        kernel_log.KernelLogWatch.start(str(missing))
    assert str(caught.value) == (
        f"set-up: kernel log unreadable: {missing}: No such file or directory: "
        "a kernel splat during the case would go unseen")


def test_a_case_without_the_log_is_an_error_not_a_pass(pytester: pytest.Pytester,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    missing = pytester.path / "no-kmsg"
    pytester.makeconftest(f"""
import sys
sys.path.insert(0, {str(SUITES)!r})
import pytest
from suitekit.kernel_log import KernelLogWatch

@pytest.fixture(autouse=True)
def kernel_log_clean():
    watch = KernelLogWatch.start({str(missing)!r})
    yield watch
    watch.close()
""")
    pytester.makepyfile(test_sample="def test_answers_right():\n    pass\n")
    out = pytester.path / "run.ktap"
    result = pytester.runpytest_subprocess("-p", "movephys.verdicts", "-p", "movephys.ktap",
                                           "--ktap", str(out))
    result.assert_outcomes(errors=1)
    ktap = out.read_text()
    assert "not ok 1 test_sample.py::test_answers_right" in ktap
    assert "# set-up broke (an error of the harness, not a kernel failure):" in ktap
    assert f"kernel log unreadable: {missing}" in ktap
