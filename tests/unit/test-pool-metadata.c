// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pool metadata API (vd-pool-metadata.h), plus the
 * measurements the issue asks for (printed as TAP comments, never checked
 * against a time): metadata bytes per mapped block, blocks written by a
 * snapshot and by the first overwrite after it.
 *
 *	test-pool-metadata [nr-blocks-for-the-fill-measurement]
 */
#include "pool-test.h"

static struct pt_pool P;
static u64 nr_fill = 50000;

static long check_dev(struct vd_check_report *rep)
{
	return pt_check_dev(P.dev, 0, rep);
}

static int expect_clean(void)
{
	return pt_expect_clean(P.dev);
}

static int t_format_open(void)
{
	struct vd_pool_usage u;

	CHECK_R(pt_create(&P, 4096, 100000, 8));
	CHECK_R(vd_pool_get_usage(P.pmd, &u));
	CHECK(u.nr_data_blocks == 100000 && u.nr_free_data_blocks == 100000);
	CHECK(u.nr_metadata_blocks == 4096 && u.nr_free_metadata_blocks < 4096);
	CHECK(!u.needs_check && !u.read_only && !u.held_root && !u.deletions_pending);
	CHECK(vd_pool_has_superblock(P.bm));
	return expect_clean();
}

/*
 * A format cut off by a failing flush before its first commit leaves wiped
 * slots: recognised as an interrupted format (the pool formats again),
 * unlike a zeroed device, a formatted pool or a foreign one.
 */
static int t_format_interrupted(void)
{
	struct vd_pool_format_params fp = { .data_block_size = 8, .nr_data_blocks = 1000 };
	struct vd_block_manager *bm;
	struct vd_dev *dev;
	char junk[VD_METADATA_BLOCK_SIZE];
	int n, cut = 0;

	for (n = 1; n <= 6 && !cut; n++) {
		dev = vd_dev_create_mem(256, NULL);
		CHECK(dev);
		bm = vd_bm_user_create(dev, 64);
		CHECK(bm);
		CHECK(!vd_pool_format_interrupted(bm));		/* zeroed */
		vd_dev_fail_after(dev, 0, n);
		if (vd_pool_format(bm, &fp)) {
			vd_bm_destroy(bm);
			vd_dev_fail_after(dev, 0, 0);
			bm = vd_bm_user_create(dev, 64);
			CHECK(bm);
			if (!vd_pool_has_superblock(bm)) {
				CHECK(vd_pool_format_interrupted(bm));
				cut = n;
				CHECK_R(vd_pool_format(bm, &fp));
			}
		}
		vd_dev_fail_after(dev, 0, 0);
		CHECK(vd_pool_has_superblock(bm) || !cut);
		CHECK(!vd_pool_format_interrupted(bm));		/* formatted (or not cut) */
		vd_bm_destroy(bm);
		vd_dev_close(dev);
	}
	CHECK(cut);
	/* Foreign data in the slots is not an interrupted format. */
	memset(junk, 0x5a, sizeof(junk));
	dev = vd_dev_create_mem(256, NULL);
	CHECK(dev);
	CHECK_R(vd_dev_write(dev, 0, junk));
	CHECK_R(vd_dev_write(dev, 1, junk));
	bm = vd_bm_user_create(dev, 64);
	CHECK(bm);
	CHECK(!vd_pool_format_interrupted(bm));
	vd_bm_destroy(bm);
	vd_dev_close(dev);
	return 0;
}

static int t_vdisk_and_mappings(void)
{
	struct vd_pool_vdisk_info i;
	vd_blk_t pb, pb2;
	u64 m, n;

	CHECK_R(vd_pool_create_vdisk(P.pmd, 1, 8000));
	CHECK(vd_pool_create_vdisk(P.pmd, 1, 8000) == -EEXIST);
	CHECK(vd_pool_lookup(P.pmd, 1, 5, &m) == -ENODATA);
	CHECK(vd_pool_lookup(P.pmd, 9, 5, &m) == -ENOENT);
	CHECK(vd_pool_highest_mapped(P.pmd, 1, &n) == -ENODATA);
	CHECK(vd_pool_highest_mapped(P.pmd, 9, &n) == -ENOENT);
	CHECK(vd_pool_insert_new(P.pmd, 9, 5, &pb) == -ENOENT);
	CHECK_R(vd_pool_insert_new(P.pmd, 1, 5, &pb));
	CHECK_R(vd_pool_highest_mapped(P.pmd, 1, &n));
	CHECK(n == 5);
	CHECK_R(vd_pool_insert_new(P.pmd, 1, 2, &pb2));
	CHECK_R(vd_pool_highest_mapped(P.pmd, 1, &n));
	CHECK(n == 5);
	CHECK_R(vd_pool_remove(P.pmd, 1, 2));
	CHECK_R(vd_pool_lookup(P.pmd, 1, 5, &m));
	CHECK(VD_MAP_BLOCK(m) == pb);
	/* Overwrite: the old block loses its reference. */
	CHECK_R(vd_pool_insert_new(P.pmd, 1, 5, &pb2));
	CHECK_R(vd_pool_lookup(P.pmd, 1, 5, &m));
	CHECK(VD_MAP_BLOCK(m) == pb2);
	CHECK(vd_pool_insert(P.pmd, 1, 6, VD_MAP_PACK(1ULL << 40, 0, 0)) == -EILSEQ);
	CHECK_R(vd_pool_get_details(P.pmd, 1, &i));
	CHECK(i.mapped_blocks == 1 && i.size_sectors == 8000 && i.origin_id == VD_DISK_NO_ORIGIN);
	CHECK(vd_pool_remove(P.pmd, 1, 7) == -ENODATA);
	CHECK_R(vd_pool_remove(P.pmd, 1, 5));
	CHECK(vd_pool_highest_mapped(P.pmd, 1, &n) == -ENODATA);
	CHECK_R(vd_pool_remove_range(P.pmd, 1, 0, 1000, &n));
	CHECK(n == 0);
	CHECK_R(vd_pool_commit(P.pmd));
	return expect_clean();
}

static vd_blk_t freed[64];
static unsigned int nr_freed;

static void freed_fn(void *context, vd_blk_t b)
{
	if (nr_freed < 64)
		freed[nr_freed] = b;
	nr_freed++;
}

static int t_snapshot_delete_reclaim(void)
{
	struct vd_pool_vdisk_info i;
	struct vd_pool_usage u0, u1;
	vd_blk_t pb;
	bool more = true;
	u64 m, b, n;

	vd_pool_set_data_freed_fn(P.pmd, freed_fn, NULL);
	CHECK_R(vd_pool_get_usage(P.pmd, &u0));
	for (b = 0; b < 1000; b++)
		CHECK_R(vd_pool_insert_new(P.pmd, 1, b, &pb));
	CHECK_R(vd_pool_create_snap(P.pmd, 2, 1));
	CHECK_R(vd_pool_get_details(P.pmd, 2, &i));
	CHECK(i.origin_id == 1 && (i.flags & VD_DISK_FLAG_SNAPSHOT) && i.mapped_blocks == 1000);
	/* Snapshot sees the old block after the origin is overwritten. */
	CHECK_R(vd_pool_lookup(P.pmd, 2, 10, &m));
	CHECK_R(vd_pool_insert_new(P.pmd, 1, 10, &pb));
	CHECK_R(vd_pool_lookup(P.pmd, 2, 10, &b));
	CHECK(b == m && VD_MAP_BLOCK(m) != pb);
	/* Shared blocks are not freed by a discard of one side. */
	nr_freed = 0;
	CHECK_R(vd_pool_remove_range(P.pmd, 2, 0, 20, &n));
	CHECK(n == 20 && nr_freed == 1);	/* only the one the origin overwrote */
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(expect_clean());
	CHECK_R(vd_pool_delete_vdisk(P.pmd, 1));
	CHECK(vd_pool_delete_vdisk(P.pmd, 1) == -ENODATA);
	CHECK(vd_pool_lookup(P.pmd, 1, 5, &m) == -ENOENT);
	CHECK_R(vd_pool_get_usage(P.pmd, &u1));
	CHECK(u1.deletions_pending);
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(expect_clean());
	CHECK_R(vd_pool_delete_vdisk(P.pmd, 2));
	nr_freed = 0;
	for (n = 0; more; n++) {
		CHECK_R(vd_pool_reclaim(P.pmd, 4, NULL, &more));
		CHECK_R(vd_pool_commit(P.pmd));	/* commits between bounded steps */
	}
	CHECK_R(expect_clean());
	CHECK_R(vd_pool_get_usage(P.pmd, &u1));
	printf("# reclaim: %llu steps of budget 4, %u data blocks reported freed\n",
	       (unsigned long long)n, nr_freed);
	CHECK(n >= 2 && nr_freed == 1000 && u1.nr_free_data_blocks == u0.nr_free_data_blocks);
	CHECK(!u1.deletions_pending);
	vd_pool_set_data_freed_fn(P.pmd, NULL, NULL);
	return 0;
}

/*
 * The kernel's fast write path: a reserve of blocks allocated up front,
 * some inserted later in one sorted batch (insert_ex reports whether each
 * key was unmapped), the rest given back unused before the commit: the
 * freed-block callback sees only the overwritten blocks, the pool ends with
 * exactly the inserted blocks used, and the check is clean.
 */
static int t_reserve_batch_insert(void)
{
	struct vd_pool_usage u0, u1;
	vd_blk_t rsv[64], pb;
	bool was_unmapped;
	unsigned int i, fresh = 0;
	u64 m;

	CHECK_R(vd_pool_create_vdisk(P.pmd, 30, 1 << 20));
	for (i = 0; i < 8; i++)		/* keys 0, 4, ..., 28 already mapped */
		CHECK_R(vd_pool_insert_new(P.pmd, 30, i * 4, &pb));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(vd_pool_get_usage(P.pmd, &u0));
	for (i = 0; i < 64; i++)
		CHECK_R(vd_pool_alloc_data_block(P.pmd, &rsv[i]));
	vd_pool_set_data_freed_fn(P.pmd, freed_fn, NULL);
	nr_freed = 0;
	for (i = 0; i < 40; i++) {	/* keys 0..39: 8 overwrites, 32 new */
		CHECK_R(vd_pool_insert_ex(P.pmd, 30, i, VD_MAP_PACK(rsv[i], 0, 0), &was_unmapped));
		CHECK(was_unmapped == (i % 4 || i >= 32));
		fresh += was_unmapped;
	}
	/* The rest go back in one batch, as a commit gives a reserve back. */
	CHECK_R(vd_pool_release_unused_data_blocks(P.pmd, rsv + 40, 24));
	CHECK(fresh == 32 && nr_freed == 8);	/* unused reserve blocks are not "freed" */
	vd_pool_set_data_freed_fn(P.pmd, NULL, NULL);
	CHECK_R(vd_pool_lookup(P.pmd, 30, 39, &m));
	CHECK(VD_MAP_BLOCK(m) == rsv[39]);
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(expect_clean());
	CHECK_R(vd_pool_get_usage(P.pmd, &u1));
	CHECK(u1.nr_free_data_blocks == u0.nr_free_data_blocks - 32);
	CHECK_R(vd_pool_delete_vdisk(P.pmd, 30));
	CHECK_R(vd_pool_commit(P.pmd));
	return 0;
}

/*
 * vd_pool_insert_run, the batch insert of the fast write path: a run of
 * vblocks onto a run of data blocks, overwrites reported per block, bad
 * arguments refused before anything changes.
 */
static int t_insert_run(void)
{
	struct vd_pool_vdisk_info d0, d1;
	struct vd_pool_usage u0, u1;
	vd_blk_t got[256], first = 0, pb;
	unsigned int i, n = 0, start = 0;
	u32 mask;
	u64 m;

	CHECK_R(vd_pool_create_vdisk(P.pmd, 31, 1 << 20));	/* 131072 blocks */
	for (i = 0; i < 8; i++)		/* keys 0, 4, ..., 28 already mapped */
		CHECK_R(vd_pool_insert_new(P.pmd, 31, i * 4, &pb));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(vd_pool_get_usage(P.pmd, &u0));
	/* Forty consecutive free data blocks; the others go back unused. */
	for (i = 0; i < 256 && n < 40; i++) {
		CHECK_R(vd_pool_alloc_data_block(P.pmd, &got[i]));
		if (n && got[i] == first + n) {
			n++;
		} else {
			first = got[i];
			start = i;
			n = 1;
		}
	}
	CHECK(n == 40);
	for (i = 0; i < start; i++)
		CHECK_R(vd_pool_release_unused_data_block(P.pmd, got[i]));

	CHECK_R(vd_pool_get_details(P.pmd, 31, &d0));
	CHECK(vd_pool_insert_run(P.pmd, 31, 0, first, 0, &mask) == -EINVAL);
	CHECK(vd_pool_insert_run(P.pmd, 31, 0, first, VD_POOL_INSERT_RUN_MAX + 1, &mask) ==
	      -EINVAL);
	kshim_verbose = -1;
	CHECK(vd_pool_insert_run(P.pmd, 31, 131072 - 4, first, 8, &mask) == -EINVAL);
	CHECK(vd_pool_insert_run(P.pmd, 31, 100, 1ULL << 40, 8, &mask) == -EILSEQ);
	kshim_verbose = 0;
	CHECK(vd_pool_insert_run(P.pmd, 32, 0, first, 8, &mask) == -ENOENT);
	CHECK_R(vd_pool_get_details(P.pmd, 31, &d1));
	CHECK(d1.mapped_blocks == d0.mapped_blocks);
	CHECK(vd_pool_lookup(P.pmd, 31, 100, &m) == -ENODATA);
	CHECK(vd_pool_lookup(P.pmd, 31, 131071, &m) == -ENODATA);

	vd_pool_set_data_freed_fn(P.pmd, freed_fn, NULL);
	nr_freed = 0;
	CHECK_R(vd_pool_insert_run(P.pmd, 31, 0, first, 32, &mask));
	CHECK(mask == 0xeeeeeeeeu);	/* every fourth key was mapped: overwritten */
	CHECK_R(vd_pool_insert_run(P.pmd, 31, 32, first + 32, 8, &mask));
	CHECK(mask == 0xffu);
	CHECK(nr_freed == 8);
	vd_pool_set_data_freed_fn(P.pmd, NULL, NULL);
	CHECK_R(vd_pool_get_details(P.pmd, 31, &d1));
	CHECK(d1.mapped_blocks == 40);
	for (i = 0; i < 40; i++) {
		CHECK_R(vd_pool_lookup(P.pmd, 31, i, &m));
		CHECK(VD_MAP_BLOCK(m) == first + i);
	}
	CHECK(vd_pool_lookup(P.pmd, 31, 40, &m) == -ENODATA);
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(expect_clean());
	CHECK_R(vd_pool_get_usage(P.pmd, &u1));
	CHECK(u1.nr_free_data_blocks == u0.nr_free_data_blocks - 32);
	CHECK_R(vd_pool_delete_vdisk(P.pmd, 31));
	CHECK_R(vd_pool_commit(P.pmd));
	return 0;
}

static int t_group_snapshot(void)
{
	struct vd_pool_snap_pair ok[2] = { { 11, 10 }, { 12, 10 } };
	struct vd_pool_snap_pair bad[2] = { { 13, 10 }, { 14, 99 } };
	struct vd_pool_vdisk_info a, b;
	vd_blk_t pb;

	CHECK_R(vd_pool_create_vdisk(P.pmd, 10, 8000));
	CHECK_R(vd_pool_insert_new(P.pmd, 10, 0, &pb));
	CHECK(vd_pool_create_snaps(P.pmd, bad, 2) == -ENODATA);
	CHECK(vd_pool_get_details(P.pmd, 13, &a) == -ENOENT);	/* nothing half done */
	CHECK_R(vd_pool_create_snaps(P.pmd, ok, 2));
	CHECK_R(vd_pool_get_details(P.pmd, 11, &a));
	CHECK_R(vd_pool_get_details(P.pmd, 12, &b));
	CHECK(a.creation_time == b.creation_time && a.mapped_blocks == 1);
	CHECK_R(vd_pool_commit(P.pmd));
	return expect_clean();
}

static int t_transaction_id_abort(void)
{
	u64 t;
	vd_blk_t pb;
	u64 m;

	CHECK_R(vd_pool_get_transaction_id(P.pmd, &t));
	CHECK(t == 0);
	CHECK(vd_pool_set_transaction_id(P.pmd, 5, 6) == -EINVAL);
	CHECK_R(vd_pool_set_transaction_id(P.pmd, 0, 7));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(vd_pool_set_transaction_id(P.pmd, 7, 8));
	CHECK_R(vd_pool_create_vdisk(P.pmd, 20, 80));
	CHECK_R(vd_pool_insert_new(P.pmd, 10, 1, &pb));
	CHECK_R(vd_pool_abort(P.pmd));
	CHECK_R(vd_pool_get_transaction_id(P.pmd, &t));
	CHECK(t == 7);
	CHECK(vd_pool_lookup(P.pmd, 20, 0, &m) == -ENOENT);
	CHECK(vd_pool_lookup(P.pmd, 10, 1, &m) == -ENODATA);
	CHECK_R(pt_reopen(&P));
	CHECK_R(vd_pool_get_transaction_id(P.pmd, &t));
	CHECK(t == 7);
	return expect_clean();
}

/*
 * A commit after an abort skips the dropped transaction's number (two on,
 * so it goes to the slot the dropped commit would have used), names the
 * previous commit in prev_commit_seq, and the checker accepts the gap; a
 * block written by the dropped transaction carries a number no later
 * transaction uses.  Stale-slot detection still works.
 */
static int t_abort_skips_txn(void)
{
	struct vd_superblock sb;
	struct vd_pool_usage u;
	struct vd_check_report rep;
	unsigned int slots;
	u64 c0, dropped;
	vd_blk_t pb;
	u64 m;

	CHECK_R(vd_pool_create_vdisk(P.pmd, 9030, 800));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(vd_pool_get_usage(P.pmd, &u));
	c0 = u.commit_seq;
	CHECK_R(vd_pool_insert_new(P.pmd, 9030, 1, &pb));
	dropped = c0 + 1;
	CHECK_R(vd_pool_abort(P.pmd));
	CHECK(vd_pool_lookup(P.pmd, 9030, 1, &m) == -ENODATA);
	CHECK_R(vd_pool_insert_new(P.pmd, 9030, 2, &pb));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(vd_pool_get_usage(P.pmd, &u));
	CHECK(u.commit_seq == dropped + 2);
	CHECK(VD_SUPERBLOCK_SLOT(u.commit_seq) == VD_SUPERBLOCK_SLOT(dropped));
	CHECK_R(vd_pool_read_superblock(P.bm, &sb, &slots));
	CHECK(slots == 3 && le64_to_cpu(sb.commit_seq) == dropped + 2);
	CHECK(le64_to_cpu(sb.prev_commit_seq) == c0);
	CHECK(check_dev(&rep) == 0 && rep.nr_errors == 0);
	/* The next commits are consecutive again. */
	CHECK_R(vd_pool_insert_new(P.pmd, 9030, 3, &pb));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(vd_pool_get_usage(P.pmd, &u));
	CHECK(u.commit_seq == dropped + 3);
	CHECK_R(pt_reopen(&P));
	CHECK_R(vd_pool_lookup(P.pmd, 9030, 2, &m));
	return expect_clean();
}

/*
 * Allocatable metadata blocks: blocks freed in a transaction are free but
 * not allocatable before the commit; the commit cost estimate covers what
 * a commit allocates; needs_check is cleared by a commit.
 */
static int t_metadata_allocatable(void)
{
	struct vd_pool_usage u0, u;
	vd_blk_t pb;
	u64 i, used;

	CHECK_R(vd_pool_create_vdisk(P.pmd, 9040, 1 << 20));
	for (i = 0; i < 3000; i++)
		CHECK_R(vd_pool_insert_new(P.pmd, 9040, i * 97 % 20011, &pb));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(vd_pool_get_usage(P.pmd, &u0));
	CHECK(u0.nr_allocatable_metadata_blocks == u0.nr_free_metadata_blocks);
	/* Overwrites shadow every leaf: free stays about level, allocatable drops. */
	for (i = 0; i < 3000; i++)
		CHECK_R(vd_pool_insert_new(P.pmd, 9040, i * 97 % 20011, &pb));
	CHECK_R(vd_pool_get_usage(P.pmd, &u));
	CHECK(u.nr_allocatable_metadata_blocks < u.nr_free_metadata_blocks);
	used = u0.nr_allocatable_metadata_blocks - u.nr_allocatable_metadata_blocks;
	CHECK(used > 10);
	CHECK(u.metadata_commit_cost >= 8);
	/* What the commit allocates stays within its estimate. */
	CHECK_R(vd_pool_commit(P.pmd));
	{
		struct vd_pool_usage after;

		CHECK_R(vd_pool_get_usage(P.pmd, &after));
		CHECK(after.nr_allocatable_metadata_blocks == after.nr_free_metadata_blocks);
		CHECK(u.nr_free_metadata_blocks >= after.nr_free_metadata_blocks);
		CHECK(u.nr_free_metadata_blocks - after.nr_free_metadata_blocks <=
		      u.metadata_commit_cost);
	}
	CHECK_R(vd_pool_set_needs_check(P.pmd));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK(vd_pool_needs_check(P.pmd));
	CHECK_R(vd_pool_clear_needs_check(P.pmd));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(pt_reopen(&P));
	CHECK(!vd_pool_needs_check(P.pmd));
	return expect_clean();
}

static int t_metadata_snap(void)
{
	struct vd_check_report rep;
	vd_blk_t held, pb;
	u64 b;

	CHECK_R(vd_pool_reserve_metadata_snap(P.pmd));
	CHECK(vd_pool_reserve_metadata_snap(P.pmd) == -EBUSY);
	CHECK_R(vd_pool_get_metadata_snap(P.pmd, &held));
	CHECK(held != 0);
	for (b = 0; b < 300; b++)
		CHECK_R(vd_pool_insert_new(P.pmd, 10, b, &pb));
	CHECK_R(vd_pool_delete_vdisk(P.pmd, 11));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(expect_clean());
	CHECK(pt_check_dev(P.dev, VD_CHECK_USE_METADATA_SNAP, &rep) == 0);
	CHECK(rep.nr_vdisks == 3 && rep.nr_mappings >= 1);	/* 10, 11, 12 as held */
	CHECK_R(vd_pool_release_metadata_snap(P.pmd));
	CHECK(vd_pool_release_metadata_snap(P.pmd) == -EINVAL);
	CHECK_R(vd_pool_commit(P.pmd));
	return expect_clean();
}

static int t_grow_needs_check(void)
{
	struct vd_pool_usage u;

	CHECK(vd_pool_resize_data(P.pmd, 10) == -EINVAL);
	CHECK_R(vd_pool_resize_data(P.pmd, 300000));
	CHECK(vd_pool_resize_metadata(P.pmd, 1 << 20) == -EINVAL);	/* beyond the device */
	CHECK_R(vd_pool_set_needs_check(P.pmd));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(pt_reopen(&P));
	CHECK_R(vd_pool_get_usage(P.pmd, &u));
	CHECK(u.nr_data_blocks == 300000 && u.needs_check && vd_pool_needs_check(P.pmd));
	return expect_clean();
}

/* A 1024-block pool moved to a 2048-block device, grown to fill it. */
static int t_grow_metadata(void)
{
	struct pt_pool q, r = { 0 };
	struct vd_pool_usage u0, u;
	u8 *img = calloc(2048, VD_METADATA_BLOCK_SIZE);
	vd_blk_t pb;
	u64 b;

	CHECK(img);
	CHECK_R(pt_create(&q, 1024, 1000, 8));
	CHECK_R(vd_pool_create_vdisk(q.pmd, 1, 8000));
	CHECK_R(vd_pool_insert_new(q.pmd, 1, 0, &pb));
	CHECK_R(vd_pool_commit(q.pmd));
	memcpy(img, vd_dev_mem_image(q.dev), 1024 * VD_METADATA_BLOCK_SIZE);
	pt_destroy(&q);
	r.dev = vd_dev_create_mem(2048, img);
	free(img);
	CHECK(r.dev);
	CHECK_R(pt_open(&r));
	CHECK_R(vd_pool_get_usage(r.pmd, &u0));
	CHECK(u0.nr_metadata_blocks == 1024);
	CHECK(vd_pool_resize_metadata(r.pmd, 1000) == -EINVAL);	/* shrinking */
	CHECK(vd_pool_resize_metadata(r.pmd, 2049) == -EINVAL);	/* beyond the device */
	CHECK_R(vd_pool_resize_metadata(r.pmd, 1024));			/* same size: no-op */
	CHECK_R(vd_pool_resize_metadata(r.pmd, 2048));
	CHECK_R(vd_pool_resize_data(r.pmd, 1000));
	CHECK_R(vd_pool_resize_data(r.pmd, 5000));
	for (b = 1; b < 2000; b++)
		CHECK_R(vd_pool_insert_new(r.pmd, 1, b % 1000, &pb));
	CHECK_R(vd_pool_commit(r.pmd));
	CHECK_R(pt_reopen(&r));
	CHECK_R(vd_pool_get_usage(r.pmd, &u));
	CHECK(u.nr_metadata_blocks == 2048 && u.nr_data_blocks == 5000);
	CHECK(u.nr_free_metadata_blocks > u0.nr_free_metadata_blocks);
	CHECK(pt_check_dev(r.dev, 0, NULL) == 0);
	pt_destroy(&r);
	return 0;
}

/* Set feature bits in both slots (re-checksummed) of the on-disk image. */
static void set_features(u64 ro_compat, u64 incompat)
{
	u8 *img = (u8 *)vd_dev_mem_image(P.dev);
	unsigned int s;

	for (s = 0; s < 2; s++) {
		struct vd_superblock *sb = (void *)(img + s * VD_METADATA_BLOCK_SIZE);

		sb->ro_compat_flags = cpu_to_le64(ro_compat);
		sb->incompat_flags = cpu_to_le64(incompat);
		sb->hdr.csum = cpu_to_le32(vd_block_csum(sb));
	}
}

static int t_features(void)
{
	struct pt_pool q = { 0 };
	vd_blk_t pb;

	pt_close(&P);
	set_features(0, 1ULL << 40);
	q.dev = P.dev;
	CHECK(pt_open(&q) == -EOPNOTSUPP);
	pt_close(&q);
	set_features(1ULL << 40, 0);
	CHECK_R(pt_open(&q));
	CHECK(vd_pool_is_read_only(q.pmd));
	CHECK(vd_pool_insert_new(q.pmd, 10, 0, &pb) == -EROFS);
	CHECK(vd_pool_commit(q.pmd) == -EROFS);
	pt_close(&q);
	set_features(0, 0);
	return pt_open(&P);
}

static u64 sb_ro_compat(void)
{
	struct vd_superblock sb;

	if (vd_pool_read_superblock(P.bm, &sb, NULL))
		return ~0ULL;
	return le64_to_cpu(sb.ro_compat_flags);
}

static int expect_name(u64 id, const char *want)
{
	char buf[VD_NAME_MAX];

	memset(buf, 'x', sizeof(buf));
	CHECK_R(vd_pool_get_name(P.pmd, id, buf));
	if (strcmp(buf, want))
		printf("# vdisk %llu: name '%s', expected '%s'\n", (unsigned long long)id, buf, want);
	CHECK(!strcmp(buf, want));
	return 0;
}

static int expect_find(const char *name, u64 want)
{
	u64 id = ~0ULL;

	CHECK_R(vd_pool_find_name(P.pmd, name, &id));
	CHECK(id == want);
	return 0;
}

/* Runs after t_features(): vdisks 10 and 12 exist (11 was deleted). */
static int t_names(void)
{
	static const char * const bad[] = {
		"-x", ".x", "a b", "a/b", "a\tb", "caf\xc3\xa9", "a,b", "a*", "a\\b", "@",
	};
	char ok63[VD_NAME_MAX], long64[VD_NAME_MAX + 1], buf[VD_NAME_MAX];
	struct vd_check_report rep;
	struct pt_pool q = { 0 };
	unsigned int i;
	u64 id;

	memset(ok63, 'a', VD_NAME_MAX - 1);
	ok63[VD_NAME_MAX - 1] = 0;
	memset(long64, 'b', VD_NAME_MAX);
	long64[VD_NAME_MAX] = 0;
	CHECK(vd_pool_name_valid("web-01") && vd_pool_name_valid("A_b.c+d:e-9"));
	CHECK(vd_pool_name_valid("0") && vd_pool_name_valid("x.") && vd_pool_name_valid("_"));
	CHECK(vd_pool_name_valid(ok63) && !vd_pool_name_valid(long64) && !vd_pool_name_valid(""));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(!vd_pool_name_valid(bad[i]));
	/* No name map yet: no names, and refusals create none. */
	CHECK(vd_pool_find_name(P.pmd, "web", &id) == -ENOENT);
	CHECK_R(expect_name(10, ""));
	for (i = 0; i < ARRAY_SIZE(bad); i++)
		CHECK(vd_pool_set_name(P.pmd, 10, bad[i]) == -EINVAL);
	CHECK(vd_pool_set_name(P.pmd, 10, long64) == -EINVAL);
	CHECK(vd_pool_set_name(P.pmd, 999, "web") == -ENOENT);
	CHECK(vd_pool_set_name(P.pmd, 11, "web") == -ENOENT);	/* deleted */
	CHECK(vd_pool_get_name(P.pmd, 999, buf) == -ENOENT && !buf[0]);
	CHECK(vd_pool_find_name(P.pmd, "-x", &id) == -EINVAL);
	CHECK(vd_pool_find_name(P.pmd, long64, &id) == -EINVAL);
	CHECK_R(vd_pool_set_name(P.pmd, 10, ""));		/* removing none: no-op */
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK(!(sb_ro_compat() & VD_FEATURE_RO_COMPAT_NAME_MAP));
	/* Set, duplicate, same name again, rename, reuse of a freed name. */
	CHECK_R(vd_pool_set_name(P.pmd, 10, "web"));
	CHECK_R(expect_name(10, "web"));
	CHECK_R(expect_find("web", 10));
	CHECK(vd_pool_set_name(P.pmd, 12, "web") == -EEXIST);
	CHECK_R(expect_name(12, ""));
	CHECK_R(vd_pool_set_name(P.pmd, 10, "web"));
	CHECK_R(vd_pool_set_name(P.pmd, 10, "www"));
	CHECK(vd_pool_find_name(P.pmd, "web", &id) == -ENOENT);
	CHECK_R(expect_find("www", 10));
	CHECK_R(vd_pool_set_name(P.pmd, 12, "web"));
	CHECK_R(vd_pool_set_name(P.pmd, 12, ok63));
	CHECK_R(expect_name(12, ok63));
	CHECK_R(expect_find(ok63, 12));
	CHECK(vd_pool_find_name(P.pmd, "web", &id) == -ENOENT);
	/* Committed with the ro_compat bit; survives a reopen. */
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK(sb_ro_compat() & VD_FEATURE_RO_COMPAT_NAME_MAP);
	CHECK_R(pt_reopen(&P));
	CHECK_R(expect_name(10, "www"));
	CHECK_R(expect_find(ok63, 12));
	CHECK_R(expect_clean());
	/* Remove with "", twice. */
	CHECK_R(vd_pool_set_name(P.pmd, 12, ""));
	CHECK_R(vd_pool_set_name(P.pmd, 12, ""));
	CHECK_R(expect_name(12, ""));
	CHECK(vd_pool_find_name(P.pmd, ok63, &id) == -ENOENT);
	/* Abort returns to the committed names. */
	CHECK_R(vd_pool_set_name(P.pmd, 10, "zzz"));
	CHECK_R(vd_pool_abort(P.pmd));
	CHECK_R(expect_name(10, "www"));
	CHECK_R(expect_name(12, ok63));
	CHECK_R(vd_pool_set_name(P.pmd, 12, ""));
	/* Snapshots start unnamed; deleting a vdisk drops its name. */
	CHECK_R(vd_pool_create_snap(P.pmd, 30, 10));
	CHECK_R(expect_name(30, ""));
	CHECK_R(vd_pool_set_name(P.pmd, 30, "snap"));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(vd_pool_delete_vdisk(P.pmd, 30));
	CHECK(vd_pool_find_name(P.pmd, "snap", &id) == -ENOENT);
	CHECK(vd_pool_get_name(P.pmd, 30, buf) == -ENOENT);
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(expect_clean());
	CHECK_R(vd_pool_create_vdisk(P.pmd, 30, 80));		/* id reused: unnamed */
	CHECK_R(expect_name(30, ""));
	CHECK_R(vd_pool_set_name(P.pmd, 10, "snap"));		/* the name is free again */
	/* Enough names for a multi-level map. */
	for (i = 0; i < 300; i++) {
		snprintf(buf, sizeof(buf), "vd-%u", i);
		CHECK_R(vd_pool_create_vdisk(P.pmd, 100 + i, 80));
		CHECK_R(vd_pool_set_name(P.pmd, 100 + i, buf));
	}
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(expect_find("vd-0", 100));
	CHECK_R(expect_find("vd-299", 399));
	CHECK(check_dev(&rep) == 0 && rep.nr_names == 301);
	/* A held metadata snapshot keeps the names it saw. */
	CHECK_R(vd_pool_reserve_metadata_snap(P.pmd));
	for (i = 0; i < 300; i += 2)
		CHECK_R(vd_pool_delete_vdisk(P.pmd, 100 + i));
	CHECK_R(vd_pool_set_name(P.pmd, 10, "renamed"));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK(vd_pool_find_name(P.pmd, "vd-0", &id) == -ENOENT);
	CHECK_R(expect_find("vd-1", 101));
	CHECK(check_dev(&rep) == 0 && rep.nr_names == 151);
	CHECK(pt_check_dev(P.dev, VD_CHECK_USE_METADATA_SNAP, &rep) == 0 && rep.nr_names == 301);
	CHECK_R(vd_pool_release_metadata_snap(P.pmd));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(expect_clean());
	/* Read-only: refused.  A name map without its feature bit: refused. */
	pt_close(&P);
	q.dev = P.dev;
	q.bm = vd_bm_user_create(q.dev, 64);
	CHECK(q.bm && !vd_pool_open(q.bm, VD_POOL_OPEN_READ_ONLY, &q.pmd));
	CHECK(vd_pool_set_name(q.pmd, 10, "x") == -EROFS);
	CHECK(vd_pool_set_user_flags(q.pmd, 10, VD_DISK_FLAG_AUTO_ACTIVATE, 0) == -EROFS);
	CHECK(!vd_pool_get_name(q.pmd, 10, buf) && !strcmp(buf, "renamed"));
	pt_close(&q);
	set_features(0, 0);
	CHECK(pt_open(&q) == -EILSEQ);
	pt_close(&q);
	set_features(VD_FEATURE_RO_COMPAT_NAME_MAP, 0);
	CHECK_R(pt_open(&P));
	return expect_clean();
}

static int t_user_flags(void)
{
	struct vd_pool_vdisk_info i;

	CHECK(vd_pool_set_user_flags(P.pmd, 10, VD_DISK_FLAG_SNAPSHOT, 0) == -EINVAL);
	CHECK(vd_pool_set_user_flags(P.pmd, 10, 0, VD_DISK_FLAG_DELETING) == -EINVAL);
	CHECK(vd_pool_set_user_flags(P.pmd, 10, VD_DISK_FLAG_AUTO_ACTIVATE | (1U << 31), 0) ==
	      -EINVAL);
	CHECK_R(vd_pool_get_details(P.pmd, 10, &i));
	CHECK(!(i.flags & VD_DISK_FLAG_AUTO_ACTIVATE));		/* nothing changed */
	CHECK(vd_pool_set_user_flags(P.pmd, 999, VD_DISK_FLAG_AUTO_ACTIVATE, 0) == -ENOENT);
	CHECK(vd_pool_set_user_flags(P.pmd, 11, VD_DISK_FLAG_AUTO_ACTIVATE, 0) == -ENOENT);
	CHECK_R(vd_pool_set_user_flags(P.pmd, 10, VD_DISK_FLAG_AUTO_ACTIVATE, 0));
	CHECK_R(vd_pool_get_details(P.pmd, 10, &i));
	CHECK(i.flags == VD_DISK_FLAG_AUTO_ACTIVATE);
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(pt_reopen(&P));
	CHECK_R(vd_pool_get_details(P.pmd, 10, &i));
	CHECK(i.flags == VD_DISK_FLAG_AUTO_ACTIVATE);
	CHECK_R(expect_clean());				/* the checker knows the flag */
	/* A snapshot does not inherit user flags; its own are kept apart. */
	CHECK_R(vd_pool_create_snap(P.pmd, 40, 10));
	CHECK_R(vd_pool_get_details(P.pmd, 40, &i));
	CHECK(i.flags == VD_DISK_FLAG_SNAPSHOT);
	CHECK_R(vd_pool_set_user_flags(P.pmd, 40, VD_DISK_FLAG_AUTO_ACTIVATE, 0));
	CHECK_R(vd_pool_set_user_flags(P.pmd, 40, 0, VD_DISK_FLAG_AUTO_ACTIVATE));
	CHECK_R(vd_pool_get_details(P.pmd, 40, &i));
	CHECK(i.flags == VD_DISK_FLAG_SNAPSHOT);
	/* set then clear: clear wins. */
	CHECK_R(vd_pool_set_user_flags(P.pmd, 10, VD_DISK_FLAG_AUTO_ACTIVATE,
				       VD_DISK_FLAG_AUTO_ACTIVATE));
	CHECK_R(vd_pool_get_details(P.pmd, 10, &i));
	CHECK(i.flags == 0);
	CHECK_R(vd_pool_commit(P.pmd));
	return expect_clean();
}

static int expect_sharing(struct pt_pool *q, u64 id, u64 want_ex, u64 want_sh)
{
	u64 ex = ~0ULL, sh = ~0ULL;

	CHECK_R(vd_pool_count_sharing(q->pmd, id, &ex, &sh));
	if (ex != want_ex || sh != want_sh)
		printf("# vdisk %llu: %llu exclusive, %llu shared; expected %llu, %llu\n",
		       (unsigned long long)id, (unsigned long long)ex, (unsigned long long)sh,
		       (unsigned long long)want_ex, (unsigned long long)want_sh);
	CHECK(ex == want_ex && sh == want_sh);
	return 0;
}

/* 600 blocks: three mapping leaves (253 per leaf) under an internal root. */
static int t_count_sharing(void)
{
	struct pt_pool q;
	bool more = true;
	vd_blk_t pb;
	u64 b, ex, sh;

	CHECK_R(pt_create(&q, 2048, 4000, 8));
	CHECK(vd_pool_count_sharing(q.pmd, 1, &ex, &sh) == -ENOENT);
	CHECK_R(vd_pool_create_vdisk(q.pmd, 1, 8000));
	CHECK_R(expect_sharing(&q, 1, 0, 0));
	for (b = 0; b < 600; b++)
		CHECK_R(vd_pool_insert_new(q.pmd, 1, b, &pb));
	CHECK_R(expect_sharing(&q, 1, 600, 0));		/* uncommitted state counts */
	CHECK_R(vd_pool_commit(q.pmd));
	CHECK_R(expect_sharing(&q, 1, 600, 0));
	/* Snapshot: data counts stay 1, but the shared root makes everything shared. */
	CHECK_R(vd_pool_create_snap(q.pmd, 2, 1));
	CHECK_R(expect_sharing(&q, 1, 0, 600));
	CHECK_R(expect_sharing(&q, 2, 0, 600));
	/*
	 * Overwrite block 0 of 1: its root and first leaf are copied (the copy
	 * takes a reference on the leaf's 253 data blocks).  1: the new block
	 * is exclusive.  2: its old block 0 is exclusive now, the rest of its
	 * first leaf names blocks 1 also names, the other leaves are shared.
	 */
	CHECK_R(vd_pool_insert_new(q.pmd, 1, 0, &pb));
	CHECK_R(expect_sharing(&q, 1, 1, 599));
	CHECK_R(expect_sharing(&q, 2, 1, 599));
	CHECK_R(vd_pool_commit(q.pmd));
	/* Discard on 2: what it drops becomes exclusive to 1 (same leaf). */
	CHECK_R(vd_pool_remove_range(q.pmd, 2, 0, 100, NULL));
	CHECK_R(expect_sharing(&q, 1, 100, 500));
	CHECK_R(expect_sharing(&q, 2, 0, 500));
	/* Deleted, not reclaimed: the pending tree still shares. */
	CHECK_R(vd_pool_delete_vdisk(q.pmd, 2));
	CHECK(vd_pool_count_sharing(q.pmd, 2, &ex, &sh) == -ENOENT);
	CHECK_R(expect_sharing(&q, 1, 100, 500));
	CHECK_R(vd_pool_commit(q.pmd));
	while (more) {
		CHECK_R(vd_pool_reclaim(q.pmd, 2, NULL, &more));
		CHECK_R(vd_pool_count_sharing(q.pmd, 1, &ex, &sh));
		CHECK(ex >= 100 && ex + sh == 600);		/* partial reclaim: in between */
	}
	CHECK_R(expect_sharing(&q, 1, 600, 0));
	CHECK_R(vd_pool_commit(q.pmd));
	/* Held metadata snapshot: the shared vdisks tree makes everything shared. */
	CHECK_R(vd_pool_reserve_metadata_snap(q.pmd));
	CHECK_R(expect_sharing(&q, 1, 0, 600));
	CHECK_R(vd_pool_create_vdisk(q.pmd, 3, 8000));		/* not in the held copy */
	CHECK_R(vd_pool_insert_new(q.pmd, 3, 0, &pb));
	CHECK_R(vd_pool_commit(q.pmd));
	CHECK_R(expect_sharing(&q, 3, 1, 0));
	CHECK_R(vd_pool_insert_new(q.pmd, 1, 300, &pb));		/* touch, copy one leaf */
	CHECK_R(expect_sharing(&q, 1, 1, 599));
	CHECK_R(vd_pool_commit(q.pmd));
	CHECK_R(expect_sharing(&q, 1, 1, 599));
	CHECK_R(vd_pool_release_metadata_snap(q.pmd));
	CHECK_R(expect_sharing(&q, 1, 600, 0));
	CHECK_R(vd_pool_commit(q.pmd));
	CHECK_R(expect_sharing(&q, 1, 600, 0));
	CHECK(pt_check_dev(q.dev, 0, NULL) == 0);
	pt_destroy(&q);
	return 0;
}

/* A stepwise census of @id with @budget leaves a step, from the start. */
static int census_in_steps(struct pt_pool *q, u64 id, unsigned int budget,
			   struct vd_sharing_census *c, unsigned int *nr_steps)
{
	memset(c, 0, sizeof(*c));
	for (*nr_steps = 0; !c->done; ++*nr_steps) {
		CHECK(*nr_steps < 100000);
		CHECK_R(vd_pool_count_sharing_step(q->pmd, id, c, budget));
	}
	return 0;
}

/* Insert a fresh block at a random unmapped key of @id below @limit. */
static int insert_fresh(struct pt_pool *q, u64 id, u64 limit, u64 *seed, u64 *key)
{
	vd_blk_t pb;
	u64 m;
	int r;

	do {
		*key = pt_below(seed, limit);
		r = vd_pool_lookup(q->pmd, id, *key, &m);
	} while (!r);
	CHECK(r == -ENODATA);
	CHECK_R(vd_pool_insert_new(q->pmd, id, *key, &pb));
	return 0;
}

/*
 * The census in steps (many mapping leaves, some shared, some not) equals
 * the one-pass census for every step size, and stays exact when new
 * mappings at unmapped keys arrive between its steps (the caller's +1 below
 * next_key), with leaves splitting behind and ahead of the cursor, across
 * commits and under a held metadata snapshot.
 */
static int t_census_steps(void)
{
	const u64 span = 60000;
	struct vd_sharing_census c;
	unsigned int budgets[] = { 1, 2, 5, 1000 }, i, k, n, round;
	u64 seed = 7, key, ex, sh, id;
	struct pt_pool q;
	vd_blk_t pb;

	CHECK_R(pt_create(&q, 4096, 40000, 8));
	CHECK_R(vd_pool_create_vdisk(q.pmd, 1, span * 8));
	for (i = 0; i < 6000; i++)
		CHECK_R(insert_fresh(&q, 1, span, &seed, &key));
	CHECK_R(vd_pool_commit(q.pmd));
	CHECK_R(vd_pool_create_snap(q.pmd, 2, 1));
	for (i = 0; i < 500; i++)		/* copy-on-write: a mix of both kinds */
		CHECK_R(vd_pool_insert_new(q.pmd, 1, pt_below(&seed, span), &pb));
	CHECK_R(vd_pool_remove_range(q.pmd, 2, 20000, 30000, NULL));
	CHECK_R(vd_pool_commit(q.pmd));
	for (id = 1; id <= 2; id++) {
		CHECK_R(vd_pool_count_sharing(q.pmd, id, &ex, &sh));
		CHECK(ex && sh);
		for (i = 0; i < ARRAY_SIZE(budgets); i++) {
			CHECK_R(census_in_steps(&q, id, budgets[i], &c, &n));
			if (c.exclusive != ex || c.shared != sh)
				printf("# vdisk %llu budget %u: %llu + %llu in %u steps, one pass %llu + %llu\n",
				       (unsigned long long)id, budgets[i],
				       (unsigned long long)c.exclusive, (unsigned long long)c.shared,
				       n, (unsigned long long)ex, (unsigned long long)sh);
			CHECK(c.exclusive == ex && c.shared == sh);
			CHECK(budgets[i] > 1 || n > 20);	/* really many steps */
		}
	}
	memset(&c, 0, sizeof(c));
	CHECK(vd_pool_count_sharing_step(q.pmd, 3, &c, 1) == -ENOENT);
	/* New mappings between steps; round 1 under a held metadata snapshot. */
	for (round = 0; round < 3; round++) {
		if (round == 1)
			CHECK_R(vd_pool_reserve_metadata_snap(q.pmd));
		if (round == 2)
			CHECK_R(vd_pool_release_metadata_snap(q.pmd));
		memset(&c, 0, sizeof(c));
		for (n = 0; !c.done; n++) {
			CHECK(n < 100000);
			CHECK_R(vd_pool_count_sharing_step(q.pmd, 1, &c, 1));
			for (k = pt_below(&seed, 40); k; k--) {
				CHECK_R(insert_fresh(&q, 1, span, &seed, &key));
				c.exclusive += !c.done && key < c.next_key;
				c.exclusive += c.done;
			}
			if (!pt_below(&seed, 8))
				CHECK_R(vd_pool_commit(q.pmd));
		}
		CHECK_R(vd_pool_count_sharing(q.pmd, 1, &ex, &sh));
		if (c.exclusive != ex || c.shared != sh)
			printf("# round %u: stepwise %llu + %llu, one pass %llu + %llu\n", round,
			       (unsigned long long)c.exclusive, (unsigned long long)c.shared,
			       (unsigned long long)ex, (unsigned long long)sh);
		CHECK(c.exclusive == ex && c.shared == sh);
	}
	CHECK_R(vd_pool_commit(q.pmd));
	CHECK(pt_check_dev(q.dev, 0, NULL) == 0);
	pt_destroy(&q);
	return 0;
}

static int t_next_free_id(void)
{
	struct pt_pool q;
	bool more = true;
	u64 id;

	CHECK_R(pt_create(&q, 1024, 1000, 8));
	CHECK_R(vd_pool_next_free_id(q.pmd, &id));
	CHECK(id == 0);
	CHECK_R(vd_pool_create_vdisk(q.pmd, 0, 80));
	CHECK_R(vd_pool_next_free_id(q.pmd, &id));
	CHECK(id == 1);
	CHECK_R(vd_pool_create_vdisk(q.pmd, 7, 80));		/* not committed yet */
	CHECK_R(vd_pool_next_free_id(q.pmd, &id));
	CHECK(id == 8);
	CHECK_R(vd_pool_commit(q.pmd));
	CHECK_R(vd_pool_create_vdisk(q.pmd, 20, 80));
	CHECK_R(vd_pool_abort(q.pmd));
	CHECK_R(vd_pool_next_free_id(q.pmd, &id));
	CHECK(id == 8);
	/* A deleted id stays used: its tombstone counts, reclaimed or not. */
	CHECK_R(vd_pool_delete_vdisk(q.pmd, 7));
	CHECK_R(vd_pool_next_free_id(q.pmd, &id));
	CHECK(id == 8);
	while (more)
		CHECK_R(vd_pool_reclaim(q.pmd, 8, NULL, &more));
	CHECK_R(vd_pool_commit(q.pmd));
	CHECK_R(pt_reopen(&q));
	CHECK_R(vd_pool_create_vdisk(q.pmd, 3, 80));
	CHECK_R(vd_pool_next_free_id(q.pmd, &id));
	CHECK(id == 8);
	CHECK_R(vd_pool_create_vdisk(q.pmd, VD_DISK_NO_ORIGIN - 1, 80));
	CHECK(vd_pool_next_free_id(q.pmd, &id) == -ENOSPC);
	CHECK_R(vd_pool_commit(q.pmd));
	CHECK(pt_check_dev(q.dev, 0, NULL) == 0);
	pt_destroy(&q);
	return 0;
}

struct fill_result {
	double seq_bytes, rnd_bytes;
	u64 snap_writes, overwrite_writes, overwrite_copies;
};

static int measure(struct fill_result *fr)
{
	struct pt_pool q;
	struct vd_pool_usage u0, u1;
	struct vd_pool_stats st;
	u64 *order, i, w0;
	vd_blk_t pb;
	int pass;

	order = malloc(sizeof(*order) * nr_fill);
	CHECK(order);
	for (pass = 0; pass < 2; pass++) {
		u64 s = 42;

		CHECK_R(pt_create(&q, 16384, nr_fill + 16, 8));
		for (i = 0; i < nr_fill; i++)
			order[i] = i;
		for (i = nr_fill; pass && i > 1; i--) {
			u64 j = pt_below(&s, i), t = order[i - 1];

			order[i - 1] = order[j];
			order[j] = t;
		}
		CHECK_R(vd_pool_create_vdisk(q.pmd, 1, nr_fill * 8));
		CHECK_R(vd_pool_commit(q.pmd));
		CHECK_R(vd_pool_get_usage(q.pmd, &u0));
		for (i = 0; i < nr_fill; i++) {
			CHECK_R(vd_pool_insert_new(q.pmd, 1, order[i], &pb));
			if (i % 10000 == 9999)
				CHECK_R(vd_pool_commit(q.pmd));
		}
		CHECK_R(vd_pool_commit(q.pmd));
		CHECK_R(vd_pool_get_usage(q.pmd, &u1));
		*(pass ? &fr->rnd_bytes : &fr->seq_bytes) =
			(double)(u0.nr_free_metadata_blocks - u1.nr_free_metadata_blocks) *
			VD_METADATA_BLOCK_SIZE / nr_fill;
		if (pass) {
			/* Blocks written by one snapshot commit / one first overwrite commit. */
			w0 = q.bm->nr_writes;
			CHECK_R(vd_pool_create_snap(q.pmd, 2, 1));
			CHECK_R(vd_pool_commit(q.pmd));
			fr->snap_writes = q.bm->nr_writes - w0;
			w0 = q.bm->nr_writes;
			CHECK_R(vd_pool_insert_new(q.pmd, 1, nr_fill / 2, &pb));
			vd_pool_get_stats(q.pmd, &st);
			fr->overwrite_copies = st.nr_shadow_copies;
			CHECK_R(vd_pool_commit(q.pmd));
			fr->overwrite_writes = q.bm->nr_writes - w0;
			CHECK(pt_check_dev(q.dev, 0, NULL) == 0);
		}
		pt_destroy(&q);
	}
	free(order);
	return 0;
}

int main(int argc, char **argv)
{
	struct fill_result fr = { 0 };

	if (argc > 1)
		nr_fill = strtoull(argv[1], NULL, 0);
	kshim_verbose = -1;	/* refused operations log errors on purpose */
	tap_plan(21);
	tap_ok(!t_format_open(), "format: empty pool, usage numbers, checks clean");
	tap_ok(!t_format_interrupted(),
	       "format cut before its first commit: recognised as interrupted, formats again");
	tap_ok(!t_vdisk_and_mappings(), "create vdisk, insert/overwrite/lookup/remove, errors");
	tap_ok(!t_snapshot_delete_reclaim(),
	       "snapshot shares blocks, discard frees only unshared, delete O(1) + bounded reclaim");
	tap_ok(!t_reserve_batch_insert(),
	       "reserve, batched insert_ex, unused blocks given back unreported, exact counts, checks clean");
	tap_ok(!t_insert_run(),
	       "insert_run: a run of blocks in one batch, overwrites reported, bad arguments change nothing");
	tap_ok(!t_group_snapshot(), "group snapshot: all or nothing, one instant");
	tap_ok(!t_transaction_id_abort(), "set_transaction_id <cur> <new>, abort returns to the last commit");
	tap_ok(!t_metadata_snap(), "metadata snapshot: reserve/release, checker reads the held image");
	tap_ok(!t_grow_needs_check(), "grow data, refuse metadata beyond the device, needs_check persists");
	tap_ok(!t_grow_metadata(), "grow the metadata and data space maps: refusals, no-op, growth persists, checks clean");
	tap_ok(!t_features(), "unknown incompat feature refuses, unknown ro_compat opens read-only");
	tap_ok(!t_names(),
	       "names: validity, set/duplicate/rename/remove, abort, snapshots unnamed, delete drops, 300 names, held snapshot, read-only, feature bit");
	tap_ok(!t_user_flags(), "user flags: mask enforced, persisted, not inherited by snapshots");
	tap_ok(!t_next_free_id(), "next_free_id: uncommitted creates, tombstones, abort, reuse, -ENOSPC");
	tap_ok(!t_count_sharing(),
	       "sharing census: snapshot, first overwrite, discard, pending deletion and partial reclaim, held metadata snapshot");
	tap_ok(!t_census_steps(),
	       "sharing census in steps: equals one pass for any step size, exact with new mappings between steps");
	tap_ok(!t_abort_skips_txn(), "abort: the next commit skips the dropped number, prev_commit_seq, checks clean");
	tap_ok(!t_metadata_allocatable(),
	       "allocatable metadata excludes blocks freed in the transaction; commit within its cost; needs_check cleared");
	pt_destroy(&P);
	tap_ok(!measure(&fr), "fill %llu blocks sequentially and randomly, snapshot, first overwrite",
	       (unsigned long long)nr_fill);
	printf("# metadata per mapped block: %.2f bytes sequential, %.2f bytes random (4 KiB blocks: %.3f%% / %.3f%%)\n",
	       fr.seq_bytes, fr.rnd_bytes, fr.seq_bytes * 100 / 4096, fr.rnd_bytes * 100 / 4096);
	printf("# snapshot commit wrote %llu metadata blocks; first overwrite after it wrote %llu (%llu node copies)\n",
	       (unsigned long long)fr.snap_writes, (unsigned long long)fr.overwrite_writes,
	       (unsigned long long)fr.overwrite_copies);
	tap_ok(fr.seq_bytes > 0 && fr.seq_bytes < 4096 * 0.005 && fr.rnd_bytes < 4096 * 0.01,
	       "metadata overhead within budget (sequential <= 0.5%%, random <= 1%%)");
	return tap_done();
}
