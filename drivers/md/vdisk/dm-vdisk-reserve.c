// SPDX-License-Identifier: GPL-2.0
/*
 * Per-vdisk reserves of free data blocks: what lets a whole-block write
 * allocate in map() (dm-vdisk-fast-write.c) without the metadata lock.
 *
 * The worker allocates the blocks of a reserve in the current transaction
 * (md_lock held exclusive) and appends them to the vdisk's ring; map()
 * takes a run of contiguous blocks from its head under the reserve's
 * spinlock.  Each vdisk has its own ring, filled from the allocator's
 * cursor a few hundred blocks at a time, so a vdisk written sequentially
 * gets long runs of consecutive blocks even while others write too.
 *
 * Sizing (rsv->want, the refill target): VDISK_RESERVE_START at first,
 * doubled when a refill is asked before the last one ran out, never under
 * twice the largest write seen (rsv->demand: a 1 MiB write needs 256
 * blocks at once, or it goes to the worker, to be sent down from there in
 * runs: vdisk_fast_write_whole()), and shrunk at
 * a commit that gives most of it back: to twice what the transaction took,
 * or by half if it took nothing.
 * Every block refilled and given back unused costs two reference-count
 * updates, which a sync-write workload (a commit every write) pays per
 * fsync: its reserve settles at VDISK_RESERVE_MIN.
 *
 * Invariants:
 *  - A commit never records an allocated block that nothing maps: before
 *    a commit the worker closes every reserve (map() takes nothing more),
 *    waits until the fast-path writes in flight (pool->fast_inflight)
 *    completed and were inserted, and gives the unused blocks back
 *    (vdisk_reserve_release_all(); they become allocatable again after
 *    the commit, like every freed block).  Reserves reopen after it.
 *  - Space accounting stays exact: a block in a reserve is counted in
 *    pool->reserved_blocks and reported free (vdisk_pool_get_usage());
 *    taken by map() it is in use.  Reserves are only refilled while the
 *    pool has plenty of free data and metadata space; on a nearly full
 *    pool the worker allocates what each write needs when it needs it
 *    (one block, or a whole write's run: vdisk_reserve_fill_for()), which
 *    applies the low-water mark and the out-of-space policy exactly.
 *  - Writes of one vdisk never take both paths at once: while a write of
 *    the vdisk is in the worker (rsv.slow_writes), map() takes no block,
 *    and the worker starts such a write only once the vdisk has no
 *    fast-path write in flight (vdisk_reserve_slow_may_start()).  So the
 *    worker's read-modify-write and copy-on-write, which decide from the
 *    metadata, always see every completed fast-path write.
 *  - A rollback frees every block of the dropped transaction, the
 *    reserves' too: vdisk_reserve_drop_all() empties them before
 *    pool->fast_gen moves, so a write that took a block before sees the
 *    old generation at completion and fails instead of publishing it.
 */
#include "dm-vdisk.h"

#include <linux/slab.h>

int vdisk_reserve_init(struct vdisk *vd)
{
	struct vdisk_reserve *rsv = &vd->rsv;

	spin_lock_init(&rsv->lock);
	rsv->want = VDISK_RESERVE_START;
	rsv->ring = kvmalloc_array(VDISK_RESERVE_MAX, sizeof(*rsv->ring), GFP_KERNEL);
	return rsv->ring ? 0 : -ENOMEM;
}

void vdisk_reserve_free(struct vdisk *vd)
{
	kvfree(vd->rsv.ring);
	vd->rsv.ring = NULL;
}

static vd_blk_t ring_at(struct vdisk_reserve *rsv, unsigned int i)
{
	return rsv->ring[(rsv->head + i) % VDISK_RESERVE_MAX];
}

/*
 * map() takes nothing while a write of the vdisk is in the worker (see
 * above).  The worker itself may take blocks for such a write while other
 * writes of the vdisk are in it (vdisk_fast_write_from_worker()), just not
 * while one waits for the fast-path writes to drain, which would starve it.
 */
int vdisk_reserve_take(struct vdisk *vd, unsigned int max, bool from_worker, vd_blk_t *block,
		       unsigned int *nr, unsigned int *gen)
{
	struct vdisk_reserve *rsv = &vd->rsv;
	struct vdisk_pool *pool = vd->pool;
	unsigned long flags;
	unsigned int n = 0;
	bool wake = false;
	vd_blk_t b = 0;

	spin_lock_irqsave(&rsv->lock, flags);
	if (max > rsv->demand)
		rsv->demand = min_t(unsigned int, max, VDISK_RESERVE_MAX / 4);
	if (rsv->open && rsv->nr && (from_worker ? !rsv->slow_waiting : !rsv->slow_writes)) {
		b = ring_at(rsv, 0);
		for (n = 1; n < max && n < rsv->nr && ring_at(rsv, n) == b + n; n++)
			;
		rsv->head = (rsv->head + n) % VDISK_RESERVE_MAX;
		rsv->nr -= n;
		rsv->taken += n;
		rsv->inflight++;
		atomic_inc(&pool->fast_inflight);
		atomic_long_sub(n, &pool->reserved_blocks);
		/* Under the lock: see vdisk_reserve_drop_all(). */
		*gen = READ_ONCE(pool->fast_gen);
	} else if (!rsv->nr) {
		/* Wanted and empty: refilled after the next commit too. */
		rsv->missed = true;
	}
	/*
	 * Low: under half the target, or too little for two more of the
	 * largest writes (the refill runs while the next one takes the rest).
	 */
	if ((rsv->nr < rsv->want / 2 || rsv->nr < 2 * rsv->demand) && !rsv->refill_asked &&
	    (from_worker || !rsv->slow_writes)) {
		rsv->refill_asked = true;
		wake = true;
	}
	spin_unlock_irqrestore(&rsv->lock, flags);
	if (wake) {
		WRITE_ONCE(pool->refill_wanted, true);
		vdisk_pool_wake(pool);
	}
	if (!n)
		return -EAGAIN;
	*block = b;
	*nr = n;
	return 0;
}

/* A fast-path write completed and was queued (called under pool->lock). */
void vdisk_reserve_write_done(struct vdisk *vd)
{
	struct vdisk_reserve *rsv = &vd->rsv;
	struct vdisk_pool *pool = vd->pool;
	bool wake = false;
	unsigned long flags;

	spin_lock_irqsave(&rsv->lock, flags);
	if (!--rsv->inflight && rsv->slow_waiting) {
		rsv->slow_waiting = false;
		wake = true;
	}
	spin_unlock_irqrestore(&rsv->lock, flags);
	/* A commit waits for the last one (vdisk_pool_do_work()). */
	if (atomic_dec_and_test(&pool->fast_inflight) && READ_ONCE(pool->fast_closed))
		wake = true;
	if (wake)
		vdisk_pool_wake(pool);
}

void vdisk_reserve_slow_start(struct vdisk *vd, struct bio *bio)
{
	struct vdisk_reserve *rsv = &vd->rsv;
	unsigned long flags;

	spin_lock_irqsave(&rsv->lock, flags);
	rsv->slow_writes++;
	spin_unlock_irqrestore(&rsv->lock, flags);
	vdisk_bio_data(bio)->slow_counted = true;
}

void vdisk_reserve_slow_done(struct vdisk *vd, struct bio *bio)
{
	struct vdisk_reserve *rsv = &vd->rsv;
	unsigned long flags;

	spin_lock_irqsave(&rsv->lock, flags);
	rsv->slow_writes--;
	spin_unlock_irqrestore(&rsv->lock, flags);
	vdisk_bio_data(bio)->slow_counted = false;
}

bool vdisk_reserve_slow_may_start(struct vdisk *vd)
{
	struct vdisk_reserve *rsv = &vd->rsv;
	bool ok;

	spin_lock_irq(&rsv->lock);
	ok = !rsv->inflight;
	if (!ok)
		rsv->slow_waiting = true;
	spin_unlock_irq(&rsv->lock);
	return ok;
}

/* Free data blocks a pool keeps beyond a refill (8 MiB of 4 KiB blocks). */
#define VDISK_RESERVE_SPARE 2048

/*
 * May the reserves grow by @n blocks?  Only with room to spare: free data
 * blocks for four times that and VDISK_RESERVE_SPARE more, above the
 * low-water mark (a fixed margin, not the ring's size, so that a small
 * pool still fills its reserves), and metadata for
 * about two updates per block (a random write shadows a leaf and a
 * reference-count block) besides what the pool already promised.
 */
static bool room_for(struct vdisk_pool *pool, unsigned int n)
{
	u64 allocatable, need;
	struct vd_pool_usage u;

	if (vd_pool_get_usage(pool->pmd, &u))
		return false;
	if (u.nr_free_data_blocks < (u64)n * 4 + pool->low_water_blocks + VDISK_RESERVE_SPARE)
		return false;
	vd_pool_metadata_space(pool->pmd, &allocatable, &need);
	need += (u64)pool->nr_prov * 12 + (pool->fast_blocks + n) * 2 + pool->meta_reserve * 2;
	return allocatable >= need;
}

/*
 * Allocate up to @n blocks (md_lock held exclusive) and append them to
 * @vd's ring, skipping blocks whose discard is still in flight.  0 with
 * blocks added, -ENOSPC if no data block was free, -EBUSY if every one
 * allocated was skipped, -EIO after a metadata error (raised here).
 */
static int ring_fill(struct vdisk_pool *pool, struct vdisk *vd, unsigned int n)
{
	struct vdisk_reserve *rsv = &vd->rsv;
	unsigned int tail, i, j, added = 0;
	vd_blk_t b, first;
	u32 run;
	int r = 0;

	spin_lock_irq(&rsv->lock);
	n = min(n, VDISK_RESERVE_MAX - rsv->nr);
	/* Only this worker appends, so head + nr stays put while map() takes. */
	tail = rsv->head + rsv->nr;
	spin_unlock_irq(&rsv->lock);
	/* Runs of blocks: one refcount bitmap shadow takes a whole run. */
	for (i = 0; i < n; i += run) {
		r = vd_pool_alloc_data_blocks(pool->pmd, n - i, &first, &run);
		if (r == -ENOSPC)
			break;
		if (r) {
			vdisk_pool_metadata_error(pool, "allocate reserve", r);
			return -EIO;
		}
		for (j = 0; j < run; j++) {
			b = first + j;
			if (vdisk_pool_passdown_busy(pool, b)) {
				/* Its discard is in flight: not for a write from map(). */
				r = vd_pool_release_unused_data_block(pool->pmd, b);
				if (r) {
					vdisk_pool_metadata_error(pool, "release reserve", r);
					return -EIO;
				}
				continue;
			}
			rsv->ring[(tail + added) % VDISK_RESERVE_MAX] = b;
			added++;
		}
	}
	pool->dirty = true;
	if (!added)
		return r == -ENOSPC ? -ENOSPC : -EBUSY;
	pool->fast_blocks += added;
	atomic_long_add(added, &pool->reserved_blocks);
	spin_lock_irq(&rsv->lock);
	rsv->nr += added;
	rsv->open = !pool->fast_closed;
	spin_unlock_irq(&rsv->lock);
	return 0;
}

static void refill_one(struct vdisk_pool *pool, struct vdisk *vd)
{
	struct vdisk_reserve *rsv = &vd->rsv;
	unsigned int n;

	spin_lock_irq(&rsv->lock);
	rsv->refill_asked = false;
	/*
	 * Asked again before the last refill ran out: serve bigger ones; and
	 * always enough for two of the largest writes seen, so that a
	 * stream of large writes finds its next run in the ring instead of
	 * going to the worker while a refill is on its way.
	 */
	if (rsv->nr && rsv->want < VDISK_RESERVE_MAX / 2)
		rsv->want *= 2;
	rsv->want = max(rsv->want, 2 * rsv->demand);
	n = rsv->want > rsv->nr ? rsv->want - rsv->nr : 0;
	spin_unlock_irq(&rsv->lock);
	if (n && room_for(pool, n))
		ring_fill(pool, vd, n);
}

/*
 * A whole write in the worker (vdisk_fast_write_whole()) found @vd's
 * reserve empty: fill it now.  With room to spare this is an ordinary
 * refill, sized for the write (rsv->demand); on a pool too full for
 * reserves (room_for()) it is exactly the @nr blocks the write needs, with
 * the checks the worker applies to a one-block allocation (metadata room,
 * the low-water mark), and the write takes them at once: so a nearly full
 * pool still allocates only what its writes need, and reaches its
 * low-water mark and out-of-space policy exactly.
 * 0 with blocks in the ring; -EAGAIN no free data block but reserves hold
 * some (a commit gives them back); -ENOSPC no free data block; -EDQUOT no
 * metadata room; -EBUSY only blocks under a discard (later); -EIO.
 */
int vdisk_reserve_fill_for(struct vdisk_pool *pool, struct vdisk *vd, unsigned int nr)
{
	struct vdisk_reserve *rsv = &vd->rsv;
	u64 before, added;
	bool room;
	int r;

	vdisk_md_lock(pool);
	if (pool->mode == VDISK_MODE_RW && !pool->fast_closed && rsv->ring) {
		/* Sized for this write, as vdisk_reserve_take() would have. */
		spin_lock_irq(&rsv->lock);
		rsv->demand = max(rsv->demand, min_t(unsigned int, nr, VDISK_RESERVE_MAX / 4));
		spin_unlock_irq(&rsv->lock);
		refill_one(pool, vd);
		if (READ_ONCE(rsv->nr)) {
			r = 0;
			goto out;
		}
	}
	if (pool->mode >= VDISK_MODE_RO || !rsv->ring) {
		r = -EIO;
		goto out;
	}
	/* The inserts these blocks will need count like the reserves' (room_for()). */
	pool->fast_blocks += nr;
	room = vdisk_pool_metadata_room(pool, 1, false);
	pool->fast_blocks -= nr;
	if (!room) {
		r = -EDQUOT;
		goto out;
	}
	before = pool->fast_blocks;
	r = ring_fill(pool, vd, nr);
	if (r == -EIO)
		goto out;	/* the rollback dropped every reserve */
	if (r == -ENOSPC && pool->fast_blocks)
		r = -EAGAIN;
	/*
	 * The write takes these blocks at once: the low-water mark counts them
	 * used already (md_lock keeps the count from anyone who reads it).
	 */
	added = r ? 0 : pool->fast_blocks - before;
	atomic_long_sub(added, &pool->reserved_blocks);
	vdisk_pool_check_low_water(pool);
	atomic_long_add(added, &pool->reserved_blocks);
out:
	up_write(&pool->md_lock);
	return r;
}

bool vdisk_reserve_slow_waiting(struct vdisk *vd)
{
	return READ_ONCE(vd->rsv.slow_waiting);
}

void vdisk_reserve_refill(struct vdisk_pool *pool)
{
	struct vdisk *vd;

	lockdep_assert_held_write(&pool->md_lock);
	if (pool->fast_closed || pool->mode != VDISK_MODE_RW)
		return;
	list_for_each_entry(vd, &pool->vdisks, list) {
		if (READ_ONCE(vd->rsv.refill_asked) && vd->rsv.ring)
			refill_one(pool, vd);
		if (pool->mode != VDISK_MODE_RW)
			break;
	}
	vdisk_pool_check_low_water(pool);
}

/*
 * A commit gave every reserve back (vdisk_reserve_release_all()); the
 * vdisks that were writing get theirs back at once, in the new transaction,
 * so that their next write after a flush, the common case of a sync-write
 * workload, takes the fast path instead of waiting for a refill.  Called
 * after the commit published its freed blocks for discard, so that none of
 * those is taken (refill_one() skips them).  A reserve a write found
 * empty counts as used: otherwise a sync-write workload whose write once
 * missed it (it went through the worker, taking nothing) found it empty
 * after every commit from then on.  A reserve that was not used
 * since the previous commit stays empty: an idle pool settles clean after
 * one more commit.
 */
void vdisk_reserve_refill_after_commit(struct vdisk_pool *pool)
{
	struct vdisk *vd;

	lockdep_assert_held_write(&pool->md_lock);
	list_for_each_entry(vd, &pool->vdisks, list) {
		struct vdisk_reserve *rsv = &vd->rsv;
		bool used;

		if (pool->mode != VDISK_MODE_RW)
			break;
		if (!rsv->ring)
			continue;
		spin_lock_irq(&rsv->lock);
		used = rsv->taken || rsv->missed;
		rsv->taken = 0;
		rsv->missed = false;
		spin_unlock_irq(&rsv->lock);
		if (used)
			refill_one(pool, vd);
	}
}

static void set_open_all(struct vdisk_pool *pool, bool open)
{
	struct vdisk *vd;

	down_read(&pool->md_lock);
	list_for_each_entry(vd, &pool->vdisks, list) {
		spin_lock_irq(&vd->rsv.lock);
		vd->rsv.open = open && vd->rsv.nr;
		spin_unlock_irq(&vd->rsv.lock);
	}
	up_read(&pool->md_lock);
}

void vdisk_reserve_close_all(struct vdisk_pool *pool)
{
	if (pool->fast_closed)
		return;
	WRITE_ONCE(pool->fast_closed, true);
	set_open_all(pool, false);
}

void vdisk_reserve_open_all(struct vdisk_pool *pool)
{
	WRITE_ONCE(pool->fast_closed, false);
	set_open_all(pool, true);
	/* Refills asked for while closed were skipped: serve them now. */
	WRITE_ONCE(pool->refill_wanted, true);
	vdisk_pool_wake(pool);
}

/* Take @vd's unused blocks out of its ring: *first (ring index) and *n. */
static void ring_take_all(struct vdisk *vd, unsigned int *first, unsigned int *n)
{
	struct vdisk_reserve *rsv = &vd->rsv;

	spin_lock_irq(&rsv->lock);
	*first = rsv->head;
	*n = rsv->nr;
	rsv->nr = 0;
	rsv->open = false;
	/*
	 * Most of it unused: the next refills are smaller, sized to what this
	 * transaction took if it took any (a sync-write workload takes a block
	 * or two between commits, and every block refilled after a commit and
	 * given back at the next costs two reference-count updates per fsync),
	 * else half as big (a vdisk that paused, or only read, keeps most of
	 * its size for when it writes again); large writes are forgotten by
	 * half.
	 */
	if (*n > rsv->want / 2) {
		unsigned int want = rsv->want / 2;

		if (rsv->taken)
			want = min(want, 2 * rsv->taken);
		rsv->want = max_t(unsigned int, VDISK_RESERVE_MIN, want);
		rsv->demand /= 2;
	}
	spin_unlock_irq(&rsv->lock);
}

int vdisk_reserve_release(struct vdisk_pool *pool, struct vdisk *vd)
{
	unsigned int first, n, i, part;
	int r = 0;

	lockdep_assert_held_write(&pool->md_lock);
	if (!vd->rsv.ring || pool->mode >= VDISK_MODE_RO)
		return 0;
	ring_take_all(vd, &first, &n);
	/*
	 * At most two stretches of the ring (it wraps); the blocks of each are
	 * mostly one run, so this is a visit or two of one refcount bitmap
	 * per commit, not one per block (a sync-write workload pays it per
	 * fsync).
	 */
	for (i = 0; i < n && !r; i += part) {
		unsigned int at = (first + i) % VDISK_RESERVE_MAX;

		part = min(n - i, VDISK_RESERVE_MAX - at);
		r = vd_pool_release_unused_data_blocks(pool->pmd, vd->rsv.ring + at, part);
	}
	if (r)
		return vdisk_pool_metadata_error(pool, "release reserve", r);
	if (n) {
		pool->fast_blocks -= n;
		atomic_long_sub(n, &pool->reserved_blocks);
		pool->reserves_released = true;
	}
	return 0;
}

int vdisk_reserve_release_all(struct vdisk_pool *pool)
{
	struct vdisk *vd;
	int r = 0;

	list_for_each_entry(vd, &pool->vdisks, list) {
		r = vdisk_reserve_release(pool, vd);
		if (r)
			break;
	}
	return r;
}

void vdisk_reserve_drop_all(struct vdisk_pool *pool)
{
	unsigned int first, n;
	unsigned long flags;
	struct vdisk *vd;

	list_for_each_entry(vd, &pool->vdisks, list)
		if (vd->rsv.ring)
			ring_take_all(vd, &first, &n);
	atomic_long_set(&pool->reserved_blocks, 0);
	pool->fast_blocks = 0;
	spin_lock_irqsave(&pool->lock, flags);
	pool->fast_gen++;
	spin_unlock_irqrestore(&pool->lock, flags);
}
