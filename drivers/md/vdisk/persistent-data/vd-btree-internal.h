/* SPDX-License-Identifier: GPL-2.0 */
/* B+tree node layout helpers shared by the vd-btree*.c files. */
#ifndef VD_BTREE_INTERNAL_H
#define VD_BTREE_INTERNAL_H

#include <linux/kernel.h>

#include "vd-btree.h"
#include "vd-transaction-manager.h"

static inline struct vd_btree_node_header *vd_node(struct vd_block *b)
{
	return vd_block_data(b);
}

static inline __le64 *vd_node_keys(struct vd_btree_node_header *n)
{
	return (__le64 *)((u8 *)n + VD_BTREE_NODE_HEADER_SIZE);
}

static inline u32 vd_node_nr(struct vd_btree_node_header *n)
{
	return le32_to_cpu(n->nr_entries);
}

static inline u32 vd_node_max(struct vd_btree_node_header *n)
{
	return le32_to_cpu(n->max_entries);
}

static inline u32 vd_node_vsize(struct vd_btree_node_header *n)
{
	return le32_to_cpu(n->value_size);
}

static inline bool vd_node_is_leaf(struct vd_btree_node_header *n)
{
	return le32_to_cpu(n->flags) == VD_BTREE_NODE_LEAF;
}

static inline u64 vd_node_key(struct vd_btree_node_header *n, u32 i)
{
	return le64_to_cpu(vd_node_keys(n)[i]);
}

static inline void *vd_node_value(struct vd_btree_node_header *n, u32 i)
{
	return (u8 *)vd_node_keys(n) + (size_t)8 * vd_node_max(n) +
		(size_t)vd_node_vsize(n) * i;
}

/* Internal nodes: child @i's reference (location and transaction). */
static inline struct vd_ref vd_node_child(struct vd_btree_node_header *n, u32 i)
{
	return vd_ref_load(vd_node_value(n, i));
}

/*
 * Every path that rewrites a child (shadow, split, merge) stores the child's
 * new reference here, in the same transaction, with the parent write-locked.
 */
static inline void vd_node_set_child(struct vd_btree_node_header *n, u32 i, struct vd_ref r)
{
	vd_ref_store(vd_node_value(n, i), r);
}

/* Index of the last key <= @key, or -1 if every key is bigger. */
static inline int vd_node_lower_bound(struct vd_btree_node_header *n, u64 key)
{
	int lo = -1, hi = (int)vd_node_nr(n);

	/* invariant: key[lo] <= key < key[hi] (virtual sentinels) */
	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;

		if (vd_node_key(n, mid) <= key)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* Upper bound (inclusive) of child @i's keys, given the node's own bound. */
static inline u64 vd_node_child_hi(struct vd_btree_node_header *n, u32 i, u64 hi)
{
	return i + 1 < vd_node_nr(n) ? vd_node_key(n, i + 1) - 1 : hi;
}

/*
 * A node's keys must lie within the range its parent gives it.  Checking
 * this on every read stops a corrupt tree (a child referenced twice, a
 * node from another tree) from producing wrong answers or exponential walks.
 */
int vd_node_check_bounds(struct vd_block *b, u64 lo, u64 hi);

void vd_node_init(struct vd_btree_node_header *n, bool leaf, u32 value_size);
/* Read-lock a node and check it fits @info (value size of leaves). */
int vd_btree_read_node(struct vd_btree_info *info, struct vd_ref b, struct vd_block **result);

/*
 * vd_btree_read_node() plus vd_node_check_bounds(): the node's keys must lie
 * in [@lo, @hi], the range its parent gives it.  Unlocked again on failure.
 */
int vd_btree_read_node_in_range(struct vd_btree_info *info, struct vd_ref b,
				u64 lo, u64 hi, struct vd_block **result);

/* What callers deciding how to descend need to know of a child node. */
struct vd_node_shape {
	u32 nr_entries;
	u32 max_entries;
	bool leaf;
};

/* Read node @b's shape; the node is not left locked. */
int vd_btree_node_shape(struct vd_btree_info *info, struct vd_ref b,
			struct vd_node_shape *shape);
/*
 * Writable copy of node @b (vd_tm_shadow_block); when the original was
 * shared, takes references on its children / values.
 */
int vd_btree_shadow_node(struct vd_btree_info *info, struct vd_ref b, struct vd_block **result);

/* Reference to a node write-locked in this transaction. */
static inline struct vd_ref vd_btree_ref(struct vd_btree_info *info, struct vd_block *b)
{
	return vd_tm_block_ref(info->tm, b);
}

/* Take (inc) or drop (dec) the references held by a node's entries. */
int vd_btree_inc_entries(struct vd_btree_info *info, struct vd_btree_node_header *n);
int vd_btree_dec_entries(struct vd_btree_info *info, struct vd_btree_node_header *n);
/* Remove entry @i from a node (no reference changes). */
void vd_node_delete_at(struct vd_btree_node_header *n, u32 i);
/* Insert an entry at @i (no reference changes); the node must have room. */
void vd_node_insert_at(struct vd_btree_node_header *n, u32 i, u64 key, const void *value);

#endif /* VD_BTREE_INTERNAL_H */
