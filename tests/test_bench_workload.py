"""The holders and the walk on this machine's kernel (root: pagemap hides PFNs from others).

Nothing here needs move_phys_pages or two nodes: the pages go from node N to
node N, which exercises every path but moves nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import cli, results, workload
from movephys.probes import nodes

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="pagemap shows PFNs only to root")


def holder_alive(pid: int) -> bool:
    try:
        return "bench.holder" in Path(f"/proc/{pid}/cmdline").read_text()
    except OSError:
        return False


def test_holders_report_check_and_leave() -> None:
    node = nodes.allowed_memory_nodes()[0]
    with workload.started(3, 8, node) as work:
        pids = [holder.pid for holder in work.holders]
        targets = work.targets([0, 7, 8, 23])
        assert [(t.holder, t.index) for t in targets] == [(0, 0), (0, 7), (1, 0), (2, 7)]
        assert len({t.pfn for t in targets}) == 4
        check = work.check(targets, node, nodes.node_pfn_ranges(node))
        assert (check.good, check.problems) == (4, ())
        assert work.place(targets, node) == 0
    assert not any(holder_alive(pid) for pid in pids)


def test_check_names_a_page_on_the_wrong_node() -> None:
    node = nodes.allowed_memory_nodes()[0]
    with workload.started(1, 2, node) as work:
        targets = work.targets([1])
        check = work.check(targets, node + 1, [range(0, 0)])
        assert check.good == 0
        assert check.problems == (
            f"pid {targets[0].pid} page 1: PFN {targets[0].pfn:#x} is outside node "
            f"{node + 1}'s memory blocks",
        )


def test_run_without_the_syscall_on_one_node(tmp_path: Path) -> None:
    node = nodes.allowed_memory_nodes()[0]
    code = cli.main(["run", "--methods", "reverse,translate,copy", "--nodes", f"{node},{node}",
                     "--k", "1,16", "--p", "2", "--repeats", "1", "--out", str(tmp_path)])
    assert code == 0
    rows = results.read_rows(tmp_path / results.RAW_CSV, results.Measurement)
    assert {(row.method, row.k) for row in rows} == {
        (method, k) for method in ("reverse", "translate", "copy") for k in (1, 16)
    }
    assert all(row.ok for row in rows)
    walked = [row for row in rows if row.method != "copy"]
    assert all(row.processes_scanned >= 3 and row.entries_scanned > 0 for row in walked)
    assert (tmp_path / "results.inc").is_file()
