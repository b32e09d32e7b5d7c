// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk pool metadata: a vdisk's mappings (lookup, insert, remove,
 * iterate) and the data blocks they reference.
 */
#define pr_fmt(fmt) "vdisk-metadata: " fmt

#include <linux/errno.h>
#include <linux/kernel.h>

#include "vd-pool-metadata-internal.h"

static int check_mapping(struct vd_pool_metadata *pmd, u64 id, u64 vblock, u64 v)
{
	if ((v & (VD_MAP_RESERVED_MASK | VD_MAP_SSD | VD_MAP_SLOT_MASK)) ||
	    VD_MAP_BLOCK(v) >= le64_to_cpu(pmd->sb->nr_data_blocks)) {
		pr_err("vdisk %llu block %llu: invalid mapping value 0x%llx (pool has %llu data blocks, no enabled feature uses flag bits)\n",
		       (unsigned long long)id, (unsigned long long)vblock,
		       (unsigned long long)v,
		       (unsigned long long)le64_to_cpu(pmd->sb->nr_data_blocks));
		return -EILSEQ;
	}
	return 0;
}

int vd_pool_lookup(struct vd_pool_metadata *pmd, u64 id, u64 vblock, u64 *mapping)
{
	struct vd_ref root;
	__le64 le;
	int r;

	r = vd_pmd_live_vdisk(pmd, id, &root, NULL);
	if (r)
		return r;
	r = vd_btree_lookup(&pmd->map_info, root, vblock, &le);
	if (r)
		return r;
	*mapping = le64_to_cpu(le);
	return check_mapping(pmd, id, vblock, *mapping);
}

int vd_pool_highest_mapped(struct vd_pool_metadata *pmd, u64 id, u64 *vblock)
{
	struct vd_ref root;
	__le64 le;
	int r = vd_pmd_live_vdisk(pmd, id, &root, NULL);

	return r ? r : vd_btree_lookup_prev(&pmd->map_info, root, U64_MAX, vblock, &le);
}

int vd_pool_alloc_data_block(struct vd_pool_metadata *pmd, vd_blk_t *pblock)
{
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	r = vd_sm_new_block(pmd->dsm, pblock);
	if (r == -ENOSPC)
		return r;
	return vd_pmd_fail(pmd, r, "allocate data block", 0);
}

int vd_pool_alloc_data_blocks(struct vd_pool_metadata *pmd, u32 max, vd_blk_t *first, u32 *nr)
{
	int r = vd_pmd_check_writable(pmd);

	*nr = 0;
	if (r)
		return r;
	r = vd_sm_new_blocks(pmd->dsm, max, first, nr);
	if (r == -ENOSPC || r == -EINVAL)
		return r;
	return vd_pmd_fail(pmd, r, "allocate data blocks", 0);
}

int vd_pool_release_data_block(struct vd_pool_metadata *pmd, vd_blk_t pblock)
{
	__le64 le = cpu_to_le64(pblock);
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	return vd_pmd_fail(pmd, vd_pmd_map_dec(pmd, &le), "release data block", 0);
}

int vd_pool_release_unused_data_blocks(struct vd_pool_metadata *pmd, const vd_blk_t *blocks,
				       unsigned int nr)
{
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	return vd_pmd_fail(pmd, vd_sm_dec_blocks(pmd->dsm, blocks, nr, NULL, NULL),
			   "release unused data blocks", 0);
}

int vd_pool_release_unused_data_block(struct vd_pool_metadata *pmd, vd_blk_t pblock)
{
	return vd_pool_release_unused_data_blocks(pmd, &pblock, 1);
}

/* The vdisk that blocks [vblock, vblock + nr) of vdisk @id are inserted into. */
static int vdisk_for_insert(struct vd_pool_metadata *pmd, u64 id, u64 vblock, u32 nr,
			    struct vd_pool_vdisk **v)
{
	int r = vd_pmd_get_vdisk(pmd, id, v);
	u64 size;

	if (r)
		return r == -ENODATA ? -ENOENT : r;
	size = vd_pmd_size_blocks(pmd, (*v)->info.size_sectors);
	if (vblock >= size || nr > size - vblock) {
		pr_err("vdisk %llu: block %llu is beyond its size of %llu sectors\n",
		       (unsigned long long)id,
		       (unsigned long long)(vblock >= size ? vblock : size),
		       (unsigned long long)(*v)->info.size_sectors);
		return -EINVAL;
	}
	return 0;
}

int vd_pool_insert(struct vd_pool_metadata *pmd, u64 id, u64 vblock, u64 mapping)
{
	return vd_pool_insert_ex(pmd, id, vblock, mapping, NULL);
}

int vd_pool_insert_ex(struct vd_pool_metadata *pmd, u64 id, u64 vblock, u64 mapping,
		      bool *was_unmapped)
{
	struct vd_pool_vdisk *v;
	__le64 le = cpu_to_le64(mapping);
	struct vd_ref root;
	int r = vd_pmd_check_writable(pmd), inserted = 0;

	if (r)
		return r;
	r = check_mapping(pmd, id, vblock, mapping);
	if (r)
		return r;
	r = vdisk_for_insert(pmd, id, vblock, 1, &v);
	if (r)
		return r;
	r = vd_btree_insert(&pmd->map_info, v->root, vblock, &le, &root, &inserted);
	if (r)
		return vd_pmd_fail(pmd, r, "insert", id);
	v->root = root;
	if (inserted)
		v->info.mapped_blocks++;
	if (was_unmapped)
		*was_unmapped = inserted;
	v->info.transaction_id = le64_to_cpu(pmd->sb->transaction_id);
	return 0;
}

int vd_pool_insert_run(struct vd_pool_metadata *pmd, u64 id, u64 vblock, vd_blk_t pblock,
		       u32 nr, u32 *was_unmapped)
{
	u64 keys[VD_POOL_INSERT_RUN_MAX];
	__le64 values[VD_POOL_INSERT_RUN_MAX];
	u8 inserted[VD_POOL_INSERT_RUN_MAX];
	struct vd_pool_vdisk *v;
	struct vd_ref root;
	u32 j, mask = 0;
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	if (!nr || nr > VD_POOL_INSERT_RUN_MAX || vblock + nr < vblock ||
	    pblock > VD_MAP_BLOCK_MASK || nr - 1 > VD_MAP_BLOCK_MASK - pblock)
		return -EINVAL;
	r = check_mapping(pmd, id, vblock + nr - 1, VD_MAP_PACK(pblock + nr - 1, 0, 0));
	if (r)
		return r;	/* the last block is the highest: the run is in the pool */
	r = vdisk_for_insert(pmd, id, vblock, nr, &v);
	if (r)
		return r;
	for (j = 0; j < nr; j++) {
		keys[j] = vblock + j;
		values[j] = cpu_to_le64(VD_MAP_PACK(pblock + j, 0, 0));
	}
	r = vd_btree_insert_sorted(&pmd->map_info, v->root, keys, values, nr, &root, inserted);
	if (r)
		return vd_pmd_fail(pmd, r, "insert run", id);
	v->root = root;
	for (j = 0; j < nr; j++) {
		if (inserted[j]) {
			v->info.mapped_blocks++;
			mask |= 1u << j;
		}
	}
	if (was_unmapped)
		*was_unmapped = mask;
	v->info.transaction_id = le64_to_cpu(pmd->sb->transaction_id);
	return 0;
}

int vd_pool_insert_new(struct vd_pool_metadata *pmd, u64 id, u64 vblock, vd_blk_t *pblock)
{
	int r = vd_pool_alloc_data_block(pmd, pblock);

	if (r)
		return r;
	r = vd_pool_insert(pmd, id, vblock, VD_MAP_PACK(*pblock, 0, 0));
	if (r && !pmd->broken)
		vd_pool_release_data_block(pmd, *pblock);
	return r;
}

int vd_pool_remove(struct vd_pool_metadata *pmd, u64 id, u64 vblock)
{
	u64 n = 0;
	int r = vd_pool_remove_range(pmd, id, vblock, vblock + 1, &n);

	return r ? r : n ? 0 : -ENODATA;
}

int vd_pool_remove_range(struct vd_pool_metadata *pmd, u64 id, u64 begin, u64 end,
			 u64 *nr_removed)
{
	struct vd_pool_vdisk *v;
	struct vd_ref root;
	u64 n = 0;
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	if (nr_removed)
		*nr_removed = 0;
	if (begin >= end)
		return 0;
	r = vd_pmd_get_vdisk(pmd, id, &v);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	r = vd_btree_remove_range(&pmd->map_info, v->root, begin, end, &root, &n);
	if (r)
		return vd_pmd_fail(pmd, r, "remove_range", id);
	v->root = root;
	if (n > v->info.mapped_blocks) {
		pr_err("vdisk %llu: removed %llu mappings but details counted %llu\n",
		       (unsigned long long)id, (unsigned long long)n,
		       (unsigned long long)v->info.mapped_blocks);
		return vd_pmd_fail(pmd, -EILSEQ, "remove_range", id);
	}
	v->info.mapped_blocks -= n;
	v->info.transaction_id = le64_to_cpu(pmd->sb->transaction_id);
	if (nr_removed)
		*nr_removed = n;
	return 0;
}

struct map_iter_ctx {
	int (*fn)(void *context, u64 vblock, u64 mapping);
	void *context;
};

static int map_iter_fn(void *context, u64 key, const void *value)
{
	struct map_iter_ctx *c = context;

	return c->fn(c->context, key, le64_to_cpu(*(const __le64 *)value));
}

int vd_pool_iterate_mappings(struct vd_pool_metadata *pmd, u64 id, u64 begin, u64 end,
			     int (*fn)(void *context, u64 vblock, u64 mapping),
			     void *context)
{
	struct map_iter_ctx c = { .fn = fn, .context = context };
	struct vd_ref root;
	int r;

	r = vd_pmd_live_vdisk(pmd, id, &root, NULL);
	if (r)
		return r;
	r = vd_btree_iterate(&pmd->map_info, root, begin, end, map_iter_fn, &c);
	return r > 0 ? 0 : r;
}

void vd_pool_set_data_freed_fn(struct vd_pool_metadata *pmd, vd_pool_data_freed_fn fn,
			       void *context)
{
	pmd->freed_fn = fn;
	pmd->freed_context = context;
}
