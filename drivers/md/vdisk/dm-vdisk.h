/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dm-vdisk: module-wide declarations shared by the vdisk-pool and vdisk
 * targets.
 *
 * Objects:
 *   struct vdisk_pool    the pool: open metadata, data device, worker.  One
 *                        per pool mapped_device; it outlives table reloads
 *                        and suspend/resume (dm-vdisk-pool.c).
 *   struct vdisk_pool_c  one vdisk-pool table instance (a dm_target); binds
 *                        its devices and features to the pool on resume.
 *   struct vdisk         one vdisk table instance (dm-vdisk-target.c).
 *
 * Locking (see also Documentation/admin-guide/dm-vdisk.rst, "Design"):
 *   pool->md_lock   rw_semaphore around every vd_pool_*() call, as the
 *                   metadata layer's contract asks: lookups and status take
 *                   it shared, every change takes it exclusive.  It also
 *                   protects pool->vdisks, the freed-block list and every
 *                   change of a vdisk's mapping cache.  map() never takes
 *                   it: it reads the mapping cache (dm-vdisk-mapcache.c).
 *   pool->lock      spinlock (irq-safe) for the bio/op queues that I/O
 *                   completion hands to the worker, and the completed
 *                   fast-path writes (dm-vdisk-fast-write.c).
 *   vd->rsv.lock    spinlock (irq-safe): a vdisk's reserve of free blocks
 *                   and its in-flight write counts (dm-vdisk-reserve.c).
 *                   Taken inside pool->lock by a fast-path write's
 *                   completion, alone everywhere else; pool->lock is
 *                   never taken inside it.
 *   The mapping cache's xarray lock is irq-safe (entries are published from
 *   completions), taken inside pool->lock there, alone elsewhere.
 *   Whoever reads or changes mappings in the B+tree takes md_lock exclusive
 *   through vdisk_md_lock(), which first inserts every completed fast-path
 *   write.
 *   commit_mutex    serialises commits.  Only the worker commits while the
 *                   pool lives (others ask it: vdisk_pool_commit_sync()),
 *                   and the final put after the worker stopped.
 *   The worker (one ordered work item) alone touches the cell table.
 *   registry mutex  (dm-vdisk-pool.c) the pool list and pool->ref.  A pool
 *                   on the list has a live mapped_device: every reference
 *                   holder keeps it (pool tables, vdisk tables through the
 *                   open pool device, netlink handlers through dm_get_md()).
 *   Lock order: md_lock, then ti_mutex or dm's name lock (events and
 *   netlink replies read dm names under md_lock).
 */
#ifndef DM_VDISK_H
#define DM_VDISK_H

#include <linux/bio.h>
#include <linux/device-mapper.h>
#include <linux/list.h>
#include <linux/mempool.h>
#include <linux/mutex.h>
#include <linux/rwsem.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include "persistent-data/vd-pool-metadata.h"
#include <uapi/linux/dm-vdisk-netlink.h>

#define DM_MSG_PREFIX "vdisk"

/* Data block size limits, in 512-byte sectors: 4 KiB to 1 MiB, powers of two. */
#define VDISK_MIN_BLOCK_SECTORS 8
#define VDISK_MAX_BLOCK_SECTORS 2048
#define VDISK_DEFAULT_BLOCK_SECTORS 8

/*
 * How long writes wait for space before failing (queue mode), seconds: the
 * default of the no_space_timeout feature, and its largest value.
 */
#define VDISK_NO_SPACE_TIMEOUT_SECS 60
#define VDISK_NO_SPACE_TIMEOUT_MAX 86400

/* Pool features given on the table line (see Documentation/admin-guide/dm-vdisk.rst). */
struct vdisk_pool_features {
	bool error_if_no_space;
	bool ignore_discard;
	bool no_discard_passdown;
	bool read_only;
	unsigned int no_space_timeout;	/* seconds; 0: queue forever */
};

enum vdisk_pool_mode {
	VDISK_MODE_RW,
	VDISK_MODE_OUT_OF_DATA_SPACE,
	VDISK_MODE_OUT_OF_METADATA_SPACE,
	VDISK_MODE_RO,
	VDISK_MODE_FAIL,
};

/* Per-cpu in-flight data I/O counts of the two most recent epochs. */
struct vdisk_inflight {
	long n[2];
};

/* Per-block exclusive locks of the worker (dm-vdisk-cell.c). */
#define VDISK_CELL_HASH_BITS 10
struct vdisk_cell_table {
	struct hlist_head buckets[1 << VDISK_CELL_HASH_BITS];
};

/* The first discard step's size, before it adapted (dm-vdisk-io.c). */
#define VDISK_DISCARD_STEP_FIRST 1024

/*
 * Blocks a vdisk's writes may take in map() (dm-vdisk-reserve.c).  A ring
 * of free data blocks, allocated by the worker in the current transaction
 * and given back before every commit, so that a commit never records an
 * allocated block that nothing maps.  Under @lock (irq-safe: map() and bio
 * completion); the worker alone appends, with md_lock held exclusive.
 */
#define VDISK_RESERVE_MAX 4096
#define VDISK_RESERVE_MIN 8
#define VDISK_RESERVE_START 64
struct vdisk_reserve {
	spinlock_t lock;		/* the fields below */
	vd_blk_t *ring;			/* VDISK_RESERVE_MAX entries */
	unsigned int head;		/* next block map() takes */
	unsigned int nr;		/* blocks in the ring from head */
	unsigned int want;		/* refill target (worker) */
	unsigned int demand;		/* largest recent write, in blocks (halved on shrink) */
	bool open;			/* map() may take blocks: see dm-vdisk-reserve.c */
	bool refill_asked;		/* map() found it low */
	unsigned int inflight;		/* fast-path writes not completed yet */
	unsigned int slow_writes;	/* writes handed to the worker, not completed */
	bool slow_waiting;		/* a slow write waits for inflight == 0 */
	unsigned int taken;		/* blocks taken since the last commit's refill */
	bool missed;			/* a write found it empty since then */
};

struct vdisk_pool {
	struct list_head list;		/* on the registry, under its mutex */
	struct mapped_device *md;	/* the pool's own dm device */
	unsigned int ref;		/* pool tables + vdisk tables; registry mutex */

	/* The pool's own references (vdisk_pool_open_devices()), for its life. */
	struct block_device *metadata_bdev;
	struct block_device *data_bdev;
	fmode_t bdev_mode;
	sector_t block_sectors;
	unsigned int block_shift;	/* ilog2(block_sectors) */

	struct vd_block_manager *bm;
	struct vd_pool_metadata *pmd;
	struct rw_semaphore md_lock;	/* see "Locking" above */
	struct mutex commit_mutex;	/* one commit at a time */

	/* Written under md_lock held exclusive; read racily for status. */
	enum vdisk_pool_mode mode;
	const char *mode_reason;
	bool dirty;			/* changes since the last commit */
	bool freed_since_commit;	/* data blocks freed since then */
	bool dropped_changes;		/* a rollback lost acknowledged writes */
	/* needs_check was set here, by rollbacks after -EIO only: see try_reopen */
	bool needs_check_io_only;
	vd_blk_t *freed;		/* freed blocks to pass discards down for */
	unsigned int nr_freed;
	unsigned int freed_alloc;
	struct list_head vdisks;	/* active struct vdisk, under md_lock */

	/* The bound table (set on preresume); ti under ti_mutex. */
	struct mutex ti_mutex;
	struct dm_target *ti;
	struct vdisk_pool_features features;
	u64 low_water_blocks;
	bool low_water_raised;
	/* Metadata space (dm-vdisk-pool.c), under md_lock: blocks. */
	u64 meta_reserve;
	u64 meta_low_water;
	bool low_water_meta_raised;
	bool suspended;
	bool stopping;			/* last reference gone: no more reclaim */

	struct workqueue_struct *wq;
	/*
	 * Unbound and concurrent: work of one vdisk that needs no ordering
	 * against the metadata changes (dm-vdisk-read-queue.c).
	 */
	struct workqueue_struct *io_wq;
	struct work_struct worker;
	struct delayed_work waker;	/* periodic commit */
	struct delayed_work no_space_timeout;
	unsigned long last_commit;	/* jiffies */

	spinlock_t lock;		/* the queues below, irq-safe */
	struct bio_list deferred_bios;	/* new work for the worker */
	struct list_head prepared;	/* ops whose data I/O finished */
	struct bio_list retry_on_resize;	/* waiting for data space */
	struct bio_list commit_waiters;	/* complete after the next commit */
	struct list_head commit_reqs;	/* vdisk_pool_commit_sync() callers */
	bool reclaim_pending;
	bool no_space_errors;		/* the no-space wait timed out */
	/* Under md_lock exclusive: data blocks freed, and by this reclaim run. */
	u64 data_blocks_freed;
	u64 reclaimed_blocks;
	/*
	 * Blocks one discard step unmaps, adapted to the time steps take
	 * (process_discard() in dm-vdisk-io.c); md_lock exclusive.
	 */
	unsigned int discard_step;

	/* Discard passdown batches in flight (dm-vdisk-pool.c), under lock. */
	struct list_head passdowns;
	unsigned int nr_passdowns;
	wait_queue_head_t passdown_wait;

	struct vdisk_inflight __percpu *inflight;
	unsigned int epoch;		/* under md_lock exclusive */
	/* A mapping cache lost entries: see vdisk_pool_cow_barrier(). */
	bool cow_barrier;
	/*
	 * Bumped (md_lock exclusive) by every change that may alter which
	 * blocks of any vdisk are shared: copy-on-write, unmapping, reclaim,
	 * rollback; messages change the metadata and then call
	 * vdisk_pool_commit_sync(), which bumps it before returning.  A vdisk's
	 * cached sharing census is current only while this has not moved.
	 */
	u64 share_gen;

	/*
	 * Worker only.  A commit must not record a data block that is
	 * allocated but not yet mapped (it would be a leak after a crash), so
	 * once a commit is wanted the gate holds new allocations back until
	 * the ones in flight (nr_prov) are inserted, then the worker commits.
	 */
	struct vdisk_cell_table cells;
	unsigned int nr_prov;		/* allocated blocks not yet mapped */
	bool commit_gate;
	struct bio_list held_bios;	/* writes waiting for the gate */
	struct bio_list flush_bios;	/* PREFLUSH bios waiting for a commit */
	struct bio_list passdown_held;	/* writes to a block still being discarded */
	struct bio_list prov_wait;	/* writes waiting for prov_pool/page_pool */
	/*
	 * Fast-path writes (dm-vdisk-fast-write.c).  fast_done and fast_gen
	 * under pool->lock; fast_blocks under md_lock exclusive; fast_closed
	 * worker only (read racily by completions).
	 */
	struct list_head fast_done;	/* completed fast writes to insert */
	unsigned int nr_fast_done;	/* blocks of the writes on fast_done */
	bool fast_done_held;		/* one of them holds its bio: insert now */
	unsigned long fast_done_since;	/* jiffies: the oldest of fast_done */
	struct delayed_work insert_waker;	/* inserts a small batch after a while */
	unsigned int fast_gen;		/* bumped when a rollback drops the reserves */
	atomic_t fast_inflight;		/* fast-path writes of all vdisks in flight */
	atomic_long_t reserved_blocks;	/* free blocks sitting in reserves */
	u64 fast_blocks;		/* allocated for reserves, not yet mapped or given back */
	bool fast_closed;		/* reserves closed for a commit */
	bool reserves_released;		/* blocks given back since the last commit */
	bool refill_wanted;		/* a reserve asked to be topped up */
	struct bio_list fast_held;	/* slow writes waiting for a vdisk's fast writes */
	struct bio_set bs;		/* copy/merge bios */
	struct bio_set split_bs;	/* pieces of a whole write (dm-vdisk-fast-write.c) */
	mempool_t prov_pool;		/* struct vdisk_prov with a block's pages */
	mempool_t page_pool;		/* merge pages */
};

/* One vdisk-pool table. */
struct vdisk_pool_c {
	struct dm_target *ti;
	struct vdisk_pool *pool;
	struct dm_dev *metadata_dev;
	struct dm_dev *data_dev;
	sector_t block_sectors;
	u64 low_water_blocks;
	struct vdisk_pool_features features;
};

/* One CPU's share of a vdisk's I/O statistics (dm-vdisk-stats.c). */
struct vdisk_stats_cpu {
	u64 reads;
	u64 writes;
	u64 read_bytes;
	u64 write_bytes;
	u64 discards;
	u64 flushes;
	u64 fast_writes;		/* writes allocated in map() (dm-vdisk-fast-write.c) */
	long in_flight;			/* only the sum over CPUs means anything */
	u64 lat[2][VDISK_LAT_BUCKETS];	/* [0] reads, [1] writes */
};

/* The sum over CPUs. */
struct vdisk_stats_sum {
	u64 reads;
	u64 writes;
	u64 read_bytes;
	u64 write_bytes;
	u64 discards;
	u64 flushes;
	u64 fast_writes;
	u64 in_flight;
	u64 lat[2][VDISK_LAT_BUCKETS];
};

/* vdisk->suspending: between presuspend and resume (or presuspend_undo). */
enum {
	VDISK_NOT_SUSPENDING,
	VDISK_SUSPENDING,		/* a plain suspend: complete every bio */
	VDISK_SUSPENDING_NOFLUSH,	/* dm core may take bios back */
};

/* One vdisk table. */
struct vdisk {
	struct list_head list;		/* on pool->vdisks, under md_lock */
	struct dm_target *ti;
	int suspending;			/* VDISK_*SUSPENDING*, under pool->lock */
	struct dm_dev *pool_dev;
	struct vdisk_pool *pool;
	u64 id;
	struct vdisk_stats_cpu __percpu *stats;
	/* Mapping cache for the lock-free fast path (dm-vdisk-mapcache.c). */
	struct xarray cache;
	atomic_long_t cache_entries;
	struct vdisk_reserve rsv;	/* fast-path allocation (dm-vdisk-reserve.c) */
	/* Reads that missed the cache, looked up off the worker (dm-vdisk-read-queue.c). */
	spinlock_t read_lock;		/* read_bios, irq-safe */
	struct bio_list read_bios;
	struct work_struct read_work;	/* on pool->io_wq */
	/*
	 * Sharing census for the status (dm-vdisk-census.c).  census_lock
	 * guards the cached result: census_exclusive/shared are exact while
	 * census_valid and pool->share_gen == census_share_gen.
	 */
	spinlock_t census_lock;
	bool census_valid;
	u64 census_share_gen;
	u64 census_exclusive;
	u64 census_shared;
	/*
	 * The census in steps for large vdisks: census_work's alone (one run
	 * at a time), written under md_lock shared; the insert path reads and
	 * adjusts census_run under md_lock exclusive, so they never overlap.
	 */
	struct work_struct census_work;
	bool census_running;
	u64 census_run_share_gen;
	struct vd_sharing_census census_run;
};

/*
 * Steps of a WRITE_ZEROES bio in the worker: zero the partial block at its
 * head, then the one at its tail (vsector/vblock/zero_sectors describe the
 * edge being zeroed), then unmap the whole blocks like a discard.
 */
enum {
	VDISK_WZ_HEAD,
	VDISK_WZ_TAIL,
	VDISK_WZ_WHOLE,
};

/* Per-bio state of a vdisk bio (ti->per_io_data_size). */
struct vdisk_bio {
	struct vdisk *vd;
	int epoch;			/* in-flight slot, -1 if not counted */
	bool holds_cell;		/* the worker's cell for vblock */
	bool commit_before_endio;	/* FUA: complete after a commit */
	bool slow_counted;		/* counted in vd->rsv.slow_writes */
	bool whole;			/* untrimmed whole-block write: vdisk_fast_write_whole() */
	struct vdisk_fast_write *fast;	/* a fast-path write in flight */
	sector_t vsector;		/* sector inside the vdisk */
	u64 vblock;
	u64 discard_pos;		/* next block of a large discard */
	u8 wz_stage;			/* write-zeroes: VDISK_WZ_* step */
	sector_t zero_sectors;		/* write-zeroes: length of the edge */
	bio_end_io_t *saved_end_io;
	void *saved_private;
	unsigned long queued_at;	/* jiffies, for the no-space timeout */
	/* A write held on pool->passdown_held: its allocated block. */
	vd_blk_t new_block;
	vd_blk_t old_block;
	bool has_old;
	u64 start_ns;			/* map() time, for the latency histograms */
};

/* dm-vdisk-pool.c */
struct vdisk_pool *vdisk_pool_find_get(struct mapped_device *md);
/*
 * The pool object of @md (a reload), or a new one opened on @pc's devices,
 * refused if another pool uses one of them.  Holds a reference on success.
 */
int vdisk_pool_find_or_create(struct mapped_device *md, struct vdisk_pool_c *pc,
			      struct vdisk_pool **result, char **error);
void vdisk_pool_get(struct vdisk_pool *pool);
void vdisk_pool_put(struct vdisk_pool *pool);
int vdisk_pool_commit(struct vdisk_pool *pool);
int vdisk_pool_commit_sync(struct vdisk_pool *pool);
void vdisk_pool_complete_commit_reqs(struct vdisk_pool *pool, int r);
void vdisk_pool_set_mode(struct vdisk_pool *pool, enum vdisk_pool_mode mode,
			 const char *reason);
int vdisk_pool_metadata_error(struct vdisk_pool *pool, const char *op, int r);
void vdisk_pool_wake(struct vdisk_pool *pool);
void vdisk_pool_start_reclaim(struct vdisk_pool *pool);
void vdisk_pool_raise_event(struct vdisk_pool *pool);
const char *vdisk_pool_mode_name(enum vdisk_pool_mode mode);
void vdisk_pool_check_low_water(struct vdisk_pool *pool);
/* vd_pool_get_usage(), with the blocks sitting in reserves counted free. */
int vdisk_pool_get_usage(struct vdisk_pool *pool, struct vd_pool_usage *u);
void vdisk_pool_size_metadata_reserve(struct vdisk_pool *pool, u64 total);
bool vdisk_pool_metadata_room(struct vdisk_pool *pool, unsigned int nr, bool use_reserve);
/* Metadata updates counted for one pool message or netlink change. */
#define VDISK_MESSAGE_METADATA 8
bool vdisk_pool_passdown_busy(struct vdisk_pool *pool, vd_blk_t b);
void vdisk_pool_wait_passdowns(struct vdisk_pool *pool);
void vdisk_pool_try_reopen(struct vdisk_pool *pool, struct vdisk_pool_c *pc);
int vdisk_io_enter(struct vdisk_pool *pool);
void vdisk_io_exit(struct vdisk_pool *pool, int slot);
void vdisk_pool_cow_barrier(struct vdisk_pool *pool);
void vdisk_pool_forget_vdisk(struct vdisk_pool *pool, u64 id);
/* Registered pools in dev_t order: the first above @after, 0 if none. */
dev_t vdisk_pool_next_devt(dev_t after);

/* Pages of one data block (a copy-on-write merge buffer). */
static inline unsigned int vdisk_block_pages(struct vdisk_pool *pool)
{
	return DIV_ROUND_UP(pool->block_sectors << SECTOR_SHIFT, PAGE_SIZE);
}

/* dm-vdisk-io.c */
/* Size of the provisioning state of one block write (prov_pool elements). */
size_t vdisk_prov_size(struct vdisk_pool *pool);
int vdisk_bio_map(struct vdisk *vd, struct bio *bio);
int vdisk_bio_end_io(struct vdisk *vd, struct bio *bio, blk_status_t *error);
void vdisk_pool_do_work(struct work_struct *ws);
void vdisk_defer_bio(struct vdisk_pool *pool, struct bio *bio);
/*
 * A read the cache could not serve: looked up in the metadata (md_lock
 * shared), then sent down or completed; from the worker or a read queue.
 */
void vdisk_read_from_metadata(struct vdisk_pool *pool, struct bio *bio);
void vdisk_requeue_no_space(struct vdisk_pool *pool);
void vdisk_suspend_no_space(struct vdisk *vd, int state);
void vdisk_fail_no_space(struct vdisk_pool *pool);
void vdisk_no_space_timeout(struct work_struct *ws);

/* dm-vdisk-cell.c: exclusive per-(vdisk, block) locks, worker only. */
void vdisk_cells_init(struct vdisk_cell_table *t);
/* 0: @bio now holds the cell; 1: @bio waits and comes back via the worker. */
int vdisk_cell_lock(struct vdisk_pool *pool, struct vdisk *vd, u64 vblock, struct bio *bio);
/* Release the cell; the waiting bios are deferred to the worker again. */
void vdisk_cell_unlock(struct vdisk_pool *pool, struct vdisk *vd, u64 vblock);
bool vdisk_cell_held(struct vdisk_pool *pool, struct vdisk *vd, u64 vblock);

/* dm-vdisk-mapcache.c */
void vdisk_cache_init(struct vdisk *vd);
void vdisk_cache_drop(struct vdisk *vd);
void vdisk_cache_drop_all(struct vdisk *vd);
/* 0: mapped to *block; -ENODATA: unmapped; -ENOENT: not cached. */
int vdisk_cache_lookup(struct vdisk *vd, u64 vblock, vd_blk_t *block, bool *excl);
void vdisk_cache_set(struct vdisk *vd, u64 vblock, vd_blk_t block, bool excl);
void vdisk_cache_fill(struct vdisk *vd, u64 vblock, vd_blk_t block);
void vdisk_cache_fill_unmapped(struct vdisk *vd, u64 vblock);
int vdisk_cache_publish(struct vdisk *vd, u64 vblock, vd_blk_t block, unsigned int nr);
void vdisk_cache_settle(struct vdisk *vd, u64 vblock, vd_blk_t block, unsigned int nr);
void vdisk_cache_forget(struct vdisk *vd, u64 begin, u64 end);

/* dm-vdisk-reserve.c: per-vdisk reserves of free blocks for map(). */
int vdisk_reserve_init(struct vdisk *vd);
void vdisk_reserve_free(struct vdisk *vd);
/*
 * map() (@from_worker false) or the worker: a run of up to @max contiguous
 * blocks, counted in flight; -EAGAIN if none.
 */
int vdisk_reserve_take(struct vdisk *vd, unsigned int max, bool from_worker, vd_blk_t *block,
		       unsigned int *nr, unsigned int *gen);
/* Completion of a fast-path write (after it was queued for its insert). */
void vdisk_reserve_write_done(struct vdisk *vd);
/* map(): a write goes to the worker: no fast-path write of @vd starts until it completed. */
void vdisk_reserve_slow_start(struct vdisk *vd, struct bio *bio);
void vdisk_reserve_slow_done(struct vdisk *vd, struct bio *bio);
/* Worker: may a slow write of @vd start (no fast-path write of @vd in flight)? */
bool vdisk_reserve_slow_may_start(struct vdisk *vd);
/* Worker, md_lock held exclusive: top up the reserves that asked for it. */
void vdisk_reserve_refill(struct vdisk_pool *pool);
/* Worker: give @vd's empty reserve blocks for a write of @nr blocks now. */
int vdisk_reserve_fill_for(struct vdisk_pool *pool, struct vdisk *vd, unsigned int nr);
/* Worker: would vdisk_reserve_take() from the worker refuse @vd for a slow write? */
bool vdisk_reserve_slow_waiting(struct vdisk *vd);
/* Commit, md_lock held exclusive, right after it: refill the ones in use. */
void vdisk_reserve_refill_after_commit(struct vdisk_pool *pool);
/* Worker: close every reserve (a commit is wanted) / open them after it. */
void vdisk_reserve_close_all(struct vdisk_pool *pool);
void vdisk_reserve_open_all(struct vdisk_pool *pool);
/* md_lock held exclusive: give @vd's reserved blocks back. */
int vdisk_reserve_release(struct vdisk_pool *pool, struct vdisk *vd);
/* md_lock held exclusive: give every reserved block back (before a commit). */
int vdisk_reserve_release_all(struct vdisk_pool *pool);
/* md_lock held exclusive: a rollback freed the reserves' blocks: forget them. */
void vdisk_reserve_drop_all(struct vdisk_pool *pool);

/* dm-vdisk-fast-write.c: whole-block writes allocated in map(). */
struct vdisk_fast_write;
int vdisk_fast_write_init(void);
void vdisk_fast_write_exit(void);
/* map(): DM_MAPIO_REMAPPED, or -EAGAIN: take the worker's path. */
int vdisk_fast_write_map(struct vdisk *vd, struct bio *bio);
/* Worker: send a deferred whole-block write down the fast path; true if it did. */
bool vdisk_fast_write_from_worker(struct vdisk_pool *pool, struct bio *bio);
/*
 * Worker: send a write map() left whole (vb->whole) down the fast path in
 * runs: 0 sent, -EBUSY try again later (pool->fast_held), -EAGAIN after
 * the next commit, -ENOSPC no data space, -EDQUOT no metadata space, -EIO
 * metadata error: the part not sent yet is still the caller's.
 */
int vdisk_fast_write_whole(struct vdisk_pool *pool, struct bio *bio);
int vdisk_fast_write_end_io(struct vdisk *vd, struct bio *bio, blk_status_t *error);
void vdisk_fast_write_insert_waker(struct work_struct *ws);
bool vdisk_fast_write_inserts_due(struct vdisk_pool *pool);
/* md_lock held exclusive: insert every completed fast-path write. */
void vdisk_fast_write_insert_all(struct vdisk_pool *pool);
/* md_lock exclusive, with every completed fast-path write inserted. */
void vdisk_md_lock(struct vdisk_pool *pool);

/* dm-vdisk-read-queue.c: reads that missed the mapping cache. */
void vdisk_read_queue_init(struct vdisk *vd);
/* Before @vd goes away (suspended, nothing queued): the work item has returned. */
void vdisk_read_queue_stop(struct vdisk *vd);
void vdisk_queue_read(struct vdisk *vd, struct bio *bio);

/* dm-vdisk-census.c: exclusive/shared counts of a vdisk for its status. */
void vdisk_census_init(struct vdisk *vd);
/* Before @vd goes away: no census work runs after this returns. */
void vdisk_census_stop(struct vdisk *vd);
/*
 * md_lock held shared.  True: *exclusive and *shared are exact now.  False:
 * not known yet (a large vdisk is being counted in the background) or a
 * metadata error.
 */
bool vdisk_census_get(struct vdisk *vd, u64 mapped, u64 *exclusive, u64 *shared);
/* md_lock held exclusive: @vblock, unmapped until now, maps a fresh block. */
void vdisk_census_new_mapping(struct vdisk *vd, u64 vblock);

/* dm-vdisk-messages.c */
int vdisk_pool_message(struct vdisk_pool *pool, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen);

/* dm-vdisk-stats.c: per-cpu, lock-free on the bio path. */
int vdisk_stats_alloc(struct vdisk *vd);
void vdisk_stats_free(struct vdisk *vd);
/* map(): count @bio and start its clock (vdisk_bio_data() is initialised). */
void vdisk_stats_bio_start(struct vdisk *vd, struct bio *bio);
/* map() returned DM_MAPIO_KILL: no end_io will come. */
void vdisk_stats_bio_killed(struct vdisk *vd, struct bio *bio);
/* end_io returned DM_ENDIO_DONE: the bio is complete for the target. */
void vdisk_stats_bio_done(struct vdisk *vd, struct bio *bio);
/* Sum over CPUs; the histograms only if @lat (they are large). */
void vdisk_stats_sum(struct vdisk *vd, struct vdisk_stats_sum *sum, bool lat);

/* dm-vdisk-netlink.c: the "vdisk" generic netlink family. */
int vdisk_netlink_init(void);
void vdisk_netlink_exit(void);
struct sk_buff;
bool vdisk_netlink_has_listeners(void);
/* VDISK_POOL_MODE_* (uapi) of a pool mode. */
u8 vdisk_netlink_pool_mode(enum vdisk_pool_mode mode);
/* genlmsg_put() for the family (its version in every message). */
void *vdisk_genlmsg_put(struct sk_buff *skb, u32 portid, u32 seq, int flags, u8 cmd);
/* Send a finished event message to the "events" group (consumes @skb). */
void vdisk_netlink_multicast(struct sk_buff *skb, gfp_t gfp);

/*
 * dm-vdisk-events.c: multicast events of the family.  Each costs a
 * listener check when nobody listens.  They may sleep (process context
 * only) but never recurse into I/O: callers may hold md_lock.
 */
void vdisk_event_low_water(struct vdisk_pool *pool, u64 free_blocks);
void vdisk_event_metadata_low_water(struct vdisk_pool *pool, u64 free_blocks);
void vdisk_event_pool_mode(struct vdisk_pool *pool, enum vdisk_pool_mode mode,
			   const char *reason);
void vdisk_event_vdisk_created(struct vdisk_pool *pool, u64 id, const char *name,
			       u64 origin_id);
void vdisk_event_vdisk_deleted(struct vdisk_pool *pool, u64 id, const char *name);
void vdisk_event_space_reclaimed(struct vdisk_pool *pool, u64 blocks, u64 free_blocks);
/* After a committed create_vdisk/create_snap/create_group_snap/delete message. */
void vdisk_event_pool_message(struct vdisk_pool *pool, unsigned int argc, char **argv);

static inline struct vdisk_bio *vdisk_bio_data(struct bio *bio)
{
	return dm_per_bio_data(bio, sizeof(struct vdisk_bio));
}

extern struct target_type vdisk_pool_target;
extern struct target_type vdisk_target;

#endif /* DM_VDISK_H */
