#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Snapshots are frozen: each snapshot's checksum is taken when it is made
# and checked again after heavy writes to its origin, to a sibling and to a
# clone of it, and after the pool is deactivated and reactivated.
#
# vdisk-timeout: 300
# vdisk-cost: 35 157
# vdisk-smp: 2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 11

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 128M || tap_diag "brd_setup failed"
M=/dev/ram0 D=/dev/ram1
SIZE=24M

snap() {	# NEW ORIGIN ORIGIN-DEVICE
	dmsetup suspend "$3" && pool_msg sp create_snap "$1" "$2"
	_rc=$?
	dmsetup resume "$3"
	return $_rc
}
sum_of() {	# ID: checksum of vdisk ID (activated briefly as sp-chk)
	make_vdisk sp-chk sp "$1" $SIZE > /dev/null || return 1
	dev_sha256 /dev/mapper/sp-chk
	dm_remove sp-chk
}
is_sum() {
	_s=$(sum_of "$1")
	[ "$_s" = "$2" ] || { echo "vdisk $1: $_s, expected $2"; return 1; }
}
rewrite() {	# DEV SEED: heavy mixed-size rewrite
	fio --name=rw --filename="$1" --direct=1 --ioengine=libaio --iodepth=16 \
		--rw=randwrite --bsrange=512-64k --size=$SIZE --io_size=32M \
		--randseed="$2" --eta=never > /dev/null 2>&1
}

make_pool sp $M $D 8 0 || tap_diag "pool failed"
pool_msg sp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk s1 sp 1 $SIZE || tap_diag "vdisk failed"
dd if=/dev/urandom of=/dev/mapper/s1 bs=1M count=16 oflag=direct status=none

tap_check "snapshot 2 of the origin" snap 2 1 s1
sum2=$(sum_of 2)
tap_check "snapshot reads the origin's data" [ "$sum2" = "$(dev_sha256 /dev/mapper/s1)" ]
rewrite /dev/mapper/s1 1 || tap_diag "rewrite failed"
tap_check "snapshot 3 of the rewritten origin" snap 3 1 s1
sum3=$(sum_of 3)
tap_check "snapshot 4 of snapshot 2 (snapshot of a snapshot)" pool_msg sp create_snap 4 2
make_vdisk s4 sp 4 $SIZE || tap_diag "clone 4 failed"
rewrite /dev/mapper/s4 2 || tap_diag "clone rewrite failed"
rewrite /dev/mapper/s1 3 || tap_diag "second origin rewrite failed"
sum4=$(dev_sha256 /dev/mapper/s4)
sum1=$(dev_sha256 /dev/mapper/s1)
tap_check "snapshot 2 unchanged after origin and clone rewrites" is_sum 2 "$sum2"
tap_check "snapshot 3 unchanged after the second origin rewrite" is_sum 3 "$sum3"
tap_check "clone 4 differs from its snapshot parent" [ "$sum4" != "$sum2" ]

dm_remove s4
dm_remove s1
dm_remove sp
tap_check "vdisk-check clean" vdisk_check $M
make_pool sp $M $D 8 0 || tap_diag "pool reactivation failed"
tap_check "after reactivation: origin and clone kept their data" \
	sh -c "[ '$(sum_of 1)' = '$sum1' ] && [ '$(sum_of 4)' = '$sum4' ]"
tap_check "after reactivation: snapshots 2 and 3 unchanged" \
	sh -c "[ '$(sum_of 2)' = '$sum2' ] && [ '$(sum_of 3)' = '$sum3' ]"

tap_kernel_log_clean
tap_done
