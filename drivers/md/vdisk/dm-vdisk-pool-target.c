// SPDX-License-Identifier: GPL-2.0
/*
 * The vdisk-pool target: owns a metadata device and a data device and hands
 * out per-VM virtual disks (the vdisk target) carved from them.
 *
 * Table line:
 *   vdisk-pool <metadata dev> <data dev> <data block size in sectors>
 *              <low water mark in blocks> [<#feature args> <arg>*]
 *
 * This file is the table side: parse and validate the line, find or create
 * the pool object (dm-vdisk-pool.c) for this mapped device, bind the table's
 * devices and features to it on resume, commit on suspend, report status
 * and dispatch messages (dm-vdisk-messages.c).
 */
#include "dm-vdisk.h"

#include <linux/blkdev.h>
#include <linux/log2.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

/*
 * Parse the optional feature arguments.  On error ti->error names the
 * offending argument; nothing has been acquired that needs releasing.
 */
static int vdisk_pool_parse_features(struct dm_arg_set *as,
				     struct vdisk_pool_features *features,
				     struct dm_target *ti)
{
	static const struct dm_arg feature_count = {
		0, 8, "Invalid number of pool feature arguments"
	};
	unsigned int argc;
	const char *arg;
	int r;

	features->no_space_timeout = VDISK_NO_SPACE_TIMEOUT_SECS;
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

		if (!strcasecmp(arg, "no_space_timeout")) {
			if (!argc || kstrtouint(dm_shift_arg(as), 10,
						&features->no_space_timeout) ||
			    features->no_space_timeout > VDISK_NO_SPACE_TIMEOUT_MAX) {
				ti->error = "Feature no_space_timeout needs seconds, 0 to 86400";
				return -EINVAL;
			}
			argc--;
			continue;
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
	struct mapped_device *md = dm_table_get_md(ti->table);
	struct vdisk_pool_c *pc;
	struct vdisk_pool *pool;
	sector_t data_blocks;
	unsigned long long low_water;
	fmode_t mode;
	int r;

	if (argc < 4) {
		ti->error = "Need <metadata dev> <data dev> <block size> <low water> [features]";
		return -EINVAL;
	}

	pc = kzalloc(sizeof(*pc), GFP_KERNEL);
	if (!pc) {
		ti->error = "Cannot allocate pool context";
		return -ENOMEM;
	}
	pc->ti = ti;

	r = vdisk_pool_parse_block_size(argv[2], &pc->block_sectors, ti);
	if (r)
		goto bad_free;

	if (kstrtoull(argv[3], 10, &low_water)) {
		ti->error = "Invalid low water mark: expected a number of data blocks";
		r = -EINVAL;
		goto bad_free;
	}
	pc->low_water_blocks = low_water;

	dm_consume_args(&as, 4);
	r = vdisk_pool_parse_features(&as, &pc->features, ti);
	if (r)
		goto bad_free;
	if (as.argc) {
		ti->error = "Unexpected arguments after the pool features";
		r = -EINVAL;
		goto bad_free;
	}

	mode = FMODE_READ;
	if (!pc->features.read_only)
		mode |= FMODE_WRITE;

	r = dm_get_device(ti, argv[0], mode, &pc->metadata_dev);
	if (r) {
		ti->error = "Cannot open metadata device";
		goto bad_free;
	}

	r = dm_get_device(ti, argv[1], mode, &pc->data_dev);
	if (r) {
		ti->error = "Cannot open data device";
		goto bad_metadata;
	}

	if (pc->metadata_dev->bdev == pc->data_dev->bdev) {
		ti->error = "Metadata and data devices must be different";
		r = -EINVAL;
		goto bad_data;
	}

	data_blocks = bdev_nr_sectors(pc->data_dev->bdev) >> ilog2(pc->block_sectors);
	if (!data_blocks) {
		ti->error = "Data device is smaller than one data block";
		r = -EINVAL;
		goto bad_data;
	}
	if (pc->low_water_blocks > data_blocks) {
		ti->error = "Low water mark is larger than the data device";
		r = -EINVAL;
		goto bad_data;
	}

	/* A reload of a live pool device reuses its pool object. */
	r = vdisk_pool_find_or_create(md, pc, &pool, &ti->error);
	if (r)
		goto bad_data;
	if (pool->metadata_bdev->bd_dev != pc->metadata_dev->bdev->bd_dev) {
		ti->error = "A pool table reload cannot change the metadata device";
		r = -EINVAL;
		goto bad_pool;
	}
	if (pool->data_bdev->bd_dev != pc->data_dev->bdev->bd_dev) {
		ti->error = "A pool table reload cannot change the data device";
		r = -EINVAL;
		goto bad_pool;
	}
	if (pool->block_sectors != pc->block_sectors) {
		ti->error = "A pool table reload cannot change the data block size";
		r = -EINVAL;
		goto bad_pool;
	}
	pc->pool = pool;

	ti->private = pc;
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	/*
	 * Passed to the data device like everything else.  Offering it lets
	 * the vdisks offer WRITE_ZEROES: device-mapper (6.1) turns it off for
	 * a table unless every device under it (for a vdisk, the pool
	 * device) has a non-zero write-zeroes limit.
	 */
	ti->num_write_zeroes_bios = 1;
	return 0;

bad_pool:
	vdisk_pool_put(pool);
bad_data:
	dm_put_device(ti, pc->data_dev);
bad_metadata:
	dm_put_device(ti, pc->metadata_dev);
bad_free:
	kfree(pc);
	return r;
}

static void vdisk_pool_dtr(struct dm_target *ti)
{
	struct vdisk_pool_c *pc = ti->private;
	struct vdisk_pool *pool = pc->pool;

	bool was_bound;

	mutex_lock(&pool->ti_mutex);
	was_bound = pool->ti == ti;
	if (was_bound)
		pool->ti = NULL;
	mutex_unlock(&pool->ti_mutex);
	vdisk_pool_commit_sync(pool);
	/*
	 * The bound table replaced by another target (an error table: dmsetup
	 * remove --force) while vdisks still use the pool: the pool object
	 * lives on without a table, so it must not stay "suspended" (no
	 * periodic commits, no reclaim) until its last vdisk goes.
	 */
	if (was_bound && pool->suspended) {
		pool->suspended = false;
		queue_delayed_work(pool->wq, &pool->waker, HZ);
		vdisk_pool_wake(pool);
	}
	vdisk_pool_put(pool);
	dm_put_device(ti, pc->data_dev);
	dm_put_device(ti, pc->metadata_dev);
	kfree(pc);
}

/*
 * A grown metadata device (md_lock held exclusive).  A pool short of
 * metadata space goes back to rw (vdisk_pool_check_metadata_space() sends it
 * back if the growth was not enough).  A pool that went read-only on a
 * rollback for lack of metadata space goes back to rw only if that rollback
 * dropped no acknowledged write: otherwise flushes must keep failing until
 * the pool is re-created.
 */
static int vdisk_pool_grow_metadata(struct vdisk_pool *pool, u64 cur_blocks)
{
	u64 blocks = bdev_nr_bytes(pool->metadata_bdev) >> VD_METADATA_BLOCK_SHIFT;
	bool was_full = pool->mode == VDISK_MODE_RO && pool->mode_reason &&
			!strcmp(pool->mode_reason, "no_metadata_space");
	int r;

	if (blocks <= cur_blocks || (pool->mode >= VDISK_MODE_RO && !was_full))
		return 0;
	if (was_full && pool->dropped_changes) {
		DMERR("pool %s: metadata grew, but a rollback lost acknowledged writes: staying ro",
		      dm_device_name(pool->md));
		return 0;
	}
	/* The block manager sized itself when it was created. */
	if (vd_bm_nr_blocks(pool->bm) < blocks)
		pool->bm->nr_blocks = blocks;
	r = vd_pool_resize_metadata(pool->pmd, blocks);
	if (r)
		return vdisk_pool_metadata_error(pool, "resize metadata", r);
	DMINFO("pool %s: metadata device grew from %llu to %llu blocks",
	       dm_device_name(pool->md), cur_blocks, blocks);
	pool->dirty = true;
	vdisk_pool_size_metadata_reserve(pool, blocks);
	pool->low_water_meta_raised = false;
	if (was_full) {
		DMINFO("pool %s: switching back to rw mode", dm_device_name(pool->md));
		WRITE_ONCE(pool->mode_reason, NULL);
		WRITE_ONCE(pool->mode, VDISK_MODE_RW);
	} else if (pool->mode == VDISK_MODE_OUT_OF_METADATA_SPACE) {
		vdisk_pool_set_mode(pool, VDISK_MODE_RW, NULL);
	}
	return 0;
}

/*
 * Refuse a resume that cannot work before changing anything: a refused
 * resume leaves the pool with the devices, features and sizes it had.
 */
static int vdisk_pool_check_resume(struct vdisk_pool *pool, struct vd_pool_usage *u)
{
	u64 data_blocks = bdev_nr_sectors(pool->data_bdev) >> pool->block_shift;
	u64 meta_blocks = bdev_nr_bytes(pool->metadata_bdev) >> VD_METADATA_BLOCK_SHIFT;
	int r;

	down_read(&pool->md_lock);
	r = vd_pool_get_usage(pool->pmd, u);
	up_read(&pool->md_lock);
	if (r) {
		DMERR("pool %s: cannot read the metadata usage (%d): resume refused",
		      dm_device_name(pool->md), r);
		return r;
	}
	if (data_blocks < u->nr_data_blocks) {
		DMERR("pool %s: data device shrank from %llu to %llu blocks: resume refused",
		      dm_device_name(pool->md), u->nr_data_blocks, data_blocks);
		return -EINVAL;
	}
	if (meta_blocks < u->nr_metadata_blocks) {
		DMERR("pool %s: metadata device shrank from %llu to %llu blocks: resume refused",
		      dm_device_name(pool->md), u->nr_metadata_blocks, meta_blocks);
		return -EINVAL;
	}
	return 0;
}

/*
 * Bind this table to the pool and pick up grown data and metadata devices.
 * Runs before the table goes live, with the previous table (if any)
 * suspended.
 */
static int vdisk_pool_preresume_noio(struct dm_target *ti)
{
	struct vdisk_pool_c *pc = ti->private;
	struct vdisk_pool *pool = pc->pool;
	u64 data_blocks = bdev_nr_sectors(pool->data_bdev) >> pool->block_shift;
	struct vd_pool_usage u;
	int r;

	r = vdisk_pool_check_resume(pool, &u);
	if (r)
		return r;

	mutex_lock(&pool->ti_mutex);
	pool->ti = ti;
	mutex_unlock(&pool->ti_mutex);

	vdisk_pool_try_reopen(pool, pc);
	vdisk_md_lock(pool);
	pool->features = pc->features;
	pool->low_water_blocks = pc->low_water_blocks;
	pool->low_water_raised = false;
	r = vd_pool_get_usage(pool->pmd, &u);
	if (!r && data_blocks > u.nr_data_blocks && pool->mode < VDISK_MODE_RO) {
		r = vd_pool_resize_data(pool->pmd, data_blocks);
		if (r) {
			vdisk_pool_metadata_error(pool, "resize data", r);
		} else {
			DMINFO("pool %s: data device grew from %llu to %llu blocks",
			       dm_device_name(pool->md), u.nr_data_blocks, data_blocks);
			pool->dirty = true;
			if (pool->mode == VDISK_MODE_OUT_OF_DATA_SPACE)
				vdisk_pool_set_mode(pool, VDISK_MODE_RW, NULL);
		}
	}
	if (!r)
		r = vdisk_pool_grow_metadata(pool, u.nr_metadata_blocks);
	up_write(&pool->md_lock);
	if (r)
		return r;
	r = vdisk_pool_commit_sync(pool);
	if (r)
		return r;
	vdisk_requeue_no_space(pool);
	return 0;
}

/* The device is suspended: no allocation may wait for its I/O. */
static int vdisk_pool_preresume(struct dm_target *ti)
{
	unsigned int noio = memalloc_noio_save();
	int r = vdisk_pool_preresume_noio(ti);

	memalloc_noio_restore(noio);
	return r;
}

static void vdisk_pool_resume(struct dm_target *ti)
{
	struct vdisk_pool_c *pc = ti->private;
	struct vdisk_pool *pool = pc->pool;

	pool->suspended = false;
	queue_delayed_work(pool->wq, &pool->waker, HZ);
	vdisk_pool_wake(pool);
}

static void vdisk_pool_postsuspend(struct dm_target *ti)
{
	struct vdisk_pool_c *pc = ti->private;
	struct vdisk_pool *pool = pc->pool;

	pool->suspended = true;
	cancel_delayed_work_sync(&pool->waker);
	flush_workqueue(pool->wq);
	vdisk_pool_commit_sync(pool);
	/* No discard of ours stays in flight while suspended. */
	vdisk_pool_wait_passdowns(pool);
}

/*
 * Like dm-thin's pool device, I/O sent to the pool device itself goes
 * straight to the data device; VMs use vdisk devices.
 */
static int vdisk_pool_map(struct dm_target *ti, struct bio *bio)
{
	struct vdisk_pool_c *pc = ti->private;

	bio_set_dev(bio, pc->data_dev->bdev);
	return DM_MAPIO_REMAPPED;
}

static unsigned int vdisk_pool_feature_count(const struct vdisk_pool_features *f)
{
	return f->error_if_no_space + f->ignore_discard +
	       f->no_discard_passdown + f->read_only + 2;	/* + no_space_timeout */
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
	DMEMIT(" no_space_timeout %u", f->no_space_timeout);
	*sz_ptr = sz;
}

/*
 * Status: <transaction id> <used>/<total metadata blocks>
 *         <used>/<total data blocks> <mode> <reason> <#features> <feature>*
 *         <needs_check|-> <metadata low water mark, blocks>
 */
static void vdisk_pool_status(struct dm_target *ti, status_type_t type,
			      unsigned int status_flags, char *result,
			      unsigned int maxlen)
{
	struct vdisk_pool_c *pc = ti->private;
	struct vdisk_pool *pool = pc->pool;
	enum vdisk_pool_mode mode;
	const char *reason;
	struct vd_pool_usage u;
	unsigned int sz = 0;
	int r;

	switch (type) {
	case STATUSTYPE_INFO:
		down_read(&pool->md_lock);
		r = vdisk_pool_get_usage(pool, &u);
		mode = pool->mode;
		reason = pool->mode_reason;
		up_read(&pool->md_lock);
		if (r) {
			DMEMIT("Fail");
			break;
		}
		DMEMIT("%llu %llu/%llu %llu/%llu %s %s ", u.transaction_id,
		       u.nr_metadata_blocks - u.nr_free_metadata_blocks,
		       u.nr_metadata_blocks,
		       u.nr_data_blocks - u.nr_free_data_blocks, u.nr_data_blocks,
		       vdisk_pool_mode_name(mode), reason ? reason : "-");
		vdisk_pool_emit_features(&pc->features, result, maxlen, &sz);
		DMEMIT(" %s %llu", u.needs_check ? "needs_check" : "-", pool->meta_low_water);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %s %llu %llu ", pc->metadata_dev->name,
		       pc->data_dev->name,
		       (unsigned long long)pc->block_sectors,
		       pc->low_water_blocks);
		vdisk_pool_emit_features(&pc->features, result, maxlen, &sz);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static int vdisk_pool_msg(struct dm_target *ti, unsigned int argc, char **argv,
			  char *result, unsigned int maxlen)
{
	struct vdisk_pool_c *pc = ti->private;

	return vdisk_pool_message(pc->pool, argc, argv, result, maxlen);
}

static int vdisk_pool_iterate_devices(struct dm_target *ti,
				      iterate_devices_callout_fn fn, void *data)
{
	struct vdisk_pool_c *pc = ti->private;

	return fn(ti, pc->data_dev, 0, ti->len, data);
}

struct target_type vdisk_pool_target = {
	.name = "vdisk-pool",
	.features = DM_TARGET_SINGLETON | DM_TARGET_ALWAYS_WRITEABLE,
	.version = {0, 2, 0},
	.module = THIS_MODULE,
	.ctr = vdisk_pool_ctr,
	.dtr = vdisk_pool_dtr,
	.map = vdisk_pool_map,
	.preresume = vdisk_pool_preresume,
	.resume = vdisk_pool_resume,
	.postsuspend = vdisk_pool_postsuspend,
	.status = vdisk_pool_status,
	.message = vdisk_pool_msg,
	.iterate_devices = vdisk_pool_iterate_devices,
};
