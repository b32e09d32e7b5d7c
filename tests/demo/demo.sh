#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The dm-vdisk walk-through, run inside the test VM by `make demo`
# (scripts/vm/demo.sh).  It is the first thing a new user sees: every step
# prints what it is about and the exact commands it runs.  Each step is one
# function; new features add steps, in the order a user would meet them.
#
# The VM has two virtio disks: vdisk0 (256 MiB, pool metadata) and vdisk1
# (4 GiB, pool data).
. /vdisk/selftests/lib.sh

failed=0

step() {
	printf '\n== %s\n' "$*"
}

say() {
	printf '%s\n' "$*" | fold -s -w 76 | sed 's/^/   /'
}


# "$@" | sed hides the command's status: check it separately.
run_checked() {
	printf '\n   $ %s\n' "$*"
	_o=$("$@" 2>&1)
	_rc=$?
	[ -n "$_o" ] && printf '%s\n' "$_o" | sed 's/^/     /'
	if [ "$_rc" != 0 ]; then
		say "(that failed with exit status $_rc)"
		failed=1
	fi
	return "$_rc"
}

META=$(vm_disk 0) DATA=$(vm_disk 1)

step_module() {
	step "1. Load dm-vdisk"
	say "dm-vdisk is a device-mapper module with two targets: vdisk-pool (one per" \
		"host: owns a metadata device and a data device) and vdisk (one per VM" \
		"disk, thinly provisioned from a pool)."
	run_checked modprobe dm-vdisk
	run_checked dmsetup targets
}

step_pool() {
	step "2. Create a pool"
	say "Metadata on $META, data on $DATA, 64 KiB data blocks (128 sectors)," \
		"and a low-water mark of 1024 blocks that raises an event when free" \
		"space runs low.  The table length is the data device's size."
	data_sectors=$(blockdev --getsz "$DATA")
	run_checked dmsetup create demo-pool \
		--table "0 $data_sectors vdisk-pool $META $DATA 128 1024 1 error_if_no_space"
	run_checked dmsetup table demo-pool
	run_checked dmsetup status demo-pool
}

step_vdisks() {
	step "3. One vdisk per VM"
	say "Each VM gets a vdisk: a number inside the pool, and a size that may" \
		"exceed the pool's real capacity (thin provisioning).  Here two 10 GiB" \
		"disks on a 4 GiB pool."
	run_checked dmsetup create demo-web --table "0 $(to_sectors 10G) vdisk /dev/mapper/demo-pool 1"
	run_checked dmsetup create demo-db --table "0 $(to_sectors 10G) vdisk /dev/mapper/demo-pool 2"
	run_checked dmsetup table
	run_checked blockdev --getsize64 /dev/mapper/demo-web
	run_checked dmsetup status demo-web
}

step_next() {
	step "4. Coming next"
	say "The pool's metadata engine (mapping, copy-on-write snapshots, space" \
		"accounting) is being built; until it lands the pool reports" \
		"read-only status and vdisks read as zeros.  Snapshots, per-VM stats," \
		"dedup, compression and replication will appear here as they arrive."
}

step_cleanup() {
	step "5. Tear down"
	run_checked dmsetup remove demo-db
	run_checked dmsetup remove demo-web
	run_checked dmsetup remove demo-pool
	run_checked modprobe -r dm-vdisk
}

# Keep informational kernel messages off the console during the demo;
# warnings and worse still show (and the rig still scans for them).
dmesg -n 5

step_module
step_pool
step_vdisks
step_next
step_cleanup

if [ "$failed" = 0 ]; then
	printf '\n== Demo finished: every step worked.\n'
else
	printf '\n== Demo finished WITH ERRORS (see above).\n'
fi
exit "$failed"
