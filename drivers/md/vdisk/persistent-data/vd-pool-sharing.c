// SPDX-License-Identifier: GPL-2.0
/* dm-vdisk pool metadata: the exact sharing census of a vdisk. */
#define pr_fmt(fmt) "vdisk-metadata: " fmt

#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-pool-metadata-internal.h"

/*
 * A mapping is exclusive to its vdisk when nothing else can reach it: every
 * node from the superblock down to its leaf has metadata count 1 and its
 * data block has data count 1.  A node with count > 1 makes everything
 * below it shared, whatever the counts further down say: with O(1)
 * snapshots a data block has count 1 while the leaf naming it is shared.
 * The path starts in the vdisks tree: while a metadata snapshot is held, a
 * shared vdisks-tree leaf names the mapping root with a single reference
 * (see touch_vdisk() in vd-pool-metadata.c), so that root's count of 1
 * does not make it exclusive.
 * Only read locks and space-map reads (which include the transaction's
 * queued changes): safe under the readers' side of the concurrency contract.
 */
struct census_ctx {
	struct vd_pool_metadata *pmd;
	/* shared_at[d]: the node visited last at depth d, or one above, is shared */
	bool shared_at[VD_BTREE_MAX_DEPTH];
	bool top_shared;
	struct vd_sharing_census *census;
	u64 begin;			/* keys below were counted by earlier steps */
	unsigned int leaves_left;	/* this step's budget; 0: unlimited */
};

static int census_top_fn(void *context, vd_blk_t b)
{
	struct census_ctx *c = context;
	u32 count;
	int r = vd_sm_get_count(c->pmd->msm, b, &count);

	if (!r && count > 1)
		c->top_shared = true;
	return r;
}

static int census_fn(void *context, const struct vd_btree_walk_node *n)
{
	struct census_ctx *c = context;
	const __le64 *values = n->values;
	u32 count, i;
	bool shared;
	int r;

	r = vd_sm_get_count(c->pmd->msm, n->blocknr, &count);
	if (r)
		return r;
	shared = count > 1 || (n->depth ? c->shared_at[n->depth - 1] : c->top_shared);
	c->shared_at[n->depth] = shared;
	if (!n->is_leaf)
		return 0;
	for (i = 0; i < n->nr_entries; i++) {
		u64 v = le64_to_cpu(values[i]);

		if (le64_to_cpu(n->keys[i]) < c->begin)
			continue;
		if (shared) {
			c->census->shared++;
			continue;
		}

		if (VD_MAP_BLOCK(v) >= le64_to_cpu(c->pmd->sb->nr_data_blocks)) {
			pr_err("sharing census: mapping leaf %llu names data block %llu, beyond the device\n",
			       (unsigned long long)n->blocknr, (unsigned long long)VD_MAP_BLOCK(v));
			return -EILSEQ;
		}
		r = vd_sm_get_count(c->pmd->dsm, VD_MAP_BLOCK(v), &count);
		if (r)
			return r;
		if (count == 1)
			c->census->exclusive++;
		else
			c->census->shared++;
	}
	/* The next step starts after this leaf's range. */
	if (n->hi == U64_MAX) {
		c->census->done = true;
		return VD_BTREE_WALK_STOP;
	}
	c->census->next_key = n->hi + 1;
	if (c->leaves_left && !--c->leaves_left)
		return VD_BTREE_WALK_STOP;
	return 0;
}

int vd_pool_count_sharing_step(struct vd_pool_metadata *pmd, u64 id,
			       struct vd_sharing_census *census, unsigned int max_leaves)
{
	struct census_ctx c = {
		.pmd = pmd,
		.census = census,
		.begin = census->next_key,
		.leaves_left = max_leaves,
	};
	struct vd_ref root;
	int r;

	if (census->done)
		return 0;
	r = vd_pmd_live_vdisk(pmd, id, &root, NULL);
	if (r)
		return r;
	/* The vdisks tree path to @id's entry, then the mapping tree itself. */
	r = vd_btree_walk_path(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_VDISKS), id,
			       census_top_fn, &c);
	if (r)
		return r == -ENODATA ? -EILSEQ : r;
	r = vd_btree_walk_from(&pmd->map_info, root, census->next_key, census_fn, &c);
	if (r < 0)
		return r;
	/* The last leaf stops the walk with done set; a walk ending otherwise saw it too. */
	if (!r)
		census->done = true;
	return 0;
}

int vd_pool_count_sharing(struct vd_pool_metadata *pmd, u64 id, u64 *exclusive,
			  u64 *shared)
{
	struct vd_sharing_census census = { 0 };
	int r;

	*exclusive = 0;
	*shared = 0;
	r = vd_pool_count_sharing_step(pmd, id, &census, 0);
	if (r)
		return r;
	*exclusive = census.exclusive;
	*shared = census.shared;
	return 0;
}
