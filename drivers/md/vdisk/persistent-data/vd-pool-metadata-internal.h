/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between the vd-pool-*.c files only: the pool metadata object and the
 * helpers they share.  The callers' API is vd-pool-metadata.h.
 *
 *   vd-pool-metadata.c  superblock, open/commit/abort, format, the changed-
 *                       vdisk table below, metadata snapshot, usage, resize
 *   vd-pool-vdisks.c    create/snapshot/delete/reclaim, details, user flags
 *   vd-pool-mappings.c  lookup/insert/remove/iterate of a vdisk's mappings
 *   vd-pool-names.c     the name map
 *   vd-pool-sharing.c   the sharing census
 *
 * Locking: none here.  Every function below runs under the caller's
 * concurrency contract (vd-pool-metadata.h): a function that changes
 * anything (vd_pmd_get_vdisk(), vd_pmd_cache_add(), vd_pmd_set_tree_root(),
 * vd_pmd_fail(), ...) only from a changing call, which the caller runs
 * exclusively; the read-only ones (vd_pmd_read_vdisk(), vd_pmd_tree_root())
 * also from the reading calls, which may run concurrently with each other.
 */
#ifndef VD_POOL_METADATA_INTERNAL_H
#define VD_POOL_METADATA_INTERNAL_H

#include <linux/kernel.h>
#include <linux/math64.h>

#include "vd-pool-metadata.h"
#include "vd-btree.h"
#include "vd-space-map.h"
#include "vd-transaction-manager.h"

/*
 * A vdisk changed in the current transaction (an entry of the changed-vdisk
 * table, pmd->cache).  @root and @info are the truth for this vdisk until
 * the commit writes them into the vdisks and details trees; the trees may
 * hold stale values meanwhile, so every reader looks here first
 * (vd_pmd_read_vdisk()).  An entry exists only after the vdisk's leaf in
 * the vdisks tree was made exclusive to the live tree in this transaction
 * (see touch_vdisk() in vd-pool-metadata.c), so @root has a reference of
 * its own and may be modified.  Pointers into the table are valid only
 * until the next vd_pmd_cache_add() or vd_pmd_cache_drop() (which move
 * entries) or the commit/abort (which empty it).
 */
struct vd_pool_vdisk {
	struct vd_ref root;
	struct vd_pool_vdisk_info info;
};

struct vd_pool_metadata {
	struct vd_block_manager *bm;
	/* Owned: destroyed (and the space maps with it) by close and abort. */
	struct vd_tm *tm;
	struct vd_space_map *msm;
	struct vd_space_map *dsm;
	/* mapping trees: vblock -> VD_MAP_* value counted in dsm */
	struct vd_btree_info map_info;
	/* vdisks and pending trees: values are mapping tree roots */
	struct vd_btree_info top_info;
	struct vd_btree_info details_info;
	/* name map: vdisk id -> struct vd_disk_name (plain values) */
	struct vd_btree_info names_info;
	/*
	 * Last committed superblock with this transaction's changes applied
	 * (tree roots, flags, time...); the commit writes it to the next slot.
	 */
	struct vd_superblock *sb;
	bool read_only;
	/* An error left the transaction half done: only abort is allowed. */
	bool broken;
	u64 last_commit_allocated;	/* see vd_pool_get_stats() */
	/*
	 * The top trees' dec() drops a whole mapping tree only while releasing
	 * a metadata snapshot.  In every other case a removed or overwritten
	 * root's reference was handed on (to the pending tree, or consumed by
	 * a shadow or vd_btree_del_step()), so dec() must do nothing.
	 */
	bool drop_subtrees;
	/* The changed-vdisk table: nr_cache entries of cache_alloc. */
	struct vd_pool_vdisk *cache;
	unsigned int nr_cache;
	unsigned int cache_alloc;
	vd_pool_data_freed_fn freed_fn;
	void *freed_context;
};

static inline struct vd_ref vd_pmd_tree_root(struct vd_pool_metadata *pmd, int i)
{
	return vd_ref_load(&pmd->sb->tree_roots[i]);
}

static inline void vd_pmd_set_tree_root(struct vd_pool_metadata *pmd, int i,
					struct vd_ref root)
{
	vd_ref_store(&pmd->sb->tree_roots[i], root);
}

/* Virtual blocks of a vdisk of @sectors (0 = no size yet: no limit). */
static inline u64 vd_pmd_size_blocks(struct vd_pool_metadata *pmd, u64 sectors)
{
	u32 dbs = le32_to_cpu(pmd->sb->data_block_size);

	return sectors ? div_u64(sectors + dbs - 1, dbs) : U64_MAX;
}

/* -EROFS or -EIO (broken transaction) before any change; 0 if allowed. */
int vd_pmd_check_writable(struct vd_pool_metadata *pmd);
/*
 * Pass @r through; an error other than -ENODATA in the middle of a change
 * marks the transaction broken (only abort is allowed afterwards).
 */
int vd_pmd_fail(struct vd_pool_metadata *pmd, int r, const char *what, u64 id);

/* The changed-vdisk table (see struct vd_pool_vdisk). */
struct vd_pool_vdisk *vd_pmd_cache_find(struct vd_pool_metadata *pmd, u64 id);
/* A new, uninitialised entry; NULL if out of memory. */
struct vd_pool_vdisk *vd_pmd_cache_add(struct vd_pool_metadata *pmd);
static inline void vd_pmd_cache_drop(struct vd_pool_metadata *pmd, struct vd_pool_vdisk *v)
{
	*v = pmd->cache[--pmd->nr_cache];
}

/*
 * Root and details (@info may be NULL) of live vdisk @id, from the table or
 * the trees; read only.  -ENODATA: no such vdisk.
 */
int vd_pmd_read_vdisk(struct vd_pool_metadata *pmd, u64 id, struct vd_ref *root,
		      struct vd_pool_vdisk_info *info);
/* The same for the API's readers: -ENOENT when there is no live vdisk @id. */
static inline int vd_pmd_live_vdisk(struct vd_pool_metadata *pmd, u64 id, struct vd_ref *root,
				    struct vd_pool_vdisk_info *info)
{
	int r = vd_pmd_read_vdisk(pmd, id, root, info);

	return r == -ENODATA ? -ENOENT : r;
}

/* @id's table entry, created if needed: for a caller about to change it. */
int vd_pmd_get_vdisk(struct vd_pool_metadata *pmd, u64 id, struct vd_pool_vdisk **result);
void vd_pmd_info_to_disk(const struct vd_pool_vdisk_info *i, struct vd_disk_details *d);

/* Drop one data-space-map reference of a mapping value (reports freed blocks). */
int vd_pmd_map_dec(void *context, const void *value);

/* Remove @id's name if it has one (vd-pool-names.c). */
int vd_pmd_drop_name(struct vd_pool_metadata *pmd, u64 id);

#endif
