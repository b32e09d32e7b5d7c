// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the input is a metadata image (zero-padded to whole
 * 4 KiB blocks, at least 16 blocks).  Open it as a pool, do a few lookups,
 * iterate mappings, read names and count sharing if it opens, and run the
 * checker.  Any crash, hang,
 * sanitizer report or leak is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-bm-user.h"
#include "vd-pool-metadata.h"
#include "vd-check.h"

extern int kshim_verbose;

#define MIN_BLOCKS	16
#define MAX_BLOCKS	512

static int iter_fn(void *context, u64 vblock, u64 mapping)
{
	return ++*(unsigned int *)context > 4096;
}

static int vdisk_fn(void *context, u64 id)
{
	struct vd_pool_metadata *pmd = context;
	struct vd_pool_vdisk_info info;
	unsigned int n = 0;
	char name[VD_NAME_MAX];
	u64 m;

	if (vd_pool_get_details(pmd, id, &info))
		return 0;
	/* Damaged maps may hold duplicates: only exercise the scans. */
	if (!vd_pool_get_name(pmd, id, name) && name[0])
		vd_pool_find_name(pmd, name, &m);
	vd_pool_lookup(pmd, id, 0, &m);
	{
		u64 ex, sh;

		vd_pool_count_sharing(pmd, id, &ex, &sh);
	}
	vd_pool_iterate_mappings(pmd, id, 0, U64_MAX, iter_fn, &n);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint64_t nr = (size + VD_METADATA_BLOCK_SIZE - 1) / VD_METADATA_BLOCK_SIZE;
	struct vd_check_report rep = { 0 };
	struct vd_pool_metadata *pmd;
	struct vd_block_manager *bm;
	struct vd_dev *dev;
	uint8_t *img;

	kshim_verbose = -1;
	if (nr < MIN_BLOCKS)
		nr = MIN_BLOCKS;
	if (nr > MAX_BLOCKS)
		return 0;
	img = calloc(nr, VD_METADATA_BLOCK_SIZE);
	if (!img)
		return 0;
	memcpy(img, data, size);
	dev = vd_dev_create_mem(nr, img);
	free(img);
	if (!dev)
		return 0;
	bm = vd_bm_user_create(dev, 64);
	if (bm && !vd_pool_open(bm, VD_POOL_OPEN_READ_ONLY, &pmd)) {
		struct vd_pool_usage u;

		u64 id;

		vd_pool_get_usage(pmd, &u);
		vd_pool_next_free_id(pmd, &id);
		vd_pool_iterate_vdisks(pmd, vdisk_fn, pmd);
		vd_pool_close(pmd);
	}
	if (bm)
		vd_bm_destroy(bm);
	bm = vd_bm_user_create(dev, 64);
	if (bm) {
		vd_check(bm, 0, &rep);
		vd_bm_destroy(bm);
	}
	vd_dev_close(dev);
	return 0;
}
