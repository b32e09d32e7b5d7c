// SPDX-License-Identifier: GPL-2.0
/*
 * The vdisk bio path.
 *
 * map() (vdisk_bio_map) never blocks and never touches the metadata: it
 * serves reads of cached mappings and of cached holes (a run of blocks
 * contiguous on the data device, or of holes, as one bio), writes to runs
 * of blocks the mapping cache marks exclusive, and writes of whole blocks
 * with new blocks from the vdisk's reserve (dm-vdisk-fast-write.c), and
 * hands everything else to the pool's worker, trimmed to one block (a
 * write of two or more whole blocks whole, to be sent down in runs of
 * reserve blocks from there: vdisk_fast_write_whole()):
 *
 *   read, not cached        look up (md_lock shared), fill the cache, issue
 *   write, not exclusive    take the block's cell, allocate a new block,
 *                           write it (a whole-block write goes there as is;
 *                           a partial one is merged with the old contents or
 *                           zeros in a bounce buffer), then insert the
 *                           mapping (md_lock exclusive), mark it exclusive,
 *                           complete the bio and release the cell
 *   discard                 unmap whole blocks in steps of about a
 *                           millisecond (pool->discard_step blocks),
 *                           re-queueing itself between steps so that other
 *                           bios keep flowing; discards
 *                           for the freed blocks go down after the commit,
 *                           asynchronously (a write to a block whose
 *                           discard is in flight waits for it)
 *   write-zeroes            zero the partial blocks at its edges (an
 *                           unmapped edge already reads as zeros; an
 *                           exclusive one is zeroed in place; a shared one
 *                           goes through copy-on-write with zeros merged
 *                           in), then unmap the whole blocks like a discard
 *   PREFLUSH                commit (data device flush + metadata), then go on
 *   FUA                     complete only after a commit covers its mapping
 *                           (writes and write-zeroes alike; a write-zeroes
 *                           edge zeroed in place is written with FUA)
 *
 * The mapping is inserted only after the data reached the data device, so a
 * committed mapping never points at unwritten data.
 */
#include "dm-vdisk.h"
#include "persistent-data/vd-btree.h"

#include <linux/blkdev.h>
#include <linux/highmem.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

/*
 * A discard step unmaps pool->discard_step blocks, between
 * VDISK_DISCARD_STEP_MIN and VDISK_DISCARD_STEP_MAX; the size adapts so
 * that a step takes about VDISK_RECLAIM_SLICE_NS, like a reclaim step: each
 * unmapped block is a reference-count update, and the blocks of a randomly
 * written vdisk share few bitmaps, so the same number of blocks costs far
 * more there than on one written sequentially.  Halved after a step that
 * took longer than the slice, doubled after one that took under half.
 */
#define VDISK_DISCARD_STEP_MIN 16U
#define VDISK_DISCARD_STEP_MAX 4096U
/* Metadata updates one discard step may need (a few leaves and a rebalance). */
#define VDISK_DISCARD_METADATA 8
/*
 * A reclaim step ends after VDISK_RECLAIM_SLICE_NS of work or as soon as
 * bios wait for the worker (reclaim_should_stop()): a deferred read waits
 * for at most about a millisecond of reclaim.  The budget only bounds the
 * metadata one step may shadow; a pool short of metadata space takes
 * steps of VDISK_RECLAIM_BUDGET_MIN nodes.
 */
#define VDISK_RECLAIM_BUDGET 256
#define VDISK_RECLAIM_BUDGET_MIN 4
#define VDISK_RECLAIM_SLICE_NS NSEC_PER_MSEC

/* A change of one block's mapping: first write or copy-on-write. */
struct vdisk_prov {
	struct list_head list;
	struct vdisk_pool *pool;
	struct bio *bio;		/* the vdisk bio that needs it */
	vd_blk_t new_block;
	vd_blk_t old_block;
	bool has_old;
	bool reading;			/* merge: reading the old block */
	int epoch;			/* in-flight slot of the merge I/O */
	blk_status_t status;
	unsigned int nr_pages;		/* merge buffer; 0 = whole-block write */
	struct page *pages[];
};

size_t vdisk_prov_size(struct vdisk_pool *pool)
{
	struct vdisk_prov *p;

	return struct_size(p, pages, vdisk_block_pages(pool));
}

void vdisk_defer_bio(struct vdisk_pool *pool, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	bio_list_add(&pool->deferred_bios, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	vdisk_pool_wake(pool);
}

/* Sectors of @vb's data block before its first sector. */
static sector_t offset_in_block(struct vdisk_pool *pool, struct vdisk_bio *vb)
{
	return vb->vsector & (pool->block_sectors - 1);
}

/* Sectors from @vb's first sector to the end of its data block. */
static unsigned int first_block_sectors(struct vdisk_pool *pool, struct vdisk_bio *vb)
{
	return pool->block_sectors - offset_in_block(pool, vb);
}

static void remap(struct vdisk_pool *pool, struct bio *bio, vd_blk_t block)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);

	bio_set_dev(bio, pool->data_bdev);
	bio->bi_iter.bi_sector = (block << pool->block_shift) | offset_in_block(pool, vb);
}

static void bio_done(struct bio *bio, blk_status_t status)
{
	if (status)
		bio->bi_status = status;
	bio_endio(bio);
}

/* ---------------- map() fast path ---------------- */

/* Longest read served by one remapped bio: 1 MiB, like a typical max_sectors. */
#define VDISK_READ_RUN_MAX_SECTORS 2048

/*
 * Sectors of @bio, from vb->vsector, that one remap (or one zero fill) can
 * serve: the first block's tail, extended over the following blocks while
 * the mapping cache shows each mapped to the data block right after the
 * previous one (or, if the first block is a cached hole, unmapped too).
 * @r and @block are the first block's cache lookup.
 *
 * The caller entered the in-flight epoch before the first lookup, and every
 * block of the run is looked up after that, so vdisk_io_drain() waits for
 * this bio before any of the run's blocks can be reused: the same rule as a
 * single-block read, applied to each block of the run.
 */
static unsigned int run_sectors(struct vdisk *vd, struct bio *bio, int r, vd_blk_t block,
				bool excl_only)
{
	struct vdisk_pool *pool = vd->pool;
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	unsigned int want = min_t(unsigned int, bio_sectors(bio), VDISK_READ_RUN_MAX_SECTORS);
	unsigned int len = first_block_sectors(pool, vb);
	u64 vblock = vb->vblock;
	vd_blk_t next;
	bool excl;
	int rn;

	while (len < want) {
		vblock++;
		rn = vdisk_cache_lookup(vd, vblock, &next, &excl);
		if (rn != r || (!r && next != ++block) || (excl_only && !excl))
			break;
		len += pool->block_sectors;
	}
	return min(len, bio_sectors(bio));
}

/* Trim @bio to @sectors: dm core sends the rest as a new bio. */
static void accept_sectors(struct bio *bio, unsigned int sectors)
{
	if (sectors < bio_sectors(bio))
		dm_accept_partial_bio(bio, sectors);
}

/*
 * A plain read (no FUA, no PREFLUSH, some data): a cached mapping or hole
 * serves the run read_run_sectors() finds, a miss only its first block.
 */
static int map_read(struct vdisk *vd, struct bio *bio)
{
	struct vdisk_pool *pool = vd->pool;
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	vd_blk_t block = 0;
	bool excl;
	int r;

	vb->epoch = vdisk_io_enter(pool);
	r = vdisk_cache_lookup(vd, vb->vblock, &block, &excl);
	if (r == -ENOENT)
		accept_sectors(bio, first_block_sectors(pool, vb));
	else
		accept_sectors(bio, run_sectors(vd, bio, r, block, false));
	/* After the trim: the counters see the bio dm core completes. */
	vdisk_stats_bio_start(vd, bio);
	if (!r) {
		remap(pool, bio, block);
		return DM_MAPIO_REMAPPED;
	}
	vdisk_io_exit(pool, vb->epoch);
	vb->epoch = -1;
	if (r == -ENODATA) {
		zero_fill_bio(bio);
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	vdisk_queue_read(vd, bio);
	return DM_MAPIO_SUBMITTED;
}

/*
 * A write handed to the worker: no fast-path write of its vdisk starts
 * until it completed (dm-vdisk-reserve.c).
 */
static void defer_write(struct vdisk *vd, struct bio *bio)
{
	vdisk_reserve_slow_start(vd, bio);
	vdisk_defer_bio(vd->pool, bio);
}

/*
 * A plain write (no FUA, no PREFLUSH, some data, pool writable): a run of
 * blocks the cache marks exclusive and contiguous goes there in place; a
 * write starting at a block boundary and covering whole blocks takes new
 * blocks from the vdisk's reserve (dm-vdisk-fast-write.c), or, if it could
 * not, goes to the worker whole (trimmed to its whole blocks) to be sent
 * down in runs from there; anything else goes to the worker, trimmed to
 * its first block.
 */
static int map_write(struct vdisk *vd, struct bio *bio)
{
	struct vdisk_pool *pool = vd->pool;
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	unsigned int whole;
	vd_blk_t block;
	bool excl;
	int r;

	vb->epoch = vdisk_io_enter(pool);
	r = vdisk_cache_lookup(vd, vb->vblock, &block, &excl);
	if (!r && excl) {
		accept_sectors(bio, run_sectors(vd, bio, r, block, true));
		vdisk_stats_bio_start(vd, bio);
		remap(pool, bio, block);
		return DM_MAPIO_REMAPPED;
	}
	vdisk_io_exit(pool, vb->epoch);
	vb->epoch = -1;
	r = vdisk_fast_write_map(vd, bio);
	if (r != -EAGAIN) {
		vdisk_stats_bio_start(vd, bio);
		return r;
	}
	whole = offset_in_block(pool, vb) ? 0 : bio_sectors(bio) >> pool->block_shift;
	if (whole > 1) {
		/* The worker sends it down in runs: vdisk_fast_write_whole(). */
		accept_sectors(bio, whole << pool->block_shift);
		vb->whole = true;
	} else {
		accept_sectors(bio, first_block_sectors(pool, vb));
	}
	vdisk_stats_bio_start(vd, bio);
	defer_write(vd, bio);
	return DM_MAPIO_SUBMITTED;
}

/*
 * The target sets no max_io_len, so bios of any size reach map().  Every
 * bio but a plain read served from the cache, or a plain write of whole
 * blocks, is trimmed here to the end of its first data block (dm core
 * resubmits the rest), so everything after map() (cells, the worker's
 * reads and writes, copy-on-write merges, the no-space queue, FUA and
 * flush waiters) still sees at most one block; a whole-block write in the
 * worker (vb->whole) only goes down the fast path in runs, waits (whole or
 * its part not sent yet), or fails.
 * Not trimmed: PREFLUSH bios (dm_accept_partial_bio() forbids them; dm core
 * sends them empty and the data after the flush as a separate bio),
 * discards and write-zeroes (dm core never split those at max_io_len: they
 * keep their own whole-range handling), and ops that are killed anyway.
 */
int vdisk_bio_map(struct vdisk *vd, struct bio *bio)
{
	struct vdisk_pool *pool = vd->pool;
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	enum vdisk_pool_mode mode = READ_ONCE(pool->mode);
	bool rw = bio_op(bio) == REQ_OP_READ || bio_op(bio) == REQ_OP_WRITE;

	memset(vb, 0, sizeof(*vb));
	vb->vd = vd;
	vb->epoch = -1;
	vb->vsector = dm_target_offset(vd->ti, bio->bi_iter.bi_sector);
	vb->vblock = vb->vsector >> pool->block_shift;

	if (rw && mode != VDISK_MODE_FAIL && bio_sectors(bio) &&
	    !(bio->bi_opf & (REQ_PREFLUSH | REQ_FUA))) {
		if (bio_op(bio) == REQ_OP_READ)
			return map_read(vd, bio);
		if (mode != VDISK_MODE_RO)
			return map_write(vd, bio);
	}
	if (rw && mode != VDISK_MODE_FAIL && bio_sectors(bio) && !(bio->bi_opf & REQ_PREFLUSH))
		accept_sectors(bio, first_block_sectors(pool, vb));
	/* Before the bio can complete (its end_io stops the clock). */
	vdisk_stats_bio_start(vd, bio);

	if (mode == VDISK_MODE_FAIL)
		return DM_MAPIO_KILL;
	if (op_is_discard(bio->bi_opf)) {
		vb->discard_pos = (vb->vsector + pool->block_sectors - 1) >> pool->block_shift;
		vdisk_defer_bio(pool, bio);
		return DM_MAPIO_SUBMITTED;
	}
	if (bio_op(bio) == REQ_OP_WRITE_ZEROES) {
		if (mode == VDISK_MODE_RO)
			return DM_MAPIO_KILL;
		vb->discard_pos = (vb->vsector + pool->block_sectors - 1) >> pool->block_shift;
		vb->wz_stage = VDISK_WZ_HEAD;
		defer_write(vd, bio);
		return DM_MAPIO_SUBMITTED;
	}
	if (!rw)
		return DM_MAPIO_KILL;
	if (bio->bi_opf & REQ_PREFLUSH) {
		/* dm core sends flushes empty; a write with data after one is a slow write. */
		if (bio_op(bio) == REQ_OP_WRITE && bio_sectors(bio))
			defer_write(vd, bio);
		else
			vdisk_defer_bio(pool, bio);
		return DM_MAPIO_SUBMITTED;
	}
	if (!bio_sectors(bio)) {
		/* Nothing to read or write (and no flush asked for). */
		bio_endio(bio);
		return DM_MAPIO_SUBMITTED;
	}
	if (bio->bi_opf & REQ_FUA) {
		if (bio_op(bio) == REQ_OP_READ)
			vdisk_defer_bio(pool, bio);
		else
			defer_write(vd, bio);
		return DM_MAPIO_SUBMITTED;
	}
	/* Plain reads went to map_read(), plain writes to map_write() unless ro. */
	return DM_MAPIO_KILL;
}

/* Pairs with the smp_wmb() in vdisk_pool_metadata_error(). */
static bool fua_must_wait(struct vdisk_pool *pool)
{
	if (READ_ONCE(pool->dirty))
		return true;
	smp_rmb();	/* dirty before dropped_changes: see vdisk_pool_metadata_error() */
	return READ_ONCE(pool->dropped_changes);
}

int vdisk_bio_end_io(struct vdisk *vd, struct bio *bio, blk_status_t *error)
{
	struct vdisk_pool *pool = vd->pool;
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	unsigned long flags;

	if (vb->fast)
		return vdisk_fast_write_end_io(vd, bio, error);
	if (vb->epoch >= 0) {
		vdisk_io_exit(pool, vb->epoch);
		vb->epoch = -1;
	}
	/*
	 * A FUA write to an existing mapping is durable once the commit that
	 * covers that mapping is; hold its completion until then.  If a
	 * rollback dropped that mapping (dirty is cleared, dropped_changes set
	 * first: vdisk_pool_metadata_error()), the worker fails it.
	 */
	if (vb->commit_before_endio && !*error && fua_must_wait(pool)) {
		spin_lock_irqsave(&pool->lock, flags);
		bio_list_add(&pool->commit_waiters, bio);
		spin_unlock_irqrestore(&pool->lock, flags);
		vdisk_pool_wake(pool);
		return DM_ENDIO_INCOMPLETE;
	}
	vb->commit_before_endio = false;
	if (vb->slow_counted)
		vdisk_reserve_slow_done(vd, bio);
	return DM_ENDIO_DONE;
}

/* ---------------- lookups and reads ---------------- */

/*
 * Mapping of @vblock from the cache or the metadata (filling the cache);
 * from the worker or a read queue (dm-vdisk-read-queue.c).
 */
static int lookup_mapping(struct vdisk_pool *pool, struct vdisk *vd, u64 vblock,
			  vd_blk_t *block, bool *excl)
{
	u64 m;
	int r;

	r = vdisk_cache_lookup(vd, vblock, block, excl);
	if (r != -ENOENT)
		return r;
	down_read(&pool->md_lock);
	r = vd_pool_lookup(pool->pmd, vd->id, vblock, &m);
	if (!r) {
		*block = VD_MAP_BLOCK(m);
		*excl = false;
		vdisk_cache_fill(vd, vblock, *block);
	} else if (r == -ENODATA) {
		vdisk_cache_fill_unmapped(vd, vblock);
	} else {
		DMERR_LIMIT("vdisk %llu: lookup of block %llu failed (%d)",
			    vd->id, vblock, r);
	}
	up_read(&pool->md_lock);
	if (r && r != -ENODATA) {
		/*
		 * The metadata device failed a read: stop changing the
		 * metadata (ro, or fail if even the rollback cannot read),
		 * so the mode says so.  Only this bio fails.
		 */
		vdisk_md_lock(pool);
		if (pool->mode < VDISK_MODE_RO)
			vdisk_pool_metadata_error(pool, "lookup", r);
		up_write(&pool->md_lock);
	}
	return r;
}

void vdisk_read_from_metadata(struct vdisk_pool *pool, struct bio *bio)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	vd_blk_t block;
	bool excl;
	int r;

	vb->epoch = vdisk_io_enter(pool);
	r = lookup_mapping(pool, vb->vd, vb->vblock, &block, &excl);
	if (r) {
		vdisk_io_exit(pool, vb->epoch);
		vb->epoch = -1;
		if (r == -ENODATA) {
			zero_fill_bio(bio);
			bio_endio(bio);
		} else {
			bio_io_error(bio);
		}
		return;
	}
	remap(pool, bio, block);
	dm_submit_bio_remap(bio, NULL);
}

/* ---------------- worker: out of data space ---------------- */

/*
 * A write whose vdisk is being suspended does not wait for space, or the
 * suspend would wait with it: with --noflush dm core takes it back and
 * resubmits it after the resume; a plain suspend, which must complete
 * every bio, fails it.
 */
static void no_space_suspended(struct bio *bio, int state)
{
	bio_done(bio, state == VDISK_SUSPENDING_NOFLUSH ? BLK_STS_DM_REQUEUE : BLK_STS_NOSPC);
}

/*
 * No data (or metadata) space for @bio's new block: fail it or queue it
 * until space is added (vdisk_requeue_no_space()), a timeout, a suspend of
 * its vdisk (vdisk_requeue_vdisk_no_space()) or the pool going read-only.
 */
static void no_space(struct vdisk_pool *pool, struct bio *bio, enum vdisk_pool_mode mode)
{
	unsigned long flags, timeout;
	int state;

	vdisk_md_lock(pool);
	vdisk_pool_set_mode(pool, mode, pool->features.error_if_no_space ?
			    "error_if_no_space" : "queueing_writes");
	up_write(&pool->md_lock);
	if (READ_ONCE(pool->mode) >= VDISK_MODE_RO) {
		bio_io_error(bio);
		return;
	}
	if (pool->features.error_if_no_space || READ_ONCE(pool->no_space_errors)) {
		bio_done(bio, BLK_STS_NOSPC);
		return;
	}
	/* vd->suspending changes under pool->lock: see vdisk_suspend_no_space(). */
	spin_lock_irqsave(&pool->lock, flags);
	state = vdisk_bio_data(bio)->vd->suspending;
	if (!state)
		bio_list_add(&pool->retry_on_resize, bio);
	spin_unlock_irqrestore(&pool->lock, flags);
	if (state) {
		no_space_suspended(bio, state);
		return;
	}
	/* A reload may have changed the timeout: the latest one applies. */
	timeout = READ_ONCE(pool->features.no_space_timeout);
	if (timeout)
		mod_delayed_work(pool->wq, &pool->no_space_timeout, timeout * HZ);
	else
		cancel_delayed_work(&pool->no_space_timeout);
}

/* Move every bio of @list (one of the pool's lists under pool->lock) to @out. */
static void take_pool_bios(struct vdisk_pool *pool, struct bio_list *list,
			   struct bio_list *out)
{
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	*out = *list;
	bio_list_init(list);
	spin_unlock_irqrestore(&pool->lock, flags);
}

void vdisk_no_space_timeout(struct work_struct *ws)
{
	struct vdisk_pool *pool = container_of(to_delayed_work(ws), struct vdisk_pool,
					       no_space_timeout);
	struct bio_list bios;
	struct bio *bio;

	take_pool_bios(pool, &pool->retry_on_resize, &bios);
	if (bio_list_empty(&bios))
		return;
	DMERR("pool %s: no data space for %u s: failing queued writes until the data device grows",
	      dm_device_name(pool->md), READ_ONCE(pool->features.no_space_timeout));
	WRITE_ONCE(pool->no_space_errors, true);
	while ((bio = bio_list_pop(&bios)))
		bio_done(bio, BLK_STS_NOSPC);
}

/*
 * Set vd->suspending (VDISK_*SUSPENDING*) and, from a presuspend, hand back
 * the writes of @vd waiting for space (see no_space_suspended()).  Under
 * pool->lock, like no_space()'s check, so none is queued after this.
 */
void vdisk_suspend_no_space(struct vdisk *vd, int state)
{
	struct vdisk_pool *pool = vd->pool;
	struct bio_list all, mine;
	struct bio *bio;
	unsigned long flags;

	bio_list_init(&mine);
	spin_lock_irqsave(&pool->lock, flags);
	vd->suspending = state;
	if (state) {
		all = pool->retry_on_resize;
		bio_list_init(&pool->retry_on_resize);
		while ((bio = bio_list_pop(&all))) {
			if (vdisk_bio_data(bio)->vd == vd)
				bio_list_add(&mine, bio);
			else
				bio_list_add(&pool->retry_on_resize, bio);
		}
	}
	spin_unlock_irqrestore(&pool->lock, flags);
	while ((bio = bio_list_pop(&mine)))
		no_space_suspended(bio, state);
}

/* The pool went read-only or failed: writes waiting for space fail now. */
void vdisk_fail_no_space(struct vdisk_pool *pool)
{
	struct bio_list bios;
	struct bio *bio;

	take_pool_bios(pool, &pool->retry_on_resize, &bios);
	while ((bio = bio_list_pop(&bios)))
		bio_io_error(bio);
}

/* Space was added (or freed): retry the writes that waited for it. */
void vdisk_requeue_no_space(struct vdisk_pool *pool)
{
	struct bio_list bios;
	unsigned long flags;

	WRITE_ONCE(pool->no_space_errors, false);
	spin_lock_irqsave(&pool->lock, flags);
	bios = pool->retry_on_resize;
	bio_list_init(&pool->retry_on_resize);
	bio_list_merge(&pool->deferred_bios, &bios);
	spin_unlock_irqrestore(&pool->lock, flags);
	vdisk_pool_wake(pool);
}

/*
 * Not enough metadata space for a new mapping (the worker, @bio holds no
 * cell).  A commit makes the blocks the transaction shadowed reusable: if
 * there is anything to commit, hold @bio for it (the commit gate) and try
 * again after it; otherwise the pool is out of metadata space.
 */
static void metadata_short(struct vdisk_pool *pool, struct bio *bio)
{
	if (READ_ONCE(pool->dirty) || pool->nr_prov) {
		pool->commit_gate = true;
		bio_list_add(&pool->held_bios, bio);
		return;
	}
	no_space(pool, bio, VDISK_MODE_OUT_OF_METADATA_SPACE);
}

/* ---------------- worker: writes ---------------- */

static void prov_queue(struct vdisk_prov *p)
{
	struct vdisk_pool *pool = p->pool;
	unsigned long flags;

	spin_lock_irqsave(&pool->lock, flags);
	list_add_tail(&p->list, &pool->prepared);
	spin_unlock_irqrestore(&pool->lock, flags);
	vdisk_pool_wake(pool);
}

/* Completion of a whole-block write sent to its new block. */
static void prov_bio_endio(struct bio *bio)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	struct vdisk_prov *p = bio->bi_private;

	bio->bi_end_io = vb->saved_end_io;
	bio->bi_private = vb->saved_private;
	p->status = bio->bi_status;
	prov_queue(p);
}

/* Completion of a merge read or write. */
static void prov_aux_endio(struct bio *aux)
{
	struct vdisk_prov *p = aux->bi_private;

	/*
	 * Leave the epoch here, not in the worker: a commit running in the
	 * worker may be waiting for this very count.
	 */
	if (p->reading)
		vdisk_io_exit(p->pool, p->epoch);
	if (aux->bi_status)
		p->status = aux->bi_status;
	bio_put(aux);
	prov_queue(p);
}

/*
 * Provisioning state and merge pages come from the pool's mempools
 * (vdisk_pool_create()), never failing a guest's write for lack of memory.
 * The worker must not wait on them (it is what returns their elements), so
 * it takes them without sleeping, and a write that gets none waits on
 * pool->prov_wait with its new block until a prov is freed.
 */
static void prov_free(struct vdisk_prov *p)
{
	struct vdisk_pool *pool = p->pool;
	unsigned int i;

	for (i = 0; i < p->nr_pages; i++)
		if (p->pages[i])
			mempool_free(p->pages[i], &pool->page_pool);
	mempool_free(p, &pool->prov_pool);
	if (!bio_list_empty(&pool->prov_wait))
		vdisk_pool_wake(pool);
}

static struct vdisk_prov *prov_alloc(struct vdisk_pool *pool, unsigned int nr_pages, bool zero)
{
	const gfp_t gfp = GFP_NOWAIT | __GFP_NOWARN;
	struct vdisk_prov *p = mempool_alloc(&pool->prov_pool, gfp);
	unsigned int i;

	if (!p)
		return NULL;
	memset(p, 0, struct_size(p, pages, 0));
	p->pool = pool;
	for (i = 0; i < nr_pages; i++) {
		p->pages[i] = mempool_alloc(&pool->page_pool, gfp);
		if (!p->pages[i]) {
			p->nr_pages = i;
			prov_free(p);
			return NULL;
		}
		if (zero)
			clear_highpage(p->pages[i]);
	}
	p->nr_pages = nr_pages;
	return p;
}

static void prov_submit_aux(struct vdisk_prov *p, blk_opf_t opf, vd_blk_t block)
{
	struct vdisk_pool *pool = p->pool;
	unsigned int i, len = pool->block_sectors << SECTOR_SHIFT;
	struct bio *aux;

	aux = bio_alloc_bioset(pool->data_bdev, p->nr_pages, opf, GFP_NOIO, &pool->bs);
	aux->bi_iter.bi_sector = block << pool->block_shift;
	for (i = 0; i < p->nr_pages; i++)
		__bio_add_page(aux, p->pages[i], min_t(unsigned int, PAGE_SIZE,
						       len - i * PAGE_SIZE), 0);
	aux->bi_end_io = prov_aux_endio;
	aux->bi_private = p;
	submit_bio_noacct(aux);
}

/* Copy the vdisk bio's data into the merge buffer, at its offset in the block. */
static void prov_merge(struct vdisk_prov *p)
{
	struct vdisk_bio *vb = vdisk_bio_data(p->bio);
	unsigned int off = offset_in_block(p->pool, vb) << SECTOR_SHIFT;
	struct bvec_iter iter;
	struct bio_vec bv;

	if (bio_op(p->bio) == REQ_OP_WRITE_ZEROES) {
		/* Zero the edge being written instead of copying a payload. */
		unsigned int end = off + (vb->zero_sectors << SECTOR_SHIFT);

		while (off < end) {
			unsigned int po = off & (PAGE_SIZE - 1);
			unsigned int n = min_t(unsigned int, end - off, PAGE_SIZE - po);

			memzero_page(p->pages[off >> PAGE_SHIFT], po, n);
			off += n;
		}
		return;
	}
	bio_for_each_segment(bv, p->bio, iter) {
		unsigned int done = 0;

		while (done < bv.bv_len) {
			unsigned int po = off & (PAGE_SIZE - 1);
			unsigned int n = min_t(unsigned int, bv.bv_len - done, PAGE_SIZE - po);
			char *src = kmap_local_page(bv.bv_page);
			char *dst = kmap_local_page(p->pages[off >> PAGE_SHIFT]);

			memcpy(dst + po, src + bv.bv_offset + done, n);
			kunmap_local(dst);
			kunmap_local(src);
			done += n;
			off += n;
		}
	}
}

static void prov_write_merged(struct vdisk_prov *p)
{
	p->reading = false;
	prov_merge(p);
	prov_submit_aux(p, REQ_OP_WRITE | (p->bio->bi_opf & REQ_FUA), p->new_block);
}

/* Give back a block that was allocated but will not be mapped. */
static void release_block(struct vdisk_pool *pool, vd_blk_t b)
{
	int r;

	vdisk_md_lock(pool);
	if (pool->mode < VDISK_MODE_RO) {
		r = vd_pool_release_data_block(pool->pmd, b);
		if (r)
			vdisk_pool_metadata_error(pool, "release data block", r);
	}
	up_write(&pool->md_lock);
}

static void complete_write(struct vdisk_pool *pool, struct bio *bio, blk_status_t status)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	unsigned long flags;

	if (!status && (bio->bi_opf & REQ_FUA)) {
		/* FUA: durable only once the mapping is committed. */
		spin_lock_irqsave(&pool->lock, flags);
		bio_list_add(&pool->commit_waiters, bio);
		spin_unlock_irqrestore(&pool->lock, flags);
		return;
	}
	vb->commit_before_endio = false;
	bio_done(bio, status);
}

/* A write-zeroes edge is done: go on with the next step. */
static void wz_next(struct vdisk_pool *pool, struct bio *bio)
{
	vdisk_bio_data(bio)->wz_stage++;
	vdisk_defer_bio(pool, bio);
}

static void wz_zero_endio(struct bio *aux)
{
	struct bio *bio = aux->bi_private;
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	struct vdisk_pool *pool = vb->vd->pool;
	blk_status_t status = aux->bi_status;

	bio_put(aux);
	vdisk_io_exit(pool, vb->epoch);
	vb->epoch = -1;
	if (status)
		bio_done(bio, status);
	else
		wz_next(pool, bio);
}

/*
 * Zero a write-zeroes edge in @block, which this vdisk owns alone: only the
 * edge's sectors are written, so writes to the rest of the block that the
 * fast path sends there meanwhile are not disturbed.  The caller entered
 * the in-flight epoch (vb->epoch); the completion leaves it.
 */
static void wz_zero_in_place(struct vdisk_pool *pool, struct bio *bio, vd_blk_t block)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	unsigned int len = vb->zero_sectors << SECTOR_SHIFT;
	unsigned int n, nr_pages = DIV_ROUND_UP(len, PAGE_SIZE);
	struct bio *aux;

	aux = bio_alloc_bioset(pool->data_bdev, nr_pages,
			       REQ_OP_WRITE | (bio->bi_opf & REQ_FUA), GFP_NOIO, &pool->bs);
	aux->bi_iter.bi_sector = (block << pool->block_shift) | offset_in_block(pool, vb);
	while (len) {
		n = min_t(unsigned int, len, PAGE_SIZE);
		__bio_add_page(aux, ZERO_PAGE(0), n, 0);
		len -= n;
	}
	aux->bi_end_io = wz_zero_endio;
	aux->bi_private = bio;
	submit_bio_noacct(aux);
}

/* Data of a provisioned block is on the data device (or failed). */
static void prov_finish(struct vdisk_pool *pool, struct vdisk_prov *p)
{
	struct bio *bio = p->bio;
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	struct vdisk *vd = vb->vd;
	blk_status_t status = p->status;
	int r;

	if (p->reading) {
		if (!status) {
			prov_write_merged(p);
			return;
		}
	}
	if (status) {
		DMERR_LIMIT("vdisk %llu: data I/O for block %llu failed (%d)",
			    vd->id, vb->vblock, blk_status_to_errno(status));
		release_block(pool, p->new_block);
	} else {
		vdisk_md_lock(pool);
		if (pool->mode >= VDISK_MODE_RO) {
			status = BLK_STS_IOERR;
		} else {
			r = vd_pool_insert(pool->pmd, vd->id, vb->vblock,
					   VD_MAP_PACK(p->new_block, 0, 0));
			if (r) {
				vdisk_pool_metadata_error(pool, "insert", r);
				status = BLK_STS_IOERR;
			} else {
				pool->dirty = true;
				vdisk_cache_set(vd, vb->vblock, p->new_block, true);
				/* Copy-on-write may unshare another vdisk's block. */
				if (p->has_old)
					pool->share_gen++;
				else
					vdisk_census_new_mapping(vd, vb->vblock);
			}
		}
		up_write(&pool->md_lock);
	}
	pool->nr_prov--;
	vdisk_cell_unlock(pool, vd, vb->vblock);
	vb->holds_cell = false;
	prov_free(p);
	if (bio_op(bio) == REQ_OP_WRITE_ZEROES && !status)
		wz_next(pool, bio);
	else
		complete_write(pool, bio, status);
}

static void start_prov(struct vdisk_pool *pool, struct bio *bio, vd_blk_t new_block,
		       bool has_old, vd_blk_t old_block)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	bool whole = bio_op(bio) == REQ_OP_WRITE &&
		     !offset_in_block(pool, vb) &&
		     bio_sectors(bio) == pool->block_sectors;
	unsigned int nr_pages = whole ? 0 : vdisk_block_pages(pool);
	struct vdisk_prov *p;

	p = prov_alloc(pool, nr_pages, !has_old);
	if (!p) {
		/* Again once a prov is freed (process_prov_wait()). */
		vb->new_block = new_block;
		vb->old_block = old_block;
		vb->has_old = has_old;
		bio_list_add(&pool->prov_wait, bio);
		return;
	}
	p->bio = bio;
	p->new_block = new_block;
	p->old_block = old_block;
	p->has_old = has_old;

	if (whole) {
		/* The bio itself fills the new block: nothing to copy. */
		vb->saved_end_io = bio->bi_end_io;
		vb->saved_private = bio->bi_private;
		bio->bi_end_io = prov_bio_endio;
		bio->bi_private = p;
		/*
		 * Not counted in the in-flight epoch: nothing can free a block
		 * that is not mapped yet, and the bio only completes through the
		 * worker, which may itself be waiting for the epoch to drain.
		 */
		remap(pool, bio, new_block);
		dm_submit_bio_remap(bio, NULL);
		return;
	}
	if (has_old) {
		/* Fast-path writes to the old block that a dropped cache let go. */
		vdisk_pool_cow_barrier(pool);
		/* Copy only this block: read it, merge the bio in, write. */
		p->reading = true;
		p->epoch = vdisk_io_enter(pool);
		prov_submit_aux(p, REQ_OP_READ, old_block);
	} else {
		prov_write_merged(p);
	}
}

static void issue_direct(struct vdisk_pool *pool, struct bio *bio, vd_blk_t block)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);

	if (bio->bi_opf & REQ_FUA)
		vb->commit_before_endio = true;
	remap(pool, bio, block);
	dm_submit_bio_remap(bio, NULL);
}

/*
 * A write of whole blocks that map() left whole (vb->whole): down the fast
 * path in runs from here (vdisk_fast_write_whole()), or held, whole or
 * what is left of it, until it can go, with the same rules as a one-block
 * allocation below: after a commit, after space is added, or failed.
 */
static void process_whole_write(struct vdisk_pool *pool, struct bio *bio)
{
	/* A commit is waiting for the blocks in flight: allocate after it. */
	if (pool->commit_gate) {
		bio_list_add(&pool->held_bios, bio);
		return;
	}
	switch (vdisk_fast_write_whole(pool, bio)) {
	case 0:
		return;
	case -EBUSY:
		/*
		 * Next pass: a cell or a slow write of its vdisk is in the way,
		 * the only free blocks are still being discarded, or memory.
		 */
		bio_list_add(&pool->fast_held, bio);
		return;
	case -EAGAIN:
		/* The commit gives the reserves back: try again after it. */
		pool->commit_gate = true;
		bio_list_add(&pool->held_bios, bio);
		return;
	case -ENOSPC:
		no_space(pool, bio, VDISK_MODE_OUT_OF_DATA_SPACE);
		return;
	case -EDQUOT:
		metadata_short(pool, bio);
		return;
	default:
		bio_io_error(bio);
	}
}

static void process_write(struct vdisk_pool *pool, struct bio *bio)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	struct vdisk *vd = vb->vd;
	bool wz = bio_op(bio) == REQ_OP_WRITE_ZEROES;
	vd_blk_t block, new_block;
	bool excl, has_old;
	u64 m;
	int r;

	if (READ_ONCE(pool->mode) >= VDISK_MODE_RO) {
		if (vb->holds_cell) {
			vdisk_cell_unlock(pool, vd, vb->vblock);
			vb->holds_cell = false;
		}
		bio_io_error(bio);
		return;
	}
	if (vb->whole) {
		process_whole_write(pool, bio);
		return;
	}
	if (!vb->holds_cell) {
		if (!wz && vdisk_fast_write_from_worker(pool, bio))
			return;
		/* After the vdisk's fast-path writes: see dm-vdisk-reserve.c. */
		if (!vdisk_reserve_slow_may_start(vd)) {
			bio_list_add(&pool->fast_held, bio);
			return;
		}
		vb->epoch = vdisk_io_enter(pool);
		r = lookup_mapping(pool, vd, vb->vblock, &block, &excl);
		if (!r && excl) {
			if (wz)
				wz_zero_in_place(pool, bio, block);
			else
				issue_direct(pool, bio, block);
			return;
		}
		vdisk_io_exit(pool, vb->epoch);
		vb->epoch = -1;
		if (wz && r == -ENODATA) {
			wz_next(pool, bio);	/* an unmapped edge reads as zeros */
			return;
		}
		if (r && r != -ENODATA) {
			bio_io_error(bio);
			return;
		}
		if (vdisk_cell_lock(pool, vd, vb->vblock, bio))
			return;	/* comes back when the holder is done */
	}

	/* A commit is waiting for the blocks in flight: allocate after it. */
	if (pool->commit_gate) {
		vdisk_cell_unlock(pool, vd, vb->vblock);
		vb->holds_cell = false;
		bio_list_add(&pool->held_bios, bio);
		return;
	}

	/* We own the block's cell: decide with the current mapping. */
	vdisk_md_lock(pool);
	if (!vdisk_cache_lookup(vd, vb->vblock, &block, &excl) && excl) {
		/* A previous holder just gave this vdisk its own block. */
		vb->epoch = vdisk_io_enter(pool);
		up_write(&pool->md_lock);
		vdisk_cell_unlock(pool, vd, vb->vblock);
		vb->holds_cell = false;
		if (wz)
			wz_zero_in_place(pool, bio, block);
		else
			issue_direct(pool, bio, block);
		return;
	}
	r = vd_pool_lookup(pool->pmd, vd->id, vb->vblock, &m);
	has_old = !r;
	if (r && r != -ENODATA)
		goto bad_meta;
	if (wz && !has_old) {
		up_write(&pool->md_lock);
		vdisk_cell_unlock(pool, vd, vb->vblock);
		vb->holds_cell = false;
		wz_next(pool, bio);
		return;
	}
	if (!vdisk_pool_metadata_room(pool, 1, false)) {
		/* See "metadata space" in dm-vdisk-pool.c. */
		up_write(&pool->md_lock);
		vdisk_cell_unlock(pool, vd, vb->vblock);
		vb->holds_cell = false;
		metadata_short(pool, bio);
		return;
	}
	r = vd_pool_alloc_data_block(pool->pmd, &new_block);
	if (r == -ENOSPC) {
		bool in_reserves = pool->fast_blocks;

		up_write(&pool->md_lock);
		vdisk_cell_unlock(pool, vd, vb->vblock);
		vb->holds_cell = false;
		if (in_reserves) {
			/* The commit gives the reserves back: try again after it. */
			pool->commit_gate = true;
			bio_list_add(&pool->held_bios, bio);
			return;
		}
		no_space(pool, bio, VDISK_MODE_OUT_OF_DATA_SPACE);
		return;
	}
	if (r)
		goto bad_meta;
	pool->dirty = true;
	pool->nr_prov++;
	vdisk_pool_check_low_water(pool);
	up_write(&pool->md_lock);
	if (vdisk_pool_passdown_busy(pool, new_block)) {
		/* Its discard is still in flight: write after it (see dm-vdisk-pool.c). */
		vb->new_block = new_block;
		vb->old_block = VD_MAP_BLOCK(m);
		vb->has_old = has_old;
		bio_list_add(&pool->passdown_held, bio);
		return;
	}
	start_prov(pool, bio, new_block, has_old, VD_MAP_BLOCK(m));
	return;

bad_meta:
	vdisk_pool_metadata_error(pool, "lookup/allocate", r);
	up_write(&pool->md_lock);
	vdisk_cell_unlock(pool, vd, vb->vblock);
	vb->holds_cell = false;
	bio_io_error(bio);
}

/* ---------------- worker: discards ---------------- */

static void process_discard(struct vdisk_pool *pool, struct bio *bio)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	struct vdisk *vd = vb->vd;
	/* From the bio: a write-zeroes bio moved vsector to its edges. */
	u64 end = (dm_target_offset(vd->ti, bio->bi_iter.bi_sector) + bio_sectors(bio)) >>
		  pool->block_shift;
	u64 step_end, started, took;
	int r = 0;

	if (vb->discard_pos >= end) {
		complete_write(pool, bio, BLK_STS_OK);
		return;
	}
	if (READ_ONCE(pool->mode) >= VDISK_MODE_RO) {
		bio_io_error(bio);
		return;
	}
	vdisk_md_lock(pool);
	step_end = min(end, vb->discard_pos + pool->discard_step);
	started = ktime_get_ns();
	if (!vdisk_pool_metadata_room(pool, VDISK_DISCARD_METADATA, false)) {
		up_write(&pool->md_lock);
		metadata_short(pool, bio);
		return;
	}
	if (pool->mode < VDISK_MODE_RO) {
		/* Forget the cached mappings before the blocks can be freed. */
		vdisk_cache_forget(vd, vb->discard_pos, step_end);
		r = vd_pool_remove_range(pool->pmd, vd->id, vb->discard_pos, step_end, NULL);
		if (r) {
			vdisk_pool_metadata_error(pool, "discard", r);
		} else {
			pool->dirty = true;
			pool->share_gen++;
		}
	}
	took = ktime_get_ns() - started;
	if (took > VDISK_RECLAIM_SLICE_NS)
		pool->discard_step = max(pool->discard_step / 2, VDISK_DISCARD_STEP_MIN);
	else if (took < VDISK_RECLAIM_SLICE_NS / 2 &&
		 step_end - vb->discard_pos == pool->discard_step)
		pool->discard_step = min(pool->discard_step * 2, VDISK_DISCARD_STEP_MAX);
	up_write(&pool->md_lock);
	if (r) {
		bio_io_error(bio);
		return;
	}
	vb->discard_pos = step_end;
	if (step_end < end)
		vdisk_defer_bio(pool, bio);	/* let other bios run between steps */
	else
		complete_write(pool, bio, BLK_STS_OK);	/* FUA: after a commit */
}

/* ---------------- worker: write-zeroes ---------------- */

/*
 * One step of a write-zeroes bio (see VDISK_WZ_*): each edge step ends by
 * re-queueing the bio for the next one (wz_next), the last is a discard.
 */
static void process_write_zeroes(struct vdisk_pool *pool, struct bio *bio)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	sector_t mask = pool->block_sectors - 1;
	sector_t start = dm_target_offset(vb->vd->ti, bio->bi_iter.bi_sector);
	sector_t end = start + bio_sectors(bio);
	sector_t edge = 0, edge_end = 0;

	if (vb->wz_stage == VDISK_WZ_HEAD) {
		if (start & mask) {
			edge = start;
			edge_end = min(end, (start | mask) + 1);
		} else {
			vb->wz_stage = VDISK_WZ_TAIL;
		}
	}
	if (vb->wz_stage == VDISK_WZ_TAIL) {
		/* Unless the head step already covered the tail's block. */
		if ((end & mask) && (!(start & mask) ||
				     (start >> pool->block_shift) != (end >> pool->block_shift))) {
			edge = end & ~mask;
			edge_end = end;
		} else {
			vb->wz_stage = VDISK_WZ_WHOLE;
		}
	}
	if (vb->wz_stage == VDISK_WZ_WHOLE) {
		process_discard(pool, bio);
		return;
	}
	vb->vsector = edge;
	vb->vblock = edge >> pool->block_shift;
	vb->zero_sectors = edge_end - edge;
	process_write(pool, bio);
}

/* ---------------- the worker ---------------- */

static void process_prepared(struct vdisk_pool *pool)
{
	struct vdisk_prov *p, *tmp;
	unsigned long flags;
	LIST_HEAD(list);

	spin_lock_irqsave(&pool->lock, flags);
	list_splice_init(&pool->prepared, &list);
	spin_unlock_irqrestore(&pool->lock, flags);
	list_for_each_entry_safe(p, tmp, &list, list) {
		list_del(&p->list);
		prov_finish(pool, p);
	}
}

/* Writes held for a discard passdown: go on once their block is discarded. */
static void process_passdown_held(struct vdisk_pool *pool)
{
	struct bio_list bios = pool->passdown_held;
	struct vdisk_bio *vb;
	struct bio *bio;

	bio_list_init(&pool->passdown_held);
	while ((bio = bio_list_pop(&bios))) {
		vb = vdisk_bio_data(bio);
		if (vdisk_pool_passdown_busy(pool, vb->new_block))
			bio_list_add(&pool->passdown_held, bio);
		else
			start_prov(pool, bio, vb->new_block, vb->has_old, vb->old_block);
	}
}

/* Slow writes that waited for their vdisk's fast-path writes: try again. */
static void process_fast_held(struct vdisk_pool *pool)
{
	struct bio_list bios = pool->fast_held;
	struct bio *bio;

	bio_list_init(&pool->fast_held);
	while ((bio = bio_list_pop(&bios)))
		process_write(pool, bio);
}

/* Writes that found the mempools empty: try again (see prov_free()). */
static void process_prov_wait(struct vdisk_pool *pool)
{
	struct bio_list bios = pool->prov_wait;
	struct vdisk_bio *vb;
	struct bio *bio;

	bio_list_init(&pool->prov_wait);
	while ((bio = bio_list_pop(&bios))) {
		vb = vdisk_bio_data(bio);
		start_prov(pool, bio, vb->new_block, vb->has_old, vb->old_block);
	}
}

static void process_deferred(struct vdisk_pool *pool)
{
	struct bio_list bios;
	struct bio *bio;

	take_pool_bios(pool, &pool->deferred_bios, &bios);

	while ((bio = bio_list_pop(&bios))) {
		if (READ_ONCE(pool->mode) == VDISK_MODE_FAIL) {
			bio_io_error(bio);
			continue;
		}
		if (bio->bi_opf & REQ_PREFLUSH) {
			/* Covers the writes completed so far: wait for a commit. */
			bio_list_add(&pool->flush_bios, bio);
			continue;
		}
		if (op_is_discard(bio->bi_opf))
			process_discard(pool, bio);
		else if (bio_op(bio) == REQ_OP_WRITE_ZEROES)
			process_write_zeroes(pool, bio);
		else if (bio_op(bio) == REQ_OP_READ)
			vdisk_read_from_metadata(pool, bio);	/* FUA; others: read queues */
		else
			process_write(pool, bio);
		cond_resched();
	}
}

struct reclaim_yield {
	struct vdisk_pool *pool;
	u64 deadline;		/* ktime_get_ns() */
};

/* Asked by the B+tree delete step between node visits (vd_btree_yield). */
static bool reclaim_should_stop(void *context)
{
	struct reclaim_yield *y = context;

	/*
	 * A racy peek at the queue is enough: a bio queued just after it
	 * waits until the next ask, or at worst the end of the slice.  A
	 * waiter on md_lock (the step holds it exclusive) is a read queue's
	 * lookup or a message: it goes first too.
	 */
	return READ_ONCE(y->pool->deferred_bios.head) ||
	       rwsem_is_contended(&y->pool->md_lock) ||
	       ktime_get_ns() >= y->deadline;
}

static void do_reclaim(struct vdisk_pool *pool)
{
	struct reclaim_yield y = { .pool = pool };
	struct vd_btree_yield yield = { .should_stop = reclaim_should_stop, .context = &y };
	unsigned int budget = VDISK_RECLAIM_BUDGET;
	struct vd_pool_usage u;
	bool more = false, finished = false;
	u64 freed = 0;
	int r;

	vdisk_md_lock(pool);
	/* Reclaim frees metadata too: it may use the reserve, not more. */
	if (pool->mode < VDISK_MODE_RO && !vdisk_pool_metadata_room(pool, budget, true)) {
		budget = VDISK_RECLAIM_BUDGET_MIN;
		if (!vdisk_pool_metadata_room(pool, budget, true)) {
			up_write(&pool->md_lock);
			return;	/* again after the next commit, or once space is added */
		}
	}
	if (pool->mode < VDISK_MODE_RO) {
		freed = pool->data_blocks_freed;
		y.deadline = ktime_get_ns() + VDISK_RECLAIM_SLICE_NS;
		r = vd_pool_reclaim(pool->pmd, budget, &yield, &more);
		if (r) {
			vdisk_pool_metadata_error(pool, "reclaim", r);
			more = false;
		} else {
			pool->dirty = true;
			pool->share_gen++;
			pool->reclaimed_blocks += pool->data_blocks_freed - freed;
			finished = !more && !vdisk_pool_get_usage(pool, &u);
		}
	}
	if (finished) {
		freed = pool->reclaimed_blocks;
		pool->reclaimed_blocks = 0;
	}
	pool->reclaim_pending = more;
	up_write(&pool->md_lock);
	if (more)
		vdisk_pool_wake(pool);
	else if (finished)
		vdisk_event_space_reclaimed(pool, freed, u.nr_free_data_blocks);
}

static void complete_commit_waiters(struct vdisk_pool *pool, int r)
{
	struct bio_list bios;
	struct bio *bio;

	take_pool_bios(pool, &pool->commit_waiters, &bios);
	while ((bio = bio_list_pop(&bios))) {
		vdisk_bio_data(bio)->commit_before_endio = false;
		bio_done(bio, r ? BLK_STS_IOERR : BLK_STS_OK);
	}
}

/* The flushes waiting for this commit go on as plain bios (or fail). */
static void release_flush_bios(struct vdisk_pool *pool, int r)
{
	struct bio_list bios = pool->flush_bios;
	struct bio *bio;

	bio_list_init(&pool->flush_bios);
	while ((bio = bio_list_pop(&bios))) {
		if (r) {
			bio_io_error(bio);
			continue;
		}
		bio->bi_opf &= ~REQ_PREFLUSH;
		if (!bio_sectors(bio))
			bio_endio(bio);
		else
			vdisk_defer_bio(pool, bio);
	}
}

static bool commit_wanted(struct vdisk_pool *pool)
{
	bool wanted;

	spin_lock_irq(&pool->lock);
	wanted = !bio_list_empty(&pool->commit_waiters) || !list_empty(&pool->commit_reqs);
	spin_unlock_irq(&pool->lock);
	return wanted || !bio_list_empty(&pool->flush_bios) ||
	       (READ_ONCE(pool->dirty) && !READ_ONCE(pool->suspended) &&
		time_after_eq(jiffies, pool->last_commit + HZ));
}

/* Commit with no allocation in flight, then let everything waiting go on. */
static void worker_commit(struct vdisk_pool *pool)
{
	bool was_oos = (READ_ONCE(pool->freed_since_commit) || pool->reserves_released) &&
		       READ_ONCE(pool->mode) == VDISK_MODE_OUT_OF_DATA_SPACE;
	bool requeue = false;
	struct bio *bio;
	int r;

	if (READ_ONCE(pool->mode) >= VDISK_MODE_RO)
		/* Flushes fail once a rollback dropped completed writes. */
		r = pool->dropped_changes ? -EIO : 0;
	else if (READ_ONCE(pool->dirty))
		r = vdisk_pool_commit(pool);
	else if (!bio_list_empty(&pool->flush_bios))
		r = blkdev_issue_flush(pool->data_bdev);
	else
		r = 0;
	vdisk_pool_complete_commit_reqs(pool, r);
	complete_commit_waiters(pool, r);
	release_flush_bios(pool, r);
	pool->commit_gate = false;
	vdisk_reserve_open_all(pool);
	while ((bio = bio_list_pop(&pool->held_bios)))
		vdisk_defer_bio(pool, bio);
	if (was_oos && !r) {
		/* The commit made freed blocks allocatable again. */
		vdisk_md_lock(pool);
		vdisk_pool_set_mode(pool, VDISK_MODE_RW, NULL);
		up_write(&pool->md_lock);
		vdisk_requeue_no_space(pool);
	} else if (!r && READ_ONCE(pool->mode) == VDISK_MODE_OUT_OF_METADATA_SPACE) {
		/* Reclaim or discards may have freed enough metadata. */
		vdisk_md_lock(pool);
		if (vdisk_pool_metadata_room(pool, 1, false)) {
			vdisk_pool_set_mode(pool, VDISK_MODE_RW, NULL);
			requeue = true;
		}
		up_write(&pool->md_lock);
		if (requeue)
			vdisk_requeue_no_space(pool);
	}
}

/*
 * The worker allocates (metadata layer, bios, merge buffers) while writes
 * wait for it: a NOIO scope keeps reclaim from waiting for those writes.
 */
void vdisk_pool_do_work(struct work_struct *ws)
{
	struct vdisk_pool *pool = container_of(ws, struct vdisk_pool, worker);
	unsigned int noio = memalloc_noio_save();

	process_prepared(pool);
	if (!bio_list_empty(&pool->prov_wait))
		process_prov_wait(pool);
	if (!bio_list_empty(&pool->passdown_held))
		process_passdown_held(pool);
	if (!bio_list_empty(&pool->fast_held))
		process_fast_held(pool);
	process_deferred(pool);
	/*
	 * Reserves are topped up, then completed fast-path writes go into the
	 * B+tree.  The refill first: map() may be sending writes to this
	 * worker until it comes, and allocating needs nothing
	 * from the queued inserts (their blocks are allocated already and the
	 * blocks their inserts free are allocatable only after the commit).
	 */
	if (READ_ONCE(pool->refill_wanted) || vdisk_fast_write_inserts_due(pool)) {
		WRITE_ONCE(pool->refill_wanted, false);
		down_write(&pool->md_lock);
		vdisk_reserve_refill(pool);
		vdisk_fast_write_insert_all(pool);
		up_write(&pool->md_lock);
	}
	/* A suspended pool device pauses reclaim (and periodic commits). */
	if (READ_ONCE(pool->reclaim_pending) && !READ_ONCE(pool->stopping) &&
	    !READ_ONCE(pool->suspended))
		do_reclaim(pool);
	if (pool->commit_gate || commit_wanted(pool)) {
		pool->commit_gate = true;
		/* A completion wakes the worker when the last one is done. */
		vdisk_reserve_close_all(pool);
		if (!pool->nr_prov && !atomic_read(&pool->fast_inflight))
			worker_commit(pool);
	}
	memalloc_noio_restore(noio);
}
