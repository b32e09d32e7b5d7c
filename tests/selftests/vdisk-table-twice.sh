#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One table mapping the same vdisk id twice is refused (issue 18, V2):
# `dmsetup create` fails, the kernel log says "mapped twice", and nothing
# changes: the vdisk's data, the other vdisks' data, the pool's mode and
# its metadata (vdisk-check) are as before.
#
# Where the table is accepted (the unfixed code) the test shows what the
# two targets do to each other: each keeps its own mapping cache, so after
# target B remaps block 0 (copy-on-write of the block target A just wrote),
# A still believes it owns the freed block and writes it in place once the
# allocator has handed it to vdisk 2.  Layout (64 KiB blocks, 512 of them):
# v1 blocks 0..127, v3 128..191; A's write of block 0 takes 192 and frees 0,
# B's takes 193 and frees 192; v2 (20M) then gets 194..511, 0 and 192,
# i.e. its last block is the one A still writes to.
#
# On the unfixed code checks 1 (refused), 2 (log line), 3 (v1 unchanged)
# and 5 (v2's data) fail.
#
# vdisk-timeout: 120
# vdisk-cost: 11 43
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 9

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/tt-meta" 16M) D=$(loop_create "$T/tt-data" 32M)
S=$(to_sectors 8M)

grep_since_mark() {
	dmesg_since_mark | grep -q "$1" || { dmesg_since_mark | tail -20; return 1; }
}
sha_is() {	# DEV SUM
	[ "$(dev_sha256 "$1")" = "$2" ]
}
V2_FIO="--rw=write --bs=64k --randseed=2"

make_pool tp "$M" "$D" 128 0 || tap_diag "pool failed"
for id in 1 2 3; do
	pool_msg tp create_vdisk $id || tap_diag "create_vdisk $id failed"
done
make_vdisk t1 tp 1 8M || tap_diag "vdisk 1 failed"
dd if=/dev/urandom of=/dev/mapper/t1 bs=64k count=128 oflag=direct status=none
sum1=$(dev_sha256 /dev/mapper/t1)
dm_remove t1
make_vdisk t3 tp 3 4M || tap_diag "vdisk 3 failed"
fio_verify /dev/mapper/t3 4M --rw=write --bs=64k --randseed=3 > /dev/null ||
	tap_diag "fio on vdisk 3 failed"
flush_dev /dev/mapper/t3
tap_diag "before: $(dmsetup status tp)"

dmesg_mark
twice=no
if printf '0 %s vdisk /dev/mapper/tp 1\n%s %s vdisk /dev/mapper/tp 1\n' "$S" "$S" "$S" |
	dmsetup create tw 2>/dev/null; then
	twice=yes
	at_exit dm_remove tw
	dm_wait_node tw
	tap_fail "a table mapping vdisk 1 twice is refused"
	tap_diag "accepted: $(dmsetup table tw | tr '\n' ';')"
else
	tap_ok "a table mapping vdisk 1 twice is refused"
fi
tap_check "the kernel log says \"mapped twice\"" grep_since_mark "mapped twice"

if [ "$twice" = yes ]; then
	# Target A is sectors [0, S), target B [S, 2S): both are vdisk 1.
	dd if=/dev/urandom of=/dev/mapper/tw bs=64k count=1 oflag=direct status=none
	dd if=/dev/urandom of=/dev/mapper/tw bs=64k count=1 seek=128 oflag=direct status=none
	flush_dev /dev/mapper/tw
	tap_diag "after A and B wrote block 0: $(dmsetup status tp)"
fi
make_vdisk t2 tp 2 20M || tap_diag "vdisk 2 failed"
fio_verify /dev/mapper/t2 20M $V2_FIO > /dev/null || tap_diag "fio on vdisk 2 failed"
flush_dev /dev/mapper/t2
if [ "$twice" = yes ]; then
	# A's cache still says block 0 is its own (the block v2 got last).
	dd if=/dev/urandom of=/dev/mapper/tw bs=64k count=1 oflag=direct status=none
	flush_dev /dev/mapper/tw
	dm_remove tw
fi

make_vdisk t1 tp 1 8M || tap_diag "vdisk 1 reactivation failed"
tap_check "vdisk 1 is unchanged (sha256)" sha_is /dev/mapper/t1 "$sum1"
tap_check "vdisk 3's data is intact (fio verify)" \
	fio_verify_only /dev/mapper/t3 4M --rw=write --bs=64k --randseed=3
tap_check "vdisk 2's data is intact (fio verify)" fio_verify_only /dev/mapper/t2 20M $V2_FIO
tap_check "the pool is rw" mode_in tp rw
tap_diag "after: $(dmsetup status tp)"
dm_remove t1
dm_remove t2
dm_remove t3
dm_remove tp
tap_check "vdisk-check clean after deactivation" vdisk_check "$M"
make_pool tp "$M" "$D" 128 0 || tap_diag "pool reactivation failed"
make_vdisk t1 tp 1 8M && make_vdisk t2 tp 2 20M || tap_diag "vdisk reactivation failed"
after_reactivation() {
	sha_is /dev/mapper/t1 "$sum1" && fio_verify_only /dev/mapper/t2 20M $V2_FIO
}
tap_check "after reactivation vdisks 1 and 2 hold their data" after_reactivation

tap_kernel_log_clean
tap_done
