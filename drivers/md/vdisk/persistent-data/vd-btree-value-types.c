// SPDX-License-Identifier: GPL-2.0
/* Common B+tree value types: mappings to data blocks, subtree roots, plain. */
#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "vd-btree.h"
#include "vd-space-map.h"

static int mapping_block(const void *value, vd_blk_t *b)
{
	u64 v = le64_to_cpu(*(const __le64 *)value);

	if (v & VD_MAP_RESERVED_MASK) {
		pr_err("vdisk: mapping value 0x%llx has reserved bits set\n",
		       (unsigned long long)v);
		return -EILSEQ;
	}
	/* SSD-tier blocks live in a space map this layer does not know yet. */
	if (VD_MAP_IS_SSD(v)) {
		pr_err("vdisk: mapping value 0x%llx: SSD tier not supported\n",
		       (unsigned long long)v);
		return -EOPNOTSUPP;
	}
	*b = VD_MAP_BLOCK(v);
	return 0;
}

static int mapping_inc(void *context, const void *value)
{
	vd_blk_t b;
	int r = mapping_block(value, &b);

	return r ? r : vd_sm_inc(context, b);
}

static int mapping_dec(void *context, const void *value)
{
	vd_blk_t b;
	int r = mapping_block(value, &b);

	return r ? r : vd_sm_dec(context, b);
}

/* Blocks released per vd_sm_dec_blocks() call: a bounded stack array. */
#define DEC_CHUNK 64

int vd_btree_dec_mappings(struct vd_space_map *data_sm, const void *values, u32 nr,
			  bool validate, void (*freed)(void *context, vd_blk_t b), void *context)
{
	const __le64 *v = values;
	vd_blk_t blocks[DEC_CHUNK];
	u32 i = 0, n;
	int r;

	while (i < nr) {
		for (n = 0; n < DEC_CHUNK && i < nr; n++, i++) {
			if (validate) {
				r = mapping_block(&v[i], &blocks[n]);
				if (r)
					return r;
			} else {
				blocks[n] = VD_MAP_BLOCK(le64_to_cpu(v[i]));
			}
		}
		r = vd_sm_dec_blocks(data_sm, blocks, n, freed, context);
		if (r)
			return r;
	}
	return 0;
}

static int mapping_dec_many(void *context, const void *values, u32 nr)
{
	return vd_btree_dec_mappings(context, values, nr, true, NULL, NULL);
}

static bool le64_equal(void *context, const void *a, const void *b)
{
	return !memcmp(a, b, sizeof(__le64));
}

void vd_btree_vt_mappings(struct vd_btree_value_type *vt, struct vd_space_map *data_sm)
{
	memset(vt, 0, sizeof(*vt));
	vt->context = data_sm;
	vt->size = sizeof(__le64);
	vt->inc = mapping_inc;
	vt->dec = mapping_dec;
	vt->dec_many = mapping_dec_many;
	vt->equal = le64_equal;
}

static int subtree_inc(void *context, const void *value)
{
	struct vd_btree_info *sub = context;

	return vd_btree_clone(sub, vd_ref_load(value));
}

static int subtree_dec(void *context, const void *value)
{
	struct vd_btree_info *sub = context;

	return vd_btree_del(sub, vd_ref_load(value));
}

static bool ref_equal(void *context, const void *a, const void *b)
{
	return !memcmp(a, b, sizeof(struct vd_block_ref));
}

void vd_btree_vt_subtrees(struct vd_btree_value_type *vt, struct vd_btree_info *sub)
{
	memset(vt, 0, sizeof(*vt));
	vt->context = sub;
	vt->size = sizeof(struct vd_block_ref);
	vt->inc = subtree_inc;
	vt->dec = subtree_dec;
	vt->equal = ref_equal;
}

void vd_btree_vt_plain(struct vd_btree_value_type *vt, u32 size)
{
	memset(vt, 0, sizeof(*vt));
	vt->size = size;
}
