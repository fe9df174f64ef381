"""The case id convention, between pytest node ids, JUnit records and back."""

from __future__ import annotations

import pytest

from movephys import caseid


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("suites/test_moves.py::test_move[shmem]", "test_moves.py::test_move[shmem]"),
        ("../work/suites/test_query.py::test_q", "test_query.py::test_q"),
        ("test_bad_args.py::test_enodev[minus_one]", "test_bad_args.py::test_enodev[minus_one]"),
        ("mysuites/test_x.py::test_y", "mysuites/test_x.py::test_y"),
    ],
    ids=["from-root", "from-elsewhere", "from-suites", "not-our-suites"],
)
def test_from_nodeid(nodeid: str, expected: str) -> None:
    assert caseid.from_nodeid(nodeid) == expected


@pytest.mark.parametrize(
    ("classname", "name", "expected"),
    [
        ("suites.test_moves", "test_move[shmem]", "test_moves.py::test_move[shmem]"),
        ("suites.test_moves.TestGroup", "test_x", "test_moves.py::TestGroup::test_x"),
        ("suites.sub.test_y", "test_z", "sub/test_y.py::test_z"),
        ("suites.test_g", "test_g[a::b]", "test_g.py::test_g[a::b]"),
    ],
    ids=["module", "class", "subdirectory", "colons-in-parameters"],
)
def test_junit_round_trip(classname: str, name: str, expected: str) -> None:
    assert caseid.from_junit(classname, name) == expected
    assert caseid.junit_names(expected) == (classname, name)


@pytest.mark.parametrize(
    ("call", "problem"),
    [
        (lambda: caseid.from_junit("suites.helpers", "test_x"), "no test module"),
        (lambda: caseid.junit_names("test_x::test_y"), "is not path.py::name"),
        (lambda: caseid.junit_names("test_x.py"), "is not path.py::name"),
    ],
    ids=["classname-without-module", "id-without-py", "id-without-name"],
)
def test_malformed_is_one_line_error(call: object, problem: str) -> None:
    with pytest.raises(caseid.CaseIdError, match=problem) as caught:
        call()  # type: ignore[operator]
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("case_id", "expected"),
    [
        ("test_geometry.py::test_g[int80-query-n1]", ("int80", "query", "n1")),
        ("test_compat.py::test_c[ia32_binary]", ("ia32_binary",)),
        ("test_compat.py::test_i386_entry_is_the_call", ()),
        ("test_moves.py::TestGroup::test_x[shmem]", ("shmem",)),
    ],
    ids=["three", "one", "none", "in-a-class"],
)
def test_parameter_ids(case_id: str, expected: tuple[str, ...]) -> None:
    assert caseid.parameter_ids(case_id) == expected
