// SPDX-License-Identifier: GPL-2.0
/*
 * vdisk-format: write an empty dm-vdisk pool's metadata, with the same
 * vd_pool_format() the kernel uses on a zeroed metadata device.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kernel.h>

#include "vd-bm-user.h"
#include "vd-pool-metadata.h"

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vdisk-format <metadata device or file> --data-blocks N [--block-size S] [--force]\n"
		"\n"
		"Write an empty dm-vdisk pool's metadata (both superblock slots, space maps\n"
		"for metadata and data, empty vdisk trees).\n"
		"\n"
		"  --data-blocks N   number of data blocks of the data device\n"
		"  --block-size S    data block size: sectors (512 B), or with a K/M suffix;\n"
		"                    4K (8 sectors, the default) to 1M, a multiple of 4K\n"
		"  --force           overwrite a device that already holds dm-vdisk metadata\n"
		"  -h, --help        this text\n"
		"\n"
		"Exit status: 0 formatted, 1 refused or failed, 2 usage error.\n");
}

static int parse_size(const char *s, unsigned long long *sectors)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s)
		return -1;
	if (!strcasecmp(end, "k"))
		v = v * 1024 / 512;
	else if (!strcasecmp(end, "m"))
		v = v * 1024 * 1024 / 512;
	else if (*end && strcmp(end, "s"))
		return -1;
	*sectors = v;
	return 0;
}

/* Raw look at blocks 0 and 1: our magic with a matching checksum. */
static int holds_pool(struct vd_dev *dev)
{
	unsigned char buf[VD_METADATA_BLOCK_SIZE];
	const struct vd_block_header *h = (const void *)buf;
	uint64_t b;

	for (b = 0; b < VD_SUPERBLOCK_NR_SLOTS && b < vd_dev_nr_blocks(dev); b++) {
		if (vd_dev_read(dev, b, buf))
			continue;
		if (le32_to_cpu(h->magic) == VD_MAGIC_SUPERBLOCK &&
		    le32_to_cpu(h->csum) == vd_block_csum(buf))
			return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "data-blocks", required_argument, NULL, 'd' },
		{ "block-size", required_argument, NULL, 'b' },
		{ "force", no_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vd_pool_format_params p = { .data_block_size = 8 };
	unsigned long long v;
	struct vd_block_manager *bm;
	struct vd_dev *dev;
	int c, force = 0, r;
	char *end;

	while ((c = getopt_long(argc, argv, "d:b:fh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			errno = 0;
			p.nr_data_blocks = strtoull(optarg, &end, 0);
			if (errno || *end || !p.nr_data_blocks) {
				fprintf(stderr, "vdisk-format: bad --data-blocks '%s': give a positive number\n", optarg);
				return 2;
			}
			break;
		case 'b':
			if (parse_size(optarg, &v) || v > 2048 || v < 8 || v % 8) {
				fprintf(stderr, "vdisk-format: bad --block-size '%s': use 8..2048 sectors or 4K..1M, a multiple of 4K\n", optarg);
				return 2;
			}
			p.data_block_size = (u32)v;
			break;
		case 'f':
			force = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || !p.nr_data_blocks) {
		fprintf(stderr, "vdisk-format: need one metadata device and --data-blocks N\n");
		usage(stderr);
		return 2;
	}
	dev = vd_dev_open_file(argv[optind], 1);
	if (!dev) {
		fprintf(stderr, "vdisk-format: cannot open '%s' for writing: %s\n", argv[optind], strerror(errno));
		return 1;
	}
	if (holds_pool(dev) && !force) {
		fprintf(stderr, "vdisk-format: '%s' already holds dm-vdisk metadata; use --force to destroy it\n",
			argv[optind]);
		vd_dev_close(dev);
		return 1;
	}
	bm = vd_bm_user_create(dev, 256);
	if (!bm) {
		vd_dev_close(dev);
		return 1;
	}
	r = vd_pool_format(bm, &p);
	vd_bm_destroy(bm);
	if (!r)
		r = vd_dev_flush(dev);
	vd_dev_close(dev);
	if (r) {
		fprintf(stderr, "vdisk-format: formatting '%s' failed: %s\n", argv[optind], strerror(-r));
		return 1;
	}
	printf("formatted %s: %llu data blocks of %u sectors\n", argv[optind],
	       (unsigned long long)p.nr_data_blocks, p.data_block_size);
	return 0;
}
