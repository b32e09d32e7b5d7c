// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk-biotest: a test-only module that issues one bio user space cannot.
 *
 * No user-space interface issues WRITE_ZEROES or DISCARD with REQ_FUA, yet
 * the vdisk target promises to complete such a bio only after a metadata
 * commit covers it.  tests/selftests/vdisk-fua-commit.sh loads this module
 * to check that promise:
 *
 *   modprobe dm-vdisk-biotest dev=/dev/mapper/v op=write_zeroes|discard \
 *            sector=N nr_sectors=N fua=0|1 meta=/dev/<pool metadata device>
 *
 * Module init reads both superblock slots of @meta with a bio, submits the
 * requested bio to @dev and waits for it, reads the slots again at once and
 * logs one line:
 *
 *   dm-vdisk-biotest: op=write_zeroes fua=1 status=0 commit_seen=1 seq=5->6
 *
 * commit_seen=1 means the superblock region changed while the bio was in
 * flight (seq is the highest commit_seq in the two slots, 0 if neither has
 * the superblock magic).  Init then returns 0 so that the module can be
 * removed and loaded again; bad parameters give -EINVAL and a message.
 *
 * Never install or load it outside the test VM.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/bio.h>
#include <linux/blkdev.h>
#include <linux/gfp.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>

#include <uapi/linux/dm-vdisk-format.h>

static char *dev;
module_param(dev, charp, 0444);
MODULE_PARM_DESC(dev, "block device to send the bio to (a vdisk)");

static char *meta;
module_param(meta, charp, 0444);
MODULE_PARM_DESC(meta, "the pool's metadata device (superblock read before and after)");

static char *op = "write_zeroes";
module_param(op, charp, 0444);
MODULE_PARM_DESC(op, "write_zeroes or discard");

static unsigned long long sector;
module_param(sector, ullong, 0444);
MODULE_PARM_DESC(sector, "first 512-byte sector of the range");

static unsigned int nr_sectors;
module_param(nr_sectors, uint, 0444);
MODULE_PARM_DESC(nr_sectors, "length of the range in 512-byte sectors");

static bool fua;
module_param(fua, bool, 0444);
MODULE_PARM_DESC(fua, "set REQ_FUA on the bio");

/* Both superblock slots: metadata blocks 0 and 1, one page each. */
#define BIOTEST_SB_PAGES	VD_SUPERBLOCK_NR_SLOTS
#define BIOTEST_MODE		(FMODE_READ | FMODE_WRITE)

/*
 * Read the superblock slots straight from the device with a bio, not
 * through the block device's page cache, which would not see the pool's
 * writes (dm-bufio writes with bios too).
 */
static int biotest_read_sb(struct block_device *bdev, struct page **pages)
{
	struct bio *bio;
	unsigned int i;
	int r;

	bio = bio_alloc(bdev, BIOTEST_SB_PAGES, REQ_OP_READ | REQ_SYNC, GFP_KERNEL);
	bio->bi_iter.bi_sector = 0;
	for (i = 0; i < BIOTEST_SB_PAGES; i++)
		__bio_add_page(bio, pages[i], VD_METADATA_BLOCK_SIZE, 0);
	r = submit_bio_wait(bio);
	bio_put(bio);
	return r;
}

/* Highest commit_seq of the slots that carry the superblock magic. */
static u64 biotest_seq(struct page **pages)
{
	u64 seq = 0;
	unsigned int i;

	for (i = 0; i < BIOTEST_SB_PAGES; i++) {
		const struct vd_superblock *sb = page_address(pages[i]);

		if (le32_to_cpu(sb->hdr.magic) == VD_MAGIC_SUPERBLOCK)
			seq = max(seq, le64_to_cpu(sb->commit_seq));
	}
	return seq;
}

static bool biotest_same(struct page **a, struct page **b)
{
	unsigned int i;

	for (i = 0; i < BIOTEST_SB_PAGES; i++)
		if (memcmp(page_address(a[i]), page_address(b[i]), VD_METADATA_BLOCK_SIZE))
			return false;
	return true;
}

/* Refuse what the block layer would reject or quietly change. */
static int biotest_check(struct block_device *bdev, enum req_op bop)
{
	unsigned int lbs = bdev_logical_block_size(bdev) >> SECTOR_SHIFT;
	unsigned int max = bop == REQ_OP_DISCARD ? bdev_max_discard_sectors(bdev) :
			   bdev_write_zeroes_sectors(bdev);

	if (!nr_sectors || sector % lbs || nr_sectors % lbs) {
		pr_err("sector=%llu nr_sectors=%u: want a non-empty range in whole %u-sector logical blocks\n",
		       sector, nr_sectors, lbs);
		return -EINVAL;
	}
	/* Written so that nothing can wrap; bi_size is 32 bits of bytes. */
	if (nr_sectors > UINT_MAX >> SECTOR_SHIFT) {
		pr_err("nr_sectors=%u: more than one bio can carry\n", nr_sectors);
		return -EINVAL;
	}
	if (nr_sectors > bdev_nr_sectors(bdev) ||
	    sector > bdev_nr_sectors(bdev) - nr_sectors) {
		pr_err("sector=%llu nr_sectors=%u: past the end of %s (%llu sectors)\n",
		       sector, nr_sectors, dev, (unsigned long long)bdev_nr_sectors(bdev));
		return -EINVAL;
	}
	if (nr_sectors > max) {
		pr_err("nr_sectors=%u: %s takes at most %u sectors of %s in one bio\n",
		       nr_sectors, dev, max, op);
		return -EINVAL;
	}
	/* Without a volatile write cache submit_bio() clears REQ_FUA. */
	if (fua && !bdev_write_cache(bdev)) {
		pr_err("%s has no write cache: the block layer would drop REQ_FUA\n", dev);
		return -EINVAL;
	}
	return 0;
}

static int biotest_run(struct block_device *bdev, struct block_device *mbdev,
		       enum req_op bop)
{
	struct page *before[BIOTEST_SB_PAGES] = {}, *after[BIOTEST_SB_PAGES] = {};
	struct bio *bio;
	unsigned int i;
	int status, r = -ENOMEM;

	for (i = 0; i < BIOTEST_SB_PAGES; i++) {
		before[i] = alloc_page(GFP_KERNEL);
		after[i] = alloc_page(GFP_KERNEL);
		if (!before[i] || !after[i])
			goto out;
	}
	r = biotest_read_sb(mbdev, before);
	if (r) {
		pr_err("reading the superblock of %s failed: %d\n", meta, r);
		goto out;
	}

	bio = bio_alloc(bdev, 0, bop | (fua ? REQ_FUA : 0), GFP_KERNEL);
	bio->bi_iter.bi_sector = sector;
	bio->bi_iter.bi_size = nr_sectors << SECTOR_SHIFT;
	status = submit_bio_wait(bio);
	bio_put(bio);
	/*
	 * Read again at once: a commit the vdisk made before completing the
	 * bio has written a superblock slot by now.  (Its periodic commit, about
	 * once a second, could also land in this short window; the test makes
	 * that unlikely, see vdisk-fua-commit.sh.)
	 */
	r = biotest_read_sb(mbdev, after);
	if (r) {
		pr_err("re-reading the superblock of %s failed: %d\n", meta, r);
		goto out;
	}
	pr_info("op=%s fua=%d status=%d commit_seen=%d seq=%llu->%llu\n",
		op, fua, status, !biotest_same(before, after),
		biotest_seq(before), biotest_seq(after));
out:
	for (i = 0; i < BIOTEST_SB_PAGES; i++) {
		if (before[i])
			__free_page(before[i]);
		if (after[i])
			__free_page(after[i]);
	}
	return r;
}

static int __init biotest_init(void)
{
	struct block_device *bdev, *mbdev;
	enum req_op bop;
	int r;

	if (!dev || !*dev || !meta || !*meta) {
		pr_err("need dev=<block device> and meta=<metadata device>\n");
		return -EINVAL;
	}
	if (sysfs_streq(op, "write_zeroes")) {
		bop = REQ_OP_WRITE_ZEROES;
	} else if (sysfs_streq(op, "discard")) {
		bop = REQ_OP_DISCARD;
	} else {
		pr_err("unknown op '%s' (want write_zeroes or discard)\n", op);
		return -EINVAL;
	}

	/* Not exclusive: the pool holds the metadata device open exclusively. */
	bdev = blkdev_get_by_path(dev, BIOTEST_MODE, NULL);
	if (IS_ERR(bdev)) {
		pr_err("cannot open %s: %ld\n", dev, PTR_ERR(bdev));
		return -EINVAL;
	}
	mbdev = blkdev_get_by_path(meta, FMODE_READ, NULL);
	if (IS_ERR(mbdev)) {
		pr_err("cannot open %s: %ld\n", meta, PTR_ERR(mbdev));
		blkdev_put(bdev, BIOTEST_MODE);
		return -EINVAL;
	}
	r = biotest_check(bdev, bop);
	if (!r)
		r = biotest_run(bdev, mbdev, bop);
	blkdev_put(mbdev, FMODE_READ);
	blkdev_put(bdev, BIOTEST_MODE);
	return r;
}

static void __exit biotest_exit(void)
{
}

module_init(biotest_init);
module_exit(biotest_exit);

MODULE_DESCRIPTION("dm-vdisk VM test: issue a WRITE_ZEROES or DISCARD bio, optionally with FUA");
MODULE_AUTHOR("dm-vdisk developers");
MODULE_LICENSE("GPL");
