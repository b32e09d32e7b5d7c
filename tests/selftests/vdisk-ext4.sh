#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# A real client: ext4 on a vdisk, a file tree copied in, a snapshot mounted
# read-only matches the tree, a clone of it is modified like a second VM
# would, and both file systems fsck clean.
#
# vdisk-timeout: 240
# vdisk-cost: 5 33
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 8

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
modprobe ext4 2>/dev/null
at_exit modprobe -r dm-vdisk
brd_setup 2 128M || tap_diag "brd_setup failed"
T=$VDISK_TEST_TMP
mkdir -p "$T/mnt" "$T/snap" "$T/clone"

make_pool xp /dev/ram0 /dev/ram1 8 0 || tap_diag "pool failed"
pool_msg xp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk x1 xp 1 64M || tap_diag "vdisk failed"

tree_sum() {	# DIR: checksum of every file's path and contents
	(cd "$1" && find . -type f | sort | while read -r f; do
		printf '%s ' "$f"; sha256sum < "$f"
	done) | sha256sum | cut -d' ' -f1
}

tap_check "mkfs.ext4 on a vdisk" mkfs.ext4 -q -F /dev/mapper/x1
mount -t ext4 /dev/mapper/x1 "$T/mnt" || tap_diag "mount failed"
at_exit umount "$T/mnt"
cp -a /usr/bin /vdisk/selftests "$T/mnt/" 2>/dev/null
src=$(tree_sum "$T/mnt")
umount "$T/mnt"
dmsetup suspend x1
pool_msg xp create_snap 2 1 || tap_diag "create_snap failed"
dmsetup resume x1
mount -t ext4 /dev/mapper/x1 "$T/mnt" || tap_diag "remount failed"
rm -rf "$T/mnt/bin"
dd if=/dev/urandom of="$T/mnt/new" bs=1M count=8 status=none
sync

make_vdisk x2 xp 2 64M || tap_diag "snapshot activation failed"
tap_check "the snapshot mounts read-only" mount -t ext4 -o ro,noload /dev/mapper/x2 "$T/snap"
at_exit umount "$T/snap"
tap_check "it holds the tree as it was" [ "$(tree_sum "$T/snap")" = "$src" ]
umount "$T/snap"

pool_msg xp create_snap 3 2 || tap_diag "clone snapshot failed"
make_vdisk x3 xp 3 64M || tap_diag "clone activation failed"
tap_check "a clone of the snapshot mounts read-write" mount -t ext4 /dev/mapper/x3 "$T/clone"
at_exit umount "$T/clone"
rm -rf "$T/clone/selftests"
echo "second vm" > "$T/clone/hello"
umount "$T/clone"
umount "$T/mnt"
tap_check "fsck of the origin is clean" e2fsck -fn /dev/mapper/x1
tap_check "fsck of the clone is clean" e2fsck -fn /dev/mapper/x3
mount -t ext4 -o ro,noload /dev/mapper/x2 "$T/snap" || tap_diag "snapshot remount failed"
tap_check "the snapshot is still the original tree" [ "$(tree_sum "$T/snap")" = "$src" ]
umount "$T/snap"

tap_kernel_log_clean
tap_done
