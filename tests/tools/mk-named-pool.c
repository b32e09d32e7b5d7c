// SPDX-License-Identifier: GPL-2.0
/*
 * Test helper for test-tools.sh: turn a formatted metadata image into a
 * pool with named vdisks (no tool creates vdisks; the kernel does).
 *
 *	mk-named-pool <image>
 *
 * Result: vdisk 1 "web-01" (auto-activate, 3 mapped blocks), vdisk 2 "db:main",
 * vdisk 3 an unnamed snapshot of 1, vdisk 4 named "gone" then deleted.
 */
#include <stdio.h>
#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-bm-user.h"
#include "vd-pool-metadata.h"

int main(int argc, char **argv)
{
	struct vd_pool_metadata *pmd;
	struct vd_block_manager *bm;
	struct vd_dev *dev;
	vd_blk_t pb;
	int r, i;

	if (argc != 2) {
		fprintf(stderr, "usage: mk-named-pool <image>\n");
		return 2;
	}
	dev = vd_dev_open_file(argv[1], 1);
	bm = dev ? vd_bm_user_create(dev, 256) : NULL;
	if (!bm)
		return 1;
	r = vd_pool_open(bm, 0, &pmd);
	if (r)
		return 1;
	r = vd_pool_create_vdisk(pmd, 1, 1024);
	for (i = 0; !r && i < 3; i++)
		r = vd_pool_insert_new(pmd, 1, i, &pb);
	if (!r)
		r = vd_pool_set_name(pmd, 1, "web-01");
	if (!r)
		r = vd_pool_set_user_flags(pmd, 1, VD_DISK_FLAG_AUTO_ACTIVATE, 0);
	if (!r)
		r = vd_pool_create_vdisk(pmd, 2, 1024);
	if (!r)
		r = vd_pool_set_name(pmd, 2, "db:main");
	if (!r)
		r = vd_pool_create_snap(pmd, 3, 1);
	if (!r)
		r = vd_pool_create_vdisk(pmd, 4, 1024);
	if (!r)
		r = vd_pool_set_name(pmd, 4, "gone");
	if (!r)
		r = vd_pool_commit(pmd);
	if (!r)
		r = vd_pool_delete_vdisk(pmd, 4);
	if (!r)
		r = vd_pool_commit(pmd);
	vd_pool_close(pmd);
	vd_bm_destroy(bm);
	vd_dev_close(dev);
	if (r)
		fprintf(stderr, "mk-named-pool: failed: %d\n", r);
	return r ? 1 : 0;
}
