"""Packaging hooks that pyproject.toml cannot express.

The spec tables, the kernel series, the kconfig fragments and the suite
live at the top of the checkout, where maintainers edit them; the wheel
carries a copy in the same layout as movephys/_data, so an installed
package (movephys.vm above all) still finds them through
movephys.locations.data_root(). The man page rendered by `tox -e man` into
build/man/ goes into the sdist as man2/ (setuptools leaves build/ out of
an sdist) and from either place into share/man/man2 of the wheel.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

# What movephys needs at run time besides its modules, relative to the
# checkout: the spec for the loader, the series and fragments for
# `movephys.vm build`, the suite and its root conftest.py for `movephys.vm suite`,
# pyproject.toml for the suite's requirements a guest's root filesystem installs.
SHIPPED = (
    "spec/*.toml",
    "kernel/patches/*.patch",
    "kernel/patches-*/*.patch",
    "kernel/config/*.config",
    "conftest.py",
    "suites/**/*.py",
    "pyproject.toml",
)
DATA_DIR = Path("movephys") / "_data"  # movephys/locations.py: SHIPPED_DIR
PAGE_NAME = "move_phys_pages.2"
RENDERED_PAGE = Path("build/man") / PAGE_NAME
SDIST_PAGE = Path("man2") / PAGE_NAME


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / DATA_DIR
        # A reused build/lib would otherwise keep a patch dropped from the series.
        shutil.rmtree(target, ignore_errors=True)
        for pattern in SHIPPED:
            for source in sorted(Path().glob(pattern)):
                (target / source).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, target / source)


class SdistWithManPage(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        if RENDERED_PAGE.exists():
            (Path(base_dir) / SDIST_PAGE.parent).mkdir(exist_ok=True)
            shutil.copy2(RENDERED_PAGE, Path(base_dir) / SDIST_PAGE)


def man_pages() -> list[str]:
    return [str(page) for page in (RENDERED_PAGE, SDIST_PAGE) if page.exists()][:1]


setup(
    cmdclass={"build_py": BuildPyWithData, "sdist": SdistWithManPage},
    data_files=[("share/man/man2", man_pages())],
)
