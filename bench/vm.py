"""The whole job on the reference kernel: ``bench run`` and ``bench suite-time`` in the VM.

The kernel comes from the project's runner (movephys.vm: built once, then
reused), whose uapi headers the syscall number is learned from; each job is
one boot with the results directory writable in the guest. The report is
then drawn on the host.

The execution mode is the runner's choice (movephys.vm.boot.choose_accel:
KVM only when a bounded test boot works, TCG otherwise) unless
``--vm-accel`` names one; ``kvm`` refuses when the probe says KVM does not
work here. What was asked for and what ran goes to vm.json, so the page can
say why its figures are TCG's.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

from bench import report
from bench.machine import VM_JSON, AccelChoice
from movephys import cache
from movephys.locations import build_dir
from movephys.vm import boot
from movephys.vm import run as vm_run
from movephys.vm.errors import RunnerError

FORWARDED = ("quick", "k", "p", "repeats", "methods", "call_repeats", "syscall_nr", "nodes",
             "accel")
KVM_UNUSABLE = ("KVM is not usable on this machine: /dev/kvm is absent, or a bounded test "
                "boot under KVM failed (the runner's probe, movephys.vm.boot.choose_accel)")


class VmError(RuntimeError):
    """The reference kernel could not be built or booted (one line)."""


def choose(wanted: str, kernel: vm_run.Kernel, cache_dir: Path) -> AccelChoice:
    """The runner's probe decides auto and kvm; tcg is taken as asked."""
    if wanted == "tcg":
        return AccelChoice(wanted, "tcg", "not tried: --vm-accel tcg")
    with tempfile.TemporaryDirectory(prefix="bench-kvm-probe-") as workdir:
        probed = boot.choose_accel("auto", kernel.image, cache_dir, Path(workdir))
    if probed == "kvm":
        return AccelChoice(wanted, "kvm", "used")
    if wanted == "kvm":
        raise VmError(f"--vm-accel kvm: {KVM_UNUSABLE}")
    return AccelChoice(wanted, "tcg", KVM_UNUSABLE)


def forwarded_options(args: argparse.Namespace) -> list[str]:
    options: list[str] = []
    for name in FORWARDED:
        value = getattr(args, name)
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        options += [flag] if value is True else [flag, str(value)]
    return options


def _in_vm(kernel: vm_run.Kernel, out: Path, timeout_s: float, accel: str,
           guest_command: list[str]) -> int:
    print(f"bench: in the VM ({accel}): {' '.join(guest_command)}", flush=True)
    options = vm_run.VmOptions(nodes=boot.two_nodes(), accel="kvm" if accel == "kvm" else "tcg",
                               timeout=timeout_s, cache_dir=cache.cache_dir(),
                               echo=False)
    job = vm_run.run_in_fresh_workdir(kernel, shlex.join(guest_command), options,
                                      build_dir() / "results", rwdirs=(out,))
    print(job.boot.output, end="", flush=True)
    return job.exit_code


def run_all(args: argparse.Namespace) -> int:
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    try:
        kernel = vm_run.build_kernel()
        if kernel.headers is None:
            raise VmError("the reference kernel has no installed headers")
        headers = str(kernel.headers)
        accel = choose(args.vm_accel, kernel, cache.cache_dir())
        (out / VM_JSON).write_text(json.dumps(asdict(accel), indent=1) + "\n")
        bench = [sys.executable, "-m", "bench"]
        status = _in_vm(kernel, out, args.timeout, accel.used,
                        [*bench, "run", "--out", str(out), "--kernel-headers", headers,
                         *forwarded_options(args)])
        if not args.no_suite_time:
            suite = [*bench, "suite-time", "--out", str(out), "--",
                     f"--kernel-headers={headers}"]
            status = max(status, _in_vm(kernel, out, args.timeout, accel.used, suite))
    except RunnerError as error:
        raise VmError(str(error)) from None
    try:
        written = report.write(report.load(out), out, args.docs)
    except ValueError as error:
        raise VmError(f"no report: {error}") from None
    print(f"bench: report: {', '.join(path.name for path in written)} in {out}")
    return status
