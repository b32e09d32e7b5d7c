// SPDX-License-Identifier: GPL-2.0
/*
 * Space maps (metadata and data) over refcount bitmaps.
 *
 * State:
 *  - refcount bitmaps on disk: one byte per block, 255 = "see the overflow
 *    tree" (a B+tree: block -> __le64 count);
 *  - the index: one entry per bitmap (location, free count, first-free
 *    hint).  It is kept in memory twice, as the current state (cur[]) and as
 *    of the last commit (com[]); 16 bytes per bitmap, i.e. per 4064 blocks
 *    (about 1 MiB per TiB of 4 KiB blocks, each copy).  On disk it is a
 *    B+tree (bitmap number -> struct vd_sm_index_entry) rewritten for the
 *    changed entries at every commit, so the size is not capped.
 *
 * Allocation (find_free): a block is handed out only if it is free in the
 * last committed state, found from com[] and the committed bitmaps, which
 * are never written in place (copy-on-write) and so are never write-locked.
 * A cursor moves forward only, once around the device per transaction,
 * starting where the previous transaction stopped.  Hence:
 *  - a block freed in this transaction is not reused before commit (it is
 *    not free in the committed state);
 *  - no block is handed out twice: everything allocated in this
 *    transaction lies behind the cursor;
 *  - a block ahead of the cursor with committed count 0 has current count
 *    0 too (it was neither allocated, nor can a free block be incremented),
 *    so the current structures need not be read at all.
 * Blocks beyond the committed size (grown in this transaction) are free if
 * at or past new_range_start.
 *
 * Recursion (metadata space map only): changing a count shadows a bitmap
 * and may change the overflow tree, which allocates and frees metadata
 * blocks, i.e. calls this space map again.  Such nested calls do not touch
 * the structures: allocation picks a block as above and every count change
 * is queued; the outermost call applies the queue after its own change
 * (each application may queue more; it ends because a block is shadowed at
 * most once per transaction).  get_count adds the queued deltas.
 *
 * Bootstrap (format, growing the metadata device): new bitmaps must be
 * written before they can track their own blocks.  In bootstrap mode blocks
 * are taken linearly from the new range; afterwards their counts are set to
 * one through the normal path and new_range_start moves past them.
 */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vd-space-map-internal.h"
#include "vd-transaction-manager.h"
#include "vd-btree.h"

#define E VD_SM_ENTRIES_PER_BITMAP

enum vd_sm_op { VD_SM_OP_ALLOC, VD_SM_OP_INC, VD_SM_OP_DEC, VD_SM_OP_SET };

/* @bitmap: the refcount block and the transaction that wrote it. */
struct vd_sm_entry {
	struct vd_ref bitmap;
	u32 nr_free;
	u32 first_free;
};

struct vd_sm_pending {
	enum vd_sm_op op;
	vd_blk_t b;
	u32 count;		/* VD_SM_OP_SET */
};

struct vd_space_map {
	struct vd_tm *tm;
	bool is_metadata;
	struct vd_btree_info index_info;	/* bitmap nr -> vd_sm_index_entry */
	struct vd_btree_info overflow_info;	/* block -> __le64 count */

	vd_blk_t nr_blocks, nr_allocated;
	/* Counts that reached 0 in this transaction: free, not reusable yet. */
	vd_blk_t nr_freed_txn;
	struct vd_ref index_root, overflow_root;

	struct vd_sm_entry *cur, *com;
	u8 *flags;				/* VD_SMF_* per bitmap */
	u64 nr_bitmaps, cap_bitmaps;
	u64 *write_list, nr_write;		/* entries to store in the index tree */
	u64 *txn_list, nr_txn;			/* entries changed this transaction */

	/* allocation */
	vd_blk_t com_nr_blocks;
	vd_blk_t cursor, txn_start, new_range_start;
	bool wrapped, extended;
	u64 scan_idx;				/* bitmap cached in scan_buf, or ~0 */
	u8 *scan_buf;

	/* recursion and bootstrap */
	int depth;
	struct vd_sm_pending *queue;
	size_t nq, qhead, qcap;
	bool bootstrap;
	vd_blk_t boot_next;
};

#define VD_SMF_WRITE	0x1	/* on write_list */
#define VD_SMF_TXN	0x2	/* on txn_list */

static int apply(struct vd_space_map *sm, enum vd_sm_op op, vd_blk_t b, u32 count);

/* ---------------------------------------------------------------------- */
/* In-memory index.                                                       */
/* ---------------------------------------------------------------------- */

static int grow_arrays(struct vd_space_map *sm, u64 nr_bitmaps)
{
	struct vd_sm_entry *cur, *com;
	u64 *wl, *tl, cap = max_t(u64, nr_bitmaps, 16);
	u8 *flags;

	if (nr_bitmaps <= sm->cap_bitmaps)
		return 0;
	cur = kvcalloc(cap, sizeof(*cur), GFP_KERNEL);
	com = kvcalloc(cap, sizeof(*com), GFP_KERNEL);
	flags = kvcalloc(cap, 1, GFP_KERNEL);
	wl = kvcalloc(cap, sizeof(*wl), GFP_KERNEL);
	tl = kvcalloc(cap, sizeof(*tl), GFP_KERNEL);
	if (!cur || !com || !flags || !wl || !tl) {
		kvfree(cur);
		kvfree(com);
		kvfree(flags);
		kvfree(wl);
		kvfree(tl);
		return -ENOMEM;
	}
	if (sm->cap_bitmaps) {
		memcpy(cur, sm->cur, sm->nr_bitmaps * sizeof(*cur));
		memcpy(com, sm->com, sm->nr_bitmaps * sizeof(*com));
		memcpy(flags, sm->flags, sm->nr_bitmaps);
		memcpy(wl, sm->write_list, sm->nr_write * sizeof(*wl));
		memcpy(tl, sm->txn_list, sm->nr_txn * sizeof(*tl));
	}
	kvfree(sm->cur);
	kvfree(sm->com);
	kvfree(sm->flags);
	kvfree(sm->write_list);
	kvfree(sm->txn_list);
	sm->cur = cur;
	sm->com = com;
	sm->flags = flags;
	sm->write_list = wl;
	sm->txn_list = tl;
	sm->cap_bitmaps = cap;
	return 0;
}

static void mark_dirty(struct vd_space_map *sm, u64 idx)
{
	if (!(sm->flags[idx] & VD_SMF_WRITE)) {
		sm->flags[idx] |= VD_SMF_WRITE;
		sm->write_list[sm->nr_write++] = idx;
	}
	if (!(sm->flags[idx] & VD_SMF_TXN)) {
		sm->flags[idx] |= VD_SMF_TXN;
		sm->txn_list[sm->nr_txn++] = idx;
	}
}

/* Valid entries of bitmap @idx for a device of @nr_blocks. */
static u32 bitmap_valid(vd_blk_t nr_blocks, u64 idx)
{
	vd_blk_t start = idx * E;

	return nr_blocks <= start ? 0 : (u32)min_t(vd_blk_t, E, nr_blocks - start);
}

/* ---------------------------------------------------------------------- */
/* Allocation from the committed state.                                   */
/* ---------------------------------------------------------------------- */

static int load_committed_bitmap(struct vd_space_map *sm, u64 idx)
{
	struct vd_block *blk;
	int r;

	if (sm->scan_idx == idx)
		return 0;
	/* Committed bitmaps are never written in place: safe to read any time. */
	r = vd_tm_read_lock(sm->tm, sm->com[idx].bitmap, &vd_sm_bitmap_validator, &blk);
	if (r)
		return r;
	memcpy(sm->scan_buf, ((struct vd_sm_bitmap *)vd_block_data(blk))->counts, E);
	vd_tm_unlock(sm->tm, blk);
	sm->scan_idx = idx;
	return 0;
}

static int find_free(struct vd_space_map *sm, vd_blk_t *result)
{
	vd_blk_t pos = sm->cursor, limit, end;
	u64 idx;
	u8 *z;
	int r;

	for (;;) {
		limit = sm->wrapped ? sm->txn_start : sm->nr_blocks;
		if (pos >= limit) {
			if (sm->wrapped || !sm->txn_start)
				return -ENOSPC;
			sm->wrapped = true;
			pos = 0;
			continue;
		}
		if (pos >= sm->com_nr_blocks) {
			/* Grown in this transaction. */
			if (pos < sm->new_range_start) {
				pos = sm->new_range_start;
				continue;
			}
			break;
		}
		idx = pos / E;
		if (!sm->com[idx].nr_free) {
			pos = (idx + 1) * E;
			continue;
		}
		pos = max_t(vd_blk_t, pos, idx * E + sm->com[idx].first_free);
		end = min3(limit, sm->com_nr_blocks, (idx + 1) * E);
		if (pos >= end) {
			pos = (idx + 1) * E;
			continue;
		}
		r = load_committed_bitmap(sm, idx);
		if (r)
			return r;
		z = memchr(sm->scan_buf + (pos - idx * E), 0, end - pos);
		if (z) {
			pos = idx * E + (z - sm->scan_buf);
			break;
		}
		pos = end;
	}
	sm->cursor = pos + 1;
	*result = pos;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Counts.                                                                */
/* ---------------------------------------------------------------------- */

static int check_block(struct vd_space_map *sm, vd_blk_t b)
{
	if (b >= sm->nr_blocks) {
		pr_err("vdisk: space map: block %llu out of range (%llu blocks)\n",
		       (unsigned long long)b, (unsigned long long)sm->nr_blocks);
		return -EINVAL;
	}
	return 0;
}

/* Count in the current structures, without the queued changes. */
static int stored_count(struct vd_space_map *sm, vd_blk_t b, u32 *count)
{
	struct vd_block *blk;
	__le64 v;
	u8 c;
	int r;

	r = vd_tm_read_lock(sm->tm, sm->cur[b / E].bitmap, &vd_sm_bitmap_validator, &blk);
	if (r)
		return r;
	c = ((struct vd_sm_bitmap *)vd_block_data(blk))->counts[b % E];
	vd_tm_unlock(sm->tm, blk);
	if (c < VD_SM_COUNT_OVERFLOW) {
		*count = c;
		return 0;
	}
	r = vd_btree_lookup(&sm->overflow_info, sm->overflow_root, b, &v);
	if (r == -ENODATA) {
		pr_err("vdisk: space map: block %llu marked overflowed but not in the overflow tree %llu\n",
		       (unsigned long long)b, (unsigned long long)sm->overflow_root.nr);
		return -EILSEQ;
	}
	if (r)
		return r;
	if (le64_to_cpu(v) < VD_SM_COUNT_OVERFLOW || le64_to_cpu(v) > U32_MAX) {
		pr_err("vdisk: space map: block %llu: bad overflow count %llu\n",
		       (unsigned long long)b, (unsigned long long)le64_to_cpu(v));
		return -EILSEQ;
	}
	*count = (u32)le64_to_cpu(v);
	return 0;
}

int vd_sm_get_count(struct vd_space_map *sm, vd_blk_t b, u32 *count)
{
	s64 c;
	size_t i;
	u32 base;
	int r;

	r = check_block(sm, b);
	if (r)
		return r;
	r = stored_count(sm, b, &base);
	if (r)
		return r;
	c = base;
	for (i = sm->qhead; i < sm->nq; i++) {
		if (sm->queue[i].b != b)
			continue;
		switch (sm->queue[i].op) {
		case VD_SM_OP_ALLOC:
		case VD_SM_OP_INC:
			c++;
			break;
		case VD_SM_OP_DEC:
			c--;
			break;
		case VD_SM_OP_SET:
			c = sm->queue[i].count;
			break;
		}
	}
	*count = (u32)max_t(s64, c, 0);
	return 0;
}

int vd_sm_count_is_more_than_one(struct vd_space_map *sm, vd_blk_t b, int *result)
{
	u32 count;
	int r = vd_sm_get_count(sm, b, &count);

	if (!r)
		*result = count > 1;
	return r;
}

int vd_sm_get_nr_blocks(struct vd_space_map *sm, vd_blk_t *count)
{
	*count = sm->nr_blocks;
	return 0;
}

/*
 * Blocks that can still be handed out in this transaction: the free ones
 * minus those freed in it (a block freed, or allocated, in a transaction is
 * not handed out again before the commit; see "Allocation" above).
 */
int vd_sm_get_nr_allocatable(struct vd_space_map *sm, vd_blk_t *count)
{
	*count = sm->nr_blocks - sm->nr_allocated - sm->nr_freed_txn;
	return 0;
}

/*
 * An upper bound of the blocks the next commit allocates from this space
 * map's tm: storing each changed index entry shadows at most one index
 * leaf and its share of internal nodes, and (for the metadata space map)
 * the counts of those blocks dirty at most as many more bitmaps.
 */
vd_blk_t vd_sm_commit_cost(struct vd_space_map *sm)
{
	return 2 * sm->nr_write + 8;
}

int vd_sm_get_nr_free(struct vd_space_map *sm, vd_blk_t *count)
{
	*count = sm->nr_blocks - sm->nr_allocated;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Changing counts.                                                       */
/* ---------------------------------------------------------------------- */

static const char *const op_name[] = { "alloc", "inc", "dec", "set" };

/* Apply one change to the current structures. */
static int apply(struct vd_space_map *sm, enum vd_sm_op op, vd_blk_t b, u32 count)
{
	struct vd_sm_entry *e = &sm->cur[b / E];
	u32 off = b % E, old, new;
	struct vd_sm_bitmap *bmp;
	struct vd_block *blk;
	struct vd_ref dummy;
	__le64 v;
	int inc, r;

	r = stored_count(sm, b, &old);
	if (r)
		return r;
	switch (op) {
	case VD_SM_OP_ALLOC:
		new = 1;
		break;
	case VD_SM_OP_INC:
		new = old + 1;
		break;
	case VD_SM_OP_DEC:
		new = old - 1;
		break;
	default:
		new = count;
		break;
	}
	if ((op == VD_SM_OP_ALLOC && old) || (op == VD_SM_OP_INC && (!old || old == U32_MAX)) ||
	    (op == VD_SM_OP_DEC && !old)) {
		pr_err("vdisk: space map: %s of block %llu with count %u\n",
		       op_name[op], (unsigned long long)b, old);
		return -EILSEQ;
	}
	if (old == new)
		return 0;

	/* Overflow tree first: nothing may be locked while it allocates. */
	r = 0;
	if (new >= VD_SM_COUNT_OVERFLOW) {
		v = cpu_to_le64(new);
		r = vd_btree_insert(&sm->overflow_info, sm->overflow_root, b, &v,
				    &sm->overflow_root, NULL);
	} else if (old >= VD_SM_COUNT_OVERFLOW) {
		r = vd_btree_remove(&sm->overflow_info, sm->overflow_root, b, &dummy);
		if (!r)
			sm->overflow_root = dummy;
	}
	if (r)
		return r;

	r = vd_tm_shadow_block(sm->tm, e->bitmap, &vd_sm_bitmap_validator, &blk, &inc);
	if (r)
		return r;
	/*
	 * e may have moved if the shadow's allocation grew the arrays: reload.
	 * The in-memory index is the bitmap's parent: it takes the new
	 * reference now and is stored in the index tree at commit.
	 */
	e = &sm->cur[b / E];
	e->bitmap = vd_tm_block_ref(sm->tm, blk);
	bmp = vd_block_data(blk);
	bmp->counts[off] = (u8)min_t(u32, new, VD_SM_COUNT_OVERFLOW);
	if (!old) {
		e->nr_free--;
		sm->nr_allocated++;
		if (off == e->first_free)
			e->first_free = off + 1;
	} else if (!new) {
		e->nr_free++;
		sm->nr_allocated--;
		sm->nr_freed_txn++;
		e->first_free = min(e->first_free, off);
	}
	bmp->nr_free = cpu_to_le32(e->nr_free);
	vd_tm_unlock(sm->tm, blk);
	mark_dirty(sm, b / E);
	return 0;
}

static int enqueue(struct vd_space_map *sm, enum vd_sm_op op, vd_blk_t b, u32 count)
{
	if (sm->nq == sm->qcap) {
		size_t cap = sm->qcap ? sm->qcap * 2 : 64;
		struct vd_sm_pending *q = kmalloc_array(cap, sizeof(*q), GFP_NOIO);

		if (!q)
			return -ENOMEM;
		if (sm->nq)
			memcpy(q, sm->queue, sm->nq * sizeof(*q));
		kfree(sm->queue);
		sm->queue = q;
		sm->qcap = cap;
	}
	sm->queue[sm->nq].op = op;
	sm->queue[sm->nq].b = b;
	sm->queue[sm->nq].count = count;
	sm->nq++;
	return 0;
}

/*
 * Leave a section entered with sm->depth++: apply everything queued while
 * in it (each application may queue more), unless it failed.
 */
static int drain(struct vd_space_map *sm, int r)
{
	struct vd_sm_pending p;

	while (!r && sm->qhead < sm->nq) {
		p = sm->queue[sm->qhead++];
		r = apply(sm, p.op, p.b, p.count);
	}
	sm->nq = 0;
	sm->qhead = 0;
	sm->depth--;
	return r;
}

/* Outermost call: apply the change, then everything it queued. */
static int change(struct vd_space_map *sm, enum vd_sm_op op, vd_blk_t b, u32 count)
{
	if (sm->depth || sm->bootstrap)
		return enqueue(sm, op, b, count);
	sm->depth++;
	return drain(sm, apply(sm, op, b, count));
}

int vd_sm_new_block(struct vd_space_map *sm, vd_blk_t *b)
{
	int r;

	if (sm->bootstrap) {
		if (sm->boot_next >= sm->nr_blocks)
			return -ENOSPC;
		*b = sm->boot_next++;
		return 0;
	}
	r = find_free(sm, b);
	if (r)
		return r;
	return change(sm, VD_SM_OP_ALLOC, *b, 0);
}

/*
 * Set the counts of @n (>= 1) free blocks from @b, all in one bitmap, to 1
 * with one shadow of it.  They are free in the committed state and ahead of the
 * cursor, so free now as well (see the top of this file); a count that is
 * not 0 means damaged metadata and changes nothing.
 */
static int apply_alloc_run(struct vd_space_map *sm, vd_blk_t b, u32 n)
{
	u32 off = b % E, i;
	struct vd_sm_bitmap *bmp;
	struct vd_sm_entry *e;
	struct vd_block *blk;
	int inc, r;

	r = vd_tm_shadow_block(sm->tm, sm->cur[b / E].bitmap, &vd_sm_bitmap_validator, &blk,
			       &inc);
	if (r)
		return r;
	/* The shadow's allocation may have grown the arrays: look e up now. */
	e = &sm->cur[b / E];
	e->bitmap = vd_tm_block_ref(sm->tm, blk);
	bmp = vd_block_data(blk);
	for (i = 0; i < n; i++) {
		if (bmp->counts[off + i]) {
			pr_err("vdisk: space map: alloc of block %llu with count %u\n",
			       (unsigned long long)(b + i), bmp->counts[off + i]);
			r = -EILSEQ;
		}
	}
	if (!r && e->nr_free < n) {
		pr_err("vdisk: space map: bitmap %llu says %u free, %u are\n",
		       (unsigned long long)(b / E), e->nr_free, n);
		r = -EILSEQ;
	}
	if (!r) {
		memset(bmp->counts + off, 1, n);
		e->nr_free -= n;
		sm->nr_allocated += n;
		if (e->first_free >= off && e->first_free < off + n)
			e->first_free = off + n;
		bmp->nr_free = cpu_to_le32(e->nr_free);
	}
	vd_tm_unlock(sm->tm, blk);
	if (!r)
		mark_dirty(sm, b / E);
	return r;
}

int vd_sm_new_blocks(struct vd_space_map *sm, u32 max, vd_blk_t *b, u32 *nr)
{
	vd_blk_t end;
	u64 idx;
	u32 n = 1;
	int r;

	*nr = 0;
	if (!max)
		return -EINVAL;
	if (sm->bootstrap || sm->depth) {
		r = vd_sm_new_block(sm, b);
		if (!r)
			*nr = 1;
		return r;
	}
	r = find_free(sm, b);
	if (r)
		return r;
	idx = *b / E;
	/* find_free() left the committed bitmap of *b in scan_buf. */
	if (*b < sm->com_nr_blocks && sm->scan_idx == idx) {
		end = min3(sm->wrapped ? sm->txn_start : sm->nr_blocks, sm->com_nr_blocks,
			   (idx + 1) * E);
		while (n < max && *b + n < end && !sm->scan_buf[*b + n - idx * E])
			n++;
	}
	sm->cursor = *b + n;
	sm->depth++;
	r = drain(sm, apply_alloc_run(sm, *b, n));
	if (!r)
		*nr = n;
	return r;
}

int vd_sm_inc(struct vd_space_map *sm, vd_blk_t b)
{
	int r = check_block(sm, b);

	return r ? r : change(sm, VD_SM_OP_INC, b, 0);
}

int vd_sm_dec(struct vd_space_map *sm, vd_blk_t b)
{
	int r = check_block(sm, b);

	return r ? r : change(sm, VD_SM_OP_DEC, b, 0);
}

/* vd_sm_dec() of one block, then @freed if its count reached 0. */
static int dec_one(struct vd_space_map *sm, vd_blk_t b, vd_sm_freed_fn freed, void *context)
{
	u32 count;
	int r = vd_sm_dec(sm, b);

	if (r || !freed)
		return r;
	r = vd_sm_get_count(sm, b, &count);
	if (!r && !count)
		freed(context, b);
	return r;
}

/* The longest run vd_sm_dec_blocks() changes under one bitmap lock. */
#define DEC_RUN_MAX 256

/*
 * Decrement the run of blocks at the start of @blocks that lie in the first
 * one's bitmap, under one shadow of it; *done = how many were handled (at
 * least one).  A count of 0 (an error) or an overflowed count ends the run
 * and goes through apply(), which reports or handles it, so only plain
 * in-bitmap counts are changed here, with apply()'s bookkeeping.
 */
static int dec_run(struct vd_space_map *sm, const vd_blk_t *blocks, unsigned int nr,
		   unsigned int *done, vd_sm_freed_fn freed, void *context)
{
	u64 freed_mask[DEC_RUN_MAX / 64] = { 0 };
	u64 idx = blocks[0] / E;
	struct vd_sm_bitmap *bmp;
	struct vd_sm_entry *e;
	struct vd_block *blk;
	unsigned int run, k;
	int inc, r;

	for (run = 1; run < nr && run < DEC_RUN_MAX && blocks[run] / E == idx; run++) {
		r = check_block(sm, blocks[run]);
		if (r)
			break;	/* reported when the run gets there */
	}
	r = vd_tm_shadow_block(sm->tm, sm->cur[idx].bitmap, &vd_sm_bitmap_validator, &blk, &inc);
	if (r)
		return r;
	e = &sm->cur[idx];	/* as in apply(): reload after the shadow */
	e->bitmap = vd_tm_block_ref(sm->tm, blk);
	bmp = vd_block_data(blk);
	for (k = 0; k < run; k++) {
		u32 off = blocks[k] % E;
		u8 c = bmp->counts[off];

		if (!c || c >= VD_SM_COUNT_OVERFLOW)
			break;
		bmp->counts[off] = c - 1;
		if (c == 1) {
			e->nr_free++;
			sm->nr_allocated--;
			sm->nr_freed_txn++;
			e->first_free = min(e->first_free, off);
			freed_mask[k / 64] |= 1ULL << (k % 64);
		}
	}
	bmp->nr_free = cpu_to_le32(e->nr_free);
	vd_tm_unlock(sm->tm, blk);
	mark_dirty(sm, idx);
	*done = k;
	if (freed)
		for (k = 0; k < *done; k++)
			if (freed_mask[k / 64] & (1ULL << (k % 64)))
				freed(context, blocks[k]);
	if (*done)
		return 0;
	*done = 1;
	return dec_one(sm, blocks[0], freed, context);
}

int vd_sm_dec_blocks(struct vd_space_map *sm, const vd_blk_t *blocks, unsigned int nr,
		     vd_sm_freed_fn freed, void *context)
{
	unsigned int i = 0, done;
	int r = 0;

	while (i < nr && !r) {
		r = check_block(sm, blocks[i]);
		if (r)
			break;
		/*
		 * The metadata space map's shadows allocate from itself (see
		 * "Recursion" above): it keeps the queued path, block by block.
		 */
		if (sm->is_metadata || sm->depth || sm->bootstrap) {
			r = dec_one(sm, blocks[i], freed, context);
			done = 1;
		} else {
			r = dec_run(sm, blocks + i, nr - i, &done, freed, context);
		}
		i += done;
	}
	return r;
}

int vd_sm_set_count(struct vd_space_map *sm, vd_blk_t b, u32 count)
{
	int r = check_block(sm, b);

	return r ? r : change(sm, VD_SM_OP_SET, b, count);
}

int vd_sm_inc_range(struct vd_space_map *sm, vd_blk_t b, vd_blk_t e)
{
	int r = 0;

	for (; b < e && !r; b++)
		r = vd_sm_inc(sm, b);
	return r;
}

int vd_sm_dec_range(struct vd_space_map *sm, vd_blk_t b, vd_blk_t e)
{
	int r = 0;

	for (; b < e && !r; b++)
		r = vd_sm_dec(sm, b);
	return r;
}

/* ---------------------------------------------------------------------- */
/* Creation, growth, commit.                                              */
/* ---------------------------------------------------------------------- */

static struct vd_space_map *sm_alloc(struct vd_tm *tm, bool is_metadata)
{
	struct vd_space_map *sm = kzalloc(sizeof(*sm), GFP_KERNEL);

	if (!sm)
		return NULL;
	sm->scan_buf = kmalloc(E, GFP_KERNEL);
	if (!sm->scan_buf) {
		kfree(sm);
		return NULL;
	}
	sm->tm = tm;
	sm->is_metadata = is_metadata;
	sm->scan_idx = ~0ULL;
	sm->index_info.tm = tm;
	vd_btree_vt_plain(&sm->index_info.vt, sizeof(struct vd_sm_index_entry));
	sm->overflow_info.tm = tm;
	vd_btree_vt_plain(&sm->overflow_info.vt, sizeof(__le64));
	return sm;
}

void vd_sm_destroy(struct vd_space_map *sm)
{
	if (!sm)
		return;
	kvfree(sm->cur);
	kvfree(sm->com);
	kvfree(sm->flags);
	kvfree(sm->write_list);
	kvfree(sm->txn_list);
	kfree(sm->queue);
	kfree(sm->scan_buf);
	kfree(sm);
}

/* Write new, empty bitmaps for [sm->nr_blocks, new_nr). */
static int add_bitmaps(struct vd_space_map *sm, vd_blk_t new_nr)
{
	u64 idx, nr_bitmaps = DIV_ROUND_UP(new_nr, (vd_blk_t)E);
	struct vd_sm_bitmap *bmp;
	struct vd_block *blk;
	int r;

	r = grow_arrays(sm, nr_bitmaps);
	if (r)
		return r;
	for (idx = sm->nr_bitmaps; idx < nr_bitmaps; idx++) {
		r = vd_tm_new_block(sm->tm, &vd_sm_bitmap_validator, &blk);
		if (r)
			return r;
		bmp = vd_block_data(blk);
		sm->cur[idx].bitmap = vd_tm_block_ref(sm->tm, blk);
		sm->cur[idx].nr_free = bitmap_valid(new_nr, idx);
		sm->cur[idx].first_free = 0;
		bmp->nr_free = cpu_to_le32(sm->cur[idx].nr_free);
		vd_tm_unlock(sm->tm, blk);
		sm->nr_bitmaps = idx + 1;
		mark_dirty(sm, idx);
	}
	return 0;
}

/* The old last bitmap gains entries when the device grows: count them free. */
static int widen_last_bitmap(struct vd_space_map *sm, vd_blk_t old_nr, vd_blk_t new_nr)
{
	u64 idx = old_nr / E;
	u32 gained;
	struct vd_block *blk;
	int inc, r;

	if (!(old_nr % E) || idx >= sm->nr_bitmaps)
		return 0;
	gained = bitmap_valid(new_nr, idx) - bitmap_valid(old_nr, idx);
	if (!gained)
		return 0;
	/*
	 * Like apply(): for the metadata sm, shadowing its own bitmap must
	 * queue the count changes it causes, or the allocation for the copy
	 * could shadow this very bitmap underneath us.
	 */
	sm->depth++;
	r = vd_tm_shadow_block(sm->tm, sm->cur[idx].bitmap, &vd_sm_bitmap_validator, &blk, &inc);
	if (!r) {
		sm->cur[idx].bitmap = vd_tm_block_ref(sm->tm, blk);
		sm->cur[idx].nr_free += gained;
		((struct vd_sm_bitmap *)vd_block_data(blk))->nr_free =
			cpu_to_le32(sm->cur[idx].nr_free);
		vd_tm_unlock(sm->tm, blk);
		mark_dirty(sm, idx);
	}
	return drain(sm, r);
}

static int extend(struct vd_space_map *sm, vd_blk_t new_nr)
{
	vd_blk_t old_nr = sm->nr_blocks, b, boot_start;
	u64 old_bitmaps = sm->nr_bitmaps;
	int r;

	if (new_nr < old_nr)
		return -EINVAL;
	if (new_nr == old_nr)
		return 0;
	if (sm->is_metadata) {
		/* One bootstrap region per transaction (see new_range_start). */
		if (sm->extended)
			return -EBUSY;
		sm->extended = true;
		/* New bitmaps are placed at the start of the new range. */
		sm->bootstrap = true;
		boot_start = old_nr;
		sm->boot_next = old_nr;
		sm->nr_blocks = new_nr;
		r = add_bitmaps(sm, new_nr);
		sm->bootstrap = false;
		if (r)
			return r;
		sm->new_range_start = sm->boot_next;
		r = widen_last_bitmap(sm, old_nr, new_nr);
		for (b = boot_start; b < sm->boot_next && !r; b++)
			r = change(sm, VD_SM_OP_ALLOC, b, 0);
		return r;
	}
	r = add_bitmaps(sm, new_nr);
	if (r)
		return r;
	sm->nr_blocks = new_nr;
	if (old_bitmaps)
		r = widen_last_bitmap(sm, old_nr, new_nr);
	return r;
}

int vd_sm_extend(struct vd_space_map *sm, vd_blk_t new_nr_blocks)
{
	if (sm->depth)
		return -EBUSY;
	return extend(sm, new_nr_blocks);
}

/* Store changed index entries; for the metadata sm this may change more. */
static int write_index(struct vd_space_map *sm)
{
	struct vd_sm_index_entry ie;
	u64 idx;
	int r;

	while (sm->nr_write) {
		idx = sm->write_list[--sm->nr_write];
		sm->flags[idx] &= ~VD_SMF_WRITE;
		vd_ref_store(&ie.bitmap, sm->cur[idx].bitmap);
		ie.nr_free = cpu_to_le32(sm->cur[idx].nr_free);
		ie.first_free = cpu_to_le32(sm->cur[idx].first_free);
		r = vd_btree_insert(&sm->index_info, sm->index_root, idx, &ie,
				    &sm->index_root, NULL);
		if (r)
			return r;
	}
	return 0;
}

int vd_sm_commit(struct vd_space_map *sm)
{
	u64 i, idx;
	int r;

	if (sm->depth || sm->nq)
		return -EBUSY;
	r = write_index(sm);
	if (r)
		return r;
	for (i = 0; i < sm->nr_txn; i++) {
		idx = sm->txn_list[i];
		sm->com[idx] = sm->cur[idx];
		sm->flags[idx] &= ~VD_SMF_TXN;
	}
	sm->nr_txn = 0;
	sm->nr_freed_txn = 0;
	sm->com_nr_blocks = sm->nr_blocks;
	sm->new_range_start = sm->nr_blocks;
	if (sm->cursor >= sm->nr_blocks)
		sm->cursor = 0;
	sm->txn_start = sm->cursor;
	sm->wrapped = false;
	sm->extended = false;
	sm->scan_idx = ~0ULL;
	return 0;
}

int vd_sm_copy_root(struct vd_space_map *sm, struct vd_sm_root *root)
{
	memset(root, 0, sizeof(*root));
	root->nr_blocks = cpu_to_le64(sm->nr_blocks);
	root->nr_allocated = cpu_to_le64(sm->nr_allocated);
	vd_ref_store(&root->index_root, sm->index_root);
	vd_ref_store(&root->overflow_root, sm->overflow_root);
	root->alloc_cursor = cpu_to_le64(sm->cursor);
	return 0;
}

static int make_trees(struct vd_space_map *sm)
{
	int r = vd_btree_empty(&sm->index_info, &sm->index_root);

	return r ? r : vd_btree_empty(&sm->overflow_info, &sm->overflow_root);
}

struct vd_space_map *vd_sm_metadata_alloc(struct vd_tm *tm)
{
	return sm_alloc(tm, true);
}

int vd_sm_metadata_format(struct vd_space_map *sm, vd_blk_t nr_blocks, vd_blk_t reserved)
{
	vd_blk_t b;
	int r;

	/* Nothing committed yet: every block is "grown in this transaction". */
	sm->bootstrap = true;
	sm->boot_next = reserved;
	sm->nr_blocks = nr_blocks;
	r = add_bitmaps(sm, nr_blocks);
	sm->bootstrap = false;
	if (r)
		return r;
	sm->new_range_start = sm->boot_next;
	sm->cursor = sm->boot_next;
	sm->txn_start = 0;
	sm->extended = true;
	for (b = 0; b < sm->new_range_start && !r; b++)
		r = change(sm, VD_SM_OP_ALLOC, b, 0);
	return r ? r : make_trees(sm);
}

int vd_sm_data_create(struct vd_tm *tm, vd_blk_t nr_blocks, struct vd_space_map **result)
{
	struct vd_space_map *sm = sm_alloc(tm, false);
	int r;

	if (!sm)
		return -ENOMEM;
	r = make_trees(sm);
	if (!r)
		r = extend(sm, nr_blocks);
	if (r) {
		vd_sm_destroy(sm);
		return r;
	}
	*result = sm;
	return 0;
}

struct load_ctx {
	struct vd_space_map *sm;
	u64 next;
	vd_blk_t allocated;
};

static int load_entry(void *context, u64 key, const void *value)
{
	const struct vd_sm_index_entry *ie = value;
	struct load_ctx *lc = context;
	struct vd_space_map *sm = lc->sm;
	u32 valid = bitmap_valid(sm->nr_blocks, key);

	if (key != lc->next || key >= sm->nr_bitmaps || le32_to_cpu(ie->nr_free) > valid ||
	    le32_to_cpu(ie->first_free) > E) {
		pr_err("vdisk: space map index tree %llu: bad entry %llu (expected %llu of %llu, free %u of %u)\n",
		       (unsigned long long)sm->index_root.nr, (unsigned long long)key,
		       (unsigned long long)lc->next, (unsigned long long)sm->nr_bitmaps,
		       le32_to_cpu(ie->nr_free), valid);
		return -EILSEQ;
	}
	sm->cur[key].bitmap = vd_ref_load(&ie->bitmap);
	sm->cur[key].nr_free = le32_to_cpu(ie->nr_free);
	sm->cur[key].first_free = le32_to_cpu(ie->first_free);
	lc->allocated += valid - sm->cur[key].nr_free;
	lc->next++;
	return 0;
}

static int sm_open(struct vd_space_map *sm, const struct vd_sm_root *root)
{
	struct load_ctx lc = { .sm = sm };
	u64 nr_bitmaps;
	int r;

	sm->nr_blocks = le64_to_cpu(root->nr_blocks);
	sm->nr_allocated = le64_to_cpu(root->nr_allocated);
	sm->index_root = vd_ref_load(&root->index_root);
	sm->overflow_root = vd_ref_load(&root->overflow_root);
	sm->cursor = le64_to_cpu(root->alloc_cursor);
	nr_bitmaps = DIV_ROUND_UP(sm->nr_blocks, (vd_blk_t)E);
	r = grow_arrays(sm, nr_bitmaps);
	if (r)
		return r;
	sm->nr_bitmaps = nr_bitmaps;
	r = vd_btree_iterate(&sm->index_info, sm->index_root, 0, nr_bitmaps, load_entry, &lc);
	if (r)
		return r;
	if (lc.next != nr_bitmaps || lc.allocated != sm->nr_allocated) {
		pr_err("vdisk: space map index tree %llu: %llu of %llu bitmaps, %llu blocks in use but root says %llu\n",
		       (unsigned long long)sm->index_root.nr, (unsigned long long)lc.next,
		       (unsigned long long)nr_bitmaps, (unsigned long long)lc.allocated,
		       (unsigned long long)sm->nr_allocated);
		return -EILSEQ;
	}
	memcpy(sm->com, sm->cur, nr_bitmaps * sizeof(*sm->com));
	sm->com_nr_blocks = sm->nr_blocks;
	sm->new_range_start = sm->nr_blocks;
	if (sm->cursor >= sm->nr_blocks)
		sm->cursor = 0;
	sm->txn_start = sm->cursor;
	return 0;
}

int vd_sm_metadata_load(struct vd_space_map *sm, const struct vd_sm_root *root)
{
	return sm_open(sm, root);
}

int vd_sm_data_open(struct vd_tm *tm, const struct vd_sm_root *root,
		    struct vd_space_map **result)
{
	struct vd_space_map *sm = sm_alloc(tm, false);
	int r;

	if (!sm)
		return -ENOMEM;
	r = sm_open(sm, root);
	if (r) {
		vd_sm_destroy(sm);
		return r;
	}
	*result = sm;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Walks for checkers and audits.                                         */
/* ---------------------------------------------------------------------- */

struct walk_ctx {
	int (*fn)(void *context, vd_blk_t b);
	void *context;
};

static int walk_node(void *context, const struct vd_btree_walk_node *node)
{
	struct walk_ctx *wc = context;

	return wc->fn(wc->context, node->blocknr);
}

int vd_sm_walk_metadata(struct vd_space_map *sm,
			int (*fn)(void *context, vd_blk_t b), void *context)
{
	struct walk_ctx wc = { fn, context };
	u64 i;
	int r;

	for (i = 0; i < sm->nr_bitmaps; i++) {
		r = fn(context, sm->cur[i].bitmap.nr);
		if (r)
			return r;
	}
	r = vd_btree_walk(&sm->index_info, sm->index_root, walk_node, &wc);
	if (!r)
		r = vd_btree_walk(&sm->overflow_info, sm->overflow_root, walk_node, &wc);
	return r;
}

int vd_sm_iterate_counts(struct vd_space_map *sm, vd_blk_t b, vd_blk_t e,
			 int (*fn)(void *context, vd_blk_t b, u32 count), void *context)
{
	struct vd_block *blk;
	u8 counts[64];
	u32 count, i, n;
	int r = 0;

	e = min(e, sm->nr_blocks);
	while (b < e && !r) {
		/* Copy a slice so that no lock is held while @fn runs. */
		n = (u32)min3(e - b, (vd_blk_t)ARRAY_SIZE(counts), (vd_blk_t)(E - b % E));
		r = vd_tm_read_lock(sm->tm, sm->cur[b / E].bitmap, &vd_sm_bitmap_validator, &blk);
		if (r)
			return r;
		memcpy(counts, ((struct vd_sm_bitmap *)vd_block_data(blk))->counts + b % E, n);
		vd_tm_unlock(sm->tm, blk);
		for (i = 0; i < n && !r; i++) {
			if (!counts[i])
				continue;
			count = counts[i];
			if (count == VD_SM_COUNT_OVERFLOW)
				r = stored_count(sm, b + i, &count);
			if (!r)
				r = fn(context, b + i, count);
		}
		b += n;
	}
	return r;
}
