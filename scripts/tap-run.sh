#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# tap-run.sh NAME CMD [ARGS...]
#
# Run one test program that speaks TAP (version 13), echo its output, and keep
# a normalised copy in $BUILD/results/NAME.tap for scripts/tap-summary.sh.
# The run counts as failed (a synthetic "not ok" line is appended) when the
# program exits non-zero without saying why, prints no plan, or prints fewer
# or more results than its plan promised: a test cannot pass by crashing early.
set -u
name=$1; shift
results=${BUILD:-$(dirname "$0")/../build}/results
mkdir -p "$results"
out="$results/$name.tap"
tmp=$(mktemp)
"$@" 2>&1 | tee "$tmp"
rc=${PIPESTATUS[0]}

plan=$(sed -n 's/^1\.\.\([0-9]\+\).*/\1/p' "$tmp" | head -n1)
results_n=$(grep -cE '^(not )?ok\b' "$tmp")
failed_n=$(grep -cE '^not ok\b' "$tmp")
{
	cat "$tmp"
	if [ -z "$plan" ]; then
		echo "not ok - $name: no TAP plan (exit status $rc)"
	elif [ "$plan" != "$results_n" ]; then
		echo "not ok - $name: planned $plan results, got $results_n (exit status $rc)"
	elif [ "$rc" -ne 0 ] && [ "$failed_n" -eq 0 ]; then
		echo "not ok - $name: exited with status $rc"
	fi
} > "$out"
rm -f "$tmp"
if grep -qE '^not ok\b' "$out"; then
	exit 1
fi
exit 0
