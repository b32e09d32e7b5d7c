// SPDX-License-Identifier: GPL-2.0
/*
 * Crash test: a random pool workload with commits runs on the recording
 * device; then the disk a power cut could have left is rebuilt at many
 * points (every prefix of every epoch's writes, random subsets in random
 * order, superblock writes torn at every sector) and each image must open
 * to exactly the last commit whose superblock reached the disk (the full
 * mapping and the name of every vdisk are compared) and check clean.  The
 * workload names, renames and unnames vdisks, so name-map blocks are among
 * the torn and reordered writes.
 *
 *	test-crash [seed [commits [random-subsets-per-epoch]]]
 */
#include "pool-test.h"

#define NV	6
#define NB	64
#define NMETA	384
#define NDATA	2048

static const char * const names[] = { "a", "b", "c", "d" };

struct state {
	bool exists[NV];
	u8 name[NV];		/* 1 + index into names[], 0 = unnamed */
	u32 map[NV][NB];	/* data block + 1, 0 = unmapped */
};

static struct state cur;
static struct state *states;	/* states[i]: after the i-th commit since recording */
static u64 seed;
static unsigned long nr_images, nr_torn, nr_fallback, nr_named;

static void workload_step(struct vd_pool_metadata *pmd)
{
	unsigned int v = pt_below(&seed, NV), o = pt_below(&seed, NV), b, e;
	u64 op = pt_below(&seed, 125);
	vd_blk_t pb;
	bool more;

	if (op < 8) {
		if (!vd_pool_create_vdisk(pmd, v, NB * 8)) {
			cur.exists[v] = true;
			cur.name[v] = 0;
			memset(cur.map[v], 0, sizeof(cur.map[v]));
		}
	} else if (op < 16) {
		if (!vd_pool_create_snap(pmd, v, o)) {
			cur.exists[v] = true;
			cur.name[v] = 0;
			memcpy(cur.map[v], cur.map[o], sizeof(cur.map[v]));
		}
	} else if (op < 20) {
		if (!vd_pool_delete_vdisk(pmd, v)) {
			cur.exists[v] = false;
			cur.name[v] = 0;
		}
	} else if (op < 75) {
		if (!cur.exists[v])
			return;
		b = pt_below(&seed, NB);
		if (!vd_pool_insert_new(pmd, v, b, &pb))
			cur.map[v][b] = pb + 1;
	} else if (op < 90) {
		if (!cur.exists[v])
			return;
		b = pt_below(&seed, NB);
		e = b + 1 + pt_below(&seed, 16);
		if (e > NB)
			e = NB;
		if (!vd_pool_remove_range(pmd, v, b, e, NULL))
			for (; b < e; b++)
				cur.map[v][b] = 0;
	} else if (op < 100) {
		vd_pool_reclaim(pmd, 4, NULL, &more);
	} else if (op >= 110) {
		/*
		 * The kernel's fast write path: a reserve allocated first,
		 * some of it inserted in key order, the rest given back unused
		 * (the kernel does that before every commit).
		 */
		vd_blk_t rsv[16];
		unsigned int n = 1 + pt_below(&seed, 16), used = pt_below(&seed, n + 1), i;

		if (!cur.exists[v])
			return;
		for (i = 0; i < n; i++)
			if (vd_pool_alloc_data_block(pmd, &rsv[i]))
				break;
		n = i;
		if (used > n)
			used = n;
		b = pt_below(&seed, NB);
		for (i = 0; i < used && b + i < NB; i++)
			if (!vd_pool_insert(pmd, v, b + i, VD_MAP_PACK(rsv[i], 0, 0)))
				cur.map[v][b + i] = rsv[i] + 1;
			else
				vd_pool_release_unused_data_block(pmd, rsv[i]);
		if (i < n)	/* the rest given back in one batch, as at a commit */
			vd_pool_release_unused_data_blocks(pmd, rsv + i, n - i);
	} else {				/* name, rename or unname */
		b = pt_below(&seed, ARRAY_SIZE(names) + 1);
		if (!vd_pool_set_name(pmd, v, b ? names[b - 1] : "")) {
			cur.name[v] = b;
			nr_named++;
		}
	}
}

struct cmp {
	const u32 *map;
	int bad;
	u64 next;
};

static int cmp_fn(void *context, u64 vblock, u64 mapping)
{
	struct cmp *c = context;

	for (; c->next < vblock; c->next++)
		c->bad |= c->map[c->next] != 0;
	c->bad |= vblock >= NB || c->map[vblock] != VD_MAP_BLOCK(mapping) + 1;
	c->next = vblock + 1;
	return 0;
}

/* Open @image and compare everything with states[@expect]. */
static int verify_image(const void *image, unsigned long expect, const char *what)
{
	struct pt_pool p = { 0 };
	const struct state *s = &states[expect];
	struct vd_pool_vdisk_info info;
	long errs;
	unsigned int v;
	int r, ok = 1;

	nr_images++;
	p.dev = vd_dev_create_mem(NMETA, image);
	r = pt_open(&p);
	if (r) {
		printf("# %s: open failed %d (expected commit %lu)\n", what, r, expect);
		pt_destroy(&p);
		return -1;
	}
	for (v = 0; v < NV && ok; v++) {
		struct cmp c = { .map = s->map[v] };

		r = vd_pool_get_details(p.pmd, v, &info);
		if (!s->exists[v]) {
			ok = r == -ENOENT;
			continue;
		}
		ok = !r && !vd_pool_iterate_mappings(p.pmd, v, 0, U64_MAX, cmp_fn, &c);
		if (ok) {
			char name[VD_NAME_MAX];

			ok = !vd_pool_get_name(p.pmd, v, name) &&
			     !strcmp(name, s->name[v] ? names[s->name[v] - 1] : "");
		}
		for (; ok && c.next < NB; c.next++)
			c.bad |= s->map[v][c.next] != 0;
		ok = ok && !c.bad;
	}
	if (!ok)
		printf("# %s: vdisk %u differs from commit %lu\n", what, v - 1, expect);
	errs = pt_check_dev(p.dev, 0, NULL);
	if (errs)
		printf("# %s: checker found %ld errors\n", what, errs);
	pt_destroy(&p);
	return ok && !errs ? 0 : -1;
}

/* Commit (index into states) of a superblock write event, or -1. */
static long *sb_commit_of;

/*
 * The newest commit whose superblock is on the crashed disk: durable ones
 * (epochs before @epoch) and those in @extra, unless the torn write left a
 * block different from what was written.
 */
static long expected_commit(struct vd_dev *rec, const struct vd_crash_spec *cs,
			    const u8 *image)
{
	uint64_t first, end, i;
	long best = 0;
	size_t k;

	vd_rec_epoch(rec, cs->epoch, &first, &end);
	for (i = 0; i < vd_rec_nr_events(rec); i++) {
		if (sb_commit_of[i] < 0)
			continue;
		if (i < first && sb_commit_of[i] > best)
			best = sb_commit_of[i];
	}
	for (k = 0; k < cs->nr_extra; k++) {
		u64 idx = cs->extra[k];
		struct vd_rec_event ev;

		if (sb_commit_of[idx] < 0 || sb_commit_of[idx] <= best)
			continue;
		vd_rec_event(rec, idx, &ev);
		if (memcmp(image + ev.blocknr * VD_METADATA_BLOCK_SIZE,
			   vd_rec_write_data(rec, idx), VD_METADATA_BLOCK_SIZE))
			continue;	/* torn: the old slot contents or garbage */
		best = sb_commit_of[idx];
	}
	return best;
}

static u8 *image;

/*
 * @tail_tear: the last write of cs->extra reached the disk only from sector
 * @tail_tear on (the device wrote sectors out of order); its first sectors
 * keep the old contents.  The recorder tears prefixes; this tears suffixes.
 */
static int crash_at(struct vd_dev *rec, const struct vd_crash_spec *cs, const char *what,
		    unsigned int tail_tear)
{
	long expect;

	if (tail_tear) {
		struct vd_crash_spec c2 = *cs;
		struct vd_rec_event ev;
		u64 idx = cs->extra[cs->nr_extra - 1];

		c2.nr_extra--;
		CHECK_R(vd_rec_build_image(rec, &c2, image));
		vd_rec_event(rec, idx, &ev);
		memcpy(image + ev.blocknr * VD_METADATA_BLOCK_SIZE + tail_tear * 512,
		       (const u8 *)vd_rec_write_data(rec, idx) + tail_tear * 512,
		       VD_METADATA_BLOCK_SIZE - tail_tear * 512);
	} else {
		CHECK_R(vd_rec_build_image(rec, cs, image));
	}
	expect = expected_commit(rec, cs, image);
	if (cs->torn_sectors || tail_tear)
		nr_torn++;
	if (verify_image(image, expect, what)) {
		printf("# crash spec: epoch %llu, %zu extra writes, torn %u sectors, expected commit %ld\n",
		       (unsigned long long)cs->epoch, cs->nr_extra, cs->torn_sectors, expect);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	unsigned long nr_commits = 30, subsets = 6, c, i;
	struct vd_pool_format_params fp = { .data_block_size = 8, .nr_data_blocks = NDATA };
	struct vd_pool_metadata *pmd;
	struct vd_block_manager *bm;
	struct vd_dev *rec;
	uint64_t e, nr_epochs, first, end, j, idx[256];
	int ok = 1;
	char what[96];

	seed = argc > 1 ? strtoull(argv[1], NULL, 0) : 1;
	if (argc > 2)
		nr_commits = strtoul(argv[2], NULL, 0);
	if (argc > 3)
		subsets = strtoul(argv[3], NULL, 0);
	kshim_verbose = -1;	/* damaged slots are logged on purpose */
	tap_plan(4);
	printf("# seed %llu commits %lu subsets %lu\n", (unsigned long long)seed, nr_commits, subsets);
	if (!seed)
		seed = 1;
	states = calloc(nr_commits + 1, sizeof(*states));
	image = malloc((size_t)NMETA * VD_METADATA_BLOCK_SIZE);

	/* Format, then record only the workload. */
	rec = vd_dev_create_recording(NMETA, NULL);
	bm = vd_bm_user_create(rec, 1024);
	ok = !vd_pool_format(bm, &fp);
	vd_bm_destroy(bm);
	vd_rec_reset(rec);
	bm = vd_bm_user_create(rec, 1024);
	ok = ok && !vd_pool_open(bm, 0, &pmd);
	for (c = 1; ok && c <= nr_commits; c++) {
		unsigned long n = 1 + pt_below(&seed, 30);

		for (i = 0; i < n; i++)
			workload_step(pmd);
		ok = !vd_pool_commit(pmd);
		states[c] = cur;
	}
	vd_pool_close(pmd);
	vd_bm_destroy(bm);
	tap_ok(ok, "workload of %lu commits recorded (%llu writes and flushes, %lu name changes)",
	       nr_commits, (unsigned long long)vd_rec_nr_events(rec), nr_named);

	/* Superblock writes (blocks 0 and 1), in commit order. */
	sb_commit_of = malloc(sizeof(long) * (vd_rec_nr_events(rec) + 1));
	for (j = 0, c = 0; j < vd_rec_nr_events(rec); j++) {
		struct vd_rec_event ev;

		vd_rec_event(rec, j, &ev);
		sb_commit_of[j] = -1;
		if (!ev.is_flush && ev.blocknr < VD_SUPERBLOCK_NR_SLOTS)
			sb_commit_of[j] = ++c;
	}
	ok = ok && c == nr_commits;

	/* 1. Every prefix of every epoch, in issue order. */
	nr_epochs = vd_rec_nr_flushes(rec) + 1;
	for (e = 0; ok && e < nr_epochs; e++) {
		vd_rec_epoch(rec, e, &first, &end);
		for (j = 0; ok && j <= end - first && j < ARRAY_SIZE(idx); j++) {
			struct vd_crash_spec cs = { .epoch = e, .extra = idx, .nr_extra = j };
			uint64_t k;

			for (k = 0; k < j; k++)
				idx[k] = first + k;
			snprintf(what, sizeof(what), "epoch %llu prefix %llu",
				 (unsigned long long)e, (unsigned long long)j);
			ok = !crash_at(rec, &cs, what, 0);
		}
	}
	tap_ok(ok, "every prefix of every epoch (%llu epochs) opens to the last durable commit",
	       (unsigned long long)nr_epochs);

	/* 2. Random subsets in random order. */
	for (e = 0; ok && e < nr_epochs; e++) {
		vd_rec_epoch(rec, e, &first, &end);
		for (i = 0; ok && i < subsets && end > first; i++) {
			struct vd_crash_spec cs = { .epoch = e, .extra = idx };
			uint64_t k, n = end - first;

			for (k = 0; k < n && cs.nr_extra < ARRAY_SIZE(idx); k++)
				if (pt_below(&seed, 2))
					idx[cs.nr_extra++] = first + k;
			for (k = cs.nr_extra; k > 1; k--) {
				uint64_t t = idx[k - 1], r = pt_below(&seed, k);

				idx[k - 1] = idx[r];
				idx[r] = t;
			}
			snprintf(what, sizeof(what), "epoch %llu subset %lu",
				 (unsigned long long)e, i);
			ok = !crash_at(rec, &cs, what, 0);
		}
	}
	tap_ok(ok, "random subsets of unflushed writes in random order (%lu per epoch)", subsets);

	/* 3. Torn superblock writes: every sector count, with and without others. */
	for (j = 0; ok && j < vd_rec_nr_events(rec); j++) {
		unsigned int t;
		uint64_t k;

		if (sb_commit_of[j] < 0)
			continue;
		for (e = 0; e < nr_epochs; e++) {
			vd_rec_epoch(rec, e, &first, &end);
			if (j >= first && j < end)
				break;
		}
		for (t = 1; ok && t < VD_METADATA_SECTORS; t++) {
			struct vd_crash_spec cs = { .epoch = e, .extra = idx, .torn_sectors = t };

			for (k = first; k < end && cs.nr_extra < ARRAY_SIZE(idx) - 1; k++)
				if (k != j && pt_below(&seed, 2))
					idx[cs.nr_extra++] = k;
			idx[cs.nr_extra++] = j;
			snprintf(what, sizeof(what), "superblock of commit %ld torn after %u sectors",
				 sb_commit_of[j], t);
			ok = !crash_at(rec, &cs, what, 0);
			if (ok && expected_commit(rec, &cs, image) < sb_commit_of[j])
				nr_fallback++;
			snprintf(what, sizeof(what), "superblock of commit %ld new from sector %u only",
				 sb_commit_of[j], t);
			cs.torn_sectors = 0;
			ok = ok && !crash_at(rec, &cs, what, t);
			if (ok && expected_commit(rec, &cs, image) < sb_commit_of[j])
				nr_fallback++;
		}
	}
	tap_ok(ok, "torn superblock writes fall back to the previous commit (%lu torn images, %lu fell back)",
	       nr_torn, nr_fallback);
	printf("# %lu crash images opened and checked\n", nr_images);
	vd_dev_close(rec);
	free(sb_commit_of);
	free(states);
	free(image);
	return tap_done();
}
