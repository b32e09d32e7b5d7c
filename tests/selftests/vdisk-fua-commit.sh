#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A WRITE_ZEROES or DISCARD bio with REQ_FUA completes only after a metadata
# commit covers it.  User space cannot issue those bios, so the test-only
# module tests/kmod/dm-vdisk-biotest.ko sends one and reports whether the
# pool's superblock changed while it was in flight (commit_seen=1); then the
# data (zeros in the range, neighbours kept, a snapshot's blocks kept) and
# the pool's used-block count are checked.
#
# Residual race: the pool also commits on its own about once a second while
# dirty, and that commit could land in the microseconds between the bio's
# completion and the module's re-read.  So each bio is sent right after a
# commit (prime: allocate one block, flush): the next periodic commit is
# then about a second away, and only the FUA commit can touch the
# superblock in time.  A bio sent more than a second after prime (a very
# slow modprobe) could still be covered by a periodic commit.  Checked by
# disabling the FUA commit in complete_write(): every fua case then said
# commit_seen=0.
#
# vdisk-timeout: 180
# vdisk-cost: 7 29
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 13

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/fc-meta" 16M) D=$(loop_create "$T/fc-data" 32M)

used() {
	flush_dev /dev/mapper/o1	# the counts as of a commit: the pool is clean
	pool_field fp data_used
}
# biotest OP SECTOR NR_SECTORS: one FUA bio to o1 through the test module;
# prints the module's report line, fails unless it says status=0 and
# commit_seen=1
biotest() {
	dmesg_mark
	modprobe dm-vdisk-biotest dev=/dev/mapper/o1 meta="$M" op="$1" \
		sector="$2" nr_sectors="$3" fua=1 || { echo "modprobe failed"; return 1; }
	modprobe -r dm-vdisk-biotest
	line=$(dmesg_since_mark | grep 'dm_vdisk_biotest: op=')
	echo "$line"
	case $line in
	*" op=$1 fua=1 status=0 commit_seen=1 "*) return 0 ;;
	*) return 1 ;;
	esac
}
logged() {	# PATTERN: the kernel logged it since the last dmesg_mark
	dmesg_since_mark | grep "$1"
}
same_sum() {	# DEV SHA256
	[ "$(dev_sha256 "$1")" = "$2" ] || { echo "$1 changed"; return 1; }
}
# prime BLOCK: write one new block (allocated: the pool is dirty), keep it
# in the expected image, and flush: a commit has just been made, so no
# periodic commit comes within the next second
prime() {
	dd if=/dev/urandom of="$T/blk" bs=4096 count=1 status=none
	dd if="$T/blk" of=/dev/mapper/o1 bs=4096 seek="$1" oflag=direct status=none
	dd if="$T/blk" of="$T/o1.img" bs=4096 seek="$1" conv=notrunc status=none
	flush_dev /dev/mapper/o1
}
# less_by BEFORE AFTER N: AFTER = BEFORE - N
less_by() {
	[ "$2" = $(($1 - $3)) ] || { echo "used $1 -> $2, want -$3"; return 1; }
}

make_pool fp "$M" "$D" 8 0 || tap_diag "pool failed"
pool_msg fp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk o1 fp 1 16M || tap_diag "vdisk failed"

# 4 MiB of data (blocks 0-1023), a snapshot, then blocks 256-767 rewritten
# so that the origin owns them alone; 768-1023 stay shared.
dd if=/dev/urandom of=/dev/mapper/o1 bs=1M count=4 oflag=direct status=none
dmsetup suspend o1
pool_msg fp create_snap 2 1 || tap_diag "create_snap failed"
dmsetup resume o1
dd if=/dev/urandom of=/dev/mapper/o1 bs=1M seek=1 count=2 oflag=direct status=none
make_vdisk s2 fp 2 16M || tap_diag "snapshot activation failed"
dd if=/dev/mapper/o1 of="$T/o1.img" bs=1M status=none
snap_sum=$(dev_sha256 /dev/mapper/s2)
u0=$(used)
u1=$(used)
tap_check "the pool is clean: 1536 blocks used, stable" \
	sh -c "[ $u0 = 1536 ] && [ $u1 = 1536 ] || { echo 'used $u0, $u1'; false; }"

# A bad parameter is refused with a message and sends nothing.
dmesg_mark
if modprobe dm-vdisk-biotest dev=/dev/mapper/o1 meta="$M" op=trim 2>/dev/null; then
	modprobe -r dm-vdisk-biotest
	tap_fail "an unknown op is refused"
else
	tap_check "an unknown op is refused with a message" \
		logged "unknown op 'trim'"
fi

# WRITE_ZEROES|FUA from 1M + 1536 (inside block 256) to 2M + 2560 (inside
# block 512): edges zeroed in place, whole blocks 257-511 (255) freed.
prime 2048
before=$(pool_field fp data_used)	# prime committed: the pool is clean
tap_check "write_zeroes|FUA completes after a commit" biotest write_zeroes 2051 2050
zero_range "$T/o1.img" $((2051 * 512)) $((2050 * 512))
tap_check "its range reads zeros, the edges and the rest keep their data" \
	same_as /dev/mapper/o1 "$T/o1.img"
after=$(used)
tap_check "used blocks drop by its 255 whole blocks" less_by "$before" "$after" 255

# DISCARD|FUA from sector 4803 (inside block 600) for 800 sectors (to inside
# block 700): whole blocks 601-699 (99) unmapped and freed, the partial
# edge blocks ignored.
prime 2049
before=$(pool_field fp data_used)
tap_check "discard|FUA completes after a commit" biotest discard 4803 800
zero_range "$T/o1.img" $((601 * 4096)) $((99 * 4096))
tap_check "its whole blocks read zeros, the edges and the rest are kept" \
	same_as /dev/mapper/o1 "$T/o1.img"
after=$(used)
tap_check "used blocks drop by its 99 whole blocks" less_by "$before" "$after" 99

# WRITE_ZEROES|FUA over blocks 800-809, shared with the snapshot: the origin
# drops its references, the snapshot keeps the blocks, nothing is freed.
prime 2050
before=$(pool_field fp data_used)
tap_check "write_zeroes|FUA over shared blocks completes after a commit" \
	biotest write_zeroes 6400 80
zero_range "$T/o1.img" $((800 * 4096)) $((10 * 4096))
tap_check "the shared range reads zeros on the origin, the rest is kept" \
	same_as /dev/mapper/o1 "$T/o1.img"
after=$(used)
tap_check "no block is freed or copied" less_by "$before" "$after" 0
tap_check "the snapshot keeps all its data" same_sum /dev/mapper/s2 "$snap_sum"

tap_kernel_log_clean
tap_done
