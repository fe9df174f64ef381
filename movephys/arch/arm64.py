"""arm64: the generic table (scripts/syscall.tbl since 6.11, asm-generic/unistd.h before),
entries named __arm64_sys_*."""

from movephys.arch import Abi

ABI = Abi(
    name="arm64",
    machines=("aarch64", "arm64"),
    pointer_bits=64,
    move_pages_nr=239,
    getpid_nr=172,
    vmsplice_nr=75,
    entry_prefixes=("__arm64_sys_",),
    table_symbol="sys_call_table",
    # headers_install writes asm/unistd_64.h from scripts/syscall.tbl since
    # 6.11; before, asm/unistd.h only includes asm-generic/unistd.h.
    headers_in_dir=(
        "include/asm/unistd_64.h",
        "include/asm-generic/unistd.h",
        "include/uapi/asm-generic/unistd.h",
        "asm-generic/unistd.h",
    ),
    system_headers=(
        "/usr/include/aarch64-linux-gnu/asm/unistd_64.h",
        "/usr/include/asm-generic/unistd.h",
    ),
)
