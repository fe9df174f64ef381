"""The architectures the runner builds and boots: how to cross-build each, what QEMU runs it.

Shaped like kunit_tool's qemu_configs/: one record per architecture, the
facts the build and the boot need and nothing else. The syscall ABI of an
architecture (its numbers, its entry symbols) is movephys.arch's; its
kconfig is kernel/config/arch-<name>.config.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

from movephys.vm.config import KERNEL_DIR
from movephys.vm.errors import RunnerError


@dataclass(frozen=True)
class VmArch:
    name: str  # ours, virtme-ng's --arch and the kernel's ARCH=
    # uname -m of a host that runs it natively; the first is the kernel's own
    # name, which qemu-user's binfmt_misc entry and manylinux wheels use.
    machines: tuple[str, ...]
    cross_compile: str  # the CROSS_COMPILE prefix used on any other host
    compiler_package: str  # the Debian package holding that cross compiler
    image_target: str  # what make builds
    image: str  # where it lands, under the build directory
    qemu: str
    qemu_package: str
    debian_arch: str  # of a root filesystem built for a foreign guest

    @property
    def fragment(self) -> Path:
        return KERNEL_DIR / "config" / f"arch-{self.name}.config"

    @property
    def native(self) -> bool:
        """Whether the host runs this architecture's programs: then the guest
        can use the host's own filesystem as its root."""
        return platform.machine() in self.machines

    @property
    def make_variables(self) -> tuple[str, ...]:
        """What make needs: nothing for the host's own architecture (the
        kernel derives ARCH from uname, and a build tree keeps the objects
        it made that way), ARCH and CROSS_COMPILE for any other."""
        if self.native:
            return ()
        return (f"ARCH={self.name}", f"CROSS_COMPILE={self.cross_compile}")

    @property
    def compiler(self) -> str:
        return "gcc" if self.native else f"{self.cross_compile}gcc"


ARCHES: dict[str, VmArch] = {
    "x86_64": VmArch(
        name="x86_64", machines=("x86_64",), cross_compile="x86_64-linux-gnu-",
        compiler_package="gcc-x86-64-linux-gnu", image_target="bzImage",
        image="arch/x86/boot/bzImage", qemu="qemu-system-x86_64",
        qemu_package="qemu-system-x86", debian_arch="amd64",
    ),
    "arm64": VmArch(
        name="arm64", machines=("aarch64", "arm64"), cross_compile="aarch64-linux-gnu-",
        compiler_package="gcc-aarch64-linux-gnu", image_target="Image",
        image="arch/arm64/boot/Image", qemu="qemu-system-aarch64",
        qemu_package="qemu-system-arm", debian_arch="arm64",
    ),
}
DEFAULT_ARCH = "x86_64"


def known() -> str:
    return ", ".join(sorted(ARCHES))


def lookup(name: str) -> VmArch:
    """The architecture called @name; an unknown one is a RunnerError."""
    try:
        return ARCHES[name]
    except KeyError:
        raise RunnerError(f"unknown architecture {name!r} (known: {known()})") from None
