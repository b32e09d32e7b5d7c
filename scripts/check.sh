#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: the whole suite, in this order, each stage reporting TAP into
# $BUILD/results/ (see Documentation/dev/conventions.rst):
#   1. W=1 build of the module and the tools (any compiler warning fails)
#   2. checkpatch --strict and sparse on our kernel sources
#   3. userspace unit, model, crash and corruption tests (ASan + UBSan) and
#      the tools' end-to-end test
#   4. short fuzz runs
#   5. the VM rig's self-test (it must catch a WARN, an oops, a failing test)
#   6. the VM selftests on the stock kernel (in parallel VMs, within a
#      wall-time budget), or only on the debug kernel with KERNEL=debug
#   7. on the stock kernel: the benchmark suite at tiny sizes (make
#      bench-smoke); it fails when the suite breaks, never on speed
#   8. with CI=true or DEBUG_LANE=1 (and KERNEL=stock): the debug kernel
#      (KASAN, lockdep, ...; built from linux-source-6.1 or taken from its
#      cache in $BUILD/kernel-debug) and the VM selftests not tagged
#      "ci-debug: skip" on it, within the debug lane's budget
# A failing stage does not stop the later ones; the last line is the total
# "N passed, N failed, N skipped" and the exit status is non-zero on failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export BUILD=${BUILD:-$top/build}
KERNEL=${KERNEL:-stock}
results=$BUILD/results
rm -rf "$results"
mkdir -p "$results"

stage() { printf '\n=== %s (%s)\n' "$1" "$(date +%T)"; }

# A one-line TAP result for a build step: fails on a non-zero exit or on any
# warning in the log.
build_step() {
	local name=$1; shift
	local log=$BUILD/$name.log
	if "$@" >"$log" 2>&1 && ! grep -qiE '(^|[^a-z])(warning|error):' "$log"; then
		printf 'TAP version 13\n1..1\nok 1 - %s\n' "$name" >"$results/$name.tap"
	else
		printf 'TAP version 13\n1..1\nnot ok 1 - %s (see %s)\n' "$name" "$log" \
			>"$results/$name.tap"
		grep -iE 'warning|error' "$log" | head -n 20
	fi
	cat "$results/$name.tap"
}

debug_lane=0
if [ "$KERNEL" = debug ]; then
	debug_lane=1
elif [ "${CI:-}" = true ] || [ "${DEBUG_LANE:-0}" = 1 ]; then
	debug_lane=2	# after the stock-kernel suite
fi
# A runner that writes its own TAP files must also exit 0: a runner that dies
# before writing any result (a stale module, a missing kernel) is a failure,
# not an empty stage.
runner_step() {
	local name=$1; shift
	"$@"
	local rc=$?
	if [ $rc -eq 0 ]; then
		printf 'TAP version 13\n1..1\nok 1 - %s finished\n' "$name" >"$results/$name.tap"
	else
		printf 'TAP version 13\n1..1\nnot ok 1 - %s exited with status %d\n' "$name" $rc \
			>"$results/$name.tap"
	fi
}

# The top Makefile exports KDIR and KVER for the kernel it was called for;
# a sub-make for the other kernel must compute its own.
other_kernel_make() { env -u KDIR -u KVER make --no-print-directory "$@"; }

if [ $debug_lane = 1 ]; then
	stage "debug kernel"
	build_step debug-kernel scripts/kernel/debug-kernel.sh
fi

stage "build (W=1)"
build_step build-module make --no-print-directory module W=1
build_step build-tools make --no-print-directory tools

stage "checkpatch"
scripts/tap-run.sh checkpatch scripts/lint/checkpatch.sh
stage "sparse"
scripts/tap-run.sh sparse scripts/lint/sparse.sh

stage "unit tests"
make --no-print-directory -k check-unit

if [ -f tests/fuzz/Makefile ]; then
	stage "fuzz (short)"
	make --no-print-directory -C tests/fuzz check
fi

stage "VM rig self-test"
scripts/tap-run.sh rig scripts/vm/rig-selftest.sh --kernel "$KERNEL"

# Wall-time budgets of the VM suites (seconds, checked by run-selftests.sh,
# see tests/README "Time budget"): CI fails loudly, naming the costliest
# tests, instead of creeping towards its 90-minute limit.  Only for the
# whole suite: a T= run or make check KERNEL=debug (every test) has none.
STOCK_BUDGET=${STOCK_BUDGET:-1200}
DEBUG_LANE_BUDGET=${DEBUG_LANE_BUDGET:-1500}
stock_budget=()
[ "$KERNEL" = stock ] && [ -z "${T:-}" ] && stock_budget=(--budget "$STOCK_BUDGET")

stage "VM selftests ($KERNEL kernel)"
runner_step vm-$KERNEL-runner scripts/vm/run-selftests.sh --kernel "$KERNEL" ${T:+--test "$T"} \
	"${stock_budget[@]}"

if [ "$KERNEL" = stock ]; then
	stage "benchmark smoke run (stock kernel)"
	BENCH_COMMAND="make bench-smoke" runner_step bench-smoke scripts/bench/bench.sh --smoke
	cat "$results/bench-smoke.tap"
fi

if [ $debug_lane = 2 ]; then
	stage "debug kernel"
	build_step debug-kernel scripts/kernel/debug-kernel.sh
	build_step build-module-debug other_kernel_make module KERNEL=debug W=1
	stage "VM selftests (debug kernel)"
	# The CI lane leaves out tests tagged "ci-debug: skip" in TESTS (see
	# tests/README, "Time budget"); make check KERNEL=debug runs them all.
	debug_tests=${T:-$(grep -v 'ci-debug: *skip' tests/selftests/TESTS |
		sed 's/#.*//; /^[[:space:]]*$/d; s/[[:space:]]//g' | paste -sd,)}
	lane_budget=()
	[ -z "${T:-}" ] && lane_budget=(--budget "$DEBUG_LANE_BUDGET")
	(unset KDIR KVER; export KERNEL=debug
	 runner_step vm-debug-runner scripts/vm/run-selftests.sh --kernel debug --test "$debug_tests" \
		"${lane_budget[@]}")
	# Leave the tree built for the stock kernel, as after a plain make.
	other_kernel_make module KERNEL=stock >/dev/null 2>&1
fi

stage "summary"
scripts/tap-summary.sh "$results"/*.tap
