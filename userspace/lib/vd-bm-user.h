/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Userspace block managers and devices.
 *
 * A vd_dev is a dumb block device (read/write 4 KiB blocks, flush).  The
 * userspace block manager keeps a cache of blocks over a vd_dev: dirty blocks
 * are written only by vd_bm_flush() (then the device is flushed) or by
 * vd_bm_flush_and_unlock() (that one block, then flush: FUA).
 *
 * Devices:
 *  - file or block device (pread/pwrite/fdatasync);
 *  - memory (a malloc'ed image);
 *  - recording: a memory device that also logs every block write and every
 *    flush in order, so that crash tests can build the image a power cut at
 *    any moment could have left (see vd_rec_*).
 */
#ifndef VD_BM_USER_H
#define VD_BM_USER_H

#include <stddef.h>
#include <stdint.h>
#include "../../drivers/md/vdisk/persistent-data/vd-block-manager.h"

struct vd_dev;

struct vd_dev *vd_dev_open_file(const char *path, int writable);
/* @image (may be NULL = zeroes) is copied; nr_blocks of 4 KiB. */
struct vd_dev *vd_dev_create_mem(uint64_t nr_blocks, const void *image);
void vd_dev_close(struct vd_dev *dev);
uint64_t vd_dev_nr_blocks(struct vd_dev *dev);
int vd_dev_read(struct vd_dev *dev, uint64_t b, void *buf);
int vd_dev_write(struct vd_dev *dev, uint64_t b, const void *buf);
int vd_dev_flush(struct vd_dev *dev);
/* Memory and recording devices: the current contents (nr_blocks * 4 KiB). */
const void *vd_dev_mem_image(struct vd_dev *dev);
/* Fault injection for every device: fail (-EIO) the Nth write/flush from now
 * on (0 = never).  Counts are reset by calling again.
 */
void vd_dev_fail_after(struct vd_dev *dev, uint64_t nr_writes_ok, uint64_t nr_flushes_ok);

/*
 * Block manager over @dev; caches at most @cache_blocks clean blocks (dirty
 * and locked blocks are never evicted).  The bm does not own @dev.
 */
struct vd_block_manager *vd_bm_user_create(struct vd_dev *dev, unsigned int cache_blocks);
/* Drop every clean, unlocked cached block (re-read from the device). */
void vd_bm_user_drop_cache(struct vd_block_manager *bm);
/* Number of blocks currently locked (tests check for leaks: must be 0). */
unsigned int vd_bm_user_nr_locked(struct vd_block_manager *bm);

/* ---------------- recording device ---------------- */

/*
 * Events are numbered from 0 in issue order.  A write is durable once a
 * later flush completed.  Epoch k = the writes issued after flush k-1 and
 * before flush k (epoch 0 = before the first flush).
 */
struct vd_rec_event {
	int is_flush;
	uint64_t blocknr;		/* writes only */
};

/* A recording device starting from @image (NULL = zeroes). */
struct vd_dev *vd_dev_create_recording(uint64_t nr_blocks, const void *image);
uint64_t vd_rec_nr_events(struct vd_dev *rec);
uint64_t vd_rec_nr_flushes(struct vd_dev *rec);
int vd_rec_event(struct vd_dev *rec, uint64_t idx, struct vd_rec_event *ev);
/* Event index range [*first, *end) of the writes in epoch @epoch. */
int vd_rec_epoch(struct vd_dev *rec, uint64_t epoch, uint64_t *first, uint64_t *end);
/* Data of write event @idx (4 KiB, owned by the recorder). */
const void *vd_rec_write_data(struct vd_dev *rec, uint64_t idx);
/* Forget the log (the current image becomes the new base). */
void vd_rec_reset(struct vd_dev *rec);

/*
 * A crash point: everything in epochs < @epoch is durable (i.e. the first
 * @epoch flushes completed); of the writes in epoch @epoch, those listed in
 * @extra (event indices, applied in the given order) reached the disk.  If
 * @torn_sectors is non-zero the LAST write of @extra is torn: only its first
 * @torn_sectors 512-byte sectors are new, the rest keeps the older contents.
 */
struct vd_crash_spec {
	uint64_t epoch;
	const uint64_t *extra;
	size_t nr_extra;
	unsigned int torn_sectors;
};

/* Fill @image (nr_blocks * 4 KiB) with the disk as that crash left it. */
int vd_rec_build_image(struct vd_dev *rec, const struct vd_crash_spec *spec, void *image);

#endif /* VD_BM_USER_H */
