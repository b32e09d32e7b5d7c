#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Discard: unmaps whole blocks (reads return zeros, mapped and used counts
# drop exactly), keeps blocks a snapshot still uses, passes discards down
# to the data device for freed blocks only after they are freed (and not at
# all with no_discard_passdown), is refused with ignore_discard, and a large
# discard runs while other I/O continues; the passdown itself runs in the
# background (checked under dm-delay where the kernel has it).
#
# vdisk-timeout: 240
# vdisk-cost: 31 110
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

command -v blkdiscard > /dev/null || tap_skip_all "blkdiscard not available"
tap_plan 17

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/dm-meta" 16M) D=$(loop_create "$T/dm-data" 32M)
M2=$(loop_create "$T/dm-meta2" 16M) D2=$(loop_create "$T/dm-data2" 32M)

used_is() {	# POOL N
	[ "$(pool_field "$1" data_used)" = "$2" ] || { dmsetup status "$1"; return 1; }
}
mapped_is() {
	[ "$(vdisk_field "$1" mapped)" = "$2" ] || { dmsetup status "$1"; return 1; }
}
zeros() {	# DEV OFFSET LEN
	[ "$(dev_sha256 "$1" "$2" "$3")" = "$(dd if=/dev/zero bs=64k count=$(( $(to_sectors "$3") / 128 )) status=none | sha256sum | cut -d' ' -f1)" ]
}

make_pool dp "$M" "$D" 8 0 || tap_diag "pool failed"
pool_msg dp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk d1 dp 1 16M || tap_diag "vdisk failed"
dd if=/dev/urandom of=/dev/mapper/d1 bs=1M count=8 oflag=direct status=none
upper=$(dev_sha256 /dev/mapper/d1 4M 4M)

tap_check "discard of 4M succeeds" blkdiscard -o 0 -l 4M /dev/mapper/d1
tap_check "vdisk maps 1024 blocks after discarding 1024 of 2048" mapped_is d1 1024
tap_check "discarded range reads zeros" zeros /dev/mapper/d1 0 4M
tap_check "the rest is unchanged" [ "$(dev_sha256 /dev/mapper/d1 4M 4M)" = "$upper" ]
tap_check "pool frees exactly the discarded blocks" wait_for "1024 used" 10 used_is dp 1024

dmsetup suspend d1
pool_msg dp create_snap 2 1 || tap_diag "create_snap failed"
dmsetup resume d1
blkdiscard -o 4M -l 4M /dev/mapper/d1 || tap_diag "second discard failed"
sleep 2
tap_check "blocks a snapshot shares stay allocated" used_is dp 1024
make_vdisk d2 dp 2 16M || tap_diag "snapshot activation failed"
tap_check "the snapshot keeps the discarded data" \
	[ "$(dev_sha256 /dev/mapper/d2 4M 4M)" = "$upper" ]
dm_remove d2
pool_msg dp delete 2 || tap_diag "delete failed"
tap_check "deleting the snapshot frees them" wait_for "0 used" 20 used_is dp 0
tap_check "freed blocks were discarded on the data device (after the commit)" \
	wait_for "data device zeroed" 10 zeros "$D" 0 32M

make_pool dq "$M2" "$D2" 8 0 no_discard_passdown || tap_diag "pool 2 failed"
pool_msg dq create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk q1 dq 1 16M || tap_diag "vdisk failed"
dd if=/dev/urandom of=/dev/mapper/q1 bs=1M count=4 oflag=direct status=none
blkdiscard /dev/mapper/q1 || tap_diag "discard on pool 2 failed"
tap_check "no_discard_passdown: blocks are freed" wait_for "0 used" 10 used_is dq 0
tap_check "no_discard_passdown: the data device keeps its contents" \
	sh -c "! { $(command -v cmp) -s -n 4194304 $D2 /dev/zero; }"

dm_remove q1
dm_remove dq
make_pool dq "$M2" "$D2" 8 0 ignore_discard || tap_diag "pool 3 failed"
make_vdisk q1 dq 1 16M || tap_diag "vdisk failed"
tap_check "ignore_discard: discards are not offered" sh -c "! blkdiscard /dev/mapper/q1 2>/dev/null"

pool_msg dp create_vdisk 3 || tap_diag "create_vdisk 3 failed"
make_vdisk d3 dp 3 64M || tap_diag "vdisk 3 failed"
dd if=/dev/urandom of=/dev/mapper/d3 bs=1M count=16 oflag=direct status=none
fio_verify /dev/mapper/d1 8M --rw=randwrite --bs=4k --ioengine=libaio --iodepth=8 \
	> "$T/fio.out" 2>&1 &
fio_pid=$!
blkdiscard /dev/mapper/d3
discard_rc=$?
wait $fio_pid
fio_rc=$?
tap_check "a large discard completes while fio runs on another vdisk" \
	sh -c "[ $discard_rc = 0 ] && [ $fio_rc = 0 ] || { cat $T/fio.out; false; }"

# Discard passdown is asynchronous: with the discards to the freed blocks
# held 8 s by dm-delay (writes to the other half of the data device, and
# flushes, are not delayed), writes and a flush on another vdisk complete
# while the passdown is provably still in flight (the freed blocks still
# hold their old contents on the data device), and it completes later.
ZERO16M=$(dd if=/dev/zero bs=1M count=16 status=none | sha256sum | cut -d' ' -f1)
raw16m_zero() {
	[ "$(dev_sha256 "$D3" 0 16M)" = "$ZERO16M" ]
}
if modprobe dm-delay 2>/dev/null; then
	M3=$(loop_create "$T/dm-meta3" 16M) D3=$(loop_create "$T/dm-data3" 32M)
	dm_create dd3 "0 65536 linear $D3 0" || tap_diag "dd3 failed"
	make_pool da "$M3" /dev/mapper/dd3 128 0 || tap_diag "pool da failed"
	pool_msg da create_vdisk 1 && pool_msg da create_vdisk 2 || tap_diag "create failed"
	make_vdisk a1 da 1 1G && make_vdisk a2 da 2 1G || tap_diag "vdisks failed"
	# The pool is empty: a1's 16 MiB take the data device's first half.
	dd if=/dev/urandom of=/dev/mapper/a1 bs=1M count=16 oflag=direct status=none
	flush_dev /dev/mapper/a1
	printf '0 32768 delay %s 0 0 %s 0 8000 %s 0 0\n32768 32768 linear %s 32768\n' \
		"$D3" "$D3" "$D3" "$D3" | dmsetup reload dd3 && dmsetup resume dd3 ||
		tap_diag "dm-delay on dd3 failed"
	blkdiscard /dev/mapper/a1 || tap_diag "discard of a1 failed"
	flush_dev /dev/mapper/a1	# commits: the passdown starts
	dd if=/dev/urandom of="$T/a2" bs=1M count=4 status=none
	dd if="$T/a2" of=/dev/mapper/a2 bs=1M oflag=direct status=none &&
		flush_dev /dev/mapper/a2
	a2_rc=$?
	tap_check "writes and a flush on another vdisk complete during a passdown" \
		sh -c "[ $a2_rc = 0 ] && ! { $(command -v dd) if=$D3 bs=1M count=16 iflag=direct status=none | $(command -v cmp) -s - /dev/zero; }"
	tap_check "they read back" \
		[ "$(dev_sha256 /dev/mapper/a2 0 4M)" = "$(sha256sum < "$T/a2" | cut -d' ' -f1)" ]
	tap_check "the passdown completes later (the freed blocks read zeros)" \
		wait_for "passdown" 40 raw16m_zero
	dm_remove a1; dm_remove a2; dm_remove da; dm_remove dd3
else
	tap_skip "writes and a flush on another vdisk complete during a passdown" "no dm-delay"
	tap_skip "they read back" "no dm-delay"
	tap_skip "the passdown completes later (the freed blocks read zeros)" "no dm-delay"
fi

tap_kernel_log_clean
tap_done
