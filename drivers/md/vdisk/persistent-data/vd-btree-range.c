// SPDX-License-Identifier: GPL-2.0
/*
 * B+tree range operations: iteration, bulk range removal and incremental
 * deletion of a whole tree.
 *
 * Range removal walks the nodes overlapping the range.  A child lying wholly
 * inside the range is dropped without being visited if it is shared (one
 * decrement: the other owners keep it), and an unshared leaf inside the range
 * is released with one pass over its values and freed without a copy.  Only
 * partially covered nodes and unshared internal nodes are shadowed.
 *
 * The budget counts visited nodes; when it runs out (or the caller's yield
 * test says stop) the walk stops after the current child, which always
 * leaves a valid (smaller) tree: entries are only ever removed, and key[i]
 * stays a lower bound of child i.
 *
 * Liveness invariant: every step removes at least one entry or one
 * reference.  The budget is therefore only enforced once the step has made
 * progress; until then the walk may go past it, by at most the depth of the
 * tree (the descent to the first leaf or shared subtree).  Without this a
 * step whose budget was smaller than that descent stopped in an internal node
 * it had only shadowed, and the next step (after a commit) did the same
 * again forever: a budget of 1 never finished a three-level tree.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "vd-btree-internal.h"

struct vd_budget {
	unsigned int left;
	const struct vd_btree_yield *yield;	/* NULL: the budget alone */
	bool limited;
	bool stopped;
	bool progress;		/* an entry or a reference went: may stop now */
	bool count_shared;	/* caller wants nr_removed: count shared subtrees */
	u64 removed;
};

static bool yield_now(struct vd_budget *bg)
{
	return bg->progress && bg->yield && bg->yield->should_stop(bg->yield->context);
}

static bool budget_take(struct vd_budget *bg)
{
	if (!bg->limited)
		return true;
	if (!bg->left || yield_now(bg)) {
		if (!bg->progress)
			return true;	/* see the liveness invariant above */
		bg->stopped = true;
		return false;
	}
	bg->left--;
	return true;
}

static int range_leaf(struct vd_btree_info *info, struct vd_btree_node_header *n,
		      u64 begin, u64 last, struct vd_budget *bg)
{
	u32 nr = vd_node_nr(n), vs = vd_node_vsize(n), i, j, k;
	int lb, r;

	lb = vd_node_lower_bound(n, begin);
	i = (lb >= 0 && vd_node_key(n, lb) == begin) ? (u32)lb : (u32)(lb + 1);
	for (j = i; j < nr && vd_node_key(n, j) <= last; j++)
		;
	if (info->vt.dec_many && j > i) {
		r = info->vt.dec_many(info->vt.context, vd_node_value(n, i), j - i);
		if (r)
			return r;
	}
	for (k = i; k < j && !info->vt.dec_many; k++) {
		r = info->vt.dec ? info->vt.dec(info->vt.context, vd_node_value(n, k)) : 0;
		if (r)
			return r;
	}
	memmove(vd_node_keys(n) + i, vd_node_keys(n) + j, (size_t)8 * (nr - j));
	memmove(vd_node_value(n, i), vd_node_value(n, j), (size_t)vs * (nr - j));
	n->nr_entries = cpu_to_le32(nr - (j - i));
	bg->removed += j - i;
	if (j > i)
		bg->progress = true;
	return 0;
}

/* Release a whole unshared leaf in place (no copy) and free it. */
static int drop_leaf(struct vd_btree_info *info, struct vd_ref b, struct vd_budget *bg)
{
	struct vd_block *blk;
	int r;

	r = vd_btree_read_node(info, b, &blk);
	if (r)
		return r;
	r = vd_btree_dec_entries(info, vd_node(blk));
	bg->removed += vd_node_nr(vd_node(blk));
	bg->progress = true;
	vd_tm_unlock(info->tm, blk);
	return r ? r : vd_tm_dec(info->tm, b.nr);
}

/* @n is write-locked and covers keys [.., hi]. */
static int range_rec(struct vd_btree_info *info, struct vd_btree_node_header *n,
		     u64 begin, u64 last, u64 hi, unsigned int depth, struct vd_budget *bg)
{
	struct vd_block *cb;
	u64 chi;
	u32 count;
	struct vd_node_shape shape;
	int c, r;

	if (depth >= VD_BTREE_MAX_DEPTH)
		return -EILSEQ;
	if (vd_node_is_leaf(n))
		return range_leaf(info, n, begin, last, bg);

	c = max(vd_node_lower_bound(n, begin), 0);
	while (c < (int)vd_node_nr(n) && vd_node_key(n, c) <= last) {
		struct vd_ref child = vd_node_child(n, c);

		chi = vd_node_child_hi(n, (u32)c, hi);
		if (!budget_take(bg))
			return 0;
		if (vd_node_key(n, c) >= begin && chi <= last) {
			r = vd_tm_ref(info->tm, child.nr, &count);
			if (r)
				return r;
			if (count > 1) {
				/* Shared: the other owners keep it, we only let go. */
				if (bg->count_shared) {
					u64 n;

					r = vd_btree_count(info, child, &n);
					if (r)
						return r;
					bg->removed += n;
				}
				r = vd_tm_dec(info->tm, child.nr);
				if (r)
					return r;
				vd_node_delete_at(n, (u32)c);
				bg->progress = true;
				continue;
			}
			r = vd_btree_node_shape(info, child, &shape);
			if (r)
				return r;
			if (shape.leaf) {
				r = drop_leaf(info, child, bg);
				if (r)
					return r;
				vd_node_delete_at(n, (u32)c);
				continue;
			}
		}
		r = vd_btree_shadow_node(info, child, &cb);
		if (r)
			return r;
		vd_node_set_child(n, (u32)c, vd_btree_ref(info, cb));
		r = vd_node_check_bounds(cb, vd_node_key(n, c), chi);
		if (!r)
			r = range_rec(info, vd_node(cb), begin, last, chi, depth + 1, bg);
		if (!r && !vd_node_nr(vd_node(cb))) {
			vd_blk_t gone = vd_block_location(cb);

			vd_tm_unlock(info->tm, cb);
			vd_node_delete_at(n, (u32)c);
			r = vd_tm_dec(info->tm, gone);	/* empty: nothing to release */
			if (r)
				return r;
			bg->progress = true;
		} else {
			vd_tm_unlock(info->tm, cb);
			if (r)
				return r;
			c++;
		}
		if (bg->stopped)
			return 0;
	}
	return 0;
}

/* Remove [begin, last] from the tree at @root; *new_root gets the result. */
static int remove_range_budget(struct vd_btree_info *info, struct vd_ref root, u64 begin,
			       u64 last, struct vd_budget *bg, struct vd_ref *new_root)
{
	struct vd_btree_node_header *n;
	struct vd_block *rb;
	struct vd_ref child;
	vd_blk_t old;
	int r;

	r = vd_btree_shadow_node(info, root, &rb);
	if (r)
		return r;
	n = vd_node(rb);
	r = range_rec(info, n, begin, last, U64_MAX, 0, bg);
	if (!r && !vd_node_is_leaf(n) && !vd_node_nr(n))
		vd_node_init(n, true, info->vt.size);	/* everything went */
	/* Collapse single-child internal roots (their reference moves up). */
	while (!r && !vd_node_is_leaf(n) && vd_node_nr(n) == 1) {
		child = vd_node_child(n, 0);
		old = vd_block_location(rb);
		vd_tm_unlock(info->tm, rb);
		rb = NULL;
		r = vd_tm_dec(info->tm, old);
		if (!r)
			r = vd_btree_shadow_node(info, child, &rb);
		if (!r)
			n = vd_node(rb);
	}
	if (rb) {
		*new_root = vd_btree_ref(info, rb);
		vd_tm_unlock(info->tm, rb);
	}
	return r;
}

int vd_btree_remove_range(struct vd_btree_info *info, struct vd_ref root, u64 begin, u64 end,
			  struct vd_ref *new_root, u64 *nr_removed)
{
	struct vd_budget bg = { .count_shared = !!nr_removed };
	int r;

	if (nr_removed)
		*nr_removed = 0;
	if (begin >= end) {
		*new_root = root;
		return 0;
	}
	r = remove_range_budget(info, root, begin, end - 1, &bg, new_root);
	if (nr_removed)
		*nr_removed = bg.removed;
	return r;
}

int vd_btree_del_step(struct vd_btree_info *info, struct vd_ref root, unsigned int budget,
		      const struct vd_btree_yield *yield, struct vd_ref *new_root, int *done)
{
	struct vd_budget bg = { .left = max(budget, 1U), .yield = yield, .limited = true };
	struct vd_block *blk;
	u32 count;
	bool empty;
	int r;

	*done = 0;
	*new_root = root;
	r = vd_tm_ref(info->tm, root.nr, &count);
	if (r)
		return r;
	if (count > 1) {
		*done = 1;
		return vd_tm_dec(info->tm, root.nr);
	}
	r = remove_range_budget(info, root, 0, U64_MAX, &bg, new_root);
	if (r)
		return r;
	r = vd_btree_read_node(info, *new_root, &blk);
	if (r)
		return r;
	empty = vd_node_is_leaf(vd_node(blk)) && !vd_node_nr(vd_node(blk));
	vd_tm_unlock(info->tm, blk);
	if (!empty)
		return 0;
	*done = 1;
	return vd_tm_dec(info->tm, new_root->nr);
}

/* ---------------------------------------------------------------------- */
/* Iteration.                                                             */
/* ---------------------------------------------------------------------- */

static int iterate_rec(struct vd_btree_info *info, struct vd_ref b, u64 lo, u64 hi, u64 begin,
		       u64 last, unsigned int depth, vd_btree_iter_fn fn, void *context)
{
	struct vd_btree_node_header *n;
	struct vd_block *blk;
	int i, nr, r = 0;

	if (depth >= VD_BTREE_MAX_DEPTH)
		return -EILSEQ;
	r = vd_btree_read_node_in_range(info, b, lo, hi, &blk);
	if (r)
		return r;
	n = vd_node(blk);
	nr = (int)vd_node_nr(n);
	i = vd_node_lower_bound(n, begin);
	if (vd_node_is_leaf(n)) {
		if (i < 0 || vd_node_key(n, i) < begin)
			i++;
		for (; i < nr && !r && vd_node_key(n, i) <= last; i++)
			r = fn(context, vd_node_key(n, i), vd_node_value(n, i));
	} else {
		for (i = max(i, 0); i < nr && !r && vd_node_key(n, i) <= last; i++)
			r = iterate_rec(info, vd_node_child(n, i), vd_node_key(n, i),
					vd_node_child_hi(n, i, hi), begin, last, depth + 1,
					fn, context);
	}
	vd_tm_unlock(info->tm, blk);
	return r;
}

int vd_btree_iterate(struct vd_btree_info *info, struct vd_ref root, u64 begin, u64 end,
		     vd_btree_iter_fn fn, void *context)
{
	if (begin >= end)
		return 0;
	return iterate_rec(info, root, 0, U64_MAX, begin, end - 1, 0, fn, context);
}
