#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Reads that miss the mapping cache are looked up by their vdisk's read
# queue (dm-vdisk-read-queue.c), not by the pool worker, so they never
# wait behind another vdisk's metadata work.  The worker is held in a
# commit: the pool's data device is a dm-linear, suspended, and a flush of
# vdisk a waits in the commit's data-device flush (md_lock is not held
# there).  Meanwhile 4 MiB of vdisk b that were never read (every block a
# cache miss) and are unmapped must read back as zeros; before the read
# queue they waited in the worker's queue until the data device came back.
# Then the flush completes, and both vdisks' data, checked by content, and
# vdisk-check agree.
#
# The 30 s limit on the reads only tells a hang from a result: they need no
# data-device I/O and take well under a second.  Shown failing: with
# map_read() deferring misses to the worker, step 4 reported "did not
# return within 30 s".
#
# vdisk-timeout: 240
# vdisk-cost: 5 23
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 10

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null
T=$VDISK_TEST_TMP
M=$(loop_create "$T/rq-meta" 16M) D=$(loop_create "$T/rq-data" 64M)
ZEROS=$(dd if=/dev/zero bs=1M count=4 status=none | sha256sum | cut -d' ' -f1)

setup() {
	dm_create rq-data "0 $(dev_sectors "$D") linear $D 0" &&
		make_pool rq-pool "$M" /dev/mapper/rq-data 8 0 &&
		pool_msg rq-pool create_vdisk 1 && pool_msg rq-pool create_vdisk 2 &&
		make_vdisk rq-a rq-pool 1 16M && make_vdisk rq-b rq-pool 2 16M
}
# 1 MiB of each vdisk holds data; the pool commits it.
write_both() {
	dd if=/dev/urandom of="$T/a.img" bs=1M count=1 status=none &&
		dd if=/dev/urandom of="$T/b.img" bs=1M count=1 status=none &&
		dd if="$T/a.img" of=/dev/mapper/rq-a bs=1M oflag=direct status=none &&
		dd if="$T/b.img" of=/dev/mapper/rq-b bs=1M oflag=direct status=none &&
		flush_dev /dev/mapper/rq-a
}
still_waiting() {
	kill -0 "$FLUSHER" 2> /dev/null || { echo "the flush already returned"; return 1; }
}
reader_gone() {
	! kill -0 "$READER" 2> /dev/null
}
# 4 MiB of b from 8 MiB on, never read nor written, in the background:
# READ_DONE says whether it returned within 30 s.
read_b() {
	dd if=/dev/mapper/rq-b bs=64k skip=128 count=64 iflag=direct status=none |
		sha256sum | cut -d' ' -f1 > "$T/b.sum" &
	READER=$!
	if wait_for "the reads of b" 30 reader_gone > /dev/null; then
		READ_DONE=yes
	else
		READ_DONE=no
	fi
}
b_read_zeros() {
	[ "$READ_DONE" = yes ] || { echo "the reads of b did not return within 30 s"; return 1; }
	[ "$(cat "$T/b.sum")" = "$ZEROS" ] || { echo "b read $(cat "$T/b.sum"), want zeros"; return 1; }
}
flush_ok() {
	[ "$FLUSH_RC" = 0 ] || { echo "the flush exited $FLUSH_RC"; return 1; }
}
data_back() {
	cmp -n 1052672 /dev/mapper/rq-a "$T/a.img" && cmp -n 1048576 /dev/mapper/rq-b "$T/b.img"
}
teardown() {
	dm_remove rq-a && dm_remove rq-b && dm_remove rq-pool
}

tap_check "pool on a dm-linear data device, vdisks a and b" setup
tap_check "1 MiB written to each vdisk and committed" write_both

# One more new block of a: the pool is dirty, its next commit writes.
dd if=/dev/urandom of="$T/blk" bs=4096 count=1 status=none
dd if="$T/blk" of=/dev/mapper/rq-a bs=4096 seek=256 oflag=direct status=none
dd if="$T/blk" of="$T/a.img" bs=4096 seek=256 conv=notrunc status=none

dmsetup suspend rq-data
at_exit dmsetup resume rq-data
flush_dev /dev/mapper/rq-a &
FLUSHER=$!
sleep 2
tap_check "the flush of a waits for the suspended data device (the worker is held)" still_waiting
read_b
tap_check "4 MiB of b never read before read as zeros while the worker is held" b_read_zeros
tap_check "... and the flush of a was still waiting after them" still_waiting
# (wait only works in this shell, not in tap_check's command substitution)
dmsetup resume rq-data
wait "$FLUSHER"
FLUSH_RC=$?
wait	# the reader, if it was still waiting
tap_check "the flush of a completes once the data device is back" flush_ok
tap_check "both vdisks read back their data (by content)" data_back
tap_check "vdisks and pool removed" teardown
tap_check "vdisk-check: the pool is clean" vdisk_check "$M"

tap_kernel_log_clean
tap_done
