// SPDX-License-Identifier: GPL-2.0
/*
 * Model test of the B+tree over the real transaction manager and space maps.
 *
 * Random operations on up to MAXT trees (insert, overwrite, shared values,
 * remove, lookup, next/prev, range iteration, range removal, O(1) clones,
 * whole and incremental deletion), each checked against a sorted-array
 * model.  At random points: commit (followed by a full refcount audit of
 * both space maps against a walk of every live tree), reopen from disk,
 * or "crash" (drop uncommitted state and reopen; the model rolls back).
 *
 * Usage: test-btree-model [seed [ops]]   (prints "# seed N" to replay)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pdata-fixture.h"
#include "tap.h"

#define MAXT		8	/* live trees: roots[0..7] */
#define MAXP		8	/* pending deletions: roots[8..15] */
#define KEYSPACE	(1u << 15)
#define NR_META		(1u << 14)
#define NR_DATA		(1u << 20)

struct mtree {
	int live;
	struct vd_ref root;
	size_t n, cap;
	u64 *keys, *vals;
};

struct model {
	struct mtree t[MAXT];
	struct vd_ref pending[MAXP];
	unsigned int nr_pending;
};

static struct pfx F;
static struct model M, COMMITTED;
static struct vd_btree_info INFO;
static u64 rng_state;
static unsigned long op_nr;
static unsigned long nr_audits;

static u64 rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static u64 rnd_below(u64 n)
{
	return n ? rnd() % n : 0;
}

/* ---------------- sorted-array model ---------------- */

static size_t m_lower(struct mtree *t, u64 k)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (t->keys[mid] < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;	/* first index with key >= k */
}

static int m_find(struct mtree *t, u64 k, size_t *pos)
{
	*pos = m_lower(t, k);
	return *pos < t->n && t->keys[*pos] == k;
}

static void m_set(struct mtree *t, u64 k, u64 v)
{
	size_t pos;

	if (m_find(t, k, &pos)) {
		t->vals[pos] = v;
		return;
	}
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->keys = realloc(t->keys, t->cap * sizeof(u64));
		t->vals = realloc(t->vals, t->cap * sizeof(u64));
		if (!t->keys || !t->vals)
			abort();
	}
	if (t->n > pos) {
		memmove(t->keys + pos + 1, t->keys + pos, (t->n - pos) * sizeof(u64));
		memmove(t->vals + pos + 1, t->vals + pos, (t->n - pos) * sizeof(u64));
	}
	t->keys[pos] = k;
	t->vals[pos] = v;
	t->n++;
}

static void m_del_range(struct mtree *t, size_t a, size_t b)
{
	if (t->n > b) {
		memmove(t->keys + a, t->keys + b, (t->n - b) * sizeof(u64));
		memmove(t->vals + a, t->vals + b, (t->n - b) * sizeof(u64));
	}
	t->n -= b - a;
}

static void m_free(struct mtree *t)
{
	free(t->keys);
	free(t->vals);
	memset(t, 0, sizeof(*t));
}

static void m_copy(struct mtree *dst, const struct mtree *src)
{
	m_free(dst);
	*dst = *src;
	dst->cap = src->n ? src->n : 1;
	dst->keys = malloc(dst->cap * sizeof(u64));
	dst->vals = malloc(dst->cap * sizeof(u64));
	if (!dst->keys || !dst->vals)
		abort();
	if (src->n) {
		memcpy(dst->keys, src->keys, src->n * sizeof(u64));
		memcpy(dst->vals, src->vals, src->n * sizeof(u64));
	}
}

static void model_copy(struct model *dst, const struct model *src)
{
	unsigned int i;

	for (i = 0; i < MAXT; i++)
		m_copy(&dst->t[i], &src->t[i]);
	memcpy(dst->pending, src->pending, sizeof(src->pending));
	dst->nr_pending = src->nr_pending;
}

/* ---------------- helpers ---------------- */

#define FAIL(...) do { printf("# op %lu: ", op_nr); printf(__VA_ARGS__); printf("\n"); \
	return -1; } while (0)

static void set_info(void)
{
	INFO.tm = F.tm;
	vd_btree_vt_mappings(&INFO.vt, F.dsm);
}

static int pick_live(void)
{
	int i, start = (int)rnd_below(MAXT);

	for (i = 0; i < MAXT; i++)
		if (M.t[(start + i) % MAXT].live)
			return (start + i) % MAXT;
	return -1;
}

static int pick_free(void)
{
	int i;

	for (i = 0; i < MAXT; i++)
		if (!M.t[i].live)
			return i;
	return -1;
}

static int new_value(u64 *v)
{
	vd_blk_t d;
	int r = vd_sm_new_block(F.dsm, &d);

	if (r)
		FAIL("data alloc: %d", r);
	*v = VD_MAP_PACK(d, 0, rnd_below(VD_MAP_MAX_SLOT + 1));
	return 0;
}

static int do_insert(struct mtree *t, u64 k, u64 v)
{
	__le64 lv = cpu_to_le64(v);
	int inserted, r;
	size_t pos;
	int existed = m_find(t, k, &pos);

	r = vd_btree_insert(&INFO, t->root, k, &lv, &t->root, &inserted);
	if (r)
		FAIL("insert %llu: %d", (unsigned long long)k, r);
	if (inserted == existed)
		FAIL("insert %llu: inserted=%d but model existed=%d", (unsigned long long)k,
		     inserted, existed);
	m_set(t, k, v);
	return 0;
}

static int compare_tree(struct mtree *t);

static int op_insert(int seq)
{
	int ti = pick_live();
	struct mtree *t;
	unsigned int n, i;
	u64 k, v;

	if (ti < 0)
		return 0;
	t = &M.t[ti];
	n = seq ? 1 + (unsigned int)rnd_below(600) : 1;
	k = seq ? (t->n ? t->keys[t->n - 1] + 1 : 0) : rnd_below(KEYSPACE);
	for (i = 0; i < n; i++, k++) {
		if (new_value(&v) || do_insert(t, k, v))
			return -1;
	}
	return 0;
}

/*
 * A sorted batch through vd_btree_insert_sorted (or one descent of
 * vd_btree_insert_many): a dense run, or keys with random gaps that hit
 * existing keys (overwrites) and new ones alike.  Now and then the batch is
 * put out of order first: that must be refused with nothing changed.
 */
#define BATCH_MAX 600

static int op_insert_many(void)
{
	static u64 keys[BATCH_MAX], vals[BATCH_MAX];
	static __le64 lvals[BATCH_MAX];
	static u8 inserted[BATCH_MAX];
	int ti = pick_live(), r;
	unsigned int n, i, gap;
	struct mtree *t;
	struct vd_ref before;
	size_t pos;
	u32 done;
	u64 k;

	if (ti < 0)
		return 0;
	t = &M.t[ti];
	n = 1 + (unsigned int)rnd_below(BATCH_MAX);
	gap = rnd_below(3) ? 1 : 1 + (unsigned int)rnd_below(40);
	k = rnd_below(KEYSPACE);
	for (i = 0; i < n; i++, k += 1 + rnd_below(gap))
		keys[i] = k;
	if (n > 1 && !rnd_below(20)) {
		u64 tmp = keys[0];
		unsigned int j = 1 + (unsigned int)rnd_below(n - 1);

		keys[0] = keys[j];
		keys[j] = tmp;
		before = t->root;
		r = vd_btree_insert_sorted(&INFO, t->root, keys, lvals, n, &t->root, inserted);
		if (r != -EINVAL)
			FAIL("unsorted batch of %u: %d, not -EINVAL", n, r);
		if (memcmp(&before, &t->root, sizeof(before)))
			FAIL("unsorted batch changed the root");
		return compare_tree(t);
	}
	for (i = 0; i < n; i++) {
		if (new_value(&vals[i]))
			return -1;
		lvals[i] = cpu_to_le64(vals[i]);
	}
	if (rnd_below(4)) {
		r = vd_btree_insert_sorted(&INFO, t->root, keys, lvals, n, &t->root, inserted);
		done = n;
	} else {
		r = vd_btree_insert_many(&INFO, t->root, keys, lvals, n, &t->root, &done,
					 inserted);
		if (!r && (done < 1 || done > n))
			FAIL("insert_many of %u stored %u", n, done);
		/* The references of the values not stored go back. */
		for (i = done; i < n && !r; i++)
			r = vd_sm_dec(F.dsm, VD_MAP_BLOCK(vals[i]));
	}
	if (r)
		FAIL("insert batch of %u at %llu: %d", n, (unsigned long long)keys[0], r);
	for (i = 0; i < done; i++) {
		int existed = m_find(t, keys[i], &pos);

		if (inserted[i] == existed)
			FAIL("batch key %llu: inserted=%d but model existed=%d",
			     (unsigned long long)keys[i], inserted[i], existed);
		m_set(t, keys[i], vals[i]);
	}
	return 0;
}

/* Insert a value that shares a data block already referenced elsewhere. */
static u64 hot;

static int op_dup(void)
{
	int ti = pick_live(), si;
	struct mtree *t, *s;
	unsigned int n;
	u64 v;

	if (ti < 0)
		return 0;
	si = pick_live();
	s = &M.t[si];
	t = &M.t[ti];
	if (!s->n)
		return 0;
	/* Bias towards one hot block so counts pass 255 (overflow tree). */
	{
		u32 c = 0;

		if (!hot || vd_sm_get_count(F.dsm, VD_MAP_BLOCK(hot), &c) || !c)
			hot = s->vals[rnd_below(s->n)];
		v = (rnd() & 1) ? hot : s->vals[rnd_below(s->n)];
	}
	for (n = 1 + (unsigned int)rnd_below(v == hot ? 40 : 2); n; n--) {
		if (vd_sm_inc(F.dsm, VD_MAP_BLOCK(v)))
			FAIL("inc data %llu", (unsigned long long)VD_MAP_BLOCK(v));
		if (do_insert(t, rnd_below(KEYSPACE), v))
			return -1;
	}
	return 0;
}

static int op_remove(void)
{
	int ti = pick_live(), r;
	struct mtree *t;
	size_t pos;
	u64 k;

	if (ti < 0)
		return 0;
	t = &M.t[ti];
	if (t->n && (rnd() % 8)) {
		pos = rnd_below(t->n);
		k = t->keys[pos];
	} else {
		k = rnd_below(KEYSPACE * 2);
	}
	{
		struct vd_ref old = t->root;
		int existed = m_find(t, k, &pos);

		r = vd_btree_remove(&INFO, t->root, k, &t->root);
		if (!existed) {
			if (r != -ENODATA || t->root.nr != old.nr || t->root.txn != old.txn)
				FAIL("remove missing %llu: %d", (unsigned long long)k, r);
			return 0;
		}
		if (r)
			FAIL("remove %llu: %d", (unsigned long long)k, r);
		m_del_range(t, pos, pos + 1);
	}
	return 0;
}

static int op_lookup(void)
{
	int ti = pick_live(), r, found;
	struct mtree *t;
	__le64 v;
	size_t pos;
	u64 k;

	if (ti < 0)
		return 0;
	t = &M.t[ti];
	k = (t->n && (rnd() & 1)) ? t->keys[rnd_below(t->n)] : rnd_below(KEYSPACE * 2);
	found = m_find(t, k, &pos);
	r = vd_btree_lookup(&INFO, t->root, k, &v);
	if (found ? (r || le64_to_cpu(v) != t->vals[pos]) : r != -ENODATA)
		FAIL("lookup %llu: r=%d", (unsigned long long)k, r);
	return 0;
}

static int op_near(void)
{
	int ti = pick_live(), r, next = (int)(rnd() & 1);
	struct mtree *t;
	u64 k, rk = 0;
	__le64 v;
	size_t pos;
	int have;

	if (ti < 0)
		return 0;
	t = &M.t[ti];
	k = rnd_below(KEYSPACE * 2);
	if (rnd() % 4 == 0 && t->n)
		k = t->keys[rnd_below(t->n)];
	pos = m_lower(t, k);
	if (next) {
		have = pos < t->n;
		r = vd_btree_lookup_next(&INFO, t->root, k, &rk, &v);
	} else {
		if (pos < t->n && t->keys[pos] == k)
			have = 1;
		else
			have = pos-- > 0;
		r = vd_btree_lookup_prev(&INFO, t->root, k, &rk, &v);
	}
	if (!have) {
		if (r != -ENODATA)
			FAIL("%s %llu: expected none, r=%d", next ? "next" : "prev",
			     (unsigned long long)k, r);
		return 0;
	}
	if (r || rk != t->keys[pos] || le64_to_cpu(v) != t->vals[pos])
		FAIL("%s %llu: r=%d key %llu expected %llu", next ? "next" : "prev",
		     (unsigned long long)k, r, (unsigned long long)rk,
		     (unsigned long long)t->keys[pos]);
	return 0;
}

struct iter_ctx {
	struct mtree *t;
	size_t pos, end;
	int bad;
};

static int iter_fn(void *context, u64 key, const void *value)
{
	struct iter_ctx *c = context;

	if (c->pos >= c->end || c->t->keys[c->pos] != key ||
	    c->t->vals[c->pos] != le64_to_cpu(*(const __le64 *)value)) {
		c->bad = 1;
		return 1;
	}
	c->pos++;
	return 0;
}

static int check_range(struct mtree *t, u64 a, u64 b)
{
	struct iter_ctx c = { .t = t, .pos = m_lower(t, a), .end = m_lower(t, b) };
	int r = vd_btree_iterate(&INFO, t->root, a, b, iter_fn, &c);

	if (r < 0 || c.bad || c.pos != c.end)
		FAIL("iterate [%llu,%llu): r=%d bad=%d at %zu of %zu", (unsigned long long)a,
		     (unsigned long long)b, r, c.bad, c.pos, c.end);
	return 0;
}

static int compare_tree(struct mtree *t)
{
	u64 count;

	if (check_range(t, 0, U64_MAX))
		return -1;
	if (vd_btree_count(&INFO, t->root, &count) || count != t->n)
		FAIL("count %llu, model %zu", (unsigned long long)count, t->n);
	return 0;
}

static int op_iterate(void)
{
	int ti = pick_live();
	u64 a, b;

	if (ti < 0)
		return 0;
	a = rnd_below(KEYSPACE);
	b = a + rnd_below(KEYSPACE / 4);
	return check_range(&M.t[ti], a, b);
}

static int op_remove_range(void)
{
	int ti = pick_live(), r;
	struct mtree *t;
	u64 a, b, removed;
	size_t pa, pb;

	if (ti < 0)
		return 0;
	t = &M.t[ti];
	a = rnd_below(KEYSPACE);
	b = a + rnd_below(rnd() & 1 ? 64 : KEYSPACE / 8);
	pa = m_lower(t, a);
	pb = m_lower(t, b);
	r = vd_btree_remove_range(&INFO, t->root, a, b, &t->root, &removed);
	if (r || removed != pb - pa)
		FAIL("remove_range [%llu,%llu): r=%d removed %llu expected %zu",
		     (unsigned long long)a, (unsigned long long)b, r,
		     (unsigned long long)removed, pb - pa);
	m_del_range(t, pa, pb);
	return 0;
}

static int op_create(void)
{
	int ti = pick_free(), r;

	if (ti < 0)
		return 0;
	r = vd_btree_empty(&INFO, &M.t[ti].root);
	if (r)
		FAIL("empty: %d", r);
	M.t[ti].live = 1;
	return 0;
}

static int op_clone(void)
{
	int si = pick_live(), ti = pick_free(), r;

	if (si < 0 || ti < 0)
		return 0;
	r = vd_btree_clone(&INFO, M.t[si].root);
	if (r)
		FAIL("clone: %d", r);
	m_copy(&M.t[ti], &M.t[si]);
	return 0;
}

static int op_delete(void)
{
	int ti = pick_live(), r;

	if (ti < 0)
		return 0;
	if (M.nr_pending < MAXP && (rnd() & 1)) {
		/* Incremental: the tree stays valid until del_step finishes it. */
		M.pending[M.nr_pending++] = M.t[ti].root;
	} else {
		r = vd_btree_del(&INFO, M.t[ti].root);
		if (r)
			FAIL("del: %d", r);
	}
	m_free(&M.t[ti]);
	return 0;
}

static int op_del_step(void)
{
	unsigned int i;
	struct vd_ref nr;
	int done, r;

	if (!M.nr_pending)
		return 0;
	i = (unsigned int)rnd_below(M.nr_pending);
	r = vd_btree_del_step(&INFO, M.pending[i], 1 + (unsigned int)rnd_below(8), NULL, &nr, &done);
	if (r)
		FAIL("del_step: %d", r);
	if (done)
		M.pending[i] = M.pending[--M.nr_pending];
	else
		M.pending[i] = nr;
	return 0;
}

static void model_to_roots(void)
{
	unsigned int i;

	memset(F.roots, 0, sizeof(F.roots));
	for (i = 0; i < MAXT; i++)
		F.roots[i] = M.t[i].live ? M.t[i].root : (struct vd_ref) { 0, 0 };
	for (i = 0; i < M.nr_pending; i++)
		F.roots[MAXT + i] = M.pending[i];
}

static int audit(void)
{
	struct vd_ref trees[MAXT + MAXP];
	unsigned int n = 0, i;

	for (i = 0; i < MAXT; i++)
		if (M.t[i].live)
			trees[n++] = M.t[i].root;
	for (i = 0; i < M.nr_pending; i++)
		trees[n++] = M.pending[i];
	nr_audits++;
	if (pfx_audit(&F, trees, n, NULL, NULL, 0))
		FAIL("refcount audit failed");
	if (vd_bm_user_nr_locked(F.bm))
		FAIL("%u blocks still locked", vd_bm_user_nr_locked(F.bm));
	return 0;
}

static int op_commit(void)
{
	int r;

	model_to_roots();
	r = pfx_commit(&F);
	if (r)
		FAIL("commit: %d", r);
	model_copy(&COMMITTED, &M);
	return audit();
}

static int roots_to_model(void)
{
	unsigned int i;

	for (i = 0; i < MAXT; i++)
		if (M.t[i].live && (M.t[i].root.nr != F.roots[i].nr ||
				    M.t[i].root.txn != F.roots[i].txn))
			FAIL("tree %u root %llu after reopen, expected %llu", i,
			     (unsigned long long)F.roots[i].nr, (unsigned long long)M.t[i].root.nr);
	return 0;
}

static int op_reopen(int crash)
{
	unsigned int i;
	int r;

	if (crash) {
		model_copy(&M, &COMMITTED);
	} else if (op_commit()) {
		return -1;
	}
	r = pfx_reopen(&F);
	if (r)
		FAIL("reopen: %d", r);
	set_info();
	if (roots_to_model())
		return -1;
	for (i = 0; i < MAXT; i++)
		if (M.t[i].live && compare_tree(&M.t[i]))
			return -1;
	return audit();
}

static int one_op(void)
{
	unsigned int w = (unsigned int)rnd_below(1000);

	if (getenv("VD_MODEL_TRACE"))
		printf("# op %lu w %u\n", op_nr, w);

	if (w < 260)
		return op_insert(0);
	if (w < 300)
		return op_insert_many();
	if (w < 320)
		return op_insert(1);
	if (w < 380)
		return op_dup();
	if (w < 500)
		return op_remove();
	if (w < 600)
		return op_lookup();
	if (w < 700)
		return op_near();
	if (w < 730)
		return op_iterate();
	if (w < 750)
		return op_remove_range();
	if (w < 765)
		return op_create();
	if (w < 785)
		return op_clone();
	if (w < 795)
		return op_delete();
	if (w < 900)
		return op_del_step();
	if (w < 960)
		return op_commit();
	if (w < 970)
		return op_reopen(0);
	if (w < 978)
		return op_reopen(1);
	{
		int ti = pick_live();

		return ti < 0 ? 0 : compare_tree(&M.t[ti]);
	}
}

static int max_count(void *context, vd_blk_t b, u32 count)
{
	u32 *m = context;

	if (count > *m)
		*m = count;
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long ops = 12000, i;
	u64 seed = (u64)time(NULL);
	int r = 0, ti;

	if (argc > 1)
		seed = strtoull(argv[1], NULL, 0);
	if (argc > 2)
		ops = strtoul(argv[2], NULL, 0);
	tap_plan(3);
	printf("# seed %llu\n# ops %lu\n", (unsigned long long)seed, ops);
	rng_state = seed * 2654435761ULL + 0x9e3779b97f4a7c15ULL;
	if (!rng_state)
		rng_state = 1;

	r = pfx_format(&F, vd_dev_create_mem(NR_META, NULL), NR_DATA, 4096);
	if (r) {
		printf("# format: %d\n", r);
		tap_ok(0, "model run");
		tap_ok(0, "audits");
		tap_ok(0, "final reopen");
		return tap_done();
	}
	set_info();
	for (i = 0; i < 3; i++)
		op_create();
	for (op_nr = 0; op_nr < ops && !r; op_nr++) {
		r = one_op();
		/* VD_MODEL_PARANOID=1: compare every tree after every op. */
		if (!r && getenv("VD_MODEL_PARANOID"))
			for (ti = 0; ti < MAXT && !r; ti++)
				if (M.t[ti].live)
					r = compare_tree(&M.t[ti]);
	}
	tap_ok(!r, "model: %lu random operations on up to %d trees (seed %llu)", op_nr, MAXT,
	       (unsigned long long)seed);
	if (!r)
		r = op_commit();
	tap_ok(!r, "refcount audits (%lu) match walks of all live trees", nr_audits);
	if (!r) {
		u32 maxc = 0;

		vd_sm_iterate_counts(F.dsm, 0, NR_DATA, max_count, &maxc);
		printf("# highest data block count %u (counts > 254 live in the overflow tree)\n",
		       maxc);
	}
	if (!r) {
		/* Finish pending deletions, drop everything: all space must return. */
		while (!r && M.nr_pending)
			r = op_del_step();
		while (!r && (ti = pick_live()) >= 0) {
			r = vd_btree_del(&INFO, M.t[ti].root);
			m_free(&M.t[ti]);
		}
		if (!r)
			r = op_reopen(0);
		if (!r) {
			vd_blk_t dfree, dnr;

			vd_sm_get_nr_free(F.dsm, &dfree);
			vd_sm_get_nr_blocks(F.dsm, &dnr);
			if (dfree != dnr) {
				printf("# %llu data blocks leaked\n", (unsigned long long)(dnr - dfree));
				r = -1;
			}
		}
	}
	tap_ok(!r, "final: all trees deleted, reopened, audit clean, no data leaked");
	pfx_destroy(&F);
	for (ti = 0; ti < MAXT; ti++) {
		m_free(&M.t[ti]);
		m_free(&COMMITTED.t[ti]);
	}
	return tap_done();
}
