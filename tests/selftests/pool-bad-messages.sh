#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Malformed and impossible pool messages (wrong counts, bad or huge numbers,
# unknown and duplicate ids, snapshots of missing vdisks, a group snapshot
# with one bad member) fail, say why in the kernel log and change nothing:
# the pool status and the set of vdisks are identical before and after.
# Then the valid forms of the same messages work.
#
# vdisk-timeout: 180
# vdisk-cost: 18 65
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

bad_messages='create_vdisk
create_vdisk abc
create_vdisk 0x10
create_vdisk 1
create_vdisk 18446744073709551615
create_vdisk 99999999999999999999999
create_vdisk 5 6
create_snap 5
create_snap 5 77
create_snap 2 1
create_snap x 1
create_snap 5 1 1
delete
delete 77
delete abc
delete 1
create_group_snap
create_group_snap 5-1
create_group_snap 5:1 5:2
create_group_snap 5:1 6:77
create_group_snap 2:1 6:1
create_group_snap 5:1 6:
set_transaction_id 1 2
set_transaction_id x 1
set_transaction_id 0
release_metadata_snap
reserve_metadata_snap now
frobnicate 1'

n_bad=$(echo "$bad_messages" | wc -l)
tap_plan $((n_bad + 8))

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 64M || tap_diag "brd_setup failed"

make_pool bp /dev/ram0 /dev/ram1 8 0 || tap_diag "pool failed"
pool_msg bp create_vdisk 1 || tap_diag "create_vdisk 1 failed"
pool_msg bp create_snap 2 1 || tap_diag "create_snap 2 1 failed"
make_vdisk b1 bp 1 16M || tap_diag "vdisk failed"
dd if=/dev/urandom of=/dev/mapper/b1 bs=64k count=16 oflag=direct status=none
sync
sleep 1.5	# let the periodic commit settle the counts
before=$(dmsetup status bp)

# The ids that must (not) exist: a vdisk table loads only for existing ones.
exists() {
	dmsetup create bp-probe --table "0 2048 vdisk /dev/mapper/bp $1" 2>/dev/null || return 1
	dmsetup remove bp-probe
}

refused() {	# MESSAGE WORDS
	dmesg_mark
	# shellcheck disable=SC2086
	if dmsetup message bp 0 $1 > /dev/null 2>&1; then
		echo "message was accepted"
		return 1
	fi
	if ! dmesg_since_mark | grep -q 'vdisk: '; then
		echo "no kernel message saying why"
		return 1
	fi
	dmesg_since_mark | grep 'vdisk: ' | head -n 3
	_after=$(dmsetup status bp)
	if [ "$_after" != "$before" ]; then
		echo "status changed: '$before' -> '$_after'"
		return 1
	fi
	for _id in 5 6 77; do
		exists $_id && { echo "vdisk $_id was created"; return 1; }
	done
	return 0
}

echo "$bad_messages" | {
	while read -r m; do
		tap_check "refused, nothing changed: $m" refused "$m"
	done
	echo "$_tap_n $_tap_failed" > "$VDISK_TEST_TMP/counts"
}
read -r _tap_n _tap_failed < "$VDISK_TEST_TMP/counts"

both_exist() {
	for _id in "$@"; do
		exists "$_id" || { echo "vdisk $_id missing"; return 1; }
	done
}
tap_check "vdisk 2 (inactive) still exists" both_exist 2
tap_check "set_transaction_id 0 5" pool_msg bp set_transaction_id 0 5
tap_check "status shows transaction id 5" [ "$(pool_field bp tid)" = 5 ]
tap_check "create_group_snap 5:1 6:2 makes both" \
	sh -c "dmsetup message bp 0 create_group_snap 5:1 6:2"
tap_check "group snapshots 5 and 6 exist" both_exist 5 6
tap_check "reserve_metadata_snap, then a second one is refused" \
	sh -c "dmsetup message bp 0 reserve_metadata_snap && ! dmsetup message bp 0 reserve_metadata_snap"
tap_check "release_metadata_snap" pool_msg bp release_metadata_snap

tap_kernel_log_clean
tap_done
