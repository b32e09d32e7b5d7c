#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# vdiskctl pool remove + pool activate: deactivation keeps everything, and
# activation by name alone (from the configuration file) brings back every
# vdisk made by create or clone, by name, with its data; snapshots stay
# inactive.  Also: activation with explicit devices and no file, and
# activating an active pool only adds what is missing.
#
# vdisk-timeout: 300
# vdisk-cost: 6 24
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"
. "$(dirname "$0")/lib-vdiskctl.sh"

tap_plan 11

vc_setup p0 || tap_diag "pool create failed"
vdiskctl create p0 vm1 --size 32M > /dev/null &&
	vdiskctl create p0 vm-2 --size 16M > /dev/null &&
	dd if=/dev/urandom of=/dev/mapper/p0-vm1 bs=1M count=4 oflag=direct status=none &&
	dd if=/dev/urandom of=/dev/mapper/p0-vm-2 bs=1M count=4 oflag=direct status=none &&
	vdiskctl snapshot p0 vm1 s1 > /dev/null &&
	vdiskctl clone p0 s1 c1 > /dev/null &&
	dd if=/dev/urandom of=/dev/mapper/p0-c1 bs=1M count=1 seek=1 oflag=direct status=none ||
	tap_diag "setup failed"
sums() {
	for _v in vm1 vm-2 c1; do
		echo "$_v $(dev_sha256 /dev/mapper/p0-$_v 0 4M)"
	done
}
before_sums=$(sums)
before_list=$(vdiskctl list --json)
tap_check "setup: vm1, vm-2, snapshot s1, clone c1 active" \
	sh -c 'dmsetup info p0-vm1 && dmsetup info p0-vm-2 && dmsetup info p0-c1 && ! dmsetup info p0-s1'

busy() {
	exec 3< /dev/mapper/p0-vm-2
	vc_expect 1 "vm-2.*in use" vdiskctl pool remove p0
	_rc=$?
	exec 3<&-
	[ "$_rc" = 0 ] && dm_exists p0 && dm_exists p0-vm1 && dm_exists p0-c1
}
tap_check "pool remove refused while a vdisk is open; nothing removed" busy
tap_check "pool remove" vdiskctl pool remove p0
tap_check "no dm device of p0 left" sh -c '! dmsetup ls | grep -q "^p0"'
tap_check "pool activate p0 (from the configuration file)" vdiskctl pool activate p0
back_ok() {
	dm_exists p0-vm1 && dm_exists p0-vm-2 && dm_exists p0-c1 && ! dm_exists p0-s1 &&
		[ "$(sums)" = "$before_sums" ] &&
		[ "$(blockdev --getsize64 /dev/mapper/p0-vm-2)" = 16777216 ]
}
tap_check "vm1, vm-2, c1 back by name with their data and sizes; s1 inactive" back_ok
tap_check "list --json is as before" [ "$(vdiskctl list --json)" = "$before_list" ]

vc_teardown p0
rm -f "$VDISK_CONF_DIR/p0.conf"
tap_check "pool activate without a configuration file: clear error" \
	vc_expect 1 "not configured" vdiskctl pool activate p0
explicit_ok() {
	vdiskctl pool activate p0 --metadata /dev/ram0 --data /dev/ram1 > /dev/null &&
		[ "$(sums)" = "$before_sums" ] && grep -qx 'data=/dev/ram1' "$VDISK_CONF_DIR/p0.conf"
}
tap_check "pool activate --metadata --data: back, and recorded" explicit_ok
again_ok() {
	dm_remove p0-vm1
	vdiskctl pool activate p0 > /dev/null && [ "$(sums)" = "$before_sums" ]
}
tap_check "activating an active pool brings up only what is missing" again_ok
tap_kernel_log_clean
tap_done
