"""Rebuild the workspace kernel after an edit: make bzImage, with the runner's helpers.

The make invocation and its environment are movephys.vm.build's own
(make, make_env, run_logged), so a mutant is compiled exactly as the
reference was. One difference: ccache's base directory is widened to the
whole cache, so that the workspace (<cache>/mutants/...) and the reference
(<cache>/kernels/...) hash their include paths alike, relative to the
build dir; the reference's objects can then serve the workspace's first
build wherever kbuild's other absolute paths allow it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from movephys.mutants import workspace as workspace_module
from movephys.mutants.workspace import Workspace
from movephys.vm import build as vm_build
from movephys.vm.build import Progress
from movephys.vm.errors import RunnerError


@dataclass(frozen=True)
class RebuildRequest:
    workspace: Workspace
    jobs: int
    cache_dir: Path
    log: Path
    what: str  # names the step in progress lines and errors
    install_headers: bool  # a syscall table or uapi edit: headers_install into the workspace


@dataclass(frozen=True)
class RebuildResult:
    ok: bool
    seconds: float
    error: str  # the one-line error of the failed step; "" when ok


def make_env(cache_dir: Path) -> dict[str, str]:
    env = vm_build.make_env(cache_dir)
    if "CCACHE_BASEDIR" in env:
        env["CCACHE_BASEDIR"] = str(cache_dir)
    return env


def rebuild(request: RebuildRequest, progress: Progress) -> RebuildResult:
    """make bzImage in the workspace (and headers_install when asked); never raises for make."""
    workspace = request.workspace
    request.log.parent.mkdir(parents=True, exist_ok=True)
    env = make_env(request.cache_dir)
    started = time.monotonic()
    try:
        vm_build.make(workspace.source_tree, workspace.build_dir, ["bzImage"], request.jobs,
                       request.log, progress, env, request.what)
        if request.install_headers:
            # Marked first: an interrupted install leaves headers the next mutant replaces.
            workspace_module.mark_headers_dirty(workspace)
            vm_build.make(workspace.source_tree, workspace.build_dir,
                           ["headers_install", f"INSTALL_HDR_PATH={workspace.headers}"],
                           request.jobs, request.log, progress, env,
                           f"{request.what}: installing headers")
    except RunnerError as error:
        return RebuildResult(False, time.monotonic() - started, str(error))
    return RebuildResult(True, time.monotonic() - started, "")
