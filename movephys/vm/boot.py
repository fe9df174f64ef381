"""Boot a kernel under QEMU with virtme-ng and run one command as root.

The guest sees the host's filesystem read-only, or for another
architecture a root filesystem of its own (movephys.vm.rootfs) with the
host directories it needs mounted at their host paths. The command's output
and exit code, and the kernel log, are written by the guest into a host
directory made writable for it, so they do not depend on the console.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from movephys.vm import arches
from movephys.vm.errors import RunnerError

Accel = Literal["tcg", "kvm", "auto"]
KVM_PROBE_SECONDS = 45.0
STOP_GRACE_SECONDS = 5.0  # after SIGTERM, before SIGKILL
WATCH_INTERVAL_SECONDS = 1.0

# A broken kernel ends the run: these repeat what kernel/config/base.config
# sets, for kernels built elsewhere (--image). virtme-ng adds panic=-1 and
# QEMU's -no-reboot, so a panic powers the guest off.
PANIC_OPTIONS = (
    "oops=panic", "softlockup_panic=1", "hung_task_panic=1",
    "sysctl.kernel.hung_task_timeout_secs=30", "sysctl.kernel.panic_on_rcu_stall=1",
)

# Where virtme-ng looks for virtiofsd, in its order.
VIRTIOFSD_PATHS = ("/usr/libexec/virtiofsd", "/usr/lib/virtiofsd/virtiofsd",
                   "/usr/lib/virtiofsd", "/usr/lib/qemu/virtiofsd")

# What virtme-ng and the guest print while the host filesystem is mounted,
# when virtiofs is not to be had: kept in console.log, not echoed.
BOOT_NOISE = tuple(re.compile(pattern) for pattern in (
    r"virtme: waiting for virtiofsd",
    r"virtme-run: failed to start virtiofsd",
    r"^fuse: invalid argument",
    r"overlayfs: failed to set xattr on upper",
    r"overlayfs: \.\.\.falling back to",
))


@dataclass(frozen=True)
class NumaNode:
    memory: str  # a QEMU size such as "1G"; "0" makes a memoryless node
    cpus: str  # QEMU cpu list of the node, such as "0" or "1-2"


@dataclass(frozen=True)
class BootRequest:
    image: Path
    command: str
    nodes: tuple[NumaNode, ...]
    accel: Literal["tcg", "kvm"]
    timeout: float
    workdir: Path  # host directory the guest may write: output, exit code, log
    cwd: Path
    rwdirs: tuple[Path, ...] = ()
    # Host directories the command reads besides @cwd; the host's root has them all.
    rodirs: tuple[Path, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    arch: str = arches.DEFAULT_ARCH
    # The guest's root filesystem; None: the host's own (the native architecture only).
    root: Path | None = None
    echo: Callable[[str], None] | None = None  # live console lines
    # Called about once a second with the seconds since boot and the console
    # so far; a reason returned stops the guest (a run that no longer makes progress).
    watch: Callable[[float, Sequence[str]], str | None] | None = None


@dataclass(frozen=True)
class BootResult:
    exit_code: int | None  # None: the command never reported one
    output: str
    kernel_log: str
    console: str
    seconds: float
    accel: str
    stop_reason: str = ""  # why the runner stopped the guest; "" when it ended itself
    qemu_status: int | None = None  # virtme-ng's exit status; None when stopped by us


def two_nodes() -> tuple[NumaNode, ...]:
    return (NumaNode("1G", "0"), NumaNode("1G", "1"))


def numa_layout(memory_nodes: int, node_memory: str, memoryless: bool,
                cpus_per_node: int = 1) -> tuple[NumaNode, ...]:
    """@cpus_per_node CPUs per node; a memoryless node, when asked for, comes last.

    @node_memory is one size for every memory node, or a comma-separated
    size per node ("1G,2G").
    """
    if memory_nodes < 1:
        raise RunnerError("at least one memory node is needed")
    sizes = [size.strip() for size in node_memory.split(",")]
    if len(sizes) == 1:
        sizes *= memory_nodes
    if len(sizes) != memory_nodes:
        raise RunnerError(f"{len(sizes)} node memory sizes ({node_memory}) for "
                          f"{memory_nodes} memory nodes")
    for size in sizes:
        _size_in_mib(size)
    if cpus_per_node < 1:
        raise RunnerError("every node needs at least one CPU")

    def cpu_range(node: int) -> str:
        first = node * cpus_per_node
        last = first + cpus_per_node - 1
        return str(first) if first == last else f"{first}-{last}"

    nodes = [NumaNode(size, cpu_range(index)) for index, size in enumerate(sizes)]
    if memoryless:
        nodes.append(NumaNode("0", cpu_range(memory_nodes)))
    return tuple(nodes)


def _size_in_mib(size: str) -> int:
    units = {"M": 1, "G": 1024}
    try:
        return int(size[:-1]) * units[size[-1].upper()] if size[-1].isalpha() else int(size)
    except (KeyError, ValueError):
        raise RunnerError(f"bad memory size {size!r}: use a number with M or G") from None


def vng_executable() -> str | None:
    """vng beside the running interpreter (a virtual environment not activated), else on PATH."""
    beside = Path(sys.executable).parent / "vng"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which("vng")


def check_prerequisites(arch: str = arches.DEFAULT_ARCH) -> str:
    """The vng to run; a one-line error when it or @arch's QEMU is missing."""
    vng = vng_executable()
    if vng is None:
        raise RunnerError(f"virtme-ng is not installed beside {sys.executable} nor on PATH: "
                          "pip install virtme-ng")
    target = arches.lookup(arch)
    if shutil.which(target.qemu) is None:
        raise RunnerError(f"{target.qemu} is not installed: apt-get install "
                          f"{target.qemu_package}")
    return vng


@dataclass(frozen=True)
class Filesystem:
    transport: Literal["virtiofs", "9p"]
    why: str


@functools.cache
def guest_filesystem() -> Filesystem:
    """How the guest mounts the host: virtiofs with the Rust virtiofsd, 9p otherwise.

    virtme-ng tries any virtiofsd it finds and falls back to 9p after
    seconds of retries; QEMU's older C daemon (Debian 12's
    /usr/lib/qemu/virtiofsd) always fails that way, so 9p is chosen up front.
    """
    candidates = [shutil.which("virtiofsd"), *VIRTIOFSD_PATHS]
    for path in filter(None, candidates):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            continue
        try:
            usage = subprocess.run([path, "--help"], capture_output=True, text=True,
                                   errors="replace", timeout=10, check=False)
        except (OSError, subprocess.TimeoutExpired):
            continue
        if "--shared-dir" in usage.stdout + usage.stderr:
            return Filesystem("virtiofs", f"virtiofsd {path}")
        return Filesystem("9p", f"{path} is QEMU's C virtiofsd, which virtme-ng cannot drive")
    return Filesystem("9p", "no virtiofsd is installed")


def is_boot_noise(line: str) -> bool:
    return any(pattern.search(line) for pattern in BOOT_NOISE)


def guest_script(request: BootRequest) -> str:
    """The shell script the guest runs; it records what the host reads back."""
    work = shlex.quote(str(request.workdir))
    exports = "".join(f"export {name}={shlex.quote(value)}\n"
                      for name, value in request.environment)
    return (
        "#!/bin/sh\n"
        f"{own_root_setup(request)}"
        f"{exports}"
        f"cd {shlex.quote(str(request.cwd))} || exit 125\n"
        # A subshell, so that an "exit" in the command still lets us record it.
        f"( {request.command}\n) > {work}/output.log 2>&1 < /dev/null\n"
        f"echo $? > {work}/exit_code\n"
        f"dmesg > {work}/kernel.log 2>&1\n"
        f"cat {work}/output.log\n"
    )


# Where a guest with its own root mounts the host's writable directories
# first: virtme-ng mounts every --rwdir before any --rodir, so one inside
# the read-only checkout would be hidden by it. The guest script then binds
# each at its host path.
OWN_ROOT_MOUNTS = "/run/movephys"


def writable_mounts(request: BootRequest) -> list[tuple[str, Path]]:
    """(guest path, host directory) of each directory the guest may write."""
    directories = (request.workdir, *request.rwdirs)
    if request.root is None:
        return [(str(directory), directory) for directory in directories]
    return [(f"{OWN_ROOT_MOUNTS}/rw{index}", directory)
            for index, directory in enumerate(directories)]


def own_root_setup(request: BootRequest) -> str:
    """What a guest with a root of its own does first: a writable /tmp
    (virtme-ng's init gives one to the host's root only) and each writable
    directory at its host path, over the read-only checkout."""
    if request.root is None:
        return ""
    binds = "".join(f"mount --bind {guest} {shlex.quote(str(host))} || exit 125\n"
                    for guest, host in writable_mounts(request))
    return f"mount -t tmpfs -o mode=1777 tmpfs /tmp || exit 125\n{binds}"


def vng_command(request: BootRequest, script: Path, vng: str = "vng",
                filesystem: Filesystem = Filesystem("9p", "")) -> list[str]:
    total_mib = sum(_size_in_mib(node.memory) for node in request.nodes)
    cpus = sum(len(_expand_cpus(node.cpus)) for node in request.nodes)
    command = [
        vng, "-v", "--run", str(request.image), "--user", "root",
        "-m", f"{total_mib}M", "--cpus", str(cpus),
        "--append", " ".join(PANIC_OPTIONS),
    ]
    if request.arch != arches.DEFAULT_ARCH or request.root is not None:
        command += ["--arch", request.arch]
    if request.root is not None:
        # The guest's own root lacks the checkout the command runs from.
        command += ["--root", str(request.root)]
        for directory in (request.cwd, *request.rodirs):
            command += ["--rodir", f"{directory}={directory}"]
    if filesystem.transport == "9p":
        command.append("--force-9p")
    for node in request.nodes:
        command += ["--numa", f"{node.memory},cpus={node.cpus}"]
    if request.accel == "tcg":
        command.append("--disable-kvm")
    for guest, host in writable_mounts(request):
        command += ["--rwdir", guest if guest == str(host) else f"{guest}={host}"]
    # One socket per CPU: QEMU's default puts every CPU in one socket,
    # sharing a cache across NUMA nodes, and the kernel warns about that
    # topology at boot (topology_sane), which would fail every run.
    command += ["--qemu-opts", f"-smp {cpus},sockets={cpus},cores=1,threads=1"]
    # The script is in the work directory, at its guest path until bound.
    script_dir = writable_mounts(request)[0][0]
    command += ["--", f"sh {shlex.quote(str(Path(script_dir) / script.name))}"]
    return command


def _expand_cpus(cpus: str) -> list[int]:
    result: list[int] = []
    for part in cpus.split(","):
        first, _, last = part.partition("-")
        result += list(range(int(first), int(last or first) + 1))
    return result


def mount_points(request: BootRequest) -> list[Path]:
    """The host directories the guest mounts at their host paths."""
    return [request.cwd, *request.rodirs, request.workdir, *request.rwdirs]


@contextlib.contextmanager
def mount_points_in(root: Path | None, directories: Sequence[Path]) -> Iterator[None]:
    """Empty directories in the guest's own @root to mount @directories on,
    removed afterwards: virtme-ng's init creates missing ones, which a
    read-only root does not allow."""
    created: list[Path] = []
    if root is not None:
        for directory in directories:
            point = root / directory.resolve().relative_to("/")
            missing = [point, *(parent for parent in point.parents
                                if parent.is_relative_to(root) and parent != root)]
            created += [path for path in reversed(missing) if not path.exists()]
            point.mkdir(parents=True, exist_ok=True)
    try:
        yield
    finally:
        for path in reversed(created):
            with contextlib.suppress(OSError):
                path.rmdir()


def boot(request: BootRequest) -> BootResult:
    vng = check_prerequisites(request.arch)
    # The guest resolves a relative path against its own working directory.
    request = dataclasses.replace(
        request, workdir=request.workdir.resolve(), cwd=request.cwd.resolve(),
        rwdirs=tuple(directory.resolve() for directory in request.rwdirs),
        rodirs=tuple(directory.resolve() for directory in request.rodirs))
    request.workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("output.log", "exit_code", "kernel.log"):
        (request.workdir / stale).unlink(missing_ok=True)
    script = request.workdir / "guest.sh"
    script.write_text(guest_script(request))
    filesystem = guest_filesystem()
    if request.echo:
        request.echo(f"guest filesystem: {filesystem.transport} ({filesystem.why})")
    command = vng_command(request, script, vng, filesystem)
    # virtme-ng's sockets and scratch files go here, removed however the run ends.
    # Named by our pid, so a check after an interruption finds this run's own.
    scratch = Path(tempfile.mkdtemp(prefix=f"movephys-vng-{os.getpid()}-"))
    with mount_points_in(request.root, mount_points(request)):
        try:
            return _run_vng(request, command, vng, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _run_vng(request: BootRequest, command: list[str], vng: str, scratch: Path) -> BootResult:
    started = time.monotonic()
    console: list[str] = []
    stop_reason = ""
    watched = started
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, errors="replace", start_new_session=True, cwd=request.cwd,
        # vng runs virtme-run from PATH: give it the directory vng came from.
        env={**os.environ, "TMPDIR": str(scratch),
             "PATH": os.pathsep.join((str(Path(vng).parent), os.environ.get("PATH", "")))},
    )
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    try:
        while True:
            line = process.stdout.readline()
            if line:
                console.append(line)
                if request.echo and not is_boot_noise(line):
                    request.echo(line.rstrip("\n"))
                continue
            if process.poll() is not None:
                console.extend(process.stdout.readlines())
                break
            now = time.monotonic()
            if now - started > request.timeout:
                stop_reason = f"the guest ran past its bound of {request.timeout:.0f} s"
                break
            if request.watch is not None and now - watched >= WATCH_INTERVAL_SECONDS:
                watched = now
                stop_reason = request.watch(now - started, console) or ""
                if stop_reason:
                    break
            time.sleep(0.05)
    finally:
        qemu_status = stop(process)
    return BootResult(
        exit_code=_read_exit_code(request.workdir / "exit_code"),
        output=_read(request.workdir / "output.log"),
        kernel_log=_read(request.workdir / "kernel.log"),
        console="".join(console),
        seconds=time.monotonic() - started,
        accel=request.accel,
        stop_reason=stop_reason,
        qemu_status=qemu_status,
    )


def stop(process: subprocess.Popen[str]) -> int | None:
    """End virtme-ng, QEMU and virtiofsd (one process group): TERM, then KILL.

    Returns vng's exit status when it had ended by itself.
    """
    status = process.poll()
    if status is None:
        _signal_group(process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=STOP_GRACE_SECONDS)
    # Whatever is left of the group (virtiofsd runs in the background).
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()
    return status


def _signal_group(group: int, number: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, number)


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _read_exit_code(path: Path) -> int | None:
    text = _read(path).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def choose_accel(wanted: Accel, image: Path, cache_dir: Path, workdir: Path) -> Literal[
        "tcg", "kvm"]:
    """KVM only when a bounded boot proves it works here; TCG otherwise.

    Nested KVM can hang forever at "Decompressing Linux" or abort, so the
    probe is bounded, and its verdict is remembered per host kernel, QEMU
    binary and kernel image.
    """
    if wanted != "auto":
        return wanted
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    qemu = shutil.which("qemu-system-x86_64") or ""
    identity = f"{os.uname().release} {qemu} {os.stat(qemu).st_mtime if qemu else 0} {image}"
    verdicts_file = cache_dir / "kvm-probe.json"
    try:
        verdicts = json.loads(verdicts_file.read_text())
    except (OSError, ValueError):
        verdicts = {}
    if identity not in verdicts:
        probe = boot(BootRequest(
            image=image, command="echo kvm-probe-ok", nodes=two_nodes(), accel="kvm",
            timeout=KVM_PROBE_SECONDS, workdir=workdir / "kvm-probe", cwd=Path("/"),
        ))
        verdicts[identity] = probe.exit_code == 0 and "kvm-probe-ok" in probe.output
        cache_dir.mkdir(parents=True, exist_ok=True)
        verdicts_file.write_text(json.dumps(verdicts, indent=1) + "\n")
    return "kvm" if verdicts[identity] else "tcg"
