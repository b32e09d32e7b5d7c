#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tap-summary.sh FILE.tap...
#
# Aggregate TAP result files into the one closing line CI reads:
#   "N passed, N failed, N skipped"
# "ok ... # SKIP" counts as skipped, "not ok ... # TODO" as an expected
# failure (passed).  Exit status 1 if anything failed or nothing ran.
set -u
passed=0 failed=0 skipped=0
for f in "$@"; do
	[ -f "$f" ] || continue
	while IFS= read -r line; do
		case "$line" in
		"not ok"*"# TODO"*) passed=$((passed + 1)) ;;
		"not ok"*) failed=$((failed + 1)); echo "FAILED ($(basename "$f" .tap)): $line" ;;
		"ok"*"# SKIP"*|"ok"*"# skip"*) skipped=$((skipped + 1)) ;;
		"ok"*) passed=$((passed + 1)) ;;
		esac
	done < "$f"
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
