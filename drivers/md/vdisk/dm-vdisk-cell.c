// SPDX-License-Identifier: GPL-2.0
/*
 * Per-block ordering: an exclusive lock per (vdisk, virtual block) taken by
 * the worker around every change of that block's mapping (allocation on
 * first write, copy-on-write, partial-block merge).  A second bio for the
 * same block waits on the cell and is handed back to the worker, which looks
 * the block up again, when the holder finishes.  So two partial writes to
 * one new block never allocate twice, and a write never lands in a block
 * that is being replaced.
 *
 * Only the worker (a single ordered work item) takes and releases cells, so
 * the hash table needs no lock of its own.  Fast-path I/O does not take
 * cells: it never changes a mapping, and it only writes blocks that its
 * mapping cache marks exclusive (dm-vdisk-mapcache.c), which no cell holder
 * replaces.
 */
#include "dm-vdisk.h"

#include <linux/hash.h>
#include <linux/slab.h>

struct vdisk_cell {
	struct hlist_node node;
	struct vdisk *vd;
	u64 vblock;
	struct bio_list waiters;
};

void vdisk_cells_init(struct vdisk_cell_table *t)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(t->buckets); i++)
		INIT_HLIST_HEAD(&t->buckets[i]);
}

static struct hlist_head *cell_bucket(struct vdisk_cell_table *t, struct vdisk *vd,
				      u64 vblock)
{
	u64 key = vblock ^ hash_ptr(vd, 32);

	return &t->buckets[hash_64(key, VDISK_CELL_HASH_BITS)];
}

static struct vdisk_cell *cell_find(struct hlist_head *b, struct vdisk *vd, u64 vblock)
{
	struct vdisk_cell *c;

	hlist_for_each_entry(c, b, node)
		if (c->vd == vd && c->vblock == vblock)
			return c;
	return NULL;
}

int vdisk_cell_lock(struct vdisk_pool *pool, struct vdisk *vd, u64 vblock, struct bio *bio)
{
	struct hlist_head *b = cell_bucket(&pool->cells, vd, vblock);
	struct vdisk_cell *c = cell_find(b, vd, vblock);

	if (c) {
		bio_list_add(&c->waiters, bio);
		return 1;
	}
	/*
	 * The worker may sleep for memory here: cells are freed by the worker
	 * itself, so this never waits for a cell to be released.
	 */
	c = kmalloc(sizeof(*c), GFP_NOIO | __GFP_NOFAIL);
	c->vd = vd;
	c->vblock = vblock;
	bio_list_init(&c->waiters);
	hlist_add_head(&c->node, b);
	vdisk_bio_data(bio)->holds_cell = true;
	return 0;
}

/* Is a change of this block's mapping in progress? */
bool vdisk_cell_held(struct vdisk_pool *pool, struct vdisk *vd, u64 vblock)
{
	return cell_find(cell_bucket(&pool->cells, vd, vblock), vd, vblock);
}

void vdisk_cell_unlock(struct vdisk_pool *pool, struct vdisk *vd, u64 vblock)
{
	struct hlist_head *b = cell_bucket(&pool->cells, vd, vblock);
	struct vdisk_cell *c = cell_find(b, vd, vblock);
	struct bio *bio;

	if (WARN_ON_ONCE(!c))
		return;
	hlist_del(&c->node);
	while ((bio = bio_list_pop(&c->waiters)))
		vdisk_defer_bio(pool, bio);
	kfree(c);
}
