"""Plots and the docs include drawn from recorded rows, with no kernel involved."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ElementTree
from dataclasses import asdict, replace
from pathlib import Path

import pytest
from docutils import nodes
from docutils.core import publish_doctree

from bench import machine, report, results, svg
from bench.call_cost import CALL_CSV, CallCost
from bench.results import Measurement
from bench.suite_time import SUITE_CSV, SuiteRun

TCG_MACHINE = machine.Machine(
    kernel_release="6.12.117-movephys", kernel_version="#1 SMP PREEMPT_DYNAMIC",
    cpu_model="QEMU Virtual CPU version 2.5+", cpus=2, accel=machine.TCG,
    node_memory_mib={"0": 1007, "1": 1008}, python="3.11.7",
    syscall="number 463 from headers: sys_call_table[463] is __x64_sys_move_phys_pages",
    date="2026-11-26 14:00 UTC",
)
BASE = Measurement(
    method="phys", processes=1, pages_per_process=4096, k=1, repeat=0, wall_s=1e-4, cpu_s=1e-4,
    user_s=0.0, sys_s=1e-4, peak_rss_kib=30000, rss_growth_kib=0, verified=1, calls=1,
    processes_scanned=0, entries_scanned=0,
)
COST = {"phys": 1e-5, "known": 5e-6, "reverse": 2e-4, "reverse_c": 5e-5, "translate": 1.5e-4,
        "translate_c": 3e-5, "copy": 1e-6}
PER_PROCESS = {"reverse", "reverse_c", "translate", "translate_c", "copy"}  # grow with P


def recorded_rows() -> list[Measurement]:
    rows = []
    for processes in (1, 64):
        for k in (1, 64, 4096):
            for repeat in range(2):
                for method, unit in COST.items():
                    scale = processes if method in PER_PROCESS else 1
                    wall = unit * k * (1 + 0.1 * repeat) * scale
                    rows.append(replace(BASE, method=method, processes=processes, k=k,
                                        repeat=repeat, wall_s=wall, verified=k,
                                        rss_growth_kib=k * 4 if method == "copy" else 0))
    return rows


@pytest.fixture
def results_dir(tmp_path: Path) -> Path:
    out = tmp_path / "bench"
    results.write_rows(out / results.RAW_CSV, recorded_rows())
    machine.save(TCG_MACHINE, out)
    return out


def test_svg_is_well_formed_and_names_its_series() -> None:
    chart = svg.Chart("T <&>", "K", "s", (
        svg.Series("one", (svg.Point(1, 1e-3, 5e-4, 2e-3), svg.Point(100, 1e-1))),
        svg.Series("zero is dropped", (svg.Point(1, 0.0),)),
    ))
    document = ElementTree.fromstring(svg.render(chart))
    texts = [element.text for element in document.iter("{http://www.w3.org/2000/svg}text")]
    assert "T <&>" in texts and "one" in texts and "zero is dropped" in texts
    assert len(list(document.iter("{http://www.w3.org/2000/svg}polyline"))) == 1


def test_svg_without_data_says_so() -> None:
    chart = svg.Chart("empty", "K", "s", (svg.Series("none", ()),))
    assert "no data" in svg.render(chart)


def test_svg_is_reproducible() -> None:
    chart = report.time_vs_k(report.from_rows(recorded_rows(), TCG_MACHINE), 64)
    assert svg.render(chart) == svg.render(chart)


def test_report_writes_summary_charts_and_include(results_dir: Path, tmp_path: Path) -> None:
    docs = tmp_path / "docs" / "bench"
    written = report.write(report.load(results_dir), results_dir, docs)
    names = {path.name for path in written}
    assert names == {"summary.csv", "time_vs_k_p1.svg", "time_vs_k_p64.svg",
                     "time_vs_p_k4096.svg", "ratio_vs_k.svg", "rss_vs_k_p64.svg", "results.inc"}
    for name in names | {"measurements.csv", "machine.json"}:
        assert (docs / name).is_file()
    for name in names - {"summary.csv", "results.inc"}:
        ElementTree.parse(results_dir / name)


def test_include_labels_tcg_and_gives_the_headline(results_dir: Path) -> None:
    text = report.rst(report.load(results_dir), ["ratio_vs_k.svg"])
    assert "QEMU TCG (software emulation" in text
    # The C baseline is the faster: 5e-5 * P / 1e-5 = 5 at P=1 and 320 at P=64, any K.
    assert "took **5 to 320 times** as long as one move_phys_pages call" in text
    assert "* P=1: 5 (K=" in text and "* P=64: 320 (K=" in text
    assert "At K=4096 and P=64 the fair ratio is 320 ((b) C walk + move_pages was" in text
    assert ".. figure:: /bench/ratio_vs_k.svg" in text
    assert ":Kernel: ``6.12.117-movephys``" in text


def test_include_tables_show_method_letters_as_text(results_dir: Path) -> None:
    # docutils makes a cell starting "(a) " a lettered list and drops the "(a)".
    tree = publish_doctree(report.rst(report.load(results_dir), []),
                           settings_overrides={"report_level": 4})
    assert not list(tree.findall(nodes.enumerated_list))
    cells = [entry.astext() for entry in tree.findall(nodes.entry)]
    assert "(a) move_phys_pages" in cells and "(b) numpy walk + move_pages" in cells


def test_cell_text_escapes_list_starts_only() -> None:
    assert [report.cell_text(text) for text in ("(a) x", "b) x", "3. x", "- x")] == [
        "\\(a) x", "\\b) x", "\\3. x", "\\- x"]
    assert [report.cell_text(text) for text in ("(b)/(a)", "-n auto", "1.5 s", "--")] == [
        "(b)/(a)", "-n auto", "1.5 s", "--"]


def test_include_without_phys_says_there_is_no_ratio(results_dir: Path) -> None:
    rows = [row for row in recorded_rows() if row.method != "phys"]
    loaded = report.from_rows(rows, TCG_MACHINE)
    assert "No paired (b)/(a) figure" in report.rst(loaded, [])
    assert "ratio_vs_k.svg" not in report.charts(loaded)


def test_suite_times_join_the_include(results_dir: Path) -> None:
    results.write_rows(results_dir / SUITE_CSV, [
        SuiteRun("serial", 300.5, 0, "90 passed, 5 skipped in 299.0s"),
        SuiteRun("-n auto", 180.2, 0, "90 passed, 5 skipped in 178.1s"),
    ])
    text = report.rst(report.load(results_dir), [])
    assert "The conformance suite's own run time" in text and "180.2" in text


def test_seconds_text_units() -> None:
    assert [report.seconds_text(v) for v in (2e-6, 0.0123, 4.5)] == ["2 µs", "12.3 ms", "4.5 s"]


def test_include_gives_kernel_costs_per_page_and_the_line_fit(results_dir: Path) -> None:
    text = report.rst(report.load(results_dir), [])
    assert "The kernel's cost per page: move_phys_pages (a) against move_pages" in text
    # (a) 1.05e-5 s/page, (d) 5.25e-6 s/page (medians of x1, x1.1): (a) - (d) 5.25 µs, (a)/(d) 2.
    assert "     - 10.5 µs\n     - 5.25 µs\n     - 1.05 µs\n     - 5.25 µs\n" in text
    assert "     - 2\n" in text
    assert "Time = fixed + K x per page" in text
    assert "The walk alone, numpy against C" in text and "     - 5\n" in text  # 1.5e-4 / 3e-5


def test_include_names_the_per_call_cost(results_dir: Path) -> None:
    results.write_rows(results_dir / CALL_CSV, [
        CallCost("query", 64, 100, 0, 20.0, 18.0, 25.0, 17.0, 90.0),
        CallCost("same_node", 64, 100, 0, 45_020.0, 30_000.0, 60_000.0, 25_000.0, 90_000.0),
        CallCost("one_page", 64, 100, 0, 50_020.0, 35_000.0, 70_000.0, 30_000.0, 95_000.0),
    ])
    text = report.rst(report.load(results_dir), [])
    assert "lru_cache_disable() and the rest of do_pages_move()'s set-up cost 45 ms" in text
    assert "The set-up is 90% of a one-page move: most of a one-page move is that set-up" in text
    assert "One call on one page, timed call by call" in text


def test_include_without_probes_says_so(results_dir: Path) -> None:
    assert "not probed in this run" in report.rst(report.load(results_dir), [])


@pytest.mark.parametrize(("choice", "expected"), [
    (None, "How the execution mode was chosen is not recorded"),
    (machine.AccelChoice("auto", "tcg", "KVM is not usable on this machine"),
     "Not measured under KVM: KVM is not usable on this machine. Where KVM works, "
     "``python -m bench vm --vm-accel kvm``"),
    (machine.AccelChoice("auto", "kvm", "used"), "Measured under KVM"),
])
def test_include_says_whether_kvm_was_used(
    results_dir: Path, choice: machine.AccelChoice | None, expected: str
) -> None:
    if choice is not None:
        (results_dir / machine.VM_JSON).write_text(json.dumps(asdict(choice)))
    assert expected in report.rst(report.load(results_dir), [])


def test_an_even_split_is_said_to_be_one() -> None:
    from bench import call_cost, report

    part = call_cost.Split(prefix="", query_us=5.0, drain_us=75.0, migrate_us=72.0)
    assert "about half each" in report._split_line("move_pages", part)
