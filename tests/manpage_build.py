"""Building move_phys_pages.2 from a test: the command tox runs, in a temp dir."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MANPAGE_DIR = REPO / "manpage"
PAGE_NAME = "move_phys_pages.2"


def build_man_page(out_dir: Path, source_date_epoch: str | None = None) -> Path:
    """Run `python -m sphinx -b man -W manpage OUT`; fail with Sphinx's output."""
    env = {key: value for key, value in os.environ.items() if key != "SOURCE_DATE_EPOCH"}
    if source_date_epoch is not None:
        env["SOURCE_DATE_EPOCH"] = source_date_epoch
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "man", "-W", "-q", "-E"]
        + [str(MANPAGE_DIR), str(out_dir)],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"sphinx man build failed:\n{result.stdout}{result.stderr}")
    return out_dir / PAGE_NAME


EXAMPLES_DIR = MANPAGE_DIR / "examples"
EXAMPLE_PROGRAM = EXAMPLES_DIR / "move_phys_pages_example.c"
EXAMPLE_SESSION = EXAMPLES_DIR / "move_phys_pages_example.session"
# The placeholder of the page's build command for the kernel's headers.
HEADERS_PLACEHOLDER = "DIR"


@dataclass(frozen=True)
class Session:
    """The page's sample shell session: what the reader types, what follows."""

    commands: tuple[tuple[str, ...], ...]
    output: tuple[str, ...]

    @property
    def build(self) -> tuple[str, ...]:
        return self.commands[0]

    @property
    def run(self) -> tuple[str, ...]:
        """The program's command line as root runs it (no sudo)."""
        command = self.commands[1]
        return command[1:] if command[0] == "sudo" else command

    def output_patterns(self) -> list[re.Pattern[str]]:
        """Each output line with its numbers (node ids, addresses) left open."""
        return [re.compile(_open_numbers(re.escape(line)) + "$") for line in self.output]


def _open_numbers(text: str) -> str:
    return re.sub(r"0x[0-9a-f]+|\d+",
                  lambda match: "0x[0-9a-f]+" if match[0].startswith("0x") else r"\d+", text)


def example_session() -> Session:
    lines = EXAMPLE_SESSION.read_text(encoding="utf-8").splitlines()
    commands = tuple(tuple(shlex.split(line[2:])) for line in lines if line.startswith("$ "))
    output = tuple(line for line in lines if not line.startswith("$ "))
    return Session(commands, output)


def reference_headers() -> tuple[Path | None, str]:
    """The reference kernel's installed uapi headers (the page's DIR), or why not.

    The directory is the cache entry `python -m movephys.vm build` fills;
    nothing is built here.
    """
    from movephys.vm import build, run

    request = run.build_request()
    if not request.source.exists():
        return None, f"no kernel source {request.source}, so no reference kernel headers"
    headers = request.cache_dir / "kernels" / build.cache_key(request) / "usr"
    if not (headers / "include" / "asm" / "unistd_64.h").is_file():
        return None, (f"the reference kernel's headers are not installed at {headers}: "
                      "run `python -m movephys.vm build`")
    return headers, ""


def build_example(headers: Path, directory: Path) -> subprocess.CompletedProcess[str]:
    """Run the page's build command, DIR filled in, beside a copy of the program."""
    directory.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(EXAMPLE_PROGRAM, directory / EXAMPLE_PROGRAM.name)
    command = [word.replace(HEADERS_PLACEHOLDER, str(headers), 1)
               if word.startswith(f"{HEADERS_PLACEHOLDER}/") else word
               for word in example_session().build]
    return subprocess.run(command, cwd=directory, capture_output=True, text=True, check=False)
