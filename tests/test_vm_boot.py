import sys
from pathlib import Path
from typing import Literal

import pytest

from movephys.vm import boot
from movephys.vm.errors import RunnerError


def _request(
    tmp_path: Path, nodes: tuple[boot.NumaNode, ...], accel: Literal["tcg", "kvm"] = "tcg"
) -> boot.BootRequest:
    return boot.BootRequest(
        image=tmp_path / "bzImage", command="echo hi", nodes=nodes, accel=accel,
        timeout=10, workdir=tmp_path / "work", cwd=Path("/srv/checkout"),
        environment=(("PYTHONDONTWRITEBYTECODE", "1"),),
    )


def test_default_layout_is_two_nodes_of_one_gib_with_a_cpu_each() -> None:
    assert boot.numa_layout(2, "1G", memoryless=False) == (
        boot.NumaNode("1G", "0"), boot.NumaNode("1G", "1"))


def test_memoryless_node_comes_last_with_its_own_cpu() -> None:
    layout = boot.numa_layout(2, "512M", memoryless=True)
    assert layout[-1] == boot.NumaNode("0", "2")


def test_zero_memory_nodes_is_refused() -> None:
    with pytest.raises(RunnerError, match="at least one memory node"):
        boot.numa_layout(0, "1G", memoryless=False)


def test_vng_command_sizes_memory_and_cpus_from_the_layout(tmp_path: Path) -> None:
    nodes = boot.numa_layout(2, "1G", memoryless=True)
    command = boot.vng_command(_request(tmp_path, nodes), tmp_path / "guest.sh")
    assert command[command.index("-m") + 1] == "2048M"
    assert command[command.index("--cpus") + 1] == "3"
    assert [command[i + 1] for i, arg in enumerate(command) if arg == "--numa"] == [
        "1G,cpus=0", "1G,cpus=1", "0,cpus=2"]
    assert "--disable-kvm" in command
    assert command[command.index("--rwdir") + 1] == str(tmp_path / "work")


def test_kvm_request_does_not_disable_kvm(tmp_path: Path) -> None:
    command = boot.vng_command(_request(tmp_path, boot.two_nodes(), "kvm"), tmp_path / "g.sh")
    assert "--disable-kvm" not in command


def test_guest_script_records_output_exit_code_and_kernel_log(tmp_path: Path) -> None:
    script = boot.guest_script(_request(tmp_path, boot.two_nodes()))
    work = tmp_path / "work"
    assert "export PYTHONDONTWRITEBYTECODE=1" in script
    assert "cd /srv/checkout || exit 125" in script
    assert f"> {work}/output.log 2>&1" in script
    assert f"echo $? > {work}/exit_code" in script
    assert f"dmesg > {work}/kernel.log" in script


def test_bad_memory_size_is_one_line_error(tmp_path: Path) -> None:
    request = _request(tmp_path, (boot.NumaNode("lots", "0"),))
    with pytest.raises(RunnerError, match="bad memory size 'lots'"):
        boot.vng_command(request, tmp_path / "g.sh")


def test_two_cpus_per_node_give_ranges() -> None:
    assert boot.numa_layout(2, "1G", memoryless=False, cpus_per_node=2) == (
        boot.NumaNode("1G", "0-1"), boot.NumaNode("1G", "2-3"))


def test_vng_command_counts_cpus_of_ranges(tmp_path: Path) -> None:
    nodes = boot.numa_layout(2, "1G", memoryless=False, cpus_per_node=2)
    command = boot.vng_command(_request(tmp_path, nodes), tmp_path / "guest.sh")
    assert command[command.index("--cpus") + 1] == "4"
    assert "-smp 4,sockets=4,cores=1,threads=1" in command


def test_exit_in_the_command_still_records_its_status(tmp_path: Path) -> None:
    import subprocess

    request = boot.BootRequest(
        image=tmp_path / "bzImage", command="echo out; exit 3", nodes=boot.two_nodes(),
        accel="tcg", timeout=10, workdir=tmp_path, cwd=tmp_path,
    )
    script = tmp_path / "guest.sh"
    script.write_text(boot.guest_script(request).replace("dmesg", "true"))
    subprocess.run(["sh", str(script)], check=False, capture_output=True)
    assert (tmp_path / "exit_code").read_text().strip() == "3"
    assert (tmp_path / "output.log").read_text() == "out\n"


def test_numa_layout_takes_a_size_per_node() -> None:
    nodes = boot.numa_layout(2, "1G,2G", memoryless=True)
    assert [node.memory for node in nodes] == ["1G", "2G", "0"]


def test_numa_layout_refuses_a_size_list_of_the_wrong_length() -> None:
    with pytest.raises(RunnerError, match="2 node memory sizes"):
        boot.numa_layout(3, "1G,2G", memoryless=False)


def test_every_boot_makes_a_broken_kernel_panic(tmp_path: Path) -> None:
    command = boot.vng_command(_request(tmp_path, boot.two_nodes()), tmp_path / "g.sh")
    options = command[command.index("--append") + 1].split()
    assert {"oops=panic", "softlockup_panic=1", "hung_task_panic=1"} <= set(options)


def test_nine_p_is_chosen_up_front_when_virtiofs_cannot_work(tmp_path: Path) -> None:
    request = _request(tmp_path, boot.two_nodes())
    assert "--force-9p" in boot.vng_command(request, tmp_path / "g.sh", "vng",
                                            boot.Filesystem("9p", "no virtiofsd"))
    assert "--force-9p" not in boot.vng_command(request, tmp_path / "g.sh", "vng",
                                                boot.Filesystem("virtiofs", "virtiofsd"))


@pytest.mark.parametrize("line", [
    "virtme: waiting for virtiofsd to start",
    "virtme-run: failed to start virtiofsd, fallback to 9p",
    "fuse: invalid argument `/tmp/virtme5m9oa1z8'",
    "[    2.1] overlayfs: failed to set xattr on upper",
])
def test_known_fallback_messages_are_not_echoed(line: str) -> None:
    assert boot.is_boot_noise(line)


def test_kernel_messages_are_echoed() -> None:
    assert not boot.is_boot_noise("BUG: unable to handle page fault for address: 0x2718")
    assert not boot.is_boot_noise("suites/test_moves.py ....")


def test_vng_is_found_beside_the_interpreter(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "vng").write_text("#!/bin/sh\n")
    (bin_dir / "vng").chmod(0o755)
    monkeypatch.setattr(sys, "executable", str(bin_dir / "python"))
    monkeypatch.setenv("PATH", "/nonexistent")
    assert boot.vng_executable() == str(bin_dir / "vng")


def test_without_vng_the_error_names_where_it_looked(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RunnerError, match=f"not installed beside {tmp_path / 'python'}"):
        boot.check_prerequisites()


def test_stop_ends_the_whole_process_group() -> None:
    import subprocess

    # A child that ignores SIGTERM, as a wedged QEMU might, and one in the background.
    process = subprocess.Popen(
        ["sh", "-c", "trap '' TERM; sleep 300 & echo $!; wait"], stdout=subprocess.PIPE,
        text=True, start_new_session=True)
    assert process.stdout is not None
    background = int(process.stdout.readline())
    boot.STOP_GRACE_SECONDS, grace = 0.5, boot.STOP_GRACE_SECONDS
    try:
        assert boot.stop(process) is None
    finally:
        boot.STOP_GRACE_SECONDS = grace
    assert process.poll() is not None
    assert not _alive(background)


def _alive(pid: int) -> bool:
    """Running or sleeping: a zombie waiting for init to reap it is dead."""
    import time

    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except FileNotFoundError:
            return False
        if state in ("Z", "X"):
            return False
        time.sleep(0.02)
    return True
