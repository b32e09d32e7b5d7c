#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# I/O errors: a data device error fails only the bios that hit it (the pool
# stays rw, a failed first write maps nothing, acknowledged data survives);
# a metadata device error switches the pool to ro/fail with a clear kernel
# log line, and on healthy devices the metadata checks clean and holds
# everything that was flushed.
#
# vdisk-timeout: 180
# vdisk-cost: 9 22
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 13

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 64M || tap_diag "brd_setup failed"
S=$(dev_sectors /dev/ram0)

# Metadata and data devices are dm devices whose table we can swap to "error".
dm_create em "0 $S linear /dev/ram0 0" || tap_diag "em failed"
dm_create ed "0 $S linear /dev/ram1 0" || tap_diag "ed failed"
swap() {	# DEV linear|error
	if [ "$2" = error ]; then
		dmsetup reload "$1" --table "0 $S error"
	else
		dmsetup reload "$1" --table "0 $S linear /dev/ram$3 0"
	fi && dmsetup resume "$1"
}

make_pool ep /dev/mapper/em /dev/mapper/ed 8 0 || tap_diag "pool failed"
pool_msg ep create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk e1 ep 1 16M || tap_diag "vdisk failed"
dd if=/dev/urandom of=/dev/mapper/e1 bs=1M count=4 oflag=direct status=none
flush_dev /dev/mapper/e1
sumA=$(dev_sha256 /dev/mapper/e1 0 4M)

swap ed error || tap_diag "swapping ed to error failed"
tap_check "a write to a new block on a failing data device fails" \
	sh -c "! dd if=/dev/urandom of=/dev/mapper/e1 bs=64k count=1 seek=128 oflag=direct status=none 2>/dev/null"
tap_check "the pool stays rw" mode_in ep rw
swap ed linear 1 || tap_diag "restoring ed failed"
tap_check "the failed write mapped nothing (reads zeros)" zeros64k /dev/mapper/e1 8M
tap_check "acknowledged data is intact" [ "$(dev_sha256 /dev/mapper/e1 0 4M)" = "$sumA" ]
tap_check "writes work again once the device is healthy" \
	dd if=/dev/urandom of=/dev/mapper/e1 bs=64k count=16 seek=128 oflag=direct status=none
flush_dev /dev/mapper/e1
sumB=$(dev_sha256 /dev/mapper/e1 0 16M)

dmesg_mark
swap em error || tap_diag "swapping em to error failed"
dd if=/dev/urandom of=/dev/mapper/e1 bs=64k count=16 seek=192 oflag=direct status=none 2>/dev/null
flush_fails() {
	! flush_dev "$1" 2>/dev/null
}
tap_check "a flush over a failing metadata device fails" flush_fails /dev/mapper/e1
tap_check "the pool switched to ro or fail" mode_in ep ro fail
tap_check "the kernel log says so" \
	sh -c "dmesg | grep -q 'vdisk: pool .*switching to \(ro\|fail\) mode'"
tap_check "the pool refuses messages now" sh -c "! dmsetup message ep 0 create_vdisk 9 2>/dev/null"
dm_remove e1
dm_remove ep
swap em linear 0 || tap_diag "restoring em failed"
tap_check "vdisk-check clean on the healthy metadata device" vdisk_check /dev/mapper/em
make_pool ep /dev/mapper/em /dev/mapper/ed 8 0 || tap_diag "pool reactivation failed"
make_vdisk e1 ep 1 16M || tap_diag "vdisk reactivation failed"
tap_check "everything flushed before the failure is there" \
	[ "$(dev_sha256 /dev/mapper/e1 0 16M)" = "$sumB" ]
tap_check "the pool is rw again" mode_in ep rw

tap_kernel_log_clean
tap_done
