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
 *	test-corruption [seed]
 */
#include "pool-test.h"

#define NV	4
#define NB	600		/* several leaves per vdisk */
#define NMETA	256

static u64 seed;
static u64 truth[NV][NB];	/* mapping + 1, 0 = unmapped */
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
	}
	errs = pt_check_dev(p.dev, 0, &rep);
	if (errs == 0 && !rep.nr_warnings) {
		printf("# %s: the checker did not notice\n", what);
		bad = 1;
	}
	pt_destroy(&p);
	return bad ? -1 : 0;
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
	tap_plan(D_NR + 2);
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
	free(base);
	free(img);
	return tap_done();
}
