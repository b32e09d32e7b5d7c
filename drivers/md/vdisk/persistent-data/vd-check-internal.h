/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Between the checker's files only (the API is vd-check.h):
 *   vd-check.c         superblock, space maps, the walk of every tree and
 *                      the reference counts rebuilt from it
 *   vd-check-vdisks.c  what the walk collected, checked as a whole: details
 *                      against the vdisks tree, snapshot lineage, name map
 * One struct checker per vd_check() call, used by one thread only.
 */
#ifndef VD_CHECK_INTERNAL_H
#define VD_CHECK_INTERNAL_H

#include <linux/kernel.h>

#include "vd-check.h"
#include "vd-btree.h"
#include "vd-transaction-manager.h"

#ifndef __KERNEL__
#define __printf(a, b)	/* the kernel build checks the formats */
#endif

enum tree_kind {
	T_VDISKS, T_DETAILS, T_PENDING, T_MAPPING, T_SM_INDEX, T_SM_OVERFLOW, T_NAMES
};

struct root_ref {
	u64 key;			/* vdisk id or pending sequence */
	struct vd_ref root;
	bool pending;
};

struct detail {
	u64 id;
	struct vd_disk_details d;
};

struct name_entry {
	u64 id;
	struct vd_disk_name n;
};

struct checker {
	struct vd_check_report *rep;
	struct vd_block_manager *bm;
	struct vd_tm *tm;
	struct vd_space_map *msm, *dsm;
	struct vd_superblock sb;
	u64 nr_meta, nr_data, seq;
	u32 *mcount, *dcount;
	bool walk_failed;
	/* Collected from the checked image's vdisks/pending/details trees. */
	struct root_ref *roots;
	u64 nr_roots, roots_alloc;
	struct detail *details;
	u64 nr_details, details_alloc;
	struct name_entry *names;
	u64 nr_names, names_alloc;
	/* Current walk. */
	enum tree_kind kind;
	bool collect;			/* values of this tree are checked/collected */
	/* Space map trees are counted by vd_sm_walk_metadata(): only check them. */
	bool no_count;
	struct vd_ref *bitmaps;
	u64 nr_bitmaps, bitmaps_alloc;
	int leaf_depth;
	u64 owner;			/* vdisk id of the mapping tree, or ~0 */
	u8 *stale_seen;			/* per metadata block: stale node reported */
	char buf[256];
};

/* Count a finding in the report and pass it to the caller's msg(). */
__printf(3, 4) void vd_chk_report(struct checker *c, enum vd_check_level level,
				  const char *fmt, ...);

/*
 * After the walk of the checked image (c->roots and c->details in id order,
 * live roots before pending ones; c->names as found).
 */
void vd_chk_details(struct checker *c);
void vd_chk_names(struct checker *c, const struct vd_block_ref *tree_roots);

#endif
