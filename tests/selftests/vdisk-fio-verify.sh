#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Data integrity by content: fio with verify=crc32c (libaio, iodepth 16,
# several block sizes, randwrite and randrw) on a vdisk, on a clone of it,
# and on a pool with 64 KiB blocks where every 4 KiB write is a partial
# block (merge path, concurrent bios on one block).
#
# vdisk-timeout: 400
# vdisk-cost: 28 170
# vdisk-smp: 2
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-pool.sh"

tap_plan 13

modprobe dm-vdisk || tap_diag "modprobe dm-vdisk failed"
at_exit modprobe -r dm-vdisk
brd_setup 4 128M || tap_diag "brd_setup failed"

AIO="--ioengine=libaio --iodepth=16"
A1="--offset=0 --rw=randwrite --bs=4k"
A2="--offset=16M --rw=randwrite --bs=512"
A3="--offset=24M --rw=randrw --bs=64k"
A4="--offset=40M --rw=randwrite --bs=12k"
A5="--offset=56M --rw=randwrite --bs=16k"

make_pool fp /dev/ram0 /dev/ram1 8 0 || tap_diag "pool failed"
pool_msg fp create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk f1 fp 1 64M || tap_diag "vdisk failed"
V1=/dev/mapper/f1

# shellcheck disable=SC2086
{
tap_check "randwrite 4k, libaio qd16" fio_verify $V1 16M $AIO $A1
tap_check "randwrite 512 bytes (partial blocks)" fio_verify $V1 8M $AIO $A2
tap_check "randrw 64k (multi-block bios)" fio_verify $V1 16M $AIO $A3
tap_check "randwrite 12k (unaligned, block-crossing)" fio_verify $V1 12M $AIO $A4 --size=12M

dmsetup suspend f1
pool_msg fp create_snap 2 1 || tap_diag "create_snap failed"
dmsetup resume f1
make_vdisk f2 fp 2 64M || tap_diag "clone failed"
V2=/dev/mapper/f2
tap_check "clone holds the origin's data" fio_verify_only $V2 16M $AIO $A1
tap_check "randwrite 4k on the clone (copy-on-write)" \
	fio_verify $V2 16M $AIO $A1 --randseed=7
tap_check "randwrite 16k on the origin after the snapshot" fio_verify $V1 8M $AIO $A5
tap_check "origin still holds its 4k data" fio_verify_only $V1 16M $AIO $A1
tap_check "clone still holds the origin's 512-byte data" fio_verify_only $V2 8M $AIO $A2
tap_check "clone still holds the origin's 12k data" fio_verify_only $V2 12M $AIO $A4 --size=12M

make_pool fq /dev/ram2 /dev/ram3 128 0 || tap_diag "64k pool failed"
pool_msg fq create_vdisk 1 || tap_diag "create_vdisk failed"
make_vdisk g1 fq 1 32M || tap_diag "vdisk failed"
tap_check "64k blocks: randwrite 4k qd16 (merges, same-block bios)" \
	fio_verify /dev/mapper/g1 16M $AIO $A1
tap_check "64k blocks: randrw 8k" fio_verify /dev/mapper/g1 16M $AIO \
	--offset=16M --rw=randrw --bs=8k
}

tap_kernel_log_clean
tap_done
