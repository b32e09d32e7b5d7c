#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Netlink requests racing with pools and vdisks that come and go: one loop
# creates a pool device, makes, activates, writes, deactivates and deletes
# a vdisk in it and removes the pool again; another creates and deletes
# vdisks in a second pool; a third dumps and queries both pools all the
# time.  Nothing may hang or oops (the requests hold the pool's device and
# a pool reference), every dump of the second pool lists each vdisk at
# most once and in id order (dumps resume from the last id), and both
# pools' metadata checks clean.
#
# vdisk-timeout: 300
# vdisk-cost: 7 37
# vdisk-smp: 2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

command -v vdisk-nlfuzz > /dev/null || tap_skip_all "vdisk-nlfuzz not built"
tap_plan 6

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 4 32M || tap_diag "brd_setup failed"
T=$VDISK_TEST_TMP
make_pool ra /dev/ram0 /dev/ram1 8 0 || tap_diag "pool ra failed"
at_exit dm_remove rb
at_exit dm_remove rb-a
for i in $(seq 1 6); do
	vdisk-nlfuzz req new pool=ra name=base$i size=1048576 > /dev/null || tap_diag "base$i failed"
done

# Loop 1: pool rb comes and goes, with a vdisk made, used and deleted.
cycles() {
	for _c in $(seq 1 5); do
		dmsetup create rb --table "0 $(dev_sectors /dev/ram3) vdisk-pool /dev/ram2 /dev/ram3 8 0" ||
			{ echo "cycle $_c: pool"; return 1; }
		dmsetup mknodes rb
		_id=$(vdisk-nlfuzz req new pool=rb name=c$_c size=1048576 |
		      sed -n 's/^msg 0: .* id=\([0-9]*\) .*/\1/p')
		[ -n "$_id" ] || { echo "cycle $_c: new"; return 1; }
		dmsetup create rb-a --table "0 2048 vdisk /dev/mapper/rb $_id" &&
			dmsetup mknodes rb-a &&
			dd if=/dev/urandom of=/dev/mapper/rb-a bs=4096 count=16 oflag=direct status=none &&
			dmsetup remove rb-a || { echo "cycle $_c: vdisk"; return 1; }
		vdisk-nlfuzz req del pool=rb name=c$_c > /dev/null || { echo "cycle $_c: del"; return 1; }
		dmsetup remove rb || { echo "cycle $_c: remove"; return 1; }
	done
}
# Loop 2: vdisks of ra created and deleted.
churn() {
	for _c in $(seq 1 20); do
		vdisk-nlfuzz req new pool=ra name=ch$_c size=1048576 > /dev/null || return 1
		[ $((_c % 2)) = 0 ] && { vdisk-nlfuzz req del pool=ra name=ch$((_c - 1)) > /dev/null || return 1; }
	done
	return 0
}
cycles > "$T/cycles" 2>&1 &
cpid=$!
churn > "$T/churn" 2>&1 &
hpid=$!
# Loop 3: queries until both loops are done.
n=0 bad=0
while kill -0 $cpid 2> /dev/null || kill -0 $hpid 2> /dev/null; do
	vdisk-nlfuzz req pool --dump > /dev/null 2>&1
	vdisk-nlfuzz req vdisk pool=rb name=c1 > /dev/null 2>&1
	vdisk-nlfuzz req stats --dump > /dev/null 2>&1
	vdisk-nlfuzz req vdisk --dump > /dev/null 2>&1
	vdisk-nlfuzz req vdisk --dump pool=ra > "$T/dump" 2>&1
	# Each id at most once, in increasing order.
	grep '^msg ' "$T/dump" | sed 's/.* id=\([0-9]*\) .*/\1/' |
		awk 'NR > 1 && $1 <= p { exit 1 } { p = $1 }' || { bad=$((bad + 1)); cp "$T/dump" "$T/bad-dump"; }
	n=$((n + 1))
done
wait $cpid
crc=$?
wait $hpid
hrc=$?
tap_check "pool rb created, used and removed 5 times under queries" sh -c "[ $crc = 0 ] || { cat '$T/cycles'; exit 1; }"
tap_check "20 vdisks created and 10 deleted under dumps" sh -c "[ $hrc = 0 ] || { cat '$T/churn'; exit 1; }"
tap_diag "$n rounds of queries"
tap_check "every dump listed each vdisk once, in id order" sh -c "[ $bad = 0 ] || { cat '$T/bad-dump'; exit 1; }"
count=$(vdisk-nlfuzz req vdisk --dump pool=ra | grep -c '^msg ')
tap_check "pool ra has its 6 vdisks and the 10 left by the churn" test "$count" = 16
dm_remove ra
vdisk_check_both() { vdisk_check /dev/ram0 && vdisk_check /dev/ram2; }
tap_check "vdisk-check: both pools' metadata clean" vdisk_check_both

if dmesg_problems; then tap_fail "kernel log clean"; else tap_ok "kernel log clean"; fi
tap_done
