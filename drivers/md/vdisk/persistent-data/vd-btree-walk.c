// SPDX-License-Identifier: GPL-2.0
/* B+tree walks for the checker, audits and the sharing census; entry counting. */
#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-btree-internal.h"

/*
 * Visit @b and, in key order, its children whose key range reaches @begin
 * or beyond.  Returns 0, < 0 on error, or VD_BTREE_WALK_STOP from @fn.
 */
static int walk_rec(struct vd_btree_info *info, struct vd_ref b, unsigned int depth,
		    u64 lo, u64 hi, u64 begin, vd_btree_walk_fn fn, void *context)
{
	struct vd_btree_walk_node wn;
	struct vd_btree_node_header *n;
	struct vd_block *blk;
	u32 i, nr;
	int r;

	if (depth >= VD_BTREE_MAX_DEPTH) {
		pr_err("vdisk: btree node %llu: tree deeper than %u levels\n",
		       (unsigned long long)b.nr, VD_BTREE_MAX_DEPTH);
		return -EILSEQ;
	}
	r = vd_btree_read_node(info, b, &blk);
	if (r)
		return r;
	n = vd_node(blk);
	nr = vd_node_nr(n);
	wn.blocknr = b.nr;
	wn.txn = b.txn;
	wn.depth = depth;
	wn.lo = lo;
	wn.hi = hi;
	wn.is_leaf = vd_node_is_leaf(n);
	wn.nr_entries = nr;
	wn.max_entries = vd_node_max(n);
	wn.value_size = vd_node_vsize(n);
	wn.keys = vd_node_keys(n);
	wn.values = vd_node_value(n, 0);
	r = fn(context, &wn);
	if (r || wn.is_leaf) {
		vd_tm_unlock(info->tm, blk);
		return r == VD_BTREE_WALK_SKIP ? 0 : r;
	}
	for (i = 0; i < nr && !r; i++) {
		u64 chi = i + 1 < nr ? vd_node_key(n, i + 1) - 1 : hi;

		if (chi < begin)
			continue;
		r = walk_rec(info, vd_node_child(n, i), depth + 1, vd_node_key(n, i), chi,
			     begin, fn, context);
	}
	vd_tm_unlock(info->tm, blk);
	return r;
}

int vd_btree_walk(struct vd_btree_info *info, struct vd_ref root, vd_btree_walk_fn fn,
		  void *context)
{
	return walk_rec(info, root, 0, 0, U64_MAX, 0, fn, context);
}

int vd_btree_walk_from(struct vd_btree_info *info, struct vd_ref root, u64 begin,
		       vd_btree_walk_fn fn, void *context)
{
	return walk_rec(info, root, 0, 0, U64_MAX, begin, fn, context);
}

int vd_btree_walk_path(struct vd_btree_info *info, struct vd_ref root, u64 key,
		       int (*fn)(void *context, vd_blk_t b), void *context)
{
	struct vd_btree_node_header *n;
	struct vd_ref cur = root;
	struct vd_block *blk;
	unsigned int depth;
	int i, r;

	for (depth = 0; depth < VD_BTREE_MAX_DEPTH; depth++) {
		r = vd_btree_read_node(info, cur, &blk);
		if (r)
			return r;
		n = vd_node(blk);
		r = fn(context, cur.nr);
		i = vd_node_lower_bound(n, key);
		if (!r && i < 0)
			r = -ENODATA;
		if (r || vd_node_is_leaf(n)) {
			vd_tm_unlock(info->tm, blk);
			return r;
		}
		cur = vd_node_child(n, i);
		vd_tm_unlock(info->tm, blk);
	}
	pr_err("vdisk: btree node %llu: tree deeper than %u levels\n",
	       (unsigned long long)cur.nr, VD_BTREE_MAX_DEPTH);
	return -EILSEQ;
}

static int count_fn(void *context, const struct vd_btree_walk_node *node)
{
	u64 *count = context;

	if (node->is_leaf)
		*count += node->nr_entries;
	return 0;
}

int vd_btree_count(struct vd_btree_info *info, struct vd_ref root, u64 *count)
{
	*count = 0;
	return vd_btree_walk(info, root, count_fn, count);
}
