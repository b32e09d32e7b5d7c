/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdisk metadata checker (the logic behind vdisk-check).
 *
 * Walks everything reachable from the current superblock (or from the held
 * metadata snapshot), checks every node and value, and rebuilds every
 * reference count to compare with both space maps.  Memory: 4 bytes per
 * metadata block and 4 bytes per data block, plus the details entries.
 *
 * The checker only reads.  On a live pool the caller must keep writers out
 * (or check a held metadata snapshot, whose trees never change).
 */
#ifndef VD_CHECK_H
#define VD_CHECK_H

#include "vd-block-manager.h"

#define VD_CHECK_USE_METADATA_SNAP	0x1U

enum vd_check_level {
	VD_CHECK_INFO = 0,
	VD_CHECK_WARNING = 1,	/* unusual but harmless (e.g. a torn slot) */
	VD_CHECK_ERROR = 2,	/* damage */
};

struct vd_check_report {
	/* Set by the caller (may be NULL): every finding, one line each. */
	void (*msg)(void *context, enum vd_check_level level, const char *text);
	void *context;

	/* Results. */
	u64 nr_errors;
	u64 nr_warnings;
	u64 commit_seq;
	unsigned int slot_ok;		/* bit per valid superblock slot */
	u64 nr_vdisks;
	u64 nr_tombstones;
	u64 nr_pending_deletes;
	u64 nr_names;			/* name map entries */
	u64 nr_mappings;		/* leaf entries of distinct mapping leaves */
	u64 nr_metadata_blocks;
	u64 nr_metadata_used;		/* rebuilt: blocks with references */
	u64 nr_data_blocks;
	u64 nr_data_used;
	u64 nr_leaked;			/* counted in a space map, unreferenced */
	u64 nr_bad_counts;		/* referenced, wrong count (incl. free) */
	bool counts_compared;		/* false if the trees were unreadable */
};

/*
 * 0 if the check ran (damage is in report->nr_errors), or a negative errno
 * if it could not (-ENOMEM).  Unreadable metadata is damage, not an errno.
 */
int vd_check(struct vd_block_manager *bm, unsigned int flags, struct vd_check_report *report);

#endif /* VD_CHECK_H */
