"""What a mutant breaks: a spec row, or a sentence of a commit message of the series.

A claim with no space in it is a spec row id (errors, status or rules); any
other claim must be words of one of the commit messages in kernel/patches/,
compared with runs of whitespace made single, so that a sentence the
message wraps over two lines still matches.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from movephys.mutants.mutant import Mutant, MutantError
from movephys.spec import ErrorRow, Rule, Spec, StatusRow
from movephys.vm.build import PATCH_DIR

_SUBJECT_TAG = re.compile(r"^\[PATCH[^\]]*\]\s*")

Row = ErrorRow | StatusRow | Rule


@dataclass(frozen=True)
class Claim:
    text: str
    kind: Literal["spec", "commit"]
    source: str  # the spec row's id, or the name of the patch whose message holds the sentence
    cases: tuple[str, ...]  # the cases that prove a spec row; () for a commit sentence


def commit_message(patch_text: str) -> str:
    """The subject and body of a git format-patch file, whitespace made single."""
    lines = patch_text.splitlines()
    message: list[str] = []
    in_subject = False
    for index, line in enumerate(lines):
        if line.startswith("Subject:"):
            message.append(_SUBJECT_TAG.sub("", line.removeprefix("Subject:").strip()))
            in_subject = True
            continue
        if in_subject:
            if line.startswith((" ", "\t")):
                message.append(line.strip())
                continue
            # The body runs from the blank line after the headers to the "---"
            # line that opens the diffstat.
            for body_line in lines[index:]:
                if body_line == "---":
                    break
                message.append(body_line)
            break
    return " ".join(" ".join(message).split())


def commit_messages(patch_dir: Path = PATCH_DIR) -> dict[str, str]:
    return {patch.name: commit_message(patch.read_text(errors="replace"))
            for patch in sorted(patch_dir.glob("*.patch"))}


def spec_rows(spec: Spec) -> tuple[Row, ...]:
    return (*spec.traced_rows(), *spec.rule_rows())


def resolve(claim: str, spec: Spec, messages: dict[str, str]) -> Claim:
    text = " ".join(claim.split())
    if " " not in text:
        for row in spec_rows(spec):
            if row.id == text:
                return Claim(text, "spec", row.id, row.cases)
        raise MutantError(f"claim {text!r} names no spec row")
    for name, message in messages.items():
        if text in message:
            return Claim(text, "commit", name, ())
    raise MutantError(f"claim {text!r} is no sentence of a commit message in kernel/patches")


def resolve_all(mutants: Iterable[Mutant], spec: Spec,
                messages: dict[str, str]) -> dict[str, Claim]:
    """Each mutant's claim, by mutant id; the first that resolves to nothing raises."""
    claims: dict[str, Claim] = {}
    for mutant in mutants:
        try:
            claims[mutant.id] = resolve(mutant.claim, spec, messages)
        except MutantError as error:
            raise MutantError(f"mutant {mutant.id}: {error}") from None
    return claims

