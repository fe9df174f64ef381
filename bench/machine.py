"""Where figures came from: kernel, CPU, nodes, and whether the CPU was emulated (TCG).

QEMU's software emulation (TCG) runs guest code an order of magnitude or
more slower than hardware, so its figures are labelled. Signs read here:
the CPU model QEMU gives its default models ("QEMU Virtual CPU"), the
``hypervisor`` CPU flag, and ``kvm-clock`` among the clock sources, which a
KVM guest has and a TCG guest lacks. A runner that knows better passes
``--accel``.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from movephys.probes import nodes

CPUINFO = Path("/proc/cpuinfo")
CLOCKSOURCES = Path("/sys/devices/system/clocksource/clocksource0/available_clocksource")
MACHINE_JSON = "machine.json"
VM_JSON = "vm.json"  # written on the host by `bench vm`: how TCG or KVM was chosen

TCG = "QEMU TCG (software emulation)"
KVM = "KVM guest"
OTHER_VM = "virtual machine (hypervisor not identified)"
HARDWARE = "hardware (no hypervisor flag)"


@dataclass(frozen=True)
class Machine:
    kernel_release: str
    kernel_version: str
    cpu_model: str
    cpus: int
    accel: str  # one of TCG, KVM, OTHER_VM, HARDWARE, or what the runner said
    node_memory_mib: dict[str, int]  # node id -> MemTotal
    python: str
    syscall: str  # how move_phys_pages was confirmed, or why it was not
    date: str

    @property
    def emulated(self) -> bool:
        return self.accel == TCG


def cpu_model(cpuinfo: str) -> str:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            return value.strip()
    return "unknown"


def cpu_flags(cpuinfo: str) -> set[str]:
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    return set()


def detect_accel(cpuinfo: str, clocksources: str) -> str:
    """TCG, KVM, another hypervisor or hardware, from /proc/cpuinfo and the clock sources."""
    if "kvm-clock" in clocksources.split():
        return KVM
    if "QEMU" in cpu_model(cpuinfo):
        return TCG  # QEMU's own CPU models without kvm-clock: emulated
    if "hypervisor" in cpu_flags(cpuinfo):
        return OTHER_VM
    return HARDWARE


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def node_memory_mib() -> dict[str, int]:
    sizes: dict[str, int] = {}
    for node in nodes.memory_nodes():
        try:
            total = nodes.node_meminfo_kib(node).get("MemTotal")
        except OSError:
            continue  # a node that went away: the description leaves it out
        if total is not None:
            sizes[str(node)] = total // 1024
    return sizes


def describe(syscall: str, accel: str | None = None) -> Machine:
    cpuinfo = _read(CPUINFO)
    uname = os.uname()
    return Machine(
        kernel_release=uname.release,
        kernel_version=uname.version,
        cpu_model=cpu_model(cpuinfo),
        cpus=os.cpu_count() or 0,
        accel=accel or detect_accel(cpuinfo, _read(CLOCKSOURCES)),
        node_memory_mib=node_memory_mib(),
        python=platform.python_version(),
        syscall=syscall,
        date=time.strftime("%Y-%m-%d %H:%M %Z"),
    )


def save(machine: Machine, directory: Path, name: str = MACHINE_JSON) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_text(json.dumps(asdict(machine), indent=2) + "\n")
    return path


def load(path: Path) -> Machine:
    try:
        return Machine(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"{path}: not a machine description ({error})") from None


@dataclass(frozen=True)
class AccelChoice:
    """vm.json: the execution mode asked for, the one used, and why not KVM."""

    wanted: str  # auto, tcg or kvm (--vm-accel)
    used: str  # tcg or kvm
    kvm: str  # "used", or why the figures are not KVM's


def load_choice(path: Path) -> AccelChoice | None:
    """vm.json as written by :func:`run_all`; None when the run was not ``bench vm``."""
    try:
        return AccelChoice(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None
