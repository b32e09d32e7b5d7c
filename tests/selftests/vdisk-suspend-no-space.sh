#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Suspending a vdisk whose writes wait for data space does not hang
# (issue 18, V3).  The pool queues writes without limit (no_space_timeout
# 0, no error_if_no_space):
#   - `dmsetup suspend --noflush` returns; the waiting write is not failed,
#     it is resubmitted after the resume and completes, with its data, once
#     the data device has grown;
#   - a plain `dmsetup suspend` returns; the waiting write failed (ENOSPC),
#     the writes acknowledged before it read back;
#   - the pool switching to ro (the metadata device failing writes, then a
#     message that must commit) fails a write waiting for space (within
#     10 s; this part runs with no_space_timeout 30, a safety net that
#     ends the write on the unfixed code, see below).
# Every suspend is bounded by `timeout 20`; a write is "waiting" while its
# background dd has not exited (an rc file appears when it does).
#
# On the unfixed code both suspends hang until timeout kills dmsetup (dm
# then undoes the suspend), and the write waiting for space in the ro pool
# is never failed: checks 2, 7, 8 and 11 fail.  The test then releases the
# writes itself (grows the data device; in the ro pool only the no-space
# timeout can end the write) so that it ends cleanly.
#
# vdisk-timeout: 180
# vdisk-cost: 7 34
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 14

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
flakey=yes
modprobe dm-flakey 2>/dev/null || flakey=no
T=$VDISK_TEST_TMP
M=$(loop_create "$T/sn-meta" 16M) D=$(loop_create "$T/sn-data" 4M)	# 64 blocks
MS=$(dev_sectors "$M")
dm_create em "0 $MS linear $M 0" || tap_diag "em failed"

reload_pool() {	# [NO-SPACE-TIMEOUT]: reload the pool with the data device's size
	dmsetup reload sp --table \
		"0 $(dev_sectors "$D") vdisk-pool /dev/mapper/em $D 128 0 2 no_space_timeout ${1:-0}" &&
		dmsetup resume sp
}
grow() {	# SIZE [NO-SPACE-TIMEOUT]: grow the data device, reload the pool with it
	truncate -s "$1" "$T/sn-data" && losetup -c "$D" && reload_pool "${2:-0}"
}
waiting_for_space() {
	[ "$(pool_field sp mode) $(pool_field sp reason)" = "out_of_data_space queueing_writes" ] ||
		{ dmsetup status sp; return 1; }
}
# bg_write NAME SRC SEEK: dd SRC into the vdisk at SEEK (64 KiB units) in
# the background; $T/NAME.rc holds its exit status once it is done.
bg_write() {
	rm -f "$T/$1.rc" "$T/$1.err"
	( dd if="$2" of=/dev/mapper/s1 bs=64k seek="$3" oflag=direct status=none \
		2> "$T/$1.err"; echo $? > "$T/$1.rc" ) &
}
is_done() {
	[ -s "$T/$1.rc" ]
}
still_waiting() {
	! is_done "$1" || { echo "the write is done: exit $(cat "$T/$1.rc"): $(cat "$T/$1.err")"; return 1; }
}
suspends() {	# ARGS...: dmsetup suspend ARGS s1 returns and s1 is suspended
	timeout -s KILL 20 dmsetup suspend "$@" s1 || { echo "dmsetup suspend${*:+ $*} s1: exit $?"; return 1; }
	dmsetup info s1 | grep -q SUSPENDED || { dmsetup info s1; return 1; }
}
failed_enospc() {	# NAME
	wait_for "the write $1 ends" 10 is_done "$1" || return 1
	[ "$(cat "$T/$1.rc")" != 0 ] || { echo "the write succeeded"; return 1; }
	grep -q "No space left on device" "$T/$1.err" || { cat "$T/$1.err"; return 1; }
}
failed() {	# NAME
	wait_for "the write $1 ends" 10 is_done "$1" || return 1
	[ "$(cat "$T/$1.rc")" != 0 ] || { echo "the write succeeded"; return 1; }
}
completed() {	# NAME
	wait_for "the write $1 ends" 30 is_done "$1" || return 1
	[ "$(cat "$T/$1.rc")" = 0 ] || { echo "exit $(cat "$T/$1.rc"): $(cat "$T/$1.err")"; return 1; }
}
sha_is() {	# DEV OFFSET LEN SUM
	[ "$(dev_sha256 "$1" "$2" "$3")" = "$4" ]
}

make_pool sp /dev/mapper/em "$D" 128 0 no_space_timeout 0 || tap_diag "pool failed"
pool_msg sp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk s1 sp 1 64M || tap_diag "vdisk failed"
dd if=/dev/urandom of="$T/src1" bs=1M count=6 status=none
dd if=/dev/urandom of="$T/src2" bs=1M count=12 status=none
dd if=/dev/urandom of="$T/src3" bs=1M count=20 status=none
sum1=$(sha256sum < "$T/src1" | cut -d' ' -f1)
sum2=$(dd if="$T/src2" bs=1M count=10 status=none | sha256sum | cut -d' ' -f1)

# ---- suspend --noflush: the write waits through it ----
bg_write a "$T/src1" 0	# 6M into 4M
tap_check "a 6M write waits for space in the 4M pool" \
	wait_for "out_of_data_space" 30 waiting_for_space
tap_check "dmsetup suspend --noflush returns while the write waits" suspends --noflush
tap_check "the waiting write was not failed by the suspend" still_waiting a
tap_check "resume" dmsetup resume s1
tap_check "growing the data device to 16M" grow 16M
completed_a() {
	completed a && sha_is /dev/mapper/s1 0 6M "$sum1"
}
tap_check "the write completes with its data (sha256 of 6M)" completed_a

# ---- plain suspend: the waiting write fails ----
# 256 blocks, 96 used: 10M of the 12M fit.
bg_write b "$T/src2" 128
wait_for "out_of_data_space" 30 waiting_for_space || tap_diag "the write did not wait"
tap_check "plain dmsetup suspend returns while a write waits" suspends
tap_check "the waiting write failed with ENOSPC" failed_enospc b
if ! is_done b; then
	tap_diag "releasing the waiting write: growing the data device"
	grow 32M || tap_diag "growing failed"
	completed b || tap_diag "the write did not complete"
fi
dmsetup resume s1 || tap_diag "resume failed"
tap_check "the 10M written before it read back (sha256)" sha_is /dev/mapper/s1 8M 10M "$sum2"

# ---- the pool goes ro: the waiting write fails ----
if [ "$flakey" = yes ]; then
	# The pool is rw again (32M: at most 16M free) until the write waits.
	# no_space_timeout 30 is a safety net for the unfixed code only: nothing
	# else would ever end the waiting write there (the ro pool refuses to
	# resume); 30 s is three times the check's window.
	grow 32M 30 || tap_diag "reloading the pool with no_space_timeout 30 failed"
	mode_in sp rw > /dev/null || tap_diag "the pool is not rw: $(dmsetup status sp)"
	bg_write c "$T/src3" 512	# 20M at 32M: more than is free
	wait_for "out_of_data_space" 30 waiting_for_space || tap_diag "the write did not wait"
	dmsetup reload em --table "0 $MS flakey $M 0 0 600 1 error_writes" &&
		dmsetup resume em || tap_diag "flakey on em failed"
	pool_msg sp create_vdisk 9 2>/dev/null && tap_diag "create_vdisk 9 succeeded"
	tap_check "a failed metadata commit switches the pool to ro" mode_in sp ro
	tap_check "the write waiting for space failed" failed c
	if ! is_done c; then
		tap_diag "waiting for no_space_timeout 30 to end the waiting write"
		wait_for "the write c ends" 40 is_done c || tap_diag "the write did not end"
	fi
	dmsetup reload em --table "0 $MS linear $M 0" && dmsetup resume em ||
		tap_diag "restoring em failed"
else
	tap_skip "a failed metadata commit switches the pool to ro" "no dm-flakey"
	tap_skip "the write waiting for space failed" "no dm-flakey"
fi
tap_check "the first write's data still reads back (sha256)" sha_is /dev/mapper/s1 0 6M "$sum1"

wait
dm_remove s1
dm_remove sp
tap_check "vdisk-check clean after deactivation" vdisk_check /dev/mapper/em
tap_kernel_log_clean
tap_done
