"""Whether move_phys_pages may be measured here: the number resolved and confirmed, or why not."""

from __future__ import annotations

from pathlib import Path

from movephys.syscall import identity, numbers

HEADERS_SHOWN = "<kernel headers>"  # stands for the --kernel-headers directory in the account


def without_headers_dir(text: str, kernel_headers: str | None) -> str:
    """``text`` naming header files relative to ``kernel_headers``.

    The account is saved in machine.json and shown on the docs page: the
    build machine's cache directory means nothing to a reader there.
    """
    # numbers.resolve names headers as Path(kernel_headers) / relative path.
    root = str(Path(kernel_headers)) if kernel_headers is not None else "."
    return text if root == "." else text.replace(f"{root}/", f"{HEADERS_SHOWN}/")


def syscall_gate(
    explicit: str | None, kernel_headers: str | None
) -> tuple[identity.Identity, str]:
    """Resolve the number (option, environment, headers) and confirm it before any call:
    the verdict, and one line for machine.json saying how it was confirmed or why not.

    A malformed option raises numbers.SyscallNumberError (a usage error).
    """
    resolved = numbers.resolve(explicit, kernel_headers)
    found = identity.confirm(resolved)
    account = found.reason
    if found.confirmed:
        account = f"number {found.nr} from {resolved.source}: {found.reason}"
    return found, without_headers_dir(account, kernel_headers)
