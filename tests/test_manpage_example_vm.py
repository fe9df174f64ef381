"""The EXAMPLES program of move_phys_pages.2, run on the reference kernel.

Boots the kernel under QEMU (tox -e guest), so it is marked `boots` and
stays out of the unit run. It builds the program with the page's own
command against the headers of the kernel it boots, runs it as the page's
sample session does, and checks that the output has the session's shape:
the same lines, with only node ids and addresses free, and the page on the
node asked for afterwards.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from manpage_build import REPO, build_example, example_session

pytestmark = pytest.mark.boots

# Under the checkout: the guest sees the host's files read-only from there.
BUILD_DIR = REPO / "build" / "man-example"


def _vm(*arguments: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "movephys.vm", *arguments],
        cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False,
    )


def _reference_headers() -> Path:
    """The headers of the kernel `run` boots (built, or reused from the cache)."""
    result = _vm("build", timeout=3600)
    assert result.returncode == 0, result.stderr[-2000:]
    match = re.search(r"^headers: (.+)$", result.stdout, re.MULTILINE)
    assert match, result.stdout
    return Path(match[1])


def test_example_output_has_the_shape_of_the_sample_session() -> None:
    session = example_session()
    built = build_example(_reference_headers(), BUILD_DIR)
    assert (built.returncode, built.stderr) == (0, "")

    program, *arguments = session.run
    command = [str((BUILD_DIR / program).relative_to(REPO)), *arguments]
    result = _vm("run", "--quiet", "--nodes", "2", "--", *command, timeout=1800)
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]

    lines = [line for line in result.stdout.splitlines() if line.strip()]
    patterns = session.output_patterns()
    assert len(lines) == len(patterns), lines
    for line, pattern in zip(lines, patterns, strict=True):
        assert pattern.match(line), (line, pattern.pattern)
    target = arguments[-1]
    assert re.match(rf"after: +node {target},", lines[-1]), lines[-1]
