// SPDX-License-Identifier: GPL-2.0
/*
 * Userspace block devices for the userspace block manager: a file or block
 * device, a memory image, and a recording memory device for crash tests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/fs.h>

#include "vd-bm-user.h"

#define BS VD_METADATA_BLOCK_SIZE

enum vd_dev_kind { VD_DEV_FILE, VD_DEV_MEM, VD_DEV_REC };

struct vd_rec_entry {
	int is_flush;
	uint64_t blocknr;
	void *data;
};

struct vd_dev {
	enum vd_dev_kind kind;
	uint64_t nr_blocks;
	int fd;
	/*
	 * FILE on a block device: opened O_DIRECT, because the page cache of
	 * a block device a live pool writes through dm-bufio can hold stale
	 * metadata; every transfer goes through this aligned block.
	 */
	unsigned char *bounce;
	unsigned char *image;		/* MEM/REC: current contents */
	/* fault injection: 0 = off, else fail once the budget is used */
	uint64_t writes_left, flushes_left;
	int fail_writes, fail_flushes;
	/* REC */
	unsigned char *base;		/* contents when the log starts */
	struct vd_rec_entry *log;
	uint64_t nr_log, log_cap, nr_flushes;
};

struct vd_dev *vd_dev_open_file(const char *path, int writable)
{
	struct vd_dev *dev;
	struct stat st;
	uint64_t size;
	int fd;

	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	if (fstat(fd, &st))
		goto bad;
	if (S_ISBLK(st.st_mode)) {
		if (ioctl(fd, BLKGETSIZE64, &size))
			goto bad;
	} else {
		size = (uint64_t)st.st_size;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		goto bad;
	dev->kind = VD_DEV_FILE;
	dev->fd = fd;
	dev->nr_blocks = size / BS;
	if (S_ISBLK(st.st_mode)) {
		if (posix_memalign((void **)&dev->bounce, BS, BS) ||
		    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_DIRECT)) {
			free(dev->bounce);
			free(dev);
			goto bad;
		}
	}
	return dev;
bad:
	close(fd);
	return NULL;
}

struct vd_dev *vd_dev_create_mem(uint64_t nr_blocks, const void *image)
{
	struct vd_dev *dev = calloc(1, sizeof(*dev));

	if (!dev)
		return NULL;
	dev->kind = VD_DEV_MEM;
	dev->fd = -1;
	dev->nr_blocks = nr_blocks;
	dev->image = image ? malloc(nr_blocks * BS) : calloc(nr_blocks, BS);
	if (!dev->image) {
		free(dev);
		return NULL;
	}
	if (image)
		memcpy(dev->image, image, nr_blocks * BS);
	return dev;
}

struct vd_dev *vd_dev_create_recording(uint64_t nr_blocks, const void *image)
{
	struct vd_dev *dev = vd_dev_create_mem(nr_blocks, image);

	if (!dev)
		return NULL;
	dev->kind = VD_DEV_REC;
	dev->base = malloc(nr_blocks * BS);
	if (!dev->base) {
		vd_dev_close(dev);
		return NULL;
	}
	memcpy(dev->base, dev->image, nr_blocks * BS);
	return dev;
}

static void vd_rec_free_log(struct vd_dev *dev)
{
	uint64_t i;

	for (i = 0; i < dev->nr_log; i++)
		free(dev->log[i].data);
	free(dev->log);
	dev->log = NULL;
	dev->nr_log = 0;
	dev->log_cap = 0;
	dev->nr_flushes = 0;
}

void vd_dev_close(struct vd_dev *dev)
{
	if (!dev)
		return;
	if (dev->fd >= 0)
		close(dev->fd);
	vd_rec_free_log(dev);
	free(dev->bounce);
	free(dev->image);
	free(dev->base);
	free(dev);
}

uint64_t vd_dev_nr_blocks(struct vd_dev *dev)
{
	return dev->nr_blocks;
}

const void *vd_dev_mem_image(struct vd_dev *dev)
{
	return dev->image;
}

void vd_dev_fail_after(struct vd_dev *dev, uint64_t nr_writes_ok, uint64_t nr_flushes_ok)
{
	dev->fail_writes = nr_writes_ok != 0;
	dev->writes_left = nr_writes_ok;
	dev->fail_flushes = nr_flushes_ok != 0;
	dev->flushes_left = nr_flushes_ok;
}

int vd_dev_read(struct vd_dev *dev, uint64_t b, void *buf)
{
	if (b >= dev->nr_blocks)
		return -EIO;
	if (dev->kind == VD_DEV_FILE) {
		void *io = dev->bounce ? dev->bounce : buf;
		ssize_t n = pread(dev->fd, io, BS, (off_t)(b * BS));

		if (n != BS)
			return -EIO;
		if (dev->bounce)
			memcpy(buf, dev->bounce, BS);
		return 0;
	}
	memcpy(buf, dev->image + b * BS, BS);
	return 0;
}

static int vd_rec_append(struct vd_dev *dev, int is_flush, uint64_t b, const void *buf)
{
	struct vd_rec_entry *e;

	if (dev->nr_log == dev->log_cap) {
		uint64_t cap = dev->log_cap ? dev->log_cap * 2 : 256;
		struct vd_rec_entry *n = realloc(dev->log, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		dev->log = n;
		dev->log_cap = cap;
	}
	e = &dev->log[dev->nr_log];
	e->is_flush = is_flush;
	e->blocknr = b;
	e->data = NULL;
	if (!is_flush) {
		e->data = malloc(BS);
		if (!e->data)
			return -ENOMEM;
		memcpy(e->data, buf, BS);
	} else {
		dev->nr_flushes++;
	}
	dev->nr_log++;
	return 0;
}

int vd_dev_write(struct vd_dev *dev, uint64_t b, const void *buf)
{
	int r;

	if (b >= dev->nr_blocks)
		return -EIO;
	if (dev->fail_writes) {
		if (!dev->writes_left)
			return -EIO;
		dev->writes_left--;
	}
	if (dev->kind == VD_DEV_FILE) {
		ssize_t n;

		if (dev->bounce)
			memcpy(dev->bounce, buf, BS);
		n = pwrite(dev->fd, dev->bounce ? dev->bounce : buf, BS, (off_t)(b * BS));

		return n == BS ? 0 : -EIO;
	}
	if (dev->kind == VD_DEV_REC) {
		r = vd_rec_append(dev, 0, b, buf);
		if (r)
			return r;
	}
	memcpy(dev->image + b * BS, buf, BS);
	return 0;
}

int vd_dev_flush(struct vd_dev *dev)
{
	if (dev->fail_flushes) {
		if (!dev->flushes_left)
			return -EIO;
		dev->flushes_left--;
	}
	if (dev->kind == VD_DEV_FILE)
		return fdatasync(dev->fd) ? -EIO : 0;
	if (dev->kind == VD_DEV_REC)
		return vd_rec_append(dev, 1, 0, NULL);
	return 0;
}

/* ---------------- recording ---------------- */

uint64_t vd_rec_nr_events(struct vd_dev *rec)
{
	return rec->nr_log;
}

uint64_t vd_rec_nr_flushes(struct vd_dev *rec)
{
	return rec->nr_flushes;
}

int vd_rec_event(struct vd_dev *rec, uint64_t idx, struct vd_rec_event *ev)
{
	if (rec->kind != VD_DEV_REC || idx >= rec->nr_log)
		return -EINVAL;
	ev->is_flush = rec->log[idx].is_flush;
	ev->blocknr = rec->log[idx].blocknr;
	return 0;
}

int vd_rec_epoch(struct vd_dev *rec, uint64_t epoch, uint64_t *first, uint64_t *end)
{
	uint64_t i, k = 0, start = 0;

	if (rec->kind != VD_DEV_REC || epoch > rec->nr_flushes)
		return -EINVAL;
	for (i = 0; i < rec->nr_log; i++) {
		if (!rec->log[i].is_flush)
			continue;
		if (k == epoch)
			break;
		k++;
		start = i + 1;
	}
	*first = start;
	*end = i;	/* the flush ending the epoch, or the end of the log */
	return 0;
}

const void *vd_rec_write_data(struct vd_dev *rec, uint64_t idx)
{
	if (rec->kind != VD_DEV_REC || idx >= rec->nr_log || rec->log[idx].is_flush)
		return NULL;
	return rec->log[idx].data;
}

void vd_rec_reset(struct vd_dev *rec)
{
	vd_rec_free_log(rec);
	memcpy(rec->base, rec->image, rec->nr_blocks * BS);
}

int vd_rec_build_image(struct vd_dev *rec, const struct vd_crash_spec *spec, void *image)
{
	unsigned char *img = image;
	uint64_t first, end, i;
	size_t j;
	int r;

	r = vd_rec_epoch(rec, spec->epoch, &first, &end);
	if (r)
		return r;
	if (spec->torn_sectors >= VD_METADATA_SECTORS || (spec->torn_sectors && !spec->nr_extra))
		return -EINVAL;
	memcpy(img, rec->base, rec->nr_blocks * BS);
	for (i = 0; i < first; i++)
		if (!rec->log[i].is_flush)
			memcpy(img + rec->log[i].blocknr * BS, rec->log[i].data, BS);
	for (j = 0; j < spec->nr_extra; j++) {
		uint64_t idx = spec->extra[j];
		size_t len = BS;

		if (idx < first || idx >= end)
			return -EINVAL;
		if (spec->torn_sectors && j == spec->nr_extra - 1)
			len = (size_t)spec->torn_sectors << VD_SECTOR_SHIFT;
		memcpy(img + rec->log[idx].blocknr * BS, rec->log[idx].data, len);
	}
	return 0;
}
