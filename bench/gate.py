"""Whether move_phys_pages may be measured here: the number resolved and confirmed, or why not."""

from __future__ import annotations

from dataclasses import dataclass

from movephys.syscall import identity, numbers


@dataclass(frozen=True)
class Gate:
    nr: int | None  # the confirmed number, None when it must not be called
    account: str  # one line: how it was confirmed, or why not

    @property
    def open(self) -> bool:
        return self.nr is not None


def syscall_gate(explicit: str | None, kernel_headers: str | None) -> Gate:
    """Resolve the number (option, environment, headers) and confirm it before any call.

    A malformed option raises numbers.SyscallNumberError (a usage error).
    """
    resolved = numbers.resolve(explicit, kernel_headers)
    verdict = identity.confirm(resolved)
    if verdict.confirmed and verdict.nr is not None:
        return Gate(verdict.nr, f"number {verdict.nr} from {resolved.source}: {verdict.reason}")
    return Gate(None, verdict.reason)
