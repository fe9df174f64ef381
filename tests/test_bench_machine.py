"""Where figures came from: TCG, KVM or hardware, from recorded /proc/cpuinfo and clock sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import machine

# Trimmed from the reference kernel's guest under QEMU 7.2 with TCG.
CPUINFO_TCG = """\
processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: QEMU Virtual CPU version 2.5+
flags\t\t: fpu de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov hypervisor lahf_lm
"""
CPUINFO_KVM = CPUINFO_TCG.replace("QEMU Virtual CPU version 2.5+", "Intel Xeon Processor")
CPUINFO_HARDWARE = """\
processor\t: 0
model name\t: AMD EPYC 7B13 64-Core Processor
flags\t\t: fpu vme de pse tsc msr pae mce cx8 apic
"""


@pytest.mark.parametrize(
    ("cpuinfo", "clocksources", "expected"),
    [
        (CPUINFO_TCG, "tsc acpi_pm", machine.TCG),
        (CPUINFO_TCG, "kvm-clock tsc acpi_pm", machine.KVM),
        (CPUINFO_KVM, "kvm-clock tsc", machine.KVM),
        (CPUINFO_KVM, "tsc hpet", machine.OTHER_VM),
        (CPUINFO_HARDWARE, "tsc hpet acpi_pm", machine.HARDWARE),
        ("", "", machine.HARDWARE),
    ],
    ids=["tcg", "qemu-model-under-kvm", "kvm", "other-hypervisor", "hardware", "unreadable"],
)
def test_detect_accel(cpuinfo: str, clocksources: str, expected: str) -> None:
    assert machine.detect_accel(cpuinfo, clocksources) == expected


def test_cpu_model_and_flags() -> None:
    assert machine.cpu_model(CPUINFO_TCG) == "QEMU Virtual CPU version 2.5+"
    assert "hypervisor" in machine.cpu_flags(CPUINFO_TCG)
    assert machine.cpu_model("") == "unknown"


def test_describe_save_and_load(tmp_path: Path) -> None:
    facts = machine.describe("not measured", accel="runner said TCG")
    assert facts.accel == "runner said TCG" and facts.kernel_release
    path = machine.save(facts, tmp_path)
    assert machine.load(path) == facts


def test_load_rejects_other_json(tmp_path: Path) -> None:
    path = tmp_path / "machine.json"
    path.write_text('{"kernel": 1}')
    with pytest.raises(ValueError, match="not a machine description"):
        machine.load(path)
