# SPDX-License-Identifier: GPL-2.0
# Objects of the persistent-data core.  VD_PDATA_SHARED_OBJS build both into
# dm-vdisk.ko and into userspace (userspace/Makefile, with the kshim headers);
# VD_PDATA_KERNEL_OBJS is what goes into the module (shared + dm-bufio block
# manager).  Paths are relative to persistent-data/.
VD_PDATA_SHARED_OBJS := \
	vd-block-manager.o \
	vd-validators.o \
	vd-transaction-manager.o \
	vd-space-map-disk.o \
	vd-btree.o \
	vd-btree-range.o \
	vd-btree-walk.o \
	vd-btree-value-types.o \
	vd-pool-metadata.o \
	vd-pool-vdisks.o \
	vd-pool-mappings.o \
	vd-pool-names.o \
	vd-pool-sharing.o \
	vd-check.o \
	vd-check-vdisks.o

VD_PDATA_KERNEL_OBJS := $(VD_PDATA_SHARED_OBJS) vd-block-manager-bufio.o
