// SPDX-License-Identifier: GPL-2.0
/*
 * The pool object: open metadata, the worker and commit logic.  A pool is
 * keyed by its mapped_device and shared by every vdisk-pool table loaded
 * into that device, so a table reload or a suspend/resume keeps the open
 * metadata, the queued work and the vdisks' view of the pool.  It goes away
 * with its last reference (pool tables and vdisk tables each hold one).
 */
#include "dm-vdisk.h"

#include <linux/blkdev.h>
#include <linux/completion.h>
#include <linux/delay.h>
#include <linux/log2.h>
#include <linux/percpu.h>
#include <linux/bsearch.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/vmalloc.h>

/* All pools; protected by vdisk_pool_registry_lock, as is pool->ref. */
static LIST_HEAD(vdisk_pool_registry);
static DEFINE_MUTEX(vdisk_pool_registry_lock);
/*
 * Serialises pool creation (outside the registry lock: creation reads and
 * may format metadata), so that the device-conflict check and the
 * registration of a new pool are one step.
 */
static DEFINE_MUTEX(vdisk_pool_create_lock);

/* Simultaneous metadata block locks (btree depth x a few per operation). */
#define VDISK_BM_MAX_HELD 64
/* Copy-on-write states kept in reserve (prov_pool, page_pool). */
#define VDISK_PROV_RESERVE 4
/* Periodic commit interval. */
#define VDISK_COMMIT_PERIOD HZ

const char *vdisk_pool_mode_name(enum vdisk_pool_mode mode)
{
	switch (mode) {
	case VDISK_MODE_RW:
		return "rw";
	case VDISK_MODE_OUT_OF_DATA_SPACE:
		return "out_of_data_space";
	case VDISK_MODE_OUT_OF_METADATA_SPACE:
		return "out_of_metadata_space";
	case VDISK_MODE_RO:
		return "ro";
	case VDISK_MODE_FAIL:
		return "fail";
	}
	return "fail";
}

struct vdisk_pool *vdisk_pool_find_get(struct mapped_device *md)
{
	struct vdisk_pool *pool, *found = NULL;

	mutex_lock(&vdisk_pool_registry_lock);
	list_for_each_entry(pool, &vdisk_pool_registry, list) {
		if (pool->md == md) {
			pool->ref++;
			found = pool;
			break;
		}
	}
	mutex_unlock(&vdisk_pool_registry_lock);
	return found;
}

/*
 * A cursor over the registry for netlink walks: dev_t order stays stable
 * while pools come and go.  A pool on the registry has its mapped_device
 * alive (every reference holder keeps it: the pool's own tables, the vdisk
 * tables that hold it open, netlink callers through dm_get_md()).
 */
dev_t vdisk_pool_next_devt(dev_t after)
{
	struct vdisk_pool *pool;
	dev_t devt, best = 0;

	mutex_lock(&vdisk_pool_registry_lock);
	list_for_each_entry(pool, &vdisk_pool_registry, list) {
		devt = disk_devt(dm_disk(pool->md));
		if (devt > after && (!best || devt < best))
			best = devt;
	}
	mutex_unlock(&vdisk_pool_registry_lock);
	return best;
}

void vdisk_pool_get(struct vdisk_pool *pool)
{
	mutex_lock(&vdisk_pool_registry_lock);
	pool->ref++;
	mutex_unlock(&vdisk_pool_registry_lock);
}

/* ---------------- in-flight epochs ---------------- */

/*
 * Every data I/O that uses a mapping it looked up is counted in the current
 * epoch until it completes.  Before a commit makes freed data blocks
 * reusable, and before copy-on-write reads a block that the fast path may
 * still be writing (vdisk_pool_cow_barrier()), vdisk_io_drain() starts a new
 * epoch and waits for the old one to empty, so no I/O can still be aimed at
 * a block that another vdisk may be given next.
 *
 * An I/O counted in an epoch must complete without the worker's help: the
 * worker itself drains the epoch before its commits.
 *
 * Ordering:
 *  - An I/O reads the epoch and counts itself inside one RCU read-side
 *    section; the drain flips the epoch and then waits for a grace period
 *    before summing the old slot.  So an I/O that read the old epoch has
 *    counted itself by the time the sum is taken: none can land in a slot
 *    already summed (and be missed by the next drain, which sums the other
 *    slot).
 *  - An I/O counts itself, smp_mb(), then reads the mapping (cache or
 *    metadata).  The worker changes the mapping (or drops the cache entry)
 *    before the flip, smp_mb() between the two.  So an I/O that counted
 *    itself in the new epoch sees the new mapping.
 *  - The counters are per-cpu and an I/O may leave on another CPU than it
 *    entered.  After the grace period the old slot only decreases, so a sum
 *    read CPU by CPU is never below the true count: 0 means empty.
 */
int vdisk_io_enter(struct vdisk_pool *pool)
{
	int slot;

	rcu_read_lock();
	slot = READ_ONCE(pool->epoch) & 1;
	this_cpu_inc(pool->inflight->n[slot]);
	rcu_read_unlock();
	smp_mb();	/* count before looking up; pairs with vdisk_io_drain() */
	return slot;
}

void vdisk_io_exit(struct vdisk_pool *pool, int slot)
{
	this_cpu_dec(pool->inflight->n[slot]);
}

static long vdisk_io_count(struct vdisk_pool *pool, int slot)
{
	long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += READ_ONCE(per_cpu_ptr(pool->inflight, cpu)->n[slot]);
	return sum;
}

/* Called with commit_mutex held: one drain at a time. */
static void vdisk_io_drain(struct vdisk_pool *pool)
{
	int old;

	lockdep_assert_held(&pool->commit_mutex);
	vdisk_md_lock(pool);
	old = pool->epoch & 1;
	smp_mb();	/* mapping changes before the flip */
	WRITE_ONCE(pool->epoch, pool->epoch + 1);
	up_write(&pool->md_lock);
	/* Every I/O that read the old epoch has counted itself after this. */
	synchronize_rcu_expedited();
	while (vdisk_io_count(pool, old) > 0)
		usleep_range(100, 200);
}

/*
 * Worker, before copy-on-write reads an old block: if a mapping cache lost
 * entries since the last barrier (vdisk_cache_drop() sets
 * pool->cow_barrier, under md_lock: exclusive, or shared by a fill over
 * the cache's bound, done before the worker's exclusive section decided
 * to copy), fast-path writes that used those "exclusive" hints may still
 * be in flight to the old block; wait for them, or the copy would miss
 * acknowledged data.
 */
void vdisk_pool_cow_barrier(struct vdisk_pool *pool)
{
	if (!READ_ONCE(pool->cow_barrier))
		return;
	WRITE_ONCE(pool->cow_barrier, false);
	mutex_lock(&pool->commit_mutex);
	vdisk_io_drain(pool);
	mutex_unlock(&pool->commit_mutex);
}

/*
 * md_lock held exclusive: every table of vdisk @id forgets its cached
 * mappings (a table replacing another, a snapshot of it).
 */
void vdisk_pool_forget_vdisk(struct vdisk_pool *pool, u64 id)
{
	struct vdisk *vd;

	list_for_each_entry(vd, &pool->vdisks, list)
		if (vd->id == id)
			vdisk_cache_drop(vd);
}

/* ---------------- modes and events ---------------- */

void vdisk_pool_set_mode(struct vdisk_pool *pool, enum vdisk_pool_mode mode,
			 const char *reason)
{
	if (pool->mode == mode && pool->mode_reason == reason)
		return;
	/* Once failed or read-only, only a reload (new pool object) heals. */
	if (pool->mode > mode && pool->mode >= VDISK_MODE_RO)
		return;
	if (mode >= VDISK_MODE_RO || pool->mode >= VDISK_MODE_RO)
		DMERR("pool %s: switching to %s mode: %s",
		      dm_device_name(pool->md), vdisk_pool_mode_name(mode), reason);
	else
		DMINFO("pool %s: switching to %s mode%s%s",
		       dm_device_name(pool->md), vdisk_pool_mode_name(mode),
		       reason ? ": " : "", reason ? reason : "");
	WRITE_ONCE(pool->mode, mode);
	WRITE_ONCE(pool->mode_reason, reason);
	if (mode >= VDISK_MODE_RO)
		vdisk_fail_no_space(pool);
	vdisk_pool_raise_event(pool);
	vdisk_event_pool_mode(pool, mode, reason);
}

void vdisk_pool_raise_event(struct vdisk_pool *pool)
{
	mutex_lock(&pool->ti_mutex);
	if (pool->ti)
		dm_table_event(pool->ti->table);
	mutex_unlock(&pool->ti_mutex);
}

/*
 * A metadata operation failed (called with md_lock held exclusive).  Out of
 * metadata space and I/O errors both leave the transaction half done: roll
 * back to the last commit and stop changing the metadata.  Returns @r.
 */
int vdisk_pool_metadata_error(struct vdisk_pool *pool, const char *op, int r)
{
	struct vdisk *vd;
	const char *reason;
	int ar;

	reason = r == -ENOSPC ? "no_metadata_space" : "metadata_error";
	DMERR("pool %s: metadata %s failed (%d)", dm_device_name(pool->md), op, r);
	ar = vd_pool_abort(pool->pmd);
	/*
	 * Mappings of the dropped transaction are gone, pending ones too, and
	 * so are the reserves' blocks: forget them (dm-vdisk-reserve.c).
	 */
	vdisk_reserve_drop_all(pool);
	list_for_each_entry(vd, &pool->vdisks, list)
		vdisk_cache_drop_all(vd);
	pool->nr_freed = 0;
	pool->share_gen++;
	/* Before dirty is cleared: see vdisk_bio_end_io() (FUA writes). */
	if (pool->dirty)
		WRITE_ONCE(pool->dropped_changes, true);
	smp_wmb();	/* dropped_changes before dirty: pairs with fua_must_wait() */
	WRITE_ONCE(pool->dirty, false);
	if (ar) {
		vdisk_pool_set_mode(pool, VDISK_MODE_FAIL, "metadata_abort_failed");
		return r;
	}
	vdisk_pool_set_mode(pool, VDISK_MODE_RO, reason);
	if (vd_pool_is_read_only(pool->pmd))
		return r;
	/*
	 * Record the rollback on disk now, since a read-only pool never
	 * commits again: the last committed state once more, under a number
	 * past the dropped transaction's (vd_pool_abort()), flagged
	 * needs_check unless only space ran out, so that the next activation
	 * stays read-only until vdisk-check has looked.  Only the superblock
	 * changes; every commit runs under md_lock held exclusive, as here.
	 */
	if (r != -ENOSPC) {
		pool->needs_check_io_only = r == -EIO &&
			(pool->needs_check_io_only || !vd_pool_needs_check(pool->pmd));
		vd_pool_set_needs_check(pool->pmd);
	}
	ar = vd_pool_commit(pool->pmd);
	if (ar)
		DMERR("pool %s: cannot record the rollback%s on the metadata device (%d)",
		      dm_device_name(pool->md), r != -ENOSPC ? " and needs_check" : "", ar);
	return r;
}

/* ---------------- metadata space ---------------- */

/*
 * Metadata exhaustion must never force a rollback of acknowledged writes.
 * So every change is admitted only while the metadata blocks this
 * transaction can still allocate cover, with room to spare:
 *   - what the commit will allocate (vd_pool_usage.metadata_commit_cost),
 *   - VDISK_META_PER_CHANGE blocks for each allocation whose mapping is not
 *     inserted yet (pool->nr_prov) and for the change itself,
 *   - the reserve, min(4096, max(16, total / 10)) blocks, like dm-thin's,
 *     for what the estimates miss.
 * A write refused this way first asks for a commit (which makes the blocks
 * the transaction shadowed reusable); if that is not enough the pool goes
 * out_of_metadata_space and queues or fails new allocations like it does
 * for data space, until the metadata device grows or space is freed.
 * Changes that free metadata (delete, reclaim) may use the reserve.
 */
#define VDISK_META_PER_CHANGE 12
/* The smallest metadata device a pool accepts: 1 MiB. */
#define VDISK_MIN_METADATA_BLOCKS 256

void vdisk_pool_size_metadata_reserve(struct vdisk_pool *pool, u64 total)
{
	pool->meta_reserve = clamp_t(u64, total / 10, 16, 4096);
	pool->meta_low_water = pool->meta_reserve + min_t(u64, 1024, total / 4);
}

/* md_lock held.  May a change needing about @nr metadata updates start? */
bool vdisk_pool_metadata_room(struct vdisk_pool *pool, unsigned int nr, bool use_reserve)
{
	u64 allocatable, need;

	vd_pool_metadata_space(pool->pmd, &allocatable, &need);
	need += (u64)(pool->nr_prov + nr) * VDISK_META_PER_CHANGE;
	/* The inserts the fast path owes (dm-vdisk-reserve.c, room_for()). */
	need += pool->fast_blocks * 2;
	if (!use_reserve)
		need += pool->meta_reserve;
	return allocatable >= need;
}

/*
 * Once per crossing of a low water mark (@raised remembers it): log, raise
 * the dm table event and return true so that the caller sends its netlink
 * event.
 */
static bool low_water_crossed(struct vdisk_pool *pool, bool *raised, u64 free, u64 mark,
			      const char *what)
{
	if (free > mark) {
		*raised = false;
		return false;
	}
	if (*raised)
		return false;
	*raised = true;
	DMWARN("pool %s: reached low water mark for %s device: sending event",
	       dm_device_name(pool->md), what);
	vdisk_pool_raise_event(pool);
	return true;
}

int vdisk_pool_get_usage(struct vdisk_pool *pool, struct vd_pool_usage *u)
{
	int r = vd_pool_get_usage(pool->pmd, u);

	if (!r)
		u->nr_free_data_blocks += atomic_long_read(&pool->reserved_blocks);
	return r;
}

/* Raise the low-water-mark events once per crossing (md_lock held). */
void vdisk_pool_check_low_water(struct vdisk_pool *pool)
{
	struct vd_pool_usage u;

	if (vdisk_pool_get_usage(pool, &u))
		return;
	if (low_water_crossed(pool, &pool->low_water_meta_raised, u.nr_free_metadata_blocks,
			      pool->meta_low_water, "metadata"))
		vdisk_event_metadata_low_water(pool, u.nr_free_metadata_blocks);
	if (low_water_crossed(pool, &pool->low_water_raised, u.nr_free_data_blocks,
			      pool->low_water_blocks, "data"))
		vdisk_event_low_water(pool, u.nr_free_data_blocks);
}

void vdisk_pool_wake(struct vdisk_pool *pool)
{
	queue_work(pool->wq, &pool->worker);
}

/*
 * A deletion was committed (and its event sent): free its blocks in the
 * background.  Started only now so that SPACE_RECLAIMED follows
 * VDISK_DELETED.
 */
void vdisk_pool_start_reclaim(struct vdisk_pool *pool)
{
	vdisk_md_lock(pool);
	pool->reclaim_pending = true;
	up_write(&pool->md_lock);
	vdisk_pool_wake(pool);
}

static void vdisk_pool_waker(struct work_struct *ws)
{
	struct vdisk_pool *pool = container_of(to_delayed_work(ws), struct vdisk_pool, waker);

	vdisk_pool_wake(pool);
	queue_delayed_work(pool->wq, &pool->waker, VDISK_COMMIT_PERIOD);
}

/* ---------------- commit ---------------- */

/*
 * Discard passdown of the blocks a commit freed runs asynchronously: the
 * commit hands the freed list to a batch, issues one discard per run of
 * blocks and goes on; the batch goes away when its last discard completed.
 *
 * Invariant: a freed block is never passed down after new data was written
 * to it.  The batch is published on pool->passdowns (sorted, under
 * pool->lock) before the commit drops md_lock, that is before any
 * allocation can return its blocks (allocations take md_lock exclusive and
 * only see freed blocks once committed).  process_write() checks every
 * block it allocates with vdisk_pool_passdown_busy() and holds the write
 * back on pool->passdown_held until that block's batch completed, so the
 * data device never sees the discard after (or concurrently with) the new
 * data.  Allocations of other blocks, and all other I/O, go on meanwhile.
 */
struct vdisk_passdown {
	struct list_head list;		/* on pool->passdowns, under pool->lock */
	struct vdisk_pool *pool;
	atomic_t pending;		/* discard bios in flight, +1 while issuing */
	unsigned int nr;
	vd_blk_t *blocks;		/* sorted */
};

static int vdisk_blk_cmp(const void *a, const void *b)
{
	vd_blk_t x = *(const vd_blk_t *)a, y = *(const vd_blk_t *)b;

	return x < y ? -1 : x > y;
}

/* Is @b in a passdown batch still in flight? */
bool vdisk_pool_passdown_busy(struct vdisk_pool *pool, vd_blk_t b)
{
	struct vdisk_passdown *pd;
	unsigned long flags;
	bool busy = false;

	spin_lock_irqsave(&pool->lock, flags);
	list_for_each_entry(pd, &pool->passdowns, list) {
		if (bsearch(&b, pd->blocks, pd->nr, sizeof(b), vdisk_blk_cmp)) {
			busy = true;
			break;
		}
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	return busy;
}

/* Wait until every passdown batch completed (suspend, last put). */
void vdisk_pool_wait_passdowns(struct vdisk_pool *pool)
{
	spin_lock_irq(&pool->lock);
	wait_event_lock_irq(pool->passdown_wait, !pool->nr_passdowns, pool->lock);
	spin_unlock_irq(&pool->lock);
}

static void vdisk_passdown_put(struct vdisk_passdown *pd)
{
	struct vdisk_pool *pool = pd->pool;
	unsigned long flags;

	if (!atomic_dec_and_test(&pd->pending))
		return;
	spin_lock_irqsave(&pool->lock, flags);
	list_del(&pd->list);
	spin_unlock_irqrestore(&pool->lock, flags);
	kvfree(pd->blocks);
	kfree(pd);
	/*
	 * The last access to the pool: vdisk_pool_wait_passdowns() reads the
	 * count under the same lock before the pool can be freed.  The worker
	 * lets the writes held for these blocks go on.
	 */
	spin_lock_irqsave(&pool->lock, flags);
	pool->nr_passdowns--;
	wake_up_all(&pool->passdown_wait);
	queue_work(pool->wq, &pool->worker);
	spin_unlock_irqrestore(&pool->lock, flags);
}

static void vdisk_passdown_endio(struct bio *bio)
{
	struct vdisk_passdown *pd = bio->bi_private;

	bio_put(bio);
	vdisk_passdown_put(pd);
}

/*
 * Take the blocks freed by the commit just made into a published batch
 * (md_lock held exclusive, see above).  NULL: nothing to pass down.
 */
static struct vdisk_passdown *vdisk_passdown_prepare(struct vdisk_pool *pool)
{
	struct vdisk_passdown *pd = NULL;

	if (!pool->nr_freed || pool->features.no_discard_passdown ||
	    !bdev_max_discard_sectors(pool->data_bdev))
		goto out;
	pd = kmalloc(sizeof(*pd), GFP_NOIO);
	if (!pd)
		goto out;	/* only the passdown is lost */
	pd->pool = pool;
	pd->blocks = pool->freed;
	pd->nr = pool->nr_freed;
	atomic_set(&pd->pending, 1);
	pool->freed = NULL;
	pool->freed_alloc = 0;
	sort(pd->blocks, pd->nr, sizeof(*pd->blocks), vdisk_blk_cmp, NULL);
	spin_lock_irq(&pool->lock);
	list_add_tail(&pd->list, &pool->passdowns);
	pool->nr_passdowns++;
	spin_unlock_irq(&pool->lock);
out:
	pool->nr_freed = 0;
	return pd;
}

/* Issue one discard per run of consecutive blocks; completion frees @pd. */
static void vdisk_passdown_issue(struct vdisk_pool *pool, struct vdisk_passdown *pd)
{
	unsigned int i = 0, n = pd->nr;
	vd_blk_t *f = pd->blocks;
	struct bio *bio;

	while (i < n) {
		vd_blk_t b = f[i], e = f[i] + 1;

		for (i++; i < n && f[i] == e; i++)
			e++;
		bio = NULL;
		__blkdev_issue_discard(pool->data_bdev, b << pool->block_shift,
				       (e - b) << pool->block_shift, GFP_NOIO, &bio);
		if (!bio)
			continue;
		atomic_inc(&pd->pending);
		bio->bi_end_io = vdisk_passdown_endio;
		bio->bi_private = pd;
		submit_bio(bio);
	}
	vdisk_passdown_put(pd);
}

/*
 * Make every completed change durable: wait for I/O that may target freed
 * blocks, flush the data device (mapped data must be stable before the
 * metadata that points at it), write the metadata, then start the discard
 * passdown for the blocks the commit freed (it completes on its own).
 * Called by the worker with no allocated block waiting for its mapping, or
 * once the worker has stopped.
 */
int vdisk_pool_commit(struct vdisk_pool *pool)
{
	struct vdisk_passdown *pd;
	int r = 0;

	mutex_lock(&pool->commit_mutex);
	if (!READ_ONCE(pool->dirty) || READ_ONCE(pool->mode) >= VDISK_MODE_RO)
		goto out;
	/*
	 * Completed fast-path writes into the tree and the reserves given
	 * back, before the data flush: the caller made sure no fast-path
	 * write is in flight (vdisk_pool_do_work()), so the flush covers the
	 * data of every mapping this commit records.
	 */
	vdisk_md_lock(pool);
	vdisk_reserve_release_all(pool);
	up_write(&pool->md_lock);
	if (READ_ONCE(pool->freed_since_commit))
		vdisk_io_drain(pool);
	r = blkdev_issue_flush(pool->data_bdev);
	vdisk_md_lock(pool);
	if (r && pool->mode < VDISK_MODE_RO) {
		/*
		 * The transaction's mappings point at data that may not be on
		 * stable storage: never commit them later (a caller was told
		 * the change failed), drop them and fail flushes from now on.
		 */
		DMERR("pool %s: flushing the data device failed (%d): not committing",
		      dm_device_name(pool->md), r);
		vdisk_pool_metadata_error(pool, "data device flush", r);
		up_write(&pool->md_lock);
		goto out;
	}
	if (pool->mode >= VDISK_MODE_RO) {
		up_write(&pool->md_lock);
		goto out;
	}
	r = vd_pool_commit(pool->pmd);
	if (r) {
		vdisk_pool_metadata_error(pool, "commit", r);
		up_write(&pool->md_lock);
		goto out;
	}
	pool->dirty = false;
	pool->freed_since_commit = false;
	pool->reserves_released = false;
	pool->last_commit = jiffies;
	pd = vdisk_passdown_prepare(pool);
	vdisk_reserve_refill_after_commit(pool);
	up_write(&pool->md_lock);
	if (pd)
		vdisk_passdown_issue(pool, pd);
out:
	mutex_unlock(&pool->commit_mutex);
	return r;
}

struct vdisk_commit_req {
	struct list_head list;
	struct completion done;
	int r;
};

/*
 * Ask the worker for a commit covering every change made so far and wait
 * for it (messages, suspend, reload).  The worker commits only when no
 * allocated block is waiting for its mapping.
 */
int vdisk_pool_commit_sync(struct vdisk_pool *pool)
{
	struct vdisk_commit_req req;

	/* The caller may have changed the sharing (messages): see share_gen. */
	vdisk_md_lock(pool);
	pool->share_gen++;
	up_write(&pool->md_lock);
	init_completion(&req.done);
	req.r = 0;
	spin_lock_irq(&pool->lock);
	list_add_tail(&req.list, &pool->commit_reqs);
	spin_unlock_irq(&pool->lock);
	vdisk_pool_wake(pool);
	wait_for_completion(&req.done);
	return req.r;
}

/* Worker: complete the commit requests with @r. */
void vdisk_pool_complete_commit_reqs(struct vdisk_pool *pool, int r)
{
	struct vdisk_commit_req *req, *tmp;
	LIST_HEAD(list);

	spin_lock_irq(&pool->lock);
	list_splice_init(&pool->commit_reqs, &list);
	spin_unlock_irq(&pool->lock);
	list_for_each_entry_safe(req, tmp, &list, list) {
		list_del(&req->list);
		req->r = r;
		complete(&req->done);
	}
}

/* Called by the metadata layer, md_lock held exclusive. */
static void vdisk_data_freed(void *context, vd_blk_t b)
{
	struct vdisk_pool *pool = context;

	pool->data_blocks_freed++;
	pool->freed_since_commit = true;
	if (pool->nr_freed == pool->freed_alloc) {
		unsigned int n = pool->freed_alloc ? pool->freed_alloc * 2 : 256;
		vd_blk_t *f = kvmalloc_array(n, sizeof(*f), GFP_NOIO);

		if (!f)
			return;	/* only the discard passdown is lost */
		if (pool->nr_freed)
			memcpy(f, pool->freed, pool->nr_freed * sizeof(*f));
		kvfree(pool->freed);
		pool->freed = f;
		pool->freed_alloc = n;
	}
	pool->freed[pool->nr_freed++] = b;
}

/* ---------------- re-open after a metadata error ---------------- */

/*
 * Can a reload re-open the metadata of a pool that went ro/fail on a
 * metadata error (md_lock held exclusive)?  NULL if so, else why not.
 */
static const char *vdisk_pool_reopen_refusal(struct vdisk_pool *pool)
{
	struct vdisk *vd;

	/*
	 * A later flush must not succeed once writes acknowledged before it
	 * were lost: the users of the vdisks must start over (recreate).
	 */
	if (pool->dropped_changes)
		return "the rollback lost acknowledged writes: recreate the pool";
	/* Active vdisks hold mappings and may have bios in the worker. */
	list_for_each_entry(vd, &pool->vdisks, list)
		if (!dm_suspended(vd->ti))
			return "suspend every vdisk of the pool before reloading it";
	if (pool->nr_prov)
		return "allocations in flight";
	return NULL;
}

/*
 * A reload of a pool that went ro or fail because of a metadata error
 * (not for no_metadata_space, nor with read_only) re-opens the metadata
 * from its last commit when that is safe (see above) and the device reads
 * again with a clean superblock (no needs_check flag); the pool is rw
 * again.  Otherwise it stays as it is and one log line says why.  Called
 * from preresume, the pool device suspended and its worker idle.
 */
void vdisk_pool_try_reopen(struct vdisk_pool *pool, struct vdisk_pool_c *pc)
{
	const char *reason = READ_ONCE(pool->mode_reason);
	struct vd_pool_metadata *pmd = NULL;
	struct vd_block_manager *bm;
	const char *why;
	struct vd_pool_usage u;
	struct vdisk *vd;
	int r;

	if (READ_ONCE(pool->mode) < VDISK_MODE_RO || pc->features.read_only || !reason ||
	    (strcmp(reason, "metadata_error") && strcmp(reason, "metadata_abort_failed")))
		return;
	flush_workqueue(pool->wq);
	vdisk_md_lock(pool);
	why = vdisk_pool_reopen_refusal(pool);
	if (why)
		goto out;
	why = "the metadata device still fails";
	bm = vd_bm_bufio_create(pool->metadata_bdev, VDISK_BM_MAX_HELD);
	if (IS_ERR_OR_NULL(bm))
		goto out;
	r = vd_pool_open(bm, 0, &pmd);
	if (!r && vd_pool_is_read_only(pmd)) {
		why = "the metadata is read-only (newer features): run vdisk-check";
		r = -EINVAL;
	}
	/*
	 * needs_check set by this pool's own rollbacks, all after device
	 * errors (-EIO) that left the committed trees as they were: they
	 * read back now, so the flag is cleared with the next commit.  Any
	 * other needs_check (damaged metadata, or set before this pool was
	 * created) waits for vdisk-check.
	 */
	if (!r && vd_pool_needs_check(pmd)) {
		if (pool->needs_check_io_only) {
			vd_pool_clear_needs_check(pmd);
		} else {
			why = "flagged needs_check: run vdisk-check --clear-needs-check-flag";
			r = -EINVAL;
		}
	}
	if (!r)
		r = vd_pool_get_usage(pmd, &u);
	if (r) {
		if (pmd)
			vd_pool_close(pmd);
		vd_bm_destroy(bm);
		goto out;
	}
	/*
	 * The old client only holds committed blocks and shadows written to
	 * blocks the last commit left free, so destroying it (which writes
	 * back those shadows, or fails to) cannot touch the state just read.
	 */
	vd_pool_close(pool->pmd);
	vd_bm_destroy(pool->bm);
	pool->pmd = pmd;
	pool->bm = bm;
	vd_pool_set_data_freed_fn(pmd, vdisk_data_freed, pool);
	list_for_each_entry(vd, &pool->vdisks, list)
		vdisk_cache_drop_all(vd);
	pool->nr_freed = 0;
	/* A cleared needs_check is written by the commit that ends preresume. */
	pool->dirty = pool->needs_check_io_only;
	pool->needs_check_io_only = false;
	pool->freed_since_commit = false;
	pool->share_gen++;
	pool->reclaim_pending = u.deletions_pending;
	WRITE_ONCE(pool->mode, VDISK_MODE_RW);
	WRITE_ONCE(pool->mode_reason, NULL);
	why = NULL;
out:
	up_write(&pool->md_lock);
	if (why)
		DMERR("pool %s: reload: staying %s: %s", dm_device_name(pool->md),
		      vdisk_pool_mode_name(READ_ONCE(pool->mode)), why);
	else
		DMINFO("pool %s: reload: metadata re-opened at its last commit: %s",
		       dm_device_name(pool->md), "switching to rw mode");
}

/* ---------------- open and format ---------------- */

/* True if the first two metadata blocks (the superblock slots) are zero. */
static int vdisk_metadata_is_zeroed(struct block_device *bdev, bool *zeroed)
{
	unsigned int i, len = 2 * VD_METADATA_BLOCK_SIZE;
	struct page *page;
	struct bio bio;
	struct bio_vec bv[2];
	u64 *p;
	int r;

	page = alloc_pages(GFP_KERNEL, 1);
	if (!page)
		return -ENOMEM;
	bio_init(&bio, bdev, bv, 2, REQ_OP_READ);
	bio.bi_iter.bi_sector = 0;
	__bio_add_page(&bio, page, len, 0);
	r = submit_bio_wait(&bio);
	bio_uninit(&bio);
	if (!r) {
		p = page_address(page);
		*zeroed = true;
		for (i = 0; i < len / sizeof(*p); i++) {
			if (p[i]) {
				*zeroed = false;
				break;
			}
		}
	}
	__free_pages(page, 1);
	return r;
}

static int vdisk_pool_open_metadata(struct vdisk_pool *pool, struct vdisk_pool_c *pc,
				    char **error)
{
	struct block_device *bdev = pc->metadata_dev->bdev;
	u64 data_blocks = bdev_nr_sectors(pc->data_dev->bdev) >> pool->block_shift;
	struct vd_pool_usage u;
	bool zeroed = false;
	int r;

	/* Room for the metadata reserve and a few vdisks ("metadata space"). */
	if (bdev_nr_sectors(bdev) < VDISK_MIN_METADATA_BLOCKS * VD_METADATA_SECTORS) {
		*error = "Metadata device is too small (need at least 1 MiB)";
		return -EINVAL;
	}
	r = vdisk_metadata_is_zeroed(bdev, &zeroed);
	if (r) {
		*error = "Cannot read the metadata device";
		return r;
	}
	pool->bm = vd_bm_bufio_create(bdev, VDISK_BM_MAX_HELD);
	if (IS_ERR_OR_NULL(pool->bm)) {
		r = pool->bm ? PTR_ERR(pool->bm) : -ENOMEM;
		pool->bm = NULL;
		*error = "Cannot create the metadata block manager";
		return r;
	}
	if (!zeroed && vd_pool_format_interrupted(pool->bm)) {
		DMINFO("%s: format interrupted before its first commit, formatting again",
		       pc->metadata_dev->name);
		zeroed = true;
	}
	if (zeroed) {
		struct vd_pool_format_params p = {
			.data_block_size = pool->block_sectors,
			.nr_data_blocks = data_blocks,
		};

		if (pc->features.read_only) {
			*error = "Metadata device is empty and read_only is set: cannot format";
			return -EINVAL;
		}
		DMINFO("formatting empty metadata device %s (%llu data blocks of %llu sectors)",
		       pc->metadata_dev->name, data_blocks,
		       (unsigned long long)pool->block_sectors);
		r = vd_pool_format(pool->bm, &p);
		if (r) {
			*error = "Formatting the metadata device failed";
			return r;
		}
	} else if (!vd_pool_has_superblock(pool->bm)) {
		*error = "Foreign or damaged metadata: no valid vdisk-pool superblock";
		return -EINVAL;
	}

	r = vd_pool_open(pool->bm, pc->features.read_only ? VD_POOL_OPEN_READ_ONLY : 0,
			 &pool->pmd);
	if (r) {
		*error = "Cannot open the pool metadata: damaged or unsupported (run vdisk-check)";
		return r;
	}
	r = vd_pool_get_usage(pool->pmd, &u);
	if (r) {
		*error = "Cannot read the pool metadata";
		return r;
	}
	if (u.data_block_size != pool->block_sectors) {
		*error = "Data block size differs from the one the metadata was formatted with";
		return -EINVAL;
	}
	if (data_blocks < u.nr_data_blocks) {
		*error = "Data device is smaller than the metadata says: cannot shrink";
		return -EINVAL;
	}
	if (vd_pool_is_read_only(pool->pmd)) {
		pool->mode = VDISK_MODE_RO;
		pool->mode_reason = pc->features.read_only ? "read_only" : "metadata_read_only";
	} else if (vd_pool_needs_check(pool->pmd)) {
		/* A metadata error was recorded: no change until it is checked. */
		DMERR("pool metadata on %s is flagged needs_check: read-only until vdisk-check",
		      pc->metadata_dev->name);
		pool->mode = VDISK_MODE_RO;
		pool->mode_reason = "needs_check";
	}
	return 0;
}

/*
 * The pool's own references to its devices: taken when the pool is created,
 * dropped when it is freed.  A pool table's dm_dev references last only as
 * long as that table; vdisks keep doing I/O to the data device and the
 * worker keeps committing to the metadata device after the pool's table
 * was replaced (e.g. by an error table: dmsetup remove --force), so the
 * pool object must keep both devices open for its whole life.  Not
 * exclusive: dm_get_device() of the pool table holds the exclusive claim.
 */
static int vdisk_pool_open_devices(struct vdisk_pool *pool, struct vdisk_pool_c *pc,
				   char **error)
{
	struct block_device *bdev;

	pool->bdev_mode = FMODE_READ | (pc->features.read_only ? 0 : FMODE_WRITE);
	bdev = blkdev_get_by_dev(pc->metadata_dev->bdev->bd_dev, pool->bdev_mode, NULL);
	if (IS_ERR(bdev)) {
		*error = "Cannot open the metadata device for the pool";
		return PTR_ERR(bdev);
	}
	pool->metadata_bdev = bdev;
	bdev = blkdev_get_by_dev(pc->data_dev->bdev->bd_dev, pool->bdev_mode, NULL);
	if (IS_ERR(bdev)) {
		*error = "Cannot open the data device for the pool";
		return PTR_ERR(bdev);
	}
	pool->data_bdev = bdev;
	return 0;
}

static void vdisk_pool_free(struct vdisk_pool *pool)
{
	if (pool->wq)
		destroy_workqueue(pool->wq);
	if (pool->io_wq)
		destroy_workqueue(pool->io_wq);
	if (pool->pmd)
		vd_pool_close(pool->pmd);
	if (pool->bm)
		vd_bm_destroy(pool->bm);
	if (pool->data_bdev)
		blkdev_put(pool->data_bdev, pool->bdev_mode);
	if (pool->metadata_bdev)
		blkdev_put(pool->metadata_bdev, pool->bdev_mode);
	bioset_exit(&pool->bs);
	bioset_exit(&pool->split_bs);
	mempool_exit(&pool->page_pool);
	mempool_exit(&pool->prov_pool);
	free_percpu(pool->inflight);
	kvfree(pool->freed);
	kfree(pool);
}

/*
 * Is @dev the metadata or data device of a live pool?  Two pools on one
 * metadata device would commit into the same superblock slots, two on one
 * data device would hand out the same blocks.  Logs which pool has it.
 */
static bool vdisk_pool_device_in_use(dev_t dev, const char *what)
{
	struct vdisk_pool *pool;
	bool found = false;

	mutex_lock(&vdisk_pool_registry_lock);
	list_for_each_entry(pool, &vdisk_pool_registry, list) {
		const char *as = pool->metadata_bdev->bd_dev == dev ? "metadata" :
				 pool->data_bdev->bd_dev == dev ? "data" : NULL;

		if (as) {
			DMERR("%s device %u:%u is already used by pool %s (as its %s device)",
			      what, MAJOR(dev), MINOR(dev), dm_device_name(pool->md), as);
			found = true;
			break;
		}
	}
	mutex_unlock(&vdisk_pool_registry_lock);
	return found;
}

static int vdisk_pool_create_locked(struct mapped_device *md, struct vdisk_pool_c *pc,
				    struct vdisk_pool **result, char **error)
{
	struct vd_pool_usage u;
	struct vdisk_pool *pool;
	int r;

	if (vdisk_pool_device_in_use(pc->metadata_dev->bdev->bd_dev, "metadata")) {
		*error = "Metadata device is already used by another pool";
		return -EBUSY;
	}
	if (vdisk_pool_device_in_use(pc->data_dev->bdev->bd_dev, "data")) {
		*error = "Data device is already used by another pool";
		return -EBUSY;
	}
	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool) {
		*error = "Cannot allocate the pool";
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&pool->list);
	INIT_LIST_HEAD(&pool->vdisks);
	INIT_LIST_HEAD(&pool->prepared);
	INIT_LIST_HEAD(&pool->commit_reqs);
	INIT_LIST_HEAD(&pool->fast_done);
	bio_list_init(&pool->fast_held);
	bio_list_init(&pool->held_bios);
	bio_list_init(&pool->flush_bios);
	bio_list_init(&pool->passdown_held);
	bio_list_init(&pool->prov_wait);
	INIT_LIST_HEAD(&pool->passdowns);
	init_waitqueue_head(&pool->passdown_wait);
	init_rwsem(&pool->md_lock);
	mutex_init(&pool->commit_mutex);
	mutex_init(&pool->ti_mutex);
	spin_lock_init(&pool->lock);
	bio_list_init(&pool->deferred_bios);
	bio_list_init(&pool->retry_on_resize);
	bio_list_init(&pool->commit_waiters);
	INIT_WORK(&pool->worker, vdisk_pool_do_work);
	INIT_DELAYED_WORK(&pool->waker, vdisk_pool_waker);
	INIT_DELAYED_WORK(&pool->insert_waker, vdisk_fast_write_insert_waker);
	INIT_DELAYED_WORK(&pool->no_space_timeout, vdisk_no_space_timeout);
	vdisk_cells_init(&pool->cells);
	pool->md = md;
	pool->ref = 1;
	pool->block_sectors = pc->block_sectors;
	pool->block_shift = ilog2(pc->block_sectors);
	pool->features = pc->features;
	pool->low_water_blocks = pc->low_water_blocks;
	pool->discard_step = VDISK_DISCARD_STEP_FIRST;
	pool->last_commit = jiffies;
	pool->suspended = true;

	r = vdisk_pool_open_devices(pool, pc, error);
	if (r)
		goto bad;
	r = -ENOMEM;
	*error = "Cannot allocate the pool";
	pool->inflight = alloc_percpu(struct vdisk_inflight);
	if (!pool->inflight)
		goto bad;
	if (bioset_init(&pool->bs, 64, 0, BIOSET_NEED_BVECS) ||
	    bioset_init(&pool->split_bs, 64, 0, 0))
		goto bad;
	/* Enough for a few copy-on-writes in flight whatever the memory pressure. */
	if (mempool_init_kmalloc_pool(&pool->prov_pool, VDISK_PROV_RESERVE,
				      vdisk_prov_size(pool)) ||
	    mempool_init_page_pool(&pool->page_pool,
				   VDISK_PROV_RESERVE * vdisk_block_pages(pool), 0))
		goto bad;
	pool->wq = alloc_ordered_workqueue("vdisk-pool-%s", WQ_MEM_RECLAIM,
					   dm_device_name(md));
	if (!pool->wq)
		goto bad;
	pool->io_wq = alloc_workqueue("vdisk-io-%s", WQ_UNBOUND | WQ_MEM_RECLAIM, 0,
				      dm_device_name(md));
	if (!pool->io_wq)
		goto bad;

	r = vdisk_pool_open_metadata(pool, pc, error);
	if (r)
		goto bad;
	vd_pool_set_data_freed_fn(pool->pmd, vdisk_data_freed, pool);
	r = vd_pool_get_usage(pool->pmd, &u);
	if (r) {
		*error = "Cannot read the pool metadata";
		goto bad;
	}
	pool->reclaim_pending = u.deletions_pending;
	vdisk_pool_size_metadata_reserve(pool, u.nr_metadata_blocks);

	mutex_lock(&vdisk_pool_registry_lock);
	list_add(&pool->list, &vdisk_pool_registry);
	mutex_unlock(&vdisk_pool_registry_lock);
	*result = pool;
	return 0;
bad:
	vdisk_pool_free(pool);
	return r;
}

int vdisk_pool_find_or_create(struct mapped_device *md, struct vdisk_pool_c *pc,
			      struct vdisk_pool **result, char **error)
{
	int r = 0;

	mutex_lock(&vdisk_pool_create_lock);
	*result = vdisk_pool_find_get(md);
	if (!*result)
		r = vdisk_pool_create_locked(md, pc, result, error);
	mutex_unlock(&vdisk_pool_create_lock);
	return r;
}

void vdisk_pool_put(struct vdisk_pool *pool)
{
	mutex_lock(&vdisk_pool_registry_lock);
	if (--pool->ref) {
		mutex_unlock(&vdisk_pool_registry_lock);
		return;
	}
	list_del(&pool->list);
	mutex_unlock(&vdisk_pool_registry_lock);

	/*
	 * No table uses the pool any more: no new bios can arrive.  Reclaim
	 * re-queues the worker, so stop it first (it resumes from the pending
	 * tree on the next activation), then wait for the worker to finish.
	 */
	WRITE_ONCE(pool->stopping, true);
	cancel_delayed_work_sync(&pool->waker);
	cancel_delayed_work_sync(&pool->no_space_timeout);
	cancel_delayed_work_sync(&pool->insert_waker);
	drain_workqueue(pool->wq);
	if (pool->mode < VDISK_MODE_RO)
		vdisk_pool_commit(pool);
	vdisk_pool_wait_passdowns(pool);
	vdisk_pool_free(pool);
}
