#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# dm-vdisk.ko loads, registers the vdisk-pool and vdisk targets, and unloads
# cleanly, taking its targets with it.
#
# vdisk-timeout: 60
# vdisk-cost: 1 5
. "$(dirname "$0")/lib.sh"

tap_plan 6

tap_check "modprobe dm-vdisk" modprobe dm-vdisk
has_target() {
	dmsetup targets | grep -q "^$1 "
}
tap_diag "$(dmsetup targets 2>&1)"
tap_check "dmsetup targets lists vdisk-pool" has_target vdisk-pool
tap_check "dmsetup targets lists vdisk" has_target vdisk
tap_check "modprobe -r dm-vdisk unloads it" modprobe -r dm-vdisk
if [ -d /sys/module/dm_vdisk ] || has_target vdisk-pool || has_target vdisk; then
	tap_fail "targets are gone after unloading"
else
	tap_ok "targets are gone after unloading"
fi
tap_kernel_log_clean
tap_done
