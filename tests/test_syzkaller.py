"""The syzkaller description rendered from the spec."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from movephys.spec import Spec, load_spec
from movephys.syzkaller import SyzkallerError, argument_type, render

EXPECTED_CALL = (
    "move_phys_pages(nr len[pages], pages ptr[in, array[intptr]], "
    "nodes ptr[in, array[int32], opt], status ptr[out, array[int32]], "
    "flags flags[move_phys_pages_flags])"
)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


def test_call_matches_syzkaller_move_pages_form(spec: Spec) -> None:
    assert EXPECTED_CALL in render(spec).splitlines()


def test_flags_definition_lists_spec_flags(spec: Spec) -> None:
    assert "move_phys_pages_flags = MPOL_MF_MOVE, MPOL_MF_MOVE_ALL" in render(spec).splitlines()


def test_no_syscall_number_is_written(spec: Spec) -> None:
    text = render(spec)
    for number in {entry.nr for entry in spec.numbers}:
        assert str(number) not in text


def test_nullable_array_is_opt_and_others_not(spec: Spec) -> None:
    assert argument_type(spec, spec.signature.arg("nodes")).endswith(", opt]")
    assert "opt" not in argument_type(spec, spec.signature.arg("status"))


def test_unknown_element_type_is_an_error(spec: Spec) -> None:
    pages = dataclasses.replace(spec.signature.arg("pages"), c_type="struct page **")
    with pytest.raises(SyzkallerError, match="no syzkaller type for element 'struct page \\*'"):
        argument_type(spec, pages)


def test_cli_prints_description() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "movephys.syzkaller"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert EXPECTED_CALL in result.stdout


def test_cli_bad_spec_dir_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "movephys.syzkaller", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
