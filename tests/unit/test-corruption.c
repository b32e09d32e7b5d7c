// SPDX-License-Identifier: GPL-2.0
/*
 * Corruption test: on a small pool, damage every metadata block in use in
 * each way (bit flip, zeroed, a valid block copied over it = wrong
 * location, header stamped with a transaction after the last commit, with
 * a correct checksum), and both superblock slots.  Each damaged image must
 * fail to open with an error, or open and answer every lookup correctly
 * or with an error, and the checker must report the damage.  No crash,
 * no hang, no silently wrong lookup.
 *
 * Then stale blocks (lost writes), one case per kind of metadata block:
 * superblock slot, B+tree internal node, mapping, details, vdisks,
 * pending-deletion and name-map tree nodes, space map bitmap, index and
 * overflow nodes (see stale_tests()).  The vdisks are named, so the name map
 * is among the damaged blocks (a name is read right or refused with an
 * error, never wrong).
 *
 *	test-corruption [seed]
 */
#include "pool-test.h"
#include "vd-btree.h"
#include "vd-transaction-manager.h"

#define NV	4
#define NB	600		/* several leaves per vdisk */
#define NMETA	256

static u64 seed;
static u64 truth[NV][NB];	/* mapping + 1, 0 = unmapped */
static const char * const vnames[NV] = { "disk-0", "disk-1", "snap-of-0", "" };
static u8 *base, *img;

enum damage { D_BITFLIP, D_ZERO, D_WRONG_LOCATION, D_FUTURE_TXN, D_NR };
static const char * const dnames[] = { "bit flip", "zeroed", "wrong location", "future txn" };

static int used_fn(void *context, vd_blk_t b, u32 count)
{
	u8 *used = context;

	if (b < NMETA)
		used[b] = 1;
	return 0;
}

static void damage(u64 b, enum damage d, const u8 *used)
{
	u8 *blk = img + b * VD_METADATA_BLOCK_SIZE;
	struct vd_block_header *h = (void *)blk;
	u64 other;

	switch (d) {
	case D_BITFLIP:
		blk[pt_below(&seed, VD_METADATA_BLOCK_SIZE)] ^= 1 << pt_below(&seed, 8);
		break;
	case D_ZERO:
		memset(blk, 0, VD_METADATA_BLOCK_SIZE);
		break;
	case D_WRONG_LOCATION:
		do {
			other = pt_below(&seed, NMETA);
		} while (other == b || !used[other]);
		memcpy(blk, base + other * VD_METADATA_BLOCK_SIZE, VD_METADATA_BLOCK_SIZE);
		break;
	case D_FUTURE_TXN:
		h->txn = cpu_to_le64(le64_to_cpu(h->txn) + 1000);
		h->csum = cpu_to_le32(vd_block_csum(blk));
		break;
	default:
		break;
	}
}

/* 0: damage handled; -1: a wrong lookup or an unreported damage. */
static int try_image(const char *what)
{
	struct pt_pool p = { 0 };
	struct vd_check_report rep;
	unsigned int v, b, nr_err = 0;
	long errs;
	int r, bad = 0;
	u64 m;

	p.dev = vd_dev_create_mem(NMETA, img);
	r = pt_open(&p);
	if (!r) {
		for (v = 0; v < NV; v++) {
			for (b = 0; b < NB; b++) {
				r = vd_pool_lookup(p.pmd, v, b, &m);
				if (r == -ENODATA && !truth[v][b])
					continue;
				if (!r && truth[v][b] == m + 1)
					continue;
				if (r && r != -ENODATA) {
					nr_err++;	/* an error is an honest answer */
					continue;
				}
				printf("# %s: vdisk %u block %u: wrong answer %d/%llu\n", what, v, b,
				       r, (unsigned long long)m);
				bad = 1;
			}
		}
		for (v = 0; v < NV; v++) {
			char name[VD_NAME_MAX];
			u64 id;

			r = vd_pool_get_name(p.pmd, v, name);
			if (!r && strcmp(name, vnames[v])) {
				printf("# %s: vdisk %u: wrong name '%s'\n", what, v, name);
				bad = 1;
			}
			if (!vnames[v][0])
				continue;
			r = vd_pool_find_name(p.pmd, vnames[v], &id);
			if (!r && id != v) {
				printf("# %s: '%s' found as vdisk %llu\n", what, vnames[v],
				       (unsigned long long)id);
				bad = 1;
			}
		}
	}
	errs = pt_check_dev(p.dev, 0, &rep);
	if (errs == 0 && !rep.nr_warnings) {
		printf("# %s: the checker did not notice\n", what);
		bad = 1;
	}
	pt_destroy(&p);
	return bad ? -1 : 0;
}

/* ---------------------------------------------------------------------- */
/* Stale blocks: lost writes that leave an older, valid block in place.   */
/* ---------------------------------------------------------------------- */

/*
 * A workload on a recording device logs every block write.  At a commit
 * point T the image is the log replayed up to T's superblock write.  A
 * "lost write" of block b at T: b gets back the contents of the write to b
 * before its last one, an older but valid block (checksum, magic and its
 * own location all right; only its header txn is older than the reference
 * to it).  One case per kind of metadata block, at the latest commit point
 * where that kind can be made stale.  Each must be refused at open, or be
 * reported by the checker naming the stale block, and no lookup may
 * return anything but the model's value or an error.
 */
#define S_NMETA		1024
#define S_NB		300	/* two mapping leaves and an internal node */
#define S_NSNAP		264	/* hot leaf counts pass 255: overflow tree */
#define S_NVD		(10 + S_NSNAP)

enum skind { K_NONE, K_SB_SLOT, K_INTERNAL, K_MAP_LEAF, K_DETAILS_INTERNAL, K_DETAILS_LEAF, K_VDISKS,
	     K_PENDING, K_BITMAP, K_SM_INDEX, K_OVERFLOW, K_NAMES, K_NR };
static const char * const knames[] = {
	"", "superblock slot", "B+tree internal node (mapping tree)", "mapping-tree leaf",
	"details-tree internal node", "details-tree leaf", "vdisks-tree node", "pending-deletion tree node",
	"space map bitmap", "space map index node", "overflow-tree node", "name-map node",
};

enum sop_type { OP_MAP, OP_SNAP, OP_DELETE };
struct sop {
	u8 type;
	u32 v, vb;
	u64 val;			/* OP_MAP: mapping; OP_SNAP: origin */
};

static struct sop *sops;
static unsigned int nr_sops, sops_alloc;
static struct { u64 seq; unsigned int nr_ops; } scommits[512];
static unsigned int nr_scommits;
static u64 (*struth)[S_NB];		/* model at a commit, mapping + 1 */

static void sop_add(u8 type, u32 v, u32 vb, u64 val)
{
	if (nr_sops == sops_alloc) {
		sops_alloc = sops_alloc ? 2 * sops_alloc : 1024;
		sops = realloc(sops, sops_alloc * sizeof(*sops));
	}
	sops[nr_sops++] = (struct sop) { type, v, vb, val };
}

static void model_at(unsigned int nr_ops)
{
	unsigned int i;

	memset(struth, 0, sizeof(u64) * S_NVD * S_NB);
	for (i = 0; i < nr_ops; i++) {
		const struct sop *o = &sops[i];

		if (o->type == OP_MAP)
			struth[o->v][o->vb] = o->val + 1;
		else if (o->type == OP_SNAP)
			memcpy(struth[o->v], struth[o->val], sizeof(struth[0]));
		else
			memset(struth[o->v], 0, sizeof(struth[0]));
	}
}

static int s_commit(struct pt_pool *p)
{
	struct vd_pool_usage u;

	if (vd_pool_commit(p->pmd) || vd_pool_get_usage(p->pmd, &u) ||
	    nr_scommits == ARRAY_SIZE(scommits))
		return -1;
	scommits[nr_scommits].seq = u.commit_seq;
	scommits[nr_scommits++].nr_ops = nr_sops;
	return 0;
}

static int s_map(struct pt_pool *p, u32 v, u32 vb)
{
	vd_blk_t pb;

	if (vd_pool_insert_new(p->pmd, v, vb, &pb))
		return -1;
	sop_add(OP_MAP, v, vb, pb);
	return 0;
}

/* The workload; every commit is recorded in scommits[]. */
static int stale_workload(struct pt_pool *p)
{
	struct vd_pool_format_params fp = { .data_block_size = 8, .nr_data_blocks = 8192 };
	unsigned int k, b;
	char name[VD_NAME_MAX];
	bool more;
	int r;

	p->dev = vd_dev_create_recording(S_NMETA, NULL);
	p->bm = p->dev ? vd_bm_user_create(p->dev, 1024) : NULL;
	CHECK(p->bm);
	CHECK_R(vd_pool_format(p->bm, &fp));
	CHECK_R(vd_pool_open(p->bm, 0, &p->pmd));
	CHECK_R(vd_pool_create_vdisk(p->pmd, 0, S_NB * 8));
	CHECK_R(vd_pool_create_vdisk(p->pmd, 1, S_NB * 8));
	for (b = 0; b < S_NB; b++) {
		CHECK_R(s_map(p, 0, b));
		if (pt_below(&seed, 2))
			CHECK_R(s_map(p, 1, b));
	}
	CHECK_R(s_commit(p));
	for (k = 0; k < S_NSNAP; k++) {
		u32 id = 10 + k;

		/* The origin's shared leaf is copied: its data blocks gain a count. */
		CHECK_R(vd_pool_create_snap(p->pmd, id, 0));
		sop_add(OP_SNAP, id, 0, 0);
		CHECK_R(s_map(p, 0, 0));
		if (k % 3 == 0)
			CHECK_R(s_map(p, 1, pt_below(&seed, S_NB)));
		if (k % 5 == 0)
			CHECK_R(s_map(p, id, pt_below(&seed, S_NB)));
		if (k % 40 == 39) {
			/* Deleted snapshots go through the pending-deletion tree. */
			CHECK_R(vd_pool_delete_vdisk(p->pmd, id - 1));
			sop_add(OP_DELETE, id - 1, 0, 0);
		}
		if (k % 4 == 3) {
			if (k % 8 == 7)
				CHECK_R(vd_pool_reclaim(p->pmd, 4, NULL, &more));
			CHECK_R(s_commit(p));
		}
	}
	/*
	 * Name the snapshots (a name map of several leaves and an internal
	 * node; named only now so the blocks reused above stay as they were),
	 * then deletions rewrite name-map nodes in the last commits.
	 */
	for (k = 0; k < S_NSNAP; k++) {
		snprintf(name, sizeof(name), "snap-%u", 10 + k);
		r = vd_pool_set_name(p->pmd, 10 + k, name);
		CHECK(r == 0 || r == -ENOENT);		/* deleted ones */
	}
	CHECK_R(s_commit(p));
	/* End with deletions pending, then a few small commits. */
	for (k = 0; k < 3; k++) {
		CHECK_R(vd_pool_delete_vdisk(p->pmd, 11 + 2 * k));
		sop_add(OP_DELETE, 11 + 2 * k, 0, 0);
		CHECK_R(s_map(p, 1, pt_below(&seed, S_NB)));
		CHECK_R(s_commit(p));
	}
	return 0;
}

/* ---- classification of the live blocks of one image ---- */

struct sclass {
	u8 kind[S_NMETA];
	u64 ref_txn[S_NMETA];
	u64 nr_overflow;		/* entries in the data overflow tree */
	struct vd_ref roots[S_NVD * 2];
	unsigned int nr_roots;
	struct vd_ref bitmaps[16];
	unsigned int nr_bitmaps;
	enum skind cur, leaf_kind;
	bool overflow;
};

static int class_fn(void *context, const struct vd_btree_walk_node *n)
{
	struct sclass *c = context;
	u32 i;

	if (n->blocknr >= S_NMETA)
		return -EINVAL;
	if (c->kind[n->blocknr])
		return VD_BTREE_WALK_SKIP;
	c->kind[n->blocknr] = n->is_leaf ? c->leaf_kind : c->cur;
	c->ref_txn[n->blocknr] = n->txn;
	if (!n->is_leaf)
		return 0;
	if (c->overflow)
		c->nr_overflow += n->nr_entries;
	for (i = 0; i < n->nr_entries; i++) {
		const void *val = (const u8 *)n->values + (size_t)i * n->value_size;

		if (c->leaf_kind == K_VDISKS || c->leaf_kind == K_PENDING) {
			if (c->nr_roots < ARRAY_SIZE(c->roots))
				c->roots[c->nr_roots++] = vd_ref_load(val);
		} else if (c->leaf_kind == K_SM_INDEX && c->nr_bitmaps < ARRAY_SIZE(c->bitmaps)) {
			c->bitmaps[c->nr_bitmaps++] =
				vd_ref_load(&((const struct vd_sm_index_entry *)val)->bitmap);
		}
	}
	return 0;
}

static int class_walk(struct sclass *c, struct vd_tm *tm, struct vd_ref root, enum skind node,
		      enum skind leaf, u32 vsize)
{
	struct vd_btree_info info = { .tm = tm };

	vd_btree_vt_plain(&info.vt, vsize);
	c->cur = node;
	c->leaf_kind = leaf;
	return vd_btree_walk(&info, root, class_fn, c);
}

static int classify(const u8 *image, u64 seq, struct sclass *c)
{
	struct vd_dev *dev = vd_dev_create_mem(S_NMETA, image);
	struct vd_block_manager *bm = dev ? vd_bm_user_create(dev, 64) : NULL;
	struct vd_space_map *msm;
	struct vd_superblock sb;
	struct vd_tm *tm = NULL;
	unsigned int i, s;
	int r = -ENOMEM;

	memset(c, 0, sizeof(*c));
	if (!bm)
		goto out;
	r = vd_pool_read_superblock(bm, &sb, NULL);
	if (!r && le64_to_cpu(sb.commit_seq) != seq)
		r = -EINVAL;
	if (!r)
		r = vd_tm_open_with_sm(bm, &sb.sm_roots[VD_SM_METADATA], seq, &tm, &msm);
	if (r)
		goto out;
	for (s = 0; s < 2 && !r; s++) {
		const struct vd_sm_root *smr = &sb.sm_roots[s == 0 ? VD_SM_METADATA : VD_SM_DATA];

		c->nr_bitmaps = 0;
		r = class_walk(c, tm, vd_ref_load(&smr->index_root), K_SM_INDEX, K_SM_INDEX,
			       sizeof(struct vd_sm_index_entry));
		c->overflow = s == 1;
		if (!r)
			r = class_walk(c, tm, vd_ref_load(&smr->overflow_root), K_OVERFLOW,
				       K_OVERFLOW, 8);
		c->overflow = false;
		for (i = 0; i < c->nr_bitmaps; i++) {
			c->kind[c->bitmaps[i].nr] = K_BITMAP;
			c->ref_txn[c->bitmaps[i].nr] = c->bitmaps[i].txn;
		}
	}
	if (!r)
		r = class_walk(c, tm, vd_ref_load(&sb.tree_roots[VD_ROOT_VDISKS]), K_VDISKS,
			       K_VDISKS, sizeof(struct vd_block_ref));
	if (!r)
		r = class_walk(c, tm, vd_ref_load(&sb.tree_roots[VD_ROOT_PENDING_DELETE]),
			       K_PENDING, K_PENDING, sizeof(struct vd_block_ref));
	if (!r)
		r = class_walk(c, tm, vd_ref_load(&sb.tree_roots[VD_ROOT_DETAILS]), K_DETAILS_INTERNAL,
			       K_DETAILS_LEAF, sizeof(struct vd_disk_details));
	if (!r && le64_to_cpu(sb.tree_roots[VD_ROOT_NAME_MAP].blocknr))
		r = class_walk(c, tm, vd_ref_load(&sb.tree_roots[VD_ROOT_NAME_MAP]), K_NAMES,
			       K_NAMES, sizeof(struct vd_disk_name));
	for (i = 0; i < c->nr_roots && !r; i++)
		r = class_walk(c, tm, c->roots[i], K_INTERNAL, K_MAP_LEAF, 8);
	c->kind[0] = c->kind[1] = K_SB_SLOT;
out:
	if (tm)
		vd_tm_destroy(tm);
	vd_bm_destroy(bm);
	if (dev)
		vd_dev_close(dev);
	return r;
}

/* ---- the cases ---- */

struct scase {
	enum skind kind;
	unsigned int commit;		/* index into scommits */
	u64 sb_event;			/* the commit's superblock write */
	u64 blocknr, old_event;
	u64 old_txn, ref_txn;
};

static const struct vd_block_header *ev_hdr(struct vd_dev *rec, u64 e)
{
	return vd_rec_write_data(rec, e);
}

/* An older version of the block: valid, same type and location, older txn. */
static bool stale_candidate(struct vd_dev *rec, u64 b, u64 cur_ev, u64 old_ev, u64 ref_txn)
{
	const struct vd_block_header *cur = ev_hdr(rec, cur_ev), *old = ev_hdr(rec, old_ev);

	return old->magic == cur->magic && le64_to_cpu(old->blocknr) == b &&
	       le32_to_cpu(old->csum) == vd_block_csum(old) &&
	       le64_to_cpu(cur->txn) == ref_txn && le64_to_cpu(old->txn) < ref_txn;
}

/* Forward pass over the log: the latest usable commit point for each kind. */
static int find_cases(struct vd_dev *rec, struct scase *cases, u8 *image)
{
	u64 nr_ev = vd_rec_nr_events(rec), e, *last, *prev;
	struct sclass *cl = malloc(sizeof(*cl));
	unsigned int ci = 0;
	struct vd_rec_event ev;
	u64 b;

	last = calloc(S_NMETA, sizeof(u64));
	prev = calloc(S_NMETA, sizeof(u64));
	CHECK(cl && last && prev);
	memset(image, 0, (size_t)S_NMETA * VD_METADATA_BLOCK_SIZE);
	for (e = 0; e < nr_ev; e++) {
		const struct vd_superblock *sb;

		CHECK_R(vd_rec_event(rec, e, &ev));
		if (ev.is_flush)
			continue;
		memcpy(image + ev.blocknr * VD_METADATA_BLOCK_SIZE, vd_rec_write_data(rec, e),
		       VD_METADATA_BLOCK_SIZE);
		prev[ev.blocknr] = last[ev.blocknr];
		last[ev.blocknr] = e + 1;	/* 0 = never written */
		if (ev.blocknr >= VD_SUPERBLOCK_NR_SLOTS)
			continue;
		sb = vd_rec_write_data(rec, e);
		while (ci < nr_scommits && scommits[ci].seq < le64_to_cpu(sb->commit_seq))
			ci++;
		if (ci == nr_scommits || scommits[ci].seq != le64_to_cpu(sb->commit_seq))
			continue;	/* format's commits */
		CHECK_R(classify(image, scommits[ci].seq, cl));
		for (b = 0; b < S_NMETA; b++) {
			enum skind k = cl->kind[b];
			u64 ref_txn = cl->ref_txn[b];

			if (!k || !prev[b])
				continue;
			if (k == K_SB_SLOT) {
				/* Only the slot not in use: the current one is below. */
				if (b == VD_SUPERBLOCK_SLOT(scommits[ci].seq))
					continue;
				ref_txn = scommits[ci].seq - 1;
			}
			if (k == K_OVERFLOW && !cl->nr_overflow)
				continue;
			if (!stale_candidate(rec, b, last[b] - 1, prev[b] - 1, ref_txn))
				continue;
			cases[k] = (struct scase) {
				.kind = k, .commit = ci, .sb_event = e, .blocknr = b,
				.old_event = prev[b] - 1, .ref_txn = ref_txn,
				.old_txn = le64_to_cpu(ev_hdr(rec, prev[b] - 1)->txn),
			};
		}
		ci++;
	}
	free(cl);
	free(last);
	free(prev);
	return 0;
}

static u64 stale_block;
static int stale_named;

static void stale_msg(void *context, enum vd_check_level level, const char *text)
{
	char want[48];

	if (level != VD_CHECK_ERROR)
		return;
	printf("# check: ERROR %s\n", text);
	snprintf(want, sizeof(want), "block %llu", (unsigned long long)stale_block);
	if (strstr(text, "stale") && (strstr(text, want) ||
				      (stale_block < 2 && strstr(text, "slot"))))
		stale_named = 1;
}

/* Build the stale image of @sc and judge it: 0 handled, -1 not. */
static int run_case(struct vd_dev *rec, const struct scase *sc, u8 *image)
{
	const struct vd_block_header *old = ev_hdr(rec, sc->old_event);
	struct vd_check_report rep = { .msg = stale_msg };
	struct vd_block_manager *bm;
	struct pt_pool p = { 0 };
	struct vd_rec_event ev;
	unsigned int v, vb, nr_err = 0, nr_right = 0;
	int r, open_r, bad = 0;
	u64 e, m;

	memset(image, 0, (size_t)S_NMETA * VD_METADATA_BLOCK_SIZE);
	for (e = 0; e <= sc->sb_event; e++) {
		CHECK_R(vd_rec_event(rec, e, &ev));
		if (!ev.is_flush)
			memcpy(image + ev.blocknr * VD_METADATA_BLOCK_SIZE,
			       vd_rec_write_data(rec, e), VD_METADATA_BLOCK_SIZE);
	}
	/* The stale case is real: same place, valid, older than its reference. */
	CHECK(sc->old_event < sc->sb_event);
	CHECK(le64_to_cpu(old->blocknr) == sc->blocknr);
	CHECK(le32_to_cpu(old->csum) == vd_block_csum(old));
	CHECK(le64_to_cpu(((struct vd_block_header *)
			   (image + sc->blocknr * VD_METADATA_BLOCK_SIZE))->txn) == sc->ref_txn);
	CHECK(sc->old_txn < sc->ref_txn);
	CHECK(memcmp(image + sc->blocknr * VD_METADATA_BLOCK_SIZE, old, VD_METADATA_BLOCK_SIZE));
	memcpy(image + sc->blocknr * VD_METADATA_BLOCK_SIZE, old, VD_METADATA_BLOCK_SIZE);
	model_at(scommits[sc->commit].nr_ops);

	p.dev = vd_dev_create_mem(S_NMETA, image);
	CHECK(p.dev);
	open_r = pt_open(&p);
	if (!open_r) {
		for (v = 0; v < S_NVD; v++) {
			for (vb = 0; vb < S_NB; vb++) {
				r = vd_pool_lookup(p.pmd, v, vb, &m);
				if (!r && struth[v][vb] == m + 1) {
					nr_right++;
					continue;
				}
				/* Unmapped, or a vdisk that does not exist (any more). */
				if ((r == -ENODATA || r == -ENOENT) && !struth[v][vb])
					continue;
				if (r && r != -ENODATA && r != -ENOENT) {
					nr_err++;	/* an error is an honest answer */
					continue;
				}
				if (bad++ < 5)
					printf("# vdisk %u block %u: wrong answer %d/%llu, model %llu\n",
					       v, vb, r, (unsigned long long)m,
					       (unsigned long long)struth[v][vb] - 1);
			}
		}
	}
	pt_close(&p);
	stale_block = sc->blocknr;
	stale_named = 0;
	bm = vd_bm_user_create(p.dev, 256);
	CHECK(bm);
	r = vd_check(bm, 0, &rep);
	vd_bm_destroy(bm);
	vd_dev_close(p.dev);
	printf("# %s: block %llu at commit %llu holds its txn %llu version (reference: %llu): open %d, %u right, %u errors, checker %llu errors%s\n",
	       knames[sc->kind], (unsigned long long)sc->blocknr,
	       (unsigned long long)scommits[sc->commit].seq, (unsigned long long)sc->old_txn,
	       (unsigned long long)sc->ref_txn, open_r, nr_right, nr_err,
	       (unsigned long long)rep.nr_errors, stale_named ? ", names the stale block" : "");
	CHECK(!bad);
	CHECK(!r && rep.nr_errors > 0);
	CHECK(stale_named);
	return 0;
}

static void stale_tests(void)
{
	struct scase cases[K_NR] = { 0 };
	struct pt_pool p = { 0 };
	u8 *image = malloc((size_t)S_NMETA * VD_METADATA_BLOCK_SIZE);
	int ok;
	unsigned int k;

	struth = malloc(sizeof(u64) * S_NVD * S_NB);
	ok = image && struth && !stale_workload(&p);
	pt_close(&p);
	ok = ok && pt_check_dev(p.dev, 0, NULL) == 0;
	tap_ok(ok, "stale blocks: workload of %u commits (%u snapshots, deletions pending) checks clean",
	       nr_scommits, S_NSNAP);
	ok = ok && !find_cases(p.dev, cases, image);
	for (k = K_SB_SLOT; k < K_NR; k++) {
		if (!ok || cases[k].kind != k) {
			tap_ok(0, "stale %s: no case could be constructed", knames[k]);
			continue;
		}
		tap_ok(!run_case(p.dev, &cases[k], image),
		       "stale %s (lost write): refused or reported by name, never a wrong lookup",
		       knames[k]);
	}
	if (p.dev)
		vd_dev_close(p.dev);
	free(image);
	free(struth);
	free(sops);
}

int main(int argc, char **argv)
{
	struct pt_pool p;
	u8 used[NMETA] = { 0 };
	unsigned int v, b, d, nr_used = 0;
	unsigned long nr_images = 0;
	char what[96];
	int ok, okd[D_NR] = { 1, 1, 1, 1 };
	vd_blk_t pb;
	u64 blk;

	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	kshim_verbose = -1;
	tap_plan(D_NR + 2 + K_NR);
	printf("# seed %llu\n", (unsigned long long)seed);
	if (!seed)
		seed = 1;

	ok = !pt_create(&p, NMETA, 4096, 8);
	for (v = 0; ok && v < NV; v++) {
		if (v == 2) {
			ok = !vd_pool_create_snap(p.pmd, v, 0);
			memcpy(truth[v], truth[0], sizeof(truth[v]));
		} else {
			ok = !vd_pool_create_vdisk(p.pmd, v, NB * 8);
		}
		for (b = 0; ok && b < NB; b++) {
			if (pt_below(&seed, 3))
				continue;
			ok = !vd_pool_insert_new(p.pmd, v, b, &pb);
			truth[v][b] = pb + 1;
		}
		ok = ok && !vd_pool_set_name(p.pmd, v, vnames[v]);
	}
	ok = ok && !vd_pool_delete_vdisk(p.pmd, 3);
	memset(truth[3], 0, sizeof(truth[3]));
	/* Twice: both slots describe the same state. */
	ok = ok && !vd_pool_commit(p.pmd) && !vd_pool_commit(p.pmd);
	ok = ok && !vd_pool_iterate_counts(p.pmd, true, used_fn, used);
	tap_ok(ok && pt_check_dev(p.dev, 0, NULL) == 0, "small pool built and checks clean");
	pt_close(&p);
	base = malloc((size_t)NMETA * VD_METADATA_BLOCK_SIZE);
	img = malloc((size_t)NMETA * VD_METADATA_BLOCK_SIZE);
	memcpy(base, vd_dev_mem_image(p.dev), (size_t)NMETA * VD_METADATA_BLOCK_SIZE);
	for (blk = 0; blk < NMETA; blk++)
		nr_used += used[blk];

	for (d = 0; d < D_NR; d++) {
		for (blk = 0; ok && blk < NMETA; blk++) {
			if (!used[blk])
				continue;
			memcpy(img, base, (size_t)NMETA * VD_METADATA_BLOCK_SIZE);
			damage(blk, d, used);
			if (!memcmp(img + blk * VD_METADATA_BLOCK_SIZE,
				    base + blk * VD_METADATA_BLOCK_SIZE, VD_METADATA_BLOCK_SIZE))
				continue;	/* copied an identical block */
			snprintf(what, sizeof(what), "%s of block %llu", dnames[d],
				 (unsigned long long)blk);
			nr_images++;
			if (try_image(what))
				okd[d] = 0;
		}
		tap_ok(okd[d], "%s of each of the %u metadata blocks in use: error or right answer, checker reports it",
		       dnames[d], nr_used);
	}
	memcpy(img, base, (size_t)NMETA * VD_METADATA_BLOCK_SIZE);
	damage(0, D_ZERO, used);
	damage(1, D_BITFLIP, used);
	{
		struct pt_pool q = { 0 };

		q.dev = vd_dev_create_mem(NMETA, img);
		ok = pt_open(&q) != 0 && pt_check_dev(q.dev, 0, NULL) > 0;
		pt_destroy(&q);
	}
	tap_ok(ok, "both superblock slots damaged: open refuses, checker reports it");
	printf("# %lu damaged images\n", nr_images);
	vd_dev_close(p.dev);
	stale_tests();
	free(base);
	free(img);
	return tap_done();
}
