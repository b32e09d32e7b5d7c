// SPDX-License-Identifier: GPL-2.0
/*
 * Pool-level model test: random create / snapshot / group snapshot / delete /
 * write / discard / lookup / reclaim / metadata-snapshot / abort / reopen /
 * set name / rename / remove name / user flags / next free id steps on many
 * vdisks, compared after each step with an in-memory model (vdisk -> vblock
 * -> content id, name, user flags; a snapshot copies the map, not the name).
 * Writes go block by block or, as the kernel's fast path does, as runs of
 * blocks taken first (vd_pool_alloc_data_blocks) and inserted with
 * vd_pool_insert_run.  The data
 * device is modelled by content[pblock]: a block freed while still
 * referenced, then reused, shows up as a wrong content on lookup.  The
 * checker runs after every commit and must be clean, and the sharing census
 * of every vdisk must match the model's answer: a block of vdisk X is
 * exclusive iff no other live vdisk maps it and neither a pending deletion
 * nor the held metadata snapshot references it (those two are read from the
 * committed image by walking their trees, since partial reclaim leaves an
 * unpredictable remainder).
 *
 *	test-pool-model [seed [ops]]
 */
#include "pool-test.h"
#include "vd-btree.h"
#include "vd-transaction-manager.h"

#define NV	12		/* vdisk ids 0..NV-1 */
#define NB	96		/* vblocks per vdisk */
#define NDATA	4096

/* A small set of names, so that duplicates and renames are frequent. */
static const char * const names[] = { "alpha", "beta", "gamma", "d-1", "e.2", "f:3" };
#define NNAMES	ARRAY_SIZE(names)

struct model {
	bool exists[NV];
	bool used[NV];		/* ever created (tombstones keep ids used) */
	int name[NV];		/* index into names[], -1 = unnamed */
	u32 flags[NV];		/* user flags */
	u32 map[NV][NB];	/* content id, 0 = unmapped */
};

static struct pt_pool P;
static struct model cur, committed;
static u32 content[NDATA];	/* what each data block holds */
static u32 next_content = 1;
static u64 seed, nr_ops = 20000;
static int verify_each;
static unsigned long nr_commits, nr_checks, nr_lookups, nr_census, nr_census_shared;

/* ---- the census oracle ---- */

static u8 other_ref[NDATA];	/* referenced by a pending tree or the held image */
static u32 live_refs[NDATA];	/* mappings of live vdisks naming the block */
static struct vd_ref oracle_roots[4096];
static unsigned int nr_oracle_roots;

static int oracle_leaf_fn(void *context, const struct vd_btree_walk_node *n)
{
	const __le64 *values = n->values;
	u32 i;

	for (i = 0; n->is_leaf && i < n->nr_entries; i++)
		if (VD_MAP_BLOCK(le64_to_cpu(values[i])) < NDATA)
			other_ref[VD_MAP_BLOCK(le64_to_cpu(values[i]))] = 1;
	return 0;
}

static int oracle_roots_fn(void *context, const struct vd_btree_walk_node *n)
{
	const struct vd_block_ref *values = n->values;
	u32 i;

	for (i = 0; n->is_leaf && i < n->nr_entries; i++) {
		if (nr_oracle_roots == ARRAY_SIZE(oracle_roots))
			return -ENOSPC;
		oracle_roots[nr_oracle_roots++] = vd_ref_load(&values[i]);
	}
	return 0;
}

/* Mark the data blocks of the pending trees (and, if @vdisks, of all vdisks). */
static int oracle_mark(struct vd_tm *tm, const struct vd_block_ref *roots, bool vdisks)
{
	struct vd_btree_info top = { .tm = tm }, map = { .tm = tm };
	unsigned int i;

	vd_btree_vt_plain(&top.vt, sizeof(struct vd_block_ref));
	vd_btree_vt_plain(&map.vt, sizeof(__le64));
	nr_oracle_roots = 0;
	CHECK_R(vd_btree_walk(&top, vd_ref_load(&roots[VD_ROOT_PENDING_DELETE]),
			      oracle_roots_fn, NULL));
	if (vdisks)
		CHECK_R(vd_btree_walk(&top, vd_ref_load(&roots[VD_ROOT_VDISKS]),
				      oracle_roots_fn, NULL));
	for (i = 0; i < nr_oracle_roots; i++)
		CHECK_R(vd_btree_walk(&map, oracle_roots[i], oracle_leaf_fn, NULL));
	return 0;
}

/* other_ref[] from the committed image on the device. */
static int oracle_other_refs(void)
{
	struct vd_block_manager *bm = vd_bm_user_create(P.dev, 256);
	struct vd_block_ref held_roots[VD_NR_TREE_ROOTS];
	struct vd_superblock sb;
	struct vd_space_map *msm;
	struct vd_tm *tm = NULL;
	struct vd_block *b;
	int r;

	memset(other_ref, 0, sizeof(other_ref));
	CHECK(bm);
	r = vd_pool_read_superblock(bm, &sb, NULL);
	if (!r)
		r = vd_tm_open_with_sm(bm, &sb.sm_roots[VD_SM_METADATA],
				       le64_to_cpu(sb.commit_seq), &tm, &msm);
	if (!r)
		r = oracle_mark(tm, sb.tree_roots, false);
	if (!r && le64_to_cpu(sb.held_root.blocknr)) {
		r = vd_tm_read_lock(tm, vd_ref_load(&sb.held_root), &vd_superblock_validator, &b);
		if (!r) {
			memcpy(held_roots, ((struct vd_superblock *)vd_block_data(b))->tree_roots,
			       sizeof(held_roots));
			vd_tm_unlock(tm, b);
			r = oracle_mark(tm, held_roots, true);
		}
	}
	if (tm)
		vd_tm_destroy(tm);
	vd_bm_destroy(bm);
	return r;
}

/* Right after a commit: the census of every live vdisk against the model. */
static int verify_census(void)
{
	u64 ex, sh, want_ex, m;
	unsigned int v, b;

	CHECK_R(oracle_other_refs());
	memset(live_refs, 0, sizeof(live_refs));
	for (v = 0; v < NV; v++)
		for (b = 0; cur.exists[v] && b < NB; b++)
			if (cur.map[v][b]) {
				CHECK_R(vd_pool_lookup(P.pmd, v, b, &m));
				CHECK(content[VD_MAP_BLOCK(m)] == cur.map[v][b]);
				live_refs[VD_MAP_BLOCK(m)]++;
			}
	for (v = 0; v < NV; v++) {
		u64 mapped = 0;

		if (!cur.exists[v]) {
			CHECK(vd_pool_count_sharing(P.pmd, v, &ex, &sh) == -ENOENT);
			continue;
		}
		want_ex = 0;
		for (b = 0; b < NB; b++) {
			if (!cur.map[v][b])
				continue;
			mapped++;
			CHECK_R(vd_pool_lookup(P.pmd, v, b, &m));
			want_ex += live_refs[VD_MAP_BLOCK(m)] == 1 && !other_ref[VD_MAP_BLOCK(m)];
		}
		CHECK_R(vd_pool_count_sharing(P.pmd, v, &ex, &sh));
		if (ex != want_ex || ex + sh != mapped)
			printf("# census of vdisk %u: %llu exclusive + %llu shared, model %llu of %llu\n",
			       v, (unsigned long long)ex, (unsigned long long)sh,
			       (unsigned long long)want_ex, (unsigned long long)mapped);
		CHECK(ex == want_ex && ex + sh == mapped);
		nr_census++;
		nr_census_shared += sh != 0;
	}
	return 0;
}

static int verify_vdisk(unsigned int v)
{
	struct vd_pool_vdisk_info info;
	u64 mapped = 0, m;
	unsigned int b;
	int r;

	char name[VD_NAME_MAX];

	r = vd_pool_get_details(P.pmd, v, &info);
	if (!cur.exists[v]) {
		CHECK(r == -ENOENT);
		CHECK(vd_pool_get_name(P.pmd, v, name) == -ENOENT);
		return 0;
	}
	CHECK_R(r);
	CHECK((info.flags & VD_DISK_FLAG_USER_MASK) == cur.flags[v]);
	CHECK_R(vd_pool_get_name(P.pmd, v, name));
	if (strcmp(name, cur.name[v] < 0 ? "" : names[cur.name[v]]))
		printf("# vdisk %u: name '%s', model '%s'\n", v, name,
		       cur.name[v] < 0 ? "" : names[cur.name[v]]);
	CHECK(!strcmp(name, cur.name[v] < 0 ? "" : names[cur.name[v]]));
	for (b = 0; b < NB; b++) {
		r = vd_pool_lookup(P.pmd, v, b, &m);
		nr_lookups++;
		if (!cur.map[v][b]) {
			if (r != -ENODATA)
				printf("# vdisk %u block %u: expected unmapped, got %d\n", v, b, r);
			CHECK(r == -ENODATA);
			continue;
		}
		CHECK_R(r);
		mapped++;
		if (content[VD_MAP_BLOCK(m)] != cur.map[v][b])
			printf("# vdisk %u block %u -> %llu holds %u, expected %u\n", v, b,
			       (unsigned long long)VD_MAP_BLOCK(m), content[VD_MAP_BLOCK(m)],
			       cur.map[v][b]);
		CHECK(content[VD_MAP_BLOCK(m)] == cur.map[v][b]);
	}
	CHECK(info.mapped_blocks == mapped);
	return 0;
}

/* The live vdisk named names[@k] in the model, or -1. */
static int model_owner(unsigned int k)
{
	unsigned int v;

	for (v = 0; v < NV; v++)
		if (cur.exists[v] && cur.name[v] == (int)k)
			return v;
	return -1;
}

static int verify_names(void)
{
	unsigned int k, v;
	u64 id, want = 0;
	int r;

	for (k = 0; k < NNAMES; k++) {
		int o = model_owner(k);

		r = vd_pool_find_name(P.pmd, names[k], &id);
		CHECK(o < 0 ? r == -ENOENT : !r && id == (u64)o);
	}
	for (v = 0; v < NV; v++)
		if (cur.used[v])
			want = v + 1;
	CHECK_R(vd_pool_next_free_id(P.pmd, &id));
	CHECK(id == want);
	return 0;
}

static int verify_all(void)
{
	unsigned int v;

	for (v = 0; v < NV; v++)
		CHECK_R(verify_vdisk(v));
	return verify_names();
}

/*
 * Every commit: the metadata it allocates stays within the cost bound the
 * pool's admission control reserves for it (metadata_commit_cost), and
 * afterwards every free metadata block is allocatable again.
 */
static int do_commit(void)
{
	struct vd_pool_usage before, after;
	struct vd_pool_stats st;
	long errs;

	CHECK_R(vd_pool_get_usage(P.pmd, &before));
	CHECK(before.nr_allocatable_metadata_blocks <= before.nr_free_metadata_blocks);
	CHECK_R(vd_pool_commit(P.pmd));
	vd_pool_get_stats(P.pmd, &st);
	if (st.last_commit_allocated > before.metadata_commit_cost)
		printf("# commit allocated %llu metadata blocks, bound %llu\n",
		       (unsigned long long)st.last_commit_allocated,
		       (unsigned long long)before.metadata_commit_cost);
	CHECK(st.last_commit_allocated <= before.metadata_commit_cost);
	CHECK_R(vd_pool_get_usage(P.pmd, &after));
	CHECK(after.nr_allocatable_metadata_blocks == after.nr_free_metadata_blocks);
	committed = cur;
	nr_commits++;
	errs = pt_check_dev(P.dev, 0, NULL);
	nr_checks++;
	if (errs)
		printf("# checker found %ld errors after commit %lu\n", errs, nr_commits);
	CHECK(errs == 0);
	return verify_census();
}

/*
 * Write [b, e) of vdisk @v as the kernel's fast path does: data blocks
 * first, in runs (vd_pool_alloc_data_blocks), then each run of consecutive ones in one vd_pool_insert_run, whose
 * report of unmapped blocks must match the model.  Out of space: the blocks
 * taken go back unused and nothing is written.
 */
static int write_runs(unsigned int v, unsigned int b, unsigned int e)
{
	vd_blk_t blocks[8];
	unsigned int j, k, nr = e - b, run;
	u32 mask, expect;
	int r = 0;

	for (k = 0; k < nr; k += run) {
		r = vd_pool_alloc_data_blocks(P.pmd, nr - k, &blocks[k], &run);
		if (r)
			break;
		CHECK(run >= 1 && run <= nr - k);
		for (j = 1; j < run; j++)
			blocks[k + j] = blocks[k] + j;
	}
	if (r == -ENOSPC) {
		if (k)
			CHECK_R(vd_pool_release_unused_data_blocks(P.pmd, blocks, k));
		return 0;
	}
	CHECK_R(r);
	for (k = 0; k < nr; k += run) {
		for (run = 1; k + run < nr && blocks[k + run] == blocks[k] + run; run++)
			;
		CHECK_R(vd_pool_insert_run(P.pmd, v, b + k, blocks[k], run, &mask));
		expect = 0;
		for (j = 0; j < run; j++) {
			expect |= cur.map[v][b + k + j] ? 0 : 1u << j;
			CHECK(blocks[k + j] < NDATA);
			content[blocks[k + j]] = next_content;
			cur.map[v][b + k + j] = next_content++;
		}
		CHECK(mask == expect);
	}
	return 0;
}

static int step(unsigned long i)
{
	unsigned int v = pt_below(&seed, NV), o = pt_below(&seed, NV), b, e;
	u64 op = pt_below(&seed, 112), n;

	if (getenv("VD_MODEL_TRACE"))
		printf("# step %lu op %llu v %u o %u\n", i, (unsigned long long)op, v, o);
	vd_blk_t pb, held;
	bool more;
	int r;

	if (op < 4) {				/* create */
		r = vd_pool_create_vdisk(P.pmd, v, NB * 8);
		CHECK(r == (cur.exists[v] ? -EEXIST : 0));
		if (!r) {
			cur.exists[v] = cur.used[v] = true;
			cur.name[v] = -1;
			cur.flags[v] = 0;
			memset(cur.map[v], 0, sizeof(cur.map[v]));
		}
	} else if (op < 8) {			/* snapshot */
		r = vd_pool_create_snap(P.pmd, v, o);
		if (v == o)
			CHECK(r == -EINVAL);
		else if (cur.exists[v])
			CHECK(r == -EEXIST);
		else if (!cur.exists[o])
			CHECK(r == -ENODATA);
		else
			CHECK_R(r);
		if (!r) {
			cur.exists[v] = cur.used[v] = true;
			cur.name[v] = -1;
			cur.flags[v] = 0;
			memcpy(cur.map[v], cur.map[o], sizeof(cur.map[v]));
		}
	} else if (op < 10) {			/* group snapshot of two */
		struct vd_pool_snap_pair p[2] = {
			{ v, o }, { pt_below(&seed, NV), pt_below(&seed, NV) },
		};
		bool ok = p[0].id != p[1].id && p[0].id != p[1].origin_id &&
			p[1].id != p[0].origin_id;
		unsigned int k;

		for (k = 0; k < 2; k++)
			ok = ok && p[k].id != p[k].origin_id && !cur.exists[p[k].id] &&
				cur.exists[p[k].origin_id];
		r = vd_pool_create_snaps(P.pmd, p, 2);
		CHECK(ok ? r == 0 : r != 0);
		for (k = 0; !r && k < 2; k++) {
			cur.exists[p[k].id] = cur.used[p[k].id] = true;
			cur.name[p[k].id] = -1;
			cur.flags[p[k].id] = 0;
			memcpy(cur.map[p[k].id], cur.map[p[k].origin_id], sizeof(cur.map[0]));
		}
	} else if (op < 13) {			/* delete */
		r = vd_pool_delete_vdisk(P.pmd, v);
		CHECK(r == (cur.exists[v] ? 0 : -ENODATA));
		cur.exists[v] = false;
		cur.name[v] = -1;
	} else if (op < 55) {			/* write a run of blocks */
		if (!cur.exists[v])
			return 0;
		b = pt_below(&seed, NB);
		e = b + 1 + pt_below(&seed, 6);
		if (pt_below(&seed, 2))
			return write_runs(v, b, e < NB ? e : NB);
		for (; b < e && b < NB; b++) {
			r = vd_pool_insert_new(P.pmd, v, b, &pb);
			if (r == -ENOSPC)
				break;
			CHECK_R(r);
			CHECK(pb < NDATA);
			content[pb] = next_content;
			cur.map[v][b] = next_content++;
		}
	} else if (op < 65) {			/* discard */
		if (!cur.exists[v])
			return 0;
		b = pt_below(&seed, NB);
		e = b + 1 + pt_below(&seed, 40);
		if (e > NB)
			e = NB;
		CHECK_R(vd_pool_remove_range(P.pmd, v, b, e, &n));
		for (; b < e; b++) {
			n -= !!cur.map[v][b];
			cur.map[v][b] = 0;
		}
		CHECK(n == 0);
	} else if (op < 75) {			/* lookups */
		CHECK_R(verify_vdisk(v));
	} else if (op < 82) {			/* reclaim */
		CHECK_R(vd_pool_reclaim(P.pmd, 1 + pt_below(&seed, 8), NULL, &more));
	} else if (op < 90) {
		CHECK_R(do_commit());
	} else if (op < 92) {			/* abort */
		CHECK_R(vd_pool_abort(P.pmd));
		cur = committed;
		CHECK_R(verify_all());
	} else if (op < 94) {			/* reopen */
		if (pt_below(&seed, 2))
			CHECK_R(do_commit());
		CHECK_R(pt_reopen(&P));
		cur = committed;
		CHECK_R(verify_all());
	} else if (op < 97) {			/* metadata snapshot */
		CHECK_R(vd_pool_get_metadata_snap(P.pmd, &held));
		if (held)
			CHECK_R(vd_pool_release_metadata_snap(P.pmd));
		else
			CHECK_R(vd_pool_reserve_metadata_snap(P.pmd));
	} else if (op < 100) {
		CHECK_R(verify_all());
	} else if (op < 106) {			/* set name or rename */
		unsigned int k = pt_below(&seed, NNAMES + 1);
		int owner = k < NNAMES ? model_owner(k) : -1;

		/* k == NNAMES: an invalid name, refused before anything else. */
		r = vd_pool_set_name(P.pmd, v, k < NNAMES ? names[k] : ".bad");
		if (k == NNAMES)
			CHECK(r == -EINVAL);
		else if (!cur.exists[v])
			CHECK(r == -ENOENT);
		else if (owner >= 0 && owner != (int)v)
			CHECK(r == -EEXIST);
		else
			CHECK_R(r);
		if (!r)
			cur.name[v] = k;
		CHECK_R(verify_names());
	} else if (op < 108) {			/* remove the name */
		r = vd_pool_set_name(P.pmd, v, "");
		CHECK(r == (cur.exists[v] ? 0 : -ENOENT));
		cur.name[v] = -1;
	} else if (op < 110) {			/* user flags */
		u32 set = pt_below(&seed, 2) ? VD_DISK_FLAG_AUTO_ACTIVATE : 0;
		u32 clear = pt_below(&seed, 2) ? VD_DISK_FLAG_AUTO_ACTIVATE : 0;

		if (!pt_below(&seed, 8))
			CHECK(vd_pool_set_user_flags(P.pmd, v, VD_DISK_FLAG_SNAPSHOT, 0) == -EINVAL);
		r = vd_pool_set_user_flags(P.pmd, v, set, clear);
		CHECK(r == (cur.exists[v] ? 0 : -ENOENT));
		if (!r)
			cur.flags[v] = (cur.flags[v] | set) & ~clear;
	} else {
		CHECK_R(verify_names());
	}
	(void)i;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long i;
	int ok = 1;
	bool more = true;

	kshim_verbose = -1;	/* refused operations log errors on purpose */
	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	verify_each = getenv("VD_MODEL_VERIFY_EACH") != NULL;
	if (argc > 2)
		nr_ops = strtoull(argv[2], NULL, 0);
	tap_plan(3);
	printf("# seed %llu ops %llu\n", (unsigned long long)seed, (unsigned long long)nr_ops);
	if (!seed)
		seed = 1;
	ok = tap_ok(pt_create(&P, 2048, NDATA, 8) == 0, "format and open a pool");
	memset(cur.name, -1, sizeof(cur.name));
	committed = cur;
	for (i = 0; ok && i < nr_ops; i++) {
		if (step(i) || (verify_each && verify_all())) {
			printf("# failed at step %lu (seed %s)\n", i, argc > 1 ? argv[1] : "1");
			ok = 0;
		}
	}
	if (ok) {
		/* Drain deletions and release the snapshot: all space comes back. */
		vd_blk_t held;
		unsigned int v;

		vd_pool_get_metadata_snap(P.pmd, &held);
		if (held)
			ok = !vd_pool_release_metadata_snap(P.pmd);
		for (v = 0; ok && v < NV; v++)
			if (cur.exists[v])
				ok = !vd_pool_delete_vdisk(P.pmd, v) && (cur.exists[v] = false, 1);
		while (ok && more)
			ok = !vd_pool_reclaim(P.pmd, 16, NULL, &more);
		ok = ok && !do_commit();
	}
	tap_ok(ok, "%llu random steps match the model, %lu commits, %lu clean checks, %lu lookups, %lu censuses (%lu with shared blocks)",
	       (unsigned long long)nr_ops, nr_commits, nr_checks, nr_lookups, nr_census,
	       nr_census_shared);
	{
		struct vd_pool_usage u;

		ok = ok && !vd_pool_get_usage(P.pmd, &u);
		if (ok)
			printf("# after deleting everything: %llu/%llu data blocks free\n",
			       (unsigned long long)u.nr_free_data_blocks,
			       (unsigned long long)u.nr_data_blocks);
		tap_ok(ok && u.nr_free_data_blocks == u.nr_data_blocks && !u.deletions_pending,
		       "every data block is free again after deleting all vdisks");
	}
	pt_destroy(&P);
	return tap_done();
}
