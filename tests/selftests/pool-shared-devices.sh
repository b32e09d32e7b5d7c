#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A second pool on a device a live pool already uses is refused at
# `dmsetup create` (issue 18, P1), with "already used by pool" in the
# kernel log: on the live pool's metadata device, on its data device, with
# its data device as metadata and with its metadata device as data.  The
# live pool and its vdisks are untouched: the data of vdisk 1 (written
# before and after the attempts) and vdisk 2 (created after the first one)
# check by content, live and after re-creating the pool, and vdisk-check
# is clean.
#
# On the unfixed code every such pool is accepted (except the one whose
# metadata device is the live pool's data device, refused only as foreign
# metadata), and the test then uses it the way any pool would be used:
# both pools commit into the same superblock slots (the other pool's last
# commit wins: vdisk 2 and the later data of vdisk 1 vanish), and the other
# pool's writes land on the live pool's data and metadata blocks: every
# check but 1, 2, 8, 12 and 18 fails.
#
# vdisk-timeout: 90
# vdisk-cost: 13 65
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 18

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 4 32M || tap_diag "brd_setup failed"
# The live pool: metadata M, data D.  S1 and S2 are spare devices for
# the other pool (S2 zeroed before use as metadata, so that it formats).
M=/dev/ram0 D=/dev/ram1 S1=/dev/ram2 S2=/dev/ram3

grep_since_mark() {	# ERE: in the kernel log since the mark
	dmesg_since_mark | grep -qE "$1" || { dmesg_since_mark | tail -10; return 1; }
}
region1() {	# verify-only|write: vdisk 1, 8M from 0
	if [ "$1" = write ]; then
		fio_verify /dev/mapper/a1 8M --bs=64k
	else
		fio_verify_only /dev/mapper/a1 8M --bs=64k
	fi
}
region2() {	# verify-only|write: vdisk 1, 4M from 8M
	if [ "$1" = write ]; then
		fio_verify /dev/mapper/a1 4M --bs=64k --offset=8M --randseed=2
	else
		fio_verify_only /dev/mapper/a1 4M --bs=64k --offset=8M --randseed=2
	fi
}
both_regions() {
	region1 verify && region2 verify
}
# try_other DESC META DATA: a pool "ob" on META and DATA must be refused
# with a clear kernel log line (two results).  Leaves ob live if the
# create was accepted (the caller then uses it, as a user would).
try_other() {
	dmesg_mark
	if dmsetup create ob --table "0 $(dev_sectors "$3") vdisk-pool $2 $3 128 0" 2>/dev/null; then
		at_exit dm_remove ob
		dm_wait_node ob
		tap_fail "$1: dmsetup create is refused"
		tap_diag "accepted: $(dmsetup status ob)"
	else
		tap_ok "$1: dmsetup create is refused"
	fi
	tap_check "$1: the kernel log says \"already used by pool\"" \
		grep_since_mark "already used by pool"
}
# other_writes MIB: on an accepted pool ob, create vdisk 1 and write MIB
# MiB of random data to it (with a flush), then remove ob.
other_writes() {
	pool_msg ob create_vdisk 1 && make_vdisk ob1 ob 1 16M &&
		dd if=/dev/urandom of=/dev/mapper/ob1 bs=64k count=$(($1 * 16)) \
			oflag=direct status=none && flush_dev /dev/mapper/ob1
	dm_remove ob1
	dm_remove ob
}

tap_check "the live pool pa loads" make_pool pa $M $D 128 0
pool_msg pa create_vdisk 1 || tap_diag "create_vdisk 1 failed"
make_vdisk a1 pa 1 32M || tap_diag "vdisk a1 failed"
tap_check "vdisk 1: fio writes and verifies 8M" region1 write
flush_dev /dev/mapper/a1

# ---- on pa's metadata device ----
try_other "a pool on pa's metadata device" $M $S1
# pa goes on: a committed vdisk 2 and more data on vdisk 1.
pool_msg pa create_vdisk 2 || tap_diag "pa: create_vdisk 2 failed"
region2 write || tap_diag "pa: fio at 8M on vdisk 1 failed"
flush_dev /dev/mapper/a1
if dm_exists ob; then
	# Each message commits: ob's commit numbers pass pa's.
	id=7
	while [ $id -lt 27 ]; do
		pool_msg ob create_vdisk $id || tap_diag "ob: create_vdisk $id failed"
		id=$((id + 1))
	done
	dm_remove ob
fi
# What pa committed since is on its metadata device (and nothing else).
dm_remove a1
dm_remove pa
make_pool pa $M $D 128 0 || tap_diag "re-creating pa failed"
make_vdisk a1 pa 1 32M || tap_diag "vdisk a1 reactivation failed"
vdisk2_and_region2() {
	make_vdisk a2 pa 2 16M && region2 verify
}
tap_check "re-created pa: vdisk 2 and vdisk 1's data at 8M (written since) are there" \
	vdisk2_and_region2
dm_remove a2

# ---- on pa's data device ----
zero_dev $S2 1M
try_other "a pool on pa's data device" $S2 $D
dm_exists ob && other_writes 4

# ---- pa's data device as metadata ----
try_other "a pool with pa's data device as its metadata device" $D $S1
dm_exists ob && dm_remove ob

# ---- pa's metadata device as data ----
zero_dev $S2 1M
try_other "a pool with pa's metadata device as its data device" $S2 $M
dm_exists ob && other_writes 1

# ---- the live pool is untouched ----
tap_check "pa is still rw" mode_in pa rw
tap_check "vdisk 1 reads back both regions (fio verify)" both_regions
dm_remove a1
dm_remove pa
tap_check "vdisk-check clean on pa's metadata after deactivation" vdisk_check $M
make_pool pa $M $D 128 0 || tap_diag "re-creating pa failed"
make_vdisk a1 pa 1 32M || tap_diag "vdisk a1 reactivation failed"
tap_check "re-created pa: vdisk 1 reads back both regions (fio verify)" both_regions
tap_check "re-created pa: vdisk 2 is there" make_vdisk a2 pa 2 16M
dm_remove a2
dm_remove a1
dm_remove pa
tap_check "vdisk-check clean at the end" vdisk_check $M
tap_kernel_log_clean
tap_done
