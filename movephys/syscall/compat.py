"""32-bit callers of move_phys_pages and move_pages, two ways (:data:`PATHS`).

``ia32_binary``
    helpers/compat32.c built with ``gcc -m32 -static -O2`` (then without
    ``-static``) into the cache directory (:mod:`movephys.cache`), named by
    a hash of the source and flags, and run
    once per call. A genuine 32-bit process: its syscalls take the compat
    entry and in_compat_syscall() is true.
``int80``
    ``int $0x80`` from this 64-bit process, through a 35-byte machine-code
    stub in an executable mmap'ed page called with cffi (no compiler needed
    at run time). The kernel takes the i386 entry; only the low 32 bits of
    each argument count, so every array lives in a MAP_32BIT mapping.

Both return :class:`movephys.syscall.native.CallResult` with ``ret == -1``
and ``errno`` set on a whole-call error. :func:`unavailable_reason` says why
a path cannot run (no IA32 emulation, no gcc-multilib...) as a skip reason.
"""

from __future__ import annotations

import errno as errno_names
import functools
import json
import os
import platform
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from movephys import arch, cbuild, kconfig, memory
from movephys.arch import PAGE_SIZE
from movephys.arch import i386 as arch_i386
from movephys.probes import kconfig as running_config
from movephys.spec import load_spec
from movephys.syscall.identity import QueryAnswer, query_own_frame
from movephys.syscall.kallsyms import KallsymsError, read_kallsyms
from movephys.syscall.native import MPOL_MF_MOVE, STATUS_SENTINEL, CallResult

PATHS = ("ia32_binary", "int80")
HELPER_SOURCE = Path(__file__).parent / "helpers" / "compat32.c"
# The kernel's uapi asm headers serve 32- and 64-bit callers alike. Debian
# and Ubuntu keep them under the x86_64 multiarch directory and make them
# visible to gcc -m32 by gcc-multilib's /usr/include/asm link; that package
# conflicts with every cross gcc (the arm64 port needs one), so the helper
# looks there itself, after every directory where a distribution has asm/.
GCC_FLAGS = ("-m32", "-O2", "-Wall", "-idirafter", "/usr/include/x86_64-linux-gnu")
HELPER_TIMEOUT_S = 60.0
BUILD_TIMEOUT_S = 120.0

# long stub(long nr, long a1, long a2, long a3, long a4, long a5, long a6):
# i386 syscall convention eax=nr, ebx, ecx, edx, esi, edi, ebp = a1..a6.
INT80_STUB = bytes.fromhex(
    "53"  # push rbx            (callee-saved, used for a1)
    "55"  # push rbp            (callee-saved, used for a6)
    "4889f8"  # mov rax, rdi
    "4889f3"  # mov rbx, rsi
    "4989d2"  # mov r10, rdx    (a2 parked: rdx is overwritten next)
    "4889ca"  # mov rdx, rcx
    "4c89d1"  # mov rcx, r10
    "4c89c6"  # mov rsi, r8
    "4c89cf"  # mov rdi, r9
    "488b6c2418"  # mov rbp, [rsp+24]  (a6: 7th argument, above two pushes)
    "cd80"  # int 0x80
    "4898"  # cdqe              (sign-extend the 32-bit result)
    "5d"  # pop rbp
    "5b"  # pop rbx
    "c3"  # ret
)


class CompatUnavailable(RuntimeError):
    """This 32-bit path cannot run here; the message is the skip reason."""


class HelperError(RuntimeError):
    """The 32-bit helper failed or answered nonsense (one line)."""


@dataclass(frozen=True)
class OwnPagesResult:
    """move_pages on pages the 32-bit side mapped itself: the query, then the move."""

    query: CallResult
    move: CallResult
    addresses: tuple[int, ...]


# -- why a path cannot run ----------------------------------------------------


def emulation_reason(
    config: dict[str, str] | None, cmdline: str, has_ia32_entries: bool | None
) -> str | None:
    """Why the kernel runs no 32-bit code, from its config, command line and symbols."""
    if config is not None and not kconfig.enabled(config, "CONFIG_IA32_EMULATION"):
        return "kernel built without CONFIG_IA32_EMULATION"
    words = dict(
        (part.partition("=")[0], part.partition("=")[2]) for part in cmdline.split()
    )
    setting = words.get("ia32_emulation")
    if setting is not None and setting.lower() in ("0", "n", "no", "off", "false"):
        return f"IA32 emulation disabled on the kernel command line (ia32_emulation={setting})"
    default_off = config is not None and kconfig.enabled(
        config, "CONFIG_IA32_EMULATION_DEFAULT_DISABLED"
    )
    if default_off and (setting is None or setting.lower() not in ("1", "y", "yes", "on", "true")):
        return "IA32 emulation off by default (CONFIG_IA32_EMULATION_DEFAULT_DISABLED=y)"
    if has_ia32_entries is False:
        return "no __ia32_sys_* entries in /proc/kallsyms (kernel without IA32 emulation)"
    return None


def _machine_emulation_reason() -> str | None:
    if arch.compat() is None:
        return f"{platform.machine()} has no 32-bit ABI this suite calls (only x86_64's IA32)"
    found = running_config.read_config()
    try:
        cmdline = Path("/proc/cmdline").read_text()
    except OSError:
        cmdline = ""
    try:
        has_entries: bool | None = arch_i386.ABI.entry_symbols("move_pages")[0] in read_kallsyms()
    except KallsymsError:
        has_entries = None
    return emulation_reason(dict(found[0]) if found else None, cmdline, has_entries)


@functools.cache
def unavailable_reason(path: str | None = None) -> str | None:
    """Why no 32-bit caller (``path`` None: any path; else that one) can run, or None."""
    if path is not None and path not in PATHS:
        raise ValueError(f"unknown compat path {path!r}; one of {', '.join(PATHS)}")
    reason = _machine_emulation_reason()
    if reason is not None or path is None:
        return reason
    if path == "ia32_binary":
        return _helper_reason()
    return _int80_reason()


# -- the ia32 helper binary -----------------------------------------------------


HELPER = cbuild.CBuild(HELPER_SOURCE, "compat32", GCC_FLAGS, fallbacks=(("-static",), ()),
                       timeout_s=BUILD_TIMEOUT_S)


def build_helper(directory: Path | None = None) -> Path:
    """The compiled helper, built once per source version; CompatUnavailable when it cannot be."""
    try:
        return cbuild.build(HELPER, directory)
    except cbuild.BuildFailed as error:
        if str(error).startswith("gcc failed"):
            raise CompatUnavailable(
                f"gcc -m32 cannot link: install gcc-multilib ({error})"
            ) from None
        raise CompatUnavailable(f"{error} (and gcc-multilib)") from None


def _helper_reason() -> str | None:
    try:
        answer = run_helper(["which=getpid"])
    except (CompatUnavailable, HelperError) as error:
        return str(error)
    if answer.get("ret", -1) <= 0:
        return f"the 32-bit helper's getpid failed: {answer}"
    return None


def run_helper(arguments: Sequence[str]) -> dict[str, Any]:
    """Run the helper with key=value arguments; its JSON answer."""
    binary = build_helper()
    try:
        done = subprocess.run(
            [str(binary), *arguments],
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT_S,
            check=False,
        )
    except OSError as error:
        if error.errno == errno_names.ENOEXEC:
            raise CompatUnavailable(
                "the kernel cannot execute 32-bit programs (Exec format error: no IA32 emulation)"
            ) from None
        raise HelperError(f"{binary} did not start: {error.strerror}") from None
    except subprocess.TimeoutExpired:
        raise HelperError(f"{binary} did not answer within {HELPER_TIMEOUT_S:.0f} s") from None
    if done.returncode < 0:
        raise HelperError(f"{binary} killed by signal {-done.returncode}: {done.stderr.strip()}")
    try:
        answer: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise HelperError(f"{binary} answered no JSON: {done.stdout.strip()[:200]!r}") from None
    if "error" in answer:
        raise HelperError(f"{binary} refused the request: {answer['error']}")
    return answer


def _result(answer: dict[str, Any]) -> CallResult:
    return CallResult(int(answer["ret"]), int(answer["errno"]), tuple(answer["status"]))


def _helper_call(
    which: str,
    syscall_nr: int,
    count: int,
    pages: bytes | None,
    nodes: Sequence[int] | None,
    status_len: int | None,
    flags: int,
    *,
    pid: int = 0,
    status_fill: int = STATUS_SENTINEL,
) -> CallResult:
    arguments = [
        f"which={which}",
        f"nr={syscall_nr}",
        f"pid={pid}",
        f"count={count}",
        "pages=null" if pages is None else f"pages=hex:{pages.hex()}",
        "nodes=null" if nodes is None else "nodes=" + ",".join(str(n) for n in nodes),
        "status=null" if status_len is None else f"status={status_len}",
        f"fill={status_fill}",
        f"flags={flags}",
    ]
    if nodes is not None and not nodes:
        arguments[5] = "nodes=0"  # an empty list still means a non-NULL array
    return _result(run_helper(arguments))


# -- int $0x80 from this process --------------------------------------------------


@functools.cache
def _int80_stub() -> Any:
    """The stub as a callable; its one page stays mapped for the life of the process."""
    address = memory.executable_page(INT80_STUB)
    return memory.ffi.cast("long (*)(long, long, long, long, long, long, long)", address)


def int80(number: int, *args: int) -> tuple[int, int]:
    """``int $0x80`` with up to six 32-bit arguments -> (ret, errno) as libc would give."""
    padded = [a & 0xFFFFFFFF for a in args] + [0] * (6 - len(args))
    raw = _int80_stub()(number, *padded)
    if -4095 <= raw < 0:
        return -1, -raw
    return raw, 0


def _int80_reason() -> str | None:
    """Try int $0x80 getpid in a forked child: a disabled entry kills only the child."""
    _int80_arrays()  # now, at the first compat case's gate, before any case unmaps a page
    pid = os.fork()
    if pid == 0:  # the child: never returns into the caller
        try:
            ret, _ = int80(arch_i386.ABI.getpid_nr)
            os._exit(0 if ret == os.getpid() else 1)
        except BaseException:  # noqa: B036 - anything at all means "unusable"
            os._exit(2)
    _, wait_status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(wait_status):
        signal = os.WTERMSIG(wait_status)
        return f"int $0x80 killed a test process with signal {signal}: IA32 emulation disabled"
    if os.WEXITSTATUS(wait_status) != 0:
        return "int $0x80 getpid did not return the pid: the i386 entry does not work"
    return None


# Room for the arrays of every batch the suite passes through int $0x80.
INT80_ARRAYS_BYTES = 64 * 1024


@functools.cache
def _int80_arrays() -> memory.Mapping:
    """Where int $0x80 calls put their arrays, mapped once for the process.

    A mapping made per call can land in a page a case unmapped on purpose to
    name an unmapped address, and map it again: the soak saw the n48
    geometry query report a node for that entry once in ten runs.
    """
    return memory.lasting_below_4g(INT80_ARRAYS_BYTES)


@contextmanager
def _arrays_below_4g(size: int) -> Iterator[memory.Mapping]:
    """The lasting arrays mapping when @size fits it, else a mapping of its own."""
    if size <= INT80_ARRAYS_BYTES:
        yield _int80_arrays()
        return
    with memory.anonymous(size, below_4g=True) as arrays:
        yield arrays


def _int80_call(
    number: int,
    leading: Sequence[int],
    count: int,
    pages: bytes | None,
    nodes: Sequence[int] | None,
    status_len: int | None,
    flags: int,
    status_fill: int,
) -> CallResult:
    size = len(pages or b"") + 4 * len(nodes or ()) + 4 * (status_len or 0) + 64
    with _arrays_below_4g(size) as arrays:
        offset = 0
        pages_addr = nodes_addr = status_addr = 0
        if pages is not None:
            arrays.write(0, pages)
            pages_addr = arrays.addr
            offset = (len(pages) + 15) // 16 * 16
        if nodes is not None:
            nodes_addr = arrays.write_i32s(offset, list(nodes))
            offset += (4 * len(nodes) + 15) // 16 * 16 or 16
        if status_len is not None:
            status_addr = arrays.write_i32s(offset, [status_fill] * status_len)
        ret, err = int80(number, *leading, count, pages_addr, nodes_addr, status_addr, flags)
        status = arrays.read_i32s(offset, status_len) if status_len else ()
    return CallResult(ret, err, status)


# -- the calls ------------------------------------------------------------------------


def pointer_array(values: Sequence[int], bits: int | None = None) -> bytes:
    """The bytes of a *pages* array as a 32-bit caller lays it out.

    ``bits`` defaults to the compat element width of the spec; 64 lays the
    array out as the draft man page's ``uint64_t *`` did. Values must fit.
    """
    if bits is None:
        bits = load_spec().element_width("compat")
    width = bits // 8
    for value in values:
        if not 0 <= value < 1 << bits:
            raise ValueError(f"{value:#x} does not fit a {bits}-bit element")
    return b"".join(value.to_bytes(width, "little") for value in values)


def _require(path: str) -> None:
    reason = unavailable_reason(path)
    if reason is not None:
        raise CompatUnavailable(reason)


def move_phys_pages(
    nr: int,
    pages: bytes | None,
    nodes: Sequence[int] | None,
    status: int | None,
    flags: int,
    *,
    path: str,
    syscall_nr: int,
    status_fill: int = STATUS_SENTINEL,
) -> CallResult:
    """move_phys_pages from a 32-bit caller: native.move_phys_pages' arguments, then ``path``.

    ``pages`` is the array's raw bytes, laid out as the 32-bit program would
    (:func:`pointer_array`: 4-byte elements, or 8-byte ones to reproduce the
    uint64_t misreading). ``status`` is the length of a fresh status array,
    None for NULL.
    """
    _require(path)
    if path == "ia32_binary":
        return _helper_call(
            "move_phys_pages", syscall_nr, nr, pages, nodes, status, flags, status_fill=status_fill
        )
    return _int80_call(syscall_nr, (), nr, pages, nodes, status, flags, status_fill)


def move_pages(
    pid: int,
    nr: int,
    pages: bytes | None,
    nodes: Sequence[int] | None,
    status: int | None,
    flags: int,
    *,
    path: str,
    status_fill: int = STATUS_SENTINEL,
) -> CallResult:
    """Mainline move_pages from a 32-bit caller: native.move_pages' arguments, then ``path``."""
    _require(path)
    number = arch_i386.ABI.move_pages_nr
    if path == "ia32_binary":
        return _helper_call(
            "move_pages", number, nr, pages, nodes, status, flags,
            pid=pid, status_fill=status_fill,
        )
    return _int80_call(number, (pid,), nr, pages, nodes, status, flags, status_fill)


def move_pages_own(path: str, count: int) -> OwnPagesResult:
    """The 32-bit side maps ``count`` pages, queries their nodes, then moves them there (MOVE).

    With the compat fix (mainline since 6.6) the move reads 32-bit pointers
    and every status equals the queried node; before it, the move read
    64-bit elements and named the wrong addresses.
    """
    _require(path)
    if path == "ia32_binary":
        answer = run_helper(
            [
                "which=move_pages", f"nr={arch_i386.ABI.move_pages_nr}", "pid=0",
                f"own={count}", "pages=own", f"count={count}", f"status={count}",
                "nodes=queried", "query_first=1", f"flags={MPOL_MF_MOVE}",
            ]
        )
        return OwnPagesResult(
            _result(answer["query"]), _result(answer), tuple(answer["addresses"])
        )
    with memory.anonymous(count * PAGE_SIZE, below_4g=True) as own:
        own.madvise(0, own.length, memory.MADV_NOHUGEPAGE)
        own.touch()
        addresses = tuple(own.page(i) for i in range(count))
        pointers = b"".join(a.to_bytes(4, "little") for a in addresses)
        query = move_pages(0, count, pointers, None, count, 0, path=path)
        move = move_pages(0, count, pointers, list(query.status), count, MPOL_MF_MOVE, path=path)
    return OwnPagesResult(query, move, addresses)


def query_probe(syscall_nr: int) -> QueryAnswer:
    """The identity query probe through the compat entry, on a frame below 4 GiB."""
    path = next((p for p in ("int80", "ia32_binary") if unavailable_reason(p) is None), None)
    if path is None:
        raise CompatUnavailable(unavailable_reason("int80") or "no 32-bit caller")

    def call(phys: int) -> tuple[int, int]:
        result = move_phys_pages(
            1, pointer_array([phys]), None, 1, 0, path=path, syscall_nr=syscall_nr
        )
        return result.ret, result.status[0]

    return query_own_frame(call, below=1 << load_spec().element_width("compat"))


def probe_int80(syscall_nr: int) -> tuple[int, int]:
    """The identity probe through the compat entry: move_phys_pages(0, NULL, NULL, NULL, -1).

    Uses int $0x80 when it works, else the helper binary; CompatUnavailable
    when neither can run.
    """
    for path in ("int80", "ia32_binary"):
        if unavailable_reason(path) is None:
            result = move_phys_pages(0, None, None, None, -1, path=path, syscall_nr=syscall_nr)
            return result.ret, result.errno
    raise CompatUnavailable(unavailable_reason("int80") or "no 32-bit caller")
