#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The move_phys_pages(2) conformance suite (movephys), run through pytest.
# KTAP version 1 on stdout, streamed as the cases end; pytest's own report
# on stderr. Arguments go to pytest: run_kselftest.sh passes
# $KSELFTEST_MOVE_PHYS_PAGES_SH_ARGS, e.g. "--destructive" on a machine
# whose memory may be offlined, "--require-syscall" on a kernel that must
# have the call. $MOVEPHYS_PYTHON names the interpreter (default: python3).
#
# Exit status as kselftest.h: 0 pass, 1 fail, 4 skip (every case skipped,
# as on a kernel without the call, or no python3, pytest or cffi here).

ksft_skip=4

# No dirname: a PATH without python3 may lack coreutils too.
case $0 in
*/*) here=${0%/*} ;;
*) here=. ;;
esac
payload=$(cd "$here" && pwd)/movephys-suite

# One KTAP document with one skipped case, as the suite's own would be.
skip() {
	printf 'KTAP version 1\n1..1\nok 1 move_phys_pages # SKIP %s\n' "$1"
	exit "$ksft_skip"
}

if [ ! -f "$payload/conftest.py" ] || [ ! -d "$payload/movephys" ]; then
	printf 'KTAP version 1\n1..1\n# %s\nnot ok 1 move_phys_pages\n' \
		"broken install: no suite in $payload (see the target's Makefile)"
	echo "move_phys_pages.sh: no suite in $payload" >&2
	exit 1
fi

python=${MOVEPHYS_PYTHON:-$(command -v python3 || true)}
if [ -z "$python" ] || ! command -v "$python" >/dev/null; then
	skip "python3 not found${MOVEPHYS_PYTHON:+: $MOVEPHYS_PYTHON}"
fi
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
	skip "python 3.11 or later needed, $python is $("$python" -V 2>&1)"
fi
for module in pytest cffi; do
	if ! "$python" -c "import $module" 2>/dev/null; then
		skip "python3 module $module not installed"
	fi
done

PYTHONPATH="$payload${PYTHONPATH:+:$PYTHONPATH}"
PYTHONDONTWRITEBYTECODE=1
export PYTHONPATH PYTHONDONTWRITEBYTECODE
# -P: the payload's movephys, never one in the working directory.
exec "$python" -P -m movephys.kselftest "$@"
