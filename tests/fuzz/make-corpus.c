// SPDX-License-Identifier: GPL-2.0
/*
 * Writes the seed corpus: small pools made with vd_pool_format() and a few
 * operations (vdisks, mappings, a snapshot, names, a deletion, a metadata
 * snapshot), trimmed after the last non-zero block.  make-corpus <dir>
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-bm-user.h"
#include "vd-pool-metadata.h"

#define NB 64

static int write_image(const char *dir, int n, struct vd_dev *dev)
{
	const unsigned char *p = vd_dev_mem_image(dev);
	size_t len = (size_t)NB * VD_METADATA_BLOCK_SIZE;
	char path[512];
	FILE *f;

	while (len > VD_METADATA_BLOCK_SIZE && !p[len - 1])
		len--;
	snprintf(path, sizeof(path), "%s/seed-%d", dir, n);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, len, f) != len)
		return -1;
	return fclose(f);
}

int main(int argc, char **argv)
{
	struct vd_pool_format_params fp = { .data_block_size = 8, .nr_data_blocks = 512 };
	int n;

	if (argc != 2) {
		fprintf(stderr, "usage: make-corpus <dir>\n");
		return 2;
	}
	for (n = 0; n < 4; n++) {
		struct vd_dev *dev = vd_dev_create_mem(NB, NULL);
		struct vd_block_manager *bm = vd_bm_user_create(dev, 64);
		struct vd_pool_metadata *pmd;
		vd_blk_t pb;
		int i, r;

		r = vd_pool_format(bm, &fp);
		if (!r && n)
			r = vd_pool_open(bm, 0, &pmd);
		if (!r && n) {
			r = vd_pool_create_vdisk(pmd, 1, 4096);
			for (i = 0; !r && i < 40 * n; i++)
				r = vd_pool_insert_new(pmd, 1, (u64)i * 3, &pb);
			if (!r && n >= 2)
				r = vd_pool_create_snap(pmd, 2, 1);
			/* Names: the name map (and its held copy for n >= 3). */
			if (!r && n >= 2)
				r = vd_pool_set_name(pmd, 1, "origin") ?:
				    vd_pool_set_name(pmd, 2, "snap-1");
			for (i = 0; !r && n >= 2 && i < 20; i++)
				r = vd_pool_insert_new(pmd, 2, i, &pb);
			if (!r && n >= 3)
				r = vd_pool_reserve_metadata_snap(pmd);
			if (!r && n >= 3)
				r = vd_pool_create_vdisk(pmd, 3, 800) ?: vd_pool_delete_vdisk(pmd, 1);
			if (!r)
				r = vd_pool_commit(pmd);
			vd_pool_close(pmd);
		}
		vd_bm_destroy(bm);
		if (r || write_image(argv[1], n, dev)) {
			fprintf(stderr, "make-corpus: seed %d failed (%d)\n", n, r);
			return 1;
		}
		vd_dev_close(dev);
	}
	return 0;
}
