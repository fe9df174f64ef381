"""arm64: the asm-generic table (include/uapi/asm-generic/unistd.h), entries __arm64_sys_*."""

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
    headers_in_dir=(
        "include/asm/unistd.h",
        "include/uapi/asm-generic/unistd.h",
        "asm-generic/unistd.h",
    ),
    system_headers=(
        "/usr/include/aarch64-linux-gnu/asm/unistd.h",
        "/usr/include/asm-generic/unistd.h",
    ),
)
