// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel block manager over dm-bufio.
 *
 * Each dm-bufio buffer carries a struct vd_bufio_aux (dm-bufio's per-buffer
 * aux data): our struct vd_block, the block lock, and the validator the
 * contents were last checked with.
 *
 * The block lock is a small reader/writer lock of our own (a count under a
 * spinlock plus a wait queue) rather than a rw_semaphore: parent and child
 * nodes are locked together and all blocks would share one lockdep class,
 * which lockdep would report as recursive locking.
 *
 * dm-bufio may write a dirty buffer back at any time (memory pressure);
 * that is safe because the transaction manager only write-locks blocks that
 * are new in the current transaction, which no committed state references,
 * plus the superblock slot, which is locked only during the commit.  The
 * write callback stamps the header (location, transaction, checksum).
 */
#include <linux/blkdev.h>
#include <linux/dm-bufio.h>
#include <linux/err.h>
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/wait.h>

#include "vd-block-manager.h"

struct vd_bufio_bm {
	struct vd_block_manager bm;
	struct dm_bufio_client *client;
};

struct vd_bufio_aux {
	struct vd_block blk;
	struct dm_buffer *buf;
	/* Block lock: holders > 0 readers, -1 one writer, 0 free. */
	spinlock_t lock;
	int holders;
	wait_queue_head_t wait;
	/* Validator that last checked (or, for writers, will stamp) the data. */
	const struct vd_validator *validated;
	bool write_locked;
};

static struct vd_bufio_bm *to_bbm(struct vd_block_manager *bm)
{
	return container_of(bm, struct vd_bufio_bm, bm);
}

static struct vd_bufio_aux *to_aux(struct vd_block *b)
{
	return container_of(b, struct vd_bufio_aux, blk);
}

static void vd_bufio_alloc_callback(struct dm_buffer *buf)
{
	struct vd_bufio_aux *aux = dm_bufio_get_aux_data(buf);

	memset(aux, 0, sizeof(*aux));
	spin_lock_init(&aux->lock);
	init_waitqueue_head(&aux->wait);
}

static bool try_lock(struct vd_bufio_aux *aux, bool write)
{
	bool ok;

	spin_lock(&aux->lock);
	ok = write ? !aux->holders : aux->holders >= 0;
	if (ok)
		aux->holders = write ? -1 : aux->holders + 1;
	spin_unlock(&aux->lock);
	return ok;
}

static void block_lock(struct vd_bufio_aux *aux, bool write)
{
	wait_event(aux->wait, try_lock(aux, write));
}

static void block_unlock(struct vd_bufio_aux *aux)
{
	spin_lock(&aux->lock);
	aux->holders = aux->holders < 0 ? 0 : aux->holders - 1;
	spin_unlock(&aux->lock);
	wake_up(&aux->wait);
}

static void vd_bufio_write_callback(struct dm_buffer *buf)
{
	struct vd_bufio_aux *aux = dm_bufio_get_aux_data(buf);

	if (WARN_ON_ONCE(!aux->validated || !aux->blk.bm))
		return;
	vd_validator_prepare(aux->validated, dm_bufio_get_block_data(buf),
			     dm_bufio_get_block_number(buf), READ_ONCE(aux->blk.bm->write_txn));
}

static struct vd_bufio_aux *setup_aux(struct vd_block_manager *bm, struct dm_buffer *buf,
				      void *data, vd_blk_t b)
{
	struct vd_bufio_aux *aux = dm_bufio_get_aux_data(buf);

	/* Identical for every holder of this buffer, so racing stores agree. */
	aux->blk.bm = bm;
	aux->blk.nr = b;
	aux->blk.data = data;
	aux->buf = buf;
	return aux;
}

static int check(struct vd_bufio_aux *aux, const struct vd_validator *v)
{
	int r;

	if (READ_ONCE(aux->validated) == v)
		return 0;
	r = vd_validator_check(v, &aux->blk);
	if (!r)
		WRITE_ONCE(aux->validated, v);
	return r;
}

static int bbm_read_lock(struct vd_block_manager *bm, vd_blk_t b,
			 const struct vd_validator *v, struct vd_block **result)
{
	struct vd_bufio_aux *aux;
	struct dm_buffer *buf;
	void *data;
	int r;

	data = dm_bufio_read(to_bbm(bm)->client, b, &buf);
	if (IS_ERR(data)) {
		pr_err("vdisk: metadata block %llu: read error %ld\n",
		       (unsigned long long)b, PTR_ERR(data));
		return PTR_ERR(data);
	}
	aux = setup_aux(bm, buf, data, b);
	block_lock(aux, false);
	r = check(aux, v);
	if (r) {
		block_unlock(aux);
		dm_bufio_release(buf);
		return r;
	}
	bm->nr_reads++;
	*result = &aux->blk;
	return 0;
}

static int bbm_write_lock_common(struct vd_block_manager *bm, vd_blk_t b,
				 const struct vd_validator *v, struct vd_block **result,
				 bool zero)
{
	struct vd_bufio_aux *aux;
	struct dm_buffer *buf;
	void *data;
	int r;

	if (zero)
		data = dm_bufio_new(to_bbm(bm)->client, b, &buf);
	else
		data = dm_bufio_read(to_bbm(bm)->client, b, &buf);
	if (IS_ERR(data)) {
		pr_err("vdisk: metadata block %llu: read error %ld\n",
		       (unsigned long long)b, PTR_ERR(data));
		return PTR_ERR(data);
	}
	aux = setup_aux(bm, buf, data, b);
	block_lock(aux, true);
	if (zero) {
		memset(data, 0, VD_METADATA_BLOCK_SIZE);
		WRITE_ONCE(aux->validated, v);
	} else {
		r = check(aux, v);
		if (r) {
			block_unlock(aux);
			dm_bufio_release(buf);
			return r;
		}
	}
	aux->write_locked = true;
	*result = &aux->blk;
	return 0;
}

static int bbm_write_lock(struct vd_block_manager *bm, vd_blk_t b,
			  const struct vd_validator *v, struct vd_block **result)
{
	return bbm_write_lock_common(bm, b, v, result, false);
}

static int bbm_write_lock_zero(struct vd_block_manager *bm, vd_blk_t b,
			       const struct vd_validator *v, struct vd_block **result)
{
	return bbm_write_lock_common(bm, b, v, result, true);
}

static void bbm_unlock(struct vd_block *blk)
{
	struct vd_bufio_aux *aux = to_aux(blk);
	struct dm_buffer *buf = aux->buf;

	if (aux->write_locked) {
		aux->write_locked = false;
		dm_bufio_mark_buffer_dirty(buf);
		blk->bm->nr_writes++;
		block_unlock(aux);
	} else {
		block_unlock(aux);
	}
	dm_bufio_release(buf);
}

/* Writes every dirty buffer, then issues a cache flush (dm-bufio does both). */
static int bbm_flush(struct vd_block_manager *bm)
{
	return dm_bufio_write_dirty_buffers(to_bbm(bm)->client);
}

/*
 * The commit path: everything else is already on disk (pre-commit flushed),
 * so writing dirty buffers writes just this one, and the flush that follows
 * makes it durable.
 */
static int bbm_flush_and_unlock(struct vd_block *blk)
{
	struct vd_block_manager *bm = blk->bm;

	bbm_unlock(blk);
	return bbm_flush(bm);
}

static void bbm_prefetch(struct vd_block_manager *bm, vd_blk_t b)
{
	dm_bufio_prefetch(to_bbm(bm)->client, b, 1);
}

static void bbm_destroy(struct vd_block_manager *bm)
{
	struct vd_bufio_bm *bbm = to_bbm(bm);

	dm_bufio_client_destroy(bbm->client);
	kfree(bbm);
}

static const struct vd_block_manager_ops vd_bufio_bm_ops = {
	.read_lock = bbm_read_lock,
	.write_lock = bbm_write_lock,
	.write_lock_zero = bbm_write_lock_zero,
	.unlock = bbm_unlock,
	.flush = bbm_flush,
	.flush_and_unlock = bbm_flush_and_unlock,
	.prefetch = bbm_prefetch,
	.destroy = bbm_destroy,
};

/* Returns an ERR_PTR on failure. */
struct vd_block_manager *vd_bm_bufio_create(struct block_device *bdev,
					    unsigned int max_held)
{
	struct vd_bufio_bm *bbm = kzalloc(sizeof(*bbm), GFP_KERNEL);

	if (!bbm)
		return ERR_PTR(-ENOMEM);
	bbm->client = dm_bufio_client_create(bdev, VD_METADATA_BLOCK_SIZE, max_held,
					     sizeof(struct vd_bufio_aux),
					     vd_bufio_alloc_callback,
					     vd_bufio_write_callback, 0);
	if (IS_ERR(bbm->client)) {
		int r = PTR_ERR(bbm->client);

		kfree(bbm);
		return ERR_PTR(r);
	}
	bbm->bm.ops = &vd_bufio_bm_ops;
	bbm->bm.nr_blocks = bdev_nr_bytes(bdev) >> VD_METADATA_BLOCK_SHIFT;
	return &bbm->bm;
}
