#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# WRITE_ZEROES (blkdiscard -z): the range reads as zeros, its unaligned
# edges and the neighbouring data are kept, a snapshot keeps its data, whole
# blocks the origin owned alone are freed (the pool's used count drops by
# exactly their number) and shared edge blocks are copied on write.
#
# vdisk-timeout: 180
# vdisk-cost: 8 14
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

command -v blkdiscard > /dev/null || tap_skip_all "blkdiscard not available"
tap_plan 11

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/wz-meta" 16M) D=$(loop_create "$T/wz-data" 32M)

used() {
	flush_dev /dev/mapper/o1	# the counts as of a commit
	pool_field wp data_used
}

make_pool wp "$M" "$D" 8 0 || tap_diag "pool failed"
pool_msg wp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk o1 wp 1 16M || tap_diag "vdisk failed"
wz_max=/sys/block/dm-$(dmsetup info -c --noheadings -o minor o1 | tr -d ' ')/queue/write_zeroes_max_bytes
tap_check "write-zeroes is offered" sh -c "cat $wz_max; [ \$(cat $wz_max) -gt 0 ]"

# 4 MiB of data (blocks 0-1023), a snapshot, then blocks 256-767 rewritten
# so that the origin owns them alone.
dd if=/dev/urandom of=/dev/mapper/o1 bs=1M count=4 oflag=direct status=none
dmsetup suspend o1
pool_msg wp create_snap 2 1 || tap_diag "create_snap failed"
dmsetup resume o1
dd if=/dev/urandom of=/dev/mapper/o1 bs=1M seek=1 count=2 oflag=direct status=none
make_vdisk s2 wp 2 16M || tap_diag "snapshot activation failed"
dd if=/dev/mapper/o1 of="$T/o1.img" bs=1M status=none
dd if=/dev/mapper/s2 of="$T/s2.img" bs=1M status=none
before=$(used)
tap_check "1536 blocks used before" [ "$before" = 1536 ]

# Exclusive range: from 1M + 1536 (inside block 256) to 2M + 2560 (inside
# block 512): edges zeroed in place, whole blocks 257-511 (255) freed.
off=$((1048576 + 1536)) len=$((1048576 + 1024))
tap_check "blkdiscard -z of an unaligned range" \
	blkdiscard -z -o $off -l $len /dev/mapper/o1
zero_range "$T/o1.img" $off $len
tap_check "the range reads zeros, the edges and the rest keep their data" \
	same_as /dev/mapper/o1 "$T/o1.img"
after=$(used)
tap_check "used blocks drop by the 255 whole exclusive blocks" \
	sh -c "[ $after = $((before - 255)) ] || { echo 'used $before -> $after'; false; }"

# Shared range: 3M + 512 to 3M + 3 blocks + 1024 (blocks 768-771): the two
# edge blocks are copied (+2), the two whole ones stay with the snapshot.
off=$((3145728 + 512)) len=$((3 * 4096 + 512))
tap_check "blkdiscard -z over blocks shared with the snapshot" \
	blkdiscard -z -o $off -l $len /dev/mapper/o1
zero_range "$T/o1.img" $off $len
tap_check "the shared range reads zeros on the origin, the rest is kept" \
	same_as /dev/mapper/o1 "$T/o1.img"
after2=$(used)
tap_check "the two shared edge blocks were copied, nothing freed" \
	sh -c "[ $after2 = $((after + 2)) ] || { echo 'used $after -> $after2'; false; }"
tap_check "the snapshot keeps all its data" same_as /dev/mapper/s2 "$T/s2.img"

# Unmapped range, and the end of the device, within one block each.
off=$((8 * 1048576 + 512)) len=1024
blkdiscard -z -o $off -l $len /dev/mapper/o1 || tap_diag "zeroing a hole failed"
blkdiscard -z -o $((16 * 1048576 - 2048)) -l 2048 /dev/mapper/o1 ||
	tap_diag "zeroing the last sectors failed"
tap_check "zeroing holes changes nothing" same_as /dev/mapper/o1 "$T/o1.img"

tap_kernel_log_clean
tap_done
