// SPDX-License-Identifier: GPL-2.0
/*
 * The vdisk target: one per VM disk, backed by a vdisk-pool.
 *
 * Table line (the table length is the disk size):
 *   vdisk <pool dev> <vdisk id> [<#feature args> <arg>*]
 *
 * This file is the table side: it checks that the pool device is an active
 * vdisk-pool and that the vdisk exists, records a grown size, and reports
 * status.  The bio path is in dm-vdisk-io.c.
 */
#include "dm-vdisk.h"

#include <linux/blkdev.h>
#include <linux/module.h>
#include <linux/sched/mm.h>
#include <linux/percpu.h>
#include <linux/slab.h>

/*
 * Can a table of @ti's device map vdisk @id (md_lock held)?  Every loaded
 * table of the vdisk is on pool->vdisks, live or not.  Only one device may
 * hold the vdisk, and only once in a table: two targets of one vdisk have
 * two mapping caches, and copy-on-write through one would free a block the
 * other still writes in place.  The tables of one device (the live one and
 * a reload) are never live together: the new one resumes only after the old
 * one is suspended, and its preresume drops the old one's cache.
 */
static char *vdisk_claim_refusal(struct vdisk_pool *pool, u64 id, struct dm_target *ti)
{
	struct mapped_device *md = dm_table_get_md(ti->table);
	struct vdisk *vd;

	list_for_each_entry(vd, &pool->vdisks, list) {
		if (vd->id != id)
			continue;
		if (dm_table_get_md(vd->ti->table) != md)
			return "The vdisk is already active on another device";
		if (vd->ti->table == ti->table)
			return "The vdisk is mapped twice in this table";
	}
	return NULL;
}

/* vdisk <pool dev> <vdisk id> [<#feature args> <arg>*] */
static int vdisk_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	static const struct dm_arg feature_count = {
		0, 0, "Invalid number of vdisk feature arguments (no features are defined)"
	};
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	struct vd_pool_vdisk_info info;
	struct mapped_device *pool_md;
	unsigned int nr_features;
	struct vdisk_pool *pool;
	struct vdisk *vd;
	int r;

	if (argc < 2) {
		ti->error = "Invalid argument count: expected <pool dev> <vdisk id> [features]";
		return -EINVAL;
	}

	vd = kzalloc(sizeof(*vd), GFP_KERNEL);
	if (!vd) {
		ti->error = "Cannot allocate vdisk context";
		return -ENOMEM;
	}
	vd->ti = ti;
	INIT_LIST_HEAD(&vd->list);
	vdisk_cache_init(vd);
	vdisk_read_queue_init(vd);
	vdisk_census_init(vd);

	if (kstrtou64(argv[1], 10, &vd->id) || vd->id == U64_MAX) {
		ti->error = "Invalid vdisk id: expected a number below 2^64 - 1";
		r = -EINVAL;
		goto bad_free;
	}

	dm_consume_args(&as, 2);
	if (as.argc) {
		r = dm_read_arg_group(&feature_count, &as, &nr_features, &ti->error);
		if (r)
			goto bad_free;
	}
	if (as.argc) {
		ti->error = "Unexpected arguments after the vdisk features";
		r = -EINVAL;
		goto bad_free;
	}

	r = dm_get_device(ti, argv[0], FMODE_READ | FMODE_WRITE, &vd->pool_dev);
	if (r) {
		ti->error = "Cannot open pool device";
		goto bad_free;
	}
	pool_md = dm_get_md(vd->pool_dev->bdev->bd_dev);
	pool = pool_md ? vdisk_pool_find_get(pool_md) : NULL;
	if (pool_md)
		dm_put(pool_md);
	if (!pool) {
		ti->error = "Device is not an active vdisk-pool";
		r = -EINVAL;
		goto bad_pool_dev;
	}
	vd->pool = pool;

	if (vdisk_stats_alloc(vd) || vdisk_reserve_init(vd)) {
		ti->error = "Cannot allocate vdisk counters";
		r = -ENOMEM;
		goto bad_counters;
	}

	/*
	 * The constructor changes nothing that another table sees: the size
	 * of this table is recorded when it is resumed (vdisk_preresume()),
	 * while a reload leaves the live table as it is.
	 */
	vdisk_md_lock(pool);
	r = vd_pool_get_details(pool->pmd, vd->id, &info);
	if (r == -ENODATA || r == -ENOENT ||
	    (!r && (info.flags & VD_DISK_FLAG_DELETING))) {
		ti->error = "No such vdisk in the pool (create it with the create_vdisk message)";
		r = -ENOENT;
	} else if (r) {
		ti->error = "Cannot read the vdisk's details from the pool metadata";
	} else {
		ti->error = vdisk_claim_refusal(pool, vd->id, ti);
		if (ti->error) {
			DMERR("vdisk %llu: %s: refused", vd->id, ti->error);
			r = -EBUSY;
		}
	}
	if (!r)
		list_add(&vd->list, &pool->vdisks);
	up_write(&pool->md_lock);
	if (r)
		goto bad_counters;

	/*
	 * No max_io_len: map() trims each bio itself (dm-vdisk-io.c), so that
	 * cached reads of blocks contiguous on the data device go down whole.
	 */
	ti->private = vd;
	ti->num_flush_bios = 1;
	ti->flush_supported = true;
	ti->accounts_remapped_io = true;
	ti->per_io_data_size = sizeof(struct vdisk_bio);
	/* Unmaps whole blocks and zeroes the edges (dm-vdisk-io.c). */
	ti->num_write_zeroes_bios = 1;
	if (!pool->features.ignore_discard) {
		ti->num_discard_bios = 1;
		ti->discards_supported = true;
	}
	return 0;

bad_counters:
	vdisk_reserve_free(vd);
	vdisk_stats_free(vd);
	vdisk_pool_put(pool);
bad_pool_dev:
	dm_put_device(ti, vd->pool_dev);
bad_free:
	kfree(vd);
	return r;
}

static void vdisk_dtr(struct dm_target *ti)
{
	struct vdisk *vd = ti->private;
	struct vdisk_pool *pool = vd->pool;

	vdisk_census_stop(vd);
	vdisk_read_queue_stop(vd);
	/*
	 * Suspended: no fast-path write in flight, and vdisk_md_lock()
	 * inserted the completed ones, so nothing refers to @vd after this.
	 */
	vdisk_md_lock(pool);
	vdisk_reserve_release(pool, vd);
	list_del(&vd->list);
	vdisk_cache_drop_all(vd);
	up_write(&pool->md_lock);
	vdisk_reserve_free(vd);
	vdisk_stats_free(vd);
	vdisk_pool_put(pool);
	dm_put_device(ti, vd->pool_dev);
	kfree(vd);
}

/*
 * The table goes live: any other table of this vdisk (the one it replaces)
 * is suspended now and goes away after this resume, so its mapping cache
 * is dropped (vdisk_pool_forget_vdisk()) before this table's size is
 * recorded.  A shrink unmaps the blocks past the new end here, never while
 * a table that can still write there is live.
 */
static int vdisk_preresume_noio(struct dm_target *ti)
{
	struct vdisk *vd = ti->private;
	struct vdisk_pool *pool = vd->pool;
	struct vd_pool_vdisk_info info;
	bool resized = false;
	int r;

	vdisk_md_lock(pool);
	vdisk_pool_forget_vdisk(pool, vd->id);
	r = vd_pool_get_details(pool->pmd, vd->id, &info);
	if (r) {
		DMERR("vdisk %llu: cannot read its details (%d): resume refused", vd->id, r);
	} else if (info.size_sectors != ti->len && pool->mode >= VDISK_MODE_RO) {
		DMWARN("vdisk %llu: pool is %s: size %llu sectors not recorded (stays %llu)",
		       vd->id, vdisk_pool_mode_name(pool->mode),
		       (unsigned long long)ti->len, info.size_sectors);
	} else if (info.size_sectors != ti->len) {
		r = vd_pool_set_size(pool->pmd, vd->id, ti->len);
		if (r) {
			vdisk_pool_metadata_error(pool, "set vdisk size", r);
		} else {
			if (info.size_sectors && ti->len < info.size_sectors)
				DMINFO("vdisk %llu: shrunk from %llu to %llu sectors",
				       vd->id, info.size_sectors, (unsigned long long)ti->len);
			pool->dirty = true;
			pool->share_gen++;
			resized = true;
		}
	}
	up_write(&pool->md_lock);
	if (r)
		return r;
	return resized ? vdisk_pool_commit_sync(pool) : 0;
}

/* The device is suspended: no allocation may wait for its I/O. */
static int vdisk_preresume(struct dm_target *ti)
{
	unsigned int noio = memalloc_noio_save();
	int r = vdisk_preresume_noio(ti);

	memalloc_noio_restore(noio);
	return r;
}

/* Writes waiting for space must not hold the suspend up (dm-vdisk-io.c). */
static void vdisk_presuspend(struct dm_target *ti)
{
	struct vdisk *vd = ti->private;

	vdisk_suspend_no_space(vd, dm_noflush_suspending(ti) ?
			       VDISK_SUSPENDING_NOFLUSH : VDISK_SUSPENDING);
}

static void vdisk_presuspend_undo(struct dm_target *ti)
{
	vdisk_suspend_no_space(ti->private, VDISK_NOT_SUSPENDING);
}

static void vdisk_resume(struct dm_target *ti)
{
	vdisk_presuspend_undo(ti);
}

static int vdisk_map(struct dm_target *ti, struct bio *bio)
{
	struct vdisk *vd = ti->private;
	int r;

	/* vdisk_bio_map() counts the bio (vdisk_stats_bio_start()). */
	r = vdisk_bio_map(vd, bio);
	if (r == DM_MAPIO_KILL)
		vdisk_stats_bio_killed(vd, bio);
	return r;
}

static int vdisk_end_io(struct dm_target *ti, struct bio *bio, blk_status_t *error)
{
	struct vdisk *vd = ti->private;
	int r;

	r = vdisk_bio_end_io(vd, bio, error);
	/* A FUA write held for a commit comes back here once released. */
	if (r == DM_ENDIO_DONE)
		vdisk_stats_bio_done(vd, bio);
	return r;
}

/*
 * Status: <mapped blocks> <exclusive blocks|-> <shared blocks|->
 *         <highest mapped sector|-> <reads> <writes> <read bytes>
 *         <write bytes> <discards> <flushes> <fast writes>
 */
static void vdisk_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result,
			 unsigned int maxlen)
{
	struct vdisk *vd = ti->private;
	struct vd_pool_vdisk_info info;
	struct vdisk_stats_sum c;
	unsigned int sz = 0;
	u64 top, excl, shared;
	bool census = false;
	int r, rt;

	switch (type) {
	case STATUSTYPE_INFO:
		/* Completed fast-path writes count as mapped: insert them first. */
		vdisk_md_lock(vd->pool);
		downgrade_write(&vd->pool->md_lock);
		r = vd_pool_get_details(vd->pool->pmd, vd->id, &info);
		rt = r ? r : vd_pool_highest_mapped(vd->pool->pmd, vd->id, &top);
		if (!r)
			census = vdisk_census_get(vd, info.mapped_blocks, &excl, &shared);
		up_read(&vd->pool->md_lock);
		if (r || (rt && rt != -ENODATA)) {
			DMEMIT("Fail");
			break;
		}
		vdisk_stats_sum(vd, &c, false);
		DMEMIT("%llu ", info.mapped_blocks);
		if (census)
			DMEMIT("%llu %llu ", excl, shared);
		else
			DMEMIT("- - ");
		if (rt)
			DMEMIT("-");
		else
			DMEMIT("%llu", (top + 1) << vd->pool->block_shift);
		DMEMIT(" %llu %llu %llu %llu %llu %llu %llu",
		       c.reads, c.writes, c.read_bytes, c.write_bytes, c.discards,
		       c.flushes, c.fast_writes);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu", vd->pool_dev->name, vd->id);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

static void vdisk_io_hints(struct dm_target *ti, struct queue_limits *limits)
{
	struct vdisk *vd = ti->private;
	unsigned int block_bytes = vd->pool->block_sectors << SECTOR_SHIFT;

	limits->discard_granularity = block_bytes;
	limits->max_discard_sectors = UINT_MAX >> SECTOR_SHIFT;
	limits->max_hw_discard_sectors = limits->max_discard_sectors;
	/* The vdisk handles write-zeroes itself, whatever the data device's limit. */
	limits->max_write_zeroes_sectors = UINT_MAX >> SECTOR_SHIFT;
	blk_limits_io_min(limits, min_t(unsigned int, block_bytes, 4096));
	blk_limits_io_opt(limits, block_bytes);
}

/*
 * The vdisk's data lives on the pool device's data device: stacking the pool
 * device's limits gives the right alignment; io_hints then sets discard.
 */
static int vdisk_iterate_devices(struct dm_target *ti,
				 iterate_devices_callout_fn fn, void *data)
{
	struct vdisk *vd = ti->private;

	return fn(ti, vd->pool_dev, 0, bdev_nr_sectors(vd->pool_dev->bdev), data);
}

struct target_type vdisk_target = {
	.name = "vdisk",
	.version = {0, 3, 0},
	.module = THIS_MODULE,
	.ctr = vdisk_ctr,
	.dtr = vdisk_dtr,
	.presuspend = vdisk_presuspend,
	.presuspend_undo = vdisk_presuspend_undo,
	.preresume = vdisk_preresume,
	.resume = vdisk_resume,
	.map = vdisk_map,
	.end_io = vdisk_end_io,
	.status = vdisk_status,
	.io_hints = vdisk_io_hints,
	.iterate_devices = vdisk_iterate_devices,
};
