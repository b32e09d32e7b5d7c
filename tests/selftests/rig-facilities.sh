#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# The kernel facilities the dedup, compression and replication tests build
# on are in the VM, on the stock and on the debug kernel (issue 11's debug
# config): dm-delay passes data through unchanged, dm-snapshot's targets
# register, a netem qdisc installs on a veth link (which still carries
# traffic), DRBD loads, and the crypto API offers sha256, xxhash64, lz4 and
# zstd.
#
# vdisk-timeout: 60
# vdisk-cost: 10 20
. "$(dirname "$0")/lib.sh"

tap_plan 7

brd_setup 1 16M || tap_diag "brd failed"
delay_data() {	# 1 MiB through a dm-delay of 20 ms reads back the same
	modprobe dm-delay &&
		dm_create rfd "0 $(dev_sectors /dev/ram0) delay /dev/ram0 0 20" &&
		dd if=/dev/urandom of="$VDISK_TEST_TMP/rf" bs=64k count=16 status=none &&
		dd if="$VDISK_TEST_TMP/rf" of=/dev/mapper/rfd bs=64k oflag=direct status=none &&
		[ "$(dev_sha256 /dev/mapper/rfd 0 1M)" = "$(sha256sum < "$VDISK_TEST_TMP/rf" | cut -d' ' -f1)" ]
}
tap_check "dm-delay: data written through it reads back" delay_data
snapshot_targets() {
	modprobe dm-snapshot && dmsetup targets | grep -q '^snapshot ' &&
		dmsetup targets | grep -q '^snapshot-origin '
}
tap_check "dm-snapshot: snapshot and snapshot-origin targets" snapshot_targets
modprobe veth
netem_link() {
	netns_add rfa && netns_add rfb &&
		veth_link rfa 10.201.0.1/24 rfb 10.201.0.2/24 || return 1
	_dev=$(ip -n rfa -o link show type veth | awk -F': ' '{ sub(/@.*/, "", $2); print $2; exit }')
	modprobe sch_netem 2>/dev/null	# built as a module on both kernels
	in_ns rfa tc qdisc add dev "$_dev" root netem delay 5ms loss 0% &&
		in_ns rfa tc qdisc show dev "$_dev" | grep -q netem &&
		in_ns rfa ping -c 2 -W 2 10.201.0.2 > /dev/null
}
tap_check "netem: a delay qdisc on a veth link, which still carries traffic" netem_link
drbd_loads() {
	modprobe drbd && [ -e /proc/drbd ]
}
tap_check "DRBD loads (/proc/drbd)" drbd_loads
crypto_has() {	# ALG [MODULE]: /proc/crypto lists ALG (after loading MODULE)
	[ -n "${2:-}" ] && modprobe "$2" 2>/dev/null
	grep -q "^name *: $1\$" /proc/crypto || { echo "no $1 in /proc/crypto"; return 1; }
}
tap_check "crypto: sha256" crypto_has sha256
tap_check "crypto: xxhash64" crypto_has xxhash64 xxhash_generic
both() { crypto_has lz4 lz4 && crypto_has zstd zstd; }
tap_check "crypto: lz4 and zstd" both
tap_done
