"""Render a syzkaller description of move_phys_pages from the spec.

It shows the spec is machine-usable: the same rows that drive the suite and
the man page give the fuzzer's syscall description, in the form syzkaller
uses for move_pages (``sys/linux/*.txt``). The syscall number is left to
syzkaller's const extraction from the kernel headers: it is never written
here.

Usage: ``python -m movephys.syzkaller [SPEC_DIR]``
"""

from __future__ import annotations

import sys
from pathlib import Path

from movephys.spec import Arg, Spec, SpecError, load_spec

# C element types to syzkaller types. Pointer-sized elements are intptr:
# 64-bit for native callers, 32-bit for compat ones, as the kernel reads them.
ELEMENT_TYPES = {
    "void *": "intptr",
    "unsigned long": "intptr",
    "long": "intptr",
    "int": "int32",
    "unsigned int": "int32",
}


class SyzkallerError(Exception):
    """The spec holds a type this renderer cannot express."""


def _element_type(arg: Arg) -> str:
    c_type = arg.c_type.replace("const ", "").strip()
    if not c_type.endswith("*"):
        raise SyzkallerError(f"{arg.name}: array_of needs a pointer type, not {arg.c_type!r}")
    element = c_type[:-1].strip()
    try:
        return ELEMENT_TYPES[element]
    except KeyError:
        raise SyzkallerError(f"{arg.name}: no syzkaller type for element {element!r}") from None


def flags_name(spec: Spec) -> str:
    return f"{spec.meta.name}_flags"


def argument_type(spec: Spec, arg: Arg) -> str:
    arrays = [other.name for other in spec.signature.args if other.array_of == arg.name]
    if arrays:
        return f"len[{arrays[0]}]"
    if arg.array_of is not None:
        direction = "inout" if arg.direction == "inout" else arg.direction
        optional = ", opt" if arg.nullable else ""
        return f"ptr[{direction}, array[{_element_type(arg)}]{optional}]"
    if arg.name == "flags":
        return f"flags[{flags_name(spec)}]"
    if arg.c_type in ELEMENT_TYPES:
        return ELEMENT_TYPES[arg.c_type]
    raise SyzkallerError(f"{arg.name}: no syzkaller type for {arg.c_type!r}")


def _syzkaller_name(arg: Arg) -> str:
    # syzkaller's move_pages calls the count "nr"; keep that convention.
    return "nr" if arg.name == "nr_pages" else arg.name


def render(spec: Spec) -> str:
    args = ", ".join(
        f"{_syzkaller_name(arg)} {argument_type(spec, arg)}" for arg in spec.signature.args
    )
    flag_names = ", ".join(flag.name for flag in spec.flags)
    return (
        f"# {spec.meta.name}: an unmerged proposal (RFC v1-v3, 2023-2024); "
        "the number comes from the kernel under test.\n"
        f"# Rendered from {spec.directory.name}/ by movephys.syzkaller.\n"
        "\n"
        f"{spec.meta.name}({args})\n"
        "\n"
        f"{flags_name(spec)} = {flag_names}\n"
    )


def main(argv: list[str]) -> int:
    if len(argv) > 1 or (argv and argv[0].startswith("-")):
        print("usage: python -m movephys.syzkaller [SPEC_DIR]", file=sys.stderr)
        return 2
    try:
        spec = load_spec(Path(argv[0]) if argv else None)
        text = render(spec)
    except (SpecError, SyzkallerError) as error:
        print(f"syzkaller: {error}", file=sys.stderr)
        return 1
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
