"""The workspace: a copy of the cached reference tree and build dir that mutants may edit.

The cached reference build (<cache>/kernels/<key>/) is never written. The
workspace lives in <cache>/mutants/<key>/ and is made once, then reused
by every run:

- src/: a hardlink copy of the reference source (cp -al), cheap in time
  and space. It is safe only because every write into it goes through
  mutant.write_atomically(), which replaces the link instead of writing
  through it, and because a build with O= never writes its source tree;
- build/: a real copy of the reference build dir (cp -a --reflink=auto),
  which make rewrites;
- usr/: a copy of the reference's installed uapi headers, which a syscall
  table mutant re-installs (and the next mutant puts back).

workspace.json is written last, so a copy that was interrupted is made
again. applied.json names the file a mutant has changed until it is
restored, so that a run killed mid-mutant leaves a workspace the next run
repairs before it builds anything.
"""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from movephys.mutants.mutant import MutantError, restore, write_atomically
from movephys.vm import build as vm_build
from movephys.vm import run as vm_run
from movephys.vm.build import BuiltKernel, Progress

MARKER = "workspace.json"
JOURNAL = "applied.json"
HEADERS_DIRTY = "headers.dirty"


@dataclass(frozen=True)
class Workspace:
    root: Path
    reference: BuiltKernel

    @property
    def source_tree(self) -> Path:
        return self.root / "src"

    @property
    def build_dir(self) -> Path:
        return self.root / "build"

    @property
    def headers(self) -> Path:
        return self.root / "usr"

    @property
    def image(self) -> Path:
        return self.build_dir / "arch" / "x86" / "boot" / "bzImage"

    def kernel(self) -> vm_run.Kernel:
        return vm_run.Kernel(self.image, self.headers, self.source_tree)


@dataclass(frozen=True)
class Marker:
    """What workspace.json records: the reference copied and the costs of the copy."""

    reference_key: str
    created: str
    copy_seconds: float
    prime_seconds: float | None  # the first build in the workspace; None until done


def workspace_root(cache_dir: Path, reference_key: str) -> Path:
    return cache_dir / "mutants" / reference_key


def read_marker(root: Path) -> Marker | None:
    try:
        data: Any = json.loads((root / MARKER).read_text())
        return Marker(str(data["reference_key"]), str(data["created"]),
                      float(data["copy_seconds"]),
                      None if data.get("prime_seconds") is None else float(data["prime_seconds"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_marker(root: Path, marker: Marker) -> None:
    text = json.dumps(marker.__dict__, indent=1) + "\n"
    write_atomically(root / MARKER, text.encode())


def _copy(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise MutantError(f"copying {what} into the workspace failed: {last}")


def copy_reference(reference: BuiltKernel, root: Path) -> None:
    """Copy the reference's source, build dir and headers into @root (which is emptied)."""
    for name in ("src", "build", "usr", MARKER, JOURNAL, HEADERS_DIRTY):
        path = root / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    _copy(["cp", "-al", str(reference.source_tree), str(root / "src")], "the source (hardlinks)")
    _copy(["cp", "-a", "--reflink=auto", str(reference.build_dir), str(root / "build")],
          "the build dir")
    _copy(["cp", "-a", str(reference.headers), str(root / "usr")], "the uapi headers")


def prepare(reference: BuiltKernel, cache_dir: Path, progress: Progress
            ) -> tuple[Workspace, Marker]:
    """The workspace of @reference, copied now unless a complete copy exists."""
    root = workspace_root(cache_dir, reference.key)
    workspace = Workspace(root, reference)
    marker = read_marker(root)
    if marker is not None and marker.reference_key == reference.key:
        progress(f"reusing the mutants workspace {root}")
        return workspace, marker
    progress(f"copying the reference kernel {reference.key} into {root} ...")
    started = time.monotonic()
    copy_reference(reference, root)
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    marker = Marker(reference.key, created, round(time.monotonic() - started, 1), None)
    write_marker(root, marker)
    progress(f"workspace copied in {marker.copy_seconds:.0f} s")
    return workspace, marker


# -- keeping the workspace equal to the reference between mutants --------------


def note_applied(workspace: Workspace, mutant_id: str, file: str) -> None:
    text = json.dumps({"mutant": mutant_id, "file": file}) + "\n"
    write_atomically(workspace.root / JOURNAL, text.encode())


def clear_applied(workspace: Workspace) -> None:
    (workspace.root / JOURNAL).unlink(missing_ok=True)


def recover(workspace: Workspace, files: Iterable[str]) -> list[str]:
    """Give every file a mutant may touch its reference bytes again; the files restored.

    Checks the file a run left applied (applied.json) and every file of
    @files, so a mutant that was removed from the data is undone too.
    """
    wanted = dict.fromkeys(files)
    try:
        left = json.loads((workspace.root / JOURNAL).read_text())
        wanted.setdefault(str(left["file"]))
    except (OSError, ValueError, KeyError, TypeError):
        pass
    restored = [file for file in wanted
                if (workspace.reference.source_tree / file).exists()
                and restore(file, workspace.reference.source_tree, workspace.source_tree)]
    clear_applied(workspace)
    return restored


def mark_headers_dirty(workspace: Workspace) -> None:
    (workspace.root / HEADERS_DIRTY).write_text("the uapi headers were installed from a mutant\n")


def reset_headers(workspace: Workspace) -> bool:
    """Copy the reference headers back after a mutant installed its own; True if it did."""
    dirty = workspace.root / HEADERS_DIRTY
    if not dirty.exists():
        return False
    shutil.rmtree(workspace.headers, ignore_errors=True)
    _copy(["cp", "-a", str(workspace.reference.headers), str(workspace.headers)],
          "the uapi headers")
    dirty.unlink()
    return True


def reference_request(debug: bool, cache_dir: Path, jobs: int) -> vm_build.BuildRequest:
    """The request movephys.vm.run.build_kernel() makes for the reference tarball."""
    return vm_run.build_request(vm_build.DEFAULT_SOURCE, cache_dir, debug, jobs)


def cached_reference(request: vm_build.BuildRequest, progress: Progress) -> BuiltKernel | None:
    """The reference build when the cache holds a complete one; never starts a build."""
    home = request.cache_dir / "kernels" / vm_build.cache_key(request)
    if not (home / "done.json").exists():
        return None
    return vm_build.build(request, progress)
