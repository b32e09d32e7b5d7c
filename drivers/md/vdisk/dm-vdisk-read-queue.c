// SPDX-License-Identifier: GPL-2.0
/*
 * Per-vdisk queues of the reads the mapping cache could not serve.
 *
 * map() serves a read from the vdisk's mapping cache (dm-vdisk-mapcache.c)
 * without sleeping; a miss needs a B+tree lookup, which may read metadata
 * blocks and so cannot run in map().  Those reads go here, not to the pool
 * worker: each vdisk has its own queue and work item, run on the pool's
 * unbound workqueue (pool->io_wq), so a read of one vdisk never waits in
 * line behind another vdisk's inserts, allocations, commits or reclaim in
 * the worker.  Reads of different vdisks are looked up concurrently; one
 * vdisk's misses are looked up one after another by its work item (they
 * mostly share leaves, which one lookup brings into the block cache for
 * the next).
 *
 * Nothing here is ordered against the worker: a lookup takes md_lock
 * shared, so it sees the B+tree before or after any change, never in the
 * middle of one, and the mapping cache's rules (fills never replace an
 * entry, pending fast-path entries are seen before the tree) are the same
 * as for a lookup in the worker.  A read that races a write of the same
 * block reads the old or the new data, as from the worker; the in-flight
 * epoch it enters before looking up (vdisk_io_enter()) keeps a block it
 * maps from being reused until it completed.
 *
 * Ownership: a queued bio belongs to the queue until the work item takes
 * it.  The vdisk's destructor runs suspended, when dm core has no bio of
 * the vdisk in flight, so the queue is empty; vdisk_read_queue_stop()
 * still waits for the work item to return before @vd is freed.
 */
#include "dm-vdisk.h"

#include <linux/sched/mm.h>

static void vdisk_read_queue_work(struct work_struct *ws)
{
	struct vdisk *vd = container_of(ws, struct vdisk, read_work);
	struct vdisk_pool *pool = vd->pool;
	/* Lookups allocate (block cache buffers): never recurse into our own I/O. */
	unsigned int noio = memalloc_noio_save();
	struct bio_list bios;
	struct bio *bio;

	for (;;) {
		spin_lock_irq(&vd->read_lock);
		bios = vd->read_bios;
		bio_list_init(&vd->read_bios);
		spin_unlock_irq(&vd->read_lock);
		if (bio_list_empty(&bios))
			break;
		while ((bio = bio_list_pop(&bios))) {
			if (READ_ONCE(pool->mode) == VDISK_MODE_FAIL)
				bio_io_error(bio);
			else
				vdisk_read_from_metadata(pool, bio);
			cond_resched();
		}
	}
	memalloc_noio_restore(noio);
}

void vdisk_read_queue_init(struct vdisk *vd)
{
	spin_lock_init(&vd->read_lock);
	bio_list_init(&vd->read_bios);
	INIT_WORK(&vd->read_work, vdisk_read_queue_work);
}

void vdisk_read_queue_stop(struct vdisk *vd)
{
	flush_work(&vd->read_work);
}

/* map(): a plain read that missed the mapping cache. */
void vdisk_queue_read(struct vdisk *vd, struct bio *bio)
{
	unsigned long flags;

	spin_lock_irqsave(&vd->read_lock, flags);
	bio_list_add(&vd->read_bios, bio);
	spin_unlock_irqrestore(&vd->read_lock, flags);
	queue_work(vd->pool->io_wq, &vd->read_work);
}
