#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Metadata exhaustion never rolls back acknowledged writes (issue 18, M1/M2).
# Eight fio writers (random 4 KiB, crc32c verify, each its own region) fill
# a 1 MiB metadata device: the kernel log reports the metadata low water
# mark, then the pool goes out_of_metadata_space with its writes queued (not
# ro); meanwhile a flush succeeds, committed data reads back and a block the
# vdisk owns alone can be overwritten.  Growing the metadata device (reload,
# resume) lets the queued writes complete: fio finishes without an error
# and every write it got acknowledged verifies; the pool is rw, vdisk-check
# is clean and the pool activates again with all the data.  Second part,
# error_if_no_space: writes fail with ENOSPC instead of queueing (the pool
# stays out_of_metadata_space, not ro), every acknowledged write verifies,
# and growing the metadata device makes the pool rw again.
#
# vdisk-timeout: 3000
# vdisk-cost: 180 1473
# vdisk-smp: 2
# vdisk-disks: 64M 512M
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 27

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/mf-meta" 1M) || tap_diag "metadata loop device failed"
# The data device: 448 MiB of the second VM disk (4 KiB blocks), so that the
# metadata runs out long before the data does.
dm_create mfd "0 917504 linear $(vm_disk 1) 0" || tap_diag "data device failed"
D=/dev/mapper/mfd
FEAT="2 no_space_timeout 0"	# queued writes wait however long it takes

mode_reason() {	# POOL MODE REASON: fields 7 and 8 of the status
	[ "$(pool_field "$1" mode) $(pool_field "$1" reason)" = "$2 $3" ] ||
		{ dmsetup status "$1"; return 1; }
}
pool_table() {	# FEATURES
	echo "0 $(dev_sectors "$D") vdisk-pool $M $D 8 0 $1"
}
grow_meta() {	# POOL FILE SIZE FEATURES
	truncate -s "$3" "$2" && losetup -c "$M" &&
		dmsetup reload "$1" --table "$(pool_table "$4")" && dmsetup resume "$1"
}
# In the log since the mark: a line matching $1 before one matching $2.
logged_before() {
	dmesg_since_mark | awk -v a="$1" -v b="$2" '
		$0 ~ a && !na { na = NR } $0 ~ b && !nb { nb = NR }
		END { exit !(na && nb && na < nb) }' ||
		{ echo "no '$1' before '$2' in:"; dmesg_since_mark | grep -i vdisk | tail -20; return 1; }
}

# ---- part 1: queue mode ----
zero_dev "$M"
dm_create mf "$(pool_table "$FEAT")" || tap_diag "pool failed"
pool_msg mf create_vdisk 1 || tap_diag "create_vdisk failed"
# 1 MiB of committed data, then 8 fio regions of 24 MiB (49152 blocks; 1 MiB
# of metadata holds about 35000 mappings).
make_vdisk m1 mf 1 193M || tap_diag "vdisk failed"
V=/dev/mapper/m1
dd if=/dev/urandom of="$T/committed" bs=64k count=16 status=none
dd if="$T/committed" of=$V bs=64k oflag=direct status=none
flush_dev $V
sum=$(sha256sum < "$T/committed" | cut -d' ' -f1)
tap_diag "before: $(dmsetup status mf)"

# Each job its own region: job N writes [1M + N * 24M, 1M + (N + 1) * 24M).
# fio_verify writes, then reads back and checks every block it wrote.
JOBS="--ioengine=libaio --iodepth=4 --rw=randwrite --bs=16k --numjobs=8 --offset=1M
	--offset_increment=24M --randseed=18"
committed_ok() {
	[ "$(dev_sha256 $V 0 1M)" = "$sum" ] || { echo "the first 1M differs"; return 1; }
}
dmesg_mark
# shellcheck disable=SC2086
{ fio_verify $V 24M $JOBS > "$T/fio1.out" 2>&1; echo $? > "$T/fio1.rc"; } &

short_or_done() {
	[ -e "$T/fio1.rc" ] || mode_in mf out_of_metadata_space ro fail > /dev/null
}
wait_for "the metadata to run short" 400 short_or_done || tap_diag "fio never filled the metadata"
sleep 3		# let every writer reach a write that waits
tap_diag "short of metadata: $(dmesg_since_mark | grep -E 'vdisk: pool' | tail -5)"
tap_diag "pool: $(dmsetup status mf)"
tap_diag "vdisk: $(dmsetup status m1)"
tap_check "the pool is out_of_metadata_space queueing_writes (not ro)" \
	mode_reason mf out_of_metadata_space queueing_writes
tap_check "the kernel log: the metadata low water mark, then out_of_metadata_space" \
	logged_before "reached low water mark for metadata device" \
	"switching to out_of_metadata_space mode"
fio_waits() {
	[ ! -e "$T/fio1.rc" ] || { echo "fio ended (exit $(cat "$T/fio1.rc")):"; tail -40 "$T/fio1.out"; return 1; }
}
tap_check "fio's writes wait (none failed)" fio_waits
tap_check "a flush of the vdisk succeeds while writes are queued" flush_dev $V
tap_check "committed data reads back" committed_ok
overwrite() {	# a new 64 KiB at 128K: a block the vdisk owns alone
	dd if=/dev/urandom of="$T/chunk" bs=64k count=1 status=none &&
		dd if="$T/chunk" of=$V bs=64k seek=2 oflag=direct conv=notrunc status=none &&
		dd if="$T/chunk" of="$T/committed" bs=64k seek=2 conv=notrunc status=none
}
tap_check "an overwrite of blocks the vdisk owns alone completes" overwrite
sum=$(sha256sum < "$T/committed" | cut -d' ' -f1)
tap_check "and reads back" committed_ok
still_short() {
	mode_reason mf out_of_metadata_space queueing_writes && fio_waits
}
tap_check "the pool is still out_of_metadata_space, fio still waiting" still_short
tap_diag "before growing: $(dmsetup status mf)"
tap_check "growing the metadata device to 8M (reload, resume)" \
	grow_meta mf "$T/mf-meta" 8M "$FEAT"
tap_diag "after growing: $(dmsetup status mf)"
fio_done() { [ -e "$T/fio1.rc" ]; }
wait_for "fio to finish" 400 fio_done || tap_diag "fio did not finish"
fio_passed() {
	fio_done || { echo "fio still running"; return 1; }
	[ "$(cat "$T/fio1.rc")" = 0 ] || { echo "fio_verify failed:"; cat "$T/fio1.out"; return 1; }
}
tap_check "the queued writes complete: fio writes and verifies all 8 regions" fio_passed
tap_check "the pool is rw" mode_reason mf rw -
tap_check "committed data reads back" committed_ok
tap_check "a flush succeeds" flush_dev $V
tap_diag "end of part 1: $(dmsetup status mf)"
dm_remove m1
dm_remove mf
tap_check "vdisk-check clean after deactivation" vdisk_check "$M"
reactivate() {
	dm_create mf "$(pool_table "$FEAT")" && make_vdisk m1 mf 1 193M &&
		mode_reason mf rw -
}
tap_check "the pool activates again, rw" reactivate
tap_check "with the committed data" committed_ok
# shellcheck disable=SC2086
tap_check "and all the data fio wrote" fio_verify_only $V 24M $JOBS
dm_remove m1
dm_remove mf

# ---- part 2: error_if_no_space ----
# Eight sequential writers (psync, 64 KiB, crc32c headers) until ENOSPC: each
# job's acknowledged writes are the first write.io_bytes of its region.
M2=$(loop_create "$T/mf-meta2" 1M) || tap_diag "metadata loop device 2 failed"
M=$M2
FEAT2="1 error_if_no_space"
dm_create me "$(pool_table "$FEAT2")" || tap_diag "error_if_no_space pool failed"
pool_msg me create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk e1 me 1 193M || tap_diag "vdisk failed"
V=/dev/mapper/e1
dmesg_mark
set -- --output-format=json --filename=$V --direct=1 --ioengine=psync --rw=write --bs=64k \
	--size=24M --verify=crc32c --do_verify=0 --eta=never
j=0
while [ $j -lt 8 ]; do
	set -- "$@" --name=e$j --offset=$((1 + j * 24))M
	j=$((j + 1))
done
fio "$@" > "$T/fio2.out" 2> "$T/fio2.err"
sed -n '/^{/,$p' "$T/fio2.out" > "$T/fio2.json"	# fio may print notes first
tap_diag "after the writers: $(dmsetup status me)"
enospc() {	# every job stopped with ENOSPC (28) or wrote its whole region
	jq -e '[.jobs[] | .error] | all(. == 28 or . == 0) and any(. == 28)' "$T/fio2.json" \
		> /dev/null || { jq -c '[.jobs[] | {jobname, error, b: .write.io_bytes}]' \
		"$T/fio2.json"; cat "$T/fio2.err"; return 1; }
}
tap_check "error_if_no_space: writes fail with ENOSPC" enospc
tap_check "error_if_no_space: the pool is out_of_metadata_space, not ro" \
	mode_in me out_of_metadata_space rw
logged() {	# ERE: a line of the log since the mark matches
	dmesg_since_mark | grep -qE "$1" || { dmesg_since_mark | grep vdisk | tail -10; return 1; }
}
tap_check "error_if_no_space: the kernel log says out_of_metadata_space" \
	logged "switching to out_of_metadata_space mode"
tap_check "error_if_no_space: a flush succeeds" flush_dev $V
acked_verify() {
	_n=0
	_bytes=$(jq -r '.jobs[] | .write.io_bytes' "$T/fio2.json") &&
		[ "$(echo "$_bytes" | wc -l)" = 8 ] || { echo "no fio results:"; cat "$T/fio2.out"; return 1; }
	for _b in $_bytes; do
		if [ "$_b" -gt 0 ]; then
			fio_verify_only $V "$_b" --offset=$((1 + _n * 24))M --rw=write --bs=64k ||
				return 1
		fi
		_n=$((_n + 1))
	done
	echo "acknowledged: $(jq -c '[.jobs[] | .write.io_bytes / 65536]' "$T/fio2.json") writes"
}
tap_check "error_if_no_space: every acknowledged write verifies" acked_verify
tap_diag "$(acked_verify 2>&1 | tail -1)"
tap_check "error_if_no_space: growing the metadata device (reload, resume)" \
	grow_meta me "$T/mf-meta2" 8M "$FEAT2"
tap_check "error_if_no_space: the pool is rw" mode_reason me rw -
tap_check "error_if_no_space: new writes work again (fio verify 4M)" \
	fio_verify $V 4M --offset=189M --ioengine=libaio --iodepth=4 --rw=randwrite --bs=4k
dm_remove e1
dm_remove me
tap_check "error_if_no_space: vdisk-check clean after deactivation" vdisk_check "$M2"

tap_kernel_log_clean
tap_done
