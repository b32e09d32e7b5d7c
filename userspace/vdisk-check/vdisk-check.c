// SPDX-License-Identifier: GPL-2.0
/*
 * vdisk-check: verify dm-vdisk pool metadata (see vd-check.h for what).
 * Exit 0 clean, 1 damaged, 2 usage or I/O error.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kernel.h>

#include "vd-bm-user.h"
#include "vd-check.h"
#include "vd-pool-metadata.h"

extern int kshim_verbose;

static int quiet, json, nr_json_msgs;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vdisk-check <metadata device or file> [--use-metadata-snap]\n"
		"                   [--clear-needs-check-flag] [-q] [--json]\n"
		"\n"
		"Check dm-vdisk pool metadata: checksums, magic and location of every block,\n"
		"key order and ranges, node fill, depth, value sizes, vdisk details and\n"
		"snapshot lineage, pending deletions; rebuild every reference count and\n"
		"compare it with the metadata and data space maps.  Read only, unless\n"
		"--clear-needs-check-flag is given.\n"
		"\n"
		"  --use-metadata-snap  check the held metadata snapshot (of a live pool)\n"
		"                       instead of the current metadata; reference counts\n"
		"                       are not compared in this mode\n"
		"  --clear-needs-check-flag\n"
		"                       if the check is clean, clear the pool's needs_check\n"
		"                       flag (set after a metadata error; the pool stays\n"
		"                       read-only while it is set) with one commit; an\n"
		"                       inactive pool only\n"
		"  -q, --quiet          print nothing, only set the exit status\n"
		"  --json               print the report as JSON\n"
		"  -h, --help           this text\n"
		"\n"
		"Exit status: 0 clean, 1 damaged, 2 usage or I/O error.\n"
		"Check an active pool only through --use-metadata-snap (reserve one first).\n");
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void msg(void *context, enum vd_check_level level, const char *text)
{
	static const char * const names[] = { "info", "warning", "error" };

	if (quiet)
		return;
	if (json) {
		printf("%s\n    {\"level\": \"%s\", \"text\": ", nr_json_msgs++ ? "," : "", names[level]);
		json_str(text);
		putchar('}');
		return;
	}
	printf("%s: %s\n", names[level], text);
}

/* The check was clean: clear needs_check in one commit (nothing else changes). */
static int clear_needs_check(struct vd_block_manager *bm)
{
	struct vd_pool_metadata *pmd;
	int r;

	r = vd_pool_open(bm, 0, &pmd);
	if (r)
		return r;
	if (!vd_pool_needs_check(pmd)) {
		vd_pool_close(pmd);
		return 0;
	}
	r = vd_pool_clear_needs_check(pmd);
	if (!r)
		r = vd_pool_commit(pmd);
	vd_pool_close(pmd);
	if (!r && !quiet && !json)
		printf("needs_check flag cleared\n");
	return r;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "use-metadata-snap", no_argument, NULL, 's' },
		{ "clear-needs-check-flag", no_argument, NULL, 'c' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vd_check_report rep = { .msg = msg };
	struct vd_block_manager *bm;
	unsigned int flags = 0;
	int clear_flag = 0;
	struct vd_dev *dev;
	int c, r;

	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 's':
			flags |= VD_CHECK_USE_METADATA_SNAP;
			break;
		case 'c':
			clear_flag = 1;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1 || (clear_flag && (flags & VD_CHECK_USE_METADATA_SNAP))) {
		usage(stderr);
		return 2;
	}
	if (quiet || json)
		kshim_verbose = -1;	/* block-level details go to stderr otherwise */
	dev = vd_dev_open_file(argv[optind], clear_flag);
	if (!dev) {
		fprintf(stderr, "vdisk-check: cannot open '%s': %s\n", argv[optind], strerror(errno));
		return 2;
	}
	bm = vd_bm_user_create(dev, 4096);
	if (!bm) {
		vd_dev_close(dev);
		return 2;
	}
	if (json && !quiet)
		printf("{\n  \"device\": "), json_str(argv[optind]), printf(",\n  \"messages\": [");
	r = vd_check(bm, flags, &rep);
	if (!r && clear_flag && !rep.nr_errors)
		r = clear_needs_check(bm);
	vd_bm_destroy(bm);
	vd_dev_close(dev);
	if (r) {
		if (json && !quiet)
			printf("\n  ],\n  \"result\": \"error\"\n}\n");
		fprintf(stderr, "vdisk-check: could not run: %s\n", strerror(-r));
		return 2;
	}
	if (json && !quiet) {
		printf("\n  ],\n  \"result\": \"%s\",\n", rep.nr_errors ? "damaged" : "clean");
		printf("  \"errors\": %llu,\n  \"warnings\": %llu,\n  \"commit_seq\": %llu,\n"
		       "  \"vdisks\": %llu,\n  \"named_vdisks\": %llu,\n  \"deleted_vdisks\": %llu,\n"
		       "  \"pending_deletes\": %llu,\n"
		       "  \"mappings\": %llu,\n  \"metadata_blocks\": %llu,\n  \"metadata_used\": %llu,\n"
		       "  \"data_blocks\": %llu,\n  \"data_used\": %llu,\n  \"leaked\": %llu,\n"
		       "  \"bad_counts\": %llu,\n  \"counts_compared\": %s\n}\n",
		       (unsigned long long)rep.nr_errors, (unsigned long long)rep.nr_warnings,
		       (unsigned long long)rep.commit_seq, (unsigned long long)rep.nr_vdisks,
		       (unsigned long long)rep.nr_names, (unsigned long long)rep.nr_tombstones,
		       (unsigned long long)rep.nr_pending_deletes, (unsigned long long)rep.nr_mappings,
		       (unsigned long long)rep.nr_metadata_blocks,
		       (unsigned long long)rep.nr_metadata_used,
		       (unsigned long long)rep.nr_data_blocks, (unsigned long long)rep.nr_data_used,
		       (unsigned long long)rep.nr_leaked, (unsigned long long)rep.nr_bad_counts,
		       rep.counts_compared ? "true" : "false");
	} else if (!quiet) {
		printf("commit %llu: %llu vdisks (%llu named, %llu deleted, %llu pending deletion), %llu mappings\n",
		       (unsigned long long)rep.commit_seq, (unsigned long long)rep.nr_vdisks,
		       (unsigned long long)rep.nr_names, (unsigned long long)rep.nr_tombstones,
		       (unsigned long long)rep.nr_pending_deletes, (unsigned long long)rep.nr_mappings);
		if (rep.counts_compared)
			printf("metadata %llu/%llu blocks used, data %llu/%llu blocks used\n",
			       (unsigned long long)rep.nr_metadata_used,
			       (unsigned long long)rep.nr_metadata_blocks,
			       (unsigned long long)rep.nr_data_used,
			       (unsigned long long)rep.nr_data_blocks);
		if (rep.nr_errors)
			printf("DAMAGED: %llu errors (%llu leaked blocks, %llu wrong counts); keep the pool inactive\n",
			       (unsigned long long)rep.nr_errors, (unsigned long long)rep.nr_leaked,
			       (unsigned long long)rep.nr_bad_counts);
		else
			printf("clean (%llu warnings)\n", (unsigned long long)rep.nr_warnings);
	}
	return rep.nr_errors ? 1 : 0;
}
