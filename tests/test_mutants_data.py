"""kernel/mutants/mutants.toml: the shipped data, and how bad data is refused."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from movephys.mutants import claims, mutant
from movephys.mutants.mutant import MutantError
from movephys.spec import load_spec

GOOD = """\
[[mutant]]
id = "flags-unchecked"
file = "mm/migrate.c"
claim = "unknown_flags"
expect = "lean"
quick = true
find = '''
\tif (bad)
\t\treturn -EINVAL;
'''
replace = ''
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mutants.toml"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def shipped() -> tuple[mutant.Mutant, ...]:
    return mutant.load_mutants()


def test_shipped_data_loads_with_enough_mutants(shipped: tuple[mutant.Mutant, ...]) -> None:
    assert len(shipped) >= 30
    expects = Counter(item.expect for item in shipped)
    assert set(expects) == set(mutant.EXPECTATIONS)
    assert 8 <= sum(item.quick for item in shipped) <= 12  # about 4 min each under TCG


def test_quick_subset_covers_several_claims(shipped: tuple[mutant.Mutant, ...]) -> None:
    # Quick mutants come from different families: their edits are far apart.
    claims_hit = {item.claim for item in shipped if item.quick}
    assert len(claims_hit) >= 8


def test_every_shipped_claim_resolves(shipped: tuple[mutant.Mutant, ...]) -> None:
    resolved = claims.resolve_all(shipped, load_spec(), claims.commit_messages())
    assert set(resolved) == {item.id for item in shipped}
    assert {claim.kind for claim in resolved.values()} == {"spec", "commit"}


def test_every_commit_message_is_a_target(shipped: tuple[mutant.Mutant, ...]) -> None:
    resolved = claims.resolve_all(shipped, load_spec(), claims.commit_messages())
    patches_named = {claim.source for claim in resolved.values() if claim.kind == "commit"}
    # Patch 2 is a refactoring; its claim (one reader for both paths) is
    # targeted through the compat spec rows instead.
    assert {name[:4] for name in patches_named} >= {"0001", "0003", "0004"}


def test_syscall_table_mutants_are_not_quick(shipped: tuple[mutant.Mutant, ...]) -> None:
    tables = [item for item in shipped if item.changes_headers]
    assert tables and not any(item.quick for item in tables)


def test_survivors_say_why(shipped: tuple[mutant.Mutant, ...]) -> None:
    for item in shipped:
        if item.expect in mutant.SURVIVORS:
            assert item.reason and len(item.reason) > 40, item.id


def test_good_minimal_file(tmp_path: Path) -> None:
    (loaded,) = mutant.load_mutants(write(tmp_path, GOOD))
    assert loaded.find == "\tif (bad)\n\t\treturn -EINVAL;\n"
    assert loaded.replace == ""
    assert loaded.reason is None
    assert not loaded.changes_headers


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("[[mutant]\nid = 1", "not valid TOML", id="malformed"),
        pytest.param(GOOD.replace('quick = true', 'quick = "yes"'), "quick: missing, or not",
                     id="quick-not-bool"),
        pytest.param(GOOD.replace('expect = "lean"', 'expect = "maybe"'),
                     "'maybe' is not one of", id="bad-expect"),
        pytest.param(GOOD.replace('expect = "lean"', 'expect = "equivalent"'),
                     "reason: missing", id="survivor-without-reason"),
        pytest.param(GOOD.replace('claim = ', 'clam = "x"\nclaim = '), "clam: unknown key",
                     id="misspelt-key"),
        pytest.param(GOOD.replace('id = "flags-unchecked"', 'id = "Flags Unchecked"'),
                     "is not lower-case words", id="bad-id"),
        pytest.param(GOOD.replace('"mm/migrate.c"', '"../etc/passwd"'), "not a path inside",
                     id="path-escapes"),
        pytest.param(GOOD + GOOD, "used twice", id="duplicate-id"),
        pytest.param(GOOD.replace("replace = ''", "replace = '''\n\tif (bad)\n\t\treturn "
                                  "-EINVAL;\n'''"), "changes nothing", id="no-op"),
        pytest.param("title = 'x'\n", "unknown key", id="stray-top-level"),
        pytest.param("", "no [[mutant]] tables", id="empty"),
    ],
)
def test_bad_data_is_one_line_naming_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(MutantError) as error:
        mutant.load_mutants(write(tmp_path, text))
    assert problem in str(error.value)
    assert "\n" not in str(error.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(MutantError, match="no such mutants file"):
        mutant.load_mutants(tmp_path / "absent.toml")


def test_select_only_quick_and_unknown(shipped: tuple[mutant.Mutant, ...]) -> None:
    quick = mutant.select(shipped, quick=True)
    assert quick and all(item.quick for item in quick)
    first, second = shipped[3].id, shipped[0].id
    assert [item.id for item in mutant.select(shipped, (first, second))] == [second, first]
    with pytest.raises(MutantError, match="unknown mutant ids: nope, nada"):
        mutant.select(shipped, ("nope", shipped[0].id, "nada"))


def test_parse_ids() -> None:
    assert mutant.parse_ids(" a, b,,c ") == ("a", "b", "c")
    assert mutant.parse_ids("") == ()


def test_claims_resolve_rows_and_wrapped_sentences() -> None:
    spec = load_spec()
    messages = {"0009-x.patch": claims.commit_message(
        "From x\nSubject: [PATCH 9/9] mm: do a\n thing\n\nIt reads the\n"
        "array twice.\n\nSigned-off-by: x\n---\n mm/x.c | 1 +\n")}
    row = spec.traced_rows()[0]
    assert claims.resolve(row.id, spec, messages).cases == row.cases
    commit = claims.resolve("reads the array twice.", spec, messages)
    assert (commit.kind, commit.source) == ("commit", "0009-x.patch")
    assert claims.resolve("do a thing", spec, messages).kind == "commit"
    with pytest.raises(MutantError, match="names no spec row"):
        claims.resolve("no_such_row", spec, messages)
    with pytest.raises(MutantError, match="no sentence of a commit message"):
        claims.resolve("mm/x.c | 1", spec, messages)
