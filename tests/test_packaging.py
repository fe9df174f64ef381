"""The sdist and the wheel carry what an installed movephys needs, and it works outside a checkout.

The wheel is built from the sdist (as pip does from PyPI), installed into a
fresh virtual environment, and the runner is asked, from a directory that
is no checkout, what it would build and run: the series, the kconfig
fragments and the suite must come from the installed copy. No kernel is
built or booted.
"""

import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import cffi
import pytest
from manpage_build import REPO, build_man_page

from movephys import __version__
from movephys.vm import rootfs
from movephys.vm.build import DEFAULT_SOURCE

SERIES = sorted(path.name for path in (REPO / "kernel" / "patches").glob("*.patch"))
SERIES_6_1 = sorted(path.name for path in (REPO / "kernel" / "patches-6.1").glob("*.patch"))


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_man_page(REPO / "build" / "man")
    out = tmp_path_factory.mktemp("dist")
    # Neither --sdist nor --wheel: build makes the sdist, then the wheel from
    # the unpacked sdist, so a file the sdist forgot is missing from the wheel.
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )
    if "No module named build" in result.stderr:
        pytest.skip("the PyPI package 'build' is not installed: pip install build")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out


def test_wheel_carries_man_page_spec_series_suite_and_helper(dist_dir: Path) -> None:
    wheel = next(dist_dir.glob(f"movephys-{__version__}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert any(name.endswith(".data/data/share/man/man2/move_phys_pages.2") for name in names)
    assert {"movephys/_data/spec/errors.toml", "movephys/_data/kernel/config/base.config",
            "movephys/_data/kernel/config/debug.config", "movephys/_data/conftest.py",
            "movephys/_data/suites/conftest.py", "movephys/_data/suites/suitekit/calls.py",
            "movephys/_data/pyproject.toml", "movephys/syscall/helpers/compat32.c"} <= set(names)
    assert {f"movephys/_data/kernel/patches/{patch}" for patch in SERIES} <= set(names)
    assert {f"movephys/_data/kernel/patches-6.1/{patch}" for patch in SERIES_6_1} <= set(names)
    assert "movephys/_data/kernel/config/series-6.1.config" in names


def test_sdist_carries_sources_of_everything(dist_dir: Path) -> None:
    sdist = next(dist_dir.glob(f"movephys-{__version__}.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"spec/errors.toml", "man2/move_phys_pages.2", "setup.py", "conftest.py",
            "suites/conftest.py", "kernel/config/base.config",
            "movephys/syscall/helpers/compat32.c"} <= names
    assert {f"kernel/patches/{patch}" for patch in SERIES} <= names
    assert {f"kernel/patches-6.1/{patch}" for patch in SERIES_6_1} <= names


@dataclass(frozen=True)
class Installed:
    python: Path
    package: Path  # movephys/ in the venv's site-packages
    outside: Path  # the working directory: no checkout anywhere above it
    env: dict[str, str]

    def run(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(self.python), *arguments], cwd=self.outside, env=self.env,
                              capture_output=True, text=True, check=False, timeout=120)


def _site_packages(python: Path) -> Path:
    found = subprocess.run([str(python), "-c",
                            "import sysconfig; print(sysconfig.get_path('purelib'))"],
                           capture_output=True, text=True, check=True)
    return Path(found.stdout.strip())


@pytest.fixture(scope="module")
def installed(dist_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Installed:
    root = tmp_path_factory.mktemp("installed")
    venv = root / "venv"
    # No pip in the venv (ensurepip alone takes seconds): this one installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    wheel = next(dist_dir.glob(f"movephys-{__version__}-*.whl"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--quiet", str(wheel)],
        capture_output=True, text=True, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    site = _site_packages(python)
    # Offline: the dependencies (pytest, cffi) come from the environment running
    # these tests. A .pth line puts them after the venv's own site-packages, and
    # .pth files there are not processed, so an editable movephys of the checkout
    # installed beside them stays out of sight.
    dependencies = {Path(pytest.__file__).parents[1], Path(cffi.__file__).parents[1]}
    (site / "dependencies-of-the-test.pth").write_text(
        "".join(f"{directory}\n" for directory in sorted(dependencies)))
    outside = root / "elsewhere"
    outside.mkdir()
    env = {key: value for key, value in os.environ.items()
           if key not in ("PYTHONPATH", "MOVEPHYS_CACHE")}
    return Installed(python, site / "movephys", outside, dict(env, PYTHONDONTWRITEBYTECODE="1"))


def test_installed_package_is_the_wheel_not_the_checkout(installed: Installed) -> None:
    result = installed.run("-c", "import movephys.locations as l, movephys.spec as s; "
                                 "print(l.data_root(), l.build_dir(), s.load_spec().directory)")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [str(installed.package / "_data"),
                                     str(installed.outside / "build"),
                                     str(installed.package / "_data" / "spec")]


def test_installed_runner_help(installed: Installed) -> None:
    result = installed.run("-m", "movephys.vm", "--help")
    assert result.returncode == 0, result.stderr
    assert "build (or reuse) the reference kernel" in result.stdout


def test_installed_runner_finds_series_fragments_and_suite(installed: Installed) -> None:
    result = installed.run("-m", "movephys.vm", "suite", "--dry-run", "--debug")
    assert result.returncode == 0, result.stderr
    data = installed.package / "_data"
    assert result.stdout.splitlines() == [
        "series: 6.12",
        "arch: x86_64",
        f"source: {DEFAULT_SOURCE}",
        *(f"patch: {data / 'kernel' / 'patches' / patch}" for patch in SERIES),
        f"fragment: {data / 'kernel' / 'config' / 'base.config'}",
        f"fragment: {data / 'kernel' / 'config' / 'arch-x86_64.config'}",
        f"fragment: {data / 'kernel' / 'config' / 'debug.config'}",
        f"suite: {data / 'suites'}",
        f"results: {installed.outside / 'build' / 'results'}",
    ]


def test_installed_runner_finds_the_6_1_series(installed: Installed) -> None:
    result = installed.run("-m", "movephys.vm", "build", "--dry-run", "--series", "6.1")
    assert result.returncode == 0, result.stderr
    data = installed.package / "_data"
    assert result.stdout.splitlines() == [
        "series: 6.1",
        "arch: x86_64",
        "source: /usr/src/linux-source-6.1.tar.xz",
        *(f"patch: {data / 'kernel' / 'patches-6.1' / patch}" for patch in SERIES_6_1),
        f"fragment: {data / 'kernel' / 'config' / 'base.config'}",
        f"fragment: {data / 'kernel' / 'config' / 'arch-x86_64.config'}",
        f"fragment: {data / 'kernel' / 'config' / 'series-6.1.config'}",
    ]


def test_installed_build_of_a_missing_source_names_only_the_source(installed: Installed) -> None:
    result = installed.run("-m", "movephys.vm", "build", "--source", "/nonexistent")
    assert result.returncode == 2
    assert result.stderr == "movephys.vm: error: kernel source /nonexistent does not exist\n"


def _collected(python: Path, root: Path, cwd: Path, env: dict[str, str] | None) -> list[str]:
    """The suite's case ids as `movephys.vm suite` has pytest collect them in the guest."""
    result = subprocess.run(
        [str(python), "-m", "pytest", f"--rootdir={root}", str(root / "suites"),
         "-p", "no:cacheprovider", "--require-syscall", "--destructive",
         "--collect-only", "-q"],
        cwd=cwd, env=env, capture_output=True, text=True, check=False, timeout=120,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return [line for line in result.stdout.splitlines() if "::" in line]


def test_installed_suite_collects_every_case_of_the_checkout(installed: Installed) -> None:
    # --require-syscall and --destructive exist only if the root conftest.py was read.
    shipped = _collected(installed.python, installed.package / "_data", installed.outside,
                         installed.env)
    assert shipped == _collected(Path(sys.executable), REPO, REPO, None)
    assert len(shipped) > 100


def test_installed_rootfs_installs_the_requirements_of_the_checkout(installed: Installed) -> None:
    result = installed.run("-c", "from movephys.vm import rootfs; print(*rootfs.requirements())")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == list(rootfs.requirements())
