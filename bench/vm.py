"""The whole job on the reference kernel: ``bench run`` and ``bench suite-time`` in the VM.

The kernel comes from ``python -m movephys.vm build`` (cached after the first
build), which prints the bzImage and the uapi headers the syscall number is
learned from; each job is one ``python -m movephys.vm run`` with the results
directory writable in the guest. The report is then drawn on the host.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from bench import report

CHECKOUT = Path(__file__).resolve().parents[1]
FORWARDED = ("quick", "k", "p", "repeats", "methods", "syscall_nr", "nodes", "accel")


class VmError(RuntimeError):
    """The reference kernel could not be built or booted (one line)."""


def built_kernel_headers() -> str:
    """The headers directory ``python -m movephys.vm build`` reports."""
    done = subprocess.run([sys.executable, "-m", "movephys.vm", "build"], cwd=CHECKOUT,
                          text=True, capture_output=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        raise VmError(f"python -m movephys.vm build failed: {last}")
    return headers_from(done.stdout)


def headers_from(build_output: str) -> str:
    for line in build_output.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "headers" and value.strip() and value.strip() != "None":
            return value.strip()
    raise VmError("python -m movephys.vm build printed no headers: line")


def forwarded_options(args: argparse.Namespace) -> list[str]:
    options: list[str] = []
    for name in FORWARDED:
        value = getattr(args, name)
        if value is None or value is False:
            continue
        flag = "--" + name.replace("_", "-")
        options += [flag] if value is True else [flag, str(value)]
    return options


def vm_command(out: Path, timeout_s: float, guest_command: list[str]) -> list[str]:
    return [sys.executable, "-m", "movephys.vm", "run", "--quiet", "--timeout", str(timeout_s),
            "--rwdir", str(out), "--", *guest_command]


def _in_vm(out: Path, timeout_s: float, guest_command: list[str]) -> int:
    print(f"bench: in the VM: {' '.join(guest_command)}", flush=True)
    return subprocess.run(vm_command(out, timeout_s, guest_command), cwd=CHECKOUT,
                          check=False).returncode


def run_all(args: argparse.Namespace) -> int:
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    headers = built_kernel_headers()
    bench = [sys.executable, "-m", "bench"]
    status = _in_vm(out, args.timeout, [*bench, "run", "--out", str(out),
                                        "--kernel-headers", headers, *forwarded_options(args)])
    if not args.no_suite_time:
        suite = [*bench, "suite-time", "--out", str(out), "--", f"--kernel-headers={headers}"]
        status = max(status, _in_vm(out, args.timeout, suite))
    try:
        written = report.write(report.load(out), out, args.docs)
    except ValueError as error:
        raise VmError(f"no report: {error}") from None
    print(f"bench: report: {', '.join(path.name for path in written)} in {out}")
    return status
