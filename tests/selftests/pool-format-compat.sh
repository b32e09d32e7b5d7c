#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# One metadata format on both sides: a pool formatted by userspace
# vdisk-format loads in the kernel and keeps data across reactivation; a
# pool the kernel formats on its first load passes vdisk-check and has the
# geometry vdisk-format would have written; metadata whose data block size
# differs from the table's is refused and left untouched.
#
# vdisk-timeout: 180
# vdisk-cost: 15 36
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 10

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 3 64M || tap_diag "brd_setup failed"
M=/dev/ram0 D=/dev/ram1 K=/dev/ram2
data_blocks=$(( $(dev_sectors $D) / 8 ))
meta_blocks=$(( $(dev_sectors $M) / 8 ))

tap_check "vdisk-format writes a pool (4 KiB blocks, $data_blocks data blocks)" \
	vdisk-format $M --data-blocks $data_blocks --block-size 4K
tap_check "the kernel loads the vdisk-format pool" make_pool fc $M $D 8 0

geometry_is() {	# POOL: rw, nothing used, sizes of the devices
	_got="$(pool_field "$1" mode) $(pool_field "$1" data_used)/$(pool_field "$1" data_total) $(pool_field "$1" meta_total)"
	[ "$_got" = "rw 0/$data_blocks $meta_blocks" ] || { echo "# status: $(dmsetup status "$1")"; return 1; }
}
tap_check "its status: rw, 0/$data_blocks data blocks, $meta_blocks metadata blocks" geometry_is fc

dd if=/dev/urandom of=/tmp/fc.data bs=1M count=2 status=none
want=$(sha256sum < /tmp/fc.data | cut -d' ' -f1)
write_and_remove() {
	pool_msg fc create_vdisk 7 &&
	make_vdisk fc7 fc 7 16M &&
	dd if=/tmp/fc.data of=/dev/mapper/fc7 bs=1M oflag=direct conv=fsync status=none &&
	dm_remove fc7 && dm_remove fc
}
tap_check "a vdisk on it is written, then vdisk and pool are removed" write_and_remove
tap_check "vdisk-check: the kernel's changes to the vdisk-format pool are clean" vdisk_check $M

reads_back() {
	make_pool fc $M $D 8 0 && make_vdisk fc7 fc 7 16M &&
	[ "$(dev_sha256 /dev/mapper/fc7 0 2M)" = "$want" ] && dm_remove fc7 && dm_remove fc
}
tap_check "reactivated, the vdisk reads back what was written" reads_back

zero_dev $K
kernel_format() { make_pool kf $K $D 8 0 && geometry_is kf && dm_remove kf; }
tap_check "the kernel formats a zeroed device with the same geometry" kernel_format
tap_check "vdisk-check: the kernel-formatted pool is clean" vdisk_check $K

dump_geometry() {
	vdisk-dump --json $K > /tmp/kf.json &&
	[ "$(jq -r '.superblock.data_block_size' /tmp/kf.json) $(jq -r '.data_space_map.blocks' /tmp/kf.json)" = "8 $data_blocks" ] ||
		{ echo "# vdisk-dump: $(head -c 400 /tmp/kf.json)"; return 1; }
}
tap_check "vdisk-dump reads the kernel's superblock: 8-sector blocks, $data_blocks blocks" dump_geometry

# A 64 KiB-block pool loaded with a 4 KiB table: refused, metadata untouched.
vdisk-format $K --data-blocks $((data_blocks / 16)) --block-size 64K --force > /dev/null
before=$(dev_sha256 $K)
mismatch_refused() {
	dmesg_mark
	if make_pool bad $K $D 8 0 2>/dev/null; then
		dm_remove bad
		echo "# a 64 KiB-block pool was loaded with 8-sector blocks"
		return 1
	fi
	dmesg_since_mark | grep -qi "block size" || { dmesg_since_mark; return 1; }
	[ "$(dev_sha256 $K)" = "$before" ]
}
tap_check "a block size different from the metadata's is refused, nothing changed" mismatch_refused

tap_done
