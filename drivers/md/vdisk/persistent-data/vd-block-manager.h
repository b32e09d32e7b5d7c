/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdisk block manager interface.
 *
 * A block manager hands out locked 4 KiB metadata blocks.  Every lock names a
 * validator: on read the validator checks checksum, magic and location and
 * the lock fails with -EILSEQ (logging the block number and what was wrong);
 * on write-back the validator stamps location, transaction and checksum.
 *
 * Locking: any number of read locks or one write lock per block.  A thread
 * must never hold two locks on the same block.  Lookups only take read locks
 * and need no other exclusion; see vd-transaction-manager.h for writers.
 *
 * Implementations: vd-block-manager-bufio.c (kernel, dm-bufio) and
 * userspace/lib/vd-bm-user.c (file, memory or recording device).
 */
#ifndef VD_BLOCK_MANAGER_H
#define VD_BLOCK_MANAGER_H

#include <linux/types.h>
#include <asm/byteorder.h>
#include <uapi/linux/dm-vdisk-format.h>

typedef u64 vd_blk_t;

/*
 * In-memory form of struct vd_block_ref: a block and the transaction its
 * header must carry.  Every read through a reference checks both, so a
 * stale block (an old, internally valid version left by a lost write) is
 * refused with -EILSEQ instead of being read as current.
 */
struct vd_ref {
	vd_blk_t nr;
	u64 txn;
};

static inline struct vd_ref vd_ref_load(const struct vd_block_ref *d)
{
	return (struct vd_ref) { le64_to_cpu(d->blocknr), le64_to_cpu(d->txn) };
}

static inline void vd_ref_store(struct vd_block_ref *d, struct vd_ref r)
{
	d->blocknr = cpu_to_le64(r.nr);
	d->txn = cpu_to_le64(r.txn);
}

static inline struct vd_block_ref vd_ref_disk(struct vd_ref r)
{
	struct vd_block_ref d;

	vd_ref_store(&d, r);
	return d;
}

struct vd_block_manager;

/* A locked block.  Owned by the block manager; valid until vd_bm_unlock(). */
struct vd_block {
	struct vd_block_manager *bm;
	vd_blk_t nr;
	void *data;
};

static inline vd_blk_t vd_block_location(const struct vd_block *b)
{
	return b->nr;
}

static inline void *vd_block_data(const struct vd_block *b)
{
	return b->data;
}

/*
 * Validator for one block type.  check() returns 0 or a negative errno
 * (-EILSEQ for bad contents) and must log the block number and the reason.
 * The generic helpers below implement the common header; @check_extra (may
 * be NULL) adds type-specific checks after the header passed.
 */
struct vd_validator {
	const char *name;
	u32 magic;
	/* Probes: a block without this magic is not logged (still -EILSEQ). */
	bool quiet_magic;
	int (*check_extra)(const struct vd_validator *v, const struct vd_block *b);
};

/* Fill the common header (magic, blocknr, txn) and the checksum. */
void vd_validator_prepare(const struct vd_validator *v, void *data, vd_blk_t nr, u64 txn);
/* Check checksum, magic and location; logs and returns -EILSEQ on mismatch. */
int vd_validator_check(const struct vd_validator *v, const struct vd_block *b);
/*
 * Check that a block read through a reference carries the transaction the
 * reference names; logs (block, type, expected and found) and returns
 * -EILSEQ on mismatch.
 */
int vd_block_check_txn(const struct vd_validator *v, const struct vd_block *b, u64 txn);
/* The block's checksum as stored in the header should be. */
u32 vd_block_csum(const void *data);

struct vd_block_manager_ops {
	int (*read_lock)(struct vd_block_manager *bm, vd_blk_t b,
			 const struct vd_validator *v, struct vd_block **result);
	int (*write_lock)(struct vd_block_manager *bm, vd_blk_t b,
			  const struct vd_validator *v, struct vd_block **result);
	/* Write lock without reading: the contents start zeroed. */
	int (*write_lock_zero)(struct vd_block_manager *bm, vd_blk_t b,
			       const struct vd_validator *v, struct vd_block **result);
	void (*unlock)(struct vd_block *b);
	/* Write every dirty block, then issue a cache flush. */
	int (*flush)(struct vd_block_manager *bm);
	/* Write one locked dirty block now with FUA (superblock commit). */
	int (*flush_and_unlock)(struct vd_block *b);
	void (*prefetch)(struct vd_block_manager *bm, vd_blk_t b);
	void (*destroy)(struct vd_block_manager *bm);
};

/*
 * Common part of every block manager.  @write_txn is stamped into the header
 * of every block written back (set by the transaction manager), and into
 * the in-memory header of every block write-locked, so a block changed in
 * this transaction always shows the transaction it will be written with.  Once
 * @read_only is set every write lock fails with -EPERM.
 */
struct vd_block_manager {
	const struct vd_block_manager_ops *ops;
	vd_blk_t nr_blocks;
	u64 write_txn;
	bool read_only;
	/* Statistics (approximate under concurrency): */
	u64 nr_reads;		/* blocks read from the device */
	u64 nr_writes;		/* blocks written to the device */
};

static inline vd_blk_t vd_bm_nr_blocks(struct vd_block_manager *bm)
{
	return bm->nr_blocks;
}

int vd_bm_read_lock(struct vd_block_manager *bm, vd_blk_t b,
		    const struct vd_validator *v, struct vd_block **result);
/* Read lock through a reference: also checks the header's transaction. */
int vd_bm_read_lock_ref(struct vd_block_manager *bm, struct vd_ref ref,
			const struct vd_validator *v, struct vd_block **result);
int vd_bm_write_lock(struct vd_block_manager *bm, vd_blk_t b,
		     const struct vd_validator *v, struct vd_block **result);
int vd_bm_write_lock_zero(struct vd_block_manager *bm, vd_blk_t b,
			  const struct vd_validator *v, struct vd_block **result);
void vd_bm_unlock(struct vd_block *b);
int vd_bm_flush(struct vd_block_manager *bm);
int vd_bm_flush_and_unlock(struct vd_block *b);
void vd_bm_prefetch(struct vd_block_manager *bm, vd_blk_t b);
void vd_bm_destroy(struct vd_block_manager *bm);
void vd_bm_set_read_only(struct vd_block_manager *bm);
bool vd_bm_is_read_only(struct vd_block_manager *bm);

#ifdef __KERNEL__
struct block_device;
/*
 * Kernel implementation over dm-bufio; @max_held is the number of buffers
 * dm-bufio reserves (at least the most locks held at once).  Returns an
 * ERR_PTR on failure.
 */
struct vd_block_manager *vd_bm_bufio_create(struct block_device *bdev,
					    unsigned int max_held);
#endif

/* Validators of the core block types (vd-validators.c). */
extern const struct vd_validator vd_btree_node_validator;
extern const struct vd_validator vd_sm_bitmap_validator;
extern const struct vd_validator vd_superblock_validator;

#endif /* VD_BLOCK_MANAGER_H */
