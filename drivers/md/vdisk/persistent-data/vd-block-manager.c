// SPDX-License-Identifier: GPL-2.0
/* Block manager entry points shared by every implementation. */
#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-block-manager.h"

static int vd_bm_check_range(struct vd_block_manager *bm, vd_blk_t b)
{
	if (b >= bm->nr_blocks) {
		pr_err("vdisk: metadata block %llu is beyond the device (%llu blocks)\n",
		       (unsigned long long)b, (unsigned long long)bm->nr_blocks);
		return -EIO;
	}
	return 0;
}

int vd_bm_read_lock(struct vd_block_manager *bm, vd_blk_t b,
		    const struct vd_validator *v, struct vd_block **result)
{
	int r = vd_bm_check_range(bm, b);

	return r ? r : bm->ops->read_lock(bm, b, v, result);
}

int vd_bm_write_lock(struct vd_block_manager *bm, vd_blk_t b,
		     const struct vd_validator *v, struct vd_block **result)
{
	int r = vd_bm_check_range(bm, b);

	if (r)
		return r;
	if (READ_ONCE(bm->read_only))
		return -EPERM;
	return bm->ops->write_lock(bm, b, v, result);
}

int vd_bm_write_lock_zero(struct vd_block_manager *bm, vd_blk_t b,
			  const struct vd_validator *v, struct vd_block **result)
{
	int r = vd_bm_check_range(bm, b);

	if (r)
		return r;
	if (READ_ONCE(bm->read_only))
		return -EPERM;
	return bm->ops->write_lock_zero(bm, b, v, result);
}

void vd_bm_unlock(struct vd_block *b)
{
	b->bm->ops->unlock(b);
}

int vd_bm_flush(struct vd_block_manager *bm)
{
	if (READ_ONCE(bm->read_only))
		return -EPERM;
	return bm->ops->flush(bm);
}

int vd_bm_flush_and_unlock(struct vd_block *b)
{
	return b->bm->ops->flush_and_unlock(b);
}

void vd_bm_prefetch(struct vd_block_manager *bm, vd_blk_t b)
{
	if (b < bm->nr_blocks && bm->ops->prefetch)
		bm->ops->prefetch(bm, b);
}

void vd_bm_destroy(struct vd_block_manager *bm)
{
	if (bm)
		bm->ops->destroy(bm);
}

/* Once read-only, a block manager never writes again (after an I/O error). */
void vd_bm_set_read_only(struct vd_block_manager *bm)
{
	WRITE_ONCE(bm->read_only, true);
}

bool vd_bm_is_read_only(struct vd_block_manager *bm)
{
	return READ_ONCE(bm->read_only);
}
