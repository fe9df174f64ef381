from pathlib import Path

import pytest

from movephys import kconfig
from movephys.vm import arches, config
from movephys.vm.errors import RunnerError


def test_parse_config_reads_set_and_unset_options() -> None:
    text = "CONFIG_NUMA=y\n# CONFIG_KASAN is not set\n\n# comment\nCONFIG_NR_CPUS=8\n"
    assert config.parse_config(text) == {
        "CONFIG_NUMA": "y", "CONFIG_KASAN": "n", "CONFIG_NR_CPUS": "8",
    }


def test_parse_config_names_file_and_line_of_garbage() -> None:
    with pytest.raises(RunnerError, match=r"frag:2: not a kconfig line: 'NUMA=y'"):
        config.parse_config("CONFIG_NUMA=y\nNUMA=y\n", "frag")


def test_later_fragment_overrides_earlier(tmp_path: Path) -> None:
    first = tmp_path / "a.config"
    second = tmp_path / "b.config"
    first.write_text("CONFIG_KASAN=n\nCONFIG_NUMA=y\n")
    second.write_text("CONFIG_KASAN=y\n")
    assert config.load_fragments([first, second]) == {"CONFIG_KASAN": "y", "CONFIG_NUMA": "y"}


def test_missing_fragment_is_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(RunnerError, match="cannot read kconfig fragment .*nope.config"):
        config.load_fragments([tmp_path / "nope.config"])


def test_unmet_options_reports_what_olddefconfig_dropped() -> None:
    requested = {"CONFIG_KALLSYMS_ALL": "y", "CONFIG_NUMA": "y", "CONFIG_DRM": "n"}
    actual = {"CONFIG_NUMA": "y"}
    assert config.unmet_options(requested, actual) == ["CONFIG_KALLSYMS_ALL=y (got n)"]


def test_render_round_trips() -> None:
    options = {"CONFIG_NUMA": "y", "CONFIG_KASAN": "n"}
    assert config.parse_config(kconfig.render_config(options)) == options


SHIPPED = sorted((config.KERNEL_DIR / "config").glob("*.config"))


@pytest.mark.parametrize("fragment", SHIPPED, ids=[path.stem for path in SHIPPED])
def test_shipped_fragments_parse(fragment: Path) -> None:
    assert config.load_fragments([fragment])


def test_base_fragment_has_what_the_suite_needs_on_every_architecture() -> None:
    options = config.load_fragments([config.BASE_FRAGMENT])
    needed = ["NUMA", "MIGRATION", "CPUSETS", "MEMCG",
              "TRANSPARENT_HUGEPAGE", "HUGETLBFS", "KSM", "MEMORY_HOTPLUG",
              "MEMORY_HOTREMOVE", "PROC_PAGE_MONITOR", "IDLE_PAGE_TRACKING", "KALLSYMS",
              "VIRTIO_CONSOLE", "NET_9P_VIRTIO", "9P_FS"]
    assert [name for name in needed if options.get(f"CONFIG_{name}") != "y"] == []


@pytest.mark.parametrize(("arch", "needed"), [
    ("x86_64", ["IA32_EMULATION", "X86_64_ACPI_NUMA", "VIRTIO_PCI", "SERIAL_8250_CONSOLE"]),
    ("arm64", ["VIRTIO_MMIO", "SERIAL_AMBA_PL011_CONSOLE"]),
])
def test_arch_fragment_has_what_its_machine_needs(arch: str, needed: list[str]) -> None:
    options = config.load_fragments([arches.lookup(arch).fragment])
    assert [name for name in needed if options.get(f"CONFIG_{name}") != "y"] == []


def test_base_fragment_names_no_architecture_option() -> None:
    arch_options = {name for arch in arches.ARCHES.values()
                    for name in config.load_fragments([arch.fragment])}
    assert arch_options.isdisjoint(config.load_fragments([config.BASE_FRAGMENT]))
