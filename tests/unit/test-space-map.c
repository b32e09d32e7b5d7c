// SPDX-License-Identifier: GPL-2.0
/*
 * Space maps: counts, overflow counts, no reuse before commit, persistence,
 * sequential allocation, growth of data and metadata maps, and a metadata
 * device far beyond dm-thin's 16 GiB cap.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pdata-fixture.h"
#include "tap.h"

static u32 cnt(struct vd_space_map *sm, vd_blk_t b)
{
	u32 c = ~0U;

	return vd_sm_get_count(sm, b, &c) ? ~0U : c;
}

static int t_basic(void)
{
	struct pfx f;
	vd_blk_t b, nfree, i;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(1024, NULL), 100000, 256));
	vd_sm_get_nr_free(f.dsm, &nfree);
	CHECK(nfree == 100000);
	/* A fresh map hands out blocks in order. */
	for (i = 0; i < 5000; i++) {
		CHECK_R(vd_sm_new_block(f.dsm, &b));
		CHECK(b == i);
	}
	vd_sm_get_nr_free(f.dsm, &nfree);
	CHECK(nfree == 95000);
	CHECK_R(vd_sm_inc(f.dsm, 7));
	CHECK(cnt(f.dsm, 7) == 2);
	CHECK_R(vd_sm_dec(f.dsm, 7));
	CHECK_R(vd_sm_dec(f.dsm, 7));
	CHECK(cnt(f.dsm, 7) == 0);
	kshim_verbose = -1;
	CHECK(vd_sm_dec(f.dsm, 7) == -EILSEQ);		/* below zero */
	CHECK(vd_sm_inc(f.dsm, 99999) == -EILSEQ);	/* inc of a free block */
	CHECK(vd_sm_inc(f.dsm, 100000) == -EINVAL);	/* out of range */
	kshim_verbose = 0;
	vd_sm_get_nr_free(f.dsm, &nfree);
	CHECK(nfree == 95001);
	CHECK_R(pfx_commit(&f));
	CHECK_R(pfx_reopen(&f));
	vd_sm_get_nr_free(f.dsm, &nfree);
	CHECK(nfree == 95001 && cnt(f.dsm, 7) == 0 && cnt(f.dsm, 8) == 1);
	/* The cursor continues after the last allocation. */
	CHECK_R(vd_sm_new_block(f.dsm, &b));
	CHECK(b == 5000);
	pfx_destroy(&f);
	return 0;
}

static int t_overflow(void)
{
	struct pfx f;
	vd_blk_t b;
	unsigned int i;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(1024, NULL), 5000, 256));
	CHECK_R(vd_sm_new_block(f.dsm, &b));
	for (i = 1; i < 3000; i++)
		CHECK_R(vd_sm_inc(f.dsm, b));
	CHECK(cnt(f.dsm, b) == 3000);
	/* The metadata map overflows too (a node shared by many snapshots). */
	CHECK_R(vd_tm_inc(f.tm, 0));
	for (i = 0; i < 300; i++)
		CHECK_R(vd_sm_inc(f.msm, 0));
	CHECK(cnt(f.msm, 0) == 302);
	CHECK_R(pfx_commit(&f));
	CHECK_R(pfx_reopen(&f));
	CHECK(cnt(f.dsm, b) == 3000 && cnt(f.msm, 0) == 302);
	for (i = 1; i < 3000; i++)
		CHECK_R(vd_sm_dec(f.dsm, b));
	for (i = 0; i < 301; i++)
		CHECK_R(vd_sm_dec(f.msm, 0));
	CHECK(cnt(f.dsm, b) == 1 && cnt(f.msm, 0) == 1);
	CHECK_R(pfx_commit(&f));
	CHECK(!pfx_audit(&f, NULL, 0, &b, (const u64[]){ 1 }, 1));
	pfx_destroy(&f);
	return 0;
}

static int t_no_reuse(void)
{
	struct pfx f;
	vd_blk_t b, i;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(1024, NULL), 100, 256));
	for (i = 0; i < 100; i++)
		CHECK_R(vd_sm_new_block(f.dsm, &b));
	CHECK(vd_sm_new_block(f.dsm, &b) == -ENOSPC);
	CHECK_R(pfx_commit(&f));
	for (i = 10; i < 20; i++)
		CHECK_R(vd_sm_dec(f.dsm, i));
	/* Freed but not committed: the committed state still uses them. */
	CHECK(vd_sm_new_block(f.dsm, &b) == -ENOSPC);
	CHECK_R(pfx_commit(&f));
	for (i = 10; i < 20; i++) {
		CHECK_R(vd_sm_new_block(f.dsm, &b));
		CHECK(b == i);
	}
	CHECK(vd_sm_new_block(f.dsm, &b) == -ENOSPC);
	/* Freed and reallocated within one transaction is fine (never committed). */
	CHECK_R(vd_sm_dec(f.dsm, 15));
	CHECK(vd_sm_new_block(f.dsm, &b) == -ENOSPC);	/* the cursor does not go back */
	pfx_destroy(&f);
	return 0;
}

static int t_extend_data(void)
{
	struct pfx f;
	vd_blk_t b, nfree, i;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(2048, NULL), 5000, 256));
	for (i = 0; i < 5000; i++)
		CHECK_R(vd_sm_new_block(f.dsm, &b));
	CHECK(vd_sm_new_block(f.dsm, &b) == -ENOSPC);
	CHECK_R(vd_sm_extend(f.dsm, 20000));
	vd_sm_get_nr_free(f.dsm, &nfree);
	CHECK(nfree == 15000);
	for (i = 5000; i < 20000; i++) {
		CHECK_R(vd_sm_new_block(f.dsm, &b));
		CHECK(b == i);
	}
	CHECK_R(pfx_commit(&f));
	CHECK_R(pfx_reopen(&f));
	vd_sm_get_nr_blocks(f.dsm, &b);
	CHECK(b == 20000);
	vd_sm_get_nr_free(f.dsm, &nfree);
	CHECK(nfree == 0);
	CHECK(vd_sm_extend(f.dsm, 100) == -EINVAL);	/* no shrinking */
	pfx_destroy(&f);
	return 0;
}

static int t_extend_metadata(void)
{
	char path[] = "/tmp/vd-sm-grow-XXXXXX";
	struct pfx f;
	vd_blk_t nfree, nfree2, i, *bl;
	int fd = mkstemp(path);
	unsigned int n = 0;

	CHECK(fd >= 0);
	CHECK(!ftruncate(fd, 300 * 4096));
	CHECK_R(pfx_format(&f, vd_dev_open_file(path, 1), 1000, 128));
	vd_sm_get_nr_free(f.msm, &nfree);
	/* Fill the metadata device (leaving room to commit). */
	bl = calloc(20000, sizeof(*bl));
	CHECK(bl);
	while (nfree > 24) {
		struct vd_block *blk;

		CHECK_R(vd_tm_new_block(f.tm, &vd_superblock_validator, &blk));
		bl[n++] = vd_block_location(blk);
		vd_tm_unlock(f.tm, blk);
		vd_sm_get_nr_free(f.msm, &nfree);
	}
	CHECK_R(pfx_commit(&f));
	pfx_close(&f);
	/* Grow the device, reopen, extend the map: the new space is usable. */
	CHECK(!ftruncate(fd, 20000 * 4096ULL));
	vd_dev_close(f.dev);
	f.dev = vd_dev_open_file(path, 1);
	CHECK_R(pfx_open(&f));
	CHECK_R(vd_sm_extend(f.msm, 20000));
	CHECK(vd_sm_extend(f.msm, 20001) == -EBUSY);	/* once per transaction */
	vd_sm_get_nr_free(f.msm, &nfree2);
	CHECK(nfree2 > nfree + 19000);
	for (i = 0; i < 15000; i++) {
		struct vd_block *blk;

		CHECK_R(vd_tm_new_block(f.tm, &vd_superblock_validator, &blk));
		bl[n++] = vd_block_location(blk);
		vd_tm_unlock(f.tm, blk);
	}
	CHECK_R(pfx_commit(&f));
	CHECK_R(pfx_reopen(&f));
	vd_sm_get_nr_blocks(f.msm, &nfree);
	CHECK(nfree == 20000);
	/* Every block we allocated still has count 1; the audit agrees. */
	for (i = 0; i < n; i++)
		CHECK(cnt(f.msm, bl[i]) == 1);
	free(bl);
	pfx_destroy(&f);
	close(fd);
	unlink(path);
	return 0;
}

/* 2^23 blocks = 32 GiB of metadata (dm-thin stops at 16 GiB), sparse file. */
static int t_big(void)
{
	char path[] = "/tmp/vd-sm-big-XXXXXX";
	const vd_blk_t nr = 1ULL << 23;
	struct pfx f;
	vd_blk_t nfree, b;
	int fd = mkstemp(path);
	u64 entries;
	struct vd_btree_info info;

	CHECK(fd >= 0);
	CHECK(!ftruncate(fd, nr * 4096));
	CHECK_R(pfx_format(&f, vd_dev_open_file(path, 1), 1000, 1024));
	CHECK_R(pfx_reopen(&f));
	vd_sm_get_nr_free(f.msm, &nfree);
	/* superblocks + one bitmap per 4064 blocks + index and overflow trees */
	CHECK(nr - nfree < 2 + nr / VD_SM_ENTRIES_PER_BITMAP + 1 + 40);
	{
		struct vd_superblock sb;

		CHECK_R(vd_dev_read(f.dev, VD_SUPERBLOCK_SLOT(f.seq), &sb));
		info.tm = f.tm;
		vd_btree_vt_plain(&info.vt, sizeof(struct vd_sm_index_entry));
		CHECK_R(vd_btree_count(&info, vd_ref_load(&sb.sm_roots[VD_SM_METADATA].index_root),
				       &entries));
		CHECK(entries == DIV_ROUND_UP(nr, VD_SM_ENTRIES_PER_BITMAP));
	}
	kshim_verbose = -1;
	CHECK_R(vd_tm_inc(f.tm, nr - 1) == -EILSEQ ? 0 : -1);	/* free: refused */
	kshim_verbose = 0;
	CHECK_R(vd_sm_set_count(f.msm, nr - 1, 5));
	CHECK(cnt(f.msm, nr - 1) == 5);
	CHECK_R(vd_sm_new_block(f.msm, &b));
	CHECK_R(pfx_commit(&f));
	CHECK_R(pfx_reopen(&f));
	CHECK(cnt(f.msm, nr - 1) == 5);
	pfx_destroy(&f);
	close(fd);
	unlink(path);
	return 0;
}

struct it_ctx {
	vd_blk_t expect_next;
	int bad;
};

static int it_fn(void *context, vd_blk_t b, u32 count)
{
	struct it_ctx *c = context;

	if (b != c->expect_next || count != (b % 3) + 1)
		c->bad = 1;
	c->expect_next = b + 2;
	return 0;
}

static int t_iterate(void)
{
	struct pfx f;
	struct it_ctx c = { .expect_next = 0 };
	vd_blk_t b, i;

	CHECK_R(pfx_format(&f, vd_dev_create_mem(1024, NULL), 20000, 256));
	for (i = 0; i < 10000; i++) {
		CHECK_R(vd_sm_new_block(f.dsm, &b));
		if (b & 1)
			CHECK_R(vd_sm_dec(f.dsm, b));
		else
			CHECK_R(vd_sm_set_count(f.dsm, b, (b % 3) + 1));
	}
	kshim_verbose = -1;
	CHECK_R(vd_sm_iterate_counts(f.dsm, 0, 20000, it_fn, &c));
	kshim_verbose = 0;
	CHECK(!c.bad && c.expect_next == 10000);
	pfx_destroy(&f);
	return 0;
}

/* A damaged space map is refused at open, naming what is wrong. */
static int t_corrupt(void)
{
	struct vd_superblock sb;
	struct pfx f;
	vd_blk_t b;
	unsigned long errs;
	int i;

	for (i = 0; i < 2; i++) {
		CHECK_R(pfx_format(&f, vd_dev_create_mem(1024, NULL), 10000, 256));
		CHECK_R(vd_sm_new_block(f.dsm, &b));
		CHECK_R(pfx_commit(&f));
		pfx_close(&f);
		CHECK_R(vd_dev_read(f.dev, VD_SUPERBLOCK_SLOT(f.seq), &sb));
		if (i == 0) {
			/* Root claims another allocated count than the bitmaps hold. */
			le64_add_cpu(&sb.sm_roots[VD_SM_DATA].nr_allocated, 1);
		} else {
			/* Root says more blocks than the index tree has bitmaps for. */
			le64_add_cpu(&sb.sm_roots[VD_SM_DATA].nr_blocks, 5000);
		}
		sb.hdr.csum = cpu_to_le32(vd_block_csum(&sb));
		CHECK_R(vd_dev_write(f.dev, VD_SUPERBLOCK_SLOT(f.seq), &sb));
		errs = kshim_nr_errors;
		kshim_verbose = -1;
		CHECK(pfx_open(&f) == -EILSEQ);
		kshim_verbose = 0;
		CHECK(kshim_nr_errors > errs);
		pfx_destroy(&f);
	}
	return 0;
}

/*
 * vd_sm_dec_blocks() against vd_sm_dec() one by one on a twin map: random
 * batches (neighbours, duplicates, blocks across bitmaps, counts beyond the
 * overflow threshold), with commits in between so the bitmaps are shadowed
 * both in place and by copy; every count, the free count and the blocks
 * reported freed must agree.  A count of 0 fails the batch with -EILSEQ
 * after the blocks before it were released.
 */
#define DB_NR 12000		/* three bitmaps */
static u32 db_freed_a[DB_NR], db_freed_b[DB_NR];

static void db_freed(void *context, vd_blk_t b)
{
	((u32 *)context)[b]++;
}

static u64 db_rng = 88172645463325252ULL;
static u64 db_rnd(u64 n)
{
	db_rng ^= db_rng << 13;
	db_rng ^= db_rng >> 7;
	db_rng ^= db_rng << 17;
	return db_rng % n;
}

static int t_dec_blocks(void)
{
	static u32 want[DB_NR];
	vd_blk_t blocks[300], b, fa, fb;
	struct pfx a, m;
	unsigned int round, i, n;
	u32 ca, cb;

	CHECK_R(pfx_format(&a, vd_dev_create_mem(2048, NULL), DB_NR, 256));
	CHECK_R(pfx_format(&m, vd_dev_create_mem(2048, NULL), DB_NR, 256));
	for (b = 0; b < DB_NR; b++) {
		CHECK_R(vd_sm_new_block(a.dsm, &fa));
		CHECK_R(vd_sm_new_block(m.dsm, &fb));
		CHECK(fa == b && fb == b);
		want[b] = 1;
	}
	for (round = 0; round < 400; round++) {
		/* Take references so that a batch can drop them. */
		for (i = 0; i < 200; i++) {
			b = db_rnd(DB_NR);
			if (!want[b])
				continue;
			n = db_rnd(8) ? 1 : 300;	/* sometimes past 255 */
			while (n--) {
				CHECK_R(vd_sm_inc(a.dsm, b));
				CHECK_R(vd_sm_inc(m.dsm, b));
				want[b]++;
			}
		}
		/* A batch of live references: runs of neighbours and strays. */
		n = 1 + db_rnd(300);
		for (i = 0; i < n; i++) {
			do {
				b = db_rnd(4) && i ? blocks[i - 1] + db_rnd(3) : db_rnd(DB_NR);
				b %= DB_NR;
			} while (!want[b]);
			want[b]--;
			blocks[i] = b;
		}
		CHECK_R(vd_sm_dec_blocks(a.dsm, blocks, n, db_freed, db_freed_a));
		for (i = 0; i < n; i++) {
			CHECK_R(vd_sm_dec(m.dsm, blocks[i]));
			CHECK_R(vd_sm_get_count(m.dsm, blocks[i], &cb));
			if (!cb)
				db_freed_b[blocks[i]]++;
		}
		if (round % 16 == 0) {
			CHECK_R(pfx_commit(&a));
			CHECK_R(pfx_commit(&m));
		}
	}
	for (b = 0; b < DB_NR; b++) {
		CHECK_R(vd_sm_get_count(a.dsm, b, &ca));
		CHECK_R(vd_sm_get_count(m.dsm, b, &cb));
		CHECK(ca == want[b] && cb == want[b]);
		CHECK(db_freed_a[b] == db_freed_b[b]);
	}
	vd_sm_get_nr_free(a.dsm, &fa);
	vd_sm_get_nr_free(m.dsm, &fb);
	CHECK(fa == fb);
	/* A block already at 0 fails the batch; the ones before it went. */
	for (b = 0; b < DB_NR && want[b]; b++)
		;
	CHECK(b < DB_NR);
	for (fa = 0; fa < DB_NR && (want[fa] != 2 || fa / VD_SM_ENTRIES_PER_BITMAP !=
						     b / VD_SM_ENTRIES_PER_BITMAP); fa++)
		;
	if (fa < DB_NR) {
		blocks[0] = fa;
		blocks[1] = b;
		kshim_verbose = -1;
		CHECK(vd_sm_dec_blocks(a.dsm, blocks, 2, NULL, NULL) == -EILSEQ);
		kshim_verbose = 0;
		CHECK_R(vd_sm_get_count(a.dsm, fa, &ca));
		CHECK(ca == 1);
	}
	CHECK_R(pfx_commit(&a));
	CHECK_R(pfx_reopen(&a));
	for (b = 0; b < DB_NR; b++) {
		CHECK_R(vd_sm_get_count(a.dsm, b, &ca));
		CHECK(ca == want[b] - (b == fa));
	}
	pfx_destroy(&a);
	pfx_destroy(&m);
	return 0;
}

/*
 * vd_sm_new_blocks() against vd_sm_new_block() one at a time on a twin
 * map: random run lengths, frees and commits (so the committed state has
 * holes and runs stop at them), a wrap of the cursor, growth of the map
 * (runs in the grown range) and running out.  Both must hand out the same
 * blocks in the same order, every run within one bitmap, and end with the
 * same counts and free count; every run block has count 1.
 */
#define NB_NR 10000		/* three bitmaps, the last one partial */

static int t_new_blocks(void)
{
	static u32 want[NB_NR + 3000];
	vd_blk_t nr = NB_NR, b, fb, fa, fm, first;
	struct pfx a, m;
	unsigned int round, i, k;
	u32 got, ca, cm;
	int ra, rm;

	CHECK_R(pfx_format(&a, vd_dev_create_mem(2048, NULL), NB_NR, 256));
	CHECK_R(pfx_format(&m, vd_dev_create_mem(2048, NULL), NB_NR, 256));
	CHECK(vd_sm_new_blocks(a.dsm, 0, &first, &got) == -EINVAL && !got);
	for (round = 0; round < 600; round++) {
		u32 max = 1 + (u32)db_rnd(db_rnd(4) ? 64 : 5000);

		ra = vd_sm_new_blocks(a.dsm, max, &first, &got);
		if (ra == -ENOSPC) {
			CHECK(vd_sm_new_block(m.dsm, &fm) == -ENOSPC);
		} else {
			CHECK_R(ra);
			CHECK(got >= 1 && got <= max);
			CHECK(first / VD_SM_ENTRIES_PER_BITMAP ==
			      (first + got - 1) / VD_SM_ENTRIES_PER_BITMAP);
			for (k = 0; k < got; k++) {
				rm = vd_sm_new_block(m.dsm, &fm);
				CHECK_R(rm);
				CHECK(fm == first + k);
				CHECK(cnt(a.dsm, first + k) == 1);
				want[first + k] = 1;
			}
		}
		/* Free some blocks: holes in the next transaction's free space. */
		for (i = db_rnd(30); i; i--) {
			b = db_rnd(nr);
			if (!want[b])
				continue;
			CHECK_R(vd_sm_dec(a.dsm, b));
			CHECK_R(vd_sm_dec(m.dsm, b));
			want[b] = 0;
		}
		if (db_rnd(6) == 0) {
			CHECK_R(pfx_commit(&a));
			CHECK_R(pfx_commit(&m));
		}
		if (round == 400) {	/* grow: the new range is handed out too */
			nr += 3000;
			CHECK_R(vd_sm_extend(a.dsm, nr));
			CHECK_R(vd_sm_extend(m.dsm, nr));
		}
	}
	for (b = 0; b < nr; b++) {
		CHECK_R(vd_sm_get_count(a.dsm, b, &ca));
		CHECK_R(vd_sm_get_count(m.dsm, b, &cm));
		CHECK(ca == want[b] && cm == want[b]);
	}
	vd_sm_get_nr_free(a.dsm, &fa);
	vd_sm_get_nr_free(m.dsm, &fb);
	CHECK(fa == fb);
	CHECK_R(pfx_commit(&a));
	CHECK_R(pfx_reopen(&a));
	for (b = 0; b < nr; b++)
		CHECK(cnt(a.dsm, b) == want[b]);
	/* Everything taken: -ENOSPC, nothing handed out. */
	while (!(ra = vd_sm_new_blocks(a.dsm, 4096, &first, &got)))
		;
	CHECK(ra == -ENOSPC && !got);
	vd_sm_get_nr_free(a.dsm, &fa);
	printf("# new_blocks: %llu blocks, %llu free after running out\n",
	       (unsigned long long)nr, (unsigned long long)fa);
	pfx_destroy(&a);
	pfx_destroy(&m);
	return 0;
}

int main(void)
{
	tap_plan(10);
	tap_ok(!t_basic(), "alloc/inc/dec/free counts, errors, persistence, sequential cursor");
	tap_ok(!t_overflow(), "counts beyond 255 (overflow tree) in data and metadata maps");
	tap_ok(!t_no_reuse(), "freed blocks come back only after commit");
	tap_ok(!t_extend_data(), "grow the data space map");
	tap_ok(!t_extend_metadata(), "grow the metadata device and its space map");
	tap_ok(!t_big(), "32 GiB metadata device: multi-leaf index, counts at the far end");
	tap_ok(!t_iterate(), "iterate_counts reports every non-zero count in order");
	tap_ok(!t_corrupt(), "inconsistent space map roots are refused at open");
	tap_ok(!t_new_blocks(), "new_blocks: runs equal one new_block per block (holes, wrap, growth, out of space)");
	tap_ok(!t_dec_blocks(), "dec_blocks: batches equal one dec per block (runs, duplicates, overflow, freed, errors)");
	return tap_done();
}
