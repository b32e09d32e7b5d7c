// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk metadata checker: superblock, space maps, structure of every
 * tree and every reference count rebuilt from scratch; the collected vdisk
 * details and names are checked in vd-check-vdisks.c.
 */
#define pr_fmt(fmt) "vdisk-check: " fmt

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/string.h>
#ifdef __KERNEL__
#include <linux/stdarg.h>
#else
#include <stdarg.h>
#endif

#include "vd-check-internal.h"
#include "vd-btree-internal.h"
#include "vd-pool-metadata.h"
#include "vd-space-map.h"
#include "vd-transaction-manager.h"

static const char * const tree_names[] = {
	[T_VDISKS] = "vdisks", [T_DETAILS] = "details",
	[T_PENDING] = "pending-deletion", [T_MAPPING] = "mapping",
	[T_SM_INDEX] = "space map index", [T_SM_OVERFLOW] = "space map overflow",
	[T_NAMES] = "name map",
};

void vd_chk_report(struct checker *c, enum vd_check_level level, const char *fmt, ...)
{
	va_list ap;

	if (level == VD_CHECK_ERROR)
		c->rep->nr_errors++;
	else if (level == VD_CHECK_WARNING)
		c->rep->nr_warnings++;
	if (!c->rep->msg)
		return;
	va_start(ap, fmt);
	vsnprintf(c->buf, sizeof(c->buf), fmt, ap);
	va_end(ap);
	c->rep->msg(c->rep->context, level, c->buf);
}

static void *grow(void *p, u64 *alloc, u64 nr, size_t size)
{
	u64 n = *alloc ? *alloc * 2 : 64;
	void *q;

	if (nr < *alloc)
		return p;
	q = kvmalloc_array(n, size, GFP_KERNEL);
	if (!q)
		return NULL;
	if (nr)
		memcpy(q, p, nr * size);
	kvfree(p);
	*alloc = n;
	return q;
}

static int count_meta(void *context, vd_blk_t b)
{
	struct checker *c = context;

	if (b >= c->nr_meta) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "space map structure points to block %llu, beyond the %llu metadata blocks",
			      (unsigned long long)b, (unsigned long long)c->nr_meta);
		return 0;
	}
	if (c->mcount[b] < U32_MAX)
		c->mcount[b]++;
	return 0;
}

static void check_mapping_value(struct checker *c, u64 vblock, u64 v, vd_blk_t leaf)
{
	vd_blk_t b = VD_MAP_BLOCK(v);

	if (v & (VD_MAP_RESERVED_MASK | VD_MAP_SSD | VD_MAP_SLOT_MASK))
		vd_chk_report(c, VD_CHECK_ERROR,
			      "mapping leaf %llu: vblock %llu has flag bits 0x%llx that no enabled feature uses",
			      (unsigned long long)leaf, (unsigned long long)vblock,
			      (unsigned long long)(v & ~VD_MAP_BLOCK_MASK));
	if (b >= c->nr_data) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "mapping leaf %llu: vblock %llu maps to data block %llu, beyond the %llu data blocks",
			      (unsigned long long)leaf, (unsigned long long)vblock,
			      (unsigned long long)b, (unsigned long long)c->nr_data);
		return;
	}
	if (c->dcount[b] < U32_MAX)
		c->dcount[b]++;
	c->rep->nr_mappings++;
}

static int add_root(struct checker *c, u64 key, struct vd_ref root, bool pending)
{
	c->roots = grow(c->roots, &c->roots_alloc, c->nr_roots, sizeof(*c->roots));
	if (!c->roots)
		return -ENOMEM;
	c->roots[c->nr_roots++] = (struct root_ref) { key, root, pending };
	return 0;
}

static int visit_node(void *context, const struct vd_btree_walk_node *n)
{
	struct checker *c = context;
	/* The walk hands out pointers into the locked block: keys follow the header. */
	const struct vd_btree_node_header *h =
		(const void *)((const u8 *)n->keys - VD_BTREE_NODE_HEADER_SIZE);
	const char *tn = tree_names[c->kind];
	vd_blk_t b = n->blocknr;
	u32 vsize, i;
	int r;

	if (b < VD_SUPERBLOCK_NR_SLOTS || b >= c->nr_meta) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "%s tree: node at block %llu, outside the metadata area",
			      tn, (unsigned long long)b);
		return VD_BTREE_WALK_SKIP;
	}
	if (!c->no_count) {
		if (c->mcount[b] < U32_MAX)
			c->mcount[b]++;
		/* Shared node already checked (and its children counted) once. */
		if (c->mcount[b] > 1)
			return VD_BTREE_WALK_SKIP;
	}
	if (le64_to_cpu(h->hdr.txn) > c->seq)
		vd_chk_report(c, VD_CHECK_ERROR,
			      "%s tree: block %llu was written by transaction %llu, after the last commit %llu",
			      tn, (unsigned long long)b,
			      (unsigned long long)le64_to_cpu(h->hdr.txn),
			      (unsigned long long)c->seq);
	if (n->depth && !n->nr_entries)
		vd_chk_report(c, VD_CHECK_ERROR, "%s tree: non-root node %llu is empty", tn,
			      (unsigned long long)b);
	for (i = 0; i < n->nr_entries; i++) {
		u64 k = le64_to_cpu(n->keys[i]);

		if (i && k <= le64_to_cpu(n->keys[i - 1])) {
			vd_chk_report(c, VD_CHECK_ERROR,
				      "%s tree: block %llu: key %u (%llu) not above the previous one",
				      tn, (unsigned long long)b, i, (unsigned long long)k);
			break;
		}
		if (k < n->lo || k > n->hi) {
			vd_chk_report(c, VD_CHECK_ERROR,
				      "%s tree: block %llu: key %llu outside its parent's range [%llu, %llu]",
				      tn, (unsigned long long)b, (unsigned long long)k,
				      (unsigned long long)n->lo, (unsigned long long)n->hi);
			break;
		}
	}
	if (!n->is_leaf)
		return 0;
	if (c->leaf_depth < 0) {
		c->leaf_depth = n->depth;
	} else if (c->leaf_depth != (int)n->depth) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "%s tree: leaf %llu at depth %u, other leaves at depth %d",
			      tn, (unsigned long long)b, n->depth, c->leaf_depth);
	}
	vsize = c->kind == T_DETAILS ? sizeof(struct vd_disk_details) :
		c->kind == T_NAMES ? sizeof(struct vd_disk_name) :
		c->kind == T_SM_INDEX ? sizeof(struct vd_sm_index_entry) :
		c->kind == T_VDISKS || c->kind == T_PENDING ? sizeof(struct vd_block_ref) :
		sizeof(__le64);
	if (n->value_size != vsize) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "%s tree: leaf %llu has %u-byte values, expected %u",
			      tn, (unsigned long long)b, n->value_size, vsize);
		return 0;
	}
	for (i = 0; i < n->nr_entries; i++) {
		const u8 *val = (const u8 *)n->values + (size_t)i * vsize;
		u64 k = le64_to_cpu(n->keys[i]);
		u64 v = vsize == 8 ? le64_to_cpu(*(const __le64 *)val) : 0;

		switch (c->kind) {
		case T_SM_OVERFLOW:
			break;
		case T_SM_INDEX:
			c->bitmaps = grow(c->bitmaps, &c->bitmaps_alloc, c->nr_bitmaps,
					  sizeof(*c->bitmaps));
			if (!c->bitmaps)
				return -ENOMEM;
			c->bitmaps[c->nr_bitmaps++] =
				vd_ref_load(&((const struct vd_sm_index_entry *)val)->bitmap);
			break;
		case T_MAPPING:
			check_mapping_value(c, k, v, b);
			break;
		case T_VDISKS:
		case T_PENDING:
			r = add_root(c, k, vd_ref_load((const void *)val), c->kind == T_PENDING);
			if (r)
				return r;
			break;
		case T_NAMES:
			if (!c->collect)
				break;
			c->names = grow(c->names, &c->names_alloc, c->nr_names,
					sizeof(*c->names));
			if (!c->names)
				return -ENOMEM;
			c->names[c->nr_names].id = k;
			memcpy(&c->names[c->nr_names].n, val, sizeof(struct vd_disk_name));
			c->nr_names++;
			break;
		case T_DETAILS:
			if (!c->collect)
				break;
			c->details = grow(c->details, &c->details_alloc, c->nr_details,
					  sizeof(*c->details));
			if (!c->details)
				return -ENOMEM;
			c->details[c->nr_details].id = k;
			memcpy(&c->details[c->nr_details].d, val, sizeof(struct vd_disk_details));
			c->nr_details++;
			break;
		}
	}
	return 0;
}

/*
 * A tree walk failed: find the nodes that are stale (valid checksum, magic and
 * location, but a header transaction other than the one their reference
 * names, i.e. an older version left by a lost write) and report each one with
 * its block, tree, expected and found transaction.  Reads bypass the
 * transaction check (the validator still checks checksum, magic, location
 * and node structure) and descend only through nodes that are current.
 * Returns the number of stale nodes found below @ref.
 */
static u64 find_stale(struct checker *c, enum tree_kind kind, struct vd_ref ref,
		      unsigned int depth)
{
	struct vd_btree_node_header *n;
	struct vd_block *b;
	u64 found = 0, txn;
	u32 i;

	if (depth >= VD_BTREE_MAX_DEPTH || ref.nr < VD_SUPERBLOCK_NR_SLOTS || ref.nr >= c->nr_meta)
		return 0;
	if (vd_bm_read_lock(c->bm, ref.nr, &vd_btree_node_validator, &b))
		return 0;	/* damaged, not stale: the walk's log names it */
	n = vd_node(b);
	txn = le64_to_cpu(n->hdr.txn);
	if (txn != ref.txn) {
		if (!c->stale_seen[ref.nr]) {
			c->stale_seen[ref.nr] = 1;
			vd_chk_report(c, VD_CHECK_ERROR,
				      "%s tree: stale node at block %llu: written by transaction %llu, its reference expects transaction %llu (%s)",
				      tree_names[kind], (unsigned long long)ref.nr,
				      (unsigned long long)txn, (unsigned long long)ref.txn,
				      txn < ref.txn ? "an older version: lost write" :
				      "newer than its reference: misdirected write");
		}
		vd_bm_unlock(b);
		return 1;
	}
	if (!vd_node_is_leaf(n))
		for (i = 0; i < vd_node_nr(n); i++)
			found += find_stale(c, kind, vd_node_child(n, i), depth + 1);
	vd_bm_unlock(b);
	return found;
}

/*
 * Every node is read through its parent's (or the superblock's) reference, so
 * a node whose header transaction differs from the reference (a stale block
 * left by a lost write) makes the tree unreadable: reported as damage, and
 * the log names the block, the expected and the found transaction.
 */
static void walk(struct checker *c, enum tree_kind kind, struct vd_ref ref, u64 owner)
{
	struct vd_btree_info info = { .tm = c->tm };
	vd_blk_t root = ref.nr;
	int r;

	vd_btree_vt_plain(&info.vt, kind == T_DETAILS ? sizeof(struct vd_disk_details) :
			  kind == T_NAMES ? sizeof(struct vd_disk_name) :
			  kind == T_SM_INDEX ? sizeof(struct vd_sm_index_entry) :
			  kind == T_VDISKS || kind == T_PENDING ? sizeof(struct vd_block_ref) : 8);
	c->kind = kind;
	c->leaf_depth = -1;
	c->owner = owner;
	if (root < VD_SUPERBLOCK_NR_SLOTS || root >= c->nr_meta) {
		vd_chk_report(c, VD_CHECK_ERROR, "%s tree root %llu is outside the metadata area",
			      tree_names[kind], (unsigned long long)root);
		c->walk_failed = true;
		return;
	}
	r = vd_btree_walk(&info, ref, visit_node, c);
	if (r == -ENOMEM) {
		c->walk_failed = true;
		vd_chk_report(c, VD_CHECK_ERROR,
			      "out of memory while walking the %s tree",
			      tree_names[kind]);
	} else if (r < 0) {
		const char *why;

		c->walk_failed = true;
		why = find_stale(c, kind, ref, 0) ? "stale node (reported above)" :
			"damaged block (see the log for the block)";
		if (kind == T_MAPPING && owner != U64_MAX)
			vd_chk_report(c, VD_CHECK_ERROR,
				      "mapping tree of vdisk %llu (root %llu) is unreadable: %s, error %d",
				      (unsigned long long)owner, (unsigned long long)root, why, r);
		else
			vd_chk_report(c, VD_CHECK_ERROR,
				      "%s tree (root %llu) is unreadable: %s, error %d",
				      tree_names[kind], (unsigned long long)root, why, r);
	}
}

/* Walk one image's trees; @collect: this is the image whose details we check. */
static int walk_image(struct checker *c, const struct vd_block_ref *tree_roots, bool collect)
{
	u64 first = c->nr_roots, i;

	c->collect = collect;
	walk(c, T_VDISKS, vd_ref_load(&tree_roots[VD_ROOT_VDISKS]), U64_MAX);
	walk(c, T_DETAILS, vd_ref_load(&tree_roots[VD_ROOT_DETAILS]), U64_MAX);
	walk(c, T_PENDING, vd_ref_load(&tree_roots[VD_ROOT_PENDING_DELETE]), U64_MAX);
	/* Optional: 0 until the first name is set. */
	if (le64_to_cpu(tree_roots[VD_ROOT_NAME_MAP].blocknr))
		walk(c, T_NAMES, vd_ref_load(&tree_roots[VD_ROOT_NAME_MAP]), U64_MAX);
	c->collect = false;
	for (i = first; i < c->nr_roots; i++)
		walk(c, T_MAPPING, c->roots[i].root,
		     c->roots[i].pending ? U64_MAX : c->roots[i].key);
	if (!collect)
		c->nr_roots = first;
	return 0;
}

struct cmp_ctx {
	struct checker *c;
	u32 *expect;
	const char *what;
	u64 nr_nonzero;
	u64 limit;
};

static int compare_count(void *context, vd_blk_t b, u32 count)
{
	struct cmp_ctx *x = context;
	struct checker *c = x->c;

	x->nr_nonzero++;
	if (b >= x->limit)
		return 0;
	if (count != x->expect[b]) {
		if (!x->expect[b]) {
			c->rep->nr_leaked++;
			vd_chk_report(c, VD_CHECK_ERROR,
				      "%s block %llu: space map count %u but nothing references it (leak)",
				      x->what, (unsigned long long)b, count);
		} else {
			c->rep->nr_bad_counts++;
			vd_chk_report(c, VD_CHECK_ERROR,
				      "%s block %llu: space map count %u, referenced %u times",
				      x->what, (unsigned long long)b, count, x->expect[b]);
		}
	}
	x->expect[b] = 0;
	return 0;
}

static void compare_sm(struct checker *c, struct vd_space_map *sm, u32 *expect, u64 nr,
		       const char *what, u64 *used)
{
	struct cmp_ctx x = { .c = c, .expect = expect, .what = what, .limit = nr };
	vd_blk_t nr_free;
	u64 b;
	int r;

	for (b = 0; b < nr; b++)
		*used += !!expect[b];
	r = vd_sm_iterate_counts(sm, 0, nr, compare_count, &x);
	if (r) {
		vd_chk_report(c, VD_CHECK_ERROR, "%s space map is unreadable (error %d)", what, r);
		return;
	}
	for (b = 0; b < nr; b++) {
		if (!expect[b])
			continue;
		c->rep->nr_bad_counts++;
		vd_chk_report(c, VD_CHECK_ERROR,
			      "%s block %llu is referenced %u times but free in the space map (it could be reused: double use)",
			      what, (unsigned long long)b, expect[b]);
	}
	if (!vd_sm_get_nr_free(sm, &nr_free) && nr_free != nr - x.nr_nonzero)
		vd_chk_report(c, VD_CHECK_ERROR,
			      "%s space map: free count %llu, counted %llu free blocks",
			      what, (unsigned long long)nr_free,
			      (unsigned long long)(nr - x.nr_nonzero));
}

/*
 * Commits alternate between the slots, so two valid slots hold consecutive
 * commits.  Anything else means a superblock write was lost (the older slot
 * is stale): the newest slot is still consistent, but report the damage.
 */
static void check_other_slot(struct checker *c)
{
	vd_blk_t other = VD_SUPERBLOCK_SLOT(c->seq + 1);
	u64 expect = le64_to_cpu(c->sb.prev_commit_seq) ?: c->seq - 1;
	const struct vd_superblock *o;
	struct vd_block *b;
	u64 oseq;

	if (vd_bm_read_lock(c->bm, other, &vd_superblock_validator, &b))
		return;
	o = vd_block_data(b);
	oseq = le64_to_cpu(o->commit_seq);
	vd_bm_unlock(b);
	if (oseq != expect)
		vd_chk_report(c, VD_CHECK_ERROR,
			      "superblock slot %llu is stale: it holds commit %llu, expected %llu (a lost superblock write); using commit %llu",
			      (unsigned long long)other, (unsigned long long)oseq,
			      (unsigned long long)expect, (unsigned long long)c->seq);
}

/* A space map could not be opened: name its stale tree nodes, if any. */
static void find_sm_stale(struct checker *c, const struct vd_sm_root *root)
{
	find_stale(c, T_SM_INDEX, vd_ref_load(&root->index_root), 0);
	if (le64_to_cpu(root->overflow_root.blocknr))
		find_stale(c, T_SM_OVERFLOW, vd_ref_load(&root->overflow_root), 0);
}

static int setup(struct checker *c, unsigned int flags)
{
	struct vd_check_report *rep = c->rep;
	vd_blk_t n;
	bool ro;
	int r;

	r = vd_pool_read_superblock(c->bm, &c->sb, &rep->slot_ok);
	if (r) {
		vd_chk_report(c, VD_CHECK_ERROR, "no valid superblock in block 0 or 1");
		return r;
	}
	c->seq = le64_to_cpu(c->sb.commit_seq);
	rep->commit_seq = c->seq;
	if (rep->slot_ok != 3)
		vd_chk_report(c, VD_CHECK_WARNING,
			      "superblock slot %u is invalid (normal after a fresh format or an interrupted commit); using commit %llu in slot %u",
			      rep->slot_ok & 1 ? 1 : 0, (unsigned long long)c->seq,
			      (unsigned int)VD_SUPERBLOCK_SLOT(c->seq));
	if (rep->slot_ok == 3)
		check_other_slot(c);
	r = vd_pool_check_features(&c->sb, &ro);
	if (r) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "superblock: unsupported version or features (see the log)");
		return r;
	}
	c->nr_meta = le64_to_cpu(c->sb.nr_metadata_blocks);
	c->nr_data = le64_to_cpu(c->sb.nr_data_blocks);
	if (c->nr_meta > vd_bm_nr_blocks(c->bm) || c->nr_meta <= VD_SUPERBLOCK_NR_SLOTS ||
	    !c->nr_data || c->nr_data > VD_MAP_BLOCK_MASK + 1) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "superblock: %llu metadata blocks (device has %llu), %llu data blocks: inconsistent",
			      (unsigned long long)c->nr_meta,
			      (unsigned long long)vd_bm_nr_blocks(c->bm),
			      (unsigned long long)c->nr_data);
		return -EILSEQ;
	}
	rep->nr_metadata_blocks = c->nr_meta;
	rep->nr_data_blocks = c->nr_data;
	c->mcount = kvcalloc(c->nr_meta, sizeof(u32), GFP_KERNEL);
	c->dcount = kvcalloc(c->nr_data, sizeof(u32), GFP_KERNEL);
	if (!c->mcount || !c->dcount)
		return -ENOMEM;
	c->stale_seen = kvcalloc(c->nr_meta, 1, GFP_KERNEL);
	if (!c->stale_seen)
		return -ENOMEM;
	r = vd_tm_open_with_sm(c->bm, &c->sb.sm_roots[VD_SM_METADATA], c->seq, &c->tm, &c->msm);
	if (r) {
		c->tm = NULL;
		find_sm_stale(c, &c->sb.sm_roots[VD_SM_METADATA]);
		vd_chk_report(c, VD_CHECK_ERROR,
			      "metadata space map (root %llu) is unreadable (error %d)",
			      (unsigned long long)
			      le64_to_cpu(c->sb.sm_roots[VD_SM_METADATA].index_root.blocknr),
			      r);
		return r;
	}
	r = vd_sm_data_open(c->tm, &c->sb.sm_roots[VD_SM_DATA], &c->dsm);
	if (r) {
		c->dsm = NULL;
		find_sm_stale(c, &c->sb.sm_roots[VD_SM_DATA]);
		vd_chk_report(c, VD_CHECK_ERROR,
			      "data space map (root %llu) is unreadable (error %d)",
			      (unsigned long long)
			      le64_to_cpu(c->sb.sm_roots[VD_SM_DATA].index_root.blocknr), r);
		return r;
	}
	if (!vd_sm_get_nr_blocks(c->dsm, &n) && n != c->nr_data)
		vd_chk_report(c, VD_CHECK_ERROR,
			      "data space map tracks %llu blocks, superblock says %llu",
			      (unsigned long long)n, (unsigned long long)c->nr_data);
	if (!vd_sm_get_nr_blocks(c->msm, &n) && n != c->nr_meta)
		vd_chk_report(c, VD_CHECK_ERROR,
			      "metadata space map tracks %llu blocks, superblock says %llu",
			      (unsigned long long)n, (unsigned long long)c->nr_meta);
	if (flags & VD_CHECK_USE_METADATA_SNAP && !le64_to_cpu(c->sb.held_root.blocknr)) {
		vd_chk_report(c, VD_CHECK_ERROR, "no metadata snapshot is held");
		return -ENODATA;
	}
	return 0;
}

/* Headers of the space maps' own blocks (counted by vd_sm_walk_metadata()). */
static void check_sm_blocks(struct checker *c, const struct vd_sm_root *root, const char *what)
{
	struct vd_block *b;
	u64 i;

	c->no_count = true;
	c->nr_bitmaps = 0;
	walk(c, T_SM_INDEX, vd_ref_load(&root->index_root), U64_MAX);
	if (le64_to_cpu(root->overflow_root.blocknr))
		walk(c, T_SM_OVERFLOW, vd_ref_load(&root->overflow_root), U64_MAX);
	c->no_count = false;
	for (i = 0; i < c->nr_bitmaps; i++) {
		vd_blk_t nr = c->bitmaps[i].nr;
		const struct vd_block_header *h;

		if (nr < VD_SUPERBLOCK_NR_SLOTS || nr >= c->nr_meta ||
		    vd_bm_read_lock(c->bm, nr, &vd_sm_bitmap_validator, &b)) {
			vd_chk_report(c, VD_CHECK_ERROR,
				      "%s space map: bitmap block %llu is unreadable",
				      what, (unsigned long long)nr);
			c->walk_failed = true;
			continue;
		}
		h = vd_block_data(b);
		if (le64_to_cpu(h->txn) != c->bitmaps[i].txn) {
			vd_chk_report(c, VD_CHECK_ERROR,
				      "%s space map: bitmap block %llu is stale: written by transaction %llu, its index entry expects %llu",
				      what, (unsigned long long)nr,
				      (unsigned long long)le64_to_cpu(h->txn),
				      (unsigned long long)c->bitmaps[i].txn);
			c->walk_failed = true;
		} else if (le64_to_cpu(h->txn) > c->seq)
			vd_chk_report(c, VD_CHECK_ERROR,
				      "%s space map: bitmap block %llu was written by transaction %llu, after the last commit %llu",
				      what, (unsigned long long)nr,
				      (unsigned long long)le64_to_cpu(h->txn),
				      (unsigned long long)c->seq);
		vd_tm_unlock(c->tm, b);
	}
}

/* The held metadata snapshot could not be read through its reference: why? */
static void report_held(struct checker *c, struct vd_ref ref)
{
	struct vd_block *b;
	u64 txn;

	if (ref.nr < VD_SUPERBLOCK_NR_SLOTS || ref.nr >= c->nr_meta ||
	    vd_bm_read_lock(c->bm, ref.nr, &vd_superblock_validator, &b)) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "metadata snapshot at block %llu is unreadable: damaged block (see the log)",
			      (unsigned long long)ref.nr);
		return;
	}
	txn = le64_to_cpu(((const struct vd_block_header *)vd_block_data(b))->txn);
	vd_bm_unlock(b);
	vd_chk_report(c, VD_CHECK_ERROR,
		      "metadata snapshot: stale block %llu: written by transaction %llu, the superblock's reference expects transaction %llu (lost or misdirected write)",
		      (unsigned long long)ref.nr, (unsigned long long)txn,
		      (unsigned long long)ref.txn);
}

int vd_check(struct vd_block_manager *bm, unsigned int flags, struct vd_check_report *rep)
{
	struct checker *c = kzalloc(sizeof(*c), GFP_KERNEL);
	struct vd_block_ref held_roots[VD_NR_TREE_ROOTS];
	struct vd_ref held_ref;
	struct vd_block *b;
	vd_blk_t held;
	unsigned int s;
	int r;

	if (!c)
		return -ENOMEM;
	c->rep = rep;
	c->bm = bm;
	r = setup(c, flags);
	if (r)
		goto out;
	/* The superblock slots are always allocated. */
	for (s = 0; s < VD_SUPERBLOCK_NR_SLOTS; s++)
		c->mcount[s] = 1;
	r = vd_sm_walk_metadata(c->msm, count_meta, c);
	if (!r)
		r = vd_sm_walk_metadata(c->dsm, count_meta, c);
	if (r) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "space map structures are unreadable (error %d)", r);
		c->walk_failed = true;
	}
	check_sm_blocks(c, &c->sb.sm_roots[VD_SM_METADATA], "metadata");
	check_sm_blocks(c, &c->sb.sm_roots[VD_SM_DATA], "data");
	held_ref = vd_ref_load(&c->sb.held_root);
	held = held_ref.nr;
	if (held) {
		if (held < VD_SUPERBLOCK_NR_SLOTS || held >= c->nr_meta ||
		    vd_tm_read_lock(c->tm, held_ref, &vd_superblock_validator, &b)) {
			report_held(c, held_ref);
			c->walk_failed = true;
			held = 0;
		} else {
			const struct vd_superblock *h = vd_block_data(b);

			memcpy(held_roots, h->tree_roots, sizeof(held_roots));
			if (le64_to_cpu(h->hdr.txn) > c->seq)
				vd_chk_report(c, VD_CHECK_ERROR,
					      "metadata snapshot block %llu was written after the last commit",
					      (unsigned long long)held);
			vd_tm_unlock(c->tm, b);
			c->mcount[held]++;
		}
	}
	if (flags & VD_CHECK_USE_METADATA_SNAP) {
		if (held) {
			walk_image(c, held_roots, true);
			vd_chk_details(c);
			vd_chk_names(c, held_roots);
		}
		r = 0;
		goto out;
	}
	/* Live image first: it collects the roots and details it checks. */
	r = walk_image(c, c->sb.tree_roots, true);
	if (r)
		goto out;
	if (held)
		walk_image(c, held_roots, false);
	vd_chk_details(c);
	vd_chk_names(c, c->sb.tree_roots);
	if (c->walk_failed) {
		vd_chk_report(c, VD_CHECK_WARNING,
			      "reference counts not compared: some metadata is unreadable");
	} else {
		compare_sm(c, c->msm, c->mcount, c->nr_meta, "metadata", &rep->nr_metadata_used);
		compare_sm(c, c->dsm, c->dcount, c->nr_data, "data", &rep->nr_data_used);
		rep->counts_compared = true;
	}
out:
	if (c->dsm)
		vd_sm_destroy(c->dsm);
	if (c->tm)
		vd_tm_destroy(c->tm);
	kvfree(c->mcount);
	kvfree(c->dcount);
	kvfree(c->roots);
	kvfree(c->details);
	kvfree(c->names);
	kvfree(c->bitmaps);
	kvfree(c->stale_seen);
	kfree(c);
	if (r == -ENOMEM)
		return r;
	return 0;
}
