"""Applying and restoring edits, and the workspace copy: on small fake trees."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from movephys.mutants import mutant, workspace
from movephys.mutants.mutant import Mutant, MutantError
from movephys.vm.build import BuiltKernel

SOURCE = b"int a;\n\tif (flags & ~MASK)\n\t\treturn -EINVAL;\nint b;\n"


def make_mutant(find: str = "\tif (flags & ~MASK)\n\t\treturn -EINVAL;\n", replace: str = "",
                file: str = "mm/migrate.c") -> Mutant:
    return Mutant("flags-unchecked", file, find, replace, "unknown_flags", True, "lean", None)


def fake_reference(tmp_path: Path) -> BuiltKernel:
    home = tmp_path / "cache" / "kernels" / "0123456789abcdef"
    (home / "src" / "mm").mkdir(parents=True)
    (home / "src" / "mm" / "migrate.c").write_bytes(SOURCE)
    (home / "src" / "mm" / "migrate.c").chmod(0o640)
    (home / "src" / "Makefile").write_text("all:\n")
    (home / "build" / "arch" / "x86" / "boot").mkdir(parents=True)
    (home / "build" / "arch" / "x86" / "boot" / "bzImage").write_bytes(b"kernel")
    (home / "usr" / "include" / "asm").mkdir(parents=True)
    (home / "usr" / "include" / "asm" / "unistd_64.h").write_text("#define __NR_x 463\n")
    return BuiltKernel(home / "build" / "arch" / "x86" / "boot" / "bzImage", home / "usr",
                       home / "src", home / "build", "0123456789abcdef", 0.0)


def test_mutate_replaces_the_one_occurrence() -> None:
    assert make_mutant().mutate(SOURCE) == b"int a;\nint b;\n"
    assert make_mutant(replace="\t/* gone */\n").line(SOURCE) == 2


@pytest.mark.parametrize(
    ("source", "find", "problem"),
    [
        pytest.param(SOURCE, "return -EPERM;", "is not in mm/migrate.c", id="absent"),
        pytest.param(SOURCE, "int ", "occurs more than once", id="twice"),
        # bytes.count() would say 1: the second occurrence overlaps the first.
        pytest.param(b"a\t\t\tb\n", "\t\t", "occurs more than once", id="overlapping"),
    ],
)
def test_find_must_occur_exactly_once(source: bytes, find: str, problem: str) -> None:
    with pytest.raises(MutantError) as error:
        make_mutant(find=find).mutate(source)
    assert problem in str(error.value)
    assert "flags-unchecked" in str(error.value) and "\n" not in str(error.value)


def test_write_atomically_keeps_the_mode_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "file.c"
    target.write_bytes(b"old")
    target.chmod(0o640)
    mutant.write_atomically(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o640
    assert [path.name for path in tmp_path.iterdir()] == ["file.c"]


def test_apply_and_restore_on_a_copy(tmp_path: Path) -> None:
    reference = fake_reference(tmp_path)
    work = tmp_path / "work"
    (work / "mm").mkdir(parents=True)
    (work / "mm" / "migrate.c").write_bytes(SOURCE)
    mutant.apply(make_mutant(), reference.source_tree, work)
    assert (work / "mm" / "migrate.c").read_bytes() == b"int a;\nint b;\n"
    assert mutant.restore("mm/migrate.c", reference.source_tree, work)
    assert (work / "mm" / "migrate.c").read_bytes() == SOURCE
    # Nothing to do the second time: the bytes (and so make's view) stay as they are.
    assert not mutant.restore("mm/migrate.c", reference.source_tree, work)


def test_a_file_missing_from_the_reference_is_one_line(tmp_path: Path) -> None:
    reference = fake_reference(tmp_path)
    with pytest.raises(MutantError, match="mm/absent.c is not in the reference source"):
        mutant.apply(make_mutant(file="mm/absent.c"), reference.source_tree, tmp_path)


def test_hardlink_workspace_never_writes_into_the_reference(tmp_path: Path) -> None:
    reference = fake_reference(tmp_path)
    space, marker = workspace.prepare(reference, tmp_path / "cache", lambda message: None)
    original = reference.source_tree / "mm" / "migrate.c"
    copied = space.source_tree / "mm" / "migrate.c"
    # cp -al: the copy starts as a second name of the reference's file.
    assert os.path.samefile(original, copied)
    mutant.apply(make_mutant(), reference.source_tree, space.source_tree)
    assert original.read_bytes() == SOURCE
    assert not os.path.samefile(original, copied)
    assert copied.read_bytes() == b"int a;\nint b;\n"
    mutant.restore("mm/migrate.c", reference.source_tree, space.source_tree)
    assert original.read_bytes() == copied.read_bytes() == SOURCE
    # The build dir is a real copy: writing it leaves the reference's alone.
    assert not os.path.samefile(reference.image, space.image)
    assert space.kernel().headers == space.headers
    assert marker.reference_key == reference.key and marker.prime_seconds is None


def test_workspace_is_reused_and_a_half_copy_is_redone(tmp_path: Path) -> None:
    reference = fake_reference(tmp_path)
    space, _ = workspace.prepare(reference, tmp_path / "cache", lambda message: None)
    assert space.root == tmp_path / "cache" / "mutants" / reference.key
    (space.source_tree / "stray").write_text("kept while the marker is there")
    workspace.prepare(reference, tmp_path / "cache", lambda message: None)
    assert (space.source_tree / "stray").exists()
    (space.root / workspace.MARKER).unlink()  # as if the copy had been interrupted
    workspace.prepare(reference, tmp_path / "cache", lambda message: None)
    assert not (space.source_tree / "stray").exists()
    assert (space.root / workspace.MARKER).exists()


def test_recover_restores_what_an_interrupted_run_left(tmp_path: Path) -> None:
    reference = fake_reference(tmp_path)
    space, _ = workspace.prepare(reference, tmp_path / "cache", lambda message: None)
    workspace.note_applied(space, "flags-unchecked", "mm/migrate.c")
    mutant.apply(make_mutant(), reference.source_tree, space.source_tree)
    # The journal names the file even when the data no longer has the mutant.
    assert workspace.recover(space, ()) == ["mm/migrate.c"]
    assert (space.source_tree / "mm" / "migrate.c").read_bytes() == SOURCE
    assert not (space.root / workspace.JOURNAL).exists()
    # Without a journal, every file of the data is compared.
    mutant.write_atomically(space.source_tree / "mm" / "migrate.c", b"edited by hand\n")
    assert workspace.recover(space, ("mm/migrate.c",)) == ["mm/migrate.c"]
    assert workspace.recover(space, ("mm/migrate.c",)) == []


def test_headers_are_put_back_after_a_table_mutant(tmp_path: Path) -> None:
    reference = fake_reference(tmp_path)
    space, _ = workspace.prepare(reference, tmp_path / "cache", lambda message: None)
    assert not workspace.reset_headers(space)
    workspace.mark_headers_dirty(space)
    (space.headers / "include" / "asm" / "unistd_64.h").write_text("#define __NR_x 464\n")
    assert workspace.reset_headers(space)
    assert (space.headers / "include" / "asm" / "unistd_64.h").read_text() == (
        "#define __NR_x 463\n")
    assert not (space.root / workspace.HEADERS_DIRTY).exists()


def test_marker_round_trip(tmp_path: Path) -> None:
    marker = workspace.Marker("abc", "2026-11-27T00:00:00+00:00", 12.5, None)
    workspace.write_marker(tmp_path, marker)
    assert workspace.read_marker(tmp_path) == marker
    (tmp_path / workspace.MARKER).write_text(json.dumps({"reference_key": "abc"}))
    assert workspace.read_marker(tmp_path) is None
