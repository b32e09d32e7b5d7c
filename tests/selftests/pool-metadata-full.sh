#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Metadata exhaustion: filling a tiny metadata device switches the pool to
# read-only with the reason no_metadata_space (no BUG, no corruption):
# writes fail, data committed before stays readable; growing the metadata
# device with a table reload makes the pool rw again; the metadata checks
# clean after deactivation and the pool activates again with all its data.
#
# vdisk-timeout: 240
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 12

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
modprobe loop 2>/dev/null	# loop_create needs it (not loaded by the rig)
T=$VDISK_TEST_TMP
M=$(loop_create "$T/mf-meta" 128K) D=$(loop_create "$T/mf-data" 64M)

make_pool mf "$M" "$D" 8 0 || tap_diag "pool failed"
pool_msg mf create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk m1 mf 1 64M || tap_diag "vdisk failed"
dd if=/dev/urandom of=/dev/mapper/m1 bs=64k count=4 oflag=direct status=none
flush_dev /dev/mapper/m1
sum=$(dev_sha256 /dev/mapper/m1 0 256K)
tap_diag "$(dmsetup status mf)"

dmesg_mark
fio --name=fill --filename=/dev/mapper/m1 --direct=1 --ioengine=libaio --iodepth=16 \
	--rw=randwrite --bs=4k --offset=1M --size=60M --randseed=5 --eta=never \
	> /dev/null 2>&1
tap_diag "$(dmsetup status mf)"
tap_check "the pool is read-only: no_metadata_space" \
	sh -c "[ \"\$(dmsetup status mf | awk '{print \$7, \$8}')\" = 'ro no_metadata_space' ]"
tap_check "the kernel log says why" \
	sh -c "dmesg | grep -q 'switching to ro mode: no_metadata_space'"
tap_check "writes fail" \
	sh -c "! dd if=/dev/zero of=/dev/mapper/m1 bs=4k count=1 seek=100 oflag=direct status=none 2>/dev/null"
tap_check "committed data is still readable" [ "$(dev_sha256 /dev/mapper/m1 0 256K)" = "$sum" ]
grow_meta() {
	truncate -s 4M "$T/mf-meta" && losetup -c "$M" &&
		dmsetup reload mf --table "0 $(dev_sectors "$D") vdisk-pool $M $D 8 0" &&
		dmsetup resume mf
}
tap_check "growing the metadata device by a table reload" grow_meta
tap_check "the pool is rw again" \
	sh -c "[ \"\$(dmsetup status mf | awk '{print \$7}')\" = rw ]"
tap_check "writes work again (fio verify 8M)" \
	fio_verify /dev/mapper/m1 8M --offset=32M --rw=randwrite --bs=4k
dm_remove m1
dm_remove mf
tap_check "vdisk-check clean after deactivation" vdisk_check "$M"
tap_check "the pool activates again" make_pool mf "$M" "$D" 8 0
make_vdisk m1 mf 1 64M || tap_diag "vdisk reactivation failed"
tap_check "with the data committed before the exhaustion" \
	[ "$(dev_sha256 /dev/mapper/m1 0 256K)" = "$sum" ]
tap_check "and the data written after growing" \
	fio_verify_only /dev/mapper/m1 8M --offset=32M --rw=randwrite --bs=4k

if dmesg_problems; then
	tap_fail "kernel log clean"
else
	tap_ok "kernel log clean"
fi
tap_done
