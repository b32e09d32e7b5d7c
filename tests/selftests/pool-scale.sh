#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Scale: a 100-deep chain of snapshots of snapshots (the deepest reads the
# origin's data and is writable without touching its ancestors) and 64
# vdisks active and written at once, each holding its own data; deleting
# them all and removing the pool at once (reclaim still pending) leaves
# clean metadata, and the next activation finishes the reclaim.  (Loop counters are named sc_n: lib.sh
# helpers use _i.)
#
# vdisk-timeout: 400
# vdisk-cost: 46 309
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 11

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 2 128M || tap_diag "brd_setup failed"

make_pool sc /dev/ram0 /dev/ram1 8 0 || tap_diag "pool failed"
pool_msg sc create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk c1 sc 1 4M || tap_diag "vdisk failed"
dd if=/dev/urandom of=/dev/mapper/c1 bs=64k count=64 oflag=direct status=none
sum=$(dev_sha256 /dev/mapper/c1)
dm_remove c1

chain() {
	sc_n=2
	while [ $sc_n -le 101 ]; do
		pool_msg sc create_snap $sc_n $((sc_n - 1)) || { echo "create_snap $sc_n failed"; return 1; }
		sc_n=$((sc_n + 1))
	done
}
tap_check "a chain of 100 snapshots of snapshots" chain
make_vdisk c101 sc 101 4M || tap_diag "snapshot 101 activation failed"
tap_check "the deepest snapshot reads the origin's data" [ "$(dev_sha256 /dev/mapper/c101)" = "$sum" ]
dd if=/dev/urandom of=/dev/mapper/c101 bs=4k count=256 oflag=direct status=none
make_vdisk c50 sc 50 4M || tap_diag "snapshot 50 activation failed"
tap_check "writing the deepest one leaves an ancestor unchanged" \
	[ "$(dev_sha256 /dev/mapper/c50)" = "$sum" ]
dm_remove c50
dm_remove c101

many() {
	sc_n=200
	while [ $sc_n -lt 264 ]; do
		pool_msg sc create_vdisk $sc_n && make_vdisk m$sc_n sc $sc_n 1M || return 1
		sc_n=$((sc_n + 1))
	done
}
write_many() {
	sc_n=200
	while [ $sc_n -lt 264 ]; do
		yes "vdisk $sc_n" | head -c 262144 | dd of=/dev/mapper/m$sc_n bs=64k oflag=direct status=none ||
			return 1
		sc_n=$((sc_n + 1))
	done
}
check_many() {
	sc_n=200
	while [ $sc_n -lt 264 ]; do
		[ "$(dev_sha256 /dev/mapper/m$sc_n 0 256K)" = "$(yes "vdisk $sc_n" | head -c 262144 | sha256sum | cut -d' ' -f1)" ] ||
			{ echo "vdisk $sc_n has wrong data"; return 1; }
		sc_n=$((sc_n + 1))
	done
}
tap_check "64 vdisks active at once" many
tap_check "each written" write_many
tap_check "each holds its own data" check_many
sc_n=200
while [ $sc_n -lt 264 ]; do dm_remove m$sc_n; sc_n=$((sc_n + 1)); done
delete_all() {
	for sc_n in $(seq 1 101) $(seq 200 263); do
		pool_msg sc delete $sc_n || { echo "delete $sc_n failed"; return 1; }
	done
}
tap_check "delete all 165 vdisks" delete_all
# Remove the pool at once, while reclaim is still running.
dm_remove sc
tap_check "vdisk-check clean with deletions pending" vdisk_check /dev/ram0
make_pool sc /dev/ram0 /dev/ram1 8 0 || tap_diag "pool reactivation failed"
tap_check "reactivation finishes the reclaim: no data block used" \
	wait_for "0 used" 60 sh -c "[ \"\$(dmsetup status sc | awk '{print \$6}')\" = 0/32768 ]"
dm_remove sc
tap_check "vdisk-check clean" vdisk_check /dev/ram0

tap_kernel_log_clean
tap_done
