#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A live pool keeps its devices and features across reloads that must not
# take effect (issue 18, P2 and P3):
#   - a reload naming another data device is refused at `dmsetup reload`
#     ("cannot change the data device"); the vdisk keeps reading and
#     writing the original device (checked by content after re-creating the
#     pool on it, and the other device is never written);
#   - a resume refused because the data device (a dm-linear) shrank changes
#     nothing: the pool keeps its size and its old features.  The refused
#     table adds error_if_no_space to the pool's queue mode
#     (no_space_timeout 0); after the refused resume (the pool device stays
#     suspended with that table, as dm does; its vdisks keep working) a
#     write beyond the free space must wait (reason queueing_writes), and
#     complete, with its data, once the old table is reloaded on a grown
#     device; status then shows the old features.
#
# On the unfixed code the reload with another data device is accepted and,
# once resumed, the vdisk reads and writes that device; the refused resume
# has already applied the new table's features (the write fails at once
# with ENOSPC): checks 1 to 6, 10 and 13 fail.
#
# vdisk-timeout: 150
# vdisk-cost: 17 41
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 16

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/pr-meta" 16M)
DL=$(loop_create "$T/pr-data" 32M)	# 512 blocks of 64 KiB
D2=$(loop_create "$T/pr-other" 32M)
linear() {	# SIZE: the data dm-linear rdd over DL, SIZE long
	dmsetup reload rdd --table "0 $(to_sectors "$1") linear $DL 0" && dmsetup resume rdd
}
dm_create rdd "0 $(dev_sectors "$DL") linear $DL 0" || tap_diag "rdd failed"
RDD=$(dmsetup info -c --noheadings -o major,minor --separator : rdd)
OLD_FEAT="2 no_space_timeout 0"

grep_since_mark() {	# ERE...: each is in the kernel log since the mark
	for _e in "$@"; do
		dmesg_since_mark | grep -qE "$_e" || { dmesg_since_mark | tail -20; return 1; }
	done
}
table_data_dev_is() {	# MAJ:MIN
	[ "$(dmsetup table rp | awk '{ print $5 }')" = "$1" ] || { dmsetup table rp; return 1; }
}
zeros() {	# DEV MIB
	[ "$(dev_sha256 "$1")" = "$(dd if=/dev/zero bs=1M count="$2" status=none | sha256sum | cut -d' ' -f1)" ]
}
activate() {
	make_pool rp "$M" /dev/mapper/rdd 128 0 no_space_timeout 0 && make_vdisk r1 rp 1 64M
}
regions_intact() {
	fio_verify_only /dev/mapper/r1 8M --rw=write --bs=64k &&
		fio_verify_only /dev/mapper/r1 8M --rw=write --bs=64k --offset=8M --randseed=2
}

make_pool rp "$M" /dev/mapper/rdd 128 0 no_space_timeout 0 || tap_diag "pool failed"
pool_msg rp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk r1 rp 1 64M || tap_diag "vdisk failed"
fio_verify /dev/mapper/r1 8M --rw=write --bs=64k > /dev/null || tap_diag "fio on r1 failed"
flush_dev /dev/mapper/r1

# ---- P2: another data device ----
dmesg_mark
tap_check "a reload naming another data device is refused" \
	sh -c "! dmsetup reload rp --table '0 $(dev_sectors "$D2") vdisk-pool $M $D2 128 0 $OLD_FEAT' 2>/dev/null"
tap_check "the kernel log says \"cannot change the data device\"" \
	grep_since_mark "cannot change the data device"
# A no-op after a refused reload; where the reload was accepted (the
# unfixed code) this makes the other device live.
dmsetup resume rp || tap_diag "resume of rp failed"
tap_check "the live pool table still names the original data device" table_data_dev_is "$RDD"
tap_check "the vdisk's data is intact (fio verify)" \
	fio_verify_only /dev/mapper/r1 8M --rw=write --bs=64k
fio_verify /dev/mapper/r1 8M --rw=write --bs=64k --offset=8M --randseed=2 > /dev/null ||
	tap_diag "fio on r1 at 8M failed"
flush_dev /dev/mapper/r1
tap_check "the other device was never written (reads zeros)" zeros "$D2" 32
dm_remove r1
dm_remove rp
activate || tap_diag "re-creating the pool failed"
tap_check "re-created on the original devices, both writes verify" regions_intact
# Written again, so that the P3 checks do not depend on the P2 outcome.
fio_verify /dev/mapper/r1 8M --rw=write --bs=64k --offset=8M --randseed=2 > /dev/null ||
	tap_diag "fio on r1 at 8M failed"
flush_dev /dev/mapper/r1

# ---- P3: a refused resume (the data device shrank) ----
linear 24M || tap_diag "shrinking rdd failed"
dmesg_mark
dmsetup reload rp --table \
	"0 $(to_sectors 24M) vdisk-pool $M /dev/mapper/rdd 128 0 3 error_if_no_space no_space_timeout 0" ||
	tap_diag "reload with the shrunk data device failed"
tap_check "resuming with the shrunk data device is refused" \
	sh -c "! dmsetup resume rp 2>/dev/null"
tap_check "the kernel log says it shrank and was refused" grep_since_mark "shrank" "refused"
data_total_is() {
	[ "$(pool_field rp data_total)" = "$1" ] || { dmsetup status rp; return 1; }
}
tap_check "the pool keeps its size (512 data blocks)" data_total_is 512
linear 32M || tap_diag "restoring rdd failed"
tap_diag "after the refused resume: $(dmsetup status rp)"

# 256 blocks are free: a 17M write fills them and its last 1M must wait.
dd if=/dev/urandom of="$T/src" bs=1M count=17 status=none
src_sum=$(sha256sum < "$T/src" | cut -d' ' -f1)
rm -f "$T/w.rc"
( dd if="$T/src" of=/dev/mapper/r1 bs=64k seek=256 oflag=direct status=none 2> "$T/w.err"
  echo $? > "$T/w.rc" ) &
oos() {
	[ "$(pool_field rp mode)" = out_of_data_space ]
}
wait_for "out_of_data_space" 30 oos || tap_diag "the pool did not run out of space"
queueing() {
	[ "$(pool_field rp reason)" = queueing_writes ] || { dmsetup status rp; cat "$T/w.err"; return 1; }
}
tap_check "the old features apply: the write waits (queueing_writes)" queueing
grow_back() {
	truncate -s 48M "$T/pr-data" && losetup -c "$DL" && linear 48M &&
		dmsetup reload rp --table \
			"0 $(to_sectors 48M) vdisk-pool $M /dev/mapper/rdd 128 0 $OLD_FEAT" &&
		dmsetup resume rp
}
tap_check "the old table, on the grown data device, resumes" grow_back
features_are() {
	[ "$(dmsetup status rp | awk '{ print $9, $10, $11 }')" = "$1" ] || { dmsetup status rp; return 1; }
}
tap_check "status shows the old features" features_are "$OLD_FEAT"
write_done() {
	[ -s "$T/w.rc" ]
}
completed() {
	wait_for "the write ends" 30 write_done || return 1
	[ "$(cat "$T/w.rc")" = 0 ] || { echo "exit $(cat "$T/w.rc"): $(cat "$T/w.err")"; return 1; }
	[ "$(dev_sha256 /dev/mapper/r1 16M 17M)" = "$src_sum" ]
}
tap_check "the waiting write completes with its data (sha256)" completed
tap_check "the earlier writes are intact (fio verify)" regions_intact

wait
dm_remove r1
dm_remove rp
tap_check "vdisk-check clean after deactivation" vdisk_check "$M"
tap_kernel_log_clean
tap_done
