/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdisk copy-on-write B+tree: 64-bit keys, fixed-size values per tree.
 *
 * A tree is named by a reference to its root (block and the transaction that
 * wrote it; every node read checks both, see struct vd_block_ref).  Internal
 * nodes hold such references to their children.  Every update returns a new root (the
 * old one is left intact if it was shared or committed).  Writing to a
 * shared node copies only the path from the root to the leaf; the copy takes
 * references on the children (and the value type's inc() on leaf values).
 *
 * Values are stored little-endian as given; the value type's callbacks keep
 * the counts of what values point to (data blocks, subtree roots):
 *   inc(): called when a new reference to a value appears (leaf copied from
 *          a shared one).  NOT called by vd_btree_insert for the inserted
 *          value: the caller already owns that reference.
 *   dec(): called when a value's reference goes away (overwritten, removed,
 *          or its unshared leaf freed).
 *   equal(): may be NULL; on overwrite with an equal value dec() is skipped
 *          (and the caller's reference is dropped through dec() instead).
 *
 * Lookups take read locks only and may run concurrently with each other.
 * Updates need the caller's writer exclusion (see vd-transaction-manager.h).
 */
#ifndef VD_BTREE_H
#define VD_BTREE_H

#include "vd-block-manager.h"

struct vd_tm;

struct vd_btree_value_type {
	void *context;
	u32 size;			/* bytes, <= VD_BTREE_MAX_VALUE_SIZE */
	int (*inc)(void *context, const void *value);
	int (*dec)(void *context, const void *value);
	/*
	 * Optional: dec() of @nr values stored one after another (a leaf's),
	 * in one call, so the value type can batch its releases.
	 */
	int (*dec_many)(void *context, const void *values, u32 nr);
	bool (*equal)(void *context, const void *value1, const void *value2);
};

struct vd_btree_info {
	struct vd_tm *tm;
	struct vd_btree_value_type vt;
};

/* Build an empty tree (one empty leaf). */
int vd_btree_empty(struct vd_btree_info *info, struct vd_ref *root);

/* 0 and the value (@value may be NULL: existence check), or -ENODATA. */
int vd_btree_lookup(struct vd_btree_info *info, struct vd_ref root, u64 key, void *value);
/* Smallest key >= @key / largest key <= @key; -ENODATA if none. */
int vd_btree_lookup_next(struct vd_btree_info *info, struct vd_ref root, u64 key,
			 u64 *rkey, void *value);
int vd_btree_lookup_prev(struct vd_btree_info *info, struct vd_ref root, u64 key,
			 u64 *rkey, void *value);

/* Insert or overwrite; *inserted (may be NULL) = 1 if the key was new. */
int vd_btree_insert(struct vd_btree_info *info, struct vd_ref root, u64 key,
		    const void *value, struct vd_ref *new_root, int *inserted);
/*
 * Insert or overwrite many keys with one descent per leaf: keys[0..nr)
 * strictly increasing (-EINVAL otherwise, nothing changed), their values
 * one after another in @values (vt.size bytes each).  Neighbouring keys
 * then share one shadow of their leaf and of the path to it, which is what
 * makes a batch of sorted inserts cheaper than one insert per key.
 * inserted (may be NULL): inserted[j] = 1 if keys[j] was new, 0 if it was
 * overwritten (dec() of the old value as in vd_btree_insert).
 *
 * vd_btree_insert_many() does one descent: it stores keys[0] and those that
 * follow it in the same leaf and fit there, and sets *nr_done (>= 1 on
 * success) to how many; vd_btree_insert_sorted() repeats it until all are
 * stored.  On an error *new_root is still a valid tree holding some of the
 * keys: the caller abandons the transaction, as after vd_btree_insert.
 */
int vd_btree_insert_many(struct vd_btree_info *info, struct vd_ref root, const u64 *keys,
			 const void *values, u32 nr, struct vd_ref *new_root, u32 *nr_done,
			 u8 *inserted);
int vd_btree_insert_sorted(struct vd_btree_info *info, struct vd_ref root, const u64 *keys,
			   const void *values, u32 nr, struct vd_ref *new_root, u8 *inserted);
/* Remove one key (dec() its value); -ENODATA if absent. */
int vd_btree_remove(struct vd_btree_info *info, struct vd_ref root, u64 key,
		    struct vd_ref *new_root);
/*
 * Remove every key in [begin, end) (dec() each value; subtrees that lie
 * wholly in the range and are shared are dropped with a single decrement,
 * without visiting their entries).  *nr_removed (may be NULL) gets the number
 * of keys removed; counting them costs a read-only walk of the dropped
 * shared subtrees, so pass NULL when the number is not needed.
 */
int vd_btree_remove_range(struct vd_btree_info *info, struct vd_ref root, u64 begin, u64 end,
			  struct vd_ref *new_root, u64 *nr_removed);

/* Visit keys in [begin, end) in order; a non-zero return from @fn stops. */
typedef int (*vd_btree_iter_fn)(void *context, u64 key, const void *value);
int vd_btree_iterate(struct vd_btree_info *info, struct vd_ref root, u64 begin, u64 end,
		     vd_btree_iter_fn fn, void *context);

/* O(1) snapshot: take a reference on the root; both names share all nodes. */
int vd_btree_clone(struct vd_btree_info *info, struct vd_ref root);

/* Drop a reference to a whole tree at once (unbounded work; small trees). */
int vd_btree_del(struct vd_btree_info *info, struct vd_ref root);

/*
 * Incremental deletion: drop one reference to the tree at @root, doing at
 * most about @budget node visits.  If the root is shared this is a single
 * decrement.  Otherwise entries are removed from the left; every step removes
 * at least one entry or one reference (it may go past @budget by the depth of
 * the tree to do so), so repeated steps always finish.  When the budget
 * runs out *done = 0 and *new_root is a valid, smaller tree to pass to the
 * next step (store it durably, e.g. in the pending-deletion tree, and commit
 * between steps).  *done = 1 means the reference is gone.
 *
 * @yield (may be NULL) ends a step early: asked before each node visit once
 * the step made progress, true stops it as an exhausted budget does.  The
 * kernel uses it to end a step after about a millisecond or as soon as bios
 * wait for the worker, so the budget can be large when nothing else waits.
 */
struct vd_btree_yield {
	bool (*should_stop)(void *context);
	void *context;
};

int vd_btree_del_step(struct vd_btree_info *info, struct vd_ref root, unsigned int budget,
		      const struct vd_btree_yield *yield, struct vd_ref *new_root, int *done);

/* Number of entries (walks the whole tree). */
int vd_btree_count(struct vd_btree_info *info, struct vd_ref root, u64 *count);

/*
 * Deeper than any real tree (168^9 * 253 entries); protects against cycles.
 * Walks never hand out a node at depth >= this.
 */
#define VD_BTREE_MAX_DEPTH 12

/*
 * Walk every node reachable from @root, depth-first, in key order.  @fn
 * sees each node once per reference; returning VD_BTREE_WALK_SKIP skips the
 * node's children (e.g. a shared subtree already counted),
 * VD_BTREE_WALK_STOP ends the walk (the walk returns it), < 0 aborts.
 */
#define VD_BTREE_WALK_SKIP 1
#define VD_BTREE_WALK_STOP 2

struct vd_btree_walk_node {
	vd_blk_t blocknr;
	u64 txn;			/* checked against the parent's reference */
	unsigned int depth;		/* root = 0 */
	u64 lo, hi;			/* keys must lie in [lo, hi]; hi inclusive */
	bool is_leaf;
	u32 nr_entries;
	u32 max_entries;
	u32 value_size;
	const __le64 *keys;
	const void *values;		/* leaf: value_size bytes each; else vd_block_ref */
};

typedef int (*vd_btree_walk_fn)(void *context, const struct vd_btree_walk_node *node);
int vd_btree_walk(struct vd_btree_info *info, struct vd_ref root, vd_btree_walk_fn fn,
		  void *context);
/*
 * The same walk, leaving out the subtrees whose keys all lie below @begin:
 * @fn sees the path down to @begin's leaf and everything after it (a leaf
 * may still hold keys below @begin; @fn filters those).
 */
int vd_btree_walk_from(struct vd_btree_info *info, struct vd_ref root, u64 begin,
		       vd_btree_walk_fn fn, void *context);

/*
 * Visit the nodes on the path from @root down to the leaf whose range holds
 * @key, root first (@fn gets the block number; non-zero stops the walk and
 * is returned).  -ENODATA if @key is below the tree's first key.  Read only.
 */
int vd_btree_walk_path(struct vd_btree_info *info, struct vd_ref root, u64 key,
		       int (*fn)(void *context, vd_blk_t b), void *context);

/* Value types for common cases. */
/* __le64 values that are data blocks counted in @data_sm (context = sm). */
struct vd_space_map;
void vd_btree_vt_sm_blocks(struct vd_btree_value_type *vt, struct vd_space_map *sm);
/*
 * __le64 mapping values (VD_MAP_* encoding in dm-vdisk-format.h): the data
 * block VD_MAP_BLOCK(v) is counted in @data_sm.  Several fragments of one
 * packed block each hold their own reference.
 */
void vd_btree_vt_mappings(struct vd_btree_value_type *vt, struct vd_space_map *data_sm);
/*
 * Release the data blocks of @nr consecutive __le64 mapping values through
 * vd_sm_dec_blocks(); @validate refuses values vd_btree_vt_mappings() would
 * refuse.  @freed as there.  For the dec_many of mapping value types.
 */
int vd_btree_dec_mappings(struct vd_space_map *data_sm, const void *values, u32 nr,
			  bool validate, void (*freed)(void *context, vd_blk_t b), void *context);
/*
 * struct vd_block_ref values that are roots of trees described by @sub (a
 * two-level tree): inc takes a reference on the subtree root, dec drops it
 * with vd_btree_del.
 */
void vd_btree_vt_subtrees(struct vd_btree_value_type *vt, struct vd_btree_info *sub);
/* Plain values without references. */
void vd_btree_vt_plain(struct vd_btree_value_type *vt, u32 size);

#endif /* VD_BTREE_H */
