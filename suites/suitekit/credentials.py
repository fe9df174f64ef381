"""The callers of the permission cases: credentials set up inside a forked child.

Each function runs in the child (see movephys.changes.child) before the call; the
test process keeps its own credentials.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from movephys.changes import credentials, userns
from movephys.probes import caps

NOBODY = 65534


def unprivileged() -> None:
    """A plain user: no uid 0, no capabilities at all."""
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def root_without_sys_admin() -> None:
    """uid 0 with every capability it had except CAP_SYS_ADMIN."""
    credentials.drop({caps.CAP_SYS_ADMIN})


def cap_sys_nice_only() -> None:
    """uid 0 holding CAP_SYS_NICE and nothing else (what move_pages' MOVE_ALL needs)."""
    credentials.keep_only({caps.CAP_SYS_NICE})


def userns_root() -> None:
    """uid 0 with full capabilities, but inside a user namespace it just created.

    Created by root itself: even the most privileged creator holds no
    capability in the initial namespace once inside.
    """
    userns.enter_as_root()


def sys_admin_as_nobody() -> None:
    """uid 65534 that kept CAP_SYS_ADMIN through the uid change."""
    credentials.setuid_keeping(NOBODY, {caps.CAP_SYS_ADMIN})


WHO: dict[str, Callable[[], None]] = {
    "unprivileged": unprivileged,
    "root_without_sys_admin": root_without_sys_admin,
    "cap_sys_nice_only": cap_sys_nice_only,
    "userns_root": userns_root,
    "root": lambda: None,
}


# Why a caller cannot be set up on this machine (None: it can).
WHO_UNAVAILABLE: dict[str, Callable[[], str | None]] = {
    "userns_root": userns.unavailable_reason,
}
