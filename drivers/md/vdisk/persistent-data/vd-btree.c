// SPDX-License-Identifier: GPL-2.0
/*
 * Copy-on-write B+tree: node helpers, lookups, insert, remove, clone, del.
 *
 * Updates work top-down on a "spine" of at most two write-locked nodes
 * (parent, child).  Every node on the path is shadowed first, so the tree
 * reachable from the old root is never modified unless its nodes were
 * already new in this transaction.  Full children are split before we
 * descend into them (so a parent always has room for one more entry), and
 * small children are merged with or refilled from a neighbour before a
 * removal descends into them.
 *
 * Error handling: an update that fails with anything but -ENODATA leaves
 * the transaction in an undefined state (references may already have moved);
 * the caller must abort it and reopen from the last commit.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "vd-btree-internal.h"
#include "vd-space-map.h"

void vd_node_init(struct vd_btree_node_header *n, bool leaf, u32 value_size)
{
	u32 vsize = leaf ? value_size : VD_BTREE_INTERNAL_VALUE_SIZE;

	n->flags = cpu_to_le32(leaf ? VD_BTREE_NODE_LEAF : VD_BTREE_NODE_INTERNAL);
	n->nr_entries = 0;
	n->value_size = cpu_to_le32(vsize);
	n->max_entries = cpu_to_le32(VD_BTREE_MAX_ENTRIES(vsize));
	n->reserved = 0;
}

int vd_node_check_bounds(struct vd_block *b, u64 lo, u64 hi)
{
	struct vd_btree_node_header *n = vd_node(b);
	u32 nr = vd_node_nr(n);

	if (nr && (vd_node_key(n, 0) < lo || vd_node_key(n, nr - 1) > hi)) {
		pr_err("vdisk: btree node %llu: keys [%llu, %llu] outside its parent's range [%llu, %llu]\n",
		       (unsigned long long)vd_block_location(b),
		       (unsigned long long)vd_node_key(n, 0),
		       (unsigned long long)vd_node_key(n, nr - 1),
		       (unsigned long long)lo, (unsigned long long)hi);
		return -EILSEQ;
	}
	return 0;
}

static int vd_btree_check_node(struct vd_btree_info *info, struct vd_block *b)
{
	struct vd_btree_node_header *n = vd_node(b);

	if (vd_node_is_leaf(n) && vd_node_vsize(n) != info->vt.size) {
		pr_err("vdisk: btree node %llu: value size %u, tree expects %u\n",
		       (unsigned long long)vd_block_location(b), vd_node_vsize(n),
		       info->vt.size);
		return -EILSEQ;
	}
	if (!vd_node_is_leaf(n) && !vd_node_nr(n)) {
		pr_err("vdisk: btree node %llu: empty internal node\n",
		       (unsigned long long)vd_block_location(b));
		return -EILSEQ;
	}
	return 0;
}

int vd_btree_read_node(struct vd_btree_info *info, struct vd_ref b, struct vd_block **result)
{
	int r = vd_tm_read_lock(info->tm, b, &vd_btree_node_validator, result);

	if (r)
		return r;
	r = vd_btree_check_node(info, *result);
	if (r)
		vd_tm_unlock(info->tm, *result);
	return r;
}

int vd_btree_read_node_in_range(struct vd_btree_info *info, struct vd_ref b,
				u64 lo, u64 hi, struct vd_block **result)
{
	int r = vd_btree_read_node(info, b, result);

	if (r)
		return r;
	r = vd_node_check_bounds(*result, lo, hi);
	if (r)
		vd_tm_unlock(info->tm, *result);
	return r;
}

int vd_btree_node_shape(struct vd_btree_info *info, struct vd_ref b,
			struct vd_node_shape *shape)
{
	struct vd_btree_node_header *n;
	struct vd_block *blk;
	int r = vd_btree_read_node(info, b, &blk);

	if (r)
		return r;
	n = vd_node(blk);
	shape->nr_entries = vd_node_nr(n);
	shape->max_entries = vd_node_max(n);
	shape->leaf = vd_node_is_leaf(n);
	vd_tm_unlock(info->tm, blk);
	return 0;
}

int vd_btree_inc_entries(struct vd_btree_info *info, struct vd_btree_node_header *n)
{
	u32 i, nr = vd_node_nr(n);
	int r;

	for (i = 0; i < nr; i++) {
		if (vd_node_is_leaf(n))
			r = info->vt.inc ? info->vt.inc(info->vt.context, vd_node_value(n, i)) : 0;
		else
			r = vd_tm_inc(info->tm, vd_node_child(n, i).nr);
		if (r)
			return r;
	}
	return 0;
}

int vd_btree_dec_entries(struct vd_btree_info *info, struct vd_btree_node_header *n)
{
	u32 i, nr = vd_node_nr(n);
	int r;

	if (vd_node_is_leaf(n) && info->vt.dec_many)
		return nr ? info->vt.dec_many(info->vt.context, vd_node_value(n, 0), nr) : 0;
	for (i = 0; i < nr; i++) {
		if (vd_node_is_leaf(n))
			r = info->vt.dec ? info->vt.dec(info->vt.context, vd_node_value(n, i)) : 0;
		else
			r = vd_btree_del(info, vd_node_child(n, i));
		if (r)
			return r;
	}
	return 0;
}

int vd_btree_shadow_node(struct vd_btree_info *info, struct vd_ref b, struct vd_block **result)
{
	int inc = 0, r;

	r = vd_tm_shadow_block(info->tm, b, &vd_btree_node_validator, result, &inc);
	if (r)
		return r;
	r = vd_btree_check_node(info, *result);
	if (!r && inc)
		r = vd_btree_inc_entries(info, vd_node(*result));
	if (r)
		vd_tm_unlock(info->tm, *result);
	return r;
}

void vd_node_delete_at(struct vd_btree_node_header *n, u32 i)
{
	u32 nr = vd_node_nr(n), vs = vd_node_vsize(n);

	memmove(vd_node_keys(n) + i, vd_node_keys(n) + i + 1, (size_t)8 * (nr - i - 1));
	memmove(vd_node_value(n, i), vd_node_value(n, i + 1), (size_t)vs * (nr - i - 1));
	n->nr_entries = cpu_to_le32(nr - 1);
}

void vd_node_insert_at(struct vd_btree_node_header *n, u32 i, u64 key, const void *value)
{
	u32 nr = vd_node_nr(n), vs = vd_node_vsize(n);

	memmove(vd_node_keys(n) + i + 1, vd_node_keys(n) + i, (size_t)8 * (nr - i));
	memmove(vd_node_value(n, i + 1), vd_node_value(n, i), (size_t)vs * (nr - i));
	vd_node_keys(n)[i] = cpu_to_le64(key);
	memcpy(vd_node_value(n, i), value, vs);
	n->nr_entries = cpu_to_le32(nr + 1);
}

int vd_btree_empty(struct vd_btree_info *info, struct vd_ref *root)
{
	struct vd_block *b;
	int r;

	if (!info->vt.size || info->vt.size > VD_BTREE_MAX_VALUE_SIZE)
		return -EINVAL;
	r = vd_tm_new_block(info->tm, &vd_btree_node_validator, &b);
	if (r)
		return r;
	vd_node_init(vd_node(b), true, info->vt.size);
	*root = vd_btree_ref(info, b);
	vd_tm_unlock(info->tm, b);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Lookups: read locks only, hand over hand.                              */
/* ---------------------------------------------------------------------- */

int vd_btree_lookup(struct vd_btree_info *info, struct vd_ref root, u64 key, void *value)
{
	struct vd_btree_node_header *n;
	u64 lo = 0, hi = U64_MAX;
	struct vd_block *b;
	unsigned int depth;
	int i, r;

	for (depth = 0; depth < VD_BTREE_MAX_DEPTH; depth++) {
		r = vd_btree_read_node_in_range(info, root, lo, hi, &b);
		if (r)
			return r;
		n = vd_node(b);
		i = vd_node_lower_bound(n, key);
		if (i < 0 || (vd_node_is_leaf(n) && vd_node_key(n, i) != key)) {
			vd_tm_unlock(info->tm, b);
			return -ENODATA;
		}
		if (vd_node_is_leaf(n)) {
			if (value)
				memcpy(value, vd_node_value(n, i), info->vt.size);
			vd_tm_unlock(info->tm, b);
			return 0;
		}
		root = vd_node_child(n, i);
		lo = vd_node_key(n, i);
		hi = vd_node_child_hi(n, i, hi);
		vd_tm_unlock(info->tm, b);
	}
	pr_err("vdisk: btree too deep below block %llu\n", (unsigned long long)root.nr);
	return -EILSEQ;
}

/* Smallest key >= @key in the subtree (dir > 0) or largest <= @key (dir < 0). */
static int lookup_near(struct vd_btree_info *info, struct vd_ref b, u64 lo, u64 hi, u64 key,
		       int dir, unsigned int depth, u64 *rkey, void *value)
{
	struct vd_btree_node_header *n;
	struct vd_block *blk;
	int i, nr, r;

	if (depth >= VD_BTREE_MAX_DEPTH) {
		pr_err("vdisk: btree too deep at block %llu\n", (unsigned long long)b.nr);
		return -EILSEQ;
	}
	r = vd_btree_read_node_in_range(info, b, lo, hi, &blk);
	if (r)
		return r;
	n = vd_node(blk);
	nr = (int)vd_node_nr(n);
	i = vd_node_lower_bound(n, key);
	r = -ENODATA;
	if (vd_node_is_leaf(n)) {
		if (dir > 0 && !(i >= 0 && vd_node_key(n, i) == key))
			i++;
		if (i >= 0 && i < nr) {
			*rkey = vd_node_key(n, i);
			memcpy(value, vd_node_value(n, i), info->vt.size);
			r = 0;
		}
	} else if (dir > 0) {
		/* Children after i only hold bigger keys: the first one found wins. */
		for (i = max(i, 0); i < nr && r == -ENODATA; i++)
			r = lookup_near(info, vd_node_child(n, i), vd_node_key(n, i),
					vd_node_child_hi(n, i, hi), key, dir, depth + 1,
					rkey, value);
	} else {
		/* key[i] is only a lower bound: child i may have nothing <= key. */
		for (; i >= 0 && r == -ENODATA; i--)
			r = lookup_near(info, vd_node_child(n, i), vd_node_key(n, i),
					vd_node_child_hi(n, i, hi), key, dir, depth + 1,
					rkey, value);
	}
	vd_tm_unlock(info->tm, blk);
	return r;
}

int vd_btree_lookup_next(struct vd_btree_info *info, struct vd_ref root, u64 key,
			 u64 *rkey, void *value)
{
	return lookup_near(info, root, 0, U64_MAX, key, 1, 0, rkey, value);
}

int vd_btree_lookup_prev(struct vd_btree_info *info, struct vd_ref root, u64 key,
			 u64 *rkey, void *value)
{
	return lookup_near(info, root, 0, U64_MAX, key, -1, 0, rkey, value);
}

/*
 * Merge children @i and @i + 1 of @parent if they fit in one node, else
 * share their entries evenly.  Both are shadowed; references move with the
 * entries, so no counts change except for the freed right node.
 */
static int rebalance_pair(struct vd_btree_info *info, struct vd_btree_node_header *parent, u32 i)
{
	struct vd_btree_node_header *l, *rn;
	struct vd_block *lb, *rb;
	u32 nl, nrr, vs, move;
	int r;

	r = vd_btree_shadow_node(info, vd_node_child(parent, i), &lb);
	if (r)
		return r;
	vd_node_set_child(parent, i, vd_btree_ref(info, lb));
	r = vd_btree_shadow_node(info, vd_node_child(parent, i + 1), &rb);
	if (r) {
		vd_tm_unlock(info->tm, lb);
		return r;
	}
	vd_node_set_child(parent, i + 1, vd_btree_ref(info, rb));
	l = vd_node(lb);
	rn = vd_node(rb);
	nl = vd_node_nr(l);
	nrr = vd_node_nr(rn);
	vs = vd_node_vsize(l);
	if (vd_node_is_leaf(l) != vd_node_is_leaf(rn) || vs != vd_node_vsize(rn)) {
		pr_err("vdisk: btree nodes %llu and %llu: siblings of different kinds\n",
		       (unsigned long long)vd_block_location(lb),
		       (unsigned long long)vd_block_location(rb));
		r = -EILSEQ;
		goto out;
	}
	if (nl + nrr <= vd_node_max(l)) {
		vd_blk_t gone = vd_block_location(rb);

		memcpy(vd_node_keys(l) + nl, vd_node_keys(rn), (size_t)8 * nrr);
		memcpy(vd_node_value(l, nl), vd_node_value(rn, 0), (size_t)vs * nrr);
		l->nr_entries = cpu_to_le32(nl + nrr);
		vd_tm_unlock(info->tm, rb);
		rb = NULL;
		vd_node_delete_at(parent, i + 1);
		/* The entries moved to the left node: free only the block. */
		r = vd_tm_dec(info->tm, gone);
	} else if (nl < nrr) {
		move = (nrr - nl) / 2;
		memcpy(vd_node_keys(l) + nl, vd_node_keys(rn), (size_t)8 * move);
		memcpy(vd_node_value(l, nl), vd_node_value(rn, 0), (size_t)vs * move);
		memmove(vd_node_keys(rn), vd_node_keys(rn) + move, (size_t)8 * (nrr - move));
		memmove(vd_node_value(rn, 0), vd_node_value(rn, move), (size_t)vs * (nrr - move));
		l->nr_entries = cpu_to_le32(nl + move);
		rn->nr_entries = cpu_to_le32(nrr - move);
		vd_node_keys(parent)[i + 1] = vd_node_keys(rn)[0];
	} else {
		move = (nl - nrr) / 2;
		memmove(vd_node_keys(rn) + move, vd_node_keys(rn), (size_t)8 * nrr);
		memmove(vd_node_value(rn, move), vd_node_value(rn, 0), (size_t)vs * nrr);
		memcpy(vd_node_keys(rn), vd_node_keys(l) + nl - move, (size_t)8 * move);
		memcpy(vd_node_value(rn, 0), vd_node_value(l, nl - move), (size_t)vs * move);
		l->nr_entries = cpu_to_le32(nl - move);
		rn->nr_entries = cpu_to_le32(nrr + move);
		vd_node_keys(parent)[i + 1] = vd_node_keys(rn)[0];
	}
out:
	vd_tm_unlock(info->tm, lb);
	if (rb)
		vd_tm_unlock(info->tm, rb);
	return r;
}

/* ---------------------------------------------------------------------- */
/* Insert.                                                                */
/* ---------------------------------------------------------------------- */

/*
 * Split the full child @c (entry @i of @parent, both write-locked) and put
 * the new right sibling at @i + 1.  Appends past the child's last key (the
 * sequential-write case) leave the left node full and move only the last
 * entry, so sequentially filled trees end up with nearly full nodes.
 * On return *c is the half that @key belongs to; the other is unlocked.
 */
static int split_child(struct vd_btree_info *info, struct vd_btree_node_header *parent,
		       u32 i, struct vd_block **c, u64 key)
{
	struct vd_btree_node_header *l = vd_node(*c), *rn;
	u32 nr = vd_node_nr(l), vs = vd_node_vsize(l), mid;
	struct vd_block_ref loc;
	struct vd_block *right;
	int r;

	r = vd_tm_new_block(info->tm, &vd_btree_node_validator, &right);
	if (r)
		return r;
	rn = vd_node(right);
	memcpy(rn, l, VD_BTREE_NODE_HEADER_SIZE);
	mid = key > vd_node_key(l, nr - 1) ? nr - 1 : nr / 2;
	memcpy(vd_node_keys(rn), vd_node_keys(l) + mid, (size_t)8 * (nr - mid));
	memcpy(vd_node_value(rn, 0), vd_node_value(l, mid), (size_t)vs * (nr - mid));
	rn->nr_entries = cpu_to_le32(nr - mid);
	l->nr_entries = cpu_to_le32(mid);

	/* Both halves are new in this transaction: child i's reference stands. */
	loc = vd_ref_disk(vd_btree_ref(info, right));
	vd_node_insert_at(parent, i + 1, vd_node_key(rn, 0), &loc);

	if (key >= vd_node_key(rn, 0)) {
		vd_tm_unlock(info->tm, *c);
		*c = right;
	} else {
		vd_tm_unlock(info->tm, right);
	}
	return 0;
}

/*
 * The child @c (entry @i of @parent, write-locked) is full.  An insert inside
 * it first tries to share entries with a neighbour that is at most seven
 * eighths full (random inserts then leave leaves about 83 % full instead of
 * 76 %, measured); appends past its last key, and nodes without such a
 * neighbour, are split.  On return *c is the write-locked node that @key belongs in.
 */
static int make_room(struct vd_btree_info *info, struct vd_btree_node_header *parent,
		     int i, struct vd_block **c, u64 key)
{
	struct vd_btree_node_header *cn = vd_node(*c);
	u32 max = vd_node_max(cn), nr_parent = vd_node_nr(parent);
	struct vd_node_shape sib_shape;
	int sib, pass, r;

	if (key > vd_node_key(cn, vd_node_nr(cn) - 1))
		return split_child(info, parent, (u32)i, c, key);
	for (pass = 0; pass < 2; pass++) {
		sib = pass ? i - 1 : i + 1;
		if (sib < 0 || sib >= (int)nr_parent)
			continue;
		r = vd_btree_node_shape(info, vd_node_child(parent, sib), &sib_shape);
		if (r)
			return r;
		if (sib_shape.nr_entries > max * 7 / 8)
			continue;
		vd_tm_unlock(info->tm, *c);
		*c = NULL;
		r = rebalance_pair(info, parent, (u32)min(i, sib));
		if (r)
			return r;
		i = max(vd_node_lower_bound(parent, key), 0);
		/* Both halves are new in this transaction: this is in place. */
		r = vd_btree_shadow_node(info, vd_node_child(parent, i), c);
		if (r) {
			*c = NULL;
			return r;
		}
		vd_node_set_child(parent, i, vd_btree_ref(info, *c));
		if (vd_node_nr(vd_node(*c)) < vd_node_max(vd_node(*c)))
			return 0;
		break;	/* merged with an empty neighbour: still full */
	}
	return split_child(info, parent, (u32)i, c, key);
}

/* A new root above @child (write-locked, full): the tree grows by a level. */
static int grow_root(struct vd_btree_info *info, struct vd_block **child,
		     struct vd_block **new_root, u64 key)
{
	struct vd_btree_node_header *n;
	struct vd_block_ref loc;
	int r;

	r = vd_tm_new_block(info->tm, &vd_btree_node_validator, new_root);
	if (r)
		return r;
	n = vd_node(*new_root);
	vd_node_init(n, false, 0);
	loc = vd_ref_disk(vd_btree_ref(info, *child));
	vd_node_insert_at(n, 0, min(key, vd_node_key(vd_node(*child), 0)), &loc);
	r = split_child(info, n, 0, child, key);
	if (r)
		vd_tm_unlock(info->tm, *new_root);
	return r;
}

/*
 * Store keys[j] (strictly increasing from j = 0) in the write-locked leaf
 * @n whose keys the tree bounds by @hi (inclusive), from @pos (the index of
 * the last key <= keys[0], or -1) on; stops at the first key past @hi or
 * when a new key no longer fits.  Returns how many were stored, or an error
 * (from the value type's dec()) with *stored set.
 */
static int fill_leaf(struct vd_btree_info *info, struct vd_btree_node_header *n, int pos,
		     u64 hi, const u64 *keys, const void *values, u32 nr, u8 *inserted,
		     u32 *stored)
{
	const struct vd_btree_value_type *vt = &info->vt;
	u32 j;
	int r = 0;

	for (j = 0; j < nr && !r; j++) {
		const void *value = (const u8 *)values + (size_t)vt->size * j;
		u64 key = keys[j];

		if (key > hi)
			break;
		while (pos + 1 < (int)vd_node_nr(n) && vd_node_key(n, pos + 1) <= key)
			pos++;
		if (pos >= 0 && vd_node_key(n, pos) == key) {
			/* Overwrite: drop the reference the old value held. */
			if (vt->dec && !(vt->equal &&
					 vt->equal(vt->context, vd_node_value(n, pos), value)))
				r = vt->dec(vt->context, vd_node_value(n, pos));
			else if (vt->dec)
				r = vt->dec(vt->context, value);
			memcpy(vd_node_value(n, pos), value, vt->size);
			if (inserted)
				inserted[j] = 0;
			continue;
		}
		if (vd_node_nr(n) == vd_node_max(n))
			break;
		pos++;
		vd_node_insert_at(n, (u32)pos, key, value);
		if (inserted)
			inserted[j] = 1;
	}
	*stored = j;
	return r;
}

/* Keys strictly increasing, at least one: 0, or -EINVAL. */
static int check_sorted(const u64 *keys, u32 nr)
{
	u32 j;

	if (!nr)
		return -EINVAL;
	for (j = 1; j < nr; j++)
		if (keys[j] <= keys[j - 1])
			return -EINVAL;
	return 0;
}

/* vd_btree_insert_many() for keys check_sorted() accepted. */
static int insert_one_leaf(struct vd_btree_info *info, struct vd_ref root, const u64 *keys,
			   const void *values, u32 nr, struct vd_ref *new_root, u32 *nr_done,
			   u8 *inserted)
{
	struct vd_block *parent = NULL, *cur, *top;
	struct vd_btree_node_header *n;
	u64 key = keys[0], hi = U64_MAX;
	unsigned int depth;
	int i, r;

	*nr_done = 0;

	r = vd_btree_shadow_node(info, root, &cur);
	if (r)
		return r;
	*new_root = vd_btree_ref(info, cur);
	n = vd_node(cur);
	if (vd_node_nr(n) == vd_node_max(n)) {
		r = grow_root(info, &cur, &top, key);
		if (r)
			goto out;
		*new_root = vd_btree_ref(info, top);
		parent = top;
		n = vd_node(top);
		hi = vd_node_child_hi(n, (u32)max(vd_node_lower_bound(n, key), 0), hi);
	}

	/* Down to the leaf of @key, making room on the way; @hi bounds it. */
	for (depth = 0;; depth++) {
		n = vd_node(cur);
		i = vd_node_lower_bound(n, key);
		if (vd_node_is_leaf(n))
			break;
		if (depth >= VD_BTREE_MAX_DEPTH) {
			r = -EILSEQ;
			goto out;
		}
		if (i < 0) {
			/* New minimum: key[0] must stay a lower bound of child 0. */
			i = 0;
			vd_node_keys(n)[0] = cpu_to_le64(key);
		}
		if (parent)
			vd_tm_unlock(info->tm, parent);
		parent = cur;
		r = vd_btree_shadow_node(info, vd_node_child(n, i), &cur);
		if (r) {
			cur = NULL;
			goto out;
		}
		vd_node_set_child(n, i, vd_btree_ref(info, cur));
		if (vd_node_nr(vd_node(cur)) == vd_node_max(vd_node(cur))) {
			r = make_room(info, n, i, &cur, key);
			if (r)
				goto out;
			/* A split or a rebalance moved the separators. */
			i = max(vd_node_lower_bound(n, key), 0);
		}
		hi = vd_node_child_hi(n, (u32)i, hi);
	}

	r = fill_leaf(info, n, i, hi, keys, values, nr, inserted, nr_done);
out:
	if (cur)
		vd_tm_unlock(info->tm, cur);
	if (parent)
		vd_tm_unlock(info->tm, parent);
	return r;
}

int vd_btree_insert_many(struct vd_btree_info *info, struct vd_ref root, const u64 *keys,
			 const void *values, u32 nr, struct vd_ref *new_root, u32 *nr_done,
			 u8 *inserted)
{
	int r = check_sorted(keys, nr);

	*nr_done = 0;
	*new_root = root;
	return r ? r : insert_one_leaf(info, root, keys, values, nr, new_root, nr_done, inserted);
}

int vd_btree_insert_sorted(struct vd_btree_info *info, struct vd_ref root, const u64 *keys,
			   const void *values, u32 nr, struct vd_ref *new_root, u8 *inserted)
{
	u32 done = 0, n;
	int r = check_sorted(keys, nr);

	*new_root = root;
	while (!r && done < nr) {
		const void *rest = (const u8 *)values + (size_t)info->vt.size * done;

		r = insert_one_leaf(info, *new_root, keys + done, rest, nr - done, new_root, &n,
				    inserted ? inserted + done : NULL);
		if (r)
			break;
		done += n;
	}
	return r;
}

int vd_btree_insert(struct vd_btree_info *info, struct vd_ref root, u64 key,
		    const void *value, struct vd_ref *new_root, int *inserted)
{
	u8 new_key = 0;
	u32 done;
	int r;

	r = vd_btree_insert_many(info, root, &key, value, 1, new_root, &done, &new_key);
	if (inserted)
		*inserted = new_key;
	return r;
}

/* ---------------------------------------------------------------------- */
/* Remove.                                                                */
/* ---------------------------------------------------------------------- */

/* Drop single-child internal roots; *root is write-locked and new. */
static int collapse_root(struct vd_btree_info *info, struct vd_block **root)
{
	struct vd_btree_node_header *n = vd_node(*root);
	struct vd_ref child;
	vd_blk_t old;
	int r;

	while (!vd_node_is_leaf(n) && vd_node_nr(n) == 1) {
		child = vd_node_child(n, 0);
		old = vd_block_location(*root);
		vd_tm_unlock(info->tm, *root);
		/* The child's reference moves up from the old root. */
		r = vd_tm_dec(info->tm, old);
		if (!r)
			r = vd_btree_shadow_node(info, child, root);
		if (r) {
			*root = NULL;
			return r;
		}
		n = vd_node(*root);
	}
	return 0;
}

int vd_btree_remove(struct vd_btree_info *info, struct vd_ref root, u64 key,
		    struct vd_ref *new_root)
{
	struct vd_block *parent = NULL, *cur;
	struct vd_btree_node_header *n;
	unsigned int depth;
	struct vd_node_shape child;
	int i, r;

	/* Fail before changing anything if the key is absent. */
	r = vd_btree_lookup(info, root, key, NULL);
	if (r)
		return r;

	r = vd_btree_shadow_node(info, root, &cur);
	if (r)
		return r;
	*new_root = vd_btree_ref(info, cur);
	for (depth = 0;; depth++) {
		n = vd_node(cur);
		i = vd_node_lower_bound(n, key);
		if (i < 0) {
			r = -EILSEQ;	/* the lookup found it: the tree changed under us */
			goto out;
		}
		if (vd_node_is_leaf(n))
			break;
		if (depth >= VD_BTREE_MAX_DEPTH) {
			r = -EILSEQ;
			goto out;
		}
		/* Children below a quarter full are merged/refilled before we descend. */
		r = vd_btree_node_shape(info, vd_node_child(n, i), &child);
		if (r)
			goto out;
		if (child.nr_entries < child.max_entries / 4 && vd_node_nr(n) > 1) {
			r = rebalance_pair(info, n, i + 1 < (int)vd_node_nr(n) ? i : i - 1);
			if (r)
				goto out;
			i = vd_node_lower_bound(n, key);
		}
		if (parent)
			vd_tm_unlock(info->tm, parent);
		parent = cur;
		r = vd_btree_shadow_node(info, vd_node_child(n, i), &cur);
		if (r) {
			cur = NULL;
			goto out;
		}
		vd_node_set_child(n, i, vd_btree_ref(info, cur));
	}
	if (vd_node_key(n, i) != key) {
		r = -EILSEQ;
		goto out;
	}
	if (info->vt.dec)
		r = info->vt.dec(info->vt.context, vd_node_value(n, i));
	vd_node_delete_at(n, (u32)i);
out:
	if (cur)
		vd_tm_unlock(info->tm, cur);
	if (parent)
		vd_tm_unlock(info->tm, parent);
	if (r)
		return r;
	/* The root may now be an internal node with one child. */
	r = vd_btree_shadow_node(info, *new_root, &cur);	/* new: in place */
	if (r)
		return r;
	r = collapse_root(info, &cur);
	if (r)
		return r;
	*new_root = vd_btree_ref(info, cur);
	vd_tm_unlock(info->tm, cur);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Clone and whole-tree deletion.                                         */
/* ---------------------------------------------------------------------- */

int vd_btree_clone(struct vd_btree_info *info, struct vd_ref root)
{
	return vd_tm_inc(info->tm, root.nr);
}

static int del_rec(struct vd_btree_info *info, struct vd_ref b, unsigned int depth)
{
	struct vd_btree_node_header *n;
	struct vd_block *blk;
	u32 count, i;
	int r;

	if (depth >= VD_BTREE_MAX_DEPTH)
		return -EILSEQ;
	r = vd_tm_ref(info->tm, b.nr, &count);
	if (r)
		return r;
	if (count > 1)
		return vd_tm_dec(info->tm, b.nr);
	r = vd_btree_read_node(info, b, &blk);
	if (r)
		return r;
	n = vd_node(blk);
	/* Still locked while we drop what it points to; it is freed last. */
	for (i = 0; i < vd_node_nr(n) && !r; i++) {
		if (vd_node_is_leaf(n))
			r = info->vt.dec ? info->vt.dec(info->vt.context, vd_node_value(n, i)) : 0;
		else
			r = del_rec(info, vd_node_child(n, i), depth + 1);
	}
	vd_tm_unlock(info->tm, blk);
	return r ? r : vd_tm_dec(info->tm, b.nr);
}

int vd_btree_del(struct vd_btree_info *info, struct vd_ref root)
{
	return del_rec(info, root, 0);
}
