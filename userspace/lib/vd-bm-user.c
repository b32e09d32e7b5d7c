// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace block manager: a write-back cache of 4 KiB blocks over a vd_dev.
 *
 * Single-threaded.  Lock misuse (a second lock on a write-locked block, a
 * write lock on a read-locked one) returns -EBUSY and is logged: in the
 * kernel it would deadlock, here it makes tests fail.
 *
 * Lists: every cached block is in the hash table; clean unlocked blocks are
 * on the LRU list (eviction candidates); dirty blocks are on the dirty list
 * until written.  Dirty blocks are only written by flush/flush_and_unlock,
 * so nothing reaches the device before the transaction manager asks.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/kernel.h>

#include "vd-bm-user.h"

#define BS VD_METADATA_BLOCK_SIZE

struct ublock {
	struct vd_block blk;
	const struct vd_validator *v;	/* last lock's validator */
	unsigned int readers;
	int write_locked;
	int dirty;
	int validated;			/* contents passed v's check */
	struct ublock *hnext;
	struct ublock *prev, *next;	/* LRU or dirty list */
	int on_list;			/* 0 none, 1 LRU, 2 dirty */
};

struct ulist {
	struct ublock *head, *tail;
	uint64_t n;
};

struct vd_bm_user {
	struct vd_block_manager bm;
	struct vd_dev *dev;
	unsigned int cache_blocks;
	struct ublock **hash;
	size_t hash_size;
	uint64_t nr_cached;
	unsigned int nr_locked;
	struct ulist lru, dirty;
};

static struct vd_bm_user *to_ubm(struct vd_block_manager *bm)
{
	return container_of(bm, struct vd_bm_user, bm);
}

static void list_del_ub(struct vd_bm_user *u, struct ublock *b)
{
	struct ulist *l;

	if (!b->on_list)
		return;
	l = b->on_list == 1 ? &u->lru : &u->dirty;
	if (b->prev)
		b->prev->next = b->next;
	else
		l->head = b->next;
	if (b->next)
		b->next->prev = b->prev;
	else
		l->tail = b->prev;
	b->prev = NULL;
	b->next = NULL;
	b->on_list = 0;
	l->n--;
}

static void list_add_ub(struct vd_bm_user *u, struct ublock *b, int which)
{
	struct ulist *l = which == 1 ? &u->lru : &u->dirty;

	list_del_ub(u, b);
	b->prev = l->tail;
	b->next = NULL;
	if (l->tail)
		l->tail->next = b;
	else
		l->head = b;
	l->tail = b;
	l->n++;
	b->on_list = which;
}

static size_t hash_of(struct vd_bm_user *u, vd_blk_t nr)
{
	return (size_t)((nr * 0x9e3779b97f4a7c15ULL) >> 20) & (u->hash_size - 1);
}

static struct ublock *lookup(struct vd_bm_user *u, vd_blk_t nr)
{
	struct ublock *b;

	for (b = u->hash[hash_of(u, nr)]; b; b = b->hnext)
		if (b->blk.nr == nr)
			return b;
	return NULL;
}

static void hash_remove(struct vd_bm_user *u, struct ublock *b)
{
	struct ublock **pp = &u->hash[hash_of(u, b->blk.nr)];

	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
}

static void free_ub(struct ublock *b)
{
	free(b->blk.data);
	free(b);
}

static void evict(struct vd_bm_user *u)
{
	while (u->nr_cached > u->cache_blocks && u->lru.head) {
		struct ublock *b = u->lru.head;

		list_del_ub(u, b);
		hash_remove(u, b);
		u->nr_cached--;
		free_ub(b);
	}
}

/* Keep chains short: double the table when it holds twice its size. */
static void maybe_grow_hash(struct vd_bm_user *u)
{
	size_t i, new_size = u->hash_size * 2;
	struct ublock **old = u->hash, *b, *next;

	if (u->nr_cached < u->hash_size * 2)
		return;
	u->hash = calloc(new_size, sizeof(*u->hash));
	if (!u->hash) {
		u->hash = old;	/* keep going with longer chains */
		return;
	}
	u->hash_size = new_size;
	for (i = 0; i < new_size / 2; i++)
		for (b = old[i]; b; b = next) {
			next = b->hnext;
			b->hnext = u->hash[hash_of(u, b->blk.nr)];
			u->hash[hash_of(u, b->blk.nr)] = b;
		}
	free(old);
}

static struct ublock *get_ub(struct vd_bm_user *u, vd_blk_t nr, int read, int *err)
{
	struct ublock *b = lookup(u, nr);

	*err = 0;
	if (b)
		return b;
	b = calloc(1, sizeof(*b));
	if (!b || posix_memalign(&b->blk.data, BS, BS)) {
		free(b);
		*err = -ENOMEM;
		return NULL;
	}
	b->blk.bm = &u->bm;
	b->blk.nr = nr;
	if (read) {
		*err = vd_dev_read(u->dev, nr, b->blk.data);
		if (*err) {
			pr_err("vdisk: metadata block %llu: read error %d\n",
			       (unsigned long long)nr, *err);
			free_ub(b);
			return NULL;
		}
		u->bm.nr_reads++;
	} else {
		memset(b->blk.data, 0, BS);
	}
	b->hnext = u->hash[hash_of(u, nr)];
	u->hash[hash_of(u, nr)] = b;
	u->nr_cached++;
	maybe_grow_hash(u);
	return b;
}

static void drop_ub(struct vd_bm_user *u, struct ublock *b)
{
	list_del_ub(u, b);
	hash_remove(u, b);
	u->nr_cached--;
	free_ub(b);
}

static int check_ub(struct vd_bm_user *u, struct ublock *b, const struct vd_validator *v)
{
	int r;

	if (b->validated && b->v == v)
		return 0;
	if (b->dirty) {
		/* Written by us in this run: the header is stamped at write-back. */
		b->v = v;
		b->validated = 1;
		return 0;
	}
	r = vd_validator_check(v, &b->blk);
	if (r) {
		/* Never keep a block that failed validation in the cache. */
		if (!b->readers && !b->write_locked)
			drop_ub(u, b);
		return r;
	}
	b->v = v;
	b->validated = 1;
	return 0;
}

static int ubm_read_lock(struct vd_block_manager *bm, vd_blk_t nr,
			 const struct vd_validator *v, struct vd_block **result)
{
	struct vd_bm_user *u = to_ubm(bm);
	struct ublock *b;
	int r;

	b = get_ub(u, nr, 1, &r);
	if (!b)
		return r;
	if (b->write_locked) {
		pr_err("vdisk: metadata block %llu: read lock while write-locked\n",
		       (unsigned long long)nr);
		return -EBUSY;
	}
	r = check_ub(u, b, v);
	if (r)
		return r;
	if (b->on_list == 1)
		list_del_ub(u, b);
	if (!b->readers++)
		u->nr_locked++;
	*result = &b->blk;
	return 0;
}

static int ubm_write_lock_common(struct vd_block_manager *bm, vd_blk_t nr,
				 const struct vd_validator *v, struct vd_block **result,
				 int zero)
{
	struct vd_bm_user *u = to_ubm(bm);
	struct ublock *b;
	int r;

	b = get_ub(u, nr, !zero, &r);
	if (!b)
		return r;
	if (b->write_locked || b->readers) {
		pr_err("vdisk: metadata block %llu: write lock while locked\n",
		       (unsigned long long)nr);
		return -EBUSY;
	}
	if (zero) {
		memset(b->blk.data, 0, BS);
		b->v = v;
		b->validated = 1;
	} else {
		r = check_ub(u, b, v);
		if (r)
			return r;
	}
	b->v = v;
	b->write_locked = 1;
	b->dirty = 1;
	list_add_ub(u, b, 2);
	u->nr_locked++;
	*result = &b->blk;
	return 0;
}

static int ubm_write_lock(struct vd_block_manager *bm, vd_blk_t nr,
			  const struct vd_validator *v, struct vd_block **result)
{
	return ubm_write_lock_common(bm, nr, v, result, 0);
}

static int ubm_write_lock_zero(struct vd_block_manager *bm, vd_blk_t nr,
			       const struct vd_validator *v, struct vd_block **result)
{
	return ubm_write_lock_common(bm, nr, v, result, 1);
}

static void ubm_unlock(struct vd_block *blk)
{
	struct vd_bm_user *u = to_ubm(blk->bm);
	struct ublock *b = container_of(blk, struct ublock, blk);

	if (b->write_locked) {
		b->write_locked = 0;
		u->nr_locked--;
	} else if (b->readers) {
		if (!--b->readers)
			u->nr_locked--;
	} else {
		WARN_ON(1);
	}
	if (!b->write_locked && !b->readers && !b->dirty) {
		list_add_ub(u, b, 1);
		evict(u);
	}
}

static int write_ub(struct vd_bm_user *u, struct ublock *b)
{
	int r;

	vd_validator_prepare(b->v, b->blk.data, b->blk.nr, u->bm.write_txn);
	r = vd_dev_write(u->dev, b->blk.nr, b->blk.data);
	if (r) {
		pr_err("vdisk: metadata block %llu: write error %d\n",
		       (unsigned long long)b->blk.nr, r);
		return r;
	}
	u->bm.nr_writes++;
	b->dirty = 0;
	return 0;
}

static int cmp_ub(const void *a, const void *b)
{
	vd_blk_t x = (*(struct ublock * const *)a)->blk.nr;
	vd_blk_t y = (*(struct ublock * const *)b)->blk.nr;

	return x < y ? -1 : x > y;
}

static int ubm_flush(struct vd_block_manager *bm)
{
	struct vd_bm_user *u = to_ubm(bm);
	struct ublock **v, *b;
	uint64_t i, n = 0;
	int r = 0;

	v = malloc((u->dirty.n + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	/* Write-locked blocks are still being changed: leave them dirty. */
	for (b = u->dirty.head; b; b = b->next)
		if (!b->write_locked)
			v[n++] = b;
	qsort(v, n, sizeof(*v), cmp_ub);
	for (i = 0; i < n && !r; i++) {
		r = write_ub(u, v[i]);
		if (!r) {
			list_del_ub(u, v[i]);
			if (!v[i]->readers)
				list_add_ub(u, v[i], 1);
		}
	}
	free(v);
	if (!r)
		r = vd_dev_flush(u->dev);
	evict(u);
	return r;
}

static int ubm_flush_and_unlock(struct vd_block *blk)
{
	struct vd_bm_user *u = to_ubm(blk->bm);
	struct ublock *b = container_of(blk, struct ublock, blk);
	int r;

	r = write_ub(u, b);
	if (!r) {
		list_del_ub(u, b);
		r = vd_dev_flush(u->dev);
	}
	ubm_unlock(blk);
	return r;
}

static void ubm_destroy(struct vd_block_manager *bm)
{
	struct vd_bm_user *u = to_ubm(bm);
	size_t i;

	for (i = 0; i < u->hash_size; i++) {
		struct ublock *b = u->hash[i], *n;

		for (; b; b = n) {
			n = b->hnext;
			free_ub(b);
		}
	}
	free(u->hash);
	free(u);
}

static const struct vd_block_manager_ops vd_bm_user_ops = {
	.read_lock = ubm_read_lock,
	.write_lock = ubm_write_lock,
	.write_lock_zero = ubm_write_lock_zero,
	.unlock = ubm_unlock,
	.flush = ubm_flush,
	.flush_and_unlock = ubm_flush_and_unlock,
	.destroy = ubm_destroy,
};

struct vd_block_manager *vd_bm_user_create(struct vd_dev *dev, unsigned int cache_blocks)
{
	struct vd_bm_user *u = calloc(1, sizeof(*u));

	if (!u)
		return NULL;
	u->hash_size = 1 << 12;
	u->hash = calloc(u->hash_size, sizeof(*u->hash));
	if (!u->hash) {
		free(u);
		return NULL;
	}
	u->dev = dev;
	u->cache_blocks = cache_blocks ? cache_blocks : 1;
	u->bm.ops = &vd_bm_user_ops;
	u->bm.nr_blocks = vd_dev_nr_blocks(dev);
	return &u->bm;
}

void vd_bm_user_drop_cache(struct vd_block_manager *bm)
{
	struct vd_bm_user *u = to_ubm(bm);

	while (u->lru.head)
		drop_ub(u, u->lru.head);
}

unsigned int vd_bm_user_nr_locked(struct vd_block_manager *bm)
{
	return to_ubm(bm)->nr_locked;
}
