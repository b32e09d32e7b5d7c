// SPDX-License-Identifier: GPL-2.0
/*
 * Transaction manager: shadowing (copy-on-write) of metadata blocks and the
 * two-step commit.  See vd-transaction-manager.h for the invariants.
 *
 * The set of blocks that are new in this transaction (allocated or shadow
 * copies) is an open-addressing hash set; those are the only blocks that
 * may be written in place.  It is emptied by every commit.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vd-transaction-manager.h"
#include "vd-space-map-internal.h"

#define VD_TM_EMPTY ((vd_blk_t)~0ULL)

struct vd_tm {
	struct vd_block_manager *bm;
	struct vd_space_map *sm;
	u64 txn;
	vd_blk_t *set;		/* VD_TM_EMPTY = free slot */
	size_t set_size;	/* power of two */
	size_t set_used;
	struct vd_tm_stats stats;
	bool aborted;
};

static size_t set_hash(vd_blk_t b, size_t size)
{
	return (size_t)((b * 0x9e3779b97f4a7c15ULL) >> 17) & (size - 1);
}

static int set_alloc(struct vd_tm *tm, size_t size)
{
	size_t i;

	tm->set = kvmalloc_array(size, sizeof(*tm->set), GFP_NOIO);
	if (!tm->set)
		return -ENOMEM;
	for (i = 0; i < size; i++)
		tm->set[i] = VD_TM_EMPTY;
	tm->set_size = size;
	tm->set_used = 0;
	return 0;
}

static bool set_contains(struct vd_tm *tm, vd_blk_t b)
{
	size_t i = set_hash(b, tm->set_size);

	while (tm->set[i] != VD_TM_EMPTY) {
		if (tm->set[i] == b)
			return true;
		i = (i + 1) & (tm->set_size - 1);
	}
	return false;
}

static void set_put(vd_blk_t *set, size_t size, vd_blk_t b)
{
	size_t i = set_hash(b, size);

	while (set[i] != VD_TM_EMPTY) {
		if (set[i] == b)
			return;
		i = (i + 1) & (size - 1);
	}
	set[i] = b;
}

static int set_insert(struct vd_tm *tm, vd_blk_t b)
{
	if ((tm->set_used + 1) * 2 > tm->set_size) {
		vd_blk_t *old = tm->set;
		size_t old_size = tm->set_size, i;
		int r = set_alloc(tm, old_size * 2);

		if (r) {
			tm->set = old;
			tm->set_size = old_size;
			return r;
		}
		for (i = 0; i < old_size; i++)
			if (old[i] != VD_TM_EMPTY) {
				set_put(tm->set, tm->set_size, old[i]);
				tm->set_used++;
			}
		kvfree(old);
	}
	if (!set_contains(tm, b)) {
		set_put(tm->set, tm->set_size, b);
		tm->set_used++;
	}
	return 0;
}

static int set_reset(struct vd_tm *tm)
{
	size_t i;

	if (tm->set_size > 4096) {
		kvfree(tm->set);
		return set_alloc(tm, 1024);
	}
	for (i = 0; i < tm->set_size; i++)
		tm->set[i] = VD_TM_EMPTY;
	tm->set_used = 0;
	return 0;
}

static struct vd_tm *tm_alloc(struct vd_block_manager *bm, u64 txn)
{
	struct vd_tm *tm = kzalloc(sizeof(*tm), GFP_KERNEL);

	if (!tm)
		return NULL;
	if (set_alloc(tm, 1024)) {
		kfree(tm);
		return NULL;
	}
	tm->bm = bm;
	tm->txn = txn;
	bm->write_txn = txn;
	return tm;
}

int vd_tm_create_with_sm(struct vd_block_manager *bm, u64 first_txn,
			 struct vd_tm **result, struct vd_space_map **sm)
{
	struct vd_tm *tm = tm_alloc(bm, first_txn);
	int r;

	if (!tm)
		return -ENOMEM;
	tm->sm = vd_sm_metadata_alloc(tm);
	r = tm->sm ? vd_sm_metadata_format(tm->sm, vd_bm_nr_blocks(bm), VD_SUPERBLOCK_NR_SLOTS)
		   : -ENOMEM;
	if (r) {
		vd_tm_destroy(tm);
		return r;
	}
	*result = tm;
	*sm = tm->sm;
	return 0;
}

int vd_tm_open_with_sm(struct vd_block_manager *bm, const struct vd_sm_root *root,
		       u64 committed_txn, struct vd_tm **result, struct vd_space_map **sm)
{
	struct vd_tm *tm;
	int r;

	if (le64_to_cpu(root->nr_blocks) > vd_bm_nr_blocks(bm)) {
		pr_err("vdisk: metadata space map covers %llu blocks, the device has %llu\n",
		       (unsigned long long)le64_to_cpu(root->nr_blocks),
		       (unsigned long long)vd_bm_nr_blocks(bm));
		return -EINVAL;
	}
	tm = tm_alloc(bm, committed_txn + 1);
	if (!tm)
		return -ENOMEM;
	tm->sm = vd_sm_metadata_alloc(tm);
	r = tm->sm ? vd_sm_metadata_load(tm->sm, root) : -ENOMEM;
	if (r) {
		vd_tm_destroy(tm);
		return r;
	}
	*result = tm;
	*sm = tm->sm;
	return 0;
}

void vd_tm_destroy(struct vd_tm *tm)
{
	if (!tm)
		return;
	if (tm->sm)
		vd_sm_destroy(tm->sm);
	kvfree(tm->set);
	kfree(tm);
}

struct vd_block_manager *vd_tm_get_bm(struct vd_tm *tm)
{
	return tm->bm;
}

struct vd_space_map *vd_tm_get_sm(struct vd_tm *tm)
{
	return tm->sm;
}

u64 vd_tm_txn(struct vd_tm *tm)
{
	return tm->txn;
}

void vd_tm_set_txn(struct vd_tm *tm, u64 txn)
{
	tm->txn = txn;
	tm->bm->write_txn = txn;
}

bool vd_tm_is_new(struct vd_tm *tm, vd_blk_t b)
{
	return set_contains(tm, b);
}

int vd_tm_new_block(struct vd_tm *tm, const struct vd_validator *v,
		    struct vd_block **result)
{
	vd_blk_t b;
	int r;

	if (tm->aborted)
		return -EIO;
	r = vd_sm_new_block(tm->sm, &b);
	if (r)
		return r;
	r = set_insert(tm, b);
	if (r)
		return r;
	r = vd_bm_write_lock_zero(tm->bm, b, v, result);
	if (!r)
		tm->stats.nr_new++;
	return r;
}

struct vd_ref vd_tm_block_ref(struct vd_tm *tm, struct vd_block *b)
{
	return (struct vd_ref) { vd_block_location(b), tm->txn };
}

int vd_tm_shadow_block(struct vd_tm *tm, struct vd_ref ref, const struct vd_validator *v,
		       struct vd_block **result, int *inc_children)
{
	vd_blk_t orig = ref.nr;
	struct vd_block *src, *dst;
	vd_blk_t b;
	u32 count;
	int r;

	*inc_children = 0;
	if (tm->aborted)
		return -EIO;
	r = vd_sm_get_count(tm->sm, orig, &count);
	if (r)
		return r;
	/*
	 * New in this transaction and not shared (cloned since): write in
	 * place.  Count 0 happens only while the metadata space map
	 * bootstraps (its new bitmaps are counted afterwards).
	 */
	if (count <= 1 && set_contains(tm, orig)) {
		/* Only references made in this transaction may name it. */
		if (ref.txn != tm->txn) {
			pr_err("vdisk: metadata block %llu (%s): new in transaction %llu, its reference expects %llu (stale reference)\n",
			       (unsigned long long)orig, v->name, (unsigned long long)tm->txn,
			       (unsigned long long)ref.txn);
			return -EILSEQ;
		}
		r = vd_bm_write_lock(tm->bm, orig, v, result);
		if (!r)
			tm->stats.nr_shadow_inplace++;
		return r;
	}
	if (!count) {
		pr_err("vdisk: metadata block %llu: shadowing a free block\n",
		       (unsigned long long)orig);
		return -EILSEQ;
	}
	/*
	 * Allocate before locking the source: allocation may read space map
	 * blocks, and no lock may be held across it (see vd-space-map.h).
	 */
	r = vd_sm_new_block(tm->sm, &b);
	if (!r)
		r = set_insert(tm, b);
	if (r)
		return r;
	r = vd_bm_read_lock_ref(tm->bm, ref, v, &src);
	if (r)
		return r;
	r = vd_bm_write_lock_zero(tm->bm, b, v, &dst);
	if (r) {
		vd_bm_unlock(src);
		return r;
	}
	memcpy(vd_block_data(dst), vd_block_data(src), VD_METADATA_BLOCK_SIZE);
	vd_bm_unlock(src);
	/* The copy is written by this transaction (see vd_tm_block_ref()). */
	((struct vd_block_header *)vd_block_data(dst))->txn = cpu_to_le64(tm->txn);
	/* The copy takes over this reference to the original. */
	r = vd_sm_dec(tm->sm, orig);
	if (r) {
		vd_bm_unlock(dst);
		return r;
	}
	*inc_children = count > 1;
	tm->stats.nr_shadow_copies++;
	*result = dst;
	return 0;
}

int vd_tm_read_lock(struct vd_tm *tm, struct vd_ref ref, const struct vd_validator *v,
		    struct vd_block **result)
{
	return vd_bm_read_lock_ref(tm->bm, ref, v, result);
}

void vd_tm_unlock(struct vd_tm *tm, struct vd_block *b)
{
	vd_bm_unlock(b);
}

int vd_tm_inc(struct vd_tm *tm, vd_blk_t b)
{
	return vd_sm_inc(tm->sm, b);
}

int vd_tm_dec(struct vd_tm *tm, vd_blk_t b)
{
	return vd_sm_dec(tm->sm, b);
}

int vd_tm_ref(struct vd_tm *tm, vd_blk_t b, u32 *count)
{
	return vd_sm_get_count(tm->sm, b, count);
}

int vd_tm_pre_commit(struct vd_tm *tm)
{
	int r;

	if (tm->aborted)
		return -EIO;
	r = vd_sm_commit(tm->sm);
	if (r)
		return r;
	return vd_bm_flush(tm->bm);
}

int vd_tm_lock_superblock(struct vd_tm *tm, vd_blk_t slot, const struct vd_validator *v,
			  struct vd_block **result)
{
	if (tm->aborted)
		return -EIO;
	if (slot >= VD_SUPERBLOCK_NR_SLOTS)
		return -EINVAL;
	return vd_bm_write_lock_zero(tm->bm, slot, v, result);
}

int vd_tm_commit(struct vd_tm *tm, struct vd_block *superblock)
{
	int r;

	if (tm->aborted) {
		vd_bm_unlock(superblock);
		return -EIO;
	}
	r = vd_bm_flush_and_unlock(superblock);
	if (r)
		return r;
	tm->txn++;
	tm->bm->write_txn = tm->txn;
	memset(&tm->stats, 0, sizeof(tm->stats));
	return set_reset(tm);
}

void vd_tm_abort(struct vd_tm *tm)
{
	tm->aborted = true;
}

void vd_tm_get_stats(struct vd_tm *tm, struct vd_tm_stats *stats)
{
	*stats = tm->stats;
}
