"""The C baseline (bench/revtrans.c) built at run time and loaded with cffi.

A shared object, not a program: the C walk runs inside the mover's own
process, so the timed part holds no fork or exec (a tiering daemon is a
long-running process). It is built once per source version by :mod:`movephys.cbuild`
into the cache ($MOVEPHYS_CACHE, which the VM runner points at the guest's
/tmp), as the compat cases' 32-bit helper is.

Every fact the C code needs (page size, pagemap bits, chunk and merge
sizes, the VMA to skip) is passed in :func:`config` from its Python home.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from cffi import FFI

from bench import translate
from movephys import arch, cbuild
from movephys.probes import pagemap

SOURCE = Path(__file__).with_name("revtrans.c")
GCC_FLAGS = ("-O2", "-Wall", "-shared", "-fPIC")
BUILD_TIMEOUT_S = 300.0  # gcc under TCG is slow; this happens once per guest boot

CDEF = """
struct rt_config {
    const char *proc;
    const char *skip_vma;
    uint64_t page_size;
    uint64_t present_bit;
    uint64_t swapped_bit;
    uint64_t pfn_mask;
    uint64_t chunk_entries;
    uint64_t merge_gap_pages;
};
struct rt_stats {
    uint64_t processes;
    uint64_t vmas;
    uint64_t entries;
    uint64_t preads;
    uint64_t failed_calls;
};
struct rt_probe {
    long nr;
    int phys;
    int query;
    int node_a;
    int node_b;
    int flags;
    uint64_t vaddr;
};
long rt_translate(const struct rt_config *cfg, const uint64_t *pfns, size_t n,
                  uint64_t *sorted, int32_t *pid, uint64_t *vaddr, struct rt_stats *stats);
long rt_move(long nr_move_pages, size_t n, const int32_t *pid, const uint64_t *vaddr,
             int node, int flags, int32_t *status, struct rt_stats *stats);
long rt_time_probe(const struct rt_config *cfg, const struct rt_probe *probe, long reps,
                   uint64_t *ns, long *unexpected);
"""

ffi = FFI()
ffi.cdef(CDEF)


class CBaselineUnavailable(RuntimeError):
    """The C baseline cannot be built or loaded here (one line)."""


REVTRANS = cbuild.CBuild(SOURCE, "revtrans", GCC_FLAGS, suffix=".so", timeout_s=BUILD_TIMEOUT_S)


def build(directory: Path | None = None) -> Path:
    """The shared object, built when this source version has none yet."""
    try:
        return cbuild.build(REVTRANS, directory)
    except cbuild.BuildFailed as error:
        raise CBaselineUnavailable(str(error)) from None


@functools.cache
def load() -> Any:
    """The library, built if need be; loaded once per process (forks inherit it)."""
    try:
        return ffi.dlopen(str(build()))
    except OSError as error:
        raise CBaselineUnavailable(f"cannot load the C baseline: {error}") from None


def unavailable_reason() -> str | None:
    """Why the C baseline cannot run here, or None."""
    try:
        load()
    except CBaselineUnavailable as error:
        return str(error)
    return None


@functools.cache
def _config(proc: str) -> tuple[Any, tuple[Any, ...]]:
    (skipped,) = translate.SKIPPED_VMAS  # the C walk compares one name
    keep = (ffi.new("char[]", proc.encode()), ffi.new("char[]", skipped.encode()))
    cfg = ffi.new("struct rt_config *", {
        "proc": keep[0],
        "skip_vma": keep[1],
        "page_size": arch.PAGE_SIZE,
        "present_bit": pagemap.PRESENT,
        "swapped_bit": pagemap.SWAPPED,
        "pfn_mask": pagemap.PFN_MASK,
        "chunk_entries": translate.CHUNK_PAGES,
        "merge_gap_pages": translate.MERGE_GAP_PAGES,
    })
    return cfg, keep


def config(proc: Path = Path("/proc")) -> Any:
    """The struct rt_config for walking ``proc``; it lives as long as the process."""
    return _config(str(proc))[0]
