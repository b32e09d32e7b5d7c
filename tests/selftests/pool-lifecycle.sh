#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Pool and vdisk lifecycle: a zeroed metadata device is formatted, vdisks,
# snapshots and clones are created, written and deleted, the pool keeps
# everything across deactivation and reactivation, vdisk-check passes on the
# inactive metadata, deleted space comes back, foreign metadata is refused.
#
# vdisk-timeout: 240
# vdisk-cost: 19 99
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 22

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 3 64M || tap_diag "brd_setup failed"
M=/dev/ram0 D=/dev/ram1 F=/dev/ram2

tap_check "pool formats a zeroed metadata device" make_pool lp $M $D 8 0
new_pool_state() {
	[ "$(pool_field lp mode) $(pool_field lp data_used) $(pool_field lp tid)" = "rw 0 0" ] ||
		{ dmsetup status lp; return 1; }
}
reads_zeros() {
	[ "$(dev_sha256 "$1")" = "$(dd if=/dev/zero bs=1M count="$2" status=none | sha256sum | cut -d' ' -f1)" ]
}
mapped_is() {
	[ "$(vdisk_field "$1" mapped)" = "$2" ] || { dmsetup status "$1"; return 1; }
}
used_is() {
	[ "$(pool_field lp data_used)" = "$1" ] || { dmsetup status lp; return 1; }
}
grep_since_mark() {
	dmesg_since_mark | grep -qi "$1" || { dmesg_since_mark; return 1; }
}
sha_is() {
	[ "$(dev_sha256 "$1")" = "$2" ]
}
tap_check "new pool: rw, no data used, transaction 0" new_pool_state
tap_check "create_vdisk 1" pool_msg lp create_vdisk 1
tap_check "vdisk 1 activates" make_vdisk v1 lp 1 32M
tap_check "unwritten vdisk reads zeros" reads_zeros /dev/mapper/v1 32
tap_check "fio writes and verifies 8M on vdisk 1" fio_verify /dev/mapper/v1 8M --rw=randwrite --bs=4k
tap_check "vdisk 1 maps exactly 2048 blocks" mapped_is v1 2048
used1=$(pool_field lp data_used)
tap_check "pool counts 2048 used data blocks" used_is 2048

dmsetup suspend v1
tap_check "create_snap 2 1" pool_msg lp create_snap 2 1
dmsetup resume v1
sum1=$(dev_sha256 /dev/mapper/v1)
tap_check "snapshot 2 activates as a clone" make_vdisk v2 lp 2 32M
tap_check "clone reads the same as its origin" same_content /dev/mapper/v1 /dev/mapper/v2
tap_check "snapshot used no data blocks" used_is "$used1"
fio_verify /dev/mapper/v2 4M --rw=randwrite --bs=4k --randseed=99 > /dev/null ||
	tap_diag "fio on the clone failed"
sum2=$(dev_sha256 /dev/mapper/v2)
tap_check "writing the clone leaves the origin unchanged" sha_is /dev/mapper/v1 "$sum1"

pool_msg lp create_vdisk 3 || tap_diag "create_vdisk 3 failed"
tap_check "delete 3" pool_msg lp delete 3

dm_remove v2
dm_remove v1
dm_remove lp
tap_check "vdisk-check clean after deactivation" vdisk_check $M

make_pool lp $M $D 8 0 || tap_diag "pool reactivation failed"
make_vdisk v1 lp 1 32M || tap_diag "vdisk 1 reactivation failed"
make_vdisk v2 lp 2 32M || tap_diag "vdisk 2 reactivation failed"
tap_check "after reactivation vdisk 1 holds its data" sha_is /dev/mapper/v1 "$sum1"
tap_check "after reactivation the clone holds its data" sha_is /dev/mapper/v2 "$sum2"

used2=$(pool_field lp data_used)
dm_remove v2
pool_msg lp delete 2 || tap_diag "delete 2 failed"
tap_diag "data blocks used with the clone: $used2"
tap_check "deleting the clone frees its own blocks" \
	wait_for "used data back to $used1" 20 used_is "$used1"
dm_remove v1
pool_msg lp delete 1 || tap_diag "delete 1 failed"
tap_check "deleting everything returns the pool to 0 used blocks" \
	wait_for "used data back to 0" 20 used_is 0
dm_remove lp
tap_check "vdisk-check clean after deleting everything" vdisk_check $M

dd if=/dev/urandom of=$F bs=4k count=4 status=none
dmesg_mark
if dmsetup create lbad --table "0 $(dev_sectors $D) vdisk-pool $F $D 8 0" 2>/dev/null; then
	dm_remove lbad
	tap_fail "foreign metadata is refused"
else
	tap_check "foreign metadata is refused with a clear message" \
		grep_since_mark "foreign or damaged metadata"
fi

tap_kernel_log_clean
tap_done
