"""The sweep plan: K and P values, repeats, methods, checked before anything runs."""

from __future__ import annotations

from typing import TypedDict

import pytest

from bench import plan
from bench.sweep import drawn_pages, rotated


def test_full_plan_is_the_issue_sweep() -> None:
    full = plan.make_plan()
    assert full.ks == (1, 4, 16, 64, 256, 1024, 4096, 16384, 65536)
    assert full.ps == (1, 8, 64)
    assert full.methods == plan.METHODS
    assert full.total_pages == 65536


def test_pages_per_process_spreads_the_total() -> None:
    full = plan.make_plan()
    assert [full.pages_per_process(p) for p in full.ps] == [65536, 8192, 1024]
    odd = plan.make_plan(ks=[100], ps=[3])
    assert odd.pages_per_process(3) * 3 >= 100


def test_quick_plan_and_overrides() -> None:
    quick = plan.make_plan(quick=True, repeats=1)
    assert (quick.ks, quick.ps, quick.repeats) == (plan.QUICK_KS, plan.QUICK_PS, 1)


@pytest.mark.parametrize(
    ("text", "expected"), [("1,4,16", (1, 4, 16)), ("64, 8,8", (8, 64)), ("7", (7,))],
    ids=["plain", "unsorted-duplicates", "single"],
)
def test_parse_int_list(text: str, expected: tuple[int, ...]) -> None:
    assert plan.parse_int_list(text, "--k") == expected


@pytest.mark.parametrize("text", ["", "0", "-1", "a,b", "1,,2"],
                         ids=["empty", "zero", "negative", "words", "hole"])
def test_parse_int_list_rejects(text: str) -> None:
    with pytest.raises(plan.PlanError, match="^--k: .* is not a positive integer"):
        plan.parse_int_list(text, "--k")


def test_parse_methods_keeps_canonical_order() -> None:
    assert plan.parse_methods("copy,phys") == ("phys", "copy")


def test_parse_methods_names_the_unknown() -> None:
    with pytest.raises(plan.PlanError, match="^--methods: fast unknown"):
        plan.parse_methods("phys,fast")


class PlanOptions(TypedDict, total=False):
    repeats: int
    ks: list[int]
    ps: list[int]


@pytest.mark.parametrize(
    ("options", "message"),
    [({"repeats": 0}, "--repeats"), ({"ks": [1 << 20]}, "--k"), ({"ps": [10000]}, "--p")],
    ids=["no-repeats", "too-many-pages", "too-many-processes"],
)
def test_make_plan_limits(options: PlanOptions, message: str) -> None:
    with pytest.raises(plan.PlanError, match=f"^{message}"):
        plan.make_plan(**options)


def test_rotation_changes_who_runs_first() -> None:
    methods = list(plan.METHODS)
    firsts = {rotated(methods, repeat)[0] for repeat in range(len(methods))}
    assert firsts == set(methods)
    assert sorted(rotated(methods, 5)) == sorted(methods)


def test_drawn_pages_are_distinct_and_repeatable() -> None:
    first = drawn_pages(6, 8, 100, 0, 1000)
    assert first == drawn_pages(6, 8, 100, 0, 1000)
    assert len(set(first)) == 100 and all(0 <= page < 1000 for page in first)
    assert first != drawn_pages(6, 8, 100, 1, 1000)
