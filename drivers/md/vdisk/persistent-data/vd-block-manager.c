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

int vd_bm_read_lock_ref(struct vd_block_manager *bm, struct vd_ref ref,
			const struct vd_validator *v, struct vd_block **result)
{
	int r = vd_bm_read_lock(bm, ref.nr, v, result);

	if (r)
		return r;
	r = vd_block_check_txn(v, *result, ref.txn);
	if (r)
		vd_bm_unlock(*result);
	return r;
}

/*
 * A write-locked block will be written back with bm->write_txn: show that
 * in memory now, so that reads through references made in this transaction
 * (which name write_txn) match before the write-back stamps the header.
 */
static void stamp_txn(struct vd_block_manager *bm, struct vd_block *b)
{
	((struct vd_block_header *)vd_block_data(b))->txn = cpu_to_le64(bm->write_txn);
}

/* Range and read-only checks, the implementation's lock, the txn stamp. */
static int write_lock(struct vd_block_manager *bm, vd_blk_t b, const struct vd_validator *v,
		      struct vd_block **result, bool zero)
{
	int r = vd_bm_check_range(bm, b);

	if (r)
		return r;
	if (READ_ONCE(bm->read_only))
		return -EPERM;
	r = zero ? bm->ops->write_lock_zero(bm, b, v, result) :
		bm->ops->write_lock(bm, b, v, result);
	if (!r)
		stamp_txn(bm, *result);
	return r;
}

int vd_bm_write_lock(struct vd_block_manager *bm, vd_blk_t b,
		     const struct vd_validator *v, struct vd_block **result)
{
	return write_lock(bm, b, v, result, false);
}

int vd_bm_write_lock_zero(struct vd_block_manager *bm, vd_blk_t b,
			  const struct vd_validator *v, struct vd_block **result)
{
	return write_lock(bm, b, v, result, true);
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
