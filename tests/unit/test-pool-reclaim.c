// SPDX-License-Identifier: GPL-2.0
/*
 * Liveness of the background reclaim: vd_pool_reclaim() with the smallest
 * budgets (1 to 4 node visits a step), a commit between every pair of steps
 * as the pool's worker does, must finish every deletion.  Each step has to
 * remove at least one entry or one reference, so the number of steps is
 * bounded by the references the deleted trees hold: one per unshared node
 * (at most the metadata blocks in use when the deletion started) plus one per
 * shared subtree met under them (at most one per leaf of the tree seen as a
 * tree: the vdisks here are filled sequentially, so a leaf holds more than
 * 64 of the NR_MAP entries), plus one per deletion (a shared root is a single
 * decrement).  The trees are three levels deep (root, internal nodes,
 * leaves): a step that spends its whole budget descending to the first leaf
 * and drops nothing repeats forever after a commit, which is what a budget
 * of 1 did before the fix (a budget of 2 would on a four-level tree).
 *
 * The same series run once more with a large budget (1024) and a yield test
 * (struct vd_btree_yield) that says stop at every ask, as the kernel's does
 * when bios wait: a step still makes progress before it stops, so the same
 * bound holds.
 *
 * After every series the pool is back to its starting free data count, its
 * metadata back to the start but for the details tree grown by the tombstones
 * of the deleted ids (a few blocks; the checker's leak check, clean, says no
 * block is lost), and nothing is pending.
 */
#include "pool-test.h"
#include "vd-btree.h"

#define DBS		8		/* sectors per data block */
#define NR_MAP		70000		/* > 168 * 253 / 2: three levels */
#define CHAIN		100

static struct pt_pool P;
static u64 next_id = 1;	/* deleted ids stay as tombstones: never reused */

/* The yield test of the last series: always stop, and count the asks. */
static u64 yield_asks;
static bool always_stop(void *context)
{
	(void)context;
	yield_asks++;
	return true;
}

static const struct vd_btree_yield stop_at_once = { .should_stop = always_stop };
static const struct vd_btree_yield *yield;	/* NULL: the budget alone */

static int expect_clean(void)
{
	return pt_expect_clean(P.dev);
}

/* Map blocks [0, n) of a new vdisk @id, one commit at the end. */
static int fill(u64 id, u64 n)
{
	vd_blk_t pb;
	u64 b;

	CHECK_R(vd_pool_create_vdisk(P.pmd, id, NR_MAP * DBS));
	for (b = 0; b < n; b++)
		CHECK_R(vd_pool_insert_new(P.pmd, id, b, &pb));
	CHECK_R(vd_pool_commit(P.pmd));
	return 0;
}

/* Overwrite @n blocks of @id starting at @first (breaks the sharing there). */
static int overwrite(u64 id, u64 first, u64 n)
{
	vd_blk_t pb;
	u64 b;

	for (b = first; b < first + n; b++)
		CHECK_R(vd_pool_insert_new(P.pmd, id, b, &pb));
	return 0;
}

/*
 * Reclaim everything pending in steps of @budget with a commit after each;
 * fail if more than @bound steps are needed (a step made no progress).
 */
static int reclaim_all(unsigned int budget, u64 bound, u64 *steps)
{
	bool more = true;
	u64 n;

	for (n = 0; more; n++) {
		if (n > bound) {
			printf("# budget %u: still pending after %llu steps (bound %llu)\n",
			       budget, (unsigned long long)n, (unsigned long long)bound);
			return -1;
		}
		CHECK_R(vd_pool_reclaim(P.pmd, budget, yield, &more));
		CHECK_R(vd_pool_commit(P.pmd));
	}
	*steps = n;
	return 0;
}

/* The step bound for deleting @nr vdisks of NR_MAP mappings (see above). */
static u64 step_bound(u64 nr)
{
	struct vd_pool_usage u;

	if (vd_pool_get_usage(P.pmd, &u))
		return 0;
	return u.nr_metadata_blocks - u.nr_free_metadata_blocks + nr * (NR_MAP / 64 + 1);
}

/* @nr_del ids were deleted: their tombstones may have grown the details tree. */
static int same_usage(const struct vd_pool_usage *a, u64 nr_del)
{
	struct vd_pool_usage u;

	CHECK_R(vd_pool_get_usage(P.pmd, &u));
	if (u.nr_free_data_blocks != a->nr_free_data_blocks ||
	    u.nr_free_metadata_blocks + 1 + nr_del / 16 < a->nr_free_metadata_blocks)
		printf("# free data %llu (was %llu), metadata %llu (was %llu)\n",
		       (unsigned long long)u.nr_free_data_blocks,
		       (unsigned long long)a->nr_free_data_blocks,
		       (unsigned long long)u.nr_free_metadata_blocks,
		       (unsigned long long)a->nr_free_metadata_blocks);
	CHECK(u.nr_free_data_blocks == a->nr_free_data_blocks);
	CHECK(u.nr_free_metadata_blocks + 1 + nr_del / 16 >= a->nr_free_metadata_blocks);
	CHECK(u.nr_free_metadata_blocks <= a->nr_free_metadata_blocks);
	CHECK(!u.deletions_pending);
	return expect_clean();
}

/* One large unshared vdisk. */
static int t_large(unsigned int budget)
{
	struct vd_pool_usage u0;
	u64 steps, bound;

	u64 id = next_id++;

	CHECK_R(vd_pool_get_usage(P.pmd, &u0));
	CHECK_R(fill(id, NR_MAP));
	bound = step_bound(1);
	CHECK_R(vd_pool_delete_vdisk(P.pmd, id));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(reclaim_all(budget, bound, &steps));
	printf("# budget %u, %u mappings: %llu steps\n", budget, NR_MAP,
	       (unsigned long long)steps);
	return same_usage(&u0, 1);
}

/*
 * An origin and two snapshots sharing most of its tree: the origin goes
 * first (shared leaves: decrements only), then one snapshot, then the last
 * owner frees everything.
 */
static int t_shared(unsigned int budget)
{
	struct vd_pool_usage u0;
	u64 steps, bound, total = 0;
	u64 b = next_id, id;

	next_id += 3;
	CHECK_R(vd_pool_get_usage(P.pmd, &u0));
	CHECK_R(fill(b, NR_MAP));
	CHECK_R(vd_pool_create_snap(P.pmd, b + 1, b));
	CHECK_R(overwrite(b, 1000, 300));
	CHECK_R(vd_pool_create_snap(P.pmd, b + 2, b + 1));
	CHECK_R(overwrite(b + 1, 40000, 300));
	CHECK_R(vd_pool_commit(P.pmd));
	for (id = b; id < b + 3; id++) {
		bound = step_bound(1);
		CHECK_R(vd_pool_delete_vdisk(P.pmd, id));
		CHECK_R(vd_pool_commit(P.pmd));
		CHECK_R(reclaim_all(budget, bound, &steps));
		total += steps;
		CHECK_R(expect_clean());
	}
	printf("# budget %u, origin + 2 snapshots: %llu steps\n", budget,
	       (unsigned long long)total);
	return same_usage(&u0, 3);
}

/*
 * A chain of 100 snapshots, each of the previous one with a few blocks
 * overwritten; a member in the middle goes first (all its leaves and most
 * of its internal nodes are shared), then the rest, all deleted together.
 */
static int t_chain(unsigned int budget)
{
	struct vd_pool_usage u0;
	u64 steps, bound, b = next_id, id;

	next_id += CHAIN;
	CHECK_R(vd_pool_get_usage(P.pmd, &u0));
	CHECK_R(fill(b, NR_MAP));
	for (id = 1; id < CHAIN; id++) {
		CHECK_R(vd_pool_create_snap(P.pmd, b + id, b + id - 1));
		CHECK_R(overwrite(b + id, id * 500, 20));
	}
	CHECK_R(vd_pool_commit(P.pmd));
	bound = step_bound(1);
	CHECK_R(vd_pool_delete_vdisk(P.pmd, b + CHAIN / 2));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(reclaim_all(budget, bound, &steps));
	printf("# budget %u, member %u of a %u-deep chain: %llu steps\n", budget,
	       CHAIN / 2, CHAIN, (unsigned long long)steps);
	CHECK_R(expect_clean());
	bound = step_bound(CHAIN - 1);
	for (id = 0; id < CHAIN; id++)
		if (id != CHAIN / 2)
			CHECK_R(vd_pool_delete_vdisk(P.pmd, b + id));
	CHECK_R(vd_pool_commit(P.pmd));
	CHECK_R(reclaim_all(budget, bound, &steps));
	printf("# budget %u, the other %u: %llu steps\n", budget, CHAIN - 1,
	       (unsigned long long)steps);
	return same_usage(&u0, CHAIN);
}

int main(void)
{
	unsigned int budget;

	tap_plan(16);
	tap_ok(!pt_create(&P, 16384, 400000, DBS), "format a pool of 16384 metadata blocks");
	for (budget = 1; budget <= 4; budget++) {
		tap_ok(!t_large(budget),
		       "budget %u: a %u-mapping vdisk is reclaimed in bounded steps, pool back to start",
		       budget, NR_MAP);
		tap_ok(!t_shared(budget),
		       "budget %u: origin and two snapshots sharing its tree, each delete finishes",
		       budget);
		tap_ok(!t_chain(budget),
		       "budget %u: member of a %u-deep snapshot chain, then the rest, finish",
		       budget, CHAIN);
	}
	/* A budget too large to matter: the yield test ends every step. */
	yield = &stop_at_once;
	budget = 1024;
	tap_ok(!t_large(budget) && yield_asks,
	       "budget %u, yield at once: a %u-mapping vdisk is reclaimed in bounded steps",
	       budget, NR_MAP);
	tap_ok(!t_shared(budget), "budget %u, yield at once: origin and two snapshots finish",
	       budget);
	tap_ok(!t_chain(budget), "budget %u, yield at once: snapshot chain member, then the rest",
	       budget);
	pt_destroy(&P);
	return tap_done();
}
