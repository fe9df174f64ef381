"""The bench's command line: one-line errors, refusals, and the VM job's plumbing."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import pytest

from bench import cli, gate, suite_time, vm
from bench.machine import AccelChoice
from movephys.syscall import identity
from movephys.vm import boot
from movephys.vm import run as vm_run


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = cli.main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--k", "0"], "bench: error: --k: '0' is not a positive integer"),
        (["run", "--methods", "teleport"], "bench: error: --methods: teleport unknown"),
        (["run", "--repeats", "0"], "bench: error: --repeats: 0 is below 1"),
        (["vm", "--p", "1,x"], "bench: error: --p: 'x' is not a positive integer"),
    ],
    ids=["k-zero", "unknown-method", "no-repeats", "vm-checks-before-booting"],
)
def test_bad_options_are_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, err = run(capsys, *argv)
    assert code == cli.EXIT_USAGE
    assert err.startswith(message) and err.count("\n") == 1


def test_phys_is_refused_where_the_syscall_is_not_confirmed(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    refused = identity.EntryConfirmation(identity.NATIVE, None, False, None, "no symbol here")
    closed = identity.Identity(refused, refused)
    monkeypatch.setattr(cli, "syscall_gate", lambda nr, headers: (closed, "no symbol here"))
    code, err = run(capsys, "run", "--quick")
    assert code == cli.EXIT_FAILED
    assert err == ("bench: refusing to measure move_phys_pages: no symbol here (--methods "
                   "known,reverse,reverse_c,translate,translate_c,copy measures the rest)\n")


def test_malformed_syscall_number_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, err = run(capsys, "run", "--syscall-nr", "four")
    assert code == cli.EXIT_USAGE
    assert err.startswith("bench: error: --syscall-nr: 'four' is not an integer")


def test_non_root_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    code, err = run(capsys, "run", "--methods", "translate")
    assert code == cli.EXIT_FAILED and err.startswith("bench: needs root")


def test_one_node_is_refused(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(cli, "choose_nodes", lambda: "fewer than two memory nodes (found: 0)")
    code, err = run(capsys, "run", "--methods", "translate")
    assert code == cli.EXIT_FAILED
    assert err == ("bench: cannot move pages between nodes: "
                   "fewer than two memory nodes (found: 0)\n")


@pytest.mark.parametrize("text", ["0", "0,1,2", "a,b"], ids=["one", "three", "words"])
def test_nodes_option(text: str) -> None:
    with pytest.raises(cli.UsageError, match="^--nodes: .* is not SOURCE,TARGET"):
        cli.nodes_from(text)


def test_report_without_results_is_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, err = run(capsys, "report", "--out", str(tmp_path / "none"))
    assert code == cli.EXIT_USAGE
    assert err.startswith("bench: error: ") and err.count("\n") == 1


def test_forwarded_options_reach_the_guest() -> None:
    args = cli.make_parser().parse_args(["vm", "--quick", "--k", "1,4", "--methods", "phys"])
    assert vm.forwarded_options(args) == ["--quick", "--k", "1,4", "--methods", "phys"]


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("..s.\n92 passed, 4 skipped in 61.20s\n", "92 passed, 4 skipped in 61.20s"),
        ("x\n==== 1 failed, 3 passed in 2.00s ====\n", "1 failed, 3 passed in 2.00s"),
        ("ImportError: nothing\n", "no pytest summary line"),
    ],
    ids=["quiet", "framed", "none"],
)
def test_suite_outcome_line(output: str, expected: str) -> None:
    assert suite_time.outcome_line(output) == expected


def test_suite_commands_differ_only_in_workers() -> None:
    serial = suite_time.pytest_command("serial", ["--kernel-headers=/h"])
    parallel = suite_time.pytest_command("-n auto", ["--kernel-headers=/h"])
    assert serial[-3:] == ["-n", "0", "--kernel-headers=/h"]
    assert parallel[-3:] == ["-n", "auto", "--kernel-headers=/h"]


def test_parser_has_the_four_commands() -> None:
    parser = cli.make_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    assert set(subparsers.choices) == {"run", "suite-time", "report", "vm"}


def test_gate_names_headers_relative_to_the_headers_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The account lands in docs/bench: the build machine's cache path must not.
    (tmp_path / "asm").mkdir()
    (tmp_path / "asm" / "unistd_64.h").write_text("#define __NR_move_phys_pages 463\n")
    confirmed = identity.EntryConfirmation(identity.NATIVE, 463, True, identity.LEVEL_TABLE,
                                           "sys_call_table[463] is __x64_sys_move_phys_pages")
    refused = identity.EntryConfirmation(identity.COMPAT, None, False, None, "no compat")
    monkeypatch.setattr(identity, "confirm",
                        lambda resolved: identity.Identity(confirmed, refused))
    opened, account = gate.syscall_gate(None, str(tmp_path))
    assert opened.nr == 463
    assert account.startswith(f"number 463 from {gate.HEADERS_SHOWN}/asm/unistd_64.h: ")
    assert str(tmp_path) not in account


def test_vm_accel_kvm_refuses_where_the_probe_says_no(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boot, "choose_accel", lambda *args: "tcg")
    kernel = vm_run.Kernel(Path("bzImage"), None, None)
    with pytest.raises(vm.VmError, match="^--vm-accel kvm: KVM is not usable on this machine"):
        vm.choose("kvm", kernel, Path("/nonexistent"))
    assert vm.choose("auto", kernel, Path("/nonexistent")).used == "tcg"
    assert vm.choose("tcg", kernel, Path("/nonexistent")).kvm == "not tried: --vm-accel tcg"
    monkeypatch.setattr(boot, "choose_accel", lambda *args: "kvm")
    assert vm.choose("auto", kernel, Path("/nonexistent")) == AccelChoice("auto", "kvm", "used")


def test_call_repeats_is_checked_before_anything_runs(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = run(capsys, "run", "--call-repeats", "-1")
    assert code == cli.EXIT_USAGE
    assert err == "bench: error: --call-repeats: -1 is below 0\n"
