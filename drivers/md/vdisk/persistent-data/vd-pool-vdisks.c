// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk pool metadata: vdisk lifecycle (create, snapshot, delete and
 * background reclaim of deleted mapping trees) and the per-vdisk details
 * (size, user flags, next free id, iteration).
 */
#define pr_fmt(fmt) "vdisk-metadata: " fmt

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "vd-pool-metadata-internal.h"

/* ---------------- create, snapshot, delete, reclaim ---------------- */

static bool vdisk_exists(struct vd_pool_metadata *pmd, u64 id, int *err)
{
	struct vd_ref root;
	int r = vd_pmd_read_vdisk(pmd, id, &root, NULL);

	*err = (r && r != -ENODATA) ? r : 0;
	return !r;
}

static int next_time(struct vd_pool_metadata *pmd)
{
	pmd->sb->time = cpu_to_le64(le64_to_cpu(pmd->sb->time) + 1);
	return 0;
}

static int add_vdisk(struct vd_pool_metadata *pmd, u64 id, struct vd_ref root,
		     const struct vd_pool_vdisk_info *info)
{
	struct vd_block_ref le = vd_ref_disk(root);
	struct vd_pool_vdisk *v;
	struct vd_ref new_root;
	int r;

	/* The tree's entry takes over the reference the caller holds on @root. */
	r = vd_btree_insert(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_VDISKS), id, &le,
			    &new_root, NULL);
	if (r)
		return r;
	vd_pmd_set_tree_root(pmd, VD_ROOT_VDISKS, new_root);
	v = vd_pmd_cache_add(pmd);
	if (!v)
		return -ENOMEM;
	v->root = root;
	v->info = *info;
	v->info.id = id;
	return 0;
}

int vd_pool_create_vdisk(struct vd_pool_metadata *pmd, u64 id, u64 size_sectors)
{
	struct vd_pool_vdisk_info info = { 0 };
	struct vd_ref root;
	int r = vd_pmd_check_writable(pmd), err;

	if (r)
		return r;
	if (id == VD_DISK_NO_ORIGIN)
		return -EINVAL;
	if (vdisk_exists(pmd, id, &err) || err) {
		if (!err)
			pr_err("create: vdisk %llu already exists\n", (unsigned long long)id);
		return err ? err : -EEXIST;
	}
	next_time(pmd);
	info.size_sectors = size_sectors;
	info.creation_time = le64_to_cpu(pmd->sb->time);
	info.origin_id = VD_DISK_NO_ORIGIN;
	info.transaction_id = le64_to_cpu(pmd->sb->transaction_id);
	r = vd_btree_empty(&pmd->map_info, &root);
	if (!r)
		r = add_vdisk(pmd, id, root, &info);
	return vd_pmd_fail(pmd, r, "create", id);
}

int vd_pool_create_snaps(struct vd_pool_metadata *pmd,
			 const struct vd_pool_snap_pair *pairs, unsigned int nr)
{
	unsigned int i, j;
	u64 now;
	int r = vd_pmd_check_writable(pmd), err;

	if (r)
		return r;
	/* Validate everything first: a refused group changes nothing. */
	for (i = 0; i < nr; i++) {
		if (pairs[i].id == VD_DISK_NO_ORIGIN || pairs[i].id == pairs[i].origin_id)
			return -EINVAL;
		if (vdisk_exists(pmd, pairs[i].id, &err) || err) {
			if (!err)
				pr_err("snapshot: vdisk %llu already exists\n",
				       (unsigned long long)pairs[i].id);
			return err ? err : -EEXIST;
		}
		if (!vdisk_exists(pmd, pairs[i].origin_id, &err)) {
			if (!err)
				pr_err("snapshot: origin vdisk %llu does not exist\n",
				       (unsigned long long)pairs[i].origin_id);
			return err ? err : -ENODATA;
		}
		for (j = 0; j < i; j++) {
			if (pairs[j].id == pairs[i].id || pairs[j].id == pairs[i].origin_id) {
				pr_err("snapshot group: vdisk %llu is named twice\n",
				       (unsigned long long)pairs[i].id);
				return -EINVAL;
			}
		}
		for (j = i + 1; j < nr; j++) {
			if (pairs[j].id == pairs[i].origin_id) {
				pr_err("snapshot group: origin %llu is also created by the group\n",
				       (unsigned long long)pairs[i].origin_id);
				return -EINVAL;
			}
		}
	}
	next_time(pmd);
	now = le64_to_cpu(pmd->sb->time);
	for (i = 0; i < nr; i++) {
		struct vd_pool_vdisk_info info;
		struct vd_pool_vdisk *o;
		struct vd_ref root;

		r = vd_pmd_get_vdisk(pmd, pairs[i].origin_id, &o);
		if (r)
			break;
		o->info.snapshot_time = now;
		root = o->root;
		info = o->info;
		/* O(1): both vdisks now name the same tree; writes unshare lazily. */
		r = vd_btree_clone(&pmd->map_info, root);
		if (r)
			break;
		info.creation_time = now;
		info.snapshot_time = 0;
		info.origin_id = pairs[i].origin_id;
		/* A snapshot starts without the origin's user flags (and unnamed). */
		info.flags = (info.flags & ~VD_DISK_FLAG_USER_MASK) | VD_DISK_FLAG_SNAPSHOT;
		info.transaction_id = le64_to_cpu(pmd->sb->transaction_id);
		r = add_vdisk(pmd, pairs[i].id, root, &info);
		if (r)
			break;
	}
	return vd_pmd_fail(pmd, r, "snapshot", nr ? pairs[i < nr ? i : 0].id : 0);
}

int vd_pool_create_snap(struct vd_pool_metadata *pmd, u64 id, u64 origin_id)
{
	struct vd_pool_snap_pair p = { .id = id, .origin_id = origin_id };

	return vd_pool_create_snaps(pmd, &p, 1);
}

int vd_pool_delete_vdisk(struct vd_pool_metadata *pmd, u64 id)
{
	struct vd_pool_vdisk_info info;
	struct vd_pool_vdisk *v;
	struct vd_disk_details d;
	struct vd_ref root, new_root;
	struct vd_block_ref le;
	u64 key = 0, k;
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	r = vd_pmd_read_vdisk(pmd, id, &root, &info);
	if (r) {
		if (r == -ENODATA)
			pr_err("delete: vdisk %llu does not exist\n", (unsigned long long)id);
		return r;
	}
	/* The entry's reference on @root moves to the pending tree: no dec. */
	r = vd_btree_remove(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_VDISKS), id, &new_root);
	if (r)
		return vd_pmd_fail(pmd, r == -ENODATA ? -EILSEQ : r, "delete", id);
	vd_pmd_set_tree_root(pmd, VD_ROOT_VDISKS, new_root);
	v = vd_pmd_cache_find(pmd, id);
	if (v)
		vd_pmd_cache_drop(pmd, v);
	/* Names belong to live vdisks only: drop it in the same transaction. */
	r = vd_pmd_drop_name(pmd, id);
	if (r)
		return vd_pmd_fail(pmd, r, "delete", id);
	r = vd_btree_lookup_prev(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_PENDING_DELETE),
				 U64_MAX, &k, &le);
	if (!r)
		key = k + 1;
	else if (r != -ENODATA)
		return vd_pmd_fail(pmd, r, "delete", id);
	le = vd_ref_disk(root);
	r = vd_btree_insert(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_PENDING_DELETE), key, &le,
			    &new_root, NULL);
	if (r)
		return vd_pmd_fail(pmd, r, "delete", id);
	vd_pmd_set_tree_root(pmd, VD_ROOT_PENDING_DELETE, new_root);
	/* A tombstone keeps the snapshot lineage of its children readable. */
	info.flags |= VD_DISK_FLAG_DELETING;
	info.mapped_blocks = 0;
	info.transaction_id = le64_to_cpu(pmd->sb->transaction_id);
	vd_pmd_info_to_disk(&info, &d);
	r = vd_btree_insert(&pmd->details_info, vd_pmd_tree_root(pmd, VD_ROOT_DETAILS), id, &d,
			    &new_root, NULL);
	if (!r)
		vd_pmd_set_tree_root(pmd, VD_ROOT_DETAILS, new_root);
	return vd_pmd_fail(pmd, r, "delete", id);
}

int vd_pool_reclaim(struct vd_pool_metadata *pmd, unsigned int budget,
		    const struct vd_btree_yield *yield, bool *more)
{
	struct vd_ref root, new_root, proot;
	struct vd_block_ref le;
	u64 key;
	int r = vd_pmd_check_writable(pmd), done = 0;

	*more = false;
	if (r)
		return r;
	proot = vd_pmd_tree_root(pmd, VD_ROOT_PENDING_DELETE);
	r = vd_btree_lookup_next(&pmd->top_info, proot, 0, &key, &le);
	if (r == -ENODATA)
		return 0;
	if (r)
		return vd_pmd_fail(pmd, r, "reclaim", 0);
	root = vd_ref_load(&le);
	if (le64_to_cpu(pmd->sb->held_root.blocknr)) {
		/* As touch_vdisk(): unshare the leaf before using the root. */
		r = vd_btree_insert(&pmd->top_info, proot, key, &le, &proot, NULL);
		if (r)
			return vd_pmd_fail(pmd, r, "reclaim", 0);
		vd_pmd_set_tree_root(pmd, VD_ROOT_PENDING_DELETE, proot);
	}
	/* del_step consumes the pending entry's reference on @root. */
	r = vd_btree_del_step(&pmd->map_info, root, budget ? budget : 1, yield,
			      &new_root, &done);
	if (r)
		return vd_pmd_fail(pmd, r, "reclaim", 0);
	if (done) {
		r = vd_btree_remove(&pmd->top_info, proot, key, &proot);
	} else {
		le = vd_ref_disk(new_root);
		r = vd_btree_insert(&pmd->top_info, proot, key, &le, &proot, NULL);
	}
	if (r)
		return vd_pmd_fail(pmd, r, "reclaim", 0);
	vd_pmd_set_tree_root(pmd, VD_ROOT_PENDING_DELETE, proot);
	r = vd_btree_lookup_next(&pmd->top_info, proot, 0, &key, &le);
	*more = !r;
	return r == -ENODATA ? 0 : vd_pmd_fail(pmd, r, "reclaim", 0);
}

/* ---------------- details ---------------- */

int vd_pool_get_details(struct vd_pool_metadata *pmd, u64 id, struct vd_pool_vdisk_info *info)
{
	struct vd_ref root;

	return vd_pmd_live_vdisk(pmd, id, &root, info);
}

int vd_pool_set_size(struct vd_pool_metadata *pmd, u64 id, u64 size_sectors)
{
	struct vd_pool_vdisk *v;
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	r = vd_pmd_get_vdisk(pmd, id, &v);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	/* Shrinking unmaps what lies beyond the new end. */
	if (size_sectors && size_sectors < v->info.size_sectors) {
		r = vd_pool_remove_range(pmd, id, vd_pmd_size_blocks(pmd, size_sectors),
					 U64_MAX, NULL);
		if (r)
			return r;
		v = vd_pmd_cache_find(pmd, id);
		if (!v)
			return vd_pmd_fail(pmd, -EINVAL, "resize", id);
	}
	v->info.size_sectors = size_sectors;
	return 0;
}

int vd_pool_next_free_id(struct vd_pool_metadata *pmd, u64 *id)
{
	struct vd_disk_details d;
	struct vd_block_ref le;
	u64 k, hi = 0;
	bool any = false;
	int r;

	/* Details hold live vdisks and the tombstones of deleted ones... */
	r = vd_btree_lookup_prev(&pmd->details_info, vd_pmd_tree_root(pmd, VD_ROOT_DETAILS),
				 U64_MAX, &k, &d);
	if (!r) {
		hi = k;
		any = true;
	} else if (r != -ENODATA) {
		return r;
	}
	/* ...but a vdisk created in this transaction gets its details at commit. */
	r = vd_btree_lookup_prev(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_VDISKS), U64_MAX,
				 &k, &le);
	if (!r) {
		hi = any ? max(hi, k) : k;
		any = true;
	} else if (r != -ENODATA) {
		return r;
	}
	if (!any) {
		*id = 0;
		return 0;
	}
	/* ~0 is VD_DISK_NO_ORIGIN, never a vdisk id. */
	if (hi >= VD_DISK_NO_ORIGIN - 1)
		return -ENOSPC;
	*id = hi + 1;
	return 0;
}

int vd_pool_set_user_flags(struct vd_pool_metadata *pmd, u64 id, u32 set, u32 clear)
{
	struct vd_pool_vdisk *v;
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	if ((set | clear) & ~VD_DISK_FLAG_USER_MASK) {
		pr_err("set_user_flags: vdisk %llu: flags 0x%x are not user flags (mask 0x%x)\n",
		       (unsigned long long)id, (set | clear) & ~VD_DISK_FLAG_USER_MASK,
		       VD_DISK_FLAG_USER_MASK);
		return -EINVAL;
	}
	r = vd_pmd_get_vdisk(pmd, id, &v);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	v->info.flags = (v->info.flags | set) & ~clear;
	return 0;
}

struct iter_ctx {
	struct vd_pool_metadata *pmd;
	int (*fn)(void *context, u64 id);
	void *context;
};

static int iter_fn(void *context, u64 key, const void *value)
{
	struct iter_ctx *c = context;

	return c->fn(c->context, key);
}

int vd_pool_iterate_vdisks(struct vd_pool_metadata *pmd,
			   int (*fn)(void *context, u64 id), void *context)
{
	struct iter_ctx c = { .pmd = pmd, .fn = fn, .context = context };
	int r;

	/* Cached entries are in the vdisks tree too (possibly with an old root). */
	r = vd_btree_iterate(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_VDISKS), 0, U64_MAX,
			     iter_fn, &c);
	return r > 0 ? 0 : r;
}
