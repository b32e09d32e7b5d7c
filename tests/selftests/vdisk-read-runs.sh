#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Multi-block reads by content.  A cached read whose blocks are contiguous on
# the data device (or a run of cached holes) goes down as one bio; this
# checks that such runs end exactly where the layout does.  Vdisk 1 (4 KiB
# blocks) is written from a random source file as: a contiguous 4 MiB, a
# 2 MiB of 60 KiB runs written in reverse order, a hole with isolated
# mapped blocks, and 512 KiB of single blocks written in a scattered order;
# then a snapshot, and origin overwrites that break its runs by
# copy-on-write.  Large O_DIRECT reads (1 MiB, 64 KiB, and unaligned
# offsets and lengths), cold and cached, must match the expected images of
# origin and snapshot.  Then fio verify with 1 MiB and 64 KiB reads, and
# cached large reads racing with writes, discards and the deletion of the
# snapshot on the same pool.
#
# vdisk-timeout: 240
# vdisk-cost: 27 106
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 14

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 96M || tap_diag "brd_setup failed"
T=$VDISK_TEST_TMP

make_pool rp /dev/ram0 /dev/ram1 8 0 || tap_diag "pool failed"
pool_msg rp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk r1 rp 1 16M || tap_diag "vdisk failed"
V1=/dev/mapper/r1
K=1024

dd if=/dev/urandom of="$T/src" bs=1M count=16 status=none
# The expected image of vdisk 1: zeros where nothing is written.
dd if=/dev/zero of="$T/ref1" bs=1M count=16 status=none

# put OFF LEN: copy LEN bytes at OFF of src to the vdisk and to ref1.
put() {
	dd if="$T/src" of=$V1 bs="$2" count=1 skip="$1" seek="$1" \
		iflag=skip_bytes oflag=seek_bytes,direct status=none &&
	dd if="$T/src" of="$T/ref1" bs="$2" count=1 skip="$1" seek="$1" \
		iflag=skip_bytes oflag=seek_bytes conv=notrunc status=none
}

# Contiguous: [0, 4M) in 1 MiB writes (allocated in order).
for i in 0 1 2 3; do put $((i * 1024 * K)) 1M; done
# Runs of 15 blocks, last first: [4M, 4M + 34 * 60K).
i=33
while [ $i -ge 0 ]; do put $((4096 * K + i * 60 * K)) 60K; i=$((i - 1)); done
# Holes with isolated blocks in [7M, 8M).
for i in 1 7 8 50 100 200; do put $((7168 * K + i * 4 * K)) 4K; done
# 128 single blocks in a scattered order (97 is odd: a permutation): [8M, 8.5M).
i=0
while [ $i -lt 128 ]; do put $((8192 * K + (i * 97 % 128) * 4 * K)) 4K; i=$((i + 1)); done
flush_dev $V1

# The snapshot keeps this image; the origin's overwrites then go to new
# blocks in the middle of its runs.
cp "$T/ref1" "$T/ref2"
dmsetup suspend r1
pool_msg rp create_snap 2 1 || tap_diag "create_snap failed"
dmsetup resume r1
make_vdisk r2 rp 2 16M || tap_diag "snapshot vdisk failed"
V2=/dev/mapper/r2
for off in 4 1000 1004 2052 4156 8200; do put $((off * K)) 4K; done
put $((3 * 1024 * K + 512)) 7K	# partial blocks

sha() { sha256sum < "$1" | cut -d' ' -f1; }
# dev_is REF DEV BS: the whole device read with BS-sized O_DIRECT reads.
dev_is() {
	_got=$(dd if="$2" bs="$3" iflag=direct status=none | sha256sum | cut -d' ' -f1)
	[ "$_got" = "$(sha "$1")" ] || { echo "$2 read with bs=$3 differs from $1"; return 1; }
}
# ranges_are REF DEV: unaligned offsets and lengths (in 512-byte sectors).
ranges_are() {
	for r in "1 2047" "7 2048" "1023 4097" "8191 513" "12 16000" "14335 2049" \
		 "16383 17" "6143 3000" "28 31"; do
		# shellcheck disable=SC2086
		set -- "$1" "$2" $r
		_a=$(dd if="$2" bs=$(($4 * 512)) count=1 skip=$(($3 * 512)) \
			iflag=direct,skip_bytes status=none | sha256sum)
		_b=$(dd if="$1" bs=$(($4 * 512)) count=1 skip=$(($3 * 512)) \
			iflag=skip_bytes status=none | sha256sum)
		[ "$_a" = "$_b" ] || { echo "$2: sectors $3 +$4 differ"; return 1; }
	done
}

tap_check "origin, cold cache, 1 MiB reads" dev_is "$T/ref1" $V1 1M
tap_check "origin, cached, 1 MiB reads" dev_is "$T/ref1" $V1 1M
tap_check "origin, cached, 64 KiB reads" dev_is "$T/ref1" $V1 64K
tap_check "origin, cached, unaligned ranges" ranges_are "$T/ref1" $V1
both_bs() { dev_is "$1" "$2" 1M && dev_is "$1" "$2" 64K; }
tap_check "snapshot, cold cache, 1 MiB reads" dev_is "$T/ref2" $V2 1M
tap_check "snapshot, cached, 1 MiB and 64 KiB reads" both_bs "$T/ref2" $V2
tap_check "snapshot, cached, unaligned ranges" ranges_are "$T/ref2" $V2

pool_msg rp create_vdisk 3 || tap_diag "create_vdisk 3 failed"
make_vdisk r3 rp 3 24M || tap_diag "vdisk 3 failed"
V3=/dev/mapper/r3
AIO="--ioengine=libaio --iodepth=8"
tap_check "fio verify, 1 MiB writes and reads" fio_verify $V3 8M $AIO --bs=1M
# shellcheck disable=SC2086
tap_check "fio verify, randrw 64 KiB" fio_verify $V3 8M $AIO --offset=8M \
	--rw=randrw --bs=64k

# Races: cached 1 MiB reads of the origin's first 4 MiB (not changed)
# while the snapshot is deleted (its blocks are reclaimed), a discard
# unmaps the origin's [4M, 7M) under reads of it, and fio on vdisk 3
# allocates the freed blocks again.
dd if="$T/ref1" bs=1M count=4 status=none | sha256sum | cut -d' ' -f1 > "$T/want"
reader() {	# ROUNDS: 1 MiB reads of [0, 4M) must match every time
	_n=0
	while [ $_n -lt "$1" ]; do
		_got=$(dd if=$V1 bs=1M count=4 iflag=direct status=none | sha256sum | cut -d' ' -f1)
		[ "$_got" = "$(cat "$T/want")" ] || { echo "round $_n: [0, 4M) differs"; return 1; }
		_n=$((_n + 1))
	done
}
churn() {	# reads of the region being discarded: only must not fail
	_n=0
	while [ $_n -lt "$1" ]; do
		dd if=$V1 of=/dev/null bs=1M skip=4 count=3 iflag=direct status=none || return 1
		_n=$((_n + 1))
	done
}
reader 40 > "$T/reader.out" 2>&1 &
rpid=$!
churn 40 > "$T/churn.out" 2>&1 &
cpid=$!
# shellcheck disable=SC2086
fio_verify $V3 8M $AIO --offset=16M --rw=randwrite --bs=64k > "$T/fio.out" 2>&1 &
fpid=$!
dm_remove r2
pool_msg rp delete 2 || tap_diag "delete 2 failed"
blkdiscard -f -o $((4096 * K)) -l $((3072 * K)) $V1 || tap_diag "blkdiscard failed"
dd if=/dev/zero of="$T/ref1" bs=1M seek=4 count=3 conv=notrunc status=none
wait $fpid
frc=$?
wait $cpid
crc=$?
wait $rpid
rrc=$?
# status RC FILE: RC was 0, else show FILE.
status() { [ "$1" = 0 ] || { cat "$2"; return 1; }; }
tap_check "cached 1 MiB reads stay right during delete, discard and reuse" \
	status $rrc "$T/reader.out"
tap_check "reads of the range being discarded complete" status $crc "$T/churn.out"
tap_check "fio verify (randwrite 64k) racing with them" status $frc "$T/fio.out"
tap_check "origin after the races, 1 MiB reads" dev_is "$T/ref1" $V1 1M

tap_kernel_log_clean
tap_done
