"""Finding, confirming and calling move_phys_pages (native and 32-bit compat)."""
