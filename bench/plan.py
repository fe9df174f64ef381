"""What a sweep measures: the K and P values, repeats and methods, checked up front."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PHYS = "phys"  # (a) move_phys_pages
KNOWN = "known"  # (d) move_pages per owner, virtual addresses known: the kernel's own cost
REVERSE = "reverse"  # (b) pagemap walk (numpy) + move_pages per owner
REVERSE_C = "reverse_c"  # (b) the same in C
TRANSLATE = "translate"  # (c) the numpy walk alone
TRANSLATE_C = "translate_c"  # (c) the C walk alone
COPY = "copy"  # the floor: memcpy of K pages across nodes
METHODS: tuple[str, ...] = (PHYS, KNOWN, REVERSE, REVERSE_C, TRANSLATE, TRANSLATE_C, COPY)
MOVING_METHODS = frozenset({PHYS, KNOWN, REVERSE, REVERSE_C})
C_METHODS = frozenset({REVERSE_C, TRANSLATE_C})  # need gcc at run time
BASELINES = (REVERSE, REVERSE_C)  # reverse translation + move_pages: the fair one is the faster

FULL_KS: tuple[int, ...] = tuple(4**i for i in range(9))  # 1 .. 65536
FULL_PS: tuple[int, ...] = (1, 8, 64)
FULL_REPEATS = 3
QUICK_KS: tuple[int, ...] = (1, 64, 4096)
QUICK_PS: tuple[int, ...] = (1, 64)
QUICK_REPEATS = 2
# Single calls timed per fixed-cost probe and P (bench.fixed_cost): enough for a
# median and a 10..90 % band; under TCG a moving call takes tens of ms.
FULL_CALL_REPEATS = 100
QUICK_CALL_REPEATS = 30

MAX_PROCESSES = 512
MAX_PAGES = 1 << 18  # 1 GiB of 4 KiB pages: more would not fit the VM's nodes


class PlanError(ValueError):
    """A sweep option is unusable (one line)."""


@dataclass(frozen=True)
class Plan:
    ks: tuple[int, ...]
    ps: tuple[int, ...]
    repeats: int
    methods: tuple[str, ...]
    call_repeats: int = FULL_CALL_REPEATS  # 0: no fixed-cost probes

    @property
    def total_pages(self) -> int:
        """Pages the workload holds in all: enough for the largest K."""
        return max(self.ks)

    def pages_per_process(self, processes: int) -> int:
        """M for a given P: the total spread evenly, rounded up."""
        return -(-self.total_pages // processes)


def parse_int_list(text: str, option: str) -> tuple[int, ...]:
    """'1,4,16' -> (1, 4, 16); a one-line PlanError for anything else."""
    values: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or int(part) == 0:
            raise PlanError(f"{option}: {part!r} is not a positive integer (give e.g. 1,4,16)")
        values.append(int(part))
    return tuple(sorted(set(values)))


def parse_methods(text: str) -> tuple[str, ...]:
    chosen = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in chosen if name not in METHODS]
    if unknown or not chosen:
        raise PlanError(
            f"--methods: {', '.join(unknown) or 'nothing'} unknown; choose from {','.join(METHODS)}"
        )
    return tuple(name for name in METHODS if name in chosen)


def make_plan(
    *,
    quick: bool = False,
    ks: Sequence[int] | None = None,
    ps: Sequence[int] | None = None,
    repeats: int | None = None,
    methods: Sequence[str] = METHODS,
    call_repeats: int | None = None,
) -> Plan:
    """The full or quick plan, with any given value overriding it, checked."""
    plan = Plan(
        ks=tuple(ks) if ks else (QUICK_KS if quick else FULL_KS),
        ps=tuple(ps) if ps else (QUICK_PS if quick else FULL_PS),
        repeats=repeats if repeats is not None else (QUICK_REPEATS if quick else FULL_REPEATS),
        methods=tuple(methods),
        call_repeats=call_repeats if call_repeats is not None else (
            QUICK_CALL_REPEATS if quick else FULL_CALL_REPEATS),
    )
    if plan.repeats < 1:
        raise PlanError(f"--repeats: {plan.repeats} is below 1")
    if plan.call_repeats < 0:
        raise PlanError(f"--call-repeats: {plan.call_repeats} is below 0")
    if plan.total_pages > MAX_PAGES:
        raise PlanError(f"--k: {plan.total_pages} pages exceed the limit of {MAX_PAGES}")
    if max(plan.ps) > MAX_PROCESSES:
        raise PlanError(f"--p: {max(plan.ps)} processes exceed the limit of {MAX_PROCESSES}")
    return plan
