#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# needs_check persists (issue 18, P5).  The metadata device (a dm-linear)
# starts failing writes outside its superblock slots while the pool has
# uncommitted changes: the commit fails, the pool goes ro and records
# needs_check on disk (pool status: needs_check).  After the pool is
# removed and created again on the working device it comes up ro with the
# reason needs_check and writes fail; `vdisk-check
# --clear-needs-check-flag` on the inactive device clears the flag; then
# the pool loads rw, the data committed before the error checks by content
# (fio verify) and new writes work.
#
# On the unfixed code the flag is set in memory only: the re-created pool
# comes up rw and takes writes (checks 7 to 9), and vdisk-check has no
# --clear-needs-check-flag (10).
#
# vdisk-timeout: 90
# vdisk-cost: 7 43
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 16

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 32M || tap_diag "brd_setup failed"
S=$(dev_sectors /dev/ram0)
D=/dev/ram1
# The metadata device em: all of ram0, or (failing) the two superblock
# slots (metadata blocks 0 and 1, 8 KiB) on ram0 and an error target
# after them.  Its flushes reach ram0 (the error target takes none): only
# the superblock can be written.
dm_create em "0 $S linear /dev/ram0 0" || tap_diag "em failed"
em_good() {
	dmsetup reload em --table "0 $S linear /dev/ram0 0" && dmsetup resume em
}
em_failing() {
	printf '0 16 linear /dev/ram0 0\n16 %s error\n' $((S - 16)) | dmsetup reload em &&
		dmsetup resume em
}
activate() {
	make_pool np /dev/mapper/em "$D" 128 0 && make_vdisk n1 np 1 32M
}
deactivate() {
	dm_remove n1
	dm_remove np
}
region() {	# write|verify N: vdisk 1, 4M from N * 4M (fio seed N + 1)
	if [ "$1" = write ]; then
		fio_verify /dev/mapper/n1 4M --bs=64k --offset=$(($2 * 4))M --randseed=$(($2 + 1))
	else
		fio_verify_only /dev/mapper/n1 4M --bs=64k --offset=$(($2 * 4))M --randseed=$(($2 + 1))
	fi
}
fails() {	# CMD...: CMD fails
	! "$@" 2>/dev/null
}
write_new_block() {	# 64 KiB INDEX of vdisk 1, never written before
	dd if=/dev/urandom of=/dev/mapper/n1 bs=64k count=1 seek="$1" oflag=direct status=none
}
mode_reason_is() {	# MODE REASON
	[ "$(pool_field np mode) $(pool_field np reason)" = "$1 $2" ] ||
		{ dmsetup status np; return 1; }
}
needs_check_is() {	# needs_check|-
	[ "$(pool_field np needs_check)" = "$1" ] || { dmsetup status np; return 1; }
}
rw_clean() {
	mode_in np rw && needs_check_is -
}

zero_dev /dev/ram0 1M
make_pool np /dev/mapper/em "$D" 128 0 || tap_diag "pool failed"
pool_msg np create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk n1 np 1 32M || tap_diag "vdisk failed"
tap_check "vdisk 1: fio writes and verifies 4M (committed by a flush)" region write 0
flush_dev /dev/mapper/n1
tap_check "a new pool is rw, needs_check not set" rw_clean

# Uncommitted changes (new blocks), then the metadata device fails
# writes, more new blocks, and the flush commits.
write_new_block 128 || tap_diag "write at 8M failed"
dmesg_mark
em_failing || tap_diag "em_failing failed"
write_new_block 129 2>/dev/null
tap_check "the flush fails (the commit cannot write the metadata)" fails flush_dev /dev/mapper/n1
tap_check "the pool is ro" mode_in np ro
tap_check "the pool status says needs_check" needs_check_is needs_check
deactivate
em_good || tap_diag "em_good failed"

dmesg_mark
tap_check "the pool is created again on the working device" activate
tap_check "it comes up ro, reason needs_check" mode_reason_is ro needs_check
tap_check "its status says needs_check" needs_check_is needs_check
tap_check "a write fails" fails write_new_block 200
deactivate

tap_check "vdisk-check --clear-needs-check-flag on the inactive device" \
	vdisk-check --clear-needs-check-flag /dev/mapper/em
tap_check "the pool loads again" activate
tap_check "it is rw, needs_check not set" rw_clean
tap_check "the data committed before the error is intact (fio verify)" region verify 0
tap_check "writes work (fio writes and verifies 4M)" region write 2
deactivate
tap_check "vdisk-check clean after deactivation" vdisk_check /dev/mapper/em
tap_kernel_log_clean
tap_done
