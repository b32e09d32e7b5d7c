#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The pool object holds its metadata and data devices for its whole life
# (issue 18, P4).  The table of a pool whose vdisk is open is replaced by
# an error table (`dmsetup load POOL --table "0 N error"; dmsetup resume
# POOL`, what `dmsetup remove --force` does to a busy device): the vdisk
# keeps reading and writing its data (fio verify) and flushes commit; the
# dm-linear devices under the pool cannot be removed while the pool object
# lives; a vdisk-pool table loaded back into the pool device resumes, and
# after re-creating the pool everything written checks by content and
# vdisk-check is clean.
#
# On the unfixed code the replaced table's devices are released with it
# and the pool goes on using them: the dm-linear devices can be removed
# (checks 7 and 8), the pool table cannot be loaded back (9 to 11), and
# the next write to a new block oopses in the pool's worker (BUG: kernel
# NULL pointer dereference, in bio_associate_blkg_from_css from remap),
# which fails the whole VM run (the test is killed at its time limit).
#
# vdisk-timeout: 90
# vdisk-cost: 10 40
# vdisk-disks: 64M 64M
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 16

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
VM0=$(vm_disk 0) VM1=$(vm_disk 1)
# The shared VM disks may hold an earlier test's data: zero the metadata
# superblock slots so that the pool formats.
zero_dev "$VM0" 1M || tap_diag "zeroing $VM0 failed"
dm_create tm "0 $(to_sectors 16M) linear $VM0 0" || tap_diag "tm failed"
dm_create td "0 $(to_sectors 32M) linear $VM1 0" || tap_diag "td failed"
N=$(dev_sectors /dev/mapper/td)
POOL_TABLE="0 $N vdisk-pool /dev/mapper/tm /dev/mapper/td 128 0"

region() {	# write|verify N: vdisk 1, 4M from N * 4M (fio seed N + 1)
	if [ "$1" = write ]; then
		fio_verify /dev/mapper/t1 4M --bs=64k --offset=$(($2 * 4))M --randseed=$(($2 + 1))
	else
		fio_verify_only /dev/mapper/t1 4M --bs=64k --offset=$(($2 * 4))M --randseed=$(($2 + 1))
	fi
}
regions() {	# N...: each region verifies
	for _r in "$@"; do
		region verify "$_r" || return 1
	done
}
error_table() {
	dmsetup load tp --table "0 $N error" && dmsetup resume tp
}
pool_table() {
	dmsetup load tp --table "$POOL_TABLE" && dmsetup resume tp
}
not_removable() {	# DM NAME: dmsetup remove fails (it stays)
	if dmsetup remove "$1" 2>/dev/null; then
		echo "$1 was removed"
		return 1
	fi
	dm_exists "$1"
}
table_is_error() {
	dmsetup table tp | grep -q "^0 $N error" || { dmsetup table tp; return 1; }
}

dm_create tp "$POOL_TABLE" || tap_diag "pool failed"
pool_msg tp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk t1 tp 1 64M || tap_diag "vdisk failed"
tap_check "vdisk 1: fio writes and verifies 4M" region write 0
flush_dev /dev/mapper/t1
# Keep the vdisk open for the whole time the error table is live.
# shellcheck disable=SC2217
sleep 600 < /dev/mapper/t1 &
HOLDER=$!
at_exit kill $HOLDER

tap_check "the pool's table is replaced by an error table" error_table
tap_check "the pool device now has the error table" table_is_error
tap_check "vdisk 1 still reads its data (fio verify)" regions 0
tap_check "vdisk 1 takes writes to new blocks (fio writes and verifies 4M)" region write 1
tap_check "a flush of vdisk 1 succeeds" flush_dev /dev/mapper/t1
tap_check "the data dm-linear cannot be removed under the pool" not_removable td
tap_check "the metadata dm-linear cannot be removed under the pool" not_removable tm
tap_check "a vdisk-pool table loads back into the pool device and resumes" pool_table
tap_check "the pool is rw" mode_in tp rw
tap_check "the pool takes messages again (create_vdisk 2)" pool_msg tp create_vdisk 2
region write 2 > /dev/null || tap_diag "fio at 8M on vdisk 1 failed"
kill $HOLDER
wait $HOLDER 2>/dev/null
dm_remove t1
dm_remove tp
tap_check "vdisk-check clean after deactivation" vdisk_check /dev/mapper/tm
dm_create tp "$POOL_TABLE" || tap_diag "re-creating the pool failed"
make_vdisk t1 tp 1 64M || tap_diag "vdisk reactivation failed"
tap_check "re-created pool: every region of vdisk 1 verifies (fio)" regions 0 1 2
tap_check "re-created pool: vdisk 2 is there" make_vdisk t2 tp 2 16M
dm_remove t2
dm_remove t1
dm_remove tp
tap_check "vdisk-check clean at the end" vdisk_check /dev/mapper/tm
tap_kernel_log_clean
tap_done
