"""Build a kernel: unpack, patch, configure, compile, install uapi headers.

A tarball build is cached under a key hashed from the source, the patches
and the config fragments (which tell the kernel lines apart), so an
unchanged request never compiles again.
A maintainer's tree is built as it is, into our cache, and make decides
what is stale.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from movephys import kconfig
from movephys.vm import arches, config, series
from movephys.vm.errors import RunnerError

DEFAULT_SOURCE = series.SERIES[series.DEFAULT_SERIES].tarball
PATCH_DIR = series.SERIES[series.DEFAULT_SERIES].patch_dir
RECIPE_VERSION = "1"  # bump when the steps below change what they produce

Progress = Callable[[str], None]

_REQUIRED_TOOLS = {
    "gcc": "gcc",
    "make": "make",
    "flex": "flex",
    "bison": "bison",
    "bc": "bc",
    "git": "git",
}
_REQUIRED_HEADERS = {
    Path("/usr/include/gelf.h"): "libelf-dev",
    Path("/usr/include/openssl/opensslv.h"): "libssl-dev",
}


@dataclass(frozen=True)
class BuildRequest:
    source: Path  # a linux-source tarball, or a kernel tree built as it is
    patches: tuple[Path, ...]  # applied to a tarball's tree only
    fragments: tuple[Path, ...]
    cache_dir: Path
    jobs: int
    series: str = series.DEFAULT_SERIES  # the kernel line: movephys.vm.series
    arch: str = arches.DEFAULT_ARCH  # movephys.vm.arches


@dataclass(frozen=True)
class BuiltKernel:
    image: Path  # what QEMU boots: bzImage on x86_64, Image on arm64
    headers: Path  # holds include/asm/unistd_64.h
    source_tree: Path
    build_dir: Path
    key: str
    seconds: float
    arch: str = arches.DEFAULT_ARCH


def default_patches(patch_dir: Path | None = None) -> tuple[Path, ...]:
    """Our series for one kernel line (@patch_dir, default 6.12's), in order.
    An empty one is an error: a tarball built without it would boot a
    kernel lacking the call, and the suite would blame the kernel for what
    the installation lost."""
    directory = PATCH_DIR if patch_dir is None else patch_dir
    patches = tuple(sorted(directory.glob("*.patch")))
    if not patches:
        raise RunnerError(f"no kernel patches in {directory}: this movephys installation "
                          "lacks its series (reinstall it, or run from a checkout)")
    return patches


def missing_build_packages(arch: str = arches.DEFAULT_ARCH) -> list[str]:
    """Debian packages whose absence would stop the build for @arch."""
    target = arches.lookup(arch)
    tools = {**_REQUIRED_TOOLS, target.compiler: target.compiler_package}
    missing = [pkg for tool, pkg in tools.items() if shutil.which(tool) is None]
    missing += [pkg for header, pkg in _REQUIRED_HEADERS.items() if not header.exists()]
    return sorted(set(missing))


def check_inputs(request: BuildRequest) -> None:
    """Every patch and fragment of @request is there, before any slow step
    (cache_key reads them, the configure step only comes after unpacking)."""
    for path in (*request.patches, *request.fragments):
        if not path.is_file():
            raise RunnerError(f"{path} does not exist (reinstall movephys, or run from a "
                              "checkout)")


def check_prerequisites(request: BuildRequest) -> None:
    check_inputs(request)
    packages = missing_build_packages(request.arch)
    if not request.source.exists():
        if request.source == DEFAULT_SOURCE:
            packages.append(series.SERIES[series.DEFAULT_SERIES].package)
        elif (known := series.of_tarball(request.source)) is not None:
            packages.append(known.package)
        else:
            raise RunnerError(f"kernel source {request.source} does not exist")
    if packages:
        raise RunnerError(
            "missing build dependencies: apt-get install " + " ".join(sorted(set(packages)))
        )


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _tree_identity(tree: Path) -> str:
    """HEAD plus uncommitted changes for a git tree; the path otherwise."""
    try:
        head = subprocess.run(
            ["git", "-C", str(tree), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        diff = subprocess.run(
            ["git", "-C", str(tree), "diff", "HEAD"],
            capture_output=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return f"tree:{tree.resolve()}"
    return f"git:{head}:{hashlib.sha256(diff).hexdigest()}"


def cache_key(request: BuildRequest) -> str:
    digest = hashlib.sha256(f"recipe {RECIPE_VERSION}\narch {request.arch}\n".encode())
    if request.source.is_dir():
        digest.update(_tree_identity(request.source).encode())
    else:
        digest.update(f"tarball {request.source.name} {_file_digest(request.source)}\n".encode())
    for path in (*request.patches, *request.fragments):
        digest.update(f"{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def run_logged(command: list[str], log: Path, progress: Progress, what: str,
                env: dict[str, str] | None = None, cwd: Path | None = None) -> None:
    """Run a long step, report progress every 20 s, keep its output in @log."""
    started = time.monotonic()
    last_report = started
    compiled = 0
    last_object = ""
    with log.open("a") as sink:
        sink.write(f"$ {' '.join(command)}\n")
        sink.flush()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=env, cwd=cwd,
        )
        assert process.stdout is not None
        for line in process.stdout:
            sink.write(line)
            fields = line.split()
            if len(fields) == 2 and fields[0] in {"CC", "LD", "AR", "AS"}:
                compiled += 1
                last_object = fields[1]
            now = time.monotonic()
            if now - last_report >= 20:
                progress(f"{what}: {compiled} objects, now {last_object} "
                         f"({now - started:.0f} s)")
                last_report = now
        status = process.wait()
    if status != 0:
        tail = log.read_text(errors="replace").splitlines()[-15:]
        errors = [line for line in tail if "error" in line.lower()] or tail[-3:]
        raise RunnerError(f"{what} failed (exit {status}), see {log}: {errors[-1].strip()}")


def _prepare_tree(tarball: Path, patches: tuple[Path, ...], destination: Path, log: Path,
                  progress: Progress) -> None:
    """Unpack and patch beside @destination, then rename: never half a tree."""
    progress(f"unpacking {tarball} ...")
    staging = destination.with_name(destination.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    run_logged(["tar", "-xf", str(tarball), "-C", str(staging)], log, progress, "unpacking")
    tops = [entry for entry in staging.iterdir() if entry.is_dir()]
    if len(tops) != 1:
        raise RunnerError(f"{tarball} does not hold exactly one top-level directory")
    for patch in patches:
        progress(f"applying {patch.name}")
        run_logged(["git", "apply", "--whitespace=nowarn", str(patch)], log, progress,
                    f"applying {patch.name}", cwd=tops[0])
    shutil.rmtree(destination, ignore_errors=True)
    tops[0].rename(destination)
    shutil.rmtree(staging)


def make_env(cache_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    # Fixed build identity makes objects reproducible and ccache hits likely.
    env.update(KBUILD_BUILD_USER="movephys", KBUILD_BUILD_HOST="movephys",
               KBUILD_BUILD_TIMESTAMP="2026-01-01")
    if shutil.which("ccache"):
        env.update(CCACHE_DIR=str(cache_dir / "ccache"),
                   CCACHE_BASEDIR=str(cache_dir / "kernels"))
    return env


def make(tree: Path, build_dir: Path, targets: list[str], jobs: int, log: Path,
          progress: Progress, env: dict[str, str], what: str,
          arch: str = arches.DEFAULT_ARCH) -> None:
    target = arches.lookup(arch)
    command = ["make", "-C", str(tree), f"O={build_dir}", f"-j{jobs}",
               *target.make_variables, *targets]
    if shutil.which("ccache"):
        command.append(f"CC=ccache {target.compiler}")
    run_logged(command, log, progress, what, env=env)


def _configure(tree: Path, build_dir: Path, fragments: tuple[Path, ...], log: Path,
               progress: Progress, env: dict[str, str], arch: str) -> None:
    requested = config.load_fragments(fragments)
    merged = build_dir / "movephys.fragment"
    merged.write_text(kconfig.render_config(requested))
    make(tree, build_dir, ["allnoconfig"], 1, log, progress,
          dict(env, KCONFIG_ALLCONFIG=str(merged)), "configuring", arch)
    actual = config.parse_config((build_dir / ".config").read_text(), ".config")
    if unmet := config.unmet_options(requested, actual):
        raise RunnerError(f"kconfig dropped {len(unmet)} requested option(s): "
                          + ", ".join(unmet[:5]))


def build(request: BuildRequest, progress: Progress) -> BuiltKernel:
    check_prerequisites(request)
    started = time.monotonic()
    key = cache_key(request)
    home = request.cache_dir / "kernels" / key
    build_dir = home / "build"
    headers = home / "usr"
    done = home / "done.json"
    is_tree = request.source.is_dir()
    tree = request.source if is_tree else home / "src"
    target = arches.lookup(request.arch)
    image = build_dir / target.image

    if done.exists() and image.exists() and not is_tree:
        progress(f"reusing kernel {key} ({image})")
        return BuiltKernel(image, headers, tree, build_dir, key, time.monotonic() - started,
                           target.name)

    home.mkdir(parents=True, exist_ok=True)
    log = home / "build.log"
    log.write_text("")
    env = make_env(request.cache_dir)
    if not is_tree and not (tree / "Makefile").exists():
        _prepare_tree(request.source, request.patches, tree, log, progress)
    build_dir.mkdir(parents=True, exist_ok=True)
    progress(f"configuring with {', '.join(p.name for p in request.fragments)}")
    _configure(tree, build_dir, request.fragments, log, progress, env, target.name)
    progress(f"building {target.image_target} for {target.name} with {request.jobs} jobs "
             f"(log: {log})")
    make(tree, build_dir, [target.image_target], request.jobs, log, progress, env, "building",
         target.name)
    make(tree, build_dir, ["headers_install", f"INSTALL_HDR_PATH={headers}"], request.jobs,
          log, progress, env, "installing headers", target.name)
    seconds = time.monotonic() - started
    done.write_text(json.dumps({"key": key, "seconds": round(seconds, 1)}) + "\n")
    progress(f"built kernel {key} in {seconds:.0f} s")
    return BuiltKernel(image, headers, tree, build_dir, key, seconds, target.name)


def print_progress(message: str) -> None:
    print(f"[movephys.vm] {message}", file=sys.stderr, flush=True)
