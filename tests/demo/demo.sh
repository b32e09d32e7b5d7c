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
POOL=/dev/mapper/demo-pool

show_pool() {
	run_checked dmsetup status demo-pool
	say "(fields: transaction id, used/total metadata blocks, used/total data" \
		"blocks, mode, reason, features, needs_check, metadata low water mark)"
}

# A command that must be refused: shows it and the kernel's one-line reason.
run_refused() {
	printf '\n   $ %s\n' "$*"
	dmesg -c > /dev/null
	if "$@" > /dev/null 2>&1; then
		say "(that was accepted, but must be refused)"
		failed=1
		return 1
	fi
	dmesg | grep -E 'vdisk|table' | tail -n 2 | sed 's/^\[[^]]*\] */     refused: /'
}

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
	say "Metadata on $META, data on $DATA, 4 KiB data blocks (8 sectors)," \
		"and a low-water mark of 1024 blocks that raises an event when free" \
		"space runs low.  The metadata device is zeroed, so the pool formats" \
		"it on this first load.  The table length is the data device's size."
	run_checked dmsetup create demo-pool \
		--table "0 $(blockdev --getsz "$DATA") vdisk-pool $META $DATA 8 1024 1 error_if_no_space"
	show_pool
}

step_vdisks() {
	step "3. One vdisk per VM"
	say "Each VM disk is a numbered vdisk inside the pool (create_vdisk), made" \
		"visible by a vdisk table whose length is the disk's size; it may" \
		"exceed the pool's real capacity (thin provisioning).  Here two 10 GiB" \
		"disks, 'web' (vdisk 1) and 'db' (vdisk 2), on a 4 GiB pool."
	run_checked dmsetup message demo-pool 0 create_vdisk 1
	run_checked dmsetup message demo-pool 0 create_vdisk 2
	run_checked dmsetup create demo-web --table "0 $(to_sectors 10G) vdisk $POOL 1"
	run_checked dmsetup create demo-db --table "0 $(to_sectors 10G) vdisk $POOL 2"
	run_checked blockdev --getsize64 /dev/mapper/demo-web
}

step_writes() {
	step "4. The VMs write"
	say "Only written blocks take space: 64 MiB on web, 16 MiB on db.  The vdisk" \
		"status shows mapped blocks and per-VM I/O counters (mapped," \
		"exclusive, shared, highest mapped sector, reads, writes, read bytes," \
		"write bytes, discards, flushes)."
	run_checked dd if=/dev/urandom of=/tmp/web.img bs=1M count=64 status=none
	run_checked dd if=/tmp/web.img of=/dev/mapper/demo-web bs=1M oflag=direct conv=fsync status=none
	run_checked dd if=/dev/urandom of=/dev/mapper/demo-db bs=1M count=16 oflag=direct conv=fsync status=none
	run_checked dmsetup status demo-web
	run_checked dmsetup status demo-db
	show_pool
	web_sum=$(dd if=/dev/mapper/demo-web bs=1M count=64 iflag=direct status=none | sha256sum | cut -c1-16)
	say "web's first 64 MiB: sha256 $web_sum..."
}

step_snapshot() {
	step "5. Snapshot web, instantly"
	say "create_snap makes vdisk 3 a snapshot of vdisk 1: it shares every block," \
		"so it costs a few metadata blocks whatever the disk's size.  Suspend the" \
		"origin around it so no write is in flight (as with dm-thin)."
	run_checked dmsetup suspend demo-web
	run_checked dmsetup message demo-pool 0 create_snap 3 1
	run_checked dmsetup resume demo-web
	show_pool
}

step_overwrite() {
	step "6. web keeps writing; the snapshot does not change"
	say "Overwriting 8 MiB of web copies only the blocks written (4 KiB each)." \
		"The snapshot, activated as its own device, still reads the old data."
	run_checked dd if=/dev/urandom of=/dev/mapper/demo-web bs=1M count=8 seek=8 oflag=direct conv=fsync status=none
	run_checked dmsetup create demo-web-snap --table "0 $(to_sectors 10G) vdisk $POOL 3"
	snap_sum=$(dd if=/dev/mapper/demo-web-snap bs=1M count=64 iflag=direct status=none | sha256sum | cut -c1-16)
	new_sum=$(dd if=/dev/mapper/demo-web bs=1M count=64 iflag=direct status=none | sha256sum | cut -c1-16)
	say "snapshot: sha256 $snap_sum...  (taken: $web_sum...)"
	say "web now:  sha256 $new_sum..."
	if [ "$snap_sum" != "$web_sum" ] || [ "$new_sum" = "$web_sum" ]; then
		say "UNEXPECTED: the snapshot must keep the old content and web must differ"
		failed=1
	fi
	show_pool
}

step_clone() {
	step "7. A clone for a second VM"
	say "Any snapshot can be written: that makes it a clone.  A test VM boots" \
		"from a clone of the snapshot (vdisk 4) and writes 4 MiB of its own."
	run_checked dmsetup message demo-pool 0 create_snap 4 3
	run_checked dmsetup create demo-test --table "0 $(to_sectors 10G) vdisk $POOL 4"
	run_checked dd if=/dev/zero of=/dev/mapper/demo-test bs=1M count=4 oflag=direct conv=fsync status=none
	run_checked dmsetup status demo-test
	show_pool
}

step_delete() {
	step "8. Delete the clone and the snapshot"
	say "delete returns at once; the blocks no other vdisk shares are freed in" \
		"the background and show up as free in the pool status."
	run_checked dmsetup remove demo-test
	run_checked dmsetup remove demo-web-snap
	run_checked dmsetup message demo-pool 0 delete 4
	run_checked dmsetup message demo-pool 0 delete 3
	sleep 2
	show_pool
}

step_safety() {
	step "9. Table mistakes are refused and change nothing"
	say "The pool opens its devices for its whole life, and a table that would" \
		"let two owners write the same blocks is refused with one line in the" \
		"kernel log: a second pool on the same metadata device, a reload of the" \
		"pool naming another data device, one vdisk mapped twice in a table."
	run_refused dmsetup create demo-pool2 \
		--table "0 $(blockdev --getsz "$DATA") vdisk-pool $META $DATA 8 0"
	run_checked dmsetup create demo-other --table "0 $(blockdev --getsz "$META") linear $META 0"
	run_refused dmsetup reload demo-pool \
		--table "0 $(blockdev --getsz "$DATA") vdisk-pool $META /dev/mapper/demo-other 8 0"
	run_checked dmsetup remove demo-other
	run_checked dmsetup message demo-pool 0 create_vdisk 9
	run_refused dmsetup create demo-twice --table "0 2048 vdisk $POOL 9
2048 2048 vdisk $POOL 9"
	run_checked dmsetup message demo-pool 0 delete 9
	say "A reload of a vdisk with another length changes nothing until it is" \
		"resumed: the live table keeps serving its whole disk."
	run_checked dmsetup reload demo-db --table "0 $(to_sectors 20G) vdisk $POOL 2"
	run_checked dmsetup table demo-db
	run_checked dmsetup resume demo-db
	run_checked blockdev --getsize64 /dev/mapper/demo-db
	show_pool
}

step_check() {
	step "10. Check the metadata"
	say "Deactivate everything (the pool commits), then vdisk-check walks every" \
		"block of the metadata and rebuilds every reference count."
	run_checked dmsetup remove demo-db
	run_checked dmsetup remove demo-web
	run_checked dmsetup remove demo-pool
	run_checked vdisk-check "$META"
}

step_vdiskctl() {
	step "11. The same by name, with vdiskctl"
	say "vdiskctl drives pools and vdisks by name over the module's netlink" \
		"interface: it picks the ids, names the devices /dev/mapper/POOL-NAME," \
		"suspends the origins around snapshots and records the pool so that one" \
		"command brings it back after a reboot.  A fresh pool on two RAM disks:"
	export VDISK_CONF_DIR=/tmp/vdisk-pools
	brd_setup 2 64M
	run_checked vdiskctl pool create vc --metadata /dev/ram0 --data /dev/ram1
	run_checked vdiskctl create vc web --size 10G
	run_checked vdiskctl create vc db --size 10G
	run_checked dd if=/dev/urandom of=/dev/mapper/vc-web bs=1M count=16 oflag=direct conv=fsync status=none
	say "Both disks of the VM at one instant (a consistency group), then a" \
		"writable clone of web's snapshot for a test VM:"
	run_checked vdiskctl group-snapshot vc --tag nightly web db
	run_checked vdiskctl clone vc web:nightly web-test
	run_checked vdiskctl list
	run_checked vdiskctl stats
	run_checked vdiskctl pool status vc
	run_checked vdiskctl check vc
	say "Deactivate, and activate again by name (what a boot script does):"
	run_checked vdiskctl pool remove vc
	run_checked vdiskctl pool activate vc
	run_checked vdiskctl list vc
	run_checked vdiskctl pool remove vc
}

step_cleanup() {
	step "12. Unload"
	run_checked modprobe -r dm-vdisk
	say "Coming next: dedup against an SSD tier, compression and replication."
}

# Keep informational kernel messages off the console during the demo;
# warnings and worse still show (and the rig still scans for them).
dmesg -n 5

step_module
step_pool
step_vdisks
step_writes
step_snapshot
step_overwrite
step_clone
step_delete
step_safety
step_check
step_vdiskctl
step_cleanup

if [ "$failed" = 0 ]; then
	printf '\n== Demo finished: every step worked.\n'
else
	printf '\n== Demo finished WITH ERRORS (see above).\n'
fi
exit "$failed"
