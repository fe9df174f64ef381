"""The sdist and the wheel carry the man page, the spec tables and the helper source."""

import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from movephys import __version__
from tests.manpage_build import REPO, build_man_page


@pytest.fixture(scope="module")
def dist_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    build_man_page(REPO / "build" / "man")
    out = tmp_path_factory.mktemp("dist")
    for target in ("--sdist", "--wheel"):
        result = subprocess.run(
            [sys.executable, "-m", "build", "--no-isolation", target, "--outdir", str(out)],
            cwd=REPO, capture_output=True, text=True, check=False,
        )
        if "No module named build" in result.stderr:
            pytest.skip("the PyPI package 'build' is not installed: pip install build")
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return out


def test_wheel_carries_man_page_spec_and_helper(dist_dir: Path):
    wheel = next(dist_dir.glob(f"movephys-{__version__}-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    assert any(name.endswith(".data/data/share/man/man2/move_phys_pages.2") for name in names)
    assert "movephys/_spec/errors.toml" in names
    assert "movephys/syscall/helpers/compat32.c" in names


def test_sdist_carries_sources_of_everything(dist_dir: Path):
    sdist = next(dist_dir.glob(f"movephys-{__version__}.tar.gz"))
    with tarfile.open(sdist) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    assert {"spec/errors.toml", "man2/move_phys_pages.2", "setup.py",
            "movephys/syscall/helpers/compat32.c"} <= names
    assert any(name.startswith("kernel/patches/0001-") for name in names)
