"""The behaviour of move_phys_pages as data: a typed loader of spec/*.toml.

The suite parametrizes from these tables and the man page is rendered from
them, so the two cannot disagree.

Why TOML: it is read by the standard library (``tomllib``, Python 3.11), so
the loader needs no dependency; it has real integers, arrays and multi-line
strings, and arrays of tables (``[[whole_call_errors]]``) keep each row's
fields together in an order that is the kernel's evaluation order. It has
no anchors, tags or implicit typing to surprise a reviewer (YAML), and,
unlike JSON, it allows comments saying why a row reads as it does.

Text fields hold reStructuredText inline markup (``*argument*``,
``**CONSTANT**``, ``:manpage:`page(2)```, ``:fn:`name```), which the man page
and HTML renderers turn into fonts.

Usage: ``python -m movephys.spec check [DIR]`` validates a spec directory.
"""

from __future__ import annotations

import datetime
import errno as errno_module
import re
import sys
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from movephys.locations import data_root

CASE_ID_PATTERN = re.compile(r"^test_\w+\.py::test_\w+(\[[\w.-]+\])?$")
SEE_ALSO_PATTERN = re.compile(r"^(?P<name>[\w.-]+)\((?P<section>[1-8]\w*)\)$")
STATUS_KEYWORDS = ("node", "unwritten")

# The top-level keys each spec file may hold.
SPEC_FILES: dict[str, tuple[str, ...]] = {
    "syscall.toml": ("meta", "signature", "element_widths", "flags", "description"),
    "numbers.toml": ("numbers", "collisions"),
    "errors.toml": ("whole_call_errors",),
    "status.toml": ("status_move", "status_query"),
    "rules.toml": ("capability", "compat", "return_value"),
    "notes.toml": (
        "versions",
        "standards",
        "history",
        "notes",
        "address_sources",
        "caveats",
        "bugs",
        "see_also",
    ),
}


class SpecError(Exception):
    """A malformed spec file; str() is one line naming file, key and problem."""

    def __init__(self, file: Path | str, key: str, problem: str) -> None:
        super().__init__(f"{file}: {key}: {problem}")
        self.file = str(file)
        self.key = key
        self.problem = problem


@dataclass(frozen=True)
class Meta:
    name: str
    section: int
    summary: str
    date: datetime.date
    copyright: str
    license: str
    library: str
    library_short: str
    library_link: str


@dataclass(frozen=True)
class Include:
    header: str
    defines: str


@dataclass(frozen=True)
class Arg:
    name: str
    c_type: str
    direction: str
    meaning: str
    nullable: bool
    array_of: str | None


@dataclass(frozen=True)
class Signature:
    return_type: str
    includes: tuple[Include, ...]
    args: tuple[Arg, ...]

    def arg(self, name: str) -> Arg:
        for arg in self.args:
            if arg.name == name:
                return arg
        raise KeyError(name)


@dataclass(frozen=True)
class ElementWidth:
    """How wide one element of *pages* is for a caller of one ABI."""

    abi: str
    caller: str
    kernel: str
    bits: int


@dataclass(frozen=True)
class Flag:
    name: str
    value: int
    meaning: str


@dataclass(frozen=True)
class ErrorRow:
    """A whole-call error: the call returns -1 with errno set."""

    id: str
    errno: str
    condition: str
    cases: tuple[str, ...]
    untested_because: str | None

    @property
    def errno_value(self) -> int:
        return errno_value(self.errno)


@dataclass(frozen=True)
class StatusRow:
    """A per-page result: a negative errno name, "node" or "unwritten"."""

    id: str
    mode: str
    value: str
    condition: str
    cases: tuple[str, ...]
    untested_because: str | None

    @property
    def status_value(self) -> int | None:
        """The int the kernel stores, or None for "node" and "unwritten"."""
        if self.value in STATUS_KEYWORDS:
            return None
        return -errno_value(self.value.removeprefix("-"))


@dataclass(frozen=True)
class Rule:
    """A sentence of the page; cases prove it when it states behaviour."""

    id: str
    text: str
    cases: tuple[str, ...] = ()
    untested_because: str | None = None
    date: str | None = None


@dataclass(frozen=True)
class SyscallNumber:
    series: str
    abi: str
    nr: int
    note: str


@dataclass(frozen=True)
class Collision:
    nr: int
    name: str
    since: str


@dataclass(frozen=True)
class SeeAlso:
    name: str
    section: str

    def __str__(self) -> str:
        return f"{self.name}({self.section})"


TracedRow = ErrorRow | StatusRow


@dataclass(frozen=True)
class Spec:
    directory: Path
    meta: Meta
    signature: Signature
    element_widths: tuple[ElementWidth, ...]
    flags: tuple[Flag, ...]
    description: tuple[Rule, ...]
    numbers: tuple[SyscallNumber, ...]
    collisions: tuple[Collision, ...]
    whole_call_errors: tuple[ErrorRow, ...]
    status_move: tuple[StatusRow, ...]
    status_query: tuple[StatusRow, ...]
    capability: tuple[Rule, ...]
    compat: tuple[Rule, ...]
    return_value: tuple[Rule, ...]
    versions: tuple[Rule, ...]
    standards: tuple[Rule, ...]
    history: tuple[Rule, ...]
    notes: tuple[Rule, ...]
    address_sources: tuple[Rule, ...]
    caveats: tuple[Rule, ...]
    bugs: tuple[Rule, ...]
    see_also: tuple[SeeAlso, ...]

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(self.directory / name for name in SPEC_FILES)

    def flag(self, name: str) -> Flag:
        return _by_key(self.flags, "name", name)

    def error_row(self, row_id: str) -> ErrorRow:
        return _by_key(self.whole_call_errors, "id", row_id)

    def status_row(self, row_id: str) -> StatusRow:
        return _by_key(self.status_move + self.status_query, "id", row_id)

    def element_width(self, abi: str) -> int:
        return _by_key(self.element_widths, "abi", abi).bits

    def traced_rows(self) -> tuple[TracedRow, ...]:
        """The rows every one of which must name a case or say why none can."""
        return self.whole_call_errors + self.status_move + self.status_query

    def rule_rows(self) -> tuple[Rule, ...]:
        return (
            self.description
            + self.capability
            + self.compat
            + self.return_value
            + self.versions
            + self.standards
            + self.history
            + self.notes
            + self.address_sources
            + self.caveats
            + self.bugs
        )

    def case_ids(self) -> frozenset[str]:
        """Every case id any row names."""
        rows: tuple[TracedRow | Rule, ...] = self.traced_rows() + self.rule_rows()
        return frozenset(case for row in rows for case in row.cases)

    def numbers_for(self, series: str) -> tuple[SyscallNumber, ...]:
        return tuple(number for number in self.numbers if number.series == series)


_Keyed = TypeVar("_Keyed")


def _by_key(rows: tuple[_Keyed, ...], attribute: str, value: str) -> _Keyed:
    for row in rows:
        if getattr(row, attribute) == value:
            return row
    raise KeyError(value)


def errno_value(name: str) -> int:
    """The number of an errno name on this machine: errno_value("EINVAL") == 22."""
    value = getattr(errno_module, name, None)
    if not name.startswith("E") or not isinstance(value, int):
        raise ValueError(f"unknown errno name {name!r}")
    return value


def spec_dir() -> Path:
    """spec/ of the checkout when running from one, else the wheel's copy."""
    return data_root() / "spec"


class _Table:
    """One TOML table being read; every failure names file and key path."""

    def __init__(self, file: Path, key: str, data: Any) -> None:
        if not isinstance(data, dict):
            raise SpecError(file, key, f"expected a table, got {type(data).__name__}")
        self.file = file
        self.key = key
        self.data: dict[str, Any] = data
        self.read: set[str] = set()

    def _get(self, name: str, kind: type | tuple[type, ...], kind_name: str, default: Any) -> Any:
        self.read.add(name)
        if name not in self.data:
            if default is not _REQUIRED:
                return default
            raise SpecError(self.file, self.path(name), "missing")
        value = self.data[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise SpecError(
                self.file,
                self.path(name),
                f"expected {kind_name}, got {type(value).__name__} {value!r}",
            )
        return value

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def text(self, name: str, default: Any = None) -> str:
        value: str = self._get(name, str, "a string", _REQUIRED if default is None else default)
        if not value.strip() and default is None:
            raise SpecError(self.file, self.path(name), "empty string")
        return value

    def optional_text(self, name: str) -> str | None:
        value: str | None = self._get(name, str, "a string", None)
        if value is not None and not value.strip():
            raise SpecError(self.file, self.path(name), "empty string")
        return value

    def integer(self, name: str) -> int:
        value: int = self._get(name, int, "an integer", _REQUIRED)
        return value

    def boolean(self, name: str) -> bool:
        value: bool = self._get(name, bool, "true or false", _REQUIRED)
        return value

    def date(self, name: str) -> datetime.date:
        value = self._get(name, (str, datetime.date), "a date", _REQUIRED)
        if isinstance(value, datetime.date):
            return value
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise SpecError(
                self.file, self.path(name), f"not an ISO date (YYYY-MM-DD): {value!r}"
            ) from None

    def strings(self, name: str) -> tuple[str, ...]:
        values = self._get(name, list, "an array of strings", [])
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise SpecError(
                    self.file, f"{self.path(name)}[{index}]", f"expected a string, got {value!r}"
                )
        return tuple(values)

    def tables(self, name: str) -> Iterator[_Table]:
        values = self._get(name, list, "an array of tables", _REQUIRED)
        if not values:
            raise SpecError(self.file, self.path(name), "empty array")
        for index, value in enumerate(values):
            yield _Table(self.file, f"{self.path(name)}[{index}]", value)

    def table(self, name: str) -> _Table:
        return _Table(self.file, self.path(name), self._get(name, dict, "a table", _REQUIRED))

    def done(self) -> None:
        """Reject keys nobody read: a misspelt key must not vanish silently."""
        for name in self.data:
            if name not in self.read:
                raise SpecError(self.file, self.path(name), "unknown key")


_REQUIRED = object()


def _key(table: _Table, name: str) -> str:
    return table.path(name)


def _read_file(path: Path) -> _Table:
    try:
        with path.open("rb") as stream:
            data = tomllib.load(stream)
    except FileNotFoundError:
        raise SpecError(path, "-", "file missing") from None
    except tomllib.TOMLDecodeError as error:
        raise SpecError(path, "-", f"not valid TOML: {error}") from None
    return _Table(path, "", data)


def _cases(table: _Table, *, required: bool) -> tuple[tuple[str, ...], str | None]:
    cases = table.strings("cases")
    untested = table.optional_text("untested_because")
    for index, case in enumerate(cases):
        if not CASE_ID_PATTERN.match(case):
            raise SpecError(
                table.file,
                f"{_key(table, 'cases')}[{index}]",
                f"not a case id (file.py::test_name[params]): {case!r}",
            )
    if len(set(cases)) != len(cases):
        raise SpecError(table.file, _key(table, "cases"), "names a case twice")
    if cases and untested:
        raise SpecError(table.file, table.key, "has both cases and untested_because")
    if required and not cases and not untested:
        raise SpecError(table.file, table.key, "names no case and no untested_because")
    return cases, untested


def _read_meta(table: _Table) -> Meta:
    meta = Meta(
        name=table.text("name"),
        section=table.integer("section"),
        summary=table.text("summary"),
        date=table.date("date"),
        copyright=table.text("copyright"),
        license=table.text("license"),
        library=table.text("library"),
        library_short=table.text("library_short"),
        library_link=table.text("library_link"),
    )
    table.done()
    return meta


def _read_arg(table: _Table) -> Arg:
    direction = table.text("direction")
    if direction not in ("in", "out", "inout"):
        raise SpecError(table.file, _key(table, "direction"), f"not in/out/inout: {direction!r}")
    arg = Arg(
        name=table.text("name"),
        c_type=table.text("c_type"),
        direction=direction,
        meaning=table.text("meaning"),
        nullable=table.boolean("nullable"),
        array_of=table.optional_text("array_of"),
    )
    table.done()
    return arg


def _read_signature(table: _Table) -> Signature:
    includes = []
    values = table._get("includes", list, "an array of tables", _REQUIRED)
    for index, value in enumerate(values):
        entry = _Table(table.file, f"{table.key}.includes[{index}]", value)
        includes.append(Include(header=entry.text("header"), defines=entry.text("defines", "")))
        entry.done()
    args = tuple(_read_arg(arg) for arg in table.tables("args"))
    names = [arg.name for arg in args]
    for arg in args:
        if arg.array_of is not None and arg.array_of not in names:
            raise SpecError(
                table.file, f"{table.key}.args", f"{arg.name}: array_of names no argument"
            )
    signature = Signature(
        return_type=table.text("return_type"), includes=tuple(includes), args=args
    )
    table.done()
    return signature


def _read_width(table: _Table) -> ElementWidth:
    width = ElementWidth(
        abi=table.text("abi"),
        caller=table.text("caller"),
        kernel=table.text("kernel"),
        bits=table.integer("bits"),
    )
    if width.bits not in (32, 64):
        raise SpecError(table.file, _key(table, "bits"), f"not 32 or 64: {width.bits}")
    table.done()
    return width


def _read_flag(table: _Table) -> Flag:
    flag = Flag(
        name=table.text("name"), value=table.integer("value"), meaning=table.text("meaning")
    )
    if flag.value <= 0 or flag.value & (flag.value - 1):
        raise SpecError(table.file, _key(table, "value"), f"not a single bit: {flag.value}")
    table.done()
    return flag


def _read_errno(table: _Table, name: str, text: str) -> str:
    try:
        errno_value(text)
    except ValueError as error:
        raise SpecError(table.file, _key(table, name), str(error)) from None
    return text


def _read_error(table: _Table) -> ErrorRow:
    cases, untested = _cases(table, required=True)
    row = ErrorRow(
        id=table.text("id"),
        errno=_read_errno(table, "errno", table.text("errno")),
        condition=table.text("condition"),
        cases=cases,
        untested_because=untested,
    )
    table.done()
    return row


def _status_reader(mode: str) -> Callable[[_Table], StatusRow]:
    def read(table: _Table) -> StatusRow:
        value = table.text("value")
        if value not in STATUS_KEYWORDS:
            if not value.startswith("-"):
                raise SpecError(
                    table.file, _key(table, "value"), f"not -ERRNO, node or unwritten: {value!r}"
                )
            _read_errno(table, "value", value[1:])
        cases, untested = _cases(table, required=True)
        row = StatusRow(
            id=table.text("id"),
            mode=mode,
            value=value,
            condition=table.text("condition"),
            cases=cases,
            untested_because=untested,
        )
        table.done()
        return row

    return read


def _read_rule(table: _Table) -> Rule:
    cases, untested = _cases(table, required=False)
    rule = Rule(
        id=table.text("id"),
        text=table.text("text"),
        cases=cases,
        untested_because=untested,
        date=table.optional_text("date"),
    )
    table.done()
    return rule


def _read_number(table: _Table) -> SyscallNumber:
    number = SyscallNumber(
        series=table.text("series"),
        abi=table.text("abi"),
        nr=table.integer("nr"),
        note=table.text("note", ""),
    )
    table.done()
    return number


def _read_collision(table: _Table) -> Collision:
    collision = Collision(
        nr=table.integer("nr"), name=table.text("name"), since=table.text("since")
    )
    table.done()
    return collision


def _read_see_also(table: _Table) -> tuple[SeeAlso, ...]:
    pages = []
    for index, text in enumerate(table.strings("pages")):
        match = SEE_ALSO_PATTERN.match(text)
        if not match:
            raise SpecError(
                table.file, f"{_key(table, 'pages')}[{index}]", f"not name(section): {text!r}"
            )
        pages.append(SeeAlso(match["name"], match["section"]))
    table.done()
    # man-pages(7): ordered by section, then alphabetically by name.
    return tuple(sorted(pages, key=lambda page: (page.section, page.name)))


_Row = TypeVar("_Row")


def _rows(table: _Table, name: str, read: Callable[[_Table], _Row]) -> tuple[_Row, ...]:
    return tuple(read(row) for row in table.tables(name))


def _check_unique_ids(spec: Spec) -> None:
    seen: dict[str, str] = {}
    groups: dict[str, tuple[TracedRow | Rule, ...]] = {
        "errors.toml": spec.whole_call_errors,
        "status.toml": spec.status_move + spec.status_query,
        "rules.toml": spec.capability + spec.compat + spec.return_value,
        "syscall.toml": spec.description,
        "notes.toml": spec.versions
        + spec.standards
        + spec.history
        + spec.notes
        + spec.address_sources
        + spec.caveats
        + spec.bugs,
    }
    for file, rows in groups.items():
        for row in rows:
            if row.id in seen:
                raise SpecError(
                    spec.directory / file, row.id, f"id already used in {seen[row.id]}"
                )
            seen[row.id] = file


def load_spec(path: Path | None = None) -> Spec:
    """Read and validate the spec directory (default: spec_dir())."""
    directory = spec_dir() if path is None else Path(path)
    if not directory.is_dir():
        raise SpecError(directory, "-", "not a spec directory")
    files = {name: _read_file(directory / name) for name in SPEC_FILES}
    for name, table in files.items():
        for key in table.data:
            if key not in SPEC_FILES[name]:
                expected = ", ".join(SPEC_FILES[name])
                raise SpecError(table.file, key, f"unknown key (expected one of: {expected})")

    syscall, numbers, errors = files["syscall.toml"], files["numbers.toml"], files["errors.toml"]
    status, rules, notes = files["status.toml"], files["rules.toml"], files["notes.toml"]
    spec = Spec(
        directory=directory,
        meta=_read_meta(syscall.table("meta")),
        signature=_read_signature(syscall.table("signature")),
        element_widths=_rows(syscall, "element_widths", _read_width),
        flags=_rows(syscall, "flags", _read_flag),
        description=_rows(syscall, "description", _read_rule),
        numbers=_rows(numbers, "numbers", _read_number),
        collisions=_rows(numbers, "collisions", _read_collision),
        whole_call_errors=_rows(errors, "whole_call_errors", _read_error),
        status_move=_rows(status, "status_move", _status_reader("move")),
        status_query=_rows(status, "status_query", _status_reader("query")),
        capability=_rows(rules, "capability", _read_rule),
        compat=_rows(rules, "compat", _read_rule),
        return_value=_rows(rules, "return_value", _read_rule),
        versions=_rows(notes, "versions", _read_rule),
        standards=_rows(notes, "standards", _read_rule),
        history=_rows(notes, "history", _read_rule),
        notes=_rows(notes, "notes", _read_rule),
        address_sources=_rows(notes, "address_sources", _read_rule),
        caveats=_rows(notes, "caveats", _read_rule),
        bugs=_rows(notes, "bugs", _read_rule),
        see_also=_read_see_also(notes.table("see_also")),
    )
    for table in files.values():
        table.done()
    _check_unique_ids(spec)
    return spec


def summary(spec: Spec) -> str:
    untested = [row.id for row in spec.traced_rows() if row.untested_because]
    return (
        f"{spec.directory}: {len(spec.whole_call_errors)} whole-call errors, "
        f"{len(spec.status_move)} move statuses, {len(spec.status_query)} query statuses, "
        f"{len(spec.flags)} flags, {len(spec.numbers)} numbers, "
        f"{len(spec.collisions)} collisions, {len(spec.case_ids())} case ids, "
        f"{len(untested)} untested rows ({', '.join(untested) or 'none'})"
    )


USAGE = "usage: python -m movephys.spec check [DIR]"


def main(argv: list[str]) -> int:
    if not argv or argv[0] != "check" or len(argv) > 2:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        spec = load_spec(Path(argv[1]) if len(argv) == 2 else None)
    except SpecError as error:
        print(f"spec error: {error}", file=sys.stderr)
        return 1
    print(summary(spec))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
