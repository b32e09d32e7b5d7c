#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Table-line validation of the vdisk-pool and vdisk targets: valid tables
# load; every malformed one is refused, says why in the kernel log, and
# leaves no device behind.
#
# vdisk-timeout: 120
# vdisk-cost: 10 27
. "$(dirname "$0")/lib.sh"

# Malformed tables: "<target words>|<word the kernel's error must contain>".
# M, D, S stand for the metadata, data and spare RAM disks, P for the pool.
bad_pool_tables='M D 128|
M D 100 0|block size
M D 4 0|block size
M D 4096 0|block size
M D 0 0|block size
M D abc 0|block size
M D 128 x1|low water
M D 128 99999999999999999999999|low water
M D 128 100000|low water
M D 128 0 1 frobnicate|feature
M D 128 0 3 error_if_no_space|feature
M D 128 0 x error_if_no_space|feature
M D 128 0 6 a b c d e f|feature
M D 128 0 1 ssd_tier|ssd_tier
M D 128 0 0 extra|argument
/dev/nonexistent D 128 0|metadata device
M /dev/nonexistent 128 0|data device
M M 128 0|different'
bad_vdisk_tables='P|argument
P abc|id
P 18446744073709551616|id
P 7|no such vdisk
P 0 1 frobnicate|feature
P 0 2 x|feature
/dev/nonexistent 0|pool device
S 0|vdisk-pool'

n_bad=$(( $(echo "$bad_pool_tables" | wc -l) + $(echo "$bad_vdisk_tables" | wc -l) ))
tap_plan $((6 + n_bad))

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 3 64M || tap_diag "brd_setup failed"
M=/dev/ram0 D=/dev/ram1 S=/dev/ram2

# expand WORDS: substitute the device placeholders.
expand() {
	echo " $1 " | sed -e "s| M | $M |g; s| M | $M |g; s| D | $D |g; s| S | $S |g" \
		-e "s| P | /dev/mapper/ta-pool |g" -e 's/^ //; s/ $//'
}

# refused NAME TABLE KEYWORD: loading TABLE fails, the kernel log explains it
# with a line naming the target and containing KEYWORD, no device remains.
refused() {
	_target=${2#* * }
	_target=${_target%% *}
	dmesg_mark
	if dmsetup create "$1" --table "$2" > /dev/null 2>&1; then
		dm_remove "$1"
		echo "table was accepted"
		return 1
	fi
	_log=$(dmesg_since_mark | grep -F "$_target: ")
	if ! echo "$_log" | grep -qiF "$3"; then
		echo "no kernel message about '$3'; new kernel log:"
		dmesg_since_mark
		return 1
	fi
	echo "$_log"
	if dm_exists "$1"; then
		echo "device $1 left behind"
		dmsetup remove "$1"
		return 1
	fi
}

# --- valid tables -------------------------------------------------------------
data_sectors=$(dev_sectors "$D")
tap_check "plain vdisk-pool table loads" \
	dm_create ta-pool "0 $data_sectors vdisk-pool $M $D 128 0"
tap_check "pool table reads back with its arguments" \
	sh -c "dmsetup table ta-pool | grep -q 'vdisk-pool .* 128 0'"
# A vdisk table names an existing vdisk (refused otherwise, see below).
dmsetup message ta-pool 0 create_vdisk 0 || tap_diag "create_vdisk 0 failed"
dmsetup message ta-pool 0 create_vdisk 18446744073709551614 || tap_diag "create_vdisk failed"
tap_check "vdisk on the pool loads" dm_create ta-vdisk "0 2097152 vdisk /dev/mapper/ta-pool 0"
tap_check "a second vdisk with a large id loads" \
	dm_create ta-vdisk2 "0 2048 vdisk /dev/mapper/ta-pool 18446744073709551614"
dm_remove ta-vdisk2
dm_remove ta-vdisk
dm_remove ta-pool
# The block size is fixed when the metadata is formatted and read_only
# cannot format: format the 2048-sector pool first.
zero_dev "$M" 1M
dm_create ta-pool "0 $data_sectors vdisk-pool $M $D 2048 4" && dm_remove ta-pool
tap_check "vdisk-pool with all flag features loads" \
	dm_create ta-pool "0 $data_sectors vdisk-pool $M $D 2048 4 4 error_if_no_space ignore_discard no_discard_passdown read_only"
dm_remove ta-pool

# --- malformed tables -----------------------------------------------------------
echo "$bad_pool_tables" | {
	while IFS='|' read -r words key; do
		t="0 $data_sectors vdisk-pool $(expand "$words")"
		tap_check "refused: vdisk-pool $words" refused ta-bad "$t" "$key"
	done
	echo "$_tap_n $_tap_failed" > "$VDISK_TEST_TMP/counts"
}
read -r _tap_n _tap_failed < "$VDISK_TEST_TMP/counts"

zero_dev "$M" 1M
dm_create ta-pool "0 $data_sectors vdisk-pool $M $D 128 0" || tap_diag "pool for vdisk tests failed"
echo "$bad_vdisk_tables" | {
	while IFS='|' read -r words key; do
		t="0 2048 vdisk $(expand "$words")"
		tap_check "refused: vdisk $words" refused ta-bad "$t" "$key"
	done
	echo "$_tap_n $_tap_failed" > "$VDISK_TEST_TMP/counts"
}
read -r _tap_n _tap_failed < "$VDISK_TEST_TMP/counts"
dm_remove ta-pool

tap_kernel_log_clean
tap_done
