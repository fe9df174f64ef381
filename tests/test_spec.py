"""The spec loader: the shipped tables load, lookups work, bad files fail in one line."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from movephys.spec import (
    SPEC_FILES,
    Spec,
    SpecError,
    errno_value,
    load_spec,
    spec_dir,
)


@pytest.fixture(scope="module")
def spec() -> Spec:
    return load_spec()


@pytest.fixture
def spec_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "spec"
    shutil.copytree(spec_dir(), copy)
    return copy


def test_spec_dir_is_the_checkout_copy() -> None:
    assert spec_dir() == Path(__file__).resolve().parent.parent / "spec"


def test_shipped_spec_loads(spec: Spec) -> None:
    assert spec.meta.name == "move_phys_pages"
    assert spec.meta.section == 2


def test_flags_are_move_and_move_all(spec: Spec) -> None:
    assert [(flag.name, flag.value) for flag in spec.flags] == [
        ("MPOL_MF_MOVE", 2),
        ("MPOL_MF_MOVE_ALL", 4),
    ]


def test_einval_is_checked_before_eperm(spec: Spec) -> None:
    errnos = [row.errno for row in spec.whole_call_errors]
    assert errnos.index("EINVAL") < errnos.index("EPERM")
    assert errnos[0] == "EINVAL"


def test_lookups_by_id(spec: Spec) -> None:
    assert spec.status_row("not_online").status_value == -errno_value("ENOENT")
    assert spec.status_row("moved").status_value is None
    assert spec.status_row("query_node").mode == "query"
    assert spec.error_row("no_cap_sys_admin").errno_value == errno_value("EPERM")
    with pytest.raises(KeyError):
        spec.status_row("no_such_row")


def test_pages_element_width_per_abi(spec: Spec) -> None:
    assert spec.element_width("native") == 64
    assert spec.element_width("compat") == 32


def test_signature_has_five_arguments_and_only_nodes_nullable(spec: Spec) -> None:
    args = spec.signature.args
    assert [arg.name for arg in args] == ["nr_pages", "pages", "nodes", "status", "flags"]
    assert [arg.name for arg in args if arg.nullable] == ["nodes"]


def test_numbers_name_the_known_collisions(spec: Spec) -> None:
    collided = {collision.nr: collision.name for collision in spec.collisions}
    assert collided[454] == "futex_wake"
    assert collided[462] == "mseal"
    assert {number.nr for number in spec.numbers_for("RFC v3")} == {462}


def test_zero_page_is_enoent_when_moved(spec: Spec) -> None:
    row = spec.status_row("not_lru")
    assert row.value == "-ENOENT"
    assert "test_invalid_pfns.py::test_invalid_pfn[zero_page-move]" in row.cases


def test_enomem_row_names_its_case(spec: Spec) -> None:
    row = spec.error_row("target_out_of_memory")
    assert row.cases == ("test_return_value.py::test_enomem_leaves_status_unwritten",)


def test_see_also_ordered_by_section_then_name(spec: Spec) -> None:
    keys = [(page.section, page.name) for page in spec.see_also]
    assert keys == sorted(keys)


def test_errno_value() -> None:
    assert errno_value("EINVAL") == 22
    with pytest.raises(ValueError, match="unknown errno name"):
        errno_value("EWHATEVER")


def _rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


MALFORMED = [
    pytest.param("errors.toml", 'errno = "EINVAL"', 'errno = "EBOGUS"',
                 "whole_call_errors[0].errno", "unknown errno name", id="unknown-errno"),
    pytest.param("syscall.toml", "value = 2", 'value = "two"',
                 "flags[0].value", "expected an integer", id="flag-not-int"),
    pytest.param("syscall.toml", "value = 2", "value = 3",
                 "flags[0].value", "not a single bit", id="flag-two-bits"),
    pytest.param("status.toml", 'value = "-ENOENT"', 'value = "ENOENT"',
                 "status_move[0].value", "not -ERRNO", id="status-without-minus"),
    pytest.param("status.toml", 'id = "tail_page"', 'id = "not_online"',
                 "not_online", "id already used", id="duplicate-id"),
    pytest.param("errors.toml", 'id = "unknown_flags"', 'id = "unknown_flags"\nerrrno = "X"',
                 "whole_call_errors[0].errrno", "unknown key", id="misspelt-key"),
    pytest.param("syscall.toml", 'date = "2026-11-26"', 'date = "26/11/2026"',
                 "meta.date", "not an ISO date", id="bad-date"),
    pytest.param("status.toml", '"test_moves.py::test_already_on_target"', '"already"',
                 "status_move[6].cases[0]", "not a case id", id="bad-case-id"),
    pytest.param("status.toml", '"test_moves.py::test_already_on_target"',
                 '"suites/test_moves.py::test_already_on_target"',
                 "status_move[6].cases[0]", "not a case id", id="case-id-under-suites"),
    pytest.param("errors.toml", "[[whole_call_errors]]\nid", "[[whole_call_errors]\nid",
                 "-", "not valid TOML", id="not-toml"),
]


@pytest.mark.parametrize(("file", "old", "new", "key", "problem"), MALFORMED)
def test_malformed_spec_error_names_file_key_problem(
    spec_copy: Path, file: str, old: str, new: str, key: str, problem: str
) -> None:
    _rewrite(spec_copy / file, old, new)
    with pytest.raises(SpecError) as caught:
        load_spec(spec_copy)
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith(str(spec_copy / file) + ": ")
    assert f": {key}: " in message
    assert problem in message


def test_row_without_cases_or_reason_is_rejected(spec_copy: Path) -> None:
    path = spec_copy / "errors.toml"
    text = path.read_text()
    start = text.index('cases = ["test_bad_args.py::test_efault[nodes-move]"]')
    path.write_text(text[:start] + text[start:].split("\n", 1)[1])
    with pytest.raises(SpecError, match="names no case and no untested_because"):
        load_spec(spec_copy)


def test_row_with_cases_and_a_reason_is_rejected(spec_copy: Path) -> None:
    _rewrite(spec_copy / "errors.toml", 'errno = "EINVAL"',
             'errno = "EINVAL"\nuntested_because = "both at once"')
    with pytest.raises(SpecError, match="has both cases and untested_because"):
        load_spec(spec_copy)


def test_missing_file_is_named(spec_copy: Path) -> None:
    (spec_copy / "notes.toml").unlink()
    with pytest.raises(SpecError, match=r"notes\.toml: -: file missing"):
        load_spec(spec_copy)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "movephys.spec", *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_cli_check_prints_summary() -> None:
    result = _cli("check")
    assert result.returncode == 0, result.stderr
    assert "whole-call errors" in result.stdout


def test_cli_check_bad_spec_one_line_exit_1(spec_copy: Path) -> None:
    _rewrite(spec_copy / "errors.toml", 'errno = "EINVAL"', 'errno = "EBOGUS"')
    result = _cli("check", str(spec_copy))
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    assert "errors.toml: whole_call_errors[0].errno: unknown errno name" in result.stderr


def test_cli_check_missing_dir(tmp_path: Path) -> None:
    result = _cli("check", str(tmp_path / "nowhere"))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1


def test_every_spec_file_is_known() -> None:
    assert sorted(path.name for path in spec_dir().glob("*.toml")) == sorted(SPEC_FILES)
