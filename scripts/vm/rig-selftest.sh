#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# rig-selftest.sh [--kernel stock|debug]
#
# Prove that the VM rig fails runs it must fail, passes a clean one, and can
# join two VMs.  Prints TAP; `make check` runs it as
#   scripts/tap-run.sh rig scripts/vm/rig-selftest.sh
# The deliberately failing runs keep their results in build/vm/rigtest/
# (never in build/results, where they would count as real failures).
#
# Guest scripts: tests/selftests/rig/; the misbehaving module:
# tests/kmod/dm-vdisk-rigtest.c (built by `make module`).
set -uo pipefail
. "$(dirname "$0")/common.sh"

kernel=stock
while [ $# -gt 0 ]; do
	case "$1" in
	--kernel) kernel=$2; shift 2 ;;
	-h|--help) sed -n '3,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
	*) vm_die "unknown argument '$1'" ;;
	esac
done
vm_kernel_setup "$kernel"
[ -f "$VM_TOP/tests/kmod/dm-vdisk-rigtest.ko" ] ||
	vm_die "tests/kmod/dm-vdisk-rigtest.ko is not built: run 'make module'"

work=$VM_DIR/rigtest
res=$work/results
rm -rf "$work"
mkdir -p "$res"
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
diag() { sed 's/^/# /'; }

# run NAME: run guest script rig/NAME.sh in one VM; sets $rc, $tap (the
# script's result file) and $klog (the kernel-log result file).
run() {
	"$VM_TOP/scripts/vm/run-selftests.sh" --kernel "$kernel" --results "$res" \
		--name "rigtest-$1" --mem 1G --script "/vdisk/selftests/rig/$1.sh" \
		> "$work/$1.out" 2>&1
	rc=$?
	tap=$res/vm-$kernel-$1.tap
	klog=$res/vm-$kernel-kernel-log.tap
	cp "$klog" "$work/$1.kernel-log.tap" 2>/dev/null
	klog=$work/$1.kernel-log.tap
}

echo "TAP version 13"
echo "1..7"

# Build once, visibly, before the runs.
"$VM_TOP/scripts/vm/build-initramfs.sh" --kernel "$kernel" 2>&1 | diag

# 1, 2: the kernel complains, the guest script says only "ok".  The run must
# fail, the script's own TAP must be all ok (so it is the console scan that
# failed it), and the failure must name the offending kernel line.
for what in warn oops; do
	case $what in
	warn) want='WARNING:' ;;
	oops) want='BUG:|Oops' ;;
	esac
	run "$what"
	first=$(sed -n 's/^not ok 1 - kernel log clean: //p' "$klog" 2>/dev/null)
	if [ "$rc" = 0 ]; then
		fail "$what: a kernel problem fails the run (the run passed)"
	elif ! printf '%s' "$first" | grep -qE "$want"; then
		fail "$what: a kernel problem fails the run naming the $want line"
		diag < "$work/$what.out"
	elif [ "$what" = warn ] && grep -q '^not ok' "$tap"; then
		# An oops may kill the guest before its last line; a WARN must not.
		fail "$what: the run fails although the test itself passed"
		diag < "$tap"
	else
		ok "$what: a kernel problem fails the run, naming: $first"
	fi
done

# 3: a "not ok" line fails the run.
run notok
if [ "$rc" != 0 ] && grep -q '^not ok 2 - a deliberately failing check' "$tap" &&
	grep -q '^ok 1 - kernel log clean' "$klog"; then
	ok "a 'not ok' line fails the run"
else
	fail "a 'not ok' line fails the run (exit $rc)"
	diag < "$work/notok.out"
fi

# 4: a clean run passes.
run clean
if [ "$rc" = 0 ] && ! grep -q '^not ok' "$tap" "$klog" && [ "$(grep -c '^ok' "$tap")" = 3 ]; then
	ok "a clean run passes"
else
	fail "a clean run passes (exit $rc)"
	diag < "$work/clean.out"
fi

# 5: two VMs joined by a qemu socket netdev exchange data.
"$VM_TOP/scripts/vm/run-vm-pair.sh" --kernel "$kernel" --results "$res" \
	--script-a /vdisk/selftests/rig/net-a.sh --script-b /vdisk/selftests/rig/net-b.sh \
	> "$work/pair.out" 2>&1
rc=$?
if [ "$rc" = 0 ] && grep -q '^ok 2 - received' "$res/vm-$kernel-net-a.tap" &&
	grep -q '^ok 2 - TCP exchange' "$res/vm-$kernel-net-b.tap"; then
	ok "two VMs on a socket netdev exchange data"
else
	fail "two VMs on a socket netdev exchange data (exit $rc)"
	diag < "$work/pair.out"
fi

# 6: two runs started at once with one name (two engineers, one checkout)
# work in separate directories and both pass.
for i in 1 2; do
	"$VM_TOP/scripts/vm/run-selftests.sh" --kernel "$kernel" --results "$res" \
		--name rigtest-twin --mem 1G --script /vdisk/selftests/rig/clean.sh \
		> "$work/twin$i.out" 2>&1 &
	eval "twin$i=\$!"
done
wait "$twin1"
rc1=$?
wait "$twin2"
rc2=$?
if [ "$rc1" = 0 ] && [ "$rc2" = 0 ] &&
	grep -q 'working in .*/rigtest-twin-2' "$work/twin1.out" "$work/twin2.out"; then
	ok "two runs at once in one checkout: separate work directories, both pass"
else
	fail "two runs at once in one checkout: separate work directories, both pass (exit $rc1, $rc2)"
	diag < "$work/twin1.out"
	diag < "$work/twin2.out"
fi

# 7: a run over its time budget fails, saying so and naming its tests.
"$VM_TOP/scripts/vm/run-selftests.sh" --kernel "$kernel" --results "$res" \
	--name rigtest-budget --mem 1G --script /vdisk/selftests/rig/clean.sh --budget 1 \
	> "$work/budget.out" 2>&1
rc=$?
btap=$res/vm-$kernel-budget.tap
if [ "$rc" != 0 ] && grep -q '^not ok 2 - OVER BUDGET: .*clean' "$btap" &&
	grep -q '^ok 1 - kernel log clean' "$res/vm-$kernel-kernel-log.tap"; then
	ok "a run over its budget fails: $(sed -n 's/^not ok 2 - //p' "$btap")"
else
	fail "a run over its budget fails, naming its tests (exit $rc)"
	diag < "$work/budget.out"
fi

[ "$failed" = 0 ]
