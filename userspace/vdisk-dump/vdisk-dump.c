// SPDX-License-Identifier: GPL-2.0
/*
 * vdisk-dump: dm-vdisk pool metadata as readable text or JSON: superblock,
 * space maps with their reference counts (as runs), vdisks with names,
 * details and mappings (as runs of consecutive blocks).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/kernel.h>

#include "vd-bm-user.h"
#include "vd-btree.h"
#include "vd-pool-metadata.h"
#include "vd-transaction-manager.h"

extern int kshim_verbose;

static int json;
/* A read-only view of the same metadata for the references' transactions. */
static struct vd_tm *ref_tm;
static struct vd_superblock sb;

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vdisk-dump <metadata device or file> [--json]\n"
		"\n"
		"Print dm-vdisk pool metadata: the current superblock, both space maps\n"
		"(free counts and reference counts as runs), every vdisk with its name,\n"
		"details and mappings (runs of consecutive virtual -> data blocks).  Every\n"
		"reference to a metadata block (tree roots, the held metadata snapshot,\n"
		"space map index entries, mapping roots) is shown as block@txn: the block\n"
		"and the transaction its header must carry.\n"
		"Read only; dump an active pool only when it is suspended.\n"
		"\n"
		"  --json       JSON instead of text\n"
		"  -h, --help   this text\n"
		"\n"
		"Exit status: 0 dumped, 1 the metadata could not be read, 2 usage error.\n");
}

/* A reference: "block@txn" in text, {"block": b, "txn": t} in JSON. */
static void print_ref(struct vd_ref r)
{
	if (json)
		printf("{\"block\": %llu, \"txn\": %llu}", (unsigned long long)r.nr,
		       (unsigned long long)r.txn);
	else
		printf("%llu@%llu", (unsigned long long)r.nr, (unsigned long long)r.txn);
}

struct index_ctx {
	int n;
};

static int index_fn(void *context, u64 key, const void *value)
{
	const struct vd_sm_index_entry *ie = value;
	struct index_ctx *x = context;

	if (json) {
		printf("%s\n      {\"bitmap\": %llu, \"ref\": ", x->n++ ? "," : "",
		       (unsigned long long)key);
		print_ref(vd_ref_load(&ie->bitmap));
		printf(", \"nr_free\": %u, \"first_free\": %u}", le32_to_cpu(ie->nr_free),
		       le32_to_cpu(ie->first_free));
	} else {
		printf("    bitmap %llu: ", (unsigned long long)key);
		print_ref(vd_ref_load(&ie->bitmap));
		printf(", %u free, first free %u\n", le32_to_cpu(ie->nr_free),
		       le32_to_cpu(ie->first_free));
	}
	return 0;
}

/* Space map roots and index entries (every bitmap reference). */
static int dump_sm_refs(int which)
{
	const struct vd_sm_root *root = &sb.sm_roots[which];
	struct vd_btree_info info = { .tm = ref_tm };
	struct index_ctx x = { 0 };
	int ret;

	vd_btree_vt_plain(&info.vt, sizeof(struct vd_sm_index_entry));
	if (json) {
		printf("    \"index_root\": ");
		print_ref(vd_ref_load(&root->index_root));
		printf(", \"overflow_root\": ");
		print_ref(vd_ref_load(&root->overflow_root));
		printf(",\n    \"index\": [");
	} else {
		printf("  index root ");
		print_ref(vd_ref_load(&root->index_root));
		printf(", overflow root ");
		print_ref(vd_ref_load(&root->overflow_root));
		printf("\n  index entries:\n");
	}
	ret = vd_btree_iterate(&info, vd_ref_load(&root->index_root), 0, U64_MAX, index_fn, &x);
	if (json)
		printf("\n    ],\n");
	return ret;
}

/* The reference to @id's mapping tree root, as the vdisks tree holds it. */
static int mapping_root(u64 id, struct vd_ref *ref)
{
	struct vd_btree_info info = { .tm = ref_tm };
	struct vd_block_ref le;
	int ret;

	vd_btree_vt_plain(&info.vt, sizeof(struct vd_block_ref));
	ret = vd_btree_lookup(&info, vd_ref_load(&sb.tree_roots[VD_ROOT_VDISKS]), id, &le);
	if (!ret)
		*ref = vd_ref_load(&le);
	return ret;
}

/* A run of (key, value) pairs where both grow by one. */
struct run {
	u64 k0, v0, n;
	int count;		/* items printed, for JSON commas */
	int is_count;		/* refcount runs: value is constant, not growing */
};

static void run_flush(struct run *r)
{
	if (!r->n)
		return;
	if (json) {
		printf("%s\n      {\"%s\": %llu, \"%s\": %llu, \"length\": %llu}",
		       r->count++ ? "," : "", r->is_count ? "block" : "vblock",
		       (unsigned long long)r->k0, r->is_count ? "count" : "data_block",
		       (unsigned long long)r->v0, (unsigned long long)r->n);
	} else if (r->is_count) {
		printf("    %llu..%llu: count %llu\n", (unsigned long long)r->k0,
		       (unsigned long long)(r->k0 + r->n - 1), (unsigned long long)r->v0);
	} else {
		printf("    %llu..%llu -> %llu..%llu\n", (unsigned long long)r->k0,
		       (unsigned long long)(r->k0 + r->n - 1), (unsigned long long)r->v0,
		       (unsigned long long)(r->v0 + r->n - 1));
	}
	r->n = 0;
}

static void run_add(struct run *r, u64 k, u64 v)
{
	u64 expect = r->is_count ? r->v0 : r->v0 + r->n;

	if (r->n && k == r->k0 + r->n && v == expect) {
		r->n++;
		return;
	}
	run_flush(r);
	r->k0 = k;
	r->v0 = v;
	r->n = 1;
}

static int count_fn(void *context, vd_blk_t b, u32 count)
{
	run_add(context, b, count);
	return 0;
}

static int map_fn(void *context, u64 vblock, u64 mapping)
{
	run_add(context, vblock, VD_MAP_BLOCK(mapping));
	return 0;
}

static int dump_counts(struct vd_pool_metadata *pmd, bool metadata)
{
	struct run r = { .is_count = 1 };
	int ret;

	if (json)
		printf("    \"counts\": [");
	else
		printf("  reference counts (runs):\n");
	ret = vd_pool_iterate_counts(pmd, metadata, count_fn, &r);
	run_flush(&r);
	if (json)
		printf("\n    ]");
	return ret;
}

struct vdisk_ctx {
	struct vd_pool_metadata *pmd;
	int n, err;
};

static int vdisk_fn(void *context, u64 id)
{
	struct vdisk_ctx *c = context;
	struct vd_pool_vdisk_info i;
	char name[VD_NAME_MAX];
	struct run r = { 0 };
	struct vd_ref root;
	int ret;

	ret = vd_pool_get_details(c->pmd, id, &i);
	if (!ret)
		ret = mapping_root(id, &root);
	if (ret) {
		c->err = ret;
		return ret;
	}
	/* A damaged name does not hide the rest: shown as none, exit status 1. */
	ret = vd_pool_get_name(c->pmd, id, name);
	if (ret) {
		fprintf(stderr, "vdisk-dump: vdisk %llu: its name is unreadable (%s)\n",
			(unsigned long long)id, strerror(-ret));
		c->err = ret;
		name[0] = 0;
	}
	if (json) {
		/* Valid names need no JSON escaping ([A-Za-z0-9_.+:-]). */
		printf("%s\n    {\"id\": %llu, \"name\": ", c->n++ ? "," : "",
		       (unsigned long long)id);
		if (name[0])
			printf("\"%s\"", name);
		else
			printf("null");
		printf(", \"size_sectors\": %llu, \"mapped_blocks\": %llu, "
		       "\"creation_time\": %llu, \"snapshot_time\": %llu, \"origin\": ",
		       (unsigned long long)i.size_sectors, (unsigned long long)i.mapped_blocks,
		       (unsigned long long)i.creation_time, (unsigned long long)i.snapshot_time);
		if (i.origin_id == VD_DISK_NO_ORIGIN)
			printf("null");
		else
			printf("%llu", (unsigned long long)i.origin_id);
		printf(", \"flags\": %u, \"auto_activate\": %s, \"transaction_id\": %llu, "
		       "\"mapping_root\": ", i.flags,
		       i.flags & VD_DISK_FLAG_AUTO_ACTIVATE ? "true" : "false",
		       (unsigned long long)i.transaction_id);
		print_ref(root);
		printf(",\n     \"mappings\": [");
	} else {
		printf("vdisk %llu", (unsigned long long)id);
		if (name[0])
			printf(" \"%s\"", name);
		printf(": size %llu sectors, %llu mapped blocks, created at time %llu",
		       (unsigned long long)i.size_sectors, (unsigned long long)i.mapped_blocks, (unsigned long long)i.creation_time);
		if (i.origin_id != VD_DISK_NO_ORIGIN)
			printf(", snapshot of %llu", (unsigned long long)i.origin_id);
		if (i.snapshot_time)
			printf(", last snapshot at time %llu", (unsigned long long)i.snapshot_time);
		if (i.flags & VD_DISK_FLAG_AUTO_ACTIVATE)
			printf(", auto-activate");
		printf("\n  mapping root ");
		print_ref(root);
		printf("\n  mappings (vblocks -> data blocks):\n");
	}
	ret = vd_pool_iterate_mappings(c->pmd, id, 0, U64_MAX, map_fn, &r);
	run_flush(&r);
	if (json)
		printf("\n    ]}");
	if (ret)
		c->err = ret;
	return ret;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct vd_pool_metadata *pmd;
	struct vd_block_manager *bm;
	struct vdisk_ctx vc = { 0 };
	struct vd_space_map *ref_msm;
	struct vd_pool_usage u;
	unsigned int slots;
	struct vd_dev *dev;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
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
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	kshim_verbose = 0;
	dev = vd_dev_open_file(argv[optind], 0);
	if (!dev) {
		fprintf(stderr, "vdisk-dump: cannot open '%s': %s\n", argv[optind], strerror(errno));
		return 1;
	}
	bm = vd_bm_user_create(dev, 1024);
	r = bm ? vd_pool_read_superblock(bm, &sb, &slots) : -ENOMEM;
	if (!r)
		r = vd_pool_open(bm, VD_POOL_OPEN_READ_ONLY, &pmd);
	if (r) {
		fprintf(stderr, "vdisk-dump: cannot read the pool metadata (%s); run vdisk-check\n",
			strerror(-r));
		if (bm)
			vd_bm_destroy(bm);
		vd_dev_close(dev);
		return 1;
	}
	r = vd_pool_get_usage(pmd, &u);
	if (!r)
		r = vd_tm_open_with_sm(bm, &sb.sm_roots[VD_SM_METADATA],
				       le64_to_cpu(sb.commit_seq), &ref_tm, &ref_msm);
	if (r)
		ref_tm = NULL;
	if (json) {
		printf("{\n  \"superblock\": {\"commit_seq\": %llu, \"slot\": %llu, \"valid_slots\": %u, "
		       "\"version\": %u, \"compat\": %llu, \"ro_compat\": %llu, \"incompat\": %llu,\n"
		       "    \"data_block_size\": %llu, \"transaction_id\": %llu, \"time\": %llu, "
		       "\"held_root\": %llu, \"needs_check\": %s},\n",
		       (unsigned long long)u.commit_seq,
		       (unsigned long long)VD_SUPERBLOCK_SLOT(u.commit_seq), slots,
		       le32_to_cpu(sb.version), (unsigned long long)le64_to_cpu(sb.compat_flags),
		       (unsigned long long)le64_to_cpu(sb.ro_compat_flags),
		       (unsigned long long)le64_to_cpu(sb.incompat_flags),
		       (unsigned long long)u.data_block_size, (unsigned long long)u.transaction_id,
		       (unsigned long long)le64_to_cpu(sb.time), (unsigned long long)u.held_root,
		       u.needs_check ? "true" : "false");
		printf("  \"references\": {\"held_root\": ");
		print_ref(vd_ref_load(&sb.held_root));
		printf(", \"vdisks\": ");
		print_ref(vd_ref_load(&sb.tree_roots[VD_ROOT_VDISKS]));
		printf(", \"details\": ");
		print_ref(vd_ref_load(&sb.tree_roots[VD_ROOT_DETAILS]));
		printf(",\n    \"pending_deletion\": ");
		print_ref(vd_ref_load(&sb.tree_roots[VD_ROOT_PENDING_DELETE]));
		printf(", \"name_map\": ");
		if (le64_to_cpu(sb.tree_roots[VD_ROOT_NAME_MAP].blocknr))
			print_ref(vd_ref_load(&sb.tree_roots[VD_ROOT_NAME_MAP]));
		else
			printf("null");
		printf("},\n");
		printf("  \"metadata_space_map\": {\"blocks\": %llu, \"free\": %llu,\n",
		       (unsigned long long)u.nr_metadata_blocks,
		       (unsigned long long)u.nr_free_metadata_blocks);
	} else {
		printf("superblock: commit %llu in slot %llu (valid slots mask %u), version %u\n",
		       (unsigned long long)u.commit_seq,
		       (unsigned long long)VD_SUPERBLOCK_SLOT(u.commit_seq), slots,
		       le32_to_cpu(sb.version));
		printf("  features compat 0x%llx ro_compat 0x%llx incompat 0x%llx\n",
		       (unsigned long long)le64_to_cpu(sb.compat_flags),
		       (unsigned long long)le64_to_cpu(sb.ro_compat_flags),
		       (unsigned long long)le64_to_cpu(sb.incompat_flags));
		printf("  data block size %llu sectors, transaction id %llu, time %llu, metadata snapshot %llu%s\n",
		       (unsigned long long)u.data_block_size, (unsigned long long)u.transaction_id,
		       (unsigned long long)le64_to_cpu(sb.time), (unsigned long long)u.held_root,
		       u.needs_check ? ", NEEDS CHECK" : "");
		printf("  references (block@txn): metadata snapshot ");
		print_ref(vd_ref_load(&sb.held_root));
		printf(", vdisks tree ");
		print_ref(vd_ref_load(&sb.tree_roots[VD_ROOT_VDISKS]));
		printf(", details tree ");
		print_ref(vd_ref_load(&sb.tree_roots[VD_ROOT_DETAILS]));
		printf(", pending-deletion tree ");
		print_ref(vd_ref_load(&sb.tree_roots[VD_ROOT_PENDING_DELETE]));
		printf(", name map ");
		if (le64_to_cpu(sb.tree_roots[VD_ROOT_NAME_MAP].blocknr))
			print_ref(vd_ref_load(&sb.tree_roots[VD_ROOT_NAME_MAP]));
		else
			printf("none");
		printf("\nmetadata space map: %llu blocks, %llu free\n",
		       (unsigned long long)u.nr_metadata_blocks,
		       (unsigned long long)u.nr_free_metadata_blocks);
	}
	if (!r)
		r = dump_sm_refs(VD_SM_METADATA);
	if (!r)
		r = dump_counts(pmd, true);
	if (json)
		printf("},\n  \"data_space_map\": {\"blocks\": %llu, \"free\": %llu,\n",
		       (unsigned long long)u.nr_data_blocks, (unsigned long long)u.nr_free_data_blocks);
	else
		printf("data space map: %llu blocks, %llu free\n",
		       (unsigned long long)u.nr_data_blocks, (unsigned long long)u.nr_free_data_blocks);
	if (!r)
		r = dump_sm_refs(VD_SM_DATA);
	if (!r)
		r = dump_counts(pmd, false);
	if (json)
		printf("},\n  \"deletions_pending\": %s,\n  \"vdisks\": [",
		       u.deletions_pending ? "true" : "false");
	else if (u.deletions_pending)
		printf("deletions pending (space is being reclaimed)\n");
	vc.pmd = pmd;
	if (!r)
		r = vd_pool_iterate_vdisks(pmd, vdisk_fn, &vc);
	if (!r)
		r = vc.err;
	if (json)
		printf("\n  ]\n}\n");
	if (ref_tm)
		vd_tm_destroy(ref_tm);
	vd_pool_close(pmd);
	vd_bm_destroy(bm);
	vd_dev_close(dev);
	if (r) {
		fprintf(stderr, "vdisk-dump: reading the metadata failed (%s); run vdisk-check\n",
			strerror(-r));
		return 1;
	}
	return 0;
}
