"""x86_64: arch/x86/entry/syscalls/syscall_64.tbl, entries named __x64_sys_*."""

from movephys.arch import Abi

ABI = Abi(
    name="x86_64",
    machines=("x86_64",),
    pointer_bits=64,
    move_pages_nr=279,
    getpid_nr=39,
    vmsplice_nr=278,
    entry_prefixes=("__x64_sys_",),
    table_symbol="sys_call_table",
    headers_in_dir=(
        "include/asm/unistd_64.h",
        "asm/unistd_64.h",
        "arch/x86/include/generated/uapi/asm/unistd_64.h",
        "include/uapi/asm-generic/unistd.h",
        "asm-generic/unistd.h",
    ),
    system_headers=(
        "/usr/include/x86_64-linux-gnu/asm/unistd_64.h",
        "/usr/include/asm/unistd_64.h",
        "/usr/include/asm-generic/unistd.h",
    ),
)
