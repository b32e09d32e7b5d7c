// SPDX-License-Identifier: GPL-2.0
/*
 * The vdisk target: one per VM disk, backed by a vdisk-pool.
 *
 * Table line (the table length is the disk size):
 *   vdisk <pool dev> <vdisk id> [<#feature args> <arg>*]
 *
 * This file parses and validates the table line and checks that the pool
 * device really is a vdisk-pool.  Until the metadata engine is wired in,
 * every block reads as zeros and writes fail, which matches the pool's
 * read-only "metadata_not_implemented" status.
 */
#include "dm-vdisk.h"

#include <linux/atomic.h>
#include <linux/module.h>
#include <linux/slab.h>

/* Per-vdisk I/O counters reported in the status line. */
struct vdisk_io_counters {
	atomic64_t reads;
	atomic64_t writes;
	atomic64_t read_bytes;
	atomic64_t write_bytes;
	atomic64_t discards;
	atomic64_t flushes;
};

struct vdisk {
	struct dm_dev *pool_dev;
	u64 id;
	struct vdisk_io_counters io;
};

/* vdisk <pool dev> <vdisk id> [<#feature args> <arg>*] */
static int vdisk_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	static const struct dm_arg feature_count = {
		0, 0, "Invalid number of vdisk feature arguments (no features are defined)"
	};
	struct dm_arg_set as = { .argc = argc, .argv = argv };
	unsigned int nr_features;
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
	if (!vdisk_pool_is_registered(vd->pool_dev->bdev->bd_dev)) {
		ti->error = "Device is not an active vdisk-pool";
		r = -EINVAL;
		goto bad_pool;
	}

	ti->private = vd;
	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	return 0;

bad_pool:
	dm_put_device(ti, vd->pool_dev);
bad_free:
	kfree(vd);
	return r;
}

static void vdisk_dtr(struct dm_target *ti)
{
	struct vdisk *vd = ti->private;

	dm_put_device(ti, vd->pool_dev);
	kfree(vd);
}

static void vdisk_count_bio(struct vdisk_io_counters *io, struct bio *bio)
{
	if (bio->bi_opf & REQ_PREFLUSH)
		atomic64_inc(&io->flushes);

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		atomic64_inc(&io->reads);
		atomic64_add(bio->bi_iter.bi_size, &io->read_bytes);
		break;
	case REQ_OP_WRITE:
		if (bio->bi_iter.bi_size) {
			atomic64_inc(&io->writes);
			atomic64_add(bio->bi_iter.bi_size, &io->write_bytes);
		}
		break;
	case REQ_OP_DISCARD:
	case REQ_OP_WRITE_ZEROES:
		atomic64_inc(&io->discards);
		break;
	default:
		break;
	}
}

static int vdisk_map(struct dm_target *ti, struct bio *bio)
{
	struct vdisk *vd = ti->private;

	vdisk_count_bio(&vd->io, bio);

	if (bio_op(bio) == REQ_OP_READ) {
		zero_fill_bio(bio);
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	/* An empty flush has nothing to persist while nothing can be written. */
	if (op_is_flush(bio->bi_opf) && !bio_sectors(bio)) {
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	return DM_MAPIO_KILL;
}

/*
 * Status: <mapped blocks> <exclusive blocks> <shared blocks>
 *         <highest mapped sector|-> <reads> <writes> <read bytes>
 *         <write bytes> <discards> <flushes>
 */
static void vdisk_status(struct dm_target *ti, status_type_t type,
			 unsigned int status_flags, char *result,
			 unsigned int maxlen)
{
	struct vdisk *vd = ti->private;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		DMEMIT("0 0 0 - %lld %lld %lld %lld %lld %lld",
		       atomic64_read(&vd->io.reads), atomic64_read(&vd->io.writes),
		       atomic64_read(&vd->io.read_bytes),
		       atomic64_read(&vd->io.write_bytes),
		       atomic64_read(&vd->io.discards),
		       atomic64_read(&vd->io.flushes));
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu", vd->pool_dev->name, vd->id);
		break;
	case STATUSTYPE_IMA:
		*result = '\0';
		break;
	}
}

struct target_type vdisk_target = {
	.name = "vdisk",
	.version = {0, 1, 0},
	.module = THIS_MODULE,
	.ctr = vdisk_ctr,
	.dtr = vdisk_dtr,
	.map = vdisk_map,
	.status = vdisk_status,
};
