// SPDX-License-Identifier: GPL-2.0
/*
 * Transaction manager: shadowing rules, reference hand-over, no reuse of
 * freed blocks before commit, commit ordering, and crash images that always
 * open to the last durable commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pdata-fixture.h"
#include "tap.h"

#define BS VD_METADATA_BLOCK_SIZE

static const struct vd_validator test_v = { .name = "test", .magic = 0x54534554 };

static u32 count_of(struct pfx *f, vd_blk_t b)
{
	u32 c = ~0U;

	vd_tm_ref(f->tm, b, &c);
	return c;
}

static int new_block(struct pfx *f, vd_blk_t *b, unsigned char fill)
{
	struct vd_block *blk;

	CHECK_R(vd_tm_new_block(f->tm, &test_v, &blk));
	memset((char *)vd_block_data(blk) + VD_BLOCK_HEADER_SIZE, fill, 64);
	*b = vd_block_location(blk);
	vd_tm_unlock(f->tm, blk);
	return 0;
}

#define REF(b, t) ((struct vd_ref) { (b), (t) })

static int t_shadow(void)
{
	struct pfx f;
	struct vd_block *blk;
	vd_blk_t a, s1, s2;
	u64 t;
	int inc;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(1024, NULL), 1024, 256));
	CHECK(!new_block(&f, &a, 0x5a));
	CHECK(vd_tm_is_new(f.tm, a));
	/* New in this transaction: shadowing is in place. */
	t = vd_tm_txn(f.tm);
	CHECK_R(vd_tm_shadow_block(f.tm, REF(a, t), &test_v, &blk, &inc));
	CHECK(vd_block_location(blk) == a && !inc);
	vd_tm_unlock(f.tm, blk);
	CHECK_R(pfx_commit(&f));
	/* A reference with the wrong transaction is refused. */
	CHECK(vd_tm_shadow_block(f.tm, REF(a, t + 1), &test_v, &blk, &inc) == -EILSEQ);
	CHECK(vd_tm_read_lock(f.tm, REF(a, t - 1), &test_v, &blk) == -EILSEQ);
	CHECK(!vd_tm_is_new(f.tm, a));

	/* Committed: copied once, the copy has the contents, the original is freed. */
	CHECK_R(vd_tm_shadow_block(f.tm, REF(a, t), &test_v, &blk, &inc));
	s1 = vd_block_location(blk);
	CHECK(s1 != a && !inc);
	CHECK(((unsigned char *)vd_block_data(blk))[VD_BLOCK_HEADER_SIZE] == 0x5a);
	vd_tm_unlock(f.tm, blk);
	CHECK(count_of(&f, a) == 0 && count_of(&f, s1) == 1);
	t = vd_tm_txn(f.tm);
	CHECK_R(vd_tm_shadow_block(f.tm, REF(s1, t), &test_v, &blk, &inc));
	CHECK(vd_block_location(blk) == s1);	/* second time: in place */
	vd_tm_unlock(f.tm, blk);
	CHECK_R(pfx_commit(&f));

	/* Shared: the copy reports inc_children and the original keeps one ref. */
	CHECK_R(vd_tm_inc(f.tm, s1));
	CHECK_R(vd_tm_shadow_block(f.tm, REF(s1, t), &test_v, &blk, &inc));
	s2 = vd_block_location(blk);
	CHECK(s2 != s1 && inc);
	vd_tm_unlock(f.tm, blk);
	CHECK(count_of(&f, s1) == 1 && count_of(&f, s2) == 1);

	/* Shared even though new in this transaction: still copied. */
	CHECK_R(vd_tm_inc(f.tm, s2));
	CHECK_R(vd_tm_shadow_block(f.tm, REF(s2, vd_tm_txn(f.tm)), &test_v, &blk, &inc));
	CHECK(vd_block_location(blk) != s2 && inc);
	vd_tm_unlock(f.tm, blk);
	CHECK(vd_bm_user_nr_locked(f.bm) == 0);
	pfx_destroy(&f);
	return 0;
}

static int t_no_reuse(void)
{
	struct pfx f;
	vd_blk_t nfree, *blocks, b, i, n;
	int r;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(512, NULL), 16, 256));
	vd_sm_get_nr_free(f.msm, &nfree);
	/* Leave some room: freeing needs a new copy of a bitmap. */
	n = nfree - 16;
	blocks = calloc(n, sizeof(*blocks));
	CHECK(blocks);
	for (i = 0; i < n; i++)
		CHECK(!new_block(&f, &blocks[i], 1));
	CHECK_R(pfx_commit(&f));
	for (i = 0; i < n; i++)
		CHECK_R(vd_tm_dec(f.tm, blocks[i]));
	/* Only the few blocks free at the last commit may be handed out. */
	for (i = 0; i < 32; i++) {
		struct vd_block *blk;
		vd_blk_t j;

		r = vd_tm_new_block(f.tm, &test_v, &blk);
		if (r)
			break;
		b = vd_block_location(blk);
		vd_tm_unlock(f.tm, blk);
		for (j = 0; j < n; j++)
			CHECK(blocks[j] != b);
	}
	CHECK(r == -ENOSPC);
	vd_tm_abort(f.tm);
	/* Reopen the committed state, free, commit: now the space comes back. */
	CHECK_R(pfx_reopen(&f));
	for (i = 0; i < n; i++)
		CHECK_R(vd_tm_dec(f.tm, blocks[i]));
	CHECK_R(pfx_commit(&f));
	for (i = 0; i < n; i++)
		CHECK(!new_block(&f, &b, 2));
	CHECK_R(pfx_commit(&f));
	free(blocks);
	pfx_destroy(&f);
	return 0;
}

static int t_commit_order(void)
{
	struct pfx f;
	struct vd_dev *rec = vd_dev_create_recording(1024, NULL);
	struct vd_rec_event ev;
	uint64_t n, i, last_flush = 0;
	vd_blk_t b;

	CHECK_R(pfx_format(&f, rec, 4096, 256));
	vd_rec_reset(rec);
	for (i = 0; i < 50; i++)
		CHECK(!new_block(&f, &b, 3));
	CHECK_R(pfx_commit(&f));
	n = vd_rec_nr_events(rec);
	/* ... W* F W(superblock) F: the superblock alone after a flush, then flushed. */
	CHECK(n >= 4);
	CHECK_R(vd_rec_event(rec, n - 1, &ev));
	CHECK(ev.is_flush);
	CHECK_R(vd_rec_event(rec, n - 2, &ev));
	CHECK(!ev.is_flush && ev.blocknr == VD_SUPERBLOCK_SLOT(f.seq));
	CHECK_R(vd_rec_event(rec, n - 3, &ev));
	CHECK(ev.is_flush);
	for (i = 0; i + 3 < n; i++) {
		CHECK_R(vd_rec_event(rec, i, &ev));
		if (ev.is_flush)
			last_flush = i;
		else
			CHECK(ev.blocknr >= VD_SUPERBLOCK_NR_SLOTS);
	}
	CHECK(last_flush < n - 3 || n == 4);
	pfx_destroy(&f);
	return 0;
}

/*
 * Several commits on a recording device; every crash image (each epoch, a
 * random subset of its writes in random order, sometimes torn) must open and
 * show exactly the blocks of the newest commit whose superblock is durable.
 */
static int t_crash(void)
{
	struct pfx f, g;
	struct vd_dev *rec = vd_dev_create_recording(2048, NULL);
	unsigned char *img = malloc(2048ULL * BS);
	vd_blk_t blocks[8][40];
	u64 seqs[8], nr_flushes, e;
	unsigned int c, i, trial, images = 0;

	CHECK(img);
	CHECK_R(pfx_format(&f, rec, 4096, 64));
	vd_rec_reset(rec);
	srand(11);
	for (c = 0; c < 8; c++) {
		/* Each commit rewrites the previous commit's blocks (shadowing) and adds more. */
		for (i = 0; i < 40; i++) {
			struct vd_block *blk;
			int inc;

			if (c && (i & 1)) {
				CHECK_R(vd_tm_shadow_block(f.tm, REF(blocks[c - 1][i], seqs[c - 1]),
							   &test_v, &blk, &inc));
			} else {
				if (c)
					CHECK_R(vd_tm_dec(f.tm, blocks[c - 1][i]));
				CHECK_R(vd_tm_new_block(f.tm, &test_v, &blk));
			}
			memset((char *)vd_block_data(blk) + VD_BLOCK_HEADER_SIZE, c * 40 + i, 64);
			blocks[c][i] = vd_block_location(blk);
			vd_tm_unlock(f.tm, blk);
		}
		/* The fixture's roots carry the first block, enough to find them. */
		f.roots[0].nr = c + 1;
		CHECK_R(pfx_commit(&f));
		seqs[c] = f.seq;
	}
	nr_flushes = vd_rec_nr_flushes(rec);
	kshim_verbose = -1;
	for (e = 0; e <= nr_flushes; e++) {
		uint64_t first, end, extra[512];
		struct vd_crash_spec spec = { .epoch = e, .extra = extra };

		CHECK_R(vd_rec_epoch(rec, e, &first, &end));
		for (trial = 0; trial < 6; trial++) {
			size_t n = 0;
			uint64_t j;
			int k;

			for (j = first; j < end && n < 512; j++)
				if (rand() & 1)
					extra[n++] = j;
			for (j = 0; n > 1 && j < n; j++) {
				size_t x = (size_t)rand() % n;
				uint64_t t = extra[j];

				extra[j] = extra[x];
				extra[x] = t;
			}
			spec.nr_extra = n;
			spec.torn_sectors = (n && (trial & 1)) ? 1 + rand() % 7 : 0;
			CHECK_R(vd_rec_build_image(rec, &spec, img));
			memset(&g, 0, sizeof(g));
			g.dev = vd_dev_create_mem(2048, img);
			g.cache_blocks = 64;
			CHECK_R(pfx_open(&g));
			images++;
			/* Which commit is it?  roots[0] tells; its blocks must all be intact. */
			k = (int)g.roots[0].nr - 1;
			if (k >= 0) {
				CHECK(g.seq == seqs[k]);
				for (i = 0; i < 40; i++) {
					struct vd_block *blk;

					CHECK_R(vd_tm_read_lock(g.tm, REF(blocks[k][i], seqs[k]),
								&test_v, &blk));
					CHECK(((unsigned char *)vd_block_data(blk))[VD_BLOCK_HEADER_SIZE] ==
					      (unsigned char)(k * 40 + i));
					vd_tm_unlock(g.tm, blk);
					CHECK(count_of(&g, blocks[k][i]) == 1);
				}
			}
			pfx_destroy(&g);
		}
	}
	kshim_verbose = 0;
	printf("# %u crash images over %llu epochs opened and checked\n", images,
	       (unsigned long long)nr_flushes + 1);
	free(img);
	pfx_destroy(&f);
	return 0;
}

static int t_abort(void)
{
	struct pfx f;
	struct vd_block *blk;
	vd_blk_t b;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(256, NULL), 16, 64));
	CHECK(!new_block(&f, &b, 1));
	vd_tm_abort(f.tm);
	CHECK(vd_tm_new_block(f.tm, &test_v, &blk) == -EIO);
	CHECK(vd_tm_pre_commit(f.tm) == -EIO);
	CHECK_R(pfx_reopen(&f));
	CHECK(count_of(&f, b) == 0);	/* the uncommitted allocation is gone */
	pfx_destroy(&f);
	return 0;
}

int main(void)
{
	tap_plan(5);
	tap_ok(!t_shadow(), "shadow: in place when new and unshared, else copy; inc_children when shared");
	tap_ok(!t_no_reuse(), "blocks freed in a transaction are not reused before it commits");
	tap_ok(!t_commit_order(), "commit: all blocks, flush, then the superblock alone, flush");
	tap_ok(!t_crash(), "crash images (subsets, reordered, torn) open to the last durable commit");
	tap_ok(!t_abort(), "abort: further changes refused, reopen returns to the last commit");
	return tap_done();
}
