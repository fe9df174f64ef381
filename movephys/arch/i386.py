"""i386, also the IA32 emulation of x86_64: syscall_32.tbl, entries named __ia32_sys_*.

Since 6.9 the IA32 entry dispatches through a switch and keeps no
ia32_sys_call_table, so identity falls back to kallsyms and headers there.
"""

from movephys.arch import Abi

ABI = Abi(
    name="i386",
    machines=("i386", "i486", "i586", "i686"),
    pointer_bits=32,
    move_pages_nr=317,
    getpid_nr=20,
    vmsplice_nr=316,
    entry_prefixes=("__ia32_sys_", "__ia32_compat_sys_"),
    table_symbol="ia32_sys_call_table",
    headers_in_dir=(
        "include/asm/unistd_32.h",
        "asm/unistd_32.h",
        "arch/x86/include/generated/uapi/asm/unistd_32.h",
    ),
    system_headers=(
        "/usr/include/x86_64-linux-gnu/asm/unistd_32.h",
        "/usr/include/i386-linux-gnu/asm/unistd_32.h",
        "/usr/include/asm/unistd_32.h",
    ),
)
