"""Build a kernel with move_phys_pages and run commands in it under QEMU.

Modelled on the kernel's kunit_tool: config, build, boot and run each
live in a module of their own, with dataclasses for requests and results.
"""
