"""Mutants as data: load and check kernel/mutants/mutants.toml, apply and restore edits.

A mutant is an edit of one file of the patched reference tree, not a diff:
exact text to find, which must occur exactly once, and the text it becomes.
An edit survives small moves of the surrounding code that would break a
diff's context, and it fails loudly (not fuzzily) when the text it names
is gone.

Applying writes the mutated bytes into the workspace copy and restoring
writes the reference bytes back, both through a temporary file and
os.replace(). The workspace's source may be a hardlink copy of the
reference tree: replacing the directory entry gives the workspace a file of
its own, where writing in place would write through the link into the
cached reference build.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from movephys.locations import data_root

# The mutation run works on a checkout: it writes docs/mutants.md there.
CHECKOUT = data_root()
DEFAULT_DATA = CHECKOUT / "kernel" / "mutants" / "mutants.toml"

Expect = Literal["lean", "debug", "equivalent", "untestable"]
EXPECTATIONS: tuple[Expect, ...] = ("lean", "debug", "equivalent", "untestable")
# Mutants that are documented to survive both kernels; each says why.
SURVIVORS: tuple[Expect, ...] = ("equivalent", "untestable")

ID_PATTERN = re.compile(r"^[a-z0-9]+(?:[-_][a-z0-9]+)*$")
_REQUIRED_TEXT = ("id", "file", "find", "replace", "claim")
_KNOWN_KEYS = frozenset((*_REQUIRED_TEXT, "quick", "expect", "reason"))


class MutantError(Exception):
    """Bad mutant data, or an edit that does not fit the source: str() is one line."""


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str  # relative to the top of the kernel tree
    find: str
    replace: str
    claim: str  # a spec row id, or a sentence of a commit message of the series
    quick: bool
    expect: Expect
    reason: str | None

    @property
    def digest(self) -> str:
        """Names the edit, so a result recorded for an older edit is not shown as current."""
        edit = "\0".join((self.file, self.find, self.replace)).encode()
        return hashlib.sha256(edit).hexdigest()[:12]

    @property
    def changes_headers(self) -> bool:
        """Whether the edit changes what headers_install writes (numbers, uapi)."""
        return self.file.endswith(".tbl") or "/uapi/" in f"/{self.file}"

    def locate(self, original: bytes) -> int:
        """The offset of the one occurrence of @find in @original."""
        needle = self.find.encode()
        first = original.find(needle)
        # Searched again one byte on, so that overlapping occurrences count too.
        second = original.find(needle, first + 1) if first >= 0 else -1
        if first < 0 or second >= 0:
            found = "is not" if first < 0 else "occurs more than once"
            raise MutantError(
                f"mutant {self.id}: its find text {found} in {self.file} of the reference "
                "source (it must occur exactly once)"
            )
        return first

    def line(self, original: bytes) -> int:
        """The line number (from 1) where the edit starts."""
        return original.count(b"\n", 0, self.locate(original)) + 1

    def mutate(self, original: bytes) -> bytes:
        start = self.locate(original)
        return original[:start] + self.replace.encode() + original[start + len(self.find.encode()):]


def write_atomically(path: Path, data: bytes) -> None:
    """Replace @path by a new file holding @data; a hardlink to it keeps the old bytes."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else 0o644
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".mutant",
                                             dir=path.parent)
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_reference(reference_tree: Path, file: str) -> bytes:
    try:
        return (reference_tree / file).read_bytes()
    except FileNotFoundError:
        raise MutantError(f"{file} is not in the reference source {reference_tree}") from None


def apply(mutant: Mutant, reference_tree: Path, work_tree: Path) -> None:
    """Write the mutated reference file into @work_tree."""
    mutated = mutant.mutate(read_reference(reference_tree, mutant.file))
    write_atomically(work_tree / mutant.file, mutated)


def restore(file: str, reference_tree: Path, work_tree: Path) -> bool:
    """Put the reference bytes of @file back into @work_tree; True when they differed."""
    original = read_reference(reference_tree, file)
    target = work_tree / file
    try:
        if target.read_bytes() == original:
            return False
    except FileNotFoundError:
        pass
    write_atomically(target, original)
    return True


# -- loading -------------------------------------------------------------------


def _problem(path: Path, index: int, table: dict[str, Any], key: str, problem: str) -> MutantError:
    name = table.get("id")
    label = f"mutant[{index}]" + (f" ({name})" if isinstance(name, str) else "")
    return MutantError(f"{path}: {label}: {key}: {problem}")


def _text(path: Path, index: int, table: dict[str, Any], key: str) -> str:
    if key not in table:
        raise _problem(path, index, table, key, "missing")
    value = table[key]
    if not isinstance(value, str):
        raise _problem(path, index, table, key, f"expected a string, got {type(value).__name__}")
    return value


def _read_mutant(path: Path, index: int, table: Any) -> Mutant:
    if not isinstance(table, dict):
        raise MutantError(f"{path}: mutant[{index}]: expected a table")
    for key in table:
        if key not in _KNOWN_KEYS:
            raise _problem(path, index, table, key, "unknown key")
    identifier, file, find, replace, claim = (_text(path, index, table, key)
                                              for key in _REQUIRED_TEXT)
    if not ID_PATTERN.match(identifier):
        raise _problem(path, index, table, "id",
                       f"{identifier!r} is not lower-case words joined by - or _")
    relative = Path(file)
    if not file or relative.is_absolute() or ".." in relative.parts or "\\" in file:
        raise _problem(path, index, table, "file", f"{file!r} is not a path inside the tree")
    if not find:
        raise _problem(path, index, table, "find", "empty")
    if replace == find:
        raise _problem(path, index, table, "replace", "same as find: the edit changes nothing")
    if not claim.strip():
        raise _problem(path, index, table, "claim", "empty")
    quick = table.get("quick")
    if not isinstance(quick, bool):
        raise _problem(path, index, table, "quick", "missing, or not true or false")
    expect = table.get("expect")
    if expect not in EXPECTATIONS:
        raise _problem(path, index, table, "expect",
                       f"{expect!r} is not one of {', '.join(EXPECTATIONS)}")
    reason = table.get("reason")
    if reason is not None and (not isinstance(reason, str) or not reason.strip()):
        raise _problem(path, index, table, "reason", "not a non-empty string")
    if expect in SURVIVORS and reason is None:
        raise _problem(path, index, table, "reason",
                       f"missing: an {expect} mutant must say why it survives")
    return Mutant(identifier, file, find, replace, " ".join(claim.split()), quick,
                  cast(Expect, expect), " ".join(reason.split()) if reason else None)


def load_mutants(path: Path = DEFAULT_DATA) -> tuple[Mutant, ...]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise MutantError(f"{path}: no such mutants file") from None
    except UnicodeDecodeError:
        raise MutantError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise MutantError(f"{path}: not valid TOML: {' '.join(str(error).split())}") from None
    for key in data:
        if key != "mutant":
            raise MutantError(f"{path}: {key}: unknown key (only [[mutant]] tables)")
    tables = data.get("mutant")
    if not isinstance(tables, list) or not tables:
        raise MutantError(f"{path}: no [[mutant]] tables")
    mutants = tuple(_read_mutant(path, index, table) for index, table in enumerate(tables))
    seen: set[str] = set()
    for mutant in mutants:
        if mutant.id in seen:
            raise MutantError(f"{path}: mutant id {mutant.id!r} is used twice")
        seen.add(mutant.id)
    return mutants


def parse_ids(text: str) -> tuple[str, ...]:
    """"a,b, c" -> ("a", "b", "c"); empty items are dropped."""
    return tuple(item.strip() for item in text.split(",") if item.strip())


def select(mutants: Iterable[Mutant], only: tuple[str, ...] = (), quick: bool = False
           ) -> tuple[Mutant, ...]:
    """The mutants named by @only (in data order), else all, then the quick ones if asked."""
    mutants = tuple(mutants)
    if only:
        known = {mutant.id for mutant in mutants}
        unknown = [name for name in only if name not in known]
        if unknown:
            raise MutantError(f"unknown mutant id{'s' if len(unknown) > 1 else ''}: "
                              f"{', '.join(unknown)} (python -m movephys.mutants list)")
        mutants = tuple(mutant for mutant in mutants if mutant.id in only)
    if quick:
        mutants = tuple(mutant for mutant in mutants if mutant.quick)
    if not mutants:
        raise MutantError("no mutant selected" + (" (--quick with --only picks quick ones)"
                                                   if only and quick else ""))
    return mutants


def check_against(mutants: Iterable[Mutant], reference_tree: Path) -> dict[str, int]:
    """The line of each mutant's edit in the reference source; the first misfit raises."""
    cache: dict[str, bytes] = {}
    lines: dict[str, int] = {}
    for mutant in mutants:
        if mutant.file not in cache:
            cache[mutant.file] = read_reference(reference_tree, mutant.file)
        lines[mutant.id] = mutant.line(cache[mutant.file])
    return lines
