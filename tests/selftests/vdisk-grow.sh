#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Online vdisk growth: reloading a vdisk with a longer table while it is in
# use grows it; existing data stays, the new area reads zeros and takes
# writes, and everything survives a pool deactivation.
#
# vdisk-timeout: 120
# vdisk-cost: 14 35
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 8

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 64M || tap_diag "brd_setup failed"

zeros() {	# DEV OFFSET LEN
	[ "$(dev_sha256 "$1" "$2" "$3")" = "$(dd if=/dev/zero bs=64k count=$(( $(to_sectors "$3") / 128 )) status=none | sha256sum | cut -d' ' -f1)" ]
}
grow() {
	dmsetup reload g1 --table "0 $(to_sectors 16M) vdisk /dev/mapper/gp 1" &&
		dmsetup resume g1
}

make_pool gp /dev/ram0 /dev/ram1 8 0 || tap_diag "pool failed"
pool_msg gp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk g1 gp 1 8M || tap_diag "vdisk failed"
dd if=/dev/urandom of=/dev/mapper/g1 bs=1M count=8 oflag=direct status=none
sum=$(dev_sha256 /dev/mapper/g1 0 8M)

tap_check "reload with a 16M table" grow
tap_check "the vdisk is 16M" [ "$(dev_sectors /dev/mapper/g1)" = "$(to_sectors 16M)" ]
tap_check "existing data is unchanged" [ "$(dev_sha256 /dev/mapper/g1 0 8M)" = "$sum" ]
tap_check "the new area reads zeros" zeros /dev/mapper/g1 8M 8M
tap_check "the new area takes writes" \
	fio_verify /dev/mapper/g1 8M --offset=8M --rw=randwrite --bs=4k
dm_remove g1
dm_remove gp
tap_check "vdisk-check clean" vdisk_check /dev/ram0
make_pool gp /dev/ram0 /dev/ram1 8 0 || tap_diag "pool reactivation failed"
make_vdisk g1 gp 1 16M || tap_diag "vdisk reactivation failed"
both_halves() {
	[ "$(dev_sha256 /dev/mapper/g1 0 8M)" = "$sum" ] &&
		fio_verify_only /dev/mapper/g1 8M --offset=8M --rw=randwrite --bs=4k
}
tap_check "after reactivation both halves are intact" both_halves
tap_kernel_log_clean
tap_done
