"""Boot a kernel under QEMU with virtme-ng and run one command as root.

The guest sees the host's filesystem read-only. The command's output and
exit code, and the kernel log, are written by the guest into a host
directory made writable for it, so they do not depend on the console.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from movephys.vm.errors import RunnerError

Accel = Literal["tcg", "kvm", "auto"]
KVM_PROBE_SECONDS = 45.0


@dataclass(frozen=True)
class NumaNode:
    memory: str  # a QEMU size such as "1G"; "0" makes a memoryless node
    cpus: str  # QEMU cpu list of the node, such as "0" or "1-2"


@dataclass(frozen=True)
class BootRequest:
    bzimage: Path
    command: str
    nodes: tuple[NumaNode, ...]
    accel: Literal["tcg", "kvm"]
    timeout: float
    workdir: Path  # host directory the guest may write: output, exit code, log
    cwd: Path
    rwdirs: tuple[Path, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    echo: Callable[[str], None] | None = None  # live console lines


@dataclass(frozen=True)
class BootResult:
    exit_code: int | None  # None: the command never reported one
    output: str
    kernel_log: str
    console: str
    seconds: float
    accel: str
    timed_out: bool


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


def check_prerequisites() -> None:
    missing = [tool for tool in ("vng", "qemu-system-x86_64") if shutil.which(tool) is None]
    if "vng" in missing:
        raise RunnerError("virtme-ng is not installed: pip install virtme-ng")
    if missing:
        raise RunnerError("QEMU is not installed: apt-get install qemu-system-x86")


def guest_script(request: BootRequest) -> str:
    """The shell script the guest runs; it records what the host reads back."""
    work = shlex.quote(str(request.workdir))
    exports = "".join(f"export {name}={shlex.quote(value)}\n"
                      for name, value in request.environment)
    return (
        "#!/bin/sh\n"
        f"{exports}"
        f"cd {shlex.quote(str(request.cwd))} || exit 125\n"
        # A subshell, so that an "exit" in the command still lets us record it.
        f"( {request.command}\n) > {work}/output.log 2>&1 < /dev/null\n"
        f"echo $? > {work}/exit_code\n"
        f"dmesg > {work}/kernel.log 2>&1\n"
        f"cat {work}/output.log\n"
    )


def vng_command(request: BootRequest, script: Path) -> list[str]:
    total_mib = sum(_size_in_mib(node.memory) for node in request.nodes)
    cpus = sum(len(_expand_cpus(node.cpus)) for node in request.nodes)
    command = [
        "vng", "-v", "--run", str(request.bzimage), "--user", "root",
        "-m", f"{total_mib}M", "--cpus", str(cpus),
    ]
    for node in request.nodes:
        command += ["--numa", f"{node.memory},cpus={node.cpus}"]
    if request.accel == "tcg":
        command.append("--disable-kvm")
    for directory in (request.workdir, *request.rwdirs):
        command += ["--rwdir", str(directory)]
    # One socket per CPU: QEMU's default puts every CPU in one socket,
    # sharing a cache across NUMA nodes, and the kernel warns about that
    # topology at boot (topology_sane), which would fail every run.
    command += ["--qemu-opts", f"-smp {cpus},sockets={cpus},cores=1,threads=1"]
    command += ["--", f"sh {shlex.quote(str(script))}"]
    return command


def _expand_cpus(cpus: str) -> list[int]:
    result: list[int] = []
    for part in cpus.split(","):
        first, _, last = part.partition("-")
        result += list(range(int(first), int(last or first) + 1))
    return result


def boot(request: BootRequest) -> BootResult:
    check_prerequisites()
    request.workdir.mkdir(parents=True, exist_ok=True)
    for stale in ("output.log", "exit_code", "kernel.log"):
        (request.workdir / stale).unlink(missing_ok=True)
    script = request.workdir / "guest.sh"
    script.write_text(guest_script(request))
    command = vng_command(request, script)
    started = time.monotonic()
    console: list[str] = []
    timed_out = False
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        text=True, errors="replace", start_new_session=True, cwd=request.cwd,
    )
    assert process.stdout is not None
    os.set_blocking(process.stdout.fileno(), False)
    try:
        while True:
            line = process.stdout.readline()
            if line:
                console.append(line)
                if request.echo:
                    request.echo(line.rstrip("\n"))
                continue
            if process.poll() is not None:
                console.extend(process.stdout.readlines())
                break
            if time.monotonic() - started > request.timeout:
                timed_out = True
                break
            time.sleep(0.05)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return BootResult(
        exit_code=_read_exit_code(request.workdir / "exit_code"),
        output=_read(request.workdir / "output.log"),
        kernel_log=_read(request.workdir / "kernel.log"),
        console="".join(console),
        seconds=time.monotonic() - started,
        accel=request.accel,
        timed_out=timed_out,
    )


def _read(path: Path) -> str:
    try:
        return path.read_text(errors="replace")
    except OSError:
        return ""


def _read_exit_code(path: Path) -> int | None:
    text = _read(path).strip()
    return int(text) if text.lstrip("-").isdigit() else None


def choose_accel(wanted: Accel, bzimage: Path, cache_dir: Path, workdir: Path) -> Literal[
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
    identity = f"{os.uname().release} {qemu} {os.stat(qemu).st_mtime if qemu else 0} {bzimage}"
    verdicts_file = cache_dir / "kvm-probe.json"
    try:
        verdicts = json.loads(verdicts_file.read_text())
    except (OSError, ValueError):
        verdicts = {}
    if identity not in verdicts:
        probe = boot(BootRequest(
            bzimage=bzimage, command="echo kvm-probe-ok", nodes=two_nodes(), accel="kvm",
            timeout=KVM_PROBE_SECONDS, workdir=workdir / "kvm-probe", cwd=Path("/"),
        ))
        verdicts[identity] = probe.exit_code == 0 and "kvm-probe-ok" in probe.output
        cache_dir.mkdir(parents=True, exist_ok=True)
        verdicts_file.write_text(json.dumps(verdicts, indent=1) + "\n")
    return "kvm" if verdicts[identity] else "tcg"
