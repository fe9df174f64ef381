"""The C reverse translation (bench/revtrans.c) behind a small Python face.

:class:`CWalk` allocates every C array for K PFNs up front (untimed, in a
mover's ``prepare``), so the timed calls :meth:`CWalk.translate` and
:meth:`CWalk.move` run no Python per entry. :meth:`CWalk.translation`
turns the answer into the numpy walk's :class:`~bench.translate.Translation`
afterwards, so both baselines are checked by the same code.
"""

from __future__ import annotations

import errno
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import clib
from bench.translate import Translation


class CWalkError(RuntimeError):
    """The C walk failed as a whole (one line)."""


@dataclass(frozen=True)
class MoveOutcome:
    """What the per-owner move_pages calls reported (status in the order of the sorted PFNs)."""

    calls: int
    failed_calls: int
    status: tuple[int, ...]


def _raise_on_error(ret: int, what: str) -> int:
    if ret < 0:
        raise CWalkError(f"{what} failed: {errno.errorcode.get(-ret, str(-ret))}")
    return ret


class CWalk:
    """C arrays for one set of PFNs; translate, then move, as often as asked."""

    def __init__(self, pfns: Sequence[int], proc: Path = Path("/proc")) -> None:
        self.lib = clib.load()
        self.cfg = clib.config(proc)
        count = max(1, len(pfns))  # a zero-length cffi array still needs a valid address
        self.n = len(pfns)
        self.pfns = clib.ffi.new("uint64_t[]", list(pfns) or count)
        self.sorted = clib.ffi.new("uint64_t[]", count)
        self.pids = clib.ffi.new("int32_t[]", count)
        self.vaddrs = clib.ffi.new("uint64_t[]", count)
        self.status = clib.ffi.new("int32_t[]", count)
        self.stats: Any = clib.ffi.new("struct rt_stats *")  # its fields come from the cdef
        self.distinct = 0

    def translate(self) -> int:
        """Find the owners; returns the number of distinct PFNs."""
        ret = self.lib.rt_translate(self.cfg, self.pfns, self.n, self.sorted, self.pids,
                                    self.vaddrs, self.stats)
        self.distinct = _raise_on_error(int(ret), "the C walk")
        return self.distinct

    def move(self, move_pages_nr: int, node: int, flags: int) -> int:
        """move_pages per owner of the PFNs found; returns the calls made."""
        ret = self.lib.rt_move(move_pages_nr, self.distinct, self.pids, self.vaddrs, node,
                               flags, self.status, self.stats)
        return _raise_on_error(int(ret), "the C move")

    def translation(self) -> Translation:
        """The answer in the numpy walk's terms (untimed: Python per PFN)."""
        result = Translation(
            processes_scanned=int(self.stats.processes),
            entries_scanned=int(self.stats.entries),
        )
        for index in range(self.distinct):
            pid = int(self.pids[index])
            if pid:
                result.owners[int(self.sorted[index])] = [(pid, int(self.vaddrs[index]))]
        return result

    def move_outcome(self, calls: int) -> MoveOutcome:
        owned = [index for index in range(self.distinct) if self.pids[index]]
        return MoveOutcome(calls, int(self.stats.failed_calls),
                           tuple(int(self.status[index]) for index in owned))


def translate_c(pfns: Sequence[int], proc: Path = Path("/proc")) -> Translation:
    """The C walk's answer for ``pfns``: what :func:`bench.translate.translate` gives, in C."""
    walk = CWalk(pfns, proc)
    walk.translate()
    return walk.translation()

