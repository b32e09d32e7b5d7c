/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdisk: module-wide declarations shared by the vdisk-pool and vdisk
 * targets.
 */
#ifndef DM_VDISK_H
#define DM_VDISK_H

#include <linux/device-mapper.h>
#include <linux/list.h>
#include <linux/types.h>

#define DM_MSG_PREFIX "vdisk"

/* Data block size limits, in 512-byte sectors: 4 KiB to 1 MiB, powers of two. */
#define VDISK_MIN_BLOCK_SECTORS 8
#define VDISK_MAX_BLOCK_SECTORS 2048
#define VDISK_DEFAULT_BLOCK_SECTORS 8

/* Pool features given on the table line (see Documentation/admin-guide/dm-vdisk.rst). */
struct vdisk_pool_features {
	bool error_if_no_space;
	bool ignore_discard;
	bool no_discard_passdown;
	bool read_only;
};

/*
 * One vdisk-pool target instance.  A pool is registered under the mapped
 * device that carries its table so that a vdisk table can check that the
 * device it names really is a pool.  Lifetime: from the pool constructor to
 * its destructor.  A vdisk table holds the pool device open (dm_get_device),
 * so device-mapper refuses to remove a pool device that still has vdisks.
 */
struct vdisk_pool {
	struct list_head list;		/* on vdisk_pool_registry, under its mutex */
	struct mapped_device *md;	/* the pool's own dm device */
	struct dm_target *ti;
	struct dm_dev *metadata_dev;
	struct dm_dev *data_dev;
	sector_t block_sectors;		/* data block size */
	u64 low_water_blocks;
	struct vdisk_pool_features features;
};

bool vdisk_pool_is_registered(dev_t pool_dev);

extern struct target_type vdisk_pool_target;
extern struct target_type vdisk_target;

#endif /* DM_VDISK_H */
