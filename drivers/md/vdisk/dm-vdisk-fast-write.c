// SPDX-License-Identifier: GPL-2.0
/*
 * Whole-block writes allocated in map(): the write path's first stage.
 *
 *   map()        a plain write whose first sector starts a block and that
 *                covers at least one whole block takes a run of contiguous
 *                blocks from its vdisk's reserve (dm-vdisk-reserve.c),
 *                is trimmed to that run and goes down remapped as one bio;
 *   completion   (vdisk_fast_write_end_io(), any context) publishes the
 *                new mappings in the mapping cache as pending, so the next
 *                read sees them, queues them on pool->fast_done and
 *                completes the bio: it never waits for the worker;
 *   insert       the worker, or anyone taking md_lock through
 *                vdisk_md_lock(), inserts every queued write in one pass
 *                under one md_lock hold, sorted by vdisk and block so
 *                neighbouring keys share leaf shadows (in completion order
 *                for a vdisk whose runs overlap: order_inserts()), and
 *                settles the cache entries.
 *
 * Why this is safe:
 *  - Crash: a write is acknowledged before its mapping is in the B+tree,
 *    exactly like a write to an existing block is acknowledged before the
 *    commit; only a completed FLUSH promises durability.  A PREFLUSH waits
 *    for a commit, and a commit first waits for every fast-path write in
 *    flight and inserts all queued ones (vdisk_pool_do_work(),
 *    vdisk_pool_commit()), so every write completed before the flush is
 *    mapped by the commit the flush waits for.  FUA writes keep the
 *    worker's path.
 *  - Reads: between completion and insert the mapping cache is the only
 *    record of the write; its pending entries are never dropped but by the
 *    insert or a rollback (dm-vdisk-mapcache.c), and every metadata change
 *    or lookup that decides from the B+tree takes md_lock through
 *    vdisk_md_lock(), which inserts first.
 *  - Blocks: a block comes from a reserve, allocated in the current
 *    transaction; nothing else references it until its insert, which
 *    drops the old mapping's reference like any overwrite.  A write that
 *    fails gives its blocks back; after a rollback (pool->fast_gen moved)
 *    its blocks are free again and the write fails.
 */
#include "dm-vdisk.h"

#include <linux/list_sort.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>

/* One fast-path write: a run of blocks, from map() until it is inserted. */
struct vdisk_fast_write {
	struct list_head list;		/* on pool->fast_done, under pool->lock */
	struct vdisk *vd;
	u64 vblock;
	vd_blk_t block;
	unsigned int nr;
	unsigned int gen;		/* pool->fast_gen when the blocks were taken */
	unsigned int seq;		/* completion order within one insert pass */
	blk_status_t status;
	bool stale;			/* a rollback freed its blocks */
	struct bio *bio;		/* completes only after the insert (no cache memory) */
	struct bio *parent;		/* a piece's whole write: vdisk_fast_write_whole() */
};

/*
 * Completed writes are inserted once VDISK_FAST_BATCH blocks of them queued
 * up (counted in blocks, so that one pass of 1 MiB writes is not 64 times
 * longer than one of 4 KiB writes, while map() waits for the refill that
 * comes after it), or at once if one of them holds its bio until the
 * insert (the mapping cache had no room for it: its bio, or the whole
 * write a piece belongs to, whose last run counts as in flight until then,
 * waits), or VDISK_FAST_BATCH_DELAY after the first, or as soon as anything takes
 * md_lock through vdisk_md_lock() (a commit, a lookup in the worker, a
 * message), whichever comes first: one pass and one md_lock hold serve many
 * writes, and nothing that reads the B+tree can miss one.
 */
#define VDISK_FAST_BATCH 64
#define VDISK_FAST_BATCH_DELAY (HZ / 20)

static struct kmem_cache *vdisk_fast_write_cache;

/* Worker: is it time to insert the completed writes (see above)? */
bool vdisk_fast_write_inserts_due(struct vdisk_pool *pool)
{
	unsigned int n = READ_ONCE(pool->nr_fast_done);

	return n >= VDISK_FAST_BATCH || READ_ONCE(pool->fast_done_held) ||
	       (n && time_after_eq(jiffies, READ_ONCE(pool->fast_done_since) +
				   VDISK_FAST_BATCH_DELAY));
}

/* pool->insert_waker: the first write of a small batch waited long enough. */
void vdisk_fast_write_insert_waker(struct work_struct *ws)
{
	struct vdisk_pool *pool = container_of(to_delayed_work(ws), struct vdisk_pool,
					       insert_waker);

	vdisk_pool_wake(pool);
}

int vdisk_fast_write_init(void)
{
	vdisk_fast_write_cache = KMEM_CACHE(vdisk_fast_write, 0);
	return vdisk_fast_write_cache ? 0 : -ENOMEM;
}

void vdisk_fast_write_exit(void)
{
	kmem_cache_destroy(vdisk_fast_write_cache);
}

/* @fw writes blocks @block.. (@nr, taken at @gen) for @vd's blocks @vblock.. */
static void fast_write_init(struct vdisk_fast_write *fw, struct vdisk *vd, u64 vblock,
			    vd_blk_t block, unsigned int nr, unsigned int gen)
{
	fw->vd = vd;
	fw->vblock = vblock;
	fw->block = block;
	fw->nr = nr;
	fw->gen = gen;
	fw->status = BLK_STS_OK;
	fw->stale = false;
	fw->bio = NULL;
	fw->parent = NULL;
	this_cpu_inc(vd->stats->fast_writes);
}

static int fast_write_map(struct vdisk *vd, struct bio *bio, bool from_worker)
{
	struct vdisk_pool *pool = vd->pool;
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	unsigned int max = bio_sectors(bio) >> pool->block_shift;
	struct vdisk_fast_write *fw;
	unsigned int nr, gen;
	vd_blk_t block;

	if (vb->vsector & (pool->block_sectors - 1) || !max ||
	    READ_ONCE(pool->mode) != VDISK_MODE_RW)
		return -EAGAIN;
	fw = kmem_cache_alloc(vdisk_fast_write_cache, GFP_NOWAIT | __GFP_NOWARN);
	if (!fw)
		return -EAGAIN;
	if (vdisk_reserve_take(vd, max, from_worker, &block, &nr, &gen)) {
		kmem_cache_free(vdisk_fast_write_cache, fw);
		return -EAGAIN;
	}
	fast_write_init(fw, vd, vb->vblock, block, nr, gen);
	vb->fast = fw;
	if ((sector_t)nr << pool->block_shift < bio_sectors(bio))
		dm_accept_partial_bio(bio, nr << pool->block_shift);
	bio_set_dev(bio, pool->data_bdev);
	bio->bi_iter.bi_sector = block << pool->block_shift;
	return DM_MAPIO_REMAPPED;
}

/*
 * A fast-path write's data is on the data device, or failed: publish its
 * mappings and queue it for the insert.  If the mapping cache cannot take
 * them, @hold (the bio whose completion this write owns) completes only
 * after the insert: it passes to the inserter and this returns true.
 */
static bool fast_write_done(struct vdisk_fast_write *fw, struct bio *hold, blk_status_t *error)
{
	struct vdisk *vd = fw->vd;
	struct vdisk_pool *pool = vd->pool;
	blk_status_t status = *error;
	u64 id = vd->id, vblock = fw->vblock;
	unsigned int nr = fw->nr;
	unsigned long flags;
	bool first, batch, held = false;

	fw->status = status;
	spin_lock_irqsave(&pool->lock, flags);
	if (fw->gen != pool->fast_gen) {
		/* A rollback dropped the transaction these blocks came from. */
		fw->stale = true;
		*error = BLK_STS_IOERR;
	} else if (!status && hold && vdisk_cache_publish(vd, vblock, fw->block, nr)) {
		fw->bio = hold;
		held = true;
		pool->fast_done_held = true;
	}
	first = list_empty(&pool->fast_done);
	if (first)
		pool->fast_done_since = jiffies;
	list_add_tail(&fw->list, &pool->fast_done);
	batch = pool->nr_fast_done < VDISK_FAST_BATCH &&
		pool->nr_fast_done + nr >= VDISK_FAST_BATCH;
	pool->nr_fast_done += nr;
	/*
	 * Ownership: once pool->lock is dropped, an inserter may splice fw,
	 * free it and, for a held bio, complete the bio, after which the
	 * vdisk (and with its last table the pool) may go away.  So all that
	 * is left to do with fw, vd or pool happens before the unlock: the
	 * in-flight count drops after the queueing (a commit waiting for it
	 * finds the write queued) and the worker is woken.
	 */
	vdisk_reserve_write_done(vd);
	if (batch || held)
		vdisk_pool_wake(pool);
	else if (first)
		queue_delayed_work(pool->wq, &pool->insert_waker, VDISK_FAST_BATCH_DELAY);
	spin_unlock_irqrestore(&pool->lock, flags);
	if (status)
		DMERR_LIMIT("vdisk %llu: data write of blocks %llu+%u failed (%d)",
			    id, vblock, nr, blk_status_to_errno(status));
	return held;
}

int vdisk_fast_write_end_io(struct vdisk *vd, struct bio *bio, blk_status_t *error)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	struct vdisk_fast_write *fw = vb->fast;

	vb->fast = NULL;
	return fast_write_done(fw, bio, error) ? DM_ENDIO_INCOMPLETE : DM_ENDIO_DONE;
}

int vdisk_fast_write_map(struct vdisk *vd, struct bio *bio)
{
	return fast_write_map(vd, bio, false);
}

/*
 * A whole-block write that map() handed to the worker because another write
 * of its vdisk was there (or the reserve was empty) goes down the fast path
 * from the worker if it can.  Without this, a vdisk written by many
 * threads at once never got back to the fast path: as long as any of its
 * writes was in the worker, map() sent every new one there too.
 *
 * Safe because: no cell holds its block, so no change of that block's
 * mapping is in progress (a read-modify-write or copy-on-write started
 * later waits for the fast-path writes in flight: slow_may_start());
 * and no slow write waits for the fast-path writes to drain (the reserve
 * refuses then), so none starves.  The bio was trimmed to one block by
 * map(); it stops counting as a slow write.
 */
bool vdisk_fast_write_from_worker(struct vdisk_pool *pool, struct bio *bio)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	struct vdisk *vd = vb->vd;

	if (bio_op(bio) != REQ_OP_WRITE || (bio->bi_opf & (REQ_FUA | REQ_PREFLUSH)) ||
	    !vb->slow_counted || bio_sectors(bio) != pool->block_sectors ||
	    (vb->vsector & (pool->block_sectors - 1)) || !READ_ONCE(vd->rsv.nr) ||
	    vdisk_cell_held(pool, vd, vb->vblock))
		return false;
	vdisk_reserve_slow_done(vd, bio);
	if (fast_write_map(vd, bio, true) != DM_MAPIO_REMAPPED) {
		vdisk_reserve_slow_start(vd, bio);
		return false;
	}
	dm_submit_bio_remap(bio, NULL);
	return true;
}

/*
 * A piece of a whole write (vdisk_fast_write_whole()) completed.  Each piece
 * holds one count of its parent's remaining completions (like a chained
 * bio), so the parent, whose own I/O is the write's last run, completes
 * through device-mapper only after every piece did, with the first error.
 */
static void fast_piece_end_io(struct bio *piece)
{
	struct vdisk_fast_write *fw = piece->bi_private;
	struct bio *parent = fw->parent;
	blk_status_t status = piece->bi_status;

	bio_put(piece);
	/* Held: the inserter ends this piece's count (fw->bio is the parent). */
	if (fast_write_done(fw, parent, &status))
		return;
	if (status && !parent->bi_status)
		parent->bi_status = status;
	bio_endio(parent);
}

/*
 * A write of whole blocks that map() could not allocate (its vdisk's
 * reserve was empty or closed for a commit, or another write of the vdisk
 * was in the worker) comes here whole (vb->whole), not block by block:
 * trimmed to its first block, the rest of a 1 MiB write came back to map()
 * one block at a time, each went to the worker too (a write of the vdisk
 * was there), and the write took 256 trips through it.  Here it takes runs
 * from the reserve, filled at once if empty (vdisk_reserve_fill_for():
 * exactly what the write needs on a nearly full pool), and every run but
 * the last goes down as a piece split off the front, a fast-path write of
 * its own (fast_piece_end_io()); the last run is the bio itself.
 *
 * Safe for each block like vdisk_fast_write_from_worker(): none is under a
 * cell and no slow write of the vdisk waits for its fast-path writes to
 * drain.  Both are checked before the first run is taken, and only the
 * worker takes cells or sets slow_waiting, so neither changes until this
 * returns.  The bio stays a slow write (map() takes nothing for its vdisk)
 * until its last run goes down; if it returns early, the part not sent
 * yet (vb->vblock on) is the caller's to hold or fail, and the pieces sent
 * complete into it.  The bio's status is the first error of any piece, or
 * of its own run: the last run's blocks are then given back with it too
 * (the write failed; what its pieces wrote may be mapped, as after any
 * failed write).
 */
int vdisk_fast_write_whole(struct vdisk_pool *pool, struct bio *bio)
{
	struct vdisk_bio *vb = vdisk_bio_data(bio);
	struct vdisk *vd = vb->vd;
	unsigned int left = bio_sectors(bio) >> pool->block_shift;
	struct vdisk_fast_write *fw = NULL;
	unsigned int nr, gen, i;
	bool filled = false;
	struct bio *piece;
	vd_blk_t block;
	int r = 0;

	if (vdisk_reserve_slow_waiting(vd))
		return -EBUSY;
	for (i = 0; i < left; i++)
		if (vdisk_cell_held(pool, vd, vb->vblock + i))
			return -EBUSY;
	while (left) {
		if (!fw)
			fw = kmem_cache_alloc(vdisk_fast_write_cache, GFP_NOIO | __GFP_NOWARN);
		if (!fw)
			return -EBUSY;
		/*
		 * An empty ring is filled here, not asked for: a failed take
		 * wakes the worker for a refill, and a write that waits for a
		 * discard to finish (-EBUSY) would spin the worker until then.
		 */
		if (!READ_ONCE(vd->rsv.nr) ||
		    vdisk_reserve_take(vd, left, true, &block, &nr, &gen)) {
			if (filled) {
				r = -EBUSY;
				break;
			}
			r = vdisk_reserve_fill_for(pool, vd, left);
			if (r)
				break;
			filled = true;
			continue;
		}
		filled = false;
		fast_write_init(fw, vd, vb->vblock, block, nr, gen);
		if (nr == left) {
			/* The last run: the bio itself, completing like any fast write. */
			vdisk_reserve_slow_done(vd, bio);
			vb->fast = fw;
			bio_set_dev(bio, pool->data_bdev);
			bio->bi_iter.bi_sector = block << pool->block_shift;
			dm_submit_bio_remap(bio, NULL);
			return 0;
		}
		/* Cannot fail: GFP_NOIO from a mempool, and nr < left. */
		piece = bio_split(bio, nr << pool->block_shift, GFP_NOIO, &pool->split_bs);
		fw->parent = bio;
		bio_inc_remaining(bio);
		bio_set_dev(piece, pool->data_bdev);
		piece->bi_iter.bi_sector = block << pool->block_shift;
		piece->bi_end_io = fast_piece_end_io;
		piece->bi_private = fw;
		fw = NULL;
		submit_bio_noacct(piece);
		vb->vsector += (sector_t)nr << pool->block_shift;
		vb->vblock += nr;
		left -= nr;
	}
	if (fw)
		kmem_cache_free(vdisk_fast_write_cache, fw);
	return r;
}

static int fw_cmp_block(void *priv, const struct list_head *a, const struct list_head *b)
{
	const struct vdisk_fast_write *x = list_entry(a, struct vdisk_fast_write, list);
	const struct vdisk_fast_write *y = list_entry(b, struct vdisk_fast_write, list);

	if (x->vd != y->vd)
		return x->vd < y->vd ? -1 : 1;
	if (x->vblock != y->vblock)
		return x->vblock < y->vblock ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int fw_cmp_seq(void *priv, const struct list_head *a, const struct list_head *b)
{
	const struct vdisk_fast_write *x = list_entry(a, struct vdisk_fast_write, list);
	const struct vdisk_fast_write *y = list_entry(b, struct vdisk_fast_write, list);

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/*
 * The order of one pass's inserts (list: completion order on entry).
 * Sorted by vdisk and first block, neighbouring keys share leaf shadows.
 * But writes whose runs overlap must be inserted in the order they
 * completed, so that the later one's blocks are mapped in the end: sorted
 * by first block alone, blocks 104..111 written first would be inserted
 * after blocks 100..107 written later and map the older data (the in-flight
 * crash test caught this).  So the writes of a vdisk whose runs overlap in
 * this pass keep their completion order.
 */
static void order_inserts(struct list_head *list)
{
	struct vdisk_fast_write *fw;
	unsigned int seq = 0;
	LIST_HEAD(sorted);

	list_for_each_entry(fw, list, list)
		fw->seq = seq++;
	list_sort(NULL, list, fw_cmp_block);
	while (!list_empty(list)) {
		struct vdisk_fast_write *first =
			list_first_entry(list, struct vdisk_fast_write, list);
		u64 end = first->vblock + first->nr;
		struct list_head *next = first->list.next;
		bool overlap = false;
		LIST_HEAD(group);

		/* The group: first and the writes of its vdisk after it. */
		for (; next != list; next = next->next) {
			fw = list_entry(next, struct vdisk_fast_write, list);
			if (fw->vd != first->vd)
				break;
			overlap |= fw->vblock < end;
			end = max(end, fw->vblock + fw->nr);
		}
		list_cut_before(&group, list, next);
		if (overlap)
			list_sort(NULL, &group, fw_cmp_seq);
		list_splice_tail(&group, &sorted);
	}
	list_splice(&sorted, list);
}

/* Insert one completed write (md_lock held exclusive).  0 or an error. */
static int insert_one(struct vdisk_pool *pool, struct vdisk_fast_write *fw)
{
	struct vdisk *vd = fw->vd;
	unsigned int i, j, n;
	u32 was_unmapped;
	int r = 0;

	if (fw->status) {
		/* Nothing maps the blocks: give them back. */
		for (i = 0; i < fw->nr && !r; i++)
			r = vd_pool_release_data_block(pool->pmd, fw->block + i);
		return r;
	}
	for (i = 0; i < fw->nr && !r; i += n) {
		n = min_t(unsigned int, fw->nr - i, VD_POOL_INSERT_RUN_MAX);
		r = vd_pool_insert_run(pool->pmd, vd->id, fw->vblock + i, fw->block + i, n,
				       &was_unmapped);
		if (r)
			break;
		for (j = 0; j < n; j++) {
			if (was_unmapped & (1u << j))
				vdisk_census_new_mapping(vd, fw->vblock + i + j);
			else
				pool->share_gen++;	/* the old block may have been shared */
		}
	}
	if (!r)
		vdisk_cache_settle(vd, fw->vblock, fw->block, fw->nr);
	return r;
}

void vdisk_fast_write_insert_all(struct vdisk_pool *pool)
{
	struct vdisk_fast_write *fw, *tmp;
	unsigned int noio;
	unsigned long flags;
	LIST_HEAD(list);
	int r = 0;

	lockdep_assert_held_write(&pool->md_lock);
	spin_lock_irqsave(&pool->lock, flags);
	list_splice_init(&pool->fast_done, &list);
	pool->nr_fast_done = 0;
	pool->fast_done_held = false;
	spin_unlock_irqrestore(&pool->lock, flags);
	if (list_empty(&list))
		return;
	order_inserts(&list);
	noio = memalloc_noio_save();
	list_for_each_entry_safe(fw, tmp, &list, list) {
		list_del(&fw->list);
		if (!fw->stale && !r && pool->mode < VDISK_MODE_RO) {
			pool->fast_blocks -= fw->nr;
			pool->dirty = true;
			r = insert_one(pool, fw);
			if (r)
				/* Rolls back: the rest of the list is stale now. */
				vdisk_pool_metadata_error(pool, "insert", r);
		} else if (!fw->stale && !fw->status && !fw->bio) {
			/* Acknowledged, and the pool can no longer map it. */
			WRITE_ONCE(pool->dropped_changes, true);
		}
		if (fw->bio) {
			if (r || fw->stale || pool->mode >= VDISK_MODE_RO)
				fw->bio->bi_status = BLK_STS_IOERR;
			bio_endio(fw->bio);
		}
		kmem_cache_free(vdisk_fast_write_cache, fw);
	}
	memalloc_noio_restore(noio);
}

void vdisk_md_lock(struct vdisk_pool *pool)
{
	down_write(&pool->md_lock);
	vdisk_fast_write_insert_all(pool);
}
