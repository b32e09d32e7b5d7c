/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test fixture for the persistent-data core: a metadata device in memory (or
 * recording), a transaction manager with its metadata space map, a data
 * space map, and a minimal superblock holding both space map roots and
 * VD_NR_TREE_ROOTS tree roots for the test's own use.  Not the pool's
 * superblock logic: just enough to commit and reopen.
 */
#ifndef VD_PDATA_FIXTURE_H
#define VD_PDATA_FIXTURE_H

#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-bm-user.h"
#include "vd-transaction-manager.h"
#include "vd-space-map.h"
#include "vd-btree.h"

struct pfx {
	struct vd_dev *dev;
	struct vd_block_manager *bm;
	struct vd_tm *tm;
	struct vd_space_map *msm, *dsm;
	u64 seq;			/* commit_seq of the last commit */
	struct vd_ref roots[VD_NR_TREE_ROOTS];
	unsigned int cache_blocks;
};

/* Format a fresh metadata device on @dev (taken over by the fixture). */
int pfx_format(struct pfx *f, struct vd_dev *dev, vd_blk_t nr_data, unsigned int cache_blocks);
/* Commit data sm + metadata, write the superblock (slot seq % 2). */
int pfx_commit(struct pfx *f);
/* Open from the newest valid superblock on f->dev. */
int pfx_open(struct pfx *f);
/* Drop all in-memory state (uncommitted changes are lost); keeps the dev. */
void pfx_close(struct pfx *f);
/* pfx_close + pfx_open. */
int pfx_reopen(struct pfx *f);
void pfx_destroy(struct pfx *f);

/* Refcount audit: expected counts from walking @trees (value type counted
 * in the data sm via VD_MAP_BLOCK) compared with both space maps.
 * Returns 0 if they match, else logs differences as TAP comments.
 */
int pfx_audit(struct pfx *f, const struct vd_ref *trees, unsigned int nr_trees,
	      const u64 *extra_data_refs_block, const u64 *extra_data_refs_count,
	      unsigned int nr_extra);

#endif
