#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The vdisk status's "highest mapped sector" (end of the highest mapped
# block, "-" when nothing is mapped) follows writes at known offsets,
# partial writes, a discard of the top block and a discard of everything;
# the exclusive/shared counts print "-".
#
# vdisk-timeout: 120
# vdisk-cost: 2 6
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

command -v blkdiscard > /dev/null || tap_skip_all "blkdiscard not available"
tap_plan 9

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/hi-meta" 16M) D=$(loop_create "$T/hi-data" 32M)

highest_is() {	# EXPECTED: field 4 of the vdisk status ($7 of dmsetup status)
	_st=$(dmsetup status h1)
	[ "$(echo "$_st" | awk '{ print $7 }')" = "$1" ] || { echo "status: $_st"; return 1; }
}
wr() {	# OFFSET LEN (bytes, multiples of 512)
	dd if=/dev/urandom of=/dev/mapper/h1 bs=512 seek=$(($1 / 512)) count=$(($2 / 512)) \
		oflag=direct status=none
}

# 16-sector (8 KiB) blocks: block N ends at sector 16 * (N + 1).
make_pool hp "$M" "$D" 16 0 || tap_diag "pool failed"
pool_msg hp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk h1 hp 1 16M || tap_diag "vdisk failed"

tap_check "nothing mapped: -" highest_is -
tap_check "exclusive/shared counts of an empty vdisk: 0 0" \
	sh -c "dmsetup status h1 | awk '{ exit !(\$5 == 0 && \$6 == 0) }'"
wr 0 4096
tap_check "4 KiB at 0: block 0, sector 16" highest_is 16
wr $((1048576 + 8192)) 8192
tap_check "8 KiB at 1M + 8K: block 129, sector 2080" highest_is 2080
wr $((8 * 1048576 + 512)) 512
tap_check "512 bytes at 8M + 512: block 1024, sector 16400" highest_is 16400
wr 4096 4096
tap_check "a lower write changes nothing" highest_is 16400
blkdiscard -o $((8 * 1048576)) -l 8192 /dev/mapper/h1 || tap_diag "discard failed"
tap_check "discarding the top block: back to 2080" highest_is 2080
blkdiscard /dev/mapper/h1 || tap_diag "discard of everything failed"
tap_check "discarding everything: -" highest_is -

tap_kernel_log_clean
tap_done
