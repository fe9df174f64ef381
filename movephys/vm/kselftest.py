"""`suite --via-kselftest`: the suite run as a test fleet runs it, through the kselftest target.

The host installs kselftest/move_phys_pages/ of the checkout with the
kernel's own tools/testing/selftests/lib.mk (`make install`, as
kselftest_install.sh does, into RESULTS/kselftest with run_kselftest.sh,
kselftest/runner.sh and kselftest-list.txt beside it); the guest runs
`run_kselftest.sh -t move_phys_pages:move_phys_pages.sh`. The runner's
pytest options (results files, --require-syscall, ...) reach the run script
the way kselftest passes a test its arguments:
$KSELFTEST_MOVE_PHYS_PAGES_SH_ARGS. run_kselftest.sh itself always exits 0,
so the guest command turns its result line back into the script's status.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

from movephys.locations import PACKAGE_DIR, data_root
from movephys.vm.ending import EXIT_FAILED, EXIT_HARNESS, EXIT_PASSED
from movephys.vm.errors import RunnerError

TARGET = "move_phys_pages"
SCRIPT = "move_phys_pages.sh"
ARGS_VARIABLE = "KSELFTEST_MOVE_PHYS_PAGES_SH_ARGS"  # kselftest/runner.sh's name for it
SELFTESTS = Path("tools/testing/selftests")
# What the installed tree needs from the kernel's selftests directory.
KERNEL_FILES = ("lib.mk", "run_kselftest.sh", "kselftest")
KSFT_SKIP = 4
TIMEOUT_STATUS = 124  # kselftest/runner.sh's timeout_rc


def target_dir() -> Path:
    target = data_root() / "kselftest" / TARGET
    if not (target / "Makefile").is_file():
        raise RunnerError(f"{target / 'Makefile'} does not exist: --via-kselftest needs a "
                          "movephys checkout")
    return target


def install(kernel_source: Path | None, results: Path) -> Path:
    """RESULTS/kselftest: the target installed with the kernel's lib.mk, ready to run."""
    if kernel_source is None:
        raise RunnerError("--via-kselftest needs the kernel's tools/testing/selftests: build "
                          "the kernel with --source, not --image")
    selftests = kernel_source / SELFTESTS
    for name in KERNEL_FILES:
        if not (selftests / name).exists():
            raise RunnerError(f"{selftests / name} does not exist: not a kernel source tree")
    target = target_dir()
    stage = results / "kselftest-src"
    installed = results / "kselftest"
    for directory in (stage, installed):
        shutil.rmtree(directory, ignore_errors=True)
    stage.mkdir(parents=True)
    for name in KERNEL_FILES:
        source = selftests / name
        if source.is_dir():
            shutil.copytree(source, stage / name)
            shutil.copytree(source, installed / name)
        else:
            shutil.copy2(source, stage / name)
    shutil.copy2(selftests / "run_kselftest.sh", installed / "run_kselftest.sh")
    shutil.copytree(target, stage / TARGET)
    make = ["make", "-C", str(stage / TARGET), f"MOVEPHYS_SRC={data_root()}",
            f"MOVEPHYS_PKG={PACKAGE_DIR}"]
    _make([*make, "install", f"INSTALL_PATH={installed / TARGET}"])
    listing = _make(["make", "-s", "--no-print-directory", *make[1:],
                     f"COLLECTION={TARGET}", "emit_tests"])
    (installed / "kselftest-list.txt").write_text(listing)
    return installed


def _make(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise RunnerError(f"installing the kselftest target failed: {shlex.join(command)}: "
                          f"{last}")
    return done.stdout


def script_arguments(pytest_args: list[str]) -> str:
    """$KSELFTEST_..._ARGS: runner.sh splits it on blanks and never unquotes it."""
    for argument in pytest_args:
        if not argument or any(character.isspace() or character in "'\"\\$`"
                               for character in argument):
            raise RunnerError(f"--via-kselftest: pytest argument {argument!r} cannot pass "
                              "through kselftest's argument variable (blank or quote in it)")
    return " ".join(pytest_args)


def guest_command(installed: Path, log: Path) -> str:
    """Run the target through run_kselftest.sh; exit with the status its result line names."""
    result = f"selftests: {TARGET}: {SCRIPT}"
    return "\n".join([
        f"{shlex.quote(str(installed / 'run_kselftest.sh'))} -t {TARGET}:{SCRIPT} "
        f"| tee {shlex.quote(str(log))}",
        f"line=$(grep -E '^(not )?ok 1 {result}( |$)' {shlex.quote(str(log))})",
        'case "$line" in',
        f'  "ok 1 {result} # SKIP"*) exit {KSFT_SKIP} ;;',
        f'  "ok 1 {result}") exit 0 ;;',
        f'  *"# TIMEOUT"*) exit {TIMEOUT_STATUS} ;;',
        '  *"# exit="*) exit "${line##*exit=}" ;;',
        "  *) exit 2 ;;",
        "esac",
    ])


def environment(python: str, pytest_args: list[str]) -> tuple[tuple[str, str], ...]:
    return (("MOVEPHYS_PYTHON", python), (ARGS_VARIABLE, script_arguments(pytest_args)))


def pytest_status(script_status: int | None) -> int | None:
    """The script's kselftest status as pytest would have said it, for suite_status():
    a skip of everything is the harness's here (no python3 or pytest in the guest)."""
    if script_status is None:
        return None
    if script_status == 0:
        return EXIT_PASSED
    if script_status in (1, TIMEOUT_STATUS):
        return EXIT_FAILED
    return EXIT_HARNESS
