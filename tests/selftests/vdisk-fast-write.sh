#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The write fast path (dm-vdisk-fast-write.c, dm-vdisk-reserve.c): a write
# covering whole blocks takes new blocks from its vdisk's reserve in map()
# and completes before its mapping is in the B+tree.  Checked by content:
#   - large writes go down as runs, and read back (fast_writes counts them);
#   - 1 MiB writes that reach the worker (another write of the vdisk is
#     there) go down whole in a few runs, not block by block;
#   - sync writes (a write, then a flush) take the fast path: the reserves
#     given back by each commit are refilled right after it;
#   - read-after-write before the batched insert: fio writes and reads each
#     block back at once (verify_backlog=1), with many jobs, iodepth 32 and
#     mixed sizes, including writes of 512-byte multiples at 512-byte
#     offsets (partial blocks: the worker's path);
#   - overlapping writes of one region from four writers end with one
#     mapping per block: every block holds one writer's data, the same
#     before and after the pool is reactivated (cache and tree agree);
#   - writes racing discards and a snapshot deletion of the same range:
#     the same content before and after reactivation;
#   - space accounting: the pool's used blocks equal the mapped blocks, and
#     vdisk-check is clean after every deactivation;
#   - a pool filled past its end with the fast path on: the reserves give
#     their blocks back, the pool reaches out_of_data_space with every block
#     used, and everything written before reads back.
#
# vdisk-timeout: 300
# vdisk-cost: 31 101
# vdisk-smp: 2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 28

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null
brd_setup 2 96M || tap_diag "brd_setup failed"
T=$VDISK_TEST_TMP
sha() { sha256sum < "$1" | cut -d' ' -f1; }

make_pool fp /dev/ram0 /dev/ram1 8 0 || tap_diag "pool failed"
pool_msg fp create_vdisk 1 || tap_diag "create_vdisk failed"
pool_msg fp create_vdisk 2 || tap_diag "create_vdisk failed"
make_vdisk f1 fp 1 32M || tap_diag "vdisk 1 failed"
make_vdisk f2 fp 2 16M || tap_diag "vdisk 2 failed"
V1=/dev/mapper/f1 V2=/dev/mapper/f2

# Deactivate and activate the pool and both vdisks again: the mapping
# cache starts empty, so reads come from the B+tree.
reactivate() {
	dm_remove f1 && dm_remove f2 && dm_remove fp &&
		vdisk_check /dev/ram0 &&
		make_pool fp /dev/ram0 /dev/ram1 8 0 &&
		make_vdisk f1 fp 1 32M && make_vdisk f2 fp 2 16M
}
# Used data blocks of the pool equal the blocks its vdisks map.
accounting_exact() {
	_used=$(pool_field fp data_used)
	_mapped=$(( $(vdisk_field f1 mapped) + $(vdisk_field f2 mapped) ))
	[ "$_used" = "$_mapped" ] || { echo "used $_used, mapped $_mapped"; dmsetup status; return 1; }
}

dd if=/dev/urandom of="$T/src" bs=1M count=8 status=none
tap_check "1 MiB writes of 8 MiB" dd if="$T/src" of=$V1 bs=1M oflag=direct status=none
fast_some() { [ "$(vdisk_field f1 fast_writes)" -gt 0 ] || { dmsetup status f1; return 1; }; }
tap_check "they took the fast path" fast_some
tap_check "and read back" cmp -n 8388608 "$T/src" $V1

# Sync writes, a 4 KiB write then a flush, 32 times (fsync=1 in fio, a
# database's log): every flush commits, and the commit gives the reserves
# back; a vdisk that was writing gets its reserve back right after the
# commit, so its next write takes the fast path too.  A write that arrives
# while the reserves are still closed for the commit goes through the
# worker: at least half must be fast (before the refill after the commit,
# none after the first was).
sync_writes() {
	_i=0
	while [ $_i -lt 32 ]; do
		dd if="$T/src" of=$V1 bs=4k count=1 skip=$_i seek=$((7680 + _i)) \
			oflag=direct conv=fsync,notrunc status=none || return 1
		_i=$((_i + 1))
	done
}
fast0=$(vdisk_field f1 fast_writes)
tap_check "32 sync writes (write, flush) complete" sync_writes
fast_sync() {
	_n=$(( $(vdisk_field f1 fast_writes) - fast0 ))
	[ "$_n" -ge 16 ] || { echo "only $_n of 32 sync writes were fast"; return 1; }
}
tap_check "most of them took the fast path" fast_sync
tap_diag "fast sync writes: $(( $(vdisk_field f1 fast_writes) - fast0 )) of 32"
tap_check "and read back" cmp -n 131072 "$T/src" $V1 0 $((7680 * 4096))

# Whole writes sent down from the worker: while 512-byte and FUA writes (the
# worker's path) keep writes of vdisk 1 in the worker, map() hands each
# 1 MiB write there whole and the worker sends it down in a few runs of
# reserve blocks (vdisk_fast_write_whole()); trimmed to its first block
# instead, a 1 MiB write went through the worker block by block, 256 fast
# writes or slow ones.  32 such writes, each allocating (the region is
# discarded before each pass of 8): at most 4 runs each.
partial_writer() {
	while [ ! -e "$T/whole-done" ]; do
		fio_verify $V1 --offset=24M --size=1M --rw=randwrite --bs=512 \
			--ioengine=libaio --iodepth=16 > "$T/fio-partial.log" 2>&1 || return 1
	done
}
# FUA writes (O_DSYNC) wait in the worker for a commit each, and every
# commit closes the reserves for a moment.
fua_writer() {
	while [ ! -e "$T/whole-done" ]; do
		fio_verify $V1 --offset=26M --size=256k --rw=randwrite --bs=4k --sync=1 \
			> "$T/fio-fua.log" 2>&1 || return 1
	done
}
whole_writes() {
	_i=0
	while [ $_i -lt 4 ]; do
		# Unmapped again, so that every write allocates.
		blkdiscard -o 16777216 -l 8388608 $V1 &&
			dd if="$T/src" of=$V1 bs=1M seek=16 count=8 oflag=direct status=none ||
			return 1
		_i=$((_i + 1))
	done
}
fast0=$(vdisk_field f1 fast_writes)
partial_writer & pp=$!
fua_writer & pu=$!
tap_check "1 MiB writes while 512-byte writes run complete" whole_writes
touch "$T/whole-done"
rc=0
wait $pp || { rc=1; cat "$T/fio-partial.log"; }
tap_check "the 512-byte writes verify" test $rc = 0
rc=0
wait $pu || { rc=1; cat "$T/fio-fua.log"; }
tap_check "the FUA writes verify" test $rc = 0
few_runs() {
	_n=$(( $(vdisk_field f1 fast_writes) - fast0 ))
	[ "$_n" -le 128 ] || { echo "32 1 MiB writes took $_n fast writes"; return 1; }
}
tap_check "each 1 MiB write went down in a few runs" few_runs
tap_diag "fast writes for 32 1 MiB writes: $(( $(vdisk_field f1 fast_writes) - fast0 ))"
tap_check "and reads back" cmp -n 8388608 "$T/src" $V1 0 16777216

tap_check "read-after-write: fio verify_backlog=1, 4 jobs, iodepth 32, 4k-1m" \
	fio_verify $V1 --offset=8M --ioengine=libaio --iodepth=32 \
		--numjobs=4 --rw=randwrite --bsrange=4k-1m --bs_unaligned=0 \
		--verify_backlog=1 --verify_backlog_batch=1 --offset_increment=6M --size=6M
tap_check "read-after-write: 512-byte unaligned writes mixed in" \
	fio_verify $V2 --ioengine=libaio --iodepth=16 --numjobs=2 \
		--rw=randwrite --bsrange=512-64k --blockalign=512 \
		--verify_backlog=1 --verify_backlog_batch=1 --offset_increment=4M --size=4M
flush_dev $V1
flush_dev $V2
tap_check "pool's used blocks equal the mapped blocks" accounting_exact

# Four writers, each with its own pattern, overwrite the same 64 KiB.
for w in 0 1 2 3; do
	dd if=/dev/urandom of="$T/pat$w" bs=64k count=1 status=none
done
# repeat N CMD...: run CMD N times, stop at its first failure.
repeat() {
	_n=$1
	shift
	while [ "$_n" -gt 0 ]; do
		"$@" || return 1
		_n=$((_n - 1))
	done
}
writer() {
	repeat 40 dd if="$T/pat$1" of=$V2 bs=64k seek=100 count=1 oflag=direct status=none
}
( writer 0 ) & p0=$!
( writer 1 ) & p1=$!
( writer 2 ) & p2=$!
( writer 3 ) & p3=$!
ok=0
for p in $p0 $p1 $p2 $p3; do wait $p || ok=1; done
tap_check "four overlapping writers completed" test $ok = 0
# Every 4 KiB block of the region is one writer's block.
blocks_from_writers() {
	dd if=$V2 of="$T/region" bs=64k skip=100 count=1 iflag=direct status=none
	_b=0
	while [ $_b -lt 16 ]; do
		_got=$(dd if="$T/region" bs=4k skip=$_b count=1 status=none | sha256sum)
		_found=0
		for w in 0 1 2 3; do
			[ "$(dd if="$T/pat$w" bs=4k skip=$_b count=1 status=none | sha256sum)" = "$_got" ] &&
				_found=1
		done
		[ $_found = 1 ] || { echo "block $_b of the region is no writer's"; return 1; }
		_b=$((_b + 1))
	done
}
tap_check "every block of the region holds one writer's data" blocks_from_writers

# Writes and discards of the same 2 MiB of vdisk 1 at once.
discarder() { repeat 30 blkdiscard -o $((20 * 1048576)) -l 2097152 $V1; }
rewriter() {
	repeat 30 dd if="$T/src" of=$V1 bs=256k seek=80 count=8 oflag=direct status=none
}
( discarder ) & pd=$!
( rewriter ) & pw=$!
ok=0
wait $pd || ok=1
wait $pw || ok=1
tap_check "writes racing discards of the same range completed" test $ok = 0
flush_dev $V1
flush_dev $V2
tap_check "pool's used blocks equal the mapped blocks after the races" accounting_exact
dd if=$V1 of="$T/v1.before" bs=1M iflag=direct status=none
dd if=$V2 of="$T/v2.before" bs=1M iflag=direct status=none
tap_check "deactivate (vdisk-check clean) and activate again" reactivate
tap_check "vdisk 1 reads the same from the tree as from the cache" \
	sh -c "dd if=$V1 bs=1M iflag=direct status=none | cmp - $T/v1.before"
tap_check "vdisk 2 reads the same from the tree as from the cache" \
	sh -c "dd if=$V2 bs=1M iflag=direct status=none | cmp - $T/v2.before"
tap_check "pool's used blocks equal the mapped blocks after activation" accounting_exact

# A snapshot, written while it is deleted: the origin keeps its data.
dmsetup suspend f1
pool_msg fp create_snap 3 1 || tap_diag "create_snap failed"
dmsetup resume f1
fio_verify $V1 --size=16M --rw=randwrite --bs=64k --ioengine=libaio --iodepth=8 \
	> "$T/fio-snap.log" 2>&1 &
pf=$!
pool_msg fp delete 3 || tap_diag "delete failed"
rc=0
wait $pf || { rc=1; cat "$T/fio-snap.log"; }
tap_check "writes while a snapshot of the vdisk is deleted verify" test $rc = 0

# A 32 MiB pool filled past its end: reserves at first, then block by block.
M=$(loop_create "$T/oos-meta" 16M) D=$(loop_create "$T/oos-data" 32M)
make_pool fo "$M" "$D" 8 0 error_if_no_space || tap_diag "oos pool failed"
pool_msg fo create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk o1 fo 1 64M || tap_diag "oos vdisk failed"
dd if=/dev/urandom of="$T/big" bs=1M count=40 status=none
tap_check "filling 40 MiB into a 32 MiB pool fails" \
	sh -c "! dd if=$T/big of=/dev/mapper/o1 bs=1M oflag=direct status=none 2>/dev/null"
full() {
	[ "$(pool_field fo mode)" = out_of_data_space ] &&
	[ "$(pool_field fo data_used)" = "$(pool_field fo data_total)" ] &&
	[ "$(vdisk_field o1 mapped)" = "$(pool_field fo data_total)" ] &&
	[ "$(vdisk_field o1 fast_writes)" -gt 0 ] || { dmsetup status fo o1; return 1; }
}
tap_check "out_of_data_space with every block mapped (fast path was on)" full
# 31 MiB written in full 1 MiB writes before the pool ran out.
tap_check "what was written before reads back" \
	sh -c "dd if=/dev/mapper/o1 bs=1M count=31 iflag=direct status=none | cmp -n 32505856 - $T/big"
dm_remove o1
dm_remove fo
tap_check "vdisk-check of the full pool is clean" vdisk_check "$M"

tap_kernel_log_clean
tap_done
