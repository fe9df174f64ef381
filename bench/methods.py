"""The ways to act on K physical pages, each as a :class:`~bench.measure.Mover`.

Only ``work`` is timed. It receives what a tiering daemon would have: the
PFNs (and for the copy floor, two prepared buffers). The syscall arrays of
(a) and (d) are built before the clock starts, so those two time the kernel
and not Python building arrays; the walks build theirs as part of the walk.
``check`` runs after the clock stopped and turns the result into a
:class:`Verdict`; the holders then check the pages themselves (see
:mod:`bench.sweep`).
"""

from __future__ import annotations

import errno
from collections import Counter
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from bench.measure import Mover
from bench.plan import COPY, KNOWN, PHYS, REVERSE, REVERSE_C, TRANSLATE, TRANSLATE_C
from bench.translate import Translation, translate
from bench.translate_c import CWalk
from bench.workload import Target
from movephys import arch, memory
from movephys.syscall import native
from movephys.syscall.native import CallResult, RawPointer

COPY_CHECK_CHUNK = 1 << 20


@dataclass(frozen=True)
class Job:
    targets: tuple[Target, ...]
    source_node: int
    target_node: int
    syscall_nr: int | None  # confirmed move_phys_pages number; None where it is absent


@dataclass(frozen=True)
class Verdict:
    """The mover's own account: what its calls reported, before the holders look."""

    good: int  # status entries == target node, right translations, or pages copied intact
    calls: int
    processes_scanned: int = 0
    entries_scanned: int = 0
    note: str = ""


def status_note(statuses: Sequence[int], node: int) -> str:
    """'12 x -EBUSY, 1 x 0' for the entries that are not ``node``; '' when all are."""
    counts = Counter(value for value in statuses if value != node)
    return ", ".join(f"{count} x {_status_name(value)}" for value, count in counts.most_common())


def _status_name(value: int) -> str:
    if value == native.STATUS_SENTINEL:
        return "unwritten"
    if value < 0:
        return "-" + errno.errorcode.get(-value, str(-value))
    return f"node {value}"


def _call_note(results: Sequence[CallResult]) -> str:
    failed = [r for r in results if r.ret < 0]
    if not failed:
        return ""
    return f"{len(failed)} call(s) failed: {errno.errorcode.get(failed[0].errno, failed[0].errno)}"


def _join(*notes: str) -> str:
    return "; ".join(note for note in notes if note)


@dataclass(frozen=True)
class PreparedCall:
    """The C arrays of one call (pages, nodes, status), built before the clock starts."""

    count: int
    pages: Any
    nodes: Any
    status: Any

    @classmethod
    def of(cls, addresses: Sequence[int], node: int) -> PreparedCall:
        count = len(addresses)
        return cls(
            count,
            native.ffi.new("unsigned long[]", list(addresses)),
            native.ffi.new("int[]", [node] * count),
            native.ffi.new("int[]", [native.STATUS_SENTINEL] * count),
        )

    def pointers(self) -> tuple[RawPointer, RawPointer, RawPointer]:
        def at(array: Any) -> RawPointer:
            return RawPointer(int(native.ffi.cast("uintptr_t", array)))

        return at(self.pages), at(self.nodes), at(self.status)

    def statuses(self) -> list[int]:
        return [int(self.status[index]) for index in range(self.count)]


def phys(job: Job) -> Mover:
    """(a) one move_phys_pages call naming the K frames."""
    if job.syscall_nr is None:
        raise ValueError("move_phys_pages has no confirmed number on this kernel")
    nr = job.syscall_nr
    addresses = [arch.pfn_to_phys(target.pfn) for target in job.targets]
    node = job.target_node

    def work(call: PreparedCall) -> CallResult:
        return native.move_phys_pages(call.count, *call.pointers(), native.MPOL_MF_MOVE,
                                      syscall_nr=nr)

    def check(call: PreparedCall, result: CallResult) -> Verdict:
        statuses = call.statuses()
        good = sum(1 for value in statuses if value == node)
        return Verdict(good, 1, note=_join(_call_note([result]), status_note(statuses, node)))

    return Mover(lambda: PreparedCall.of(addresses, node), work, check)


def known(job: Job) -> Mover:
    """(d) move_pages per owner with the virtual addresses given: no translation at all.

    The kernel's own cost of the move as mainline has it, on the same pages
    as (a): (a) minus (d) is what move_phys_pages costs over move_pages.
    """
    node = job.target_node
    owners: dict[int, list[int]] = {}
    for target in job.targets:
        owners.setdefault(target.pid, []).append(target.vaddr)

    def prepare() -> list[tuple[int, PreparedCall]]:
        return [(pid, PreparedCall.of(vaddrs, node)) for pid, vaddrs in owners.items()]

    def work(calls: list[tuple[int, PreparedCall]]) -> list[CallResult]:
        return [
            native.move_pages(pid, call.count, *call.pointers(), native.MPOL_MF_MOVE)
            for pid, call in calls
        ]

    def check(calls: list[tuple[int, PreparedCall]], results: list[CallResult]) -> Verdict:
        statuses = [value for _, call in calls for value in call.statuses()]
        return Verdict(sum(1 for value in statuses if value == node), len(results),
                       note=_join(_call_note(results), status_note(statuses, node)))

    return Mover(prepare, work, check)


def _move_owned(translation: Translation, node: int) -> list[CallResult]:
    results = []
    for pid, pages in translation.by_process().items():
        addresses = [vaddr for vaddr, _ in pages]
        count = len(addresses)
        results.append(native.move_pages(
            pid, count, addresses, [node] * count, count, native.MPOL_MF_MOVE
        ))
    return results


def reverse(job: Job) -> Mover:
    """(b) find every frame's owner through /proc/*/pagemap, then move_pages per owner."""
    pfns = [target.pfn for target in job.targets]
    node = job.target_node

    def work(_: None) -> tuple[Translation, list[CallResult]]:
        translation = translate(pfns)
        return translation, _move_owned(translation, node)

    def check(_: None, outcome: tuple[Translation, list[CallResult]]) -> Verdict:
        translation, results = outcome
        statuses = [value for result in results for value in result.status]
        missing = len(pfns) - len(translation.owners)
        return Verdict(
            sum(1 for value in statuses if value == node),
            len(results),
            translation.processes_scanned,
            translation.entries_scanned,
            _join(
                f"{missing} frame(s) without an owner" if missing else "",
                _call_note(results),
                status_note(statuses, node),
            ),
        )

    return Mover(lambda: None, work, check)


def reverse_c(job: Job) -> Mover:
    """(b) in C: the same walk and per-owner move_pages, no interpreter work per entry."""
    pfns = [target.pfn for target in job.targets]
    node = job.target_node
    nr = arch.host().move_pages_nr

    def work(walk: CWalk) -> int:
        walk.translate()
        return walk.move(nr, node, native.MPOL_MF_MOVE)

    def check(walk: CWalk, calls: int) -> Verdict:
        translation = walk.translation()
        outcome = walk.move_outcome(calls)
        missing = len(set(pfns)) - len(translation.owners)
        failed = (f"{outcome.failed_calls} call(s) failed" if outcome.failed_calls else "")
        return Verdict(
            sum(1 for value in outcome.status if value == node),
            outcome.calls,
            translation.processes_scanned,
            translation.entries_scanned,
            _join(f"{missing} frame(s) without an owner" if missing else "", failed,
                  status_note(outcome.status, node)),
        )

    return Mover(lambda: CWalk(pfns), work, check)


def _translation_verdict(job: Job, translation: Translation) -> Verdict:
    """How many frames the walk found at the address where their holder mapped them."""
    expected = {target.pfn: (target.pid, target.vaddr) for target in job.targets}
    good = sum(
        1 for pfn, where in expected.items() if translation.owners.get(pfn, [None])[0] == where
    )
    wrong = len(expected) - good
    return Verdict(
        good, 0, translation.processes_scanned, translation.entries_scanned,
        f"{wrong} frame(s) not found at their holder's address" if wrong else "",
    )


def translation_c(job: Job) -> Mover:
    """(c) in C: the walk of (b) in C alone, checked like the numpy walk."""
    pfns = [target.pfn for target in job.targets]
    return Mover(lambda: CWalk(pfns), lambda walk: walk.translate(),
                 lambda walk, _: _translation_verdict(job, walk.translation()))


def reverse_translation(job: Job) -> Mover:
    """(c) the walk of (b) alone; each answer is compared with where the holder put the page."""
    pfns = [target.pfn for target in job.targets]
    return Mover(lambda: None, lambda _: translate(pfns),
                 lambda _, translation: _translation_verdict(job, translation))


def copy(job: Job) -> Mover:
    """The floor: memcpy of K pages from a buffer on the source node to one on the target."""
    length = len(job.targets) * arch.PAGE_SIZE

    def prepare() -> tuple[ExitStack, memory.Mapping, memory.Mapping]:
        stack = ExitStack()
        buffers = []
        for node, fill in ((job.source_node, b"\xa5"), (job.target_node, b"\x00")):
            mapping = stack.enter_context(memory.anonymous(length))
            mapping.madvise(0, length, memory.MADV_NOHUGEPAGE)
            mapping.write(0, fill * length)
            pages = [mapping.page(index) for index in range(mapping.pages)]
            placed = memory.place_on_node(pages, node)
            if any(value != node for value in placed):
                raise RuntimeError(f"copy buffer pages would not go to node {node}")
            buffers.append(mapping)
        source, target = buffers
        source.write(0, bytes(range(256)) * (length // 256))
        return stack, source, target

    def work(state: tuple[ExitStack, memory.Mapping, memory.Mapping]) -> None:
        _, source, target = state
        memory.ffi.memmove(
            memory.ffi.cast("char *", target.addr), memory.ffi.cast("char *", source.addr), length
        )

    def check(state: tuple[ExitStack, memory.Mapping, memory.Mapping], _: None) -> Verdict:
        stack, source, target = state
        with stack:
            damaged = 0
            for offset in range(0, length, COPY_CHECK_CHUNK):
                size = min(COPY_CHECK_CHUNK, length - offset)
                if source.read(offset, size) != target.read(offset, size):
                    damaged += 1
        good = len(job.targets) if not damaged else 0
        return Verdict(good, 0, note=f"{damaged} chunk(s) differ" if damaged else "")

    return Mover(prepare, work, check)


MOVERS = {
    PHYS: phys,
    KNOWN: known,
    REVERSE: reverse,
    REVERSE_C: reverse_c,
    TRANSLATE: reverse_translation,
    TRANSLATE_C: translation_c,
    COPY: copy,
}
