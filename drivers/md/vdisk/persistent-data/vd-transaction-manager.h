/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdisk transaction manager.
 *
 * The only way to get a writable metadata block.  Blocks live in the
 * metadata space map; a transaction ends with a two-step commit:
 *
 *	vd_sm_commit(data_sm);			// caller's other space maps
 *	vd_tm_pre_commit(tm);			// metadata sm + all dirty blocks, flush
 *	vd_tm_lock_superblock(tm, slot, &sb);	// fill roots (vd_sm_copy_root...)
 *	vd_tm_commit(tm, sb);			// write superblock with FUA
 *
 * Nothing may allocate, free or shadow between pre_commit and commit.
 *
 * Invariants:
 *  - a block is shadowed (copied to a new block) at most once per
 *    transaction; after that it is written in place;
 *  - blocks freed in a transaction are not reused before it commits (the
 *    space maps only allocate blocks free in both the current and the last
 *    committed state), so the committed metadata stays intact until the new
 *    superblock is on disk;
 *  - shadowing a block whose count is > 1 sets *inc_children: the caller
 *    (B+tree) must take a reference on everything the copy points to.
 *
 * Concurrency: the owner serialises every operation that changes metadata
 * (updates, commit) against everything else, e.g. with a rw_semaphore taken
 * for write; lookups take it for read and only read locks on blocks, and
 * touch no shared mutable state, so any number run concurrently.  A writer
 * must exclude lookups of the trees it changes: nodes new in the transaction
 * are changed in place (a split moves entries between nodes) and lookups do
 * not hold the parent while reading the child.
 */
#ifndef VD_TRANSACTION_MANAGER_H
#define VD_TRANSACTION_MANAGER_H

#include "vd-block-manager.h"

struct vd_tm;
struct vd_space_map;

/*
 * Format: create a fresh metadata space map over the whole block manager,
 * reserving blocks [0, VD_SUPERBLOCK_NR_SLOTS) for the superblock slots.
 * The first transaction gets commit sequence @first_txn.
 */
int vd_tm_create_with_sm(struct vd_block_manager *bm, u64 first_txn,
			 struct vd_tm **tm, struct vd_space_map **sm);

/*
 * Open from a committed metadata space map root (from the superblock whose
 * commit_seq is @committed_txn; the new transaction is committed_txn + 1).
 */
int vd_tm_open_with_sm(struct vd_block_manager *bm, const struct vd_sm_root *root,
		       u64 committed_txn, struct vd_tm **tm, struct vd_space_map **sm);

/* Frees the tm and its metadata space map (not the block manager). */
void vd_tm_destroy(struct vd_tm *tm);

struct vd_block_manager *vd_tm_get_bm(struct vd_tm *tm);
struct vd_space_map *vd_tm_get_sm(struct vd_tm *tm);
/* Commit sequence number of the transaction being built. */
u64 vd_tm_txn(struct vd_tm *tm);
/* Number the open transaction @txn (> every number used so far; nothing written yet). */
void vd_tm_set_txn(struct vd_tm *tm, u64 txn);

/* Allocate a new block, zeroed and write-locked. */
int vd_tm_new_block(struct vd_tm *tm, const struct vd_validator *v,
		    struct vd_block **result);

/*
 * The reference to store for a block write-locked in this transaction
 * (new, shadowed or superblock): its location and the current transaction,
 * which its header carries (stamped at write lock and at write-back).
 */
struct vd_ref vd_tm_block_ref(struct vd_tm *tm, struct vd_block *b);

/*
 * Get a writable version of the block @orig refers to: the same block if it
 * was allocated or shadowed in this transaction, else a copy in a new block
 * (and the original's count drops by one).  *inc_children is set when the
 * original was shared.  The original's transaction is checked against
 * @orig.txn (-EILSEQ on mismatch); the result's reference is
 * vd_tm_block_ref(), and the caller must store it in the parent.
 */
int vd_tm_shadow_block(struct vd_tm *tm, struct vd_ref orig, const struct vd_validator *v,
		       struct vd_block **result, int *inc_children);

/* Read lock through a reference (checks location and transaction). */
int vd_tm_read_lock(struct vd_tm *tm, struct vd_ref ref, const struct vd_validator *v,
		    struct vd_block **result);
void vd_tm_unlock(struct vd_tm *tm, struct vd_block *b);

/* Reference counts of metadata blocks (through the metadata space map). */
int vd_tm_inc(struct vd_tm *tm, vd_blk_t b);
int vd_tm_dec(struct vd_tm *tm, vd_blk_t b);
int vd_tm_ref(struct vd_tm *tm, vd_blk_t b, u32 *count);
/* True if @b was allocated or shadowed in the current transaction. */
bool vd_tm_is_new(struct vd_tm *tm, vd_blk_t b);

int vd_tm_pre_commit(struct vd_tm *tm);
/* Write-lock superblock slot @slot (contents zeroed) for the commit. */
int vd_tm_lock_superblock(struct vd_tm *tm, vd_blk_t slot, const struct vd_validator *v,
			  struct vd_block **result);
/* Write and unlock the superblock with FUA; the next transaction starts. */
int vd_tm_commit(struct vd_tm *tm, struct vd_block *superblock);

/*
 * Abandon the transaction after an error: drop all in-memory state so that
 * the caller can reopen from the last committed superblock.  The tm is
 * unusable afterwards (destroy it).
 */
void vd_tm_abort(struct vd_tm *tm);

struct vd_tm_stats {
	u64 nr_new;		/* blocks allocated by vd_tm_new_block */
	u64 nr_shadow_copies;	/* shadows that copied to a new block */
	u64 nr_shadow_inplace;	/* shadows of blocks already new */
};

/* Counters of the current transaction (reset at commit). */
void vd_tm_get_stats(struct vd_tm *tm, struct vd_tm_stats *stats);

#endif /* VD_TRANSACTION_MANAGER_H */
