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

/* Simultaneous metadata block locks (btree depth x a few per operation). */
#define VDISK_BM_MAX_HELD 64
/* Periodic commit interval. */
#define VDISK_COMMIT_PERIOD HZ

const char *vdisk_pool_mode_name(enum vdisk_pool_mode mode)
{
	switch (mode) {
	case VDISK_MODE_RW:
		return "rw";
	case VDISK_MODE_OUT_OF_DATA_SPACE:
		return "out_of_data_space";
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
 * reusable, vdisk_io_drain() starts a new epoch and waits for the old one to
 * empty, so no I/O can still be aimed at a block that another vdisk may be
 * given next.
 *
 * An I/O counted in an epoch must complete without the worker's help: the
 * worker itself drains the epoch before its commits.
 *
 * Ordering (store buffering, a full barrier on each side): an I/O counts
 * itself, smp_mb(), then reads the mapping (cache or metadata).  The worker
 * changes the mapping (or drops the cache entry), and only then a commit
 * flips the epoch, smp_mb(), and sums the old epoch's counts.  So an I/O
 * that still saw the old mapping is seen by the sum, and an I/O that counted
 * itself in the new epoch sees the new mapping.
 */
int vdisk_io_enter(struct vdisk_pool *pool)
{
	int slot = READ_ONCE(pool->epoch) & 1;

	this_cpu_inc(pool->inflight->n[slot]);
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
		sum += per_cpu_ptr(pool->inflight, cpu)->n[slot];
	return sum;
}

static void vdisk_io_drain(struct vdisk_pool *pool)
{
	int old;

	down_write(&pool->md_lock);
	old = pool->epoch & 1;
	smp_mb();	/* mapping changes before the flip */
	WRITE_ONCE(pool->epoch, pool->epoch + 1);
	up_write(&pool->md_lock);
	smp_mb();	/* flip before summing; pairs with vdisk_io_enter() */
	while (vdisk_io_count(pool, old) > 0)
		usleep_range(100, 200);
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
	/* Mappings of the dropped transaction are gone: forget their hints. */
	list_for_each_entry(vd, &pool->vdisks, list)
		vdisk_cache_drop(vd);
	pool->nr_freed = 0;
	pool->share_gen++;
	if (pool->dirty)
		pool->dropped_changes = true;
	pool->dirty = false;
	if (ar) {
		vdisk_pool_set_mode(pool, VDISK_MODE_FAIL, "metadata_abort_failed");
		return r;
	}
	if (r != -ENOSPC && !vd_pool_is_read_only(pool->pmd))
		vd_pool_set_needs_check(pool->pmd);
	vdisk_pool_set_mode(pool, VDISK_MODE_RO, reason);
	return r;
}

/* Raise the low-water-mark event once per crossing (md_lock held). */
void vdisk_pool_check_low_water(struct vdisk_pool *pool)
{
	struct vd_pool_usage u;

	if (vd_pool_get_usage(pool->pmd, &u))
		return;
	if (u.nr_free_data_blocks <= pool->low_water_blocks) {
		if (!pool->low_water_raised) {
			pool->low_water_raised = true;
			DMWARN("pool %s: reached low water mark for data device: sending event",
			       dm_device_name(pool->md));
			vdisk_pool_raise_event(pool);
			vdisk_event_low_water(pool, u.nr_free_data_blocks);
		}
	} else {
		pool->low_water_raised = false;
	}
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
	down_write(&pool->md_lock);
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
	if (READ_ONCE(pool->freed_since_commit))
		vdisk_io_drain(pool);
	r = blkdev_issue_flush(pool->data_bdev);
	if (r) {
		DMERR("pool %s: flushing the data device failed (%d): not committing",
		      dm_device_name(pool->md), r);
		goto out;
	}
	down_write(&pool->md_lock);
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
	pool->last_commit = jiffies;
	pd = vdisk_passdown_prepare(pool);
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
	down_write(&pool->md_lock);
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
	down_write(&pool->md_lock);
	why = vdisk_pool_reopen_refusal(pool);
	if (why)
		goto out;
	why = "the metadata device still fails";
	bm = vd_bm_bufio_create(pool->metadata_bdev, VDISK_BM_MAX_HELD);
	if (IS_ERR_OR_NULL(bm))
		goto out;
	r = vd_pool_open(bm, 0, &pmd);
	if (!r && (vd_pool_needs_check(pmd) || vd_pool_is_read_only(pmd))) {
		why = "the metadata is flagged needs_check or read-only: run vdisk-check";
		r = -EINVAL;
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
		vdisk_cache_drop(vd);
	pool->nr_freed = 0;
	pool->dirty = false;
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

	if (bdev_nr_sectors(bdev) < 16 * VD_METADATA_SECTORS) {
		*error = "Metadata device is too small (need at least 64 KiB)";
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
	if (vd_pool_needs_check(pool->pmd))
		DMWARN("pool metadata on %s is flagged needs_check: run vdisk-check",
		       pc->metadata_dev->name);
	if (vd_pool_is_read_only(pool->pmd))
		pool->mode = VDISK_MODE_RO;
	pool->mode_reason = pc->features.read_only ? "read_only" :
			    pool->mode == VDISK_MODE_RO ? "metadata_read_only" : NULL;
	return 0;
}

static void vdisk_pool_free(struct vdisk_pool *pool)
{
	if (pool->wq)
		destroy_workqueue(pool->wq);
	if (pool->pmd)
		vd_pool_close(pool->pmd);
	if (pool->bm)
		vd_bm_destroy(pool->bm);
	bioset_exit(&pool->bs);
	free_percpu(pool->inflight);
	kvfree(pool->freed);
	kfree(pool);
}

int vdisk_pool_create(struct mapped_device *md, struct vdisk_pool_c *pc,
		      struct vdisk_pool **result, char **error)
{
	struct vdisk_pool *pool;
	int r;

	pool = kzalloc(sizeof(*pool), GFP_KERNEL);
	if (!pool) {
		*error = "Cannot allocate the pool";
		return -ENOMEM;
	}
	INIT_LIST_HEAD(&pool->list);
	INIT_LIST_HEAD(&pool->vdisks);
	INIT_LIST_HEAD(&pool->prepared);
	INIT_LIST_HEAD(&pool->commit_reqs);
	bio_list_init(&pool->held_bios);
	bio_list_init(&pool->flush_bios);
	bio_list_init(&pool->passdown_held);
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
	INIT_DELAYED_WORK(&pool->no_space_timeout, vdisk_no_space_timeout);
	vdisk_cells_init(&pool->cells);
	pool->md = md;
	pool->ref = 1;
	pool->metadata_bdev = pc->metadata_dev->bdev;
	pool->data_bdev = pc->data_dev->bdev;
	pool->block_sectors = pc->block_sectors;
	pool->block_shift = ilog2(pc->block_sectors);
	pool->features = pc->features;
	pool->low_water_blocks = pc->low_water_blocks;
	pool->last_commit = jiffies;
	pool->suspended = true;

	r = -ENOMEM;
	*error = "Cannot allocate the pool";
	pool->inflight = alloc_percpu(struct vdisk_inflight);
	if (!pool->inflight)
		goto bad;
	if (bioset_init(&pool->bs, 64, 0, BIOSET_NEED_BVECS))
		goto bad;
	pool->wq = alloc_ordered_workqueue("vdisk-pool-%s", WQ_MEM_RECLAIM,
					   dm_device_name(md));
	if (!pool->wq)
		goto bad;

	r = vdisk_pool_open_metadata(pool, pc, error);
	if (r)
		goto bad;
	vd_pool_set_data_freed_fn(pool->pmd, vdisk_data_freed, pool);
	{
		struct vd_pool_usage u;

		if (!vd_pool_get_usage(pool->pmd, &u) && u.deletions_pending)
			pool->reclaim_pending = true;
	}

	mutex_lock(&vdisk_pool_registry_lock);
	list_add(&pool->list, &vdisk_pool_registry);
	mutex_unlock(&vdisk_pool_registry_lock);
	*result = pool;
	return 0;
bad:
	vdisk_pool_free(pool);
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
	drain_workqueue(pool->wq);
	if (pool->mode < VDISK_MODE_RO)
		vdisk_pool_commit(pool);
	vdisk_pool_wait_passdowns(pool);
	vdisk_pool_free(pool);
}
