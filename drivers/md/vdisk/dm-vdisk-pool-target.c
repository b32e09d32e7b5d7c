// SPDX-License-Identifier: GPL-2.0
/*
 * The vdisk-pool target: owns a metadata device and a data device and hands
 * out per-VM virtual disks (the vdisk target) carved from them.
 *
 * Table line:
 *   vdisk-pool <metadata dev> <data dev> <data block size in sectors>
 *              <low water mark in blocks> [<#feature args> <arg>*]
 *
 * This file parses and validates the table line and registers the pool so that
 * vdisk tables can find it.  The metadata engine is not wired in yet: the pool
 * reports itself read-only with the reason "metadata_not_implemented".
 */
#include "dm-vdisk.h"

#include <linux/blkdev.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>

/* All constructed pools; protected by vdisk_pool_registry_lock. */
static LIST_HEAD(vdisk_pool_registry);
static DEFINE_MUTEX(vdisk_pool_registry_lock);

bool vdisk_pool_is_registered(dev_t pool_dev)
{
	struct mapped_device *md = dm_get_md(pool_dev);
	struct vdisk_pool *pool;
	bool found = false;

	if (!md)
		return false;
	mutex_lock(&vdisk_pool_registry_lock);
	list_for_each_entry(pool, &vdisk_pool_registry, list) {
		if (pool->md == md) {
			found = true;
			break;
		}
	}
	mutex_unlock(&vdisk_pool_registry_lock);
	dm_put(md);
	return found;
}

/*
 * Parse the optional feature arguments.  On error ti->error names the
 * offending argument; nothing has been acquired that needs releasing.
 */
static int vdisk_pool_parse_features(struct dm_arg_set *as,
				     struct vdisk_pool_features *features,
				     struct dm_target *ti)
{
	static const struct dm_arg feature_count = {
		0, 5, "Invalid number of pool feature arguments"
	};
	unsigned int argc;
	const char *arg;
	int r;

	if (!as->argc)
		return 0;

	r = dm_read_arg_group(&feature_count, as, &argc, &ti->error);
	if (r)
		return -EINVAL;

	while (argc) {
		arg = dm_shift_arg(as);
		argc--;

		if (!strcasecmp(arg, "ssd_tier")) {
			/*
			 * Reserved syntax: "ssd_tier <dev>" names the SSD tier
			 * that inline deduplication will use.  Refuse it until
			 * the tier exists rather than silently ignoring it.
			 */
			if (!argc) {
				ti->error = "Feature ssd_tier needs a device argument";
				return -EINVAL;
			}
			ti->error = "Feature ssd_tier (dedup SSD tier) is not supported yet";
			return -EOPNOTSUPP;
		}

		if (!strcasecmp(arg, "error_if_no_space")) {
			features->error_if_no_space = true;
		} else if (!strcasecmp(arg, "ignore_discard")) {
			features->ignore_discard = true;
		} else if (!strcasecmp(arg, "no_discard_passdown")) {
			features->no_discard_passdown = true;
		} else if (!strcasecmp(arg, "read_only")) {
			features->read_only = true;
		} else {
			ti->error = "Unrecognised pool feature requested";
			return -EINVAL;
		}
	}
	return 0;
}

static int vdisk_pool_parse_block_size(const char *arg, sector_t *block_sectors,
				       struct dm_target *ti)
{
	unsigned long long v;

	if (kstrtoull(arg, 10, &v) || v < VDISK_MIN_BLOCK_SECTORS ||
	    v > VDISK_MAX_BLOCK_SECTORS || !is_power_of_2(v)) {
		ti->error = "Invalid data block size: need a power of two, 8 to 2048 sectors";
		return -EINVAL;
	}
	*block_sectors = v;
	return 0;
}

/*
 * vdisk-pool <metadata dev> <data dev> <block size> <low water mark>
 *            [<#feature args> <arg>*]
 */
static int vdisk_pool_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct vdisk_pool *pool;
	sector_t data_blocks;
	unsigned long long low_water;
	fmode_t mode;
	int r;

	if (argc < 4) {
		ti->error = "Need <metadata dev> <data dev> <block size> <low water> [features]";
		return -EINVAL;
	}

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool) {
		ti->error = "Cannot allocate pool context";
		return -ENOMEM;
	}
	pool->ti = ti;
	INIT_LIST_HEAD(&pool->list);

	r = vdisk_pool_parse_block_size(argv[2], &pool->block_sectors, ti);
	if (r)
		goto bad_free;

	if (kstrtoull(argv[3], 10, &low_water)) {
		ti->error = "Invalid low water mark: expected a number of data blocks";
		r = -EINVAL;
		goto bad_free;
	}
	pool->low_water_blocks = low_water;

	dm_consume_args(&as, 4);
	r = vdisk_pool_parse_features(&as, &pool->features, ti);
	if (r)
		goto bad_free;
	if (as.argc) {
		ti->error = "Unexpected arguments after the pool features";
		r = -EINVAL;
		goto bad_free;
	}

	mode = FMODE_READ;
	if (!pool->features.read_only)
		mode |= FMODE_WRITE;

	r = dm_get_device(ti, argv[0], mode, &pool->metadata_dev);
	if (r) {
		ti->error = "Cannot open metadata device";
		goto bad_free;
	}

	r = dm_get_device(ti, argv[1], mode, &pool->data_dev);
	if (r) {
		ti->error = "Cannot open data device";
		goto bad_metadata;
	}

	if (pool->metadata_dev->bdev == pool->data_dev->bdev) {
		ti->error = "Metadata and data devices must be different";
		r = -EINVAL;
		goto bad_data;
	}

	data_blocks = bdev_nr_sectors(pool->data_dev->bdev) >>
		      ilog2(pool->block_sectors);
	if (!data_blocks) {
		ti->error = "Data device is smaller than one data block";
		r = -EINVAL;
		goto bad_data;
	}
	if (pool->low_water_blocks > data_blocks) {
		ti->error = "Low water mark is larger than the data device";
		r = -EINVAL;
		goto bad_data;
	}

	pool->md = dm_table_get_md(ti->table);
	mutex_lock(&vdisk_pool_registry_lock);
	list_add(&pool->list, &vdisk_pool_registry);
	mutex_unlock(&vdisk_pool_registry_lock);

	ti->private = pool;
	ti->num_flush_bios = 1;
	return 0;

bad_data:
	dm_put_device(ti, pool->data_dev);
bad_metadata:
	dm_put_device(ti, pool->metadata_dev);
bad_free:
	kfree(pool);
	return r;
}

static void vdisk_pool_dtr(struct dm_target *ti)
{
	struct vdisk_pool *pool = ti->private;

	mutex_lock(&vdisk_pool_registry_lock);
	list_del(&pool->list);
	mutex_unlock(&vdisk_pool_registry_lock);

	dm_put_device(ti, pool->data_dev);
	dm_put_device(ti, pool->metadata_dev);
	kfree(pool);
}

/*
 * Like dm-thin's pool device, I/O sent to the pool device itself goes
 * straight to the data device; VMs use vdisk devices.
 */
static int vdisk_pool_map(struct dm_target *ti, struct bio *bio)
{
	struct vdisk_pool *pool = ti->private;

	bio_set_dev(bio, pool->data_dev->bdev);
	return DM_MAPIO_REMAPPED;
}

static unsigned int vdisk_pool_feature_count(const struct vdisk_pool_features *f)
{
	return f->error_if_no_space + f->ignore_discard +
	       f->no_discard_passdown + f->read_only;
}

static void vdisk_pool_emit_features(const struct vdisk_pool_features *f,
				     char *result, unsigned int maxlen,
				     unsigned int *sz_ptr)
{
	unsigned int sz = *sz_ptr;

	DMEMIT("%u", vdisk_pool_feature_count(f));
	if (f->error_if_no_space)
		DMEMIT(" error_if_no_space");
	if (f->ignore_discard)
		DMEMIT(" ignore_discard");
	if (f->no_discard_passdown)
		DMEMIT(" no_discard_passdown");
	if (f->read_only)
		DMEMIT(" read_only");
	*sz_ptr = sz;
}

/*
 * Status: <transaction id> <used>/<total metadata blocks>
 *         <used>/<total data blocks> <mode> <reason> <#features> <feature>*
 *         <needs_check|->
 */
static void vdisk_pool_status(struct dm_target *ti, status_type_t type,
			      unsigned int status_flags, char *result,
			      unsigned int maxlen)
{
	struct vdisk_pool *pool = ti->private;
	unsigned int sz = 0;
	u64 meta_blocks = bdev_nr_sectors(pool->metadata_dev->bdev) >> 3;
	u64 data_blocks = bdev_nr_sectors(pool->data_dev->bdev) >>
			  ilog2(pool->block_sectors);

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("0 0/%llu 0/%llu ro metadata_not_implemented ",
		       meta_blocks, data_blocks);
		vdisk_pool_emit_features(&pool->features, result, maxlen, &sz);
		DMEMIT(" -");
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %llu %llu ", pool->metadata_dev->name,
		       pool->data_dev->name,
		       (unsigned long long)pool->block_sectors,
		       pool->low_water_blocks);
		vdisk_pool_emit_features(&pool->features, result, maxlen, &sz);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int vdisk_pool_iterate_devices(struct dm_target *ti,
				      iterate_devices_callout_fn fn, void *data)
{
	struct vdisk_pool *pool = ti->private;

	return fn(ti, pool->data_dev, 0, ti->len, data);
}

struct target_type vdisk_pool_target = {
	.name = "vdisk-pool",
	.features = DM_TARGET_SINGLETON | DM_TARGET_ALWAYS_WRITEABLE,
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = vdisk_pool_ctr,
	.dtr = vdisk_pool_dtr,
	.map = vdisk_pool_map,
	.status = vdisk_pool_status,
	.iterate_devices = vdisk_pool_iterate_devices,
};
