#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The vdisk status's exclusive/shared counts are exact and never stale:
# write N blocks, snapshot, overwrite M on the origin, discard K others on
# the origin; the counts of origin and snapshot follow each step exactly;
# deleting the snapshot (once reclaimed) leaves the origin all exclusive.
#
# vdisk-timeout: 120
# vdisk-cost: 3 11
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 11

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 64M || tap_diag "brd_setup failed"

shows() {	# VDISK MAPPED EXCLUSIVE SHARED
	counts_are "$@" || { dmsetup status "$1"; return 1; }
}
used_is() {
	[ "$(pool_field sp data_used)" = "$1" ]
}

# 64 KiB blocks: N = 64 blocks (4 MiB), M = 16 (blocks 0-15), K = 8 (32-39).
make_pool sp /dev/ram0 /dev/ram1 128 0 || tap_diag "pool failed"
pool_msg sp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk o1 sp 1 16M || tap_diag "vdisk failed"
tap_check "an empty vdisk: 0 mapped, 0 exclusive, 0 shared" shows o1 0 0 0
dd if=/dev/urandom of=/dev/mapper/o1 bs=1M count=4 oflag=direct status=none
tap_check "after writing N=64: all 64 exclusive" shows o1 64 64 0

dmsetup suspend o1
pool_msg sp create_snap 2 1 || tap_diag "create_snap failed"
dmsetup resume o1
make_vdisk s2 sp 2 16M || tap_diag "snapshot activation failed"
tap_check "after the snapshot: origin 64 shared" shows o1 64 0 64
tap_check "after the snapshot: snapshot 64 shared" shows s2 64 0 64

dd if=/dev/urandom of=/dev/mapper/o1 bs=64k count=16 oflag=direct status=none
tap_check "after overwriting M=16: origin 16 exclusive, 48 shared" shows o1 64 16 48
tap_check "after overwriting M=16: snapshot 16 exclusive, 48 shared" shows s2 64 16 48
blkdiscard -o 2M -l 512K /dev/mapper/o1 || tap_diag "discard failed"
tap_check "after discarding K=8 more: origin 16 exclusive, 40 shared" \
	shows o1 56 16 40
tap_check "snapshot: 16 + 8 exclusive, 40 shared" shows s2 64 24 40

dm_remove s2
pool_msg sp delete 2 || tap_diag "delete failed"
tap_check "the snapshot's 24 exclusive blocks are reclaimed" wait_for "56 used" 20 used_is 56
tap_check "after deleting the snapshot: origin all exclusive" shows o1 56 56 0
dm_remove o1
dm_remove sp

tap_kernel_log_clean
tap_done
