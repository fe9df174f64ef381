"""The C baseline (bench/revtrans.c) built at run time and loaded with cffi.

A shared object, not a program: the C walk runs inside the mover's own
process, so the timed part holds no fork or exec (a tiering daemon is a
long-running process). It is built once per source version into the helper
cache of :mod:`movephys.syscall.compat` (:func:`~movephys.syscall.compat.cache_dir`:
$MOVEPHYS_CACHE, which the VM runner points at the guest's /tmp), named by a
hash of the source and flags, written under a private name and renamed, as
compat's helper is. compat's ``build_helper`` itself is bound to its own
source, flags and messages, so the few lines of the build are repeated here.

Every fact the C code needs (page size, pagemap bits, chunk and merge
sizes, the VMA to skip) is passed in :func:`config` from its Python home.
"""

from __future__ import annotations

import functools
import hashlib
import os
import subprocess
import tempfile
from pathlib import Path
from typing import Any

from cffi import FFI

from bench import translate
from movephys.probes import pagemap
from movephys.syscall.compat import cache_dir

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


def source_key(source: bytes) -> str:
    """Names the build: a change of the source, flags or declarations builds anew."""
    return hashlib.sha256(source + " ".join(GCC_FLAGS).encode() + CDEF.encode()).hexdigest()[:16]


def _first_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error" in line]
    return (lines or stderr.splitlines() or ["no output"])[0].strip()


def build(directory: Path | None = None) -> Path:
    """The shared object, built when this source version has none yet."""
    source = SOURCE.read_bytes()
    directory = cache_dir() if directory is None else directory
    target = directory / f"revtrans-{source_key(source)}.so"
    if target.is_file():
        return target
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".revtrans-", suffix=".so", dir=directory)
    except OSError as error:
        raise CBaselineUnavailable(
            f"cache directory {directory} unusable: {error.strerror}") from None
    os.close(fd)
    try:
        built = subprocess.run(["gcc", *GCC_FLAGS, "-o", temporary, str(SOURCE)],
                               capture_output=True, text=True, timeout=BUILD_TIMEOUT_S,
                               check=False)
    except FileNotFoundError:
        os.unlink(temporary)
        raise CBaselineUnavailable("no gcc to build the C baseline: install gcc") from None
    except subprocess.TimeoutExpired:
        os.unlink(temporary)
        raise CBaselineUnavailable(f"gcc took more than {BUILD_TIMEOUT_S:.0f} s") from None
    if built.returncode != 0:
        os.unlink(temporary)
        raise CBaselineUnavailable(f"gcc failed on {SOURCE.name}: "
                                   f"{_first_error_line(built.stderr)}")
    os.replace(temporary, target)  # parallel builders never see half a file
    return target


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
        "page_size": pagemap.PAGE_SIZE,
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
