#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest-side test runner (busybox sh), started by /init.
#
#   run-tests.sh [NAME,NAME...]   selftests from /vdisk/selftests (all of
#                                 TESTS, in its order, when no list is given)
#   run-tests.sh --script PATH    one arbitrary guest script, as a test named
#                                 after its file (PATH without .sh)
#
# Each test's stdout+stderr goes to the results port (/dev/ttyS1) framed by
#   @@VDISK-TEST-BEGIN <name>
#   ...TAP...
#   @@VDISK-TEST-END <name> rc=<exit status>
# and "vdisk-rig: test <name> begin/end" goes to the kernel log, so the host
# can tell which test was running when the kernel complained.  The per-test
# time limit comes from a "# vdisk-timeout: SECONDS" header line (default 300).

dir=/vdisk/selftests
out=/dev/ttyS1
[ -c "$out" ] || out=/dev/console
stty -F "$out" raw -echo 2>/dev/null

kmsg() {
	echo "vdisk-rig: $*" > /dev/kmsg
}

run_one() {	# NAME PATH
	name=$1 path=$2
	limit=$(sed -n 's/^# vdisk-timeout: *\([0-9][0-9]*\).*/\1/p' "$path" | head -n1)
	[ -n "$limit" ] || limit=300
	echo "@@VDISK-TEST-BEGIN $name" > "$out"
	t0=$(cut -d. -f1 /proc/uptime)
	echo "@@VDISK-RIG: test $name begin"
	kmsg "test $name begin"
	if [ ! -f "$path" ]; then
		echo "# no such test: $path" > "$out"
		rc=127
	else
		# A test runs in its own directory with a clean /tmp of its own.
		tdir=$(mktemp -d /tmp/vdisk-test.XXXXXX)
		(cd "$tdir" && VDISK_TEST_NAME=$name VDISK_TEST_TMP=$tdir \
			timeout -s KILL "$limit" "$path") > "$out" 2>&1 < /dev/null
		rc=$?
		[ "$rc" = 137 ] && echo "# $name: killed after the ${limit}s time limit" > "$out"
		rm -rf "$tdir"
	fi
	# Leftovers would confuse the next test; they are reported, then removed.
	left=$(dmsetup ls 2>/dev/null | grep -v '^No devices found')
	if [ -n "$left" ]; then
		echo "# $name left device-mapper devices behind:" > "$out"
		echo "$left" | sed 's/^/#   /' > "$out"
		dmsetup remove_all -f > /dev/null 2>&1
	fi
	kmsg "test $name end rc=$rc"
	# Guest uptime follows the host's clock under TCG: the test's wall time.
	echo "@@VDISK-RIG: test $name end rc=$rc secs=$(($(cut -d. -f1 /proc/uptime) - t0))"
	echo "@@VDISK-TEST-END $name rc=$rc" > "$out"
	[ "$rc" = 0 ]
}

status=0
if [ "$1" = --script ]; then
	n=${2##*/}
	run_one "${n%.sh}" "$2" || status=1
else
	list=$(echo "$1" | tr ',' ' ')
	[ -n "$list" ] || list=$(sed 's/#.*//' "$dir/TESTS")
	for t in $list; do
		run_one "$t" "$dir/$t.sh" || status=1
	done
fi
echo "@@VDISK-RUN-END status=$status" > "$out"
exit $status
