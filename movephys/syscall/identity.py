"""Confirming that a resolved number really is move_phys_pages before calling it.

Two levels, strongest first, recorded in :attr:`EntryConfirmation.level`:

``sys_call_table``
    ``sys_call_table[nr]`` (``ia32_sys_call_table[nr]`` for compat), read from
    /proc/kcore at the table address /proc/kallsyms gives, holds the address
    of ``__x64_sys_move_phys_pages`` (``__ia32_sys_move_phys_pages``).
``kallsyms+headers``
    When kcore or the table symbol is unavailable (no CONFIG_KALLSYMS_ALL, no
    /proc/kcore): the entry symbol exists, the number names no other syscall
    in the headers read, and it is not a mainline syscall that this kernel
    has (454 futex_wake, 462 mseal, 463 setxattrat, ...).

Only a number confirmed statically is then called, once, with the harmless
probe ``move_phys_pages(0, NULL, NULL, NULL, -1)``, which the spec says fails
with EINVAL (flags are checked before anything else). At the table level
the number is already proven to be the call, so a probe that does not give
EINVAL is a failure of the spec row for unknown flags, which the suite
reports, not a reason to stop: the number stays confirmed and
:attr:`EntryConfirmation.flags_rejected` says False. At the fallback level
(always for the i386 entry on 6.9 and later, which dispatch by a switch and
keep no ia32_sys_call_table) the probe is part of the proof: when it does
not give EINVAL, a second probe, ``move_phys_pages(1, [frame], NULL,
status, 0)`` on a frame of the caller's own page, must answer the frame's
node as sysfs gives it. Only another syscall that happened to write that
node into the status array could pass it, so the number is then the call
and only the unknown-flags row fails; otherwise the number is refused.
Nothing in this module calls a syscall number before static confirmation.
"""

from __future__ import annotations

import errno as errno_names
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from movephys import arch
from movephys.spec import load_spec
from movephys.syscall import kcore
from movephys.syscall.kallsyms import KALLSYMS, Kallsyms, KallsymsError, read_kallsyms
from movephys.syscall.numbers import NumberSource, SyscallNumbers

NATIVE = "native"
COMPAT = "compat"
LEVEL_TABLE = "sys_call_table"
LEVEL_FALLBACK = "kallsyms+headers"

CALL = "move_phys_pages"


def entry_abi(entry: str) -> arch.Abi | None:
    """The ABI whose table holds ``entry``: the machine's own, or its 32-bit one."""
    return arch.host() if entry == NATIVE else arch.compat()


def mainline_at(nr: int) -> str | None:
    """The mainline call at ``nr`` (spec/numbers.toml, collisions), if any."""
    return next((row.name for row in load_spec().collisions if row.nr == nr), None)


PROBE_TEXT = "move_phys_pages(0, NULL, NULL, NULL, -1)"
QUERY_PROBE_TEXT = "move_phys_pages(1, [frame], NULL, status, 0)"


@dataclass(frozen=True)
class QueryAnswer:
    """What the query probe got for one frame of the caller's own, and what sysfs says."""

    ret: int
    status: int
    expected: int  # the frame's node per sysfs
    frame: str  # for messages: "pfn 0x1234, our anonymous page"

    @property
    def is_the_call(self) -> bool:
        return self.ret == 0 and self.status == self.expected


QueryProbe = Callable[[int], QueryAnswer]


@dataclass(frozen=True)
class EntryConfirmation:
    """Whether one entry (native or compat) is confirmed, how, or why not."""

    entry: str  # NATIVE or COMPAT
    nr: int | None
    confirmed: bool
    level: str | None  # LEVEL_TABLE, LEVEL_FALLBACK, or None when not confirmed
    reason: str  # one line: how it was confirmed, or precisely why not
    flags_rejected: bool | None = None  # the probe gave EINVAL; None when not probed


@dataclass(frozen=True)
class Identity:
    """The verdict for both entries; ``confirmed``/``reason`` speak for the native one."""

    native: EntryConfirmation
    compat: EntryConfirmation

    @property
    def confirmed(self) -> bool:
        return self.native.confirmed

    @property
    def reason(self) -> str:
        return self.native.reason

    @property
    def nr(self) -> int | None:
        return self.native.nr if self.native.confirmed else None

    @property
    def compat_nr(self) -> int | None:
        return self.compat.nr if self.compat.confirmed else None

    def account(self) -> str:
        """One line for reports and skips: whether the call is confirmed, and how or why not."""
        verdict = "confirmed" if self.confirmed else "not confirmed"
        return f"move_phys_pages {verdict}: {self.reason}"


def _refuse(entry: str, nr: int | None, reason: str) -> EntryConfirmation:
    return EntryConfirmation(entry, nr, False, None, reason)


def _entry_symbol(abi: arch.Abi, symbols: Kallsyms) -> str | None:
    return next((name for name in abi.entry_symbols(CALL) if name in symbols), None)


def _missing_symbol_reason(abi: arch.Abi, symbols: Kallsyms, kallsyms_path: str) -> str:
    wanted = abi.entry_symbols(CALL)[0]
    native = arch.host()
    if abi == native or _entry_symbol(native, symbols) is None:
        return f"no {wanted} in {kallsyms_path}: this kernel has no move_phys_pages"
    if abi.entry_symbols("move_pages")[0] not in symbols:
        return f"no {wanted} in {kallsyms_path}: this kernel has no IA32 emulation"
    return f"no {wanted} in {kallsyms_path}: this kernel has no 32-bit move_phys_pages entry"


def _table_check(
    entry: str, nr: int, symbol: str, symbols: Kallsyms, kcore_path: str | Path
) -> EntryConfirmation | str:
    """The table level's verdict, or why the table could not be read (a str)."""
    abi = entry_abi(entry)
    assert abi is not None
    table_name = abi.table_symbol
    table = symbols.address(table_name)
    if table is None:
        return (
            f"no {table_name} in kallsyms (no CONFIG_KALLSYMS_ALL, or a kernel that "
            "dispatches without this table)"
        )
    if symbols.addresses_hidden:
        return "kallsyms addresses are hidden (run as root)"
    try:
        target = kcore.read_u64(table + arch.host().pointer_bits // 8 * nr, kcore_path)
    except kcore.KcoreError as error:
        return str(error)
    expected = symbols.address(symbol)
    if target == expected:
        return EntryConfirmation(
            entry, nr, True, LEVEL_TABLE, f"{table_name}[{nr}] is {symbol} (read from {kcore_path})"
        )
    found = symbols.syscall_symbol_at(target)
    if found is not None:
        return _refuse(entry, nr, f"{table_name}[{nr}] is {found}, not {symbol}")
    return _refuse(
        entry,
        nr,
        f"{table_name}[{nr}] holds {target:#x}, no syscall entry: the running kernel's table "
        f"ends before {nr} (kernel image older than its headers?)",
    )


def _fallback_check(
    entry: str, source: NumberSource, symbol: str, symbols: Kallsyms, why_no_table: str
) -> EntryConfirmation:
    nr = source.nr
    assert nr is not None
    other = source.table.get(nr)
    if other is not None and other != "move_phys_pages":
        return _refuse(entry, nr, f"{nr} is __NR_{other} in the headers read, not move_phys_pages")
    mainline = mainline_at(nr)
    abi = entry_abi(entry)
    if mainline is not None and abi is not None:
        mainline_symbol = abi.entry_symbols(mainline)[0]
        if mainline_symbol in symbols:
            return _refuse(
                entry, nr, f"{nr} is {mainline} on this kernel ({mainline_symbol} in kallsyms)"
            )
    return EntryConfirmation(
        entry,
        nr,
        True,
        LEVEL_FALLBACK,
        f"{symbol} in kallsyms and {nr} names no other syscall ({why_no_table})",
    )


def confirm_entry(
    entry: str,
    source: NumberSource,
    symbols: Kallsyms,
    *,
    kallsyms_path: str = KALLSYMS,
    kcore_path: str | Path = kcore.KCORE,
) -> EntryConfirmation:
    """Static confirmation of one entry, from kernel symbols and memory only (no call)."""
    abi = entry_abi(entry)
    if abi is None:
        return _refuse(entry, source.nr, f"{arch.host().name} has no 32-bit ABI to call from")
    symbol = _entry_symbol(abi, symbols)
    if symbol is None:
        return _refuse(entry, source.nr, _missing_symbol_reason(abi, symbols, kallsyms_path))
    if source.nr is None:
        option = "--syscall-nr" if entry == NATIVE else "--compat-syscall-nr"
        return _refuse(
            entry, None, f"{symbol} exists but its number is unknown: {source.source}; "
            f"give {option} or --kernel-headers"
        )
    verdict = _table_check(entry, source.nr, symbol, symbols, kcore_path)
    if isinstance(verdict, EntryConfirmation):
        return verdict
    return _fallback_check(entry, source, symbol, symbols, verdict)


FLAGS_ROW_FAILS = "spec row whole_call_errors.unknown_flags fails, the rest of the suite runs"


def probe_verdict(
    confirmation: EntryConfirmation, ret: int, err: int, query: QueryProbe | None = None
) -> EntryConfirmation:
    """Fold the probes' outcome into a statically confirmed entry (see the module doc)."""
    if ret == -1 and err == errno_names.EINVAL:
        return replace(
            confirmation, reason=f"{confirmation.reason}; {PROBE_TEXT} gave EINVAL",
            flags_rejected=True,
        )
    name = errno_names.errorcode.get(err, str(err)) if err else "0"
    outcome = f"{PROBE_TEXT} on number {confirmation.nr} gave ret={ret} errno={name}"
    if confirmation.level == LEVEL_TABLE:
        return replace(
            confirmation, reason=f"{confirmation.reason}; {outcome}, not EINVAL: {FLAGS_ROW_FAILS}",
            flags_rejected=False,
        )
    refused = f"{outcome}, expected -1/EINVAL"
    if query is None or confirmation.nr is None:
        return _refuse(confirmation.entry, confirmation.nr, refused)
    try:
        answer = query(confirmation.nr)
    except Exception as error:  # any failure is a reason, not a crash
        return _refuse(confirmation.entry, confirmation.nr,
                       f"{refused}; {QUERY_PROBE_TEXT} could not run: {error}")
    asked = f"{QUERY_PROBE_TEXT} of {answer.frame} gave ret={answer.ret} status={answer.status}"
    if not answer.is_the_call:
        return _refuse(confirmation.entry, confirmation.nr,
                       f"{refused}; {asked}, not node {answer.expected} as sysfs says")
    return replace(
        confirmation,
        reason=f"{confirmation.reason}; {outcome}, not EINVAL; {asked}, the node sysfs "
        f"gives, so the number is the call: {FLAGS_ROW_FAILS}",
        flags_rejected=False,
    )


def _default_probe(nr: int) -> tuple[int, int]:
    from movephys.syscall.native import move_phys_pages

    result = move_phys_pages(0, None, None, None, -1, syscall_nr=nr)
    return result.ret, result.errno


QUERY_CANDIDATES = 64  # pages mapped to find one whose frame a 32-bit caller can name


def query_own_frame(
    call: Callable[[int], tuple[int, int]], below: int | None = None
) -> QueryAnswer:
    """Query one frame of a page of ours (below ``below``) with ``call(phys)`` -> (ret, status).

    The page is mapped, touched and unmapped here; its node comes from sysfs.
    """
    from movephys import memory
    from movephys.probes import nodes, pagemap

    with memory.anonymous(QUERY_CANDIDATES * arch.PAGE_SIZE) as mapping:
        mapping.touch()
        for index in range(mapping.pages):
            pfn = pagemap.pfn_of(mapping.page(index))
            node = None if pfn is None else nodes.node_of_pfn(pfn)
            if pfn is None or node is None:
                continue
            phys = arch.pfn_to_phys(pfn)
            if below is not None and phys >= below:
                continue
            ret, status = call(phys)
            return QueryAnswer(ret, status, node, f"pfn {pfn:#x}, a page of ours")
    bound = "" if below is None else f" below {below:#x}"
    raise RuntimeError(f"none of {QUERY_CANDIDATES} pages of ours has a frame{bound} "
                       "with a node in sysfs (pagemap needs root)")


def native_query_probe(nr: int) -> QueryAnswer:
    """The query probe from this 64-bit process."""
    from movephys.syscall.native import move_phys_pages

    def call(phys: int) -> tuple[int, int]:
        result = move_phys_pages(1, [phys], None, 1, 0, syscall_nr=nr)
        return result.ret, result.status[0]

    return query_own_frame(call)


def _as_numbers(numbers: SyscallNumbers | int | None) -> SyscallNumbers:
    if isinstance(numbers, SyscallNumbers):
        return numbers
    return SyscallNumbers(
        NumberSource(numbers, "given" if numbers is not None else "no number given"),
        NumberSource(None, "no compat number given"),
    )


def confirm(
    numbers: SyscallNumbers | int | None,
    *,
    kallsyms_path: str = KALLSYMS,
    kcore_path: str | Path = kcore.KCORE,
    symbols: Kallsyms | None = None,
    probe: Callable[[int], tuple[int, int]] = _default_probe,
    compat_probe: Callable[[int], tuple[int, int]] | None = None,
    query_probe: QueryProbe | None = None,
    compat_query_probe: QueryProbe | None = None,
) -> Identity:
    """Confirm both entries; the native number is probed only once statically confirmed.

    ``compat_probe`` (e.g. :func:`movephys.syscall.compat.probe_int80`) probes
    the compat number the same way; without it the compat entry rests on the
    static check alone. ``query_probe`` and ``compat_query_probe`` (e.g.
    :func:`movephys.syscall.native.query_probe`) stand behind a fallback-level
    number whose flags probe did not give EINVAL. A bare number (or None)
    stands for the native entry
    only; pass the :class:`SyscallNumbers` of ``numbers.resolve()`` to keep
    the header table (collision check) and the compat number.
    """
    numbers = _as_numbers(numbers)
    if symbols is None:
        try:
            symbols = read_kallsyms(kallsyms_path)
        except KallsymsError as error:
            return Identity(
                _refuse(NATIVE, numbers.native.nr, str(error)),
                _refuse(COMPAT, numbers.compat.nr, str(error)),
            )
    native = confirm_entry(
        NATIVE, numbers.native, symbols, kallsyms_path=kallsyms_path, kcore_path=kcore_path
    )
    compat = confirm_entry(
        COMPAT, numbers.compat, symbols, kallsyms_path=kallsyms_path, kcore_path=kcore_path
    )
    if native.confirmed and native.nr is not None:
        native = probe_verdict(native, *probe(native.nr), query=query_probe)
    if compat.confirmed and compat.nr is not None and compat_probe is not None:
        try:
            outcome = compat_probe(compat.nr)
        except Exception as error:  # any failure is a reason, not a crash
            compat = _refuse(COMPAT, compat.nr, f"compat probe could not run: {error}")
        else:
            compat = probe_verdict(compat, *outcome, query=compat_query_probe)
    return Identity(native, compat)
