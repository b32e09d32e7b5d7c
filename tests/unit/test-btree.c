// SPDX-License-Identifier: GPL-2.0
/*
 * B+tree behaviour the model test does not pin down: node fill and metadata
 * cost, O(1) clone, path-only copy on first write after a clone, range
 * removal that does not visit shared subtrees, bounded incremental
 * deletion, and refusal of corrupt nodes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdata-fixture.h"
#include "tap.h"

#define BS VD_METADATA_BLOCK_SIZE

struct counting_vt {
	struct vd_space_map *dsm;
	u64 nr_inc, nr_dec;
};

static int c_inc(void *context, const void *value)
{
	struct counting_vt *c = context;

	c->nr_inc++;
	return vd_sm_inc(c->dsm, VD_MAP_BLOCK(le64_to_cpu(*(const __le64 *)value)));
}

static int c_dec(void *context, const void *value)
{
	struct counting_vt *c = context;

	c->nr_dec++;
	return vd_sm_dec(c->dsm, VD_MAP_BLOCK(le64_to_cpu(*(const __le64 *)value)));
}

static struct counting_vt CV;

static void info_init(struct vd_btree_info *info, struct pfx *f)
{
	CV.dsm = f->dsm;
	info->tm = f->tm;
	info->vt.context = &CV;
	info->vt.size = sizeof(__le64);
	info->vt.inc = c_inc;
	info->vt.dec = c_dec;
	info->vt.dec_many = NULL;
	info->vt.equal = NULL;
}

static int put(struct vd_btree_info *info, struct pfx *f, struct vd_ref *root, u64 key)
{
	vd_blk_t d;
	__le64 v;

	CHECK_R(vd_sm_new_block(f->dsm, &d));
	v = cpu_to_le64(VD_MAP_PACK(d, 0, 0));
	CHECK_R(vd_btree_insert(info, *root, key, &v, root, NULL));
	return 0;
}

struct shape {
	u64 leaves, internal, entries, leaf_capacity;
	unsigned int depth;
};

static int shape_fn(void *context, const struct vd_btree_walk_node *n)
{
	struct shape *s = context;

	if (n->is_leaf) {
		s->leaves++;
		s->entries += n->nr_entries;
		s->leaf_capacity += n->max_entries;
		if (n->depth + 1 > s->depth)
			s->depth = n->depth + 1;
	} else {
		s->internal++;
	}
	return 0;
}

static int used_bytes(struct pfx *f, u64 *meta_bytes)
{
	vd_blk_t nr, nfree;

	vd_sm_get_nr_blocks(f->msm, &nr);
	vd_sm_get_nr_free(f->msm, &nfree);
	*meta_bytes = (nr - nfree) * (u64)BS;
	return 0;
}

/* Sequential and random fill: node fill and metadata bytes per mapping. */
static int t_fill(int random_order)
{
	const u64 n = 200000;
	struct vd_btree_info info;
	struct shape s = { 0 };
	struct pfx f;
	struct vd_ref root;
	u64 i, bytes, base, k;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(8192, NULL), n, 1024));
	info_init(&info, &f);
	used_bytes(&f, &base);
	CHECK_R(vd_btree_empty(&info, &root));
	for (i = 0; i < n; i++) {
		/* A bijection of [0, n) for the random order (n is even, 7 is odd). */
		k = random_order ? (i * 7919 + 13) % n : i;
		if (put(&info, &f, &root, k))
			return -1;
		if (i % 20000 == 19999)
			CHECK_R(pfx_commit(&f));
	}
	CHECK_R(pfx_commit(&f));
	CHECK_R(vd_btree_walk(&info, root, shape_fn, &s));
	used_bytes(&f, &bytes);
	CHECK(s.entries == n);
	printf("# %s fill of %llu mappings: %llu leaves %.1f%% full, %llu internal, depth %u\n",
	       random_order ? "random" : "sequential", (unsigned long long)n,
	       (unsigned long long)s.leaves, 100.0 * s.entries / s.leaf_capacity,
	       (unsigned long long)s.internal, s.depth);
	printf("# metadata bytes per mapping (tree + both space maps, beyond the empty pool): %.2f = %.3f%% of 4 KiB\n",
	       (double)(bytes - base) / n, 100.0 * (bytes - base) / n / 4096);
	if (!random_order) {
		/* Appends keep leaves nearly full: under 0.5% metadata per 4 KiB block. */
		CHECK(s.entries * 100 >= s.leaf_capacity * 98);
		CHECK((bytes - base) * 1000 < n * 4096 * 5);
	} else {
		CHECK(s.entries * 100 >= s.leaf_capacity * 50);
	}
	pfx_destroy(&f);
	return 0;
}

struct set_ctx {
	vd_blk_t *blocks;
	size_t n;
};

static int collect(void *context, const struct vd_btree_walk_node *node)
{
	struct set_ctx *c = context;

	c->blocks[c->n++] = node->blocknr;
	return 0;
}

/* Clone is O(1); the first overwrite copies exactly the root-to-leaf path. */
static int t_clone(void)
{
	struct vd_btree_info info;
	struct vd_tm_stats st;
	struct set_ctx a = { 0 }, b = { 0 };
	struct shape s = { 0 };
	struct pfx f;
	struct vd_ref origin, snap;
	vd_blk_t d;
	u64 writes_before, i;
	size_t x, y, unshared = 0;
	__le64 v;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(8192, NULL), 300000, 1024));
	info_init(&info, &f);
	CHECK_R(vd_btree_empty(&info, &origin));
	for (i = 0; i < 100000; i++)
		if (put(&info, &f, &origin, i))
			return -1;
	CHECK_R(pfx_commit(&f));
	CHECK_R(vd_btree_walk(&info, origin, shape_fn, &s));

	writes_before = f.bm->nr_writes;
	CHECK_R(vd_btree_clone(&info, origin));
	snap = origin;
	vd_tm_get_stats(f.tm, &st);
	/* No tree node is touched; only the space map bitmap holding the count. */
	printf("# clone: %llu new blocks, %llu block copies (space map bitmap)\n",
	       (unsigned long long)st.nr_new, (unsigned long long)st.nr_shadow_copies);
	CHECK(st.nr_new == 0 && st.nr_shadow_copies <= 2);
	CHECK_R(pfx_commit(&f));
	/* Clone + commit: one bitmap copy for the count, index, superblock. */
	printf("# clone of a %llu-entry tree: %llu metadata blocks written (incl. commit)\n",
	       (unsigned long long)s.entries, (unsigned long long)(f.bm->nr_writes - writes_before));
	CHECK(f.bm->nr_writes - writes_before <= 8);

	CV.nr_inc = 0;
	CHECK_R(vd_sm_new_block(f.dsm, &d));
	v = cpu_to_le64(VD_MAP_PACK(d, 0, 0));
	CHECK_R(vd_btree_insert(&info, snap, 54321, &v, &snap, NULL));
	vd_tm_get_stats(f.tm, &st);
	a.blocks = calloc(4096, sizeof(vd_blk_t));
	b.blocks = calloc(4096, sizeof(vd_blk_t));
	CHECK(a.blocks && b.blocks);
	CHECK_R(vd_btree_walk(&info, origin, collect, &a));
	CHECK_R(vd_btree_walk(&info, snap, collect, &b));
	for (y = 0; y < b.n; y++) {
		for (x = 0; x < a.n && a.blocks[x] != b.blocks[y]; x++)
			;
		unshared += x == a.n;
	}
	printf("# first overwrite after clone: %zu tree nodes copied (depth %u), %llu block copies in all (incl. space map bitmaps), %llu value refs taken\n",
	       unshared, s.depth, (unsigned long long)st.nr_shadow_copies,
	       (unsigned long long)CV.nr_inc);
	CHECK(unshared == s.depth);
	/* Only the copied leaf's values gained a reference. */
	CHECK(CV.nr_inc < VD_BTREE_MAX_ENTRIES(8));
	CHECK(!pfx_audit(&f, (struct vd_ref[]){ origin, snap }, 2, NULL, NULL, 0));
	free(a.blocks);
	free(b.blocks);
	pfx_destroy(&f);
	return 0;
}

/* Range removal on a clone drops shared subtrees without visiting them. */
static int t_range_shared(void)
{
	struct vd_btree_info info;
	struct pfx f;
	struct vd_ref origin, snap;
	u64 i, removed, count;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(8192, NULL), 200000, 1024));
	info_init(&info, &f);
	CHECK_R(vd_btree_empty(&info, &origin));
	for (i = 0; i < 100000; i++)
		if (put(&info, &f, &origin, i))
			return -1;
	CHECK_R(vd_btree_clone(&info, origin));
	snap = origin;
	CHECK_R(pfx_commit(&f));
	CV.nr_dec = 0;
	CV.nr_inc = 0;
	CHECK_R(vd_btree_remove_range(&info, snap, 1000, 99000, &snap, NULL));
	printf("# remove_range of 98000 shared entries: %llu value decrements, %llu increments\n",
	       (unsigned long long)CV.nr_dec, (unsigned long long)CV.nr_inc);
	/* Only the two boundary leaves are copied and edited. */
	CHECK(CV.nr_dec <= 2 * VD_BTREE_MAX_ENTRIES(8));
	CHECK_R(vd_btree_count(&info, snap, &count));
	CHECK(count == 2000);
	CHECK_R(vd_btree_count(&info, origin, &count));
	CHECK(count == 100000);
	/* With a count requested, the answer is exact. */
	CHECK_R(vd_btree_remove_range(&info, origin, 500, 1500, &origin, &removed));
	CHECK(removed == 1000);
	CHECK_R(pfx_commit(&f));
	CHECK(!pfx_audit(&f, (struct vd_ref[]){ origin, snap }, 2, NULL, NULL, 0));
	pfx_destroy(&f);
	return 0;
}

/* Incremental deletion: bounded steps, valid between commits, nothing leaks. */
static int t_del_step(void)
{
	struct vd_btree_info info;
	struct pfx f;
	vd_blk_t nfree0, nfree, dfree;
	struct vd_ref root;
	u64 i, steps = 0, max_dec = 0, dec0;
	int done = 0;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(8192, NULL), 100000, 1024));
	info_init(&info, &f);
	vd_sm_get_nr_free(f.msm, &nfree0);
	CHECK_R(vd_btree_empty(&info, &root));
	for (i = 0; i < 100000; i++)
		if (put(&info, &f, &root, i * 3))
			return -1;
	CHECK_R(pfx_commit(&f));
	while (!done) {
		dec0 = CV.nr_dec;
		CHECK_R(vd_btree_del_step(&info, root, 4, NULL, &root, &done));
		if (CV.nr_dec - dec0 > max_dec)
			max_dec = CV.nr_dec - dec0;
		f.roots[0] = done ? (struct vd_ref) { 0, 0 } : root;
		steps++;
		if (steps % 16 == 0 || done) {
			CHECK_R(pfx_commit(&f));
			CHECK(!pfx_audit(&f, done ? NULL : &root, done ? 0 : 1, NULL, NULL, 0));
		}
		CHECK(steps < 10000);
	}
	printf("# deleted 100000 entries in %llu steps of budget 4 (max %llu values per step)\n",
	       (unsigned long long)steps, (unsigned long long)max_dec);
	/* At most budget leaves' worth of values per step. */
	CHECK(max_dec <= 4 * VD_BTREE_MAX_ENTRIES(8));
	CHECK_R(pfx_commit(&f));
	vd_sm_get_nr_free(f.msm, &nfree);
	vd_sm_get_nr_free(f.dsm, &dfree);
	CHECK(dfree == 100000);
	/* Space maps' own structures may have moved but not grown much. */
	CHECK(nfree + 8 >= nfree0);
	pfx_destroy(&f);
	return 0;
}

static int t_edges(void)
{
	struct vd_btree_info info;
	struct pfx f;
	struct vd_ref root, r2;
	u64 k;
	__le64 v;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(1024, NULL), 1000, 256));
	info_init(&info, &f);
	CHECK_R(vd_btree_empty(&info, &root));
	CHECK(vd_btree_lookup(&info, root, 0, &v) == -ENODATA);
	CHECK(vd_btree_lookup_next(&info, root, 0, &k, &v) == -ENODATA);
	CHECK(vd_btree_lookup_prev(&info, root, U64_MAX, &k, &v) == -ENODATA);
	CHECK(vd_btree_remove(&info, root, 5, &r2) == -ENODATA);
	CHECK(!put(&info, &f, &root, U64_MAX));
	CHECK(!put(&info, &f, &root, 0));
	CHECK_R(vd_btree_lookup_prev(&info, root, U64_MAX - 1, &k, &v));
	CHECK(k == 0);
	CHECK_R(vd_btree_lookup_next(&info, root, 1, &k, &v));
	CHECK(k == U64_MAX);
	CHECK_R(vd_btree_remove(&info, root, U64_MAX, &root));
	CHECK_R(vd_btree_remove(&info, root, 0, &root));
	CHECK_R(vd_btree_count(&info, root, &k));
	CHECK(k == 0);
	/* A tree of another value size is refused, not misread. */
	{
		struct vd_btree_info other = info;

		other.vt.size = 16;
		kshim_verbose = -1;
		CHECK(vd_btree_lookup(&other, root, 0, &v) == -EILSEQ);
		kshim_verbose = 0;
	}
	pfx_destroy(&f);
	return 0;
}

/*
 * Batch inserts: one descent fills the leaf of the first key (an empty root
 * leaf takes as many keys as it holds), a sequential fill in batches leaves
 * the same full leaves as key-by-key appends, a batch of overwrites reports
 * no new key and drops every old value's reference, and a batch that is not
 * strictly increasing is refused with nothing changed.
 */
static int t_batch(void)
{
	const u32 n = 100000, batch = 32;
	static u64 keys[600];
	static __le64 vals[600];
	static u8 inserted[600];
	struct vd_btree_info info;
	struct shape s = { 0 };
	struct vd_ref root, before;
	struct pfx f;
	vd_blk_t d;
	u64 dec0;
	u32 i, j, done;
	__le64 v;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(8192, NULL), 2 * n + 1200, 1024));
	info_init(&info, &f);
	CHECK_R(vd_btree_empty(&info, &root));
	for (i = 0; i < 600; i++) {
		CHECK_R(vd_sm_new_block(f.dsm, &d));
		keys[i] = 1000 + 3 * i;
		vals[i] = cpu_to_le64(VD_MAP_PACK(d, 0, 0));
	}
	CHECK_R(vd_btree_insert_many(&info, root, keys, vals, 600, &root, &done, inserted));
	CHECK_R(vd_btree_walk(&info, root, shape_fn, &s));
	CHECK(s.leaves == 1 && done == s.leaf_capacity && s.entries == done);
	CHECK_R(vd_btree_insert_sorted(&info, root, keys + done, vals + done, 600 - done, &root,
				       inserted + done));
	for (i = 0; i < 600; i++) {
		CHECK(inserted[i] == 1);
		CHECK_R(vd_btree_lookup(&info, root, keys[i], &v));
		CHECK(v == vals[i]);
		CHECK(vd_btree_lookup(&info, root, keys[i] + 1, &v) == -ENODATA);
	}

	/* Overwrite all 600 plus new keys between them, in one sorted batch. */
	for (i = 0; i < 600; i++) {
		CHECK_R(vd_sm_new_block(f.dsm, &d));
		keys[i] = 1000 + (i / 2) * 3 + (i % 2);	/* k, k+1 for every old k */
		vals[i] = cpu_to_le64(VD_MAP_PACK(d, 0, 0));
	}
	dec0 = CV.nr_dec;
	CHECK_R(vd_btree_insert_sorted(&info, root, keys, vals, 600, &root, inserted));
	for (i = 0; i < 600; i++)
		CHECK(inserted[i] == (i % 2));
	CHECK(CV.nr_dec - dec0 == 300);

	/* Out of order, or a key twice: -EINVAL, the tree is untouched. */
	before = root;
	keys[5] = keys[4];
	CHECK(vd_btree_insert_sorted(&info, root, keys, vals, 600, &root, inserted) == -EINVAL);
	CHECK(vd_btree_insert_many(&info, root, keys, vals, 0, &root, &done, NULL) == -EINVAL);
	CHECK(!memcmp(&before, &root, sizeof(root)));
	CHECK_R(vd_btree_count(&info, root, &dec0));
	CHECK(dec0 == 900);
	CHECK_R(vd_btree_del(&info, root));

	/* Sequential fill in batches of 32: leaves as full as appends leave them. */
	CHECK_R(vd_btree_empty(&info, &root));
	for (i = 0; i < n; i += batch) {
		for (j = 0; j < batch; j++) {
			CHECK_R(vd_sm_new_block(f.dsm, &d));
			keys[j] = i + j;
			vals[j] = cpu_to_le64(VD_MAP_PACK(d, 0, 0));
		}
		CHECK_R(vd_btree_insert_sorted(&info, root, keys, vals, batch, &root, NULL));
	}
	memset(&s, 0, sizeof(s));
	CHECK_R(vd_btree_walk(&info, root, shape_fn, &s));
	printf("# batched sequential fill of %u: %llu leaves %.1f%% full, depth %u\n", n,
	       (unsigned long long)s.leaves, 100.0 * s.entries / s.leaf_capacity, s.depth);
	CHECK(s.entries == n && s.entries * 100 >= s.leaf_capacity * 98);
	CHECK_R(pfx_commit(&f));
	pfx_destroy(&f);
	return 0;
}

static int iter_nop(void *context, u64 key, const void *value)
{
	return 0;
}

/* Corrupt a leaf on disk in two ways: lookups fail loudly, never answer wrong. */
static int t_corrupt(void)
{
	struct vd_btree_info info;
	struct set_ctx c = { 0 };
	struct pfx f;
	struct vd_ref root;
	vd_blk_t leaf;
	unsigned char buf[BS];
	int how;
	__le64 v;

	for (how = 0; how < 3; how++) {
		CHECK_R(pfx_format(&f, vd_dev_create_mem(2048, NULL), 10000, 256));
		info_init(&info, &f);
		CHECK_R(vd_btree_empty(&info, &root));
		for (u64 i = 0; i < 2000; i++)
			if (put(&info, &f, &root, i))
				return -1;
		f.roots[0] = root;
		CHECK_R(pfx_commit(&f));
		c.n = 0;
		c.blocks = calloc(64, sizeof(vd_blk_t));
		CHECK_R(vd_btree_walk(&info, root, collect, &c));
		/* root, first leaf, second leaf; case 2 damages the root */
		leaf = how == 2 ? c.blocks[0] : c.blocks[2];
		free(c.blocks);
		pfx_close(&f);
		vd_dev_read(f.dev, leaf, buf);
		if (how == 0) {
			buf[1000] ^= 0x40;	/* payload bit flip */
		} else if (how == 2) {
			/* Root's second child pointer = its first: valid checksum. */
			struct vd_btree_node_header *h = (void *)buf;
			struct vd_block_ref *vals = (void *)((__le64 *)(buf + VD_BTREE_NODE_HEADER_SIZE) +
							      le32_to_cpu(h->max_entries));

			vals[1] = vals[0];
			((struct vd_block_header *)buf)->csum = cpu_to_le32(vd_block_csum(buf));
		} else {
			/* Keys out of order but a valid checksum: still caught. */
			__le64 *keys = (__le64 *)(buf + VD_BTREE_NODE_HEADER_SIZE);
			__le64 t = keys[3];

			keys[3] = keys[4];
			keys[4] = t;
			((struct vd_block_header *)buf)->csum = cpu_to_le32(vd_block_csum(buf));
		}
		vd_dev_write(f.dev, leaf, buf);
		CHECK_R(pfx_open(&f));
		info_init(&info, &f);
		kshim_verbose = -1;
		CHECK(vd_btree_lookup(&info, f.roots[0], 300, &v) == -EILSEQ);
		CHECK(vd_btree_lookup(&info, f.roots[0], 10, &v) == 0);	/* other leaves fine */
		if (how == 2) {
			u64 k;

			/* next/prev and iteration refuse the misplaced leaf too */
			CHECK(vd_btree_lookup_next(&info, f.roots[0], 300, &k, &v) == -EILSEQ);
			CHECK(vd_btree_count(&info, f.roots[0], &k) == 0);	/* walk: no bounds */
			CHECK(vd_btree_iterate(&info, f.roots[0], 0, 1000, iter_nop, NULL) ==
			      -EILSEQ);
		}
		kshim_verbose = 0;
		pfx_destroy(&f);
	}
	return 0;
}

int main(void)
{
	tap_plan(8);
	tap_ok(!t_fill(0), "sequential fill: leaves >= 98%% full, metadata < 0.5%% of data");
	tap_ok(!t_fill(1), "random fill: leaves >= 50%% full");
	tap_ok(!t_clone(), "clone is O(1); first overwrite copies only the root-to-leaf path");
	tap_ok(!t_range_shared(), "range removal drops shared subtrees without visiting them");
	tap_ok(!t_del_step(), "incremental deletion: bounded steps, audits clean between commits");
	tap_ok(!t_batch(), "batch inserts: one descent per leaf, overwrites, refusals, full leaves");
	tap_ok(!t_edges(), "empty tree, extreme keys, wrong value size");
	tap_ok(!t_corrupt(), "corrupt nodes (bad checksum, keys out of order, child in the wrong place): -EILSEQ, never a wrong answer");
	return tap_done();
}
