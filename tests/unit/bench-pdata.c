// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark of the persistent-data core (not a test; never fails a build).
 *
 *   bench-pdata [mappings (default 1048576)] [metadata file (default
 *               /tmp/vd-bench-meta.img)] [cache blocks (default 16384)]
 *
 * One vdisk-like mapping tree (key = virtual block, value = a data block
 * allocated from the data space map), on a sparse metadata file through the
 * userspace block manager (write-back cache, fdatasync at commit).  Reports
 * inserts/s (sequential, commit every 65536), random lookups/s, range scan
 * (entries/s and MB/s of mapped 4 KiB data), clone + first overwrite,
 * metadata bytes per mapped block (sequential and random fill), then on a
 * pool (vd-pool-metadata) with one vdisk of that many blocks: the sharing
 * census (vd_pool_count_sharing) in mapped blocks/s when every block is
 * exclusive, right after a snapshot (everything shared under the root), and
 * after overwriting every 256th block (unshared leaves: data counts read);
 * the write path's metadata CPU per block, one at a time and in runs; and
 * peak RSS.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "pdata-fixture.h"
#include "vd-pool-metadata.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* CPU seconds (user + system) of this process: wall time minus I/O waits. */
static double cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, int r)
{
	fprintf(stderr, "bench-pdata: %s failed: %d\n", what, r);
	exit(1);
}

static u64 used_bytes(struct pfx *f)
{
	vd_blk_t nr, nfree;

	vd_sm_get_nr_blocks(f->msm, &nr);
	vd_sm_get_nr_free(f->msm, &nfree);
	return (nr - nfree) * (u64)VD_METADATA_BLOCK_SIZE;
}

static int scan_fn(void *context, u64 key, const void *value)
{
	u64 *sum = context;

	*sum += key ^ le64_to_cpu(*(const __le64 *)value);
	return 0;
}

static void open_fresh(struct pfx *f, const char *path, u64 meta_blocks, u64 data_blocks,
		       unsigned int cache)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int r;

	if (fd < 0 || ftruncate(fd, (off_t)(meta_blocks * VD_METADATA_BLOCK_SIZE)))
		die("create metadata file", -1);
	close(fd);
	r = pfx_format(f, vd_dev_open_file(path, 1), data_blocks, cache);
	if (r)
		die("format", r);
}

static double fill_cpu;

static double fill(struct pfx *f, struct vd_btree_info *info, struct vd_ref *root, u64 n,
		   int random)
{
	double t0 = now(), c0 = cpu();
	u64 i, k;
	vd_blk_t d;
	__le64 v;
	int r;

	r = vd_btree_empty(info, root);
	if (r)
		die("empty", r);
	for (i = 0; i < n; i++) {
		/* 2654435761 is odd and n a power of two: a permutation of [0, n). */
		k = random ? (i * 2654435761ULL) & (n - 1) : i;
		r = vd_sm_new_block(f->dsm, &d);
		if (!r) {
			v = cpu_to_le64(VD_MAP_PACK(d, 0, 0));
			r = vd_btree_insert(info, *root, k, &v, root, NULL);
		}
		if (r)
			die("insert", r);
		if ((i & 65535) == 65535) {
			f->roots[0] = *root;
			r = pfx_commit(f);
			if (r)
				die("commit", r);
		}
	}
	f->roots[0] = *root;
	r = pfx_commit(f);
	if (r)
		die("commit", r);
	fill_cpu = cpu() - c0;
	return now() - t0;
}

static void census(struct vd_pool_metadata *pmd, u64 id, u64 n, const char *what)
{
	double t = now(), c = cpu();
	u64 ex, sh;
	int r = vd_pool_count_sharing(pmd, id, &ex, &sh);

	if (r)
		die("count_sharing", r);
	t = now() - t;
	c = cpu() - c;
	printf("sharing census, %s: %.0f mapped blocks/s (%.0f per CPU second, %.3f s), %llu exclusive, %llu shared\n",
	       what, n / t, n / c, t, (unsigned long long)ex, (unsigned long long)sh);
}

/* A fresh pool of @nr_data 4 KiB data blocks on a new metadata file. */
static int open_pool(const char *path, u64 meta_blocks, unsigned int cache, u64 nr_data,
		     struct vd_dev **dev, struct vd_block_manager **bm,
		     struct vd_pool_metadata **pmd)
{
	struct vd_pool_format_params fp = { .data_block_size = 8, .nr_data_blocks = nr_data };
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	int r;

	if (fd < 0 || ftruncate(fd, (off_t)(meta_blocks * VD_METADATA_BLOCK_SIZE)))
		die("create metadata file", -1);
	close(fd);
	*dev = vd_dev_open_file(path, 1);
	*bm = *dev ? vd_bm_user_create(*dev, cache) : NULL;
	if (!*bm)
		die("open metadata file", -1);
	r = vd_pool_format(*bm, &fp);
	return r ? r : vd_pool_open(*bm, 0, pmd);
}

static void close_pool(struct vd_dev *dev, struct vd_block_manager *bm,
		       struct vd_pool_metadata *pmd)
{
	vd_pool_close(pmd);
	vd_bm_destroy(bm);
	vd_dev_close(dev);
}

/* A pool with one vdisk of @n blocks, then the census in three sharing states. */
static void census_bench(const char *path, u64 n, u64 meta_blocks, unsigned int cache)
{
	struct vd_pool_metadata *pmd;
	struct vd_block_manager *bm;
	struct vd_dev *dev;
	vd_blk_t pb;
	u64 i;
	int r;

	r = open_pool(path, meta_blocks, cache, n + n / 128, &dev, &bm, &pmd);
	r = r ? r : vd_pool_create_vdisk(pmd, 1, n * 8);
	for (i = 0; !r && i < n; i++) {
		r = vd_pool_insert_new(pmd, 1, i, &pb);
		if (!r && (i & 65535) == 65535)
			r = vd_pool_commit(pmd);
	}
	r = r ? r : vd_pool_commit(pmd);
	if (r)
		die("pool fill", r);
	census(pmd, 1, n, "all exclusive");
	r = vd_pool_create_snap(pmd, 2, 1);
	r = r ? r : vd_pool_commit(pmd);
	if (r)
		die("snapshot", r);
	census(pmd, 1, n, "after a snapshot (all shared)");
	for (i = 0; !r && i < n; i += 256)
		r = vd_pool_insert_new(pmd, 1, i, &pb);
	r = r ? r : vd_pool_commit(pmd);
	if (r)
		die("overwrite", r);
	census(pmd, 1, n, "every 256th block overwritten");
	close_pool(dev, bm, pmd);
}

/*
 * Blocks 0..@n-1 of vdisk @id written as the fast path does: a reserve
 * refill in runs, then the blocks inserted 32 at a time; a commit each
 * time the count passes a multiple of 65536.
 */
static int write_in_runs(struct vd_pool_metadata *pmd, u64 id, u64 n)
{
	u32 got, mask, k;
	vd_blk_t pb;
	u64 i;
	int r = 0;

	for (i = 0; !r && i < n; i += k) {
		r = vd_pool_alloc_data_blocks(pmd, (u32)min_t(u64, n - i, 256), &pb, &got);
		for (k = 0; !r && k < got; k += min_t(u32, got - k, 32))
			r = vd_pool_insert_run(pmd, id, i + k, pb + k, min_t(u32, got - k, 32),
					       &mask);
		if (!r && ((i + k) >> 16) != (i >> 16))
			r = vd_pool_commit(pmd);
	}
	return r;
}

/*
 * The metadata work of the kernel's write path per 4 KiB block, on a pool:
 * one block at a time (vd_pool_alloc_data_block + vd_pool_insert_ex, as
 * before runs) against runs (vd_pool_alloc_data_blocks, then
 * vd_pool_insert_run of up to 32 blocks, as the fast path does now), both
 * writing @n blocks sequentially to a fresh vdisk, committing every 65536.
 */
static void write_path_bench(const char *path, u64 n, u64 meta_blocks, unsigned int cache)
{
	double c_one = 0, c_run = 0, c;
	struct vd_pool_metadata *pmd;
	struct vd_block_manager *bm;
	struct vd_dev *dev;
	vd_blk_t pb;
	bool was_unmapped;
	u64 i;
	int r;

	r = open_pool(path, meta_blocks, cache, 2 * n + 1024, &dev, &bm, &pmd);
	r = r ? r : vd_pool_create_vdisk(pmd, 1, n * 8);
	r = r ? r : vd_pool_create_vdisk(pmd, 2, n * 8);
	if (r)
		die("write path pool", r);
	c = cpu();
	for (i = 0; !r && i < n; i++) {
		r = vd_pool_alloc_data_block(pmd, &pb);
		r = r ? r : vd_pool_insert_ex(pmd, 1, i, VD_MAP_PACK(pb, 0, 0), &was_unmapped);
		if (!r && (i & 65535) == 65535)
			r = vd_pool_commit(pmd);
	}
	r = r ? r : vd_pool_commit(pmd);
	c_one = cpu() - c;
	c = cpu();
	r = r ? r : write_in_runs(pmd, 2, n);
	r = r ? r : vd_pool_commit(pmd);
	c_run = cpu() - c;
	if (r)
		die("write path", r);
	printf("write path metadata, sequential: %.2f us CPU per block one at a time, %.2f us in runs (%.1fx)\n",
	       c_one * 1e6 / n, c_run * 1e6 / n, c_one / c_run);
	close_pool(dev, bm, pmd);
}

static bool always_stop(void *context)
{
	(void)context;
	return true;
}

/*
 * Reclaim of a deleted vdisk of @n blocks written sequentially (so one
 * step's leaves free runs of neighbouring blocks), in the kernel's steps
 * (vd_pool_reclaim, budget 256 nodes, a commit every 64 steps), twice: each
 * step running to its budget, and each step stopping after its first node
 * (as when a lookup waits for md_lock all the time: reclaim_should_stop()).
 */
static void reclaim_bench(const char *path, u64 n, u64 meta_blocks, unsigned int cache)
{
	struct vd_btree_yield stop_at_once = { .should_stop = always_stop };
	const struct vd_btree_yield *yields[2] = { NULL, &stop_at_once };
	struct vd_pool_metadata *pmd;
	struct vd_block_manager *bm;
	struct vd_dev *dev;
	double c[2];
	u64 steps[2];
	bool more;
	int r, m;

	r = open_pool(path, meta_blocks, cache, 2 * n + 1024, &dev, &bm, &pmd);
	for (m = 0; m < 2 && !r; m++) {
		r = vd_pool_create_vdisk(pmd, m + 1, n * 8);
		r = r ? r : write_in_runs(pmd, m + 1, n);
	}
	r = r ? r : vd_pool_commit(pmd);
	if (r)
		die("reclaim pool fill", r);
	for (m = 0; m < 2 && !r; m++) {
		r = vd_pool_delete_vdisk(pmd, m + 1);
		r = r ? r : vd_pool_commit(pmd);
		c[m] = cpu();
		steps[m] = 0;
		do {
			r = r ? r : vd_pool_reclaim(pmd, 256, yields[m], &more);
			if (!r && !(++steps[m] & 63))
				r = vd_pool_commit(pmd);
		} while (!r && more);
		r = r ? r : vd_pool_commit(pmd);
		c[m] = cpu() - c[m];
	}
	if (r)
		die("reclaim", r);
	printf("reclaim of a sequentially written vdisk: %.0f blocks per CPU second in steps of 256 nodes (%llu steps), %.0f stopping after one node (%llu steps)\n",
	       n / c[0], (unsigned long long)steps[0], n / c[1], (unsigned long long)steps[1]);
	close_pool(dev, bm, pmd);
}

int main(int argc, char **argv)
{
	u64 n = argc > 1 ? strtoull(argv[1], NULL, 0) : 1ULL << 20;
	const char *path = argc > 2 ? argv[2] : "/tmp/vd-bench-meta.img";
	unsigned int cache = argc > 3 ? (unsigned int)strtoul(argv[3], NULL, 0) : 16384;
	u64 meta_blocks = n / 100 + 65536;	/* ~1.6x the expected need */
	struct vd_btree_info info;
	struct vd_tm_stats st;
	struct rusage ru;
	struct pfx f;
	struct vd_ref root, snap;
	vd_blk_t d;
	double t, c, t_seq, t_rand;
	u64 i, base, seq_bytes, rand_bytes, sum = 0, writes0;
	__le64 v;
	int r;

	if (n & (n - 1)) {
		fprintf(stderr, "mappings must be a power of two\n");
		return 1;
	}
	kshim_verbose = 0;
	printf("bench-pdata: %llu mappings, metadata file %s, cache %u blocks\n",
	       (unsigned long long)n, path, cache);

	/* Sequential fill. */
	open_fresh(&f, path, meta_blocks, n + 1024, cache);
	info.tm = f.tm;
	vd_btree_vt_mappings(&info.vt, f.dsm);
	base = used_bytes(&f);
	t_seq = fill(&f, &info, &root, n, 0);
	seq_bytes = used_bytes(&f) - base;
	printf("insert (sequential, commit every 65536): %.0f inserts/s (%.2f s wall, %.2f s CPU: %.0f inserts per CPU second)\n",
	       n / t_seq, t_seq, fill_cpu, n / fill_cpu);
	printf("metadata after sequential fill: %.2f bytes per mapped block (%.3f%% of 4 KiB)\n",
	       (double)seq_bytes / n, 100.0 * seq_bytes / n / 4096);

	/* Random lookups (warm cache up to its size). */
	srand(1);
	c = cpu();
	t = now();
	for (i = 0; i < n; i++) {
		u64 k = ((u64)rand() << 16 ^ (u64)rand()) & (n - 1);

		r = vd_btree_lookup(&info, root, k, &v);
		if (r)
			die("lookup", r);
	}
	t = now() - t;
	c = cpu() - c;
	printf("lookup (random, %u-block cache): %.0f lookups/s (%.0f per CPU second)\n", cache,
	       n / t, n / c);

	/* Range scan. */
	t = now();
	r = vd_btree_iterate(&info, root, 0, n, scan_fn, &sum);
	if (r)
		die("iterate", r);
	t = now() - t;
	printf("range scan: %.0f entries/s = %.0f MB/s of mapped 4 KiB data\n",
	       n / t, n * 4096.0 / t / 1e6);

	/* Clone + first overwrite. */
	writes0 = f.bm->nr_writes;
	t = now();
	r = vd_btree_clone(&info, root);
	snap = root;
	f.roots[1] = snap;
	r = r ? r : pfx_commit(&f);
	if (r)
		die("clone", r);
	t = now() - t;
	printf("clone + commit: %.3f ms, %llu metadata blocks written\n", t * 1e3,
	       (unsigned long long)(f.bm->nr_writes - writes0));
	writes0 = f.bm->nr_writes;
	t = now();
	r = vd_sm_new_block(f.dsm, &d);
	v = cpu_to_le64(VD_MAP_PACK(d, 0, 0));
	r = r ? r : vd_btree_insert(&info, snap, n / 2, &v, &snap, NULL);
	vd_tm_get_stats(f.tm, &st);
	f.roots[1] = snap;
	r = r ? r : pfx_commit(&f);
	if (r)
		die("overwrite", r);
	t = now() - t;
	printf("first overwrite after clone + commit: %.3f ms, %llu blocks copied, %llu metadata blocks written\n",
	       t * 1e3, (unsigned long long)st.nr_shadow_copies,
	       (unsigned long long)(f.bm->nr_writes - writes0));
	pfx_destroy(&f);

	/* Random fill for the metadata cost. */
	open_fresh(&f, path, meta_blocks, n + 1024, cache);
	info.tm = f.tm;
	vd_btree_vt_mappings(&info.vt, f.dsm);
	base = used_bytes(&f);
	t_rand = fill(&f, &info, &root, n, 1);
	rand_bytes = used_bytes(&f) - base;
	printf("insert (random order, commit every 65536): %.0f inserts/s (%.2f s wall, %.2f s CPU: %.0f inserts per CPU second)\n",
	       n / t_rand, t_rand, fill_cpu, n / fill_cpu);
	printf("metadata after random fill: %.2f bytes per mapped block (%.3f%% of 4 KiB)\n",
	       (double)rand_bytes / n, 100.0 * rand_bytes / n / 4096);
	pfx_destroy(&f);
	census_bench(path, n, meta_blocks, cache);
	write_path_bench(path, n, meta_blocks, cache);
	reclaim_bench(path, n, meta_blocks, cache);
	unlink(path);

	getrusage(RUSAGE_SELF, &ru);
	printf("peak RSS: %ld MiB\n", ru.ru_maxrss / 1024);
	return sum == 42 ? 2 : 0;	/* keep the scan from being optimised away */
}
