/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdisk space maps: a reference count for every block of a device.
 *
 * Counts are one byte per block in refcount ("bitmap") blocks; 255 means the
 * count lives in an overflow B+tree.  A B+tree of index entries (one per
 * bitmap, with its free count) finds bitmaps; there is no size cap.  The
 * number of allocated blocks is kept in the root (O(1) free count).
 *
 * Two kinds share one implementation (vd-space-map-disk.c):
 *  - the metadata space map, whose own structures live in the blocks it
 *    tracks (created by vd_tm_create_with_sm / vd_tm_open_with_sm);
 *  - data space maps, whose structures live in the metadata device.
 *
 * Allocation only returns blocks that are free both now and in the last
 * committed state, and scans forward from a cursor that never moves back
 * within a transaction.  Callers serialise all calls on one space map.
 */
#ifndef VD_SPACE_MAP_H
#define VD_SPACE_MAP_H

#include "vd-block-manager.h"

struct vd_space_map;
struct vd_tm;

/* Data space maps (metadata structures allocated through @tm). */
int vd_sm_data_create(struct vd_tm *tm, vd_blk_t nr_blocks, struct vd_space_map **sm);
int vd_sm_data_open(struct vd_tm *tm, const struct vd_sm_root *root,
		    struct vd_space_map **sm);
/* Frees in-memory state only (the metadata space map is freed by the tm). */
void vd_sm_destroy(struct vd_space_map *sm);

int vd_sm_get_nr_blocks(struct vd_space_map *sm, vd_blk_t *count);
int vd_sm_get_nr_free(struct vd_space_map *sm, vd_blk_t *count);
/* Free blocks that this transaction can still allocate (see the .c file). */
int vd_sm_get_nr_allocatable(struct vd_space_map *sm, vd_blk_t *count);
/* Upper bound of the metadata blocks the next commit of @sm allocates. */
vd_blk_t vd_sm_commit_cost(struct vd_space_map *sm);
int vd_sm_get_count(struct vd_space_map *sm, vd_blk_t b, u32 *count);
/* True if the count is > 1 (cheaper than get_count for overflowed counts). */
int vd_sm_count_is_more_than_one(struct vd_space_map *sm, vd_blk_t b, int *result);

/* Allocate one block (count 0 -> 1); -ENOSPC when nothing is free. */
int vd_sm_new_block(struct vd_space_map *sm, vd_blk_t *b);
int vd_sm_inc(struct vd_space_map *sm, vd_blk_t b);
/*
 * Allocate a run of up to @max (>= 1) consecutive blocks: *b is the first,
 * *nr (1..@max) how many, each with count 1.  The run is the block
 * vd_sm_new_block() would hand out and the free blocks right after it, up
 * to the end of its refcount bitmap, so that one shadow of one bitmap takes
 * them all; the same blocks one vd_sm_new_block() at a time would follow.
 */
int vd_sm_new_blocks(struct vd_space_map *sm, u32 max, vd_blk_t *b, u32 *nr);
/* Count must be > 0; reaching 0 frees the block (reusable after commit). */
int vd_sm_dec(struct vd_space_map *sm, vd_blk_t b);
/*
 * Drop one reference of each of @nr blocks (a block may appear more than
 * once): the same result as vd_sm_dec() on each in turn, but consecutive
 * entries that fall in one refcount bitmap share one shadow and one lock of
 * it, so releasing a leaf of mostly neighbouring blocks costs a few bitmap
 * visits instead of three block locks per block.  @freed (may be NULL) is
 * called, with nothing locked, for every block whose count reached 0.  On
 * an error the blocks before the failing one have been released.
 */
typedef void (*vd_sm_freed_fn)(void *context, vd_blk_t b);
int vd_sm_dec_blocks(struct vd_space_map *sm, const vd_blk_t *blocks, unsigned int nr,
		     vd_sm_freed_fn freed, void *context);
/* Adjust counts of [b, e) by one; for bulk operations. */
int vd_sm_inc_range(struct vd_space_map *sm, vd_blk_t b, vd_blk_t e);
int vd_sm_dec_range(struct vd_space_map *sm, vd_blk_t b, vd_blk_t e);
/* Set an absolute count (repair tools, tests). */
int vd_sm_set_count(struct vd_space_map *sm, vd_blk_t b, u32 count);

/* Grow to @new_nr_blocks (shrinking is not supported: -EINVAL). */
int vd_sm_extend(struct vd_space_map *sm, vd_blk_t new_nr_blocks);

/*
 * Make the current state the committed one for allocation purposes.  Data
 * space maps: call before vd_tm_pre_commit().  The metadata space map is
 * committed by vd_tm_pre_commit() itself.
 */
int vd_sm_commit(struct vd_space_map *sm);

/* Root to store in the superblock (valid after commit/pre_commit). */
int vd_sm_copy_root(struct vd_space_map *sm, struct vd_sm_root *root);

/*
 * Walk the space map's own metadata blocks (index and overflow tree nodes,
 * bitmaps): @fn is called once per block reference (the checker counts them).
 */
int vd_sm_walk_metadata(struct vd_space_map *sm,
			int (*fn)(void *context, vd_blk_t b), void *context);

/*
 * Iterate counts of all blocks in [b, e) in order, calling @fn for every
 * block with a non-zero count (checker and audits).
 */
int vd_sm_iterate_counts(struct vd_space_map *sm, vd_blk_t b, vd_blk_t e,
			 int (*fn)(void *context, vd_blk_t b, u32 count), void *context);

#endif /* VD_SPACE_MAP_H */
