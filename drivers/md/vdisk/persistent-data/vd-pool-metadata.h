/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdisk pool metadata: the API the pool and vdisk targets use.
 *
 * One struct vd_pool_metadata per pool.  It owns a transaction manager, the
 * metadata and data space maps and three trees (see
 * Documentation/design/metadata.rst):
 *   vdisks:  vdisk id -> root of the vdisk's mapping tree (vblock -> VD_MAP_*)
 *   details: vdisk id -> struct vd_disk_details (live vdisks and tombstones
 *            of deleted ones, kept for snapshot lineage)
 *   pending: sequence -> root of a mapping tree being deleted by reclaim
 *   names:   vdisk id -> struct vd_disk_name (optional, see below)
 *
 * Concurrency contract: the caller serialises every call that changes
 * metadata (create/snap/delete/insert/remove/commit/abort/reclaim/resize/
 * set_*, reserve/release) against every other call, e.g. with a
 * rw_semaphore held for write.  vd_pool_lookup(), vd_pool_highest_mapped(),
 * vd_pool_get_details(),
 * vd_pool_get_usage(), vd_pool_get_transaction_id(),
 * vd_pool_iterate_vdisks(), vd_pool_get_name(), vd_pool_find_name(),
 * vd_pool_next_free_id() and vd_pool_count_sharing() only read and may run concurrently with each
 * other under the same semaphore held for read.
 *
 * Errors: every call returns 0 or a negative errno and logs what failed,
 * naming the block or the vdisk.  After an I/O or metadata error inside a
 * changing call the transaction is in an unknown state: the pool refuses
 * further changes (-EIO) until vd_pool_abort() rolls back to the last commit.
 *
 * Data blocks freed by remove/remove_range/reclaim are reported through the
 * callback set with vd_pool_set_data_freed_fn().  They stay referenced by the
 * last committed metadata until the next commit succeeds: the caller must
 * not discard or overwrite them before vd_pool_commit() returned 0.
 */
#ifndef VD_POOL_METADATA_H
#define VD_POOL_METADATA_H

#include "vd-block-manager.h"

struct vd_pool_metadata;

struct vd_pool_format_params {
	u32 data_block_size;		/* sectors, 8 (4 KiB) .. 2048 (1 MiB) */
	u64 nr_data_blocks;
};

/*
 * Write an empty pool over the whole block manager (its size is the metadata
 * size).  Both superblock slots are replaced.
 */
int vd_pool_format(struct vd_block_manager *bm, const struct vd_pool_format_params *p);

/* True if block 0 or 1 holds a superblock with our magic and checksum. */
bool vd_pool_has_superblock(struct vd_block_manager *bm);
/*
 * No valid superblock, and a slot still holds the marker vd_pool_format()
 * writes before its first commit: a format was interrupted, no pool was
 * ever opened from this device, and formatting it again loses nothing.
 */
bool vd_pool_format_interrupted(struct vd_block_manager *bm);

/*
 * Read the current superblock: the valid slot with the highest commit_seq.
 * *slot_ok (may be NULL) gets a bit per slot that passed validation.
 */
int vd_pool_read_superblock(struct vd_block_manager *bm, struct vd_superblock *sb,
			    unsigned int *slot_ok);

/* Check version, block size and feature flags; *read_only set for ro_compat. */
int vd_pool_check_features(const struct vd_superblock *sb, bool *read_only);

#define VD_POOL_OPEN_READ_ONLY	0x1U

/* The bm is not owned; close before destroying it. */
int vd_pool_open(struct vd_block_manager *bm, unsigned int flags,
		 struct vd_pool_metadata **result);
/* Frees memory; uncommitted changes are lost (commit first). */
void vd_pool_close(struct vd_pool_metadata *pmd);

int vd_pool_commit(struct vd_pool_metadata *pmd);
/*
 * Drop the transaction: back to the last committed state.  The next
 * commit skips the dropped transaction's number (see the .c file).
 */
int vd_pool_abort(struct vd_pool_metadata *pmd);
bool vd_pool_is_read_only(struct vd_pool_metadata *pmd);
struct vd_block_manager *vd_pool_get_bm(struct vd_pool_metadata *pmd);

int vd_pool_create_vdisk(struct vd_pool_metadata *pmd, u64 id, u64 size_sectors);
/* O(1): shares the origin's mapping tree. */
int vd_pool_create_snap(struct vd_pool_metadata *pmd, u64 id, u64 origin_id);

struct vd_pool_snap_pair {
	u64 id;
	u64 origin_id;
};

/* Several snapshots at one instant: all or none (validated before changing). */
int vd_pool_create_snaps(struct vd_pool_metadata *pmd,
			 const struct vd_pool_snap_pair *pairs, unsigned int nr);
/* O(1): the tree moves to the pending-deletion tree; see vd_pool_reclaim(). */
int vd_pool_delete_vdisk(struct vd_pool_metadata *pmd, u64 id);
/*
 * Background deletion: visit at most about @budget nodes of pending trees,
 * fewer when @yield (may be NULL; see vd_btree_del_step()) says stop.
 * *more = true while deletions remain.  Commit between calls as usual.
 */
struct vd_btree_yield;	/* vd-btree.h */
int vd_pool_reclaim(struct vd_pool_metadata *pmd, unsigned int budget,
		    const struct vd_btree_yield *yield, bool *more);

int vd_pool_get_transaction_id(struct vd_pool_metadata *pmd, u64 *id);
/* -EINVAL (nothing changed) unless the current id equals @cur. */
int vd_pool_set_transaction_id(struct vd_pool_metadata *pmd, u64 cur, u64 new_id);

/* Hold a consistent copy of the metadata (-EBUSY if one is held). */
int vd_pool_reserve_metadata_snap(struct vd_pool_metadata *pmd);
int vd_pool_release_metadata_snap(struct vd_pool_metadata *pmd);
/* Block number of the held copy (a superblock image), 0 if none. */
int vd_pool_get_metadata_snap(struct vd_pool_metadata *pmd, vd_blk_t *blocknr);

/* Mapping value (VD_MAP_*) or -ENODATA; -EILSEQ for an invalid value. */
int vd_pool_lookup(struct vd_pool_metadata *pmd, u64 id, u64 vblock, u64 *mapping);
/*
 * The highest mapped vblock of vdisk @id (one prev-key lookup, O(tree
 * depth)); -ENODATA if it maps nothing, -ENOENT if there is no such vdisk.
 */
int vd_pool_highest_mapped(struct vd_pool_metadata *pmd, u64 id, u64 *vblock);
/* A new data block with count 1, owned by the caller until inserted. */
int vd_pool_alloc_data_block(struct vd_pool_metadata *pmd, vd_blk_t *pblock);
/*
 * A run of up to @max new data blocks from *first, *nr (>= 1) of them, each
 * with count 1 and owned by the caller (vd_sm_new_blocks: one refcount
 * bitmap at most).  -ENOSPC when none is free.
 */
int vd_pool_alloc_data_blocks(struct vd_pool_metadata *pmd, u32 max, vd_blk_t *first, u32 *nr);
/* Drop a reference the caller owns (e.g. an allocated block not inserted). */
int vd_pool_release_data_block(struct vd_pool_metadata *pmd, vd_blk_t pblock);
/*
 * Drop the reference of an allocated block that was never written nor
 * mapped (a reserve given back): not reported to the freed-block callback,
 * since there is nothing to discard.
 */
int vd_pool_release_unused_data_block(struct vd_pool_metadata *pmd, vd_blk_t pblock);
/*
 * The same for @nr blocks (a reserve given back at a commit): neighbouring
 * blocks share one visit of their refcount bitmap (vd_sm_dec_blocks).  On
 * an error the pool is failed, as for every metadata change.
 */
int vd_pool_release_unused_data_blocks(struct vd_pool_metadata *pmd, const vd_blk_t *blocks,
				       unsigned int nr);
/*
 * Map @vblock to @mapping; the caller's reference on the data block passes
 * to the tree (on failure it stays with the caller).  The previous mapping,
 * if any, loses its reference.
 */
int vd_pool_insert(struct vd_pool_metadata *pmd, u64 id, u64 vblock, u64 mapping);
/* The same; *was_unmapped (may be NULL) says whether @vblock was unmapped before. */
int vd_pool_insert_ex(struct vd_pool_metadata *pmd, u64 id, u64 vblock, u64 mapping,
		      bool *was_unmapped);
/*
 * Map the run vblock + j -> data block @pblock + j (slot 0), j < @nr, with
 * one B+tree descent per leaf; @nr <= VD_POOL_INSERT_RUN_MAX.  The caller's
 * references pass to the tree.  A bad argument (a block beyond the vdisk or
 * the pool) is refused before anything changes and the references stay with
 * the caller; a failure later breaks the pool metadata as vd_pool_insert()
 * does.  Bit j of *was_unmapped (may be NULL) says vblock + j was unmapped.
 */
#define VD_POOL_INSERT_RUN_MAX 32
int vd_pool_insert_run(struct vd_pool_metadata *pmd, u64 id, u64 vblock, vd_blk_t pblock,
		       u32 nr, u32 *was_unmapped);
/* Allocate a data block and map @vblock to it. */
int vd_pool_insert_new(struct vd_pool_metadata *pmd, u64 id, u64 vblock, vd_blk_t *pblock);
int vd_pool_remove(struct vd_pool_metadata *pmd, u64 id, u64 vblock);
/* Unmap [begin, end); *nr_removed (may be NULL) counts removed mappings. */
int vd_pool_remove_range(struct vd_pool_metadata *pmd, u64 id, u64 begin, u64 end,
			 u64 *nr_removed);

/*
 * Visit the mappings of [begin, end) in vblock order; a non-zero return
 * from @fn stops the walk (and is returned if negative).
 */
int vd_pool_iterate_mappings(struct vd_pool_metadata *pmd, u64 id, u64 begin, u64 end,
			     int (*fn)(void *context, u64 vblock, u64 mapping),
			     void *context);

typedef void (*vd_pool_data_freed_fn)(void *context, vd_blk_t pblock);
void vd_pool_set_data_freed_fn(struct vd_pool_metadata *pmd, vd_pool_data_freed_fn fn,
			       void *context);

struct vd_pool_vdisk_info {
	u64 id;
	u64 size_sectors;
	u64 creation_time;
	u64 snapshot_time;
	u64 origin_id;			/* VD_DISK_NO_ORIGIN if none */
	u64 mapped_blocks;
	u64 transaction_id;
	u32 flags;			/* VD_DISK_FLAG_* */
};

int vd_pool_get_details(struct vd_pool_metadata *pmd, u64 id, struct vd_pool_vdisk_info *info);
int vd_pool_set_size(struct vd_pool_metadata *pmd, u64 id, u64 size_sectors);
/* Live vdisks in id order; a non-zero return from @fn stops the walk. */
int vd_pool_iterate_vdisks(struct vd_pool_metadata *pmd,
			   int (*fn)(void *context, u64 id), void *context);

/*
 * Vdisk names (the name map, VD_ROOT_NAME_MAP): a live vdisk has at most one
 * name, unique among live vdisks; deleting a vdisk drops its name in the same
 * transaction; snapshots start unnamed.  A valid name is 1..VD_NAME_MAX-1
 * bytes of [A-Za-z0-9_.+:-], not starting with '-' or '.'
 * (vd_pool_name_valid()).  Names are part of the transaction (commit/abort)
 * and of a held metadata snapshot.  The first name ever set creates the map
 * and sets VD_FEATURE_RO_COMPAT_NAME_MAP: older code opens such a pool
 * read-only.  Cost: get/set by id is one tree operation, but set_name (its
 * uniqueness check) and find_name scan the map, O(number of names).
 */
#define VD_NAME_MAX VD_DISK_NAME_SIZE
bool vd_pool_name_valid(const char *name);
/*
 * Set or replace @id's name; "" removes it (no-op if it has none).
 * -EINVAL: invalid name; -ENOENT: no live vdisk @id; -EEXIST: another vdisk
 * has it (all three change nothing).  Setting the name @id already has is 0.
 */
int vd_pool_set_name(struct vd_pool_metadata *pmd, u64 id, const char *name);
/* @buf (VD_NAME_MAX bytes) gets the name, "" if none; -ENOENT: no vdisk @id. */
int vd_pool_get_name(struct vd_pool_metadata *pmd, u64 id, char *buf);
/* -ENOENT if no live vdisk has @name, -EINVAL if @name is not valid. */
int vd_pool_find_name(struct vd_pool_metadata *pmd, const char *name, u64 *id);
/*
 * Flags a user may keep on a vdisk (VD_DISK_FLAG_USER_MASK bits of the
 * details flags, e.g. VD_DISK_FLAG_AUTO_ACTIVATE): set @set, then clear @clear.
 * -EINVAL for any bit outside the mask, -ENOENT for no live vdisk @id (both
 * change nothing).  Reported by vd_pool_get_details() in info.flags.
 * Snapshots do not inherit them.
 */
int vd_pool_set_user_flags(struct vd_pool_metadata *pmd, u64 id, u32 set, u32 clear);
/*
 * Exact sharing census of vdisk @id: a mapped block is exclusive when every
 * node on its root-to-leaf path and the data block itself have reference
 * count 1; otherwise it is shared (with a snapshot, a clone, a deletion not
 * yet reclaimed or a held metadata snapshot).  The path starts at the
 * vdisks tree's root (a held metadata snapshot shares that tree).  A subtree
 * under a shared node is shared entirely, even where the data counts are 1.
 * @exclusive + @shared = the vdisk's mapped blocks.  Counts the current
 * transaction's state.  O(mapped blocks): one space-map lookup per mapping
 * below unshared nodes, one per node otherwise (see
 * Documentation/performance.md).  Only reads: may run under the read lock,
 * concurrently with the other readers.  -ENOENT: no live vdisk @id.
 */
int vd_pool_count_sharing(struct vd_pool_metadata *pmd, u64 id, u64 *exclusive,
			  u64 *shared);

/*
 * The same census taken in steps, so that no single call holds the read
 * lock for long.  Zero @census to start; each call counts the mappings with
 * keys >= census->next_key in at most @max_leaves leaves (0: all), adds them
 * to census->exclusive/shared and moves next_key past the last leaf it
 * counted; census->done once the last leaf is counted (further calls do
 * nothing).  Between steps the caller may drop the lock.  The sum equals a
 * one-pass census taken after the last step if, meanwhile, the only changes
 * were new mappings of @id at keys that were unmapped: each of those is a
 * fresh block reachable only through @id, exclusive, so the caller adds 1 to
 * census->exclusive for such a key below next_key (the walk counts the ones
 * at or above it), and copying a shared path on that insert moves no other
 * mapping between exclusive and shared.  Any other change (copy-on-write,
 * removal, snapshot, deletion, reclaim, a metadata snapshot, an abort) may
 * move blocks of @id between the two: start again.  Errors as
 * vd_pool_count_sharing().
 */
struct vd_sharing_census {
	u64 next_key;
	u64 exclusive;
	u64 shared;
	bool done;
};

int vd_pool_count_sharing_step(struct vd_pool_metadata *pmd, u64 id,
			       struct vd_sharing_census *census, unsigned int max_leaves);
/*
 * One more than the highest id ever used (live, or deleted: tombstones are
 * kept), 0 for none; ids are never reused this way.  -ENOSPC if that would be
 * VD_DISK_NO_ORIGIN.  Two lookups, O(tree depth).
 */
int vd_pool_next_free_id(struct vd_pool_metadata *pmd, u64 *id);

struct vd_pool_usage {
	u64 data_block_size;		/* sectors */
	u64 nr_data_blocks;
	u64 nr_free_data_blocks;
	u64 nr_metadata_blocks;
	u64 nr_free_metadata_blocks;
	/*
	 * Free metadata blocks this transaction can still allocate (free
	 * minus those freed in it, reusable only after the commit), and an
	 * upper bound of what the commit itself will allocate: a change may
	 * start only while allocatable > commit_cost + what it needs.
	 */
	u64 nr_allocatable_metadata_blocks;
	u64 metadata_commit_cost;
	u64 transaction_id;
	u64 commit_seq;			/* last committed */
	vd_blk_t held_root;
	bool needs_check;
	bool read_only;
	bool deletions_pending;
};

/* O(1). */
int vd_pool_get_usage(struct vd_pool_metadata *pmd, struct vd_pool_usage *usage);
/* Just nr_allocatable_metadata_blocks and metadata_commit_cost: no I/O. */
void vd_pool_metadata_space(struct vd_pool_metadata *pmd, u64 *allocatable, u64 *commit_cost);
int vd_pool_resize_data(struct vd_pool_metadata *pmd, u64 new_nr_blocks);
/* Up to the block manager's size; shrinking is refused. */
int vd_pool_resize_metadata(struct vd_pool_metadata *pmd, u64 new_nr_blocks);
/*
 * Persistent "run vdisk-check" flag, part of the transaction: commit to
 * write it (the pool commits it right after the rollback of a metadata
 * error; vdisk-check --clear-needs-check-flag clears it after a clean check).
 */
int vd_pool_set_needs_check(struct vd_pool_metadata *pmd);
int vd_pool_clear_needs_check(struct vd_pool_metadata *pmd);
bool vd_pool_needs_check(struct vd_pool_metadata *pmd);

/* Non-zero reference counts of data (or metadata) blocks, in block order. */
int vd_pool_iterate_counts(struct vd_pool_metadata *pmd, bool metadata,
			   int (*fn)(void *context, vd_blk_t b, u32 count), void *context);

/* Statistics of the current transaction, for tests and benchmarks. */
struct vd_pool_stats {
	u64 nr_new_blocks;		/* metadata blocks allocated */
	u64 nr_shadow_copies;
	/* Metadata blocks the last commit itself allocated (<= its commit cost). */
	u64 last_commit_allocated;
};

void vd_pool_get_stats(struct vd_pool_metadata *pmd, struct vd_pool_stats *stats);

#endif /* VD_POOL_METADATA_H */
