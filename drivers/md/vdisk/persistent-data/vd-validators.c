// SPDX-License-Identifier: GPL-2.0
/*
 * Block validators: the common header of every metadata block (checksum,
 * magic, location, transaction) and the core block types.
 */
#include <linux/crc32c.h>
#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-block-manager.h"

u32 vd_block_csum(const void *data)
{
	const u8 *p = data;

	/* The checksum covers everything after the csum field itself. */
	return crc32c(VD_CSUM_SEED, p + sizeof(__le32),
		      VD_METADATA_BLOCK_SIZE - sizeof(__le32)) ^ VD_CSUM_XOR;
}

void vd_validator_prepare(const struct vd_validator *v, void *data, vd_blk_t nr, u64 txn)
{
	struct vd_block_header *h = data;

	h->magic = cpu_to_le32(v->magic);
	h->blocknr = cpu_to_le64(nr);
	h->txn = cpu_to_le64(txn);
	h->csum = cpu_to_le32(vd_block_csum(data));
}

int vd_validator_check(const struct vd_validator *v, const struct vd_block *b)
{
	const struct vd_block_header *h = b->data;
	u32 csum;

	if (le32_to_cpu(h->magic) != v->magic) {
		if (v->quiet_magic)
			return -EILSEQ;
		pr_err("vdisk: metadata block %llu: bad magic 0x%08x for a %s block (expected 0x%08x)\n",
		       (unsigned long long)b->nr, le32_to_cpu(h->magic), v->name, v->magic);
		return -EILSEQ;
	}
	csum = vd_block_csum(b->data);
	if (le32_to_cpu(h->csum) != csum) {
		pr_err("vdisk: metadata block %llu (%s): bad checksum 0x%08x (computed 0x%08x)\n",
		       (unsigned long long)b->nr, v->name, le32_to_cpu(h->csum), csum);
		return -EILSEQ;
	}
	if (le64_to_cpu(h->blocknr) != b->nr) {
		pr_err("vdisk: metadata block %llu (%s): header says it is block %llu\n",
		       (unsigned long long)b->nr, v->name,
		       (unsigned long long)le64_to_cpu(h->blocknr));
		return -EILSEQ;
	}
	if (v->check_extra)
		return v->check_extra(v, b);
	return 0;
}

int vd_block_check_txn(const struct vd_validator *v, const struct vd_block *b, u64 txn)
{
	const struct vd_block_header *h = b->data;

	if (le64_to_cpu(h->txn) != txn) {
		pr_err("vdisk: metadata block %llu (%s): written by transaction %llu, its reference expects %llu (stale or misdirected write)\n",
		       (unsigned long long)b->nr, v->name,
		       (unsigned long long)le64_to_cpu(h->txn), (unsigned long long)txn);
		return -EILSEQ;
	}
	return 0;
}

/* Binary search relies on strictly increasing keys: check, never assume. */
static bool keys_ascending(const void *node, u32 nr)
{
	const __le64 *keys = (const __le64 *)((const u8 *)node + VD_BTREE_NODE_HEADER_SIZE);
	u32 i;

	for (i = 1; i < nr; i++)
		if (le64_to_cpu(keys[i - 1]) >= le64_to_cpu(keys[i]))
			return false;
	return true;
}

static int vd_btree_node_check(const struct vd_validator *v, const struct vd_block *b)
{
	const struct vd_btree_node_header *n = b->data;
	u32 flags = le32_to_cpu(n->flags);
	u32 nr = le32_to_cpu(n->nr_entries);
	u32 max = le32_to_cpu(n->max_entries);
	u32 vsize = le32_to_cpu(n->value_size);
	const char *why = NULL;

	if (flags != VD_BTREE_NODE_INTERNAL && flags != VD_BTREE_NODE_LEAF)
		why = "bad node flags";
	else if (!vsize || vsize > VD_BTREE_MAX_VALUE_SIZE)
		why = "bad value size";
	else if (flags == VD_BTREE_NODE_INTERNAL && vsize != VD_BTREE_INTERNAL_VALUE_SIZE)
		why = "internal node with wrong value size";
	else if (max < 3 || max > VD_BTREE_MAX_ENTRIES(vsize))
		why = "bad max_entries";
	else if (nr > max)
		why = "more entries than max_entries";
	else if (!keys_ascending(b->data, nr))
		why = "keys out of order";
	if (why) {
		pr_err("vdisk: metadata block %llu (btree node): %s (flags %u entries %u max %u value size %u)\n",
		       (unsigned long long)b->nr, why, flags, nr, max, vsize);
		return -EILSEQ;
	}
	return 0;
}

static int vd_sm_bitmap_check(const struct vd_validator *v, const struct vd_block *b)
{
	const struct vd_sm_bitmap *bm = b->data;

	if (le32_to_cpu(bm->nr_free) > VD_SM_ENTRIES_PER_BITMAP) {
		pr_err("vdisk: metadata block %llu (space map bitmap): free count %u too big\n",
		       (unsigned long long)b->nr, le32_to_cpu(bm->nr_free));
		return -EILSEQ;
	}
	return 0;
}

const struct vd_validator vd_btree_node_validator = {
	.name = "btree node",
	.magic = VD_MAGIC_BTREE_NODE,
	.check_extra = vd_btree_node_check,
};

const struct vd_validator vd_sm_bitmap_validator = {
	.name = "space map bitmap",
	.magic = VD_MAGIC_SM_BITMAP,
	.check_extra = vd_sm_bitmap_check,
};

const struct vd_validator vd_superblock_validator = {
	.name = "superblock",
	.magic = VD_MAGIC_SUPERBLOCK,
};
