#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The rig's own plumbing works on known-good kernel code: dm-linear and
# dm-thin-pool on RAM disks pass fio verify=crc32c, thin_check accepts the
# pool's metadata, and one corrupted block makes a verify FAIL (so a passing
# verify in other tests means something).
#
# vdisk-timeout: 240
# vdisk-cost: 6 35
. "$(dirname "$0")/lib.sh"

tap_plan 10

brd_setup 3 64M || tap_diag "brd_setup failed"
lin=/dev/ram0 meta=/dev/ram1 data=/dev/ram2
off=2048	# dm-linear starts 1 MiB into ram0

tap_check "dm-linear over a RAM disk" dm_create rs-linear "0 65536 linear $lin $off"
tap_check "fio verify=crc32c passes on dm-linear" fio_verify /dev/mapper/rs-linear 16M

# Corrupt the block at 4 MiB of the linear device behind dm's back.
dd if=/dev/urandom of="$lin" bs=4096 count=1 seek=$(( (off * 512 + 4194304) / 4096 )) \
	oflag=direct conv=notrunc status=none
if out=$(fio_verify_only /dev/mapper/rs-linear 16M 2>&1); then
	tap_fail "a corrupted block makes fio verify fail"
else
	tap_ok "a corrupted block makes fio verify fail"
	tap_diag "$(echo "$out" | grep -iE 'verify|bad|crc' | head -n 3)"
fi
dm_remove rs-linear

zero_dev "$meta" 4M
tap_check "modprobe dm-thin-pool" modprobe dm-thin-pool
tap_check "thin-pool over RAM disks" \
	dm_create rs-pool "0 $(dev_sectors "$data") thin-pool $meta $data 128 0 1 skip_block_zeroing"
tap_check "create_thin message" dmsetup message rs-pool 0 "create_thin 0"
tap_check "thin volume" dm_create rs-thin "0 98304 thin /dev/mapper/rs-pool 0"
tap_check "fio verify=crc32c passes on a thin volume" \
	fio_verify /dev/mapper/rs-thin 32M --rw=randwrite --bs=16k
dm_remove rs-thin
dm_remove rs-pool
tap_check "thin_check accepts the pool metadata" thin_check "$meta"

tap_kernel_log_clean
tap_done
