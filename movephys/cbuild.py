"""Compiling a C source at run time into the cache, once per source version.

The 32-bit helper of the compat cases and the bench's C baseline are both
built here: gcc writes to a private name in the cache directory
(:mod:`movephys.cache`), then the file is renamed to a name carrying a hash
of the source and the flags, so parallel workers never see half a file and
an edited source is rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from movephys import cache


class BuildFailed(RuntimeError):
    """gcc is missing, failed or took too long (one line)."""


@dataclass(frozen=True)
class CBuild:
    """One C source and how to build it; ``fallbacks`` are extra flags tried in turn."""

    source: Path
    stem: str  # the output's name before the hash: "compat32", "revtrans"
    flags: tuple[str, ...]
    suffix: str = ""  # ".so" for a shared object
    fallbacks: tuple[tuple[str, ...], ...] = ((),)
    timeout_s: float = 120.0

    def key(self, text: bytes) -> str:
        return hashlib.sha256(text + " ".join(self.flags).encode()).hexdigest()[:16]


def first_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if "error" in line or "cannot find" in line]
    return (lines or stderr.splitlines() or ["no output"])[0].strip()


def _compile(request: CBuild, extra: Sequence[str], directory: Path) -> tuple[str | None, str]:
    """Build into a private file: (its path, "") or (None, why gcc failed)."""
    fd, temporary = tempfile.mkstemp(prefix=f".{request.stem}-", suffix=request.suffix,
                                     dir=directory)
    os.close(fd)
    command = ["gcc", *request.flags, *extra, "-o", temporary, str(request.source)]
    try:
        built = subprocess.run(command, capture_output=True, text=True,
                               timeout=request.timeout_s, check=False)
    except FileNotFoundError:
        os.unlink(temporary)
        raise BuildFailed(f"no gcc to build {request.source.name}: install gcc") from None
    except subprocess.TimeoutExpired:
        os.unlink(temporary)
        raise BuildFailed(f"gcc took more than {request.timeout_s:.0f} s on "
                          f"{request.source.name}") from None
    if built.returncode == 0:
        return temporary, ""
    os.unlink(temporary)
    return None, first_error_line(built.stderr)


def build(request: CBuild, directory: Path | None = None) -> Path:
    """The built file for this version of the source, compiled when there is none yet."""
    directory = cache.cache_dir() if directory is None else directory
    key = request.key(request.source.read_bytes())
    target = directory / f"{request.stem}-{key}{request.suffix}"
    if target.is_file():
        return target
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BuildFailed(f"cache directory {directory} unusable: {error.strerror}") from None
    why = "no flags tried"
    for extra in request.fallbacks:
        built, why = _compile(request, extra, directory)
        if built is not None:
            os.replace(built, target)
            return target
    raise BuildFailed(f"gcc failed on {request.source.name}: {why}")
