#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A vdisk reload with a shorter table, not resumed yet, changes nothing
# (issue 18, V1): the live table keeps its whole length and its data, the
# metadata still maps the tail, and the tail's blocks are not handed to
# another vdisk (writes through the live table must never land in another
# vdisk's data).  The shrink happens when the new table is resumed: then
# the vdisk maps blocks only below its new end, its head is intact, and the
# metadata checks clean.
#
# The pool's allocation cursor is first moved to the end of the data device
# (a scratch vdisk fills it, then is deleted), so the next allocations start
# again from block 0: a block freed too early (v1's tail, blocks 128..255)
# is the first one v2 gets.
#
# On the unfixed code the reload's constructor unmaps v1's tail at once,
# the next commit frees those blocks, v2 is given them, and v1's live table
# (whose mapping cache still says "exclusive") reads and writes them
# in place: checks 2 (mapped count after the reload), 3 (v1's data through
# the live table) and 4 (v2's data) fail.
#
# vdisk-timeout: 150
# vdisk-cost: 17 54
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 12

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
# 32M of data: 512 blocks of 64 KiB.
M=$(loop_create "$T/rs-meta" 16M) D=$(loop_create "$T/rs-data" 32M)

used_is() {
	[ "$(pool_field rs data_used)" = "$1" ] || { dmsetup status rs; return 1; }
}
mapped_is() {	# VDISK BLOCKS
	[ "$(vdisk_field "$1" mapped)" = "$2" ] || { dmsetup status "$1"; return 1; }
}
# Mapped blocks only below sector END: the status' highest mapped sector.
maps_below() {	# VDISK END-SECTOR
	_h=$(dmsetup status "$1" | awk '{ print $7 }')
	[ "$_h" = - ] || [ "$_h" -le "$2" ] || { dmsetup status "$1"; return 1; }
}
sha_is() {	# DEV OFFSET LEN SUM
	[ "$(dev_sha256 "$1" "$2" "$3")" = "$4" ]
}
V1_FIO="--rw=write --bs=64k"
V2_FIO="--rw=write --bs=64k --randseed=2"
TAIL_FIO="--rw=write --bs=64k --offset=8M --randseed=3"

make_pool rs "$M" "$D" 128 0 || tap_diag "pool failed"
pool_msg rs create_vdisk 1 && pool_msg rs create_vdisk 2 && pool_msg rs create_vdisk 3 ||
	tap_diag "create_vdisk failed"
make_vdisk v1 rs 1 16M || tap_diag "vdisk 1 failed"
# v1 16M: blocks 0..255 (head 0..127, tail 128..255).
tap_check "v1: fio writes and verifies 16M" fio_verify /dev/mapper/v1 16M $V1_FIO
head_sum=$(dev_sha256 /dev/mapper/v1 0 8M)
# Scratch vdisk 3 takes blocks 256..511; deleting it leaves the cursor at the end.
make_vdisk v3 rs 3 16M || tap_diag "vdisk 3 failed"
dd if=/dev/zero of=/dev/mapper/v3 bs=64k count=256 oflag=direct status=none ||
	tap_diag "filling vdisk 3 failed"
dm_remove v3
pool_msg rs delete 3 || tap_diag "delete 3 failed"
wait_for "vdisk 3's blocks reclaimed" 30 used_is 256 || tap_diag "reclaim of vdisk 3 failed"
make_vdisk v2 rs 2 8M || tap_diag "vdisk 2 failed"
tap_diag "before the reload: $(dmsetup status rs)"

# The shorter table is loaded but not resumed; commits happen meanwhile.
dmsetup reload v1 --table "0 $(to_sectors 8M) vdisk /dev/mapper/rs 1" ||
	tap_diag "reload of v1 with 8M failed"
flush_dev /dev/mapper/v1
sleep 1.2	# and a periodic commit
tap_check "after the reload (not resumed) v1 still maps its 256 blocks" mapped_is v1 256
fio_verify /dev/mapper/v2 8M $V2_FIO > /dev/null || tap_diag "fio on v2 failed"
flush_dev /dev/mapper/v2
tap_diag "after v2's writes: $(dmsetup status rs); v1: $(dmsetup status v1)"
tap_check "the live v1 table still reads its whole 16M (fio verify)" \
	fio_verify_only /dev/mapper/v1 16M $V1_FIO
# Writes through the live table into the tail beyond the new end.
fio_verify /dev/mapper/v1 8M $TAIL_FIO > /dev/null || tap_diag "fio on v1's tail failed"
flush_dev /dev/mapper/v1
tap_check "v2's data is intact after v1 wrote its tail (fio verify)" \
	fio_verify_only /dev/mapper/v2 8M $V2_FIO
tap_check "the pool is still rw" mode_in rs rw

tap_check "resuming v1 with the 8M table" dmsetup resume v1
tap_check "v1 is 8M" [ "$(dev_sectors /dev/mapper/v1)" = "$(to_sectors 8M)" ]
mapped_ok() {
	mapped_is v1 128 && maps_below v1 "$(to_sectors 8M)"
}
tap_check "after the resume v1 maps 128 blocks, all below its new end" mapped_ok
tap_check "v1's head is intact (sha256)" sha_is /dev/mapper/v1 0 8M "$head_sum"

dm_remove v1
dm_remove v2
dm_remove rs
tap_check "vdisk-check clean after deactivation" vdisk_check "$M"
make_pool rs "$M" "$D" 128 0 || tap_diag "pool reactivation failed"
make_vdisk v1 rs 1 8M && make_vdisk v2 rs 2 8M || tap_diag "vdisk reactivation failed"
after_reactivation() {
	sha_is /dev/mapper/v1 0 8M "$head_sum" &&
		fio_verify_only /dev/mapper/v2 8M $V2_FIO
}
tap_check "after reactivation v1's head and v2's data are intact" after_reactivation

tap_kernel_log_clean
tap_done
