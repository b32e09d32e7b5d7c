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
 *   block << 3 | pending << 2 | excl << 1
 *                           v maps to data block 'block'; 'excl' says no
 *                           other vdisk can reference the block, so a write
 *                           may go straight to it (no copy-on-write);
 *                           'pending' says the mapping is a fast-path write
 *                           that completed but is not in the B+tree yet
 *                           (dm-vdisk-fast-write.c).
 *
 * Pending entries are the only record of an acknowledged write until the
 * batched insert puts it into the B+tree, so nothing removes them but that
 * insert (vdisk_cache_settle(), which clears the bit), a rollback of the
 * transaction (vdisk_cache_drop_all()) and the vdisk's destructor: dropping
 * the cache, forgetting a range and the fills from metadata lookups all
 * leave them alone.  They are published from bio completion, possibly in
 * interrupt context, so the xarray's lock is irq-safe and every change here
 * takes it with interrupts off.
 *
 * Other entries are changed by the worker and the message handlers with
 * pool->md_lock held (exclusive for anything that changes a mapping or
 * exclusivity), so they never disagree with the metadata except for a
 * window the in-flight epochs cover (dm-vdisk-pool.c):
 *   - excl is set only for a block just allocated for this vdisk;
 *   - taking a snapshot of the vdisk, or aborting a transaction, drops the
 *     cache under md_lock exclusive;
 *   - unmapping (discard) removes the entries before the blocks can be
 *     freed by a commit.
 * The cache is bounded: past VDISK_CACHE_MAX_ENTRIES it is dropped and
 * refilled on demand.  A dropped entry may have been "exclusive" for a
 * fast-path write still in flight; refilled from the metadata it is not
 * (excl is only known for blocks the worker just allocated), so the next
 * write to that block takes copy-on-write, which must not read the old
 * block before those writes completed: vdisk_cache_drop() raises the
 * pool's copy-on-write barrier (dm-vdisk-pool.c).
 */
#include "dm-vdisk.h"

#include <linux/bits.h>

#define VDISK_CACHE_UNMAPPED BIT(0)
#define VDISK_CACHE_EXCL BIT(1)
#define VDISK_CACHE_PENDING BIT(2)
#define VDISK_CACHE_SHIFT 3
#define VDISK_CACHE_MAX_ENTRIES 1048576UL	/* about 10 MiB of xarray */

void vdisk_cache_init(struct vdisk *vd)
{
	xa_init_flags(&vd->cache, XA_FLAGS_LOCK_IRQ);
	atomic_long_set(&vd->cache_entries, 0);
}

static bool entry_pending(void *e)
{
	return xa_is_value(e) && (xa_to_value(e) & VDISK_CACHE_PENDING);
}

/*
 * Remove the entries of [first, last] that are not pending.  xa_for_each()
 * may run while the array changes; each entry goes only if it is still the
 * one seen (a completion may have published a pending entry over it).
 */
static void cache_remove(struct vdisk *vd, unsigned long first, unsigned long last)
{
	unsigned long index, flags;
	void *e;

	xa_for_each_range(&vd->cache, index, e, first, last) {
		if (entry_pending(e))
			continue;
		xa_lock_irqsave(&vd->cache, flags);
		if (__xa_cmpxchg(&vd->cache, index, e, NULL, 0) == e)
			atomic_long_dec(&vd->cache_entries);
		xa_unlock_irqrestore(&vd->cache, flags);
		cond_resched();
	}
}

/*
 * Forget every entry but the pending ones (md_lock held exclusive, or @vd
 * not in use yet; or shared, by a lookup's fill that found the cache over
 * its bound: cache_store(), possibly on a read queue beside the worker).
 * The entries may have said "exclusive" to fast-path writes still in
 * flight: the next copy-on-write waits for them (vdisk_pool_cow_barrier()).
 * A drop under shared is over, cow_barrier set, before the worker's next
 * exclusive section, where it decides whether a write copies.
 */
void vdisk_cache_drop(struct vdisk *vd)
{
	cache_remove(vd, 0, ULONG_MAX);
	if (vd->pool)
		WRITE_ONCE(vd->pool->cow_barrier, true);
}

/* Forget everything, pending entries too: a rollback, or @vd goes away. */
void vdisk_cache_drop_all(struct vdisk *vd)
{
	xa_destroy(&vd->cache);
	atomic_long_set(&vd->cache_entries, 0);
	if (vd->pool)
		WRITE_ONCE(vd->pool->cow_barrier, true);
}

static int decode(void *e, vd_blk_t *block, bool *excl)
{
	unsigned long v;

	if (!e || !xa_is_value(e))
		return -ENOENT;
	v = xa_to_value(e);
	if (v & VDISK_CACHE_UNMAPPED)
		return -ENODATA;
	*block = v >> VDISK_CACHE_SHIFT;
	*excl = v & VDISK_CACHE_EXCL;
	return 0;
}

int vdisk_cache_lookup(struct vdisk *vd, u64 vblock, vd_blk_t *block, bool *excl)
{
	if (vblock > ULONG_MAX)
		return -ENOENT;
	return decode(xa_load(&vd->cache, vblock), block, excl);
}

static unsigned long mapped_value(vd_blk_t block, bool excl)
{
	return ((unsigned long)block << VDISK_CACHE_SHIFT) | (excl ? VDISK_CACHE_EXCL : 0);
}

/*
 * Store @v at @vblock (xarray lock held), unless a pending entry is there
 * (and, with @only_if_absent, unless anything is).  0, or -ENOMEM.
 */
static int store_locked(struct vdisk *vd, u64 vblock, unsigned long v, bool only_if_absent,
			gfp_t gfp)
{
	void *old = xa_load(&vd->cache, vblock);

	if (old && (only_if_absent || entry_pending(old)))
		return 0;
	old = __xa_store(&vd->cache, vblock, xa_mk_value(v), gfp);
	if (xa_is_err(old))
		return xa_err(old);
	if (!old)
		atomic_long_inc(&vd->cache_entries);
	return 0;
}

static void cache_store(struct vdisk *vd, u64 vblock, unsigned long v, bool only_if_absent)
{
	unsigned long flags;

	if (vblock > ULONG_MAX)
		return;
	if (atomic_long_read(&vd->cache_entries) > VDISK_CACHE_MAX_ENTRIES)
		vdisk_cache_drop(vd);
	xa_lock_irqsave(&vd->cache, flags);
	/* No memory: the block just stays uncached. */
	store_locked(vd, vblock, v, only_if_absent, GFP_NOWAIT | __GFP_NOWARN);
	xa_unlock_irqrestore(&vd->cache, flags);
}

/* A mapping the worker just changed (md_lock held exclusive). */
void vdisk_cache_set(struct vdisk *vd, u64 vblock, vd_blk_t block, bool excl)
{
	cache_store(vd, vblock, mapped_value(block, excl), false);
}

/* A mapping read from the metadata: never replaces a newer entry. */
void vdisk_cache_fill(struct vdisk *vd, u64 vblock, vd_blk_t block)
{
	cache_store(vd, vblock, mapped_value(block, false), true);
}

void vdisk_cache_fill_unmapped(struct vdisk *vd, u64 vblock)
{
	cache_store(vd, vblock, VDISK_CACHE_UNMAPPED, true);
}

/*
 * A fast-path write of [vblock, vblock + nr) to [block, block + nr)
 * completed: publish it as pending and exclusive, so that reads see it
 * before the batched insert.  Any context (bio completion).  -ENOMEM if an
 * entry could not be stored (the entries stored so far stay: the caller
 * then inserts before completing).
 */
int vdisk_cache_publish(struct vdisk *vd, u64 vblock, vd_blk_t block, unsigned int nr)
{
	unsigned long flags, v;
	unsigned int i;
	void *old;
	int r = 0;

	if (vblock + nr - 1 > ULONG_MAX)
		return -ENOMEM;
	xa_lock_irqsave(&vd->cache, flags);
	for (i = 0; i < nr && !r; i++) {
		v = mapped_value(block + i, true) | VDISK_CACHE_PENDING;
		old = __xa_store(&vd->cache, vblock + i, xa_mk_value(v), GFP_ATOMIC | __GFP_NOWARN);
		if (xa_is_err(old))
			r = xa_err(old);
		else if (!old)
			atomic_long_inc(&vd->cache_entries);
	}
	xa_unlock_irqrestore(&vd->cache, flags);
	return r;
}

/*
 * The batched insert put [vblock, vblock + nr) -> [block, ...) into the
 * B+tree (md_lock held exclusive): the entries become ordinary exclusive
 * ones, unless a newer fast-path write of the block is pending (its own
 * insert comes later and settles it).
 */
void vdisk_cache_settle(struct vdisk *vd, u64 vblock, vd_blk_t block, unsigned int nr)
{
	unsigned long flags, v;
	unsigned int i;
	void *old;

	if (vblock + nr - 1 > ULONG_MAX)
		return;
	xa_lock_irqsave(&vd->cache, flags);
	for (i = 0; i < nr; i++) {
		v = mapped_value(block + i, true);
		old = xa_load(&vd->cache, vblock + i);
		if (entry_pending(old) && xa_to_value(old) != (v | VDISK_CACHE_PENDING))
			continue;
		old = __xa_store(&vd->cache, vblock + i, xa_mk_value(v), GFP_NOWAIT | __GFP_NOWARN);
		if (!xa_is_err(old) && !old)
			atomic_long_inc(&vd->cache_entries);
	}
	xa_unlock_irqrestore(&vd->cache, flags);
}

/* Forget [begin, end) (before the blocks may be freed), pending entries excepted. */
void vdisk_cache_forget(struct vdisk *vd, u64 begin, u64 end)
{
	if (begin > ULONG_MAX)
		return;
	if (end - 1 > ULONG_MAX)
		end = (u64)ULONG_MAX + 1;
	cache_remove(vd, begin, end - 1);
}
