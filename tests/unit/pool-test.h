/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the pool-level tests: a pool on a memory device, the
 * checker run on a fresh block manager (what is on the device, not in a
 * cache), and a small deterministic PRNG.
 */
#ifndef VD_POOL_TEST_H
#define VD_POOL_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-bm-user.h"
#include "vd-pool-metadata.h"
#include "vd-check.h"
#include "tap.h"

static inline u64 pt_rand(u64 *s)
{
	/* xorshift64* */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static inline u64 pt_below(u64 *s, u64 n)
{
	return n ? pt_rand(s) % n : 0;
}

static int pt_quiet_check;

static void pt_check_msg(void *context, enum vd_check_level level, const char *text)
{
	if (level == VD_CHECK_ERROR || !pt_quiet_check)
		printf("# check: %s%s\n", level == VD_CHECK_ERROR ? "ERROR " : "", text);
}

/* Run the checker over what is on @dev; returns the number of errors. */
static inline long pt_check_dev(struct vd_dev *dev, unsigned int flags,
				struct vd_check_report *rep_out)
{
	struct vd_block_manager *bm = vd_bm_user_create(dev, 256);
	struct vd_check_report rep = { .msg = pt_check_msg };
	int r;

	if (!bm)
		return -1;
	pt_quiet_check = 1;
	r = vd_check(bm, flags, &rep);
	vd_bm_destroy(bm);
	if (rep_out)
		*rep_out = rep;
	if (r)
		return -1;
	return (long)rep.nr_errors;
}

/* 0 if the checker finds @dev clean; otherwise says how many errors. */
static inline int pt_expect_clean(struct vd_dev *dev)
{
	long e = pt_check_dev(dev, 0, NULL);

	if (e)
		printf("# checker: %ld errors\n", e);
	CHECK(e == 0);
	return 0;
}

struct pt_pool {
	struct vd_dev *dev;
	struct vd_block_manager *bm;
	struct vd_pool_metadata *pmd;
};

static inline int pt_open(struct pt_pool *p)
{
	p->bm = vd_bm_user_create(p->dev, 1024);
	if (!p->bm)
		return -ENOMEM;
	return vd_pool_open(p->bm, 0, &p->pmd);
}

static inline void pt_close(struct pt_pool *p)
{
	if (p->pmd)
		vd_pool_close(p->pmd);
	if (p->bm)
		vd_bm_destroy(p->bm);
	p->pmd = NULL;
	p->bm = NULL;
}

static inline int pt_reopen(struct pt_pool *p)
{
	pt_close(p);
	return pt_open(p);
}

/* Format a memory pool of @nr_meta metadata blocks and open it. */
static inline int pt_create(struct pt_pool *p, u64 nr_meta, u64 nr_data, u32 dbs)
{
	struct vd_pool_format_params fp = { .data_block_size = dbs, .nr_data_blocks = nr_data };
	int r;

	memset(p, 0, sizeof(*p));
	p->dev = vd_dev_create_mem(nr_meta, NULL);
	if (!p->dev)
		return -ENOMEM;
	p->bm = vd_bm_user_create(p->dev, 1024);
	if (!p->bm)
		return -ENOMEM;
	r = vd_pool_format(p->bm, &fp);
	vd_bm_destroy(p->bm);
	p->bm = NULL;
	return r ? r : pt_open(p);
}

static inline void pt_destroy(struct pt_pool *p)
{
	pt_close(p);
	if (p->dev)
		vd_dev_close(p->dev);
	p->dev = NULL;
}

#endif
