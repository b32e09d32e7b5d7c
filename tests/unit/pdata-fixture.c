// SPDX-License-Identifier: GPL-2.0
/* Test fixture for the persistent-data core (see pdata-fixture.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdata-fixture.h"

int pfx_format(struct pfx *f, struct vd_dev *dev, vd_blk_t nr_data, unsigned int cache_blocks)
{
	int r;

	memset(f, 0, sizeof(*f));
	f->dev = dev;
	f->cache_blocks = cache_blocks;
	f->bm = vd_bm_user_create(dev, cache_blocks);
	if (!f->bm)
		return -ENOMEM;
	r = vd_tm_create_with_sm(f->bm, 1, &f->tm, &f->msm);
	if (r)
		return r;
	r = vd_sm_data_create(f->tm, nr_data, &f->dsm);
	if (r)
		return r;
	return pfx_commit(f);
}

int pfx_commit(struct pfx *f)
{
	struct vd_superblock *sb;
	struct vd_block *b;
	u64 seq = vd_tm_txn(f->tm);
	unsigned int i;
	int r;

	r = vd_sm_commit(f->dsm);
	if (r)
		return r;
	r = vd_tm_pre_commit(f->tm);
	if (r)
		return r;
	r = vd_tm_lock_superblock(f->tm, VD_SUPERBLOCK_SLOT(seq), &vd_superblock_validator, &b);
	if (r)
		return r;
	sb = vd_block_data(b);
	sb->version = cpu_to_le32(VD_FORMAT_VERSION);
	sb->metadata_block_size = cpu_to_le32(VD_METADATA_BLOCK_SIZE);
	sb->commit_seq = cpu_to_le64(seq);
	sb->nr_metadata_blocks = cpu_to_le64(vd_bm_nr_blocks(f->bm));
	vd_sm_copy_root(f->msm, &sb->sm_roots[VD_SM_METADATA]);
	vd_sm_copy_root(f->dsm, &sb->sm_roots[VD_SM_DATA]);
	sb->nr_data_blocks = sb->sm_roots[VD_SM_DATA].nr_blocks;
	for (i = 0; i < VD_NR_TREE_ROOTS; i++)
		vd_ref_store(&sb->tree_roots[i], f->roots[i]);
	r = vd_tm_commit(f->tm, b);
	if (!r)
		f->seq = seq;
	return r;
}

static int read_slot(struct pfx *f, vd_blk_t slot, struct vd_superblock *out)
{
	unsigned char buf[VD_METADATA_BLOCK_SIZE];
	struct vd_block *b;
	int r;

	/* Peek first so that a never-written slot is not logged as corrupt. */
	r = vd_dev_read(f->dev, slot, buf);
	if (r)
		return r;
	if (le32_to_cpu(((struct vd_block_header *)buf)->magic) != VD_MAGIC_SUPERBLOCK)
		return -ENODATA;
	r = vd_bm_read_lock(f->bm, slot, &vd_superblock_validator, &b);
	if (r)
		return r;
	memcpy(out, vd_block_data(b), sizeof(*out));
	vd_bm_unlock(b);
	return 0;
}

int pfx_open(struct pfx *f)
{
	struct vd_superblock s0, s1, *sb;
	int r0, r1, r;
	unsigned int i;

	f->bm = vd_bm_user_create(f->dev, f->cache_blocks);
	if (!f->bm)
		return -ENOMEM;
	r0 = read_slot(f, 0, &s0);
	r1 = read_slot(f, 1, &s1);
	if (r0 && r1)
		return r0;
	if (r0)
		sb = &s1;
	else if (r1)
		sb = &s0;
	else
		sb = le64_to_cpu(s0.commit_seq) > le64_to_cpu(s1.commit_seq) ? &s0 : &s1;
	f->seq = le64_to_cpu(sb->commit_seq);
	r = vd_tm_open_with_sm(f->bm, &sb->sm_roots[VD_SM_METADATA], f->seq, &f->tm, &f->msm);
	if (r)
		return r;
	r = vd_sm_data_open(f->tm, &sb->sm_roots[VD_SM_DATA], &f->dsm);
	if (r)
		return r;
	for (i = 0; i < VD_NR_TREE_ROOTS; i++)
		f->roots[i] = vd_ref_load(&sb->tree_roots[i]);
	return 0;
}

void pfx_close(struct pfx *f)
{
	if (f->dsm)
		vd_sm_destroy(f->dsm);
	if (f->tm)
		vd_tm_destroy(f->tm);
	if (f->bm)
		vd_bm_destroy(f->bm);
	f->dsm = NULL;
	f->tm = NULL;
	f->msm = NULL;
	f->bm = NULL;
}

int pfx_reopen(struct pfx *f)
{
	pfx_close(f);
	return pfx_open(f);
}

void pfx_destroy(struct pfx *f)
{
	pfx_close(f);
	vd_dev_close(f->dev);
	f->dev = NULL;
}

/* ---------------- refcount audit ---------------- */

struct audit {
	u32 *meta;		/* expected count per metadata block */
	u32 *data;		/* expected count per data block */
	vd_blk_t nr_meta, nr_data;
	int bad;
};

static int audit_meta_block(void *context, vd_blk_t b)
{
	struct audit *a = context;

	if (b >= a->nr_meta) {
		printf("# audit: metadata block %llu out of range\n", (unsigned long long)b);
		a->bad = 1;
		return -EINVAL;
	}
	a->meta[b]++;
	return 0;
}

/* Count each reference; descend only the first time a node is seen. */
static int audit_node(void *context, const struct vd_btree_walk_node *n)
{
	struct audit *a = context;
	u32 i;

	if (audit_meta_block(a, n->blocknr))
		return -EINVAL;
	if (a->meta[n->blocknr] > 1)
		return VD_BTREE_WALK_SKIP;
	if (!n->is_leaf)
		return 0;
	for (i = 0; i < n->nr_entries; i++) {
		u64 v = le64_to_cpu(((const __le64 *)n->values)[i]);
		vd_blk_t d = VD_MAP_BLOCK(v);

		if (d >= a->nr_data) {
			printf("# audit: data block %llu out of range\n", (unsigned long long)d);
			a->bad = 1;
			return -EINVAL;
		}
		a->data[d]++;
	}
	return 0;
}

struct cmp_ctx {
	const u32 *expected;
	vd_blk_t next, nr;
	const char *what;
	int bad;
	vd_blk_t nonzero;
};

static void report_missing(struct cmp_ctx *c, vd_blk_t upto)
{
	for (; c->next < upto; c->next++) {
		if (c->expected[c->next]) {
			if (c->bad++ < 10)
				printf("# audit %s: block %llu count 0, expected %u\n", c->what,
				       (unsigned long long)c->next, c->expected[c->next]);
		}
	}
}

static int cmp_count(void *context, vd_blk_t b, u32 count)
{
	struct cmp_ctx *c = context;

	report_missing(c, b);
	if (c->expected[b] != count && c->bad++ < 10)
		printf("# audit %s: block %llu count %u, expected %u\n", c->what,
		       (unsigned long long)b, count, c->expected[b]);
	c->nonzero++;
	c->next = b + 1;
	return 0;
}

static int compare_sm(struct vd_space_map *sm, const u32 *expected, vd_blk_t nr, const char *what)
{
	struct cmp_ctx c = { .expected = expected, .nr = nr, .what = what };
	vd_blk_t nr_free;
	int r;

	r = vd_sm_iterate_counts(sm, 0, nr, cmp_count, &c);
	if (r) {
		printf("# audit %s: iterate failed %d\n", what, r);
		return -1;
	}
	report_missing(&c, nr);
	vd_sm_get_nr_free(sm, &nr_free);
	if (nr - nr_free != c.nonzero) {
		printf("# audit %s: %llu blocks in use, space map says %llu\n", what,
		       (unsigned long long)c.nonzero, (unsigned long long)(nr - nr_free));
		c.bad++;
	}
	return c.bad ? -1 : 0;
}

int pfx_audit(struct pfx *f, const struct vd_ref *trees, unsigned int nr_trees,
	      const u64 *extra_block, const u64 *extra_count, unsigned int nr_extra)
{
	struct vd_btree_info info = { .tm = f->tm };
	struct audit a = { 0 };
	unsigned int i;
	int r, bad = 0;

	vd_sm_get_nr_blocks(f->msm, &a.nr_meta);
	vd_sm_get_nr_blocks(f->dsm, &a.nr_data);
	a.meta = calloc(a.nr_meta, sizeof(u32));
	a.data = calloc(a.nr_data, sizeof(u32));
	if (!a.meta || !a.data)
		return -ENOMEM;
	vd_btree_vt_plain(&info.vt, sizeof(__le64));
	for (i = 0; i < VD_SUPERBLOCK_NR_SLOTS; i++)
		a.meta[i]++;
	r = vd_sm_walk_metadata(f->msm, audit_meta_block, &a);
	if (!r)
		r = vd_sm_walk_metadata(f->dsm, audit_meta_block, &a);
	for (i = 0; i < nr_trees && !r; i++)
		r = vd_btree_walk(&info, trees[i], audit_node, &a);
	for (i = 0; i < nr_extra && !r; i++)
		a.data[extra_block[i]] += (u32)extra_count[i];
	if (r || a.bad) {
		printf("# audit: walk failed %d\n", r);
		bad = 1;
	} else {
		bad |= compare_sm(f->msm, a.meta, a.nr_meta, "metadata") != 0;
		bad |= compare_sm(f->dsm, a.data, a.nr_data, "data") != 0;
	}
	free(a.meta);
	free(a.data);
	return bad ? -1 : 0;
}
