"""Packaging hooks that pyproject.toml cannot express.

The spec tables live at the top of the checkout (spec/), where maintainers
edit them; the wheel carries a copy as movephys/_spec so an installed
package still finds them. The man page rendered by `tox -e man` into
build/man/ goes into the sdist as man2/ (setuptools leaves build/ out of
an sdist) and from either place into share/man/man2 of the wheel.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.command.sdist import sdist

PAGE_NAME = "move_phys_pages.2"
RENDERED_PAGE = Path("build/man") / PAGE_NAME
SDIST_PAGE = Path("man2") / PAGE_NAME


class BuildPyWithSpec(build_py):
    def run(self) -> None:
        super().run()
        target = Path(self.build_lib) / "movephys" / "_spec"
        target.mkdir(parents=True, exist_ok=True)
        for table in sorted(Path("spec").glob("*.toml")):
            shutil.copy2(table, target / table.name)


class SdistWithManPage(sdist):
    def make_release_tree(self, base_dir: str, files: list[str]) -> None:
        super().make_release_tree(base_dir, files)
        if RENDERED_PAGE.exists():
            (Path(base_dir) / SDIST_PAGE.parent).mkdir(exist_ok=True)
            shutil.copy2(RENDERED_PAGE, Path(base_dir) / SDIST_PAGE)


def man_pages() -> list[str]:
    return [str(page) for page in (RENDERED_PAGE, SDIST_PAGE) if page.exists()][:1]


setup(
    cmdclass={"build_py": BuildPyWithSpec, "sdist": SdistWithManPage},
    data_files=[("share/man/man2", man_pages())],
)
