// SPDX-License-Identifier: GPL-2.0
/*
 * Block manager, validators, crc32c, userspace devices and the recording
 * device's crash images.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/crc32c.h>
#include "pdata-fixture.h"
#include "tap.h"

#define BS VD_METADATA_BLOCK_SIZE

u32 kshim_crc32c_sw(u32 crc, const void *address, unsigned int length);

static const struct vd_validator test_v = { .name = "test", .magic = 0x54534554 };

static int t_crc32c(void)
{
	unsigned char buf[1000];
	unsigned int i;

	/* The standard CRC-32C check value, with the kernel's seed convention. */
	CHECK((~crc32c(~0U, "123456789", 9)) == 0xe3069283U);
	CHECK((~kshim_crc32c_sw(~0U, "123456789", 9)) == 0xe3069283U);
	srand(7);
	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rand();
	for (i = 0; i < sizeof(buf); i += 37)
		CHECK(crc32c(i, buf, i) == kshim_crc32c_sw(i, buf, i));
	/* Chaining: crc(a ++ b) == crc(crc(a), b). */
	CHECK(crc32c(crc32c(5, buf, 300), buf + 300, 700) == crc32c(5, buf, 1000));
	return 0;
}

static int write_block(struct vd_block_manager *bm, vd_blk_t b, unsigned char fill)
{
	struct vd_block *blk;

	CHECK_R(vd_bm_write_lock_zero(bm, b, &test_v, &blk));
	memset((char *)vd_block_data(blk) + VD_BLOCK_HEADER_SIZE, fill, BS - VD_BLOCK_HEADER_SIZE);
	vd_bm_unlock(blk);
	return 0;
}

static int t_roundtrip(void)
{
	struct vd_dev *dev = vd_dev_create_mem(16, NULL);
	struct vd_block_manager *bm = vd_bm_user_create(dev, 8);
	const unsigned char *img = vd_dev_mem_image(dev);
	const struct vd_block_header *h = (const void *)(img + 3 * BS);
	struct vd_block *blk;

	bm->write_txn = 42;
	CHECK(!write_block(bm, 3, 0xab));
	/* Nothing reaches the device before a flush. */
	CHECK(img[3 * BS + 100] == 0);
	CHECK_R(vd_bm_flush(bm));
	CHECK(img[3 * BS + 100] == 0xab);
	CHECK(le32_to_cpu(h->magic) == test_v.magic);
	CHECK(le64_to_cpu(h->blocknr) == 3);
	CHECK(le64_to_cpu(h->txn) == 42);
	CHECK(le32_to_cpu(h->csum) == vd_block_csum(img + 3 * BS));
	vd_bm_user_drop_cache(bm);
	CHECK_R(vd_bm_read_lock(bm, 3, &test_v, &blk));
	CHECK(((unsigned char *)vd_block_data(blk))[4000] == 0xab);
	vd_bm_unlock(blk);
	CHECK(vd_bm_user_nr_locked(bm) == 0);
	vd_bm_destroy(bm);
	vd_dev_close(dev);
	return 0;
}

/* Damage block 3 of a fresh device in @how and expect -EILSEQ on read. */
static int corrupt_and_read(int how)
{
	struct vd_dev *dev = vd_dev_create_mem(16, NULL);
	struct vd_block_manager *bm = vd_bm_user_create(dev, 8);
	const struct vd_validator other = { .name = "other", .magic = 0x1234 };
	unsigned char buf[BS];
	unsigned long errs;
	struct vd_block *blk;
	int r;

	CHECK(!write_block(bm, 3, 0x11));
	CHECK_R(vd_bm_flush(bm));
	vd_bm_destroy(bm);
	vd_dev_read(dev, 3, buf);
	switch (how) {
	case 0:			/* bit flip in the payload */
		buf[2000] ^= 0x10;
		break;
	case 1:			/* bit flip in the checksum itself */
		buf[0] ^= 1;
		break;
	case 2:			/* a valid block written to the wrong place */
		break;
	}
	vd_dev_write(dev, how == 2 ? 5 : 3, buf);
	bm = vd_bm_user_create(dev, 8);
	errs = kshim_nr_errors;
	if (how == 3)
		r = vd_bm_read_lock(bm, 3, &other, &blk);	/* wrong type */
	else
		r = vd_bm_read_lock(bm, how == 2 ? 5 : 3, &test_v, &blk);
	CHECK(r == -EILSEQ);
	CHECK(kshim_nr_errors > errs);	/* and it said so */
	/* Not cached as good: a second try fails the same way. */
	r = vd_bm_read_lock(bm, how == 2 ? 5 : 3, how == 3 ? &other : &test_v, &blk);
	CHECK(r == -EILSEQ);
	CHECK(vd_bm_user_nr_locked(bm) == 0);
	vd_bm_destroy(bm);
	vd_dev_close(dev);
	return 0;
}

static int t_corruption(void)
{
	int how;

	kshim_verbose = -1;
	for (how = 0; how < 4; how++)
		if (corrupt_and_read(how)) {
			kshim_verbose = 0;
			printf("# corruption case %d\n", how);
			return -1;
		}
	kshim_verbose = 0;
	return 0;
}

static int t_locks(void)
{
	struct vd_dev *dev = vd_dev_create_mem(16, NULL);
	struct vd_block_manager *bm = vd_bm_user_create(dev, 8);
	struct vd_block *a, *b, *w;

	kshim_verbose = -1;
	CHECK(!write_block(bm, 1, 1));
	CHECK_R(vd_bm_read_lock(bm, 1, &test_v, &a));
	CHECK_R(vd_bm_read_lock(bm, 1, &test_v, &b));
	CHECK(vd_bm_write_lock(bm, 1, &test_v, &w) == -EBUSY);
	vd_bm_unlock(a);
	vd_bm_unlock(b);
	CHECK_R(vd_bm_write_lock(bm, 1, &test_v, &w));
	CHECK(vd_bm_read_lock(bm, 1, &test_v, &a) == -EBUSY);
	CHECK(vd_bm_write_lock(bm, 1, &test_v, &a) == -EBUSY);
	vd_bm_unlock(w);
	CHECK(vd_bm_read_lock(bm, 16, &test_v, &a) == -EIO);	/* beyond the end */
	vd_bm_set_read_only(bm);
	CHECK(vd_bm_write_lock(bm, 2, &test_v, &w) == -EPERM);
	CHECK(vd_bm_write_lock_zero(bm, 2, &test_v, &w) == -EPERM);
	CHECK(vd_bm_user_nr_locked(bm) == 0);
	kshim_verbose = 0;
	vd_bm_destroy(bm);
	vd_dev_close(dev);
	return 0;
}

static int t_cache(void)
{
	struct vd_dev *dev = vd_dev_create_mem(256, NULL);
	struct vd_block_manager *bm = vd_bm_user_create(dev, 4);
	struct vd_block *blk;
	unsigned int i;

	for (i = 0; i < 256; i++)
		CHECK(!write_block(bm, i, (unsigned char)i));
	CHECK_R(vd_bm_flush(bm));
	for (i = 0; i < 256; i++) {
		CHECK_R(vd_bm_read_lock(bm, (i * 7) % 256, &test_v, &blk));
		CHECK(((unsigned char *)vd_block_data(blk))[100] == (unsigned char)((i * 7) % 256));
		vd_bm_unlock(blk);
	}
	/* With a 4-block cache most of those were real reads. */
	CHECK(bm->nr_reads > 200);
	vd_bm_destroy(bm);
	vd_dev_close(dev);
	return 0;
}

static int t_faults(void)
{
	struct vd_dev *dev = vd_dev_create_mem(16, NULL);
	struct vd_block_manager *bm = vd_bm_user_create(dev, 8);

	kshim_verbose = -1;
	CHECK(!write_block(bm, 1, 1));
	CHECK(!write_block(bm, 2, 2));
	vd_dev_fail_after(dev, 1, 0);
	CHECK(vd_bm_flush(bm) == -EIO);
	vd_dev_fail_after(dev, 0, 0);
	CHECK_R(vd_bm_flush(bm));	/* the failed block stayed dirty */
	vd_dev_fail_after(dev, 0, 1);
	CHECK(!write_block(bm, 3, 3));
	CHECK_R(vd_bm_flush(bm));
	CHECK(!write_block(bm, 4, 4));
	CHECK(vd_bm_flush(bm) == -EIO);	/* second flush fails */
	kshim_verbose = 0;
	vd_bm_destroy(bm);
	vd_dev_close(dev);
	return 0;
}

static int t_recording(void)
{
	struct vd_dev *rec = vd_dev_create_recording(8, NULL);
	unsigned char b1[BS], b2[BS], b3[BS], b4[BS], *img;
	struct vd_crash_spec spec = { 0 };
	struct vd_rec_event ev;
	uint64_t first, end, extra[2];

	img = malloc(8 * BS);
	CHECK(img);
	memset(b1, 1, BS);
	memset(b2, 2, BS);
	memset(b3, 3, BS);
	memset(b4, 4, BS);
	/* epoch 0: W(1)=b1 W(2)=b2, flush; epoch 1: W(3)=b3 W(1)=b4 (no flush) */
	CHECK_R(vd_dev_write(rec, 1, b1));
	CHECK_R(vd_dev_write(rec, 2, b2));
	CHECK_R(vd_dev_flush(rec));
	CHECK_R(vd_dev_write(rec, 3, b3));
	CHECK_R(vd_dev_write(rec, 1, b4));
	CHECK(vd_rec_nr_events(rec) == 5);
	CHECK(vd_rec_nr_flushes(rec) == 1);
	CHECK_R(vd_rec_event(rec, 2, &ev));
	CHECK(ev.is_flush);
	CHECK_R(vd_rec_event(rec, 4, &ev));
	CHECK(!ev.is_flush && ev.blocknr == 1);
	CHECK_R(vd_rec_epoch(rec, 0, &first, &end));
	CHECK(first == 0 && end == 2);
	CHECK_R(vd_rec_epoch(rec, 1, &first, &end));
	CHECK(first == 3 && end == 5);

	/* Crash before the first flush with nothing written: all zero. */
	spec.epoch = 0;
	CHECK_R(vd_rec_build_image(rec, &spec, img));
	CHECK(img[1 * BS] == 0 && img[2 * BS] == 0);
	/* Crash in epoch 1 with only the second write (reordered). */
	extra[0] = 4;
	spec.epoch = 1;
	spec.extra = extra;
	spec.nr_extra = 1;
	CHECK_R(vd_rec_build_image(rec, &spec, img));
	CHECK(img[1 * BS] == 4 && img[2 * BS] == 2 && img[3 * BS] == 0);
	/* ... and torn: 3 sectors new, the rest of block 1 still b1. */
	spec.torn_sectors = 3;
	CHECK_R(vd_rec_build_image(rec, &spec, img));
	CHECK(img[1 * BS + 3 * 512 - 1] == 4 && img[1 * BS + 3 * 512] == 1);
	/* Both writes, in the other order. */
	extra[0] = 4;
	extra[1] = 3;
	spec.nr_extra = 2;
	spec.torn_sectors = 0;
	CHECK_R(vd_rec_build_image(rec, &spec, img));
	CHECK(img[1 * BS] == 4 && img[3 * BS] == 3);
	/* A write from another epoch is refused. */
	extra[0] = 0;
	spec.nr_extra = 1;
	CHECK(vd_rec_build_image(rec, &spec, img) == -EINVAL);
	CHECK(!memcmp(vd_rec_write_data(rec, 3), b3, BS));
	free(img);
	vd_dev_close(rec);
	return 0;
}

int main(void)
{
	tap_plan(8);
	tap_ok(!t_crc32c(), "crc32c matches the standard check value; hw == table");
	tap_ok(!t_roundtrip(), "write-back stamps magic, location, txn, checksum; read validates");
	tap_ok(!t_corruption(), "bad payload, bad csum, wrong location, wrong type: -EILSEQ, logged, not cached");
	tap_ok(!t_locks(), "lock rules, out-of-range block, read-only mode");
	tap_ok(!t_cache(), "small cache evicts clean blocks and re-reads correctly");
	tap_ok(!t_faults(), "device write/flush errors are returned; failed blocks stay dirty");
	tap_ok(!t_recording(), "recording device: epochs, subsets, reordering, torn writes");
	{
		struct vd_dev *dev = vd_dev_create_mem(4, NULL);
		struct vd_block_manager *bm = vd_bm_user_create(dev, 2);
		struct vd_block *sb;
		struct vd_dev *rec = vd_dev_create_recording(4, NULL);
		struct vd_block_manager *rbm = vd_bm_user_create(rec, 2);
		struct vd_rec_event ev;
		int ok;

		(void)bm;
		ok = !write_block(rbm, 2, 2) && !vd_bm_flush(rbm) &&
		     !vd_bm_write_lock_zero(rbm, 0, &test_v, &sb);
		ok = ok && !vd_bm_flush_and_unlock(sb);
		/* events: W2 F W0 F -- the superblock-style write is alone and flushed */
		ok = ok && vd_rec_nr_events(rec) == 4 && !vd_rec_event(rec, 2, &ev) &&
		     !ev.is_flush && ev.blocknr == 0 && !vd_rec_event(rec, 3, &ev) && ev.is_flush;
		tap_ok(ok, "flush_and_unlock writes just that block, then flushes");
		vd_bm_destroy(rbm);
		vd_dev_close(rec);
		vd_bm_destroy(bm);
		vd_dev_close(dev);
	}
	return tap_done();
}
