#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the module with sparse on every source (make C=2) and fail on any
# sparse or compiler diagnostic in our files.  Prints TAP.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
log=$(mktemp)
echo "TAP version 13"
echo "1..1"
if ! command -v sparse >/dev/null; then
	echo "not ok 1 - sparse (sparse is not installed: run 'make deps')"
	exit 1
fi
make --no-print-directory module C=2 CF="-D__CHECK_ENDIAN__" >"$log" 2>&1
rc=$?
diag=$(grep -E '(warning|error):' "$log" | grep -E "^($top/)?(drivers|include|tests)/" || true)
if [ $rc -eq 0 ] && [ -z "$diag" ]; then
	echo "ok 1 - sparse (make C=2) clean"
	rm -f "$log"
	exit 0
fi
echo "not ok 1 - sparse (make C=2) clean"
{ [ -n "$diag" ] && printf '%s\n' "$diag" || tail -n 30 "$log"; } | sed 's/^/# /'
rm -f "$log"
exit 1
