#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Out of data space: the low water mark raises an event; error_if_no_space
# fails writes with ENOSPC; the default queues them (for no_space_timeout
# seconds: 0 waits without limit, a short timeout fails them); growing the
# data device with a table reload resumes writing (and the queued writes
# complete with their data intact).
#
# vdisk-timeout: 240
# vdisk-cost: 14 54
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 23

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/ns-meta" 16M) D=$(loop_create "$T/ns-data" 4M)
M2=$(loop_create "$T/ns-meta2" 16M) D2=$(loop_create "$T/ns-data2" 4M)

mode_is() {	# POOL MODE [REASON]
	[ "$(pool_field "$1" mode)" = "$2" ] &&
		{ [ -z "${3:-}" ] || [ "$(pool_field "$1" reason)" = "$3" ]; } ||
		{ dmsetup status "$1"; return 1; }
}
grow() {	# POOL META DATA-LOOP DATA-FILE SIZE FEATURES...
	_p=$1 _m=$2 _d=$3 _f=$4 _s=$5
	shift 5
	truncate -s "$_s" "$_f" && losetup -c "$_d" &&
		dmsetup reload "$_p" --table "0 $(dev_sectors "$_d") vdisk-pool $_m $_d 8 256 $*" &&
		dmsetup resume "$_p"
}

dmesg_mark
make_pool np "$M" "$D" 8 256 error_if_no_space || tap_diag "pool failed"
pool_msg np create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk n1 np 1 16M || tap_diag "vdisk failed"
dd if=/dev/urandom of="$T/src" bs=1M count=6 status=none
tap_check "error_if_no_space: writing 6M into 4M fails" \
	sh -c "! dd if=$T/src of=/dev/mapper/n1 bs=64k oflag=direct status=none 2>/dev/null"
tap_check "mode is out_of_data_space" mode_is np out_of_data_space error_if_no_space
tap_check "the low water mark was reported" \
	sh -c "dmesg | grep -q 'reached low water mark'"
tap_check "growing the data device by a table reload" \
	grow np "$M" "$D" "$T/ns-data" 16M 1 error_if_no_space
total_is() {
	[ "$(pool_field np data_total)" = 4096 ] || { dmsetup status np; return 1; }
}
tap_check "pool is rw again" mode_is np rw
tap_check "pool has 4096 data blocks" total_is
tap_check "the whole write succeeds after growing" \
	dd if="$T/src" of=/dev/mapper/n1 bs=64k oflag=direct status=none
tap_check "and reads back" cmp -n 6291456 "$T/src" /dev/mapper/n1

make_pool nq "$M2" "$D2" 8 0 no_space_timeout 0 || tap_diag "queueing pool failed"
pool_msg nq create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk q1 nq 1 16M || tap_diag "vdisk failed"
dd if="$T/src" of=/dev/mapper/q1 bs=64k oflag=direct status=none &
dd_pid=$!
tap_check "queue mode: writes wait in out_of_data_space" \
	wait_for "out_of_data_space" 30 mode_is nq out_of_data_space queueing_writes
sleep 3
tap_check "no_space_timeout 0: still queued after 3 s" kill -0 $dd_pid
tap_check "growing the data device" grow nq "$M2" "$D2" "$T/ns-data2" 16M 2 no_space_timeout 0
wait $dd_pid
tap_check "the queued writes complete successfully" [ $? = 0 ]
tap_check "with their data" cmp -n 6291456 "$T/src" /dev/mapper/q1

# A short no_space_timeout: queued writes fail after it, with a log line.
M3=$(loop_create "$T/ns-meta3" 16M) D3=$(loop_create "$T/ns-data3" 4M)
dmesg_mark
for bad in "1 no_space_timeout" "2 no_space_timeout x" "2 no_space_timeout 86401" \
	   "2 no_space_timeout -1"; do
	tap_check "refused: no_space_timeout with '${bad#* no_space_timeout}'" \
		sh -c "! dmsetup create nt --table '0 $(dev_sectors "$D3") vdisk-pool $M3 $D3 8 0 $bad' 2>/dev/null && ! dmsetup info nt > /dev/null 2>&1"
done
tap_check "the kernel log says why" \
	sh -c "[ \$(dmesg | grep -c 'Feature no_space_timeout needs seconds, 0 to 86400') -ge 4 ]"
dmesg_mark
make_pool nt "$M3" "$D3" 8 0 no_space_timeout 2 || tap_diag "timeout pool failed"
tap_check "status shows no_space_timeout 2" \
	sh -c "dmsetup status nt | grep -Eq ' 2 no_space_timeout 2 - [0-9]+\$'"
pool_msg nt create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk t1 nt 1 16M || tap_diag "vdisk failed"
tap_check "no_space_timeout 2: writing 6M into 4M fails" \
	sh -c "! dd if=$T/src of=/dev/mapper/t1 bs=64k oflag=direct status=none 2>/dev/null"
tap_check "the kernel log says the queued writes timed out" \
	sh -c "dmesg | grep -q 'pool .*: no data space for 2 s: failing queued writes'"
tap_check "mode is out_of_data_space" mode_is nt out_of_data_space queueing_writes

tap_kernel_log_clean
tap_done
