// SPDX-License-Identifier: GPL-2.0
/*
 * Per-vdisk mapping cache: the lock-free read (and overwrite) fast path.
 *
 * map() runs inside the submitter's submit_bio context, where waiting for a
 * metadata read would deadlock (the read would only be issued after map()
 * returns) and where a pool-wide lock would serialise every CPU.  So map()
 * never calls into the metadata: it looks the block up in this cache, an
 * xarray of value entries (RCU-safe xa_load, no lock), and hands misses to
 * the worker, which looks the block up in the metadata and fills the cache.
 *
 * Entry for virtual block v:
 *   absent                  unknown: ask the worker
 *   VDISK_CACHE_UNMAPPED    v is not mapped (reads return zeros)
 *   block << 2 | excl << 1  v maps to data block 'block'; 'excl' says no
 *                           other vdisk can reference the block, so a write
 *                           may go straight to it (no copy-on-write).
 *
 * Only the worker and the message handler change entries, always with
 * pool->md_lock held (exclusive for anything that changes a mapping or
 * exclusivity), so an entry never disagrees with the metadata except for
 * a window the in-flight epochs cover (dm-vdisk-pool.c):
 *   - excl is set only for a block the worker has just allocated for this
 *     vdisk and inserted, under md_lock exclusive;
 *   - taking a snapshot of the vdisk, or aborting a transaction, drops the
 *     whole cache under md_lock exclusive;
 *   - unmapping (discard) replaces the entries before the blocks can be
 *     freed by a commit.
 * The cache is bounded: past VDISK_CACHE_MAX_ENTRIES it is simply dropped
 * and refilled on demand.  A dropped entry may have been "exclusive" for a
 * fast-path write still in flight; refilled from the metadata it is not
 * (excl is only known for blocks the worker just allocated), so the next
 * write to that block takes copy-on-write, which must not read the old
 * block before those writes completed: vdisk_cache_drop() raises the
 * pool's copy-on-write barrier (dm-vdisk-pool.c).
 */
#include "dm-vdisk.h"

#include <linux/bits.h>

#define VDISK_CACHE_UNMAPPED BIT(0)
#define VDISK_CACHE_MAX_ENTRIES 1048576UL	/* about 10 MiB of xarray */

void vdisk_cache_init(struct vdisk *vd)
{
	xa_init(&vd->cache);
	atomic_long_set(&vd->cache_entries, 0);
}

/*
 * Forget every entry (md_lock held exclusive, or @vd not in use yet).  The
 * entries may have said "exclusive" to fast-path writes still in flight:
 * the next copy-on-write waits for them (vdisk_pool_cow_barrier()).
 */
void vdisk_cache_drop(struct vdisk *vd)
{
	xa_destroy(&vd->cache);
	atomic_long_set(&vd->cache_entries, 0);
	if (vd->pool)
		WRITE_ONCE(vd->pool->cow_barrier, true);
}

int vdisk_cache_lookup(struct vdisk *vd, u64 vblock, vd_blk_t *block, bool *excl)
{
	void *e;
	unsigned long v;

	if (vblock > ULONG_MAX)
		return -ENOENT;
	e = xa_load(&vd->cache, vblock);
	if (!e || !xa_is_value(e))
		return -ENOENT;
	v = xa_to_value(e);
	if (v & VDISK_CACHE_UNMAPPED)
		return -ENODATA;
	*block = v >> 2;
	*excl = v & 2;
	return 0;
}

static void cache_store(struct vdisk *vd, u64 vblock, unsigned long v)
{
	void *old;

	if (vblock > ULONG_MAX)
		return;
	if (atomic_long_read(&vd->cache_entries) > VDISK_CACHE_MAX_ENTRIES)
		vdisk_cache_drop(vd);
	old = xa_store(&vd->cache, vblock, xa_mk_value(v), GFP_NOIO);
	if (xa_is_err(old))
		return;	/* no memory: the block just stays uncached */
	if (!old)
		atomic_long_inc(&vd->cache_entries);
}

void vdisk_cache_set(struct vdisk *vd, u64 vblock, vd_blk_t block, bool excl)
{
	cache_store(vd, vblock, ((unsigned long)block << 2) | (excl ? 2 : 0));
}

void vdisk_cache_set_unmapped(struct vdisk *vd, u64 vblock)
{
	cache_store(vd, vblock, VDISK_CACHE_UNMAPPED);
}

/* Forget [begin, end) (before the blocks may be freed). */
void vdisk_cache_forget(struct vdisk *vd, u64 begin, u64 end)
{
	unsigned long index;
	void *e;

	if (begin > ULONG_MAX)
		return;
	if (end - 1 > ULONG_MAX)
		end = (u64)ULONG_MAX + 1;
	xa_for_each_range(&vd->cache, index, e, begin, end - 1) {
		xa_erase(&vd->cache, index);
		atomic_long_dec(&vd->cache_entries);
	}
}
