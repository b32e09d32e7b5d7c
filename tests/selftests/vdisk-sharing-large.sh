#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Exclusive/shared counts of a vdisk too large to count inside a status call
# (more than 65536 mapped blocks): the census runs in the background, in
# steps, and the status shows "-" until it is done, then exact numbers.  New
# blocks written while it runs are counted exactly; every numeric status
# line adds up to the mapped count.  Sizes: 4 KiB blocks, 288 MiB written
# (73728 blocks), a snapshot, 8 MiB overwritten, 32 MiB of new blocks.
#
# vdisk-timeout: 300
# vdisk-cost: 21 178
# vdisk-smp: 2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 11

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 360M || tap_diag "brd_setup failed"

wait_counts() {	# DESC VDISK MAPPED EXCLUSIVE SHARED
	_d=$1
	shift
	wait_for "$_d" 60 counts_are "$@" || { dmsetup status "$1"; return 1; }
}
# Every status line with numbers has exclusive + shared = mapped.
sums_hold() {	# VDISK
	dmsetup status "$1" | awk '$5 != "-" && $5 + $6 != $4 { print; bad = 1 }
				  END { exit bad }'
}
write_mib() {	# VDISK OFFSET_MIB COUNT_MIB [FIO OPTIONS]
	_v=$1 _o=$2 _n=$3
	shift 3
	fio --name=w --filename=/dev/mapper/"$_v" --rw=write --bs=1M --direct=1 \
		--ioengine=psync --offset="$_o"M --size="$_n"M --refill_buffers --eta=never \
		--output=/dev/null "$@"
}
used_is() {
	[ "$(pool_field lp data_used)" = "$1" ]
}

make_pool lp /dev/ram0 /dev/ram1 8 0 || tap_diag "pool failed"
pool_msg lp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk o1 lp 1 512M || tap_diag "vdisk failed"
write_mib o1 0 288 || tap_diag "writing 288 MiB failed"
tap_check "73728 blocks written: all exclusive, counted in the background" \
	wait_counts "origin census" o1 73728 73728 0

dmsetup suspend o1
pool_msg lp create_snap 2 1 || tap_diag "create_snap failed"
dmsetup resume o1
make_vdisk s2 lp 2 512M || tap_diag "snapshot activation failed"
tap_check "after the snapshot: origin all shared" wait_counts "origin" o1 73728 0 73728
write_mib o1 0 8 || tap_diag "overwrite failed"
tap_check "after overwriting 2048 blocks: origin 2048 exclusive" \
	wait_counts "origin" o1 73728 2048 71680
tap_check "after overwriting 2048 blocks: snapshot 2048 exclusive" \
	wait_counts "snapshot" s2 73728 2048 71680

# Copy-on-write again (the cached census is out of date), then new blocks
# while the status is read over and over: the census must finish while
# the writes go on, and no status line may be inconsistent.
write_mib o1 8 4 || tap_diag "second overwrite failed"
write_mib o1 300 32 --bs=64k --rate=8m &	# about 4 s
writer=$!
bad=0 numeric=0
while kill -0 "$writer" 2>/dev/null; do
	sums_hold o1 || bad=$((bad + 1))
	[ "$(vdisk_field o1 exclusive)" = - ] || numeric=$((numeric + 1))
	sleep 0.1
done
wait "$writer" || tap_diag "writing new blocks failed"
tap_check "every status line during the writes adds up" [ "$bad" = 0 ]
tap_check "counts were shown while new blocks were written ($numeric times)" \
	[ "$numeric" -gt 0 ]
tap_check "after 8192 new blocks: origin 2048 + 1024 + 8192 exclusive" \
	wait_counts "origin" o1 81920 11264 70656
tap_check "the snapshot is unchanged by the new blocks" \
	wait_counts "snapshot" s2 73728 3072 70656

dm_remove s2
pool_msg lp delete 2 || tap_diag "delete failed"
tap_check "the snapshot's 3072 exclusive blocks are reclaimed" \
	wait_for "81920 used" 60 used_is 81920
tap_check "after deleting the snapshot: origin all exclusive" \
	wait_counts "origin" o1 81920 81920 0
dm_remove o1
dm_remove lp

tap_kernel_log_clean
tap_done
