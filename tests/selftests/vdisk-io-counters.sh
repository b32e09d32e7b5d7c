#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The vdisk status's I/O counters (reads, writes, read bytes, write bytes,
# discards, flushes) move exactly as a scripted sequence of O_DIRECT dd,
# fsync and blkdiscard commands predicts.  Reads of blocks not yet in the
# mapping cache count bios after the vdisk split them at data block
# boundaries (4 KiB blocks here).  A write counts one bio per run it went
# down as: a run of whole blocks taken from the vdisk's reserve, a run of
# blocks the cache holds as exclusive and contiguous, or one block through
# the worker; which one depends on whether the reserve was filled in time,
# so those checks take a range of counts.  A cached read counts one bio per run
# of blocks contiguous on the data device (a fresh pool allocates the first
# write's blocks in order) or per run of holes.
# blkdiscard runs with -f: without it, it first probes the device for
# signatures with buffered reads, which the read counters would see.
#
# vdisk-timeout: 120
# vdisk-cost: 4 13
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

command -v blkdiscard > /dev/null || tap_skip_all "blkdiscard not available"
tap_plan 11

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/ctr-meta" 16M) D=$(loop_create "$T/ctr-data" 32M)

make_pool cp "$M" "$D" 8 0 || tap_diag "pool failed"
pool_msg cp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk c1 cp 1 16M || tap_diag "vdisk failed"

counters() {	# reads writes read_bytes write_bytes discards flushes
	dmsetup status c1 | awk '{ print $8, $9, $10, $11, $12, $13 }'
}
# moved_by DR DW DRB DWB DD DF: the counters moved by exactly this since
# the last "before=$(counters)".
moved_by() {
	_now=$(counters)
	_want=$(echo "$before $*" | awk '{ print $1 + $7, $2 + $8, $3 + $9, $4 + $10, $5 + $11, $6 + $12 }')
	[ "$_now" = "$_want" ] || { echo "counters $_now, expected $_want (before: $before)"; return 1; }
}
# writes_within MIN MAX DWB: the write counter moved by MIN..MAX and the
# write bytes by DWB, nothing else.
writes_within() {
	_now=$(counters)
	echo "$before $_now $1 $2 $3" | awk '{
		dw = $8 - $2
		ok = $7 == $1 && $9 == $3 && $11 == $5 && $12 == $6 && $10 - $4 == $15 &&
		     dw >= $13 && dw <= $14
		exit !ok }' || { echo "counters $_now, before $before, wanted $1-$2 writes of $3 bytes"; return 1; }
}
run() {
	before=$(counters)
	"$@" || tap_diag "failed: $*"
}
dev=/dev/mapper/c1

run dd if=/dev/urandom of=$dev bs=16384 count=1 oflag=direct status=none
tap_check "16 KiB write at 0: 1 to 4 writes, 16384 bytes" writes_within 1 4 16384
run dd if=/dev/urandom of=$dev bs=6144 seek=1 count=1 oflag=direct status=none
tap_check "6 KiB write at 6K (blocks 1 and 2): 1 or 2 writes, 6144 bytes" writes_within 1 2 6144
run dd if=$dev of=/dev/null bs=16384 count=1 iflag=direct status=none
tap_check "16 KiB cached contiguous read at 0: 1 read, 16384 bytes" moved_by 1 0 16384 0 0 0
run dd if=$dev of=/dev/null bs=6144 skip=1 count=1 iflag=direct status=none
tap_check "6 KiB cached read at 6K: 1 read, 6144 bytes" moved_by 1 0 6144 0 0 0
run dd if=$dev of=/dev/null bs=16384 skip=64 count=1 iflag=direct status=none
tap_check "16 KiB read of an uncached hole: 4 reads, 16384 bytes" moved_by 4 0 16384 0 0 0
run dd if=$dev of=/dev/null bs=16384 skip=64 count=1 iflag=direct status=none
tap_check "the same, now cached: 1 read, 16384 bytes" moved_by 1 0 16384 0 0 0
run flush_dev $dev
tap_check "fsync of the device: 1 flush" moved_by 0 0 0 0 0 1
run blkdiscard -f -o 0 -l 8192 $dev
tap_check "blkdiscard of 8 KiB: 1 discard" moved_by 0 0 0 0 1 0
run blkdiscard -f -z -o 16384 -l 8192 $dev
tap_check "blkdiscard -z of 8 KiB: counted as 1 discard" moved_by 0 0 0 0 1 0
run dd if=/dev/urandom of=$dev bs=4096 seek=10 count=1 oflag=direct conv=fsync status=none
tap_check "4 KiB write + fsync: 1 write, 1 flush" moved_by 0 1 0 4096 0 1

tap_kernel_log_clean
tap_done
