// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk pool metadata, the core: superblock slots, open, commit, abort,
 * format, the table of vdisks changed in the transaction, the metadata
 * snapshot, usage and resize.  The other vd-pool-*.c files build vdisks,
 * mappings, names and the sharing census on this (the private interface
 * between them is vd-pool-metadata-internal.h).
 * Design: Documentation/design/metadata.rst ("Pool level").
 */
#define pr_fmt(fmt) "vdisk-metadata: " fmt

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vd-pool-metadata-internal.h"

static const struct vd_validator vd_wipe_validator = {
	.name = "wiped superblock slot",
	.magic = 0,
};

/* ---------------- value types ---------------- */

static int map_inc(void *context, const void *value)
{
	struct vd_pool_metadata *pmd = context;
	u64 v = le64_to_cpu(*(const __le64 *)value);

	return vd_sm_inc(pmd->dsm, VD_MAP_BLOCK(v));
}

int vd_pmd_map_dec(void *context, const void *value)
{
	struct vd_pool_metadata *pmd = context;
	u64 v = le64_to_cpu(*(const __le64 *)value);
	vd_blk_t b = VD_MAP_BLOCK(v);
	u32 count;
	int r;

	r = vd_sm_dec(pmd->dsm, b);
	if (r || !pmd->freed_fn)
		return r;
	r = vd_sm_get_count(pmd->dsm, b, &count);
	if (!r && !count)
		pmd->freed_fn(pmd->freed_context, b);
	return r;
}

static int map_dec_many(void *context, const void *values, u32 nr)
{
	struct vd_pool_metadata *pmd = context;

	/* As vd_pmd_map_dec() on each, freed blocks reported the same way. */
	return vd_btree_dec_mappings(pmd->dsm, values, nr, false, pmd->freed_fn,
				     pmd->freed_context);
}

static int top_inc(void *context, const void *value)
{
	struct vd_pool_metadata *pmd = context;

	return vd_tm_inc(pmd->tm, vd_ref_load(value).nr);
}

static int top_dec(void *context, const void *value)
{
	struct vd_pool_metadata *pmd = context;

	if (!pmd->drop_subtrees)
		return 0;
	return vd_btree_del(&pmd->map_info, vd_ref_load(value));
}

static void setup_infos(struct vd_pool_metadata *pmd)
{
	pmd->map_info.tm = pmd->tm;
	pmd->map_info.vt = (struct vd_btree_value_type) {
		.context = pmd, .size = sizeof(__le64), .inc = map_inc, .dec = vd_pmd_map_dec,
		.dec_many = map_dec_many,
	};
	pmd->top_info.tm = pmd->tm;
	pmd->top_info.vt = (struct vd_btree_value_type) {
		.context = pmd, .size = sizeof(struct vd_block_ref), .inc = top_inc,
		.dec = top_dec,
	};
	pmd->details_info.tm = pmd->tm;
	vd_btree_vt_plain(&pmd->details_info.vt, sizeof(struct vd_disk_details));
	pmd->names_info.tm = pmd->tm;
	vd_btree_vt_plain(&pmd->names_info.vt, sizeof(struct vd_disk_name));
}

/* ---------------- superblock ---------------- */

int vd_pool_read_superblock(struct vd_block_manager *bm, struct vd_superblock *sb,
			    unsigned int *slot_ok)
{
	u64 best_seq = 0;
	unsigned int ok = 0, s;
	bool found = false;
	struct vd_block *b;

	for (s = 0; s < VD_SUPERBLOCK_NR_SLOTS; s++) {
		const struct vd_superblock *d;

		if (vd_bm_read_lock(bm, s, &vd_superblock_validator, &b))
			continue;
		d = vd_block_data(b);
		ok |= 1U << s;
		if (VD_SUPERBLOCK_SLOT(le64_to_cpu(d->commit_seq)) != s) {
			pr_err("superblock slot %u holds commit %llu, which belongs in the other slot; ignoring it\n",
			       s, (unsigned long long)le64_to_cpu(d->commit_seq));
			ok &= ~(1U << s);
		} else if (le64_to_cpu(d->hdr.txn) != le64_to_cpu(d->commit_seq)) {
			pr_err("superblock slot %u: written by transaction %llu but holds commit %llu; ignoring it\n",
			       s, (unsigned long long)le64_to_cpu(d->hdr.txn),
			       (unsigned long long)le64_to_cpu(d->commit_seq));
			ok &= ~(1U << s);
		} else if (!found || le64_to_cpu(d->commit_seq) > best_seq) {
			best_seq = le64_to_cpu(d->commit_seq);
			memcpy(sb, d, sizeof(*sb));
			found = true;
		}
		vd_bm_unlock(b);
	}
	if (slot_ok)
		*slot_ok = ok;
	if (!found) {
		pr_err("no valid superblock in block 0 or 1: not dm-vdisk metadata, or both slots are damaged\n");
		return -EILSEQ;
	}
	return 0;
}

/*
 * Probing is not an error: a device without dm-vdisk metadata (zeroed, or
 * another format) is expected, so blocks without our magic are skipped
 * silently.  A slot with our magic that fails its checksum or location is
 * still logged: that is damaged dm-vdisk metadata.
 */
static const struct vd_validator vd_superblock_probe_validator = {
	.name = "superblock",
	.magic = VD_MAGIC_SUPERBLOCK,
	.quiet_magic = true,
};

bool vd_pool_has_superblock(struct vd_block_manager *bm)
{
	const struct vd_superblock *d;
	struct vd_block *b;
	unsigned int s;
	bool found = false;

	for (s = 0; s < VD_SUPERBLOCK_NR_SLOTS && !found; s++) {
		if (vd_bm_read_lock(bm, s, &vd_superblock_probe_validator, &b))
			continue;
		d = vd_block_data(b);
		found = VD_SUPERBLOCK_SLOT(le64_to_cpu(d->commit_seq)) == s &&
			le64_to_cpu(d->hdr.txn) == le64_to_cpu(d->commit_seq);
		vd_bm_unlock(b);
	}
	return found;
}

bool vd_pool_format_interrupted(struct vd_block_manager *bm)
{
	struct vd_block *b;
	unsigned int s;
	bool wiped = false;

	if (vd_pool_has_superblock(bm))
		return false;
	for (s = 0; s < VD_SUPERBLOCK_NR_SLOTS && !wiped; s++) {
		if (vd_bm_read_lock(bm, s, &vd_wipe_validator, &b))
			continue;
		wiped = true;
		vd_bm_unlock(b);
	}
	return wiped;
}

int vd_pool_check_features(const struct vd_superblock *sb, bool *read_only)
{
	u64 f;

	*read_only = false;
	if (le32_to_cpu(sb->version) != VD_FORMAT_VERSION) {
		pr_err("superblock: format version %u, this code understands %u\n",
		       le32_to_cpu(sb->version), VD_FORMAT_VERSION);
		return -EINVAL;
	}
	if (le32_to_cpu(sb->metadata_block_size) != VD_METADATA_BLOCK_SIZE) {
		pr_err("superblock: metadata block size %u, expected %u\n",
		       le32_to_cpu(sb->metadata_block_size), VD_METADATA_BLOCK_SIZE);
		return -EINVAL;
	}
	f = le64_to_cpu(sb->incompat_flags) & ~VD_FEATURE_INCOMPAT_SUPP;
	if (f) {
		pr_err("superblock: unsupported incompatible features 0x%llx: refusing to open this pool (use a newer dm-vdisk)\n",
		       (unsigned long long)f);
		return -EOPNOTSUPP;
	}
	f = le64_to_cpu(sb->ro_compat_flags) & ~VD_FEATURE_RO_COMPAT_SUPP;
	if (f) {
		pr_warn("superblock: unsupported read-only-compatible features 0x%llx: opening read-only\n",
			(unsigned long long)f);
		*read_only = true;
	}
	return 0;
}

static int check_geometry(struct vd_block_manager *bm, const struct vd_superblock *sb)
{
	u32 dbs = le32_to_cpu(sb->data_block_size);
	u64 nr_meta = le64_to_cpu(sb->nr_metadata_blocks);
	u64 nr_data = le64_to_cpu(sb->nr_data_blocks);
	u64 held = le64_to_cpu(sb->held_root.blocknr);
	int i;

	if (dbs < 8 || dbs > 2048 || dbs % 8) {
		pr_err("superblock: bad data block size %u sectors\n", dbs);
		return -EILSEQ;
	}
	if (nr_meta > vd_bm_nr_blocks(bm)) {
		pr_err("metadata device is too small: %llu blocks, the pool uses %llu\n",
		       (unsigned long long)vd_bm_nr_blocks(bm), (unsigned long long)nr_meta);
		return -ENOSPC;
	}
	if (nr_meta <= VD_SUPERBLOCK_NR_SLOTS || !nr_data || nr_data > VD_MAP_BLOCK_MASK + 1) {
		pr_err("superblock: bad sizes (%llu metadata, %llu data blocks)\n",
		       (unsigned long long)nr_meta, (unsigned long long)nr_data);
		return -EILSEQ;
	}
	for (i = VD_ROOT_VDISKS; i <= VD_ROOT_PENDING_DELETE; i++) {
		u64 r = le64_to_cpu(sb->tree_roots[i].blocknr);

		if (r < VD_SUPERBLOCK_NR_SLOTS || r >= nr_meta) {
			pr_err("superblock: tree root %d points to block %llu, outside the metadata\n",
			       i, (unsigned long long)r);
			return -EILSEQ;
		}
	}
	/* The name map is optional (0 = none yet), and comes with its feature bit. */
	if (le64_to_cpu(sb->tree_roots[VD_ROOT_NAME_MAP].blocknr)) {
		u64 r = le64_to_cpu(sb->tree_roots[VD_ROOT_NAME_MAP].blocknr);

		if (r < VD_SUPERBLOCK_NR_SLOTS || r >= nr_meta) {
			pr_err("superblock: name map root points to block %llu, outside the metadata\n",
			       (unsigned long long)r);
			return -EILSEQ;
		}
		if (!(le64_to_cpu(sb->ro_compat_flags) & VD_FEATURE_RO_COMPAT_NAME_MAP)) {
			pr_err("superblock: a name map (block %llu) without its feature flag\n",
			       (unsigned long long)r);
			return -EILSEQ;
		}
	}
	if (held && (held < VD_SUPERBLOCK_NR_SLOTS || held >= nr_meta)) {
		pr_err("superblock: metadata snapshot at block %llu, outside the metadata\n",
		       (unsigned long long)held);
		return -EILSEQ;
	}
	return 0;
}

/* ---------------- vdisk cache ---------------- */

static void info_from_disk(struct vd_pool_vdisk_info *i, u64 id, const struct vd_disk_details *d)
{
	i->id = id;
	i->size_sectors = le64_to_cpu(d->size_sectors);
	i->creation_time = le64_to_cpu(d->creation_time);
	i->snapshot_time = le64_to_cpu(d->snapshot_time);
	i->origin_id = le64_to_cpu(d->origin_id);
	i->mapped_blocks = le64_to_cpu(d->mapped_blocks);
	i->transaction_id = le64_to_cpu(d->transaction_id);
	i->flags = le32_to_cpu(d->flags);
}

void vd_pmd_info_to_disk(const struct vd_pool_vdisk_info *i, struct vd_disk_details *d)
{
	memset(d, 0, sizeof(*d));
	d->size_sectors = cpu_to_le64(i->size_sectors);
	d->creation_time = cpu_to_le64(i->creation_time);
	d->snapshot_time = cpu_to_le64(i->snapshot_time);
	d->origin_id = cpu_to_le64(i->origin_id);
	d->mapped_blocks = cpu_to_le64(i->mapped_blocks);
	d->transaction_id = cpu_to_le64(i->transaction_id);
	d->flags = cpu_to_le32(i->flags);
}

struct vd_pool_vdisk *vd_pmd_cache_find(struct vd_pool_metadata *pmd, u64 id)
{
	unsigned int i;

	for (i = 0; i < pmd->nr_cache; i++)
		if (pmd->cache[i].info.id == id)
			return &pmd->cache[i];
	return NULL;
}

struct vd_pool_vdisk *vd_pmd_cache_add(struct vd_pool_metadata *pmd)
{
	if (pmd->nr_cache == pmd->cache_alloc) {
		unsigned int n = pmd->cache_alloc ? pmd->cache_alloc * 2 : 16;
		struct vd_pool_vdisk *c = kmalloc_array(n, sizeof(*c), GFP_KERNEL);

		if (!c)
			return NULL;
		if (pmd->nr_cache)
			memcpy(c, pmd->cache, pmd->nr_cache * sizeof(*c));
		kfree(pmd->cache);
		pmd->cache = c;
		pmd->cache_alloc = n;
	}
	return &pmd->cache[pmd->nr_cache++];
}

/* Committed (or written-back) root and details of @id, read only. */
int vd_pmd_read_vdisk(struct vd_pool_metadata *pmd, u64 id, struct vd_ref *root,
		      struct vd_pool_vdisk_info *info)
{
	struct vd_pool_vdisk *v = vd_pmd_cache_find(pmd, id);
	struct vd_disk_details d;
	struct vd_block_ref le;
	int r;

	if (v) {
		*root = v->root;
		if (info)
			*info = v->info;
		return 0;
	}
	r = vd_btree_lookup(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_VDISKS), id, &le);
	if (r)
		return r;
	*root = vd_ref_load(&le);
	if (!info)
		return 0;
	r = vd_btree_lookup(&pmd->details_info, vd_pmd_tree_root(pmd, VD_ROOT_DETAILS), id, &d);
	if (r == -ENODATA) {
		pr_err("vdisk %llu has a mapping tree (block %llu) but no details entry\n",
		       (unsigned long long)id, (unsigned long long)root->nr);
		return -EILSEQ;
	}
	if (r)
		return r;
	info_from_disk(info, id, &d);
	return 0;
}

/*
 * Make the path to @id's entry in the vdisks tree exclusive to the live tree
 * (rewrite the entry with its own value).  While a metadata snapshot shares
 * the vdisks tree, the leaf holding @id may be shared, so the mapping root
 * it names has one reference for two owners; shadowing the leaf gives the
 * root its second reference before anyone modifies the mapping tree.
 */
static int touch_vdisk(struct vd_pool_metadata *pmd, u64 id, struct vd_ref root)
{
	struct vd_block_ref le = vd_ref_disk(root);
	struct vd_ref new_root;
	int r;

	r = vd_btree_insert(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_VDISKS), id, &le,
			    &new_root, NULL);
	if (!r)
		vd_pmd_set_tree_root(pmd, VD_ROOT_VDISKS, new_root);
	return r;
}

/* The vdisk's cache entry, creating it (the caller is going to change it). */
int vd_pmd_get_vdisk(struct vd_pool_metadata *pmd, u64 id, struct vd_pool_vdisk **result)
{
	struct vd_pool_vdisk *v = vd_pmd_cache_find(pmd, id);
	struct vd_pool_vdisk_info info;
	struct vd_ref root;
	int r;

	if (v) {
		*result = v;
		return 0;
	}
	r = vd_pmd_read_vdisk(pmd, id, &root, &info);
	if (r)
		return r;
	if (le64_to_cpu(pmd->sb->held_root.blocknr)) {
		r = touch_vdisk(pmd, id, root);
		if (r) {
			pmd->broken = true;
			return r;
		}
	}
	v = vd_pmd_cache_add(pmd);
	if (!v)
		return -ENOMEM;
	v->root = root;
	v->info = info;
	*result = v;
	return 0;
}

/* Write every cached vdisk into the vdisks and details trees. */
static int write_back(struct vd_pool_metadata *pmd)
{
	struct vd_disk_details d;
	struct vd_block_ref le;
	struct vd_ref root;
	unsigned int i;
	int r;

	for (i = 0; i < pmd->nr_cache; i++) {
		struct vd_pool_vdisk *v = &pmd->cache[i];

		le = vd_ref_disk(v->root);
		r = vd_btree_insert(&pmd->top_info, vd_pmd_tree_root(pmd, VD_ROOT_VDISKS),
				    v->info.id, &le, &root, NULL);
		if (r)
			return r;
		vd_pmd_set_tree_root(pmd, VD_ROOT_VDISKS, root);
		vd_pmd_info_to_disk(&v->info, &d);
		r = vd_btree_insert(&pmd->details_info, vd_pmd_tree_root(pmd, VD_ROOT_DETAILS),
				    v->info.id, &d, &root, NULL);
		if (r)
			return r;
		vd_pmd_set_tree_root(pmd, VD_ROOT_DETAILS, root);
	}
	pmd->nr_cache = 0;
	return 0;
}

/* ---------------- open, commit, abort ---------------- */

static void destroy_internals(struct vd_pool_metadata *pmd)
{
	if (pmd->dsm)
		vd_sm_destroy(pmd->dsm);
	if (pmd->tm)
		vd_tm_destroy(pmd->tm);
	pmd->dsm = NULL;
	pmd->tm = NULL;
	pmd->msm = NULL;
	pmd->nr_cache = 0;
}

static int open_internals(struct vd_pool_metadata *pmd, bool force_ro)
{
	struct vd_superblock *sb = pmd->sb;
	vd_blk_t n;
	bool ro;
	int r;

	r = vd_pool_read_superblock(pmd->bm, sb, NULL);
	if (r)
		return r;
	r = vd_pool_check_features(sb, &ro);
	if (r)
		return r;
	r = check_geometry(pmd->bm, sb);
	if (r)
		return r;
	pmd->read_only = ro || force_ro;
	if (pmd->read_only)
		vd_bm_set_read_only(pmd->bm);
	r = vd_tm_open_with_sm(pmd->bm, &sb->sm_roots[VD_SM_METADATA],
			       le64_to_cpu(sb->commit_seq), &pmd->tm, &pmd->msm);
	if (r) {
		pr_err("cannot open the metadata space map of commit %llu: %d\n",
		       (unsigned long long)le64_to_cpu(sb->commit_seq), r);
		pmd->tm = NULL;
		return r;
	}
	r = vd_sm_data_open(pmd->tm, &sb->sm_roots[VD_SM_DATA], &pmd->dsm);
	if (r) {
		pr_err("cannot open the data space map: %d\n", r);
		pmd->dsm = NULL;
		goto bad;
	}
	r = vd_sm_get_nr_blocks(pmd->dsm, &n);
	if (!r && n != le64_to_cpu(sb->nr_data_blocks)) {
		pr_err("data space map tracks %llu blocks, superblock says %llu\n",
		       (unsigned long long)n, (unsigned long long)le64_to_cpu(sb->nr_data_blocks));
		r = -EILSEQ;
	}
	if (!r)
		r = vd_sm_get_nr_blocks(pmd->msm, &n);
	if (!r && n != le64_to_cpu(sb->nr_metadata_blocks)) {
		pr_err("metadata space map tracks %llu blocks, superblock says %llu\n",
		       (unsigned long long)n,
		       (unsigned long long)le64_to_cpu(sb->nr_metadata_blocks));
		r = -EILSEQ;
	}
	if (r)
		goto bad;
	setup_infos(pmd);
	pmd->broken = false;
	return 0;
bad:
	destroy_internals(pmd);
	return r;
}

int vd_pool_open(struct vd_block_manager *bm, unsigned int flags,
		 struct vd_pool_metadata **result)
{
	struct vd_pool_metadata *pmd = kzalloc(sizeof(*pmd), GFP_KERNEL);
	int r;

	if (!pmd)
		return -ENOMEM;
	pmd->bm = bm;
	pmd->sb = kzalloc(sizeof(*pmd->sb), GFP_KERNEL);
	if (!pmd->sb) {
		kfree(pmd);
		return -ENOMEM;
	}
	r = open_internals(pmd, flags & VD_POOL_OPEN_READ_ONLY);
	if (r) {
		kfree(pmd->sb);
		kfree(pmd);
		return r;
	}
	*result = pmd;
	return 0;
}

void vd_pool_close(struct vd_pool_metadata *pmd)
{
	destroy_internals(pmd);
	kfree(pmd->cache);
	kfree(pmd->sb);
	kfree(pmd);
}

bool vd_pool_is_read_only(struct vd_pool_metadata *pmd)
{
	return pmd->read_only;
}

struct vd_block_manager *vd_pool_get_bm(struct vd_pool_metadata *pmd)
{
	return pmd->bm;
}

int vd_pmd_check_writable(struct vd_pool_metadata *pmd)
{
	if (pmd->read_only)
		return -EROFS;
	if (pmd->broken) {
		pr_err("an earlier error left the transaction incomplete: abort it first\n");
		return -EIO;
	}
	return 0;
}

/* Mark the transaction unusable after a failure in the middle of a change. */
int vd_pmd_fail(struct vd_pool_metadata *pmd, int r, const char *what, u64 id)
{
	if (r && r != -ENODATA) {
		pmd->broken = true;
		pr_err("%s (vdisk %llu) failed: %d; the transaction must be aborted\n",
		       what, (unsigned long long)id, r);
	}
	return r;
}

/* Metadata blocks the transaction manager allocated so far in this transaction. */
static u64 tm_allocated(struct vd_pool_metadata *pmd)
{
	struct vd_tm_stats s;

	vd_tm_get_stats(pmd->tm, &s);
	return s.nr_new + s.nr_shadow_copies;
}

static int do_commit(struct vd_pool_metadata *pmd)
{
	u64 start = tm_allocated(pmd);
	struct vd_superblock *d;
	struct vd_block *b;
	u64 seq;
	int r;

	r = write_back(pmd);
	if (r)
		return r;
	r = vd_sm_commit(pmd->dsm);
	if (r)
		return r;
	r = vd_tm_pre_commit(pmd->tm);
	if (r)
		return r;
	seq = vd_tm_txn(pmd->tm);
	r = vd_sm_copy_root(pmd->msm, &pmd->sb->sm_roots[VD_SM_METADATA]);
	if (!r)
		r = vd_sm_copy_root(pmd->dsm, &pmd->sb->sm_roots[VD_SM_DATA]);
	if (r)
		return r;
	r = vd_tm_lock_superblock(pmd->tm, VD_SUPERBLOCK_SLOT(seq), &vd_superblock_validator, &b);
	if (r)
		return r;
	pmd->sb->prev_commit_seq = pmd->sb->commit_seq;
	pmd->sb->commit_seq = cpu_to_le64(seq);
	d = vd_block_data(b);
	memcpy(d, pmd->sb, sizeof(*d));
	memset(&d->hdr, 0, sizeof(d->hdr));
	pmd->last_commit_allocated = tm_allocated(pmd) - start;
	/* Everything the superblock points to is on stable storage now. */
	return vd_tm_commit(pmd->tm, b);
}

int vd_pool_commit(struct vd_pool_metadata *pmd)
{
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	r = do_commit(pmd);
	if (r) {
		pmd->broken = true;
		pr_err("commit %llu failed: %d; the last committed state is intact\n",
		       (unsigned long long)vd_tm_txn(pmd->tm), r);
	}
	return r;
}

/*
 * The dropped transaction may have written blocks stamped with its number:
 * the next transaction takes the number after it of the same slot parity
 * (two on), so a stale block of the dropped one can never pass as written
 * by a later one (lost-write detection), and its commit still goes to the
 * slot the dropped commit would have used, never over the last good one.
 */
int vd_pool_abort(struct vd_pool_metadata *pmd)
{
	u64 dropped = pmd->tm ? vd_tm_txn(pmd->tm) : 0;
	int r;

	if (pmd->tm)
		vd_tm_abort(pmd->tm);
	destroy_internals(pmd);
	r = open_internals(pmd, pmd->read_only);
	if (!r && dropped >= vd_tm_txn(pmd->tm))
		vd_tm_set_txn(pmd->tm, dropped + VD_SUPERBLOCK_NR_SLOTS);
	return r;
}

/* ---------------- format ---------------- */

static int wipe_slots(struct vd_block_manager *bm)
{
	struct vd_block *b;
	vd_blk_t s;
	int r;

	for (s = 0; s < VD_SUPERBLOCK_NR_SLOTS; s++) {
		r = vd_bm_write_lock_zero(bm, s, &vd_wipe_validator, &b);
		if (r)
			return r;
		vd_bm_unlock(b);
	}
	return vd_bm_flush(bm);
}

int vd_pool_format(struct vd_block_manager *bm, const struct vd_pool_format_params *p)
{
	struct vd_pool_metadata *pmd;
	struct vd_superblock *sb;
	struct vd_ref root;
	int i, r;

	if (p->data_block_size < 8 || p->data_block_size > 2048 || p->data_block_size % 8) {
		pr_err("format: data block size %u sectors: must be a multiple of 8 from 8 (4 KiB) to 2048 (1 MiB)\n",
		       p->data_block_size);
		return -EINVAL;
	}
	if (!p->nr_data_blocks || p->nr_data_blocks > VD_MAP_BLOCK_MASK + 1) {
		pr_err("format: %llu data blocks: must be 1 to 2^48\n",
		       (unsigned long long)p->nr_data_blocks);
		return -EINVAL;
	}
	if (vd_bm_nr_blocks(bm) < 16) {
		pr_err("format: metadata device of %llu blocks is too small (16 blocks minimum)\n",
		       (unsigned long long)vd_bm_nr_blocks(bm));
		return -ENOSPC;
	}
	pmd = kzalloc(sizeof(*pmd), GFP_KERNEL);
	sb = kzalloc(sizeof(*sb), GFP_KERNEL);
	if (!pmd || !sb) {
		kfree(pmd);
		kfree(sb);
		return -ENOMEM;
	}
	pmd->bm = bm;
	pmd->sb = sb;
	/* An older pool's slots must never win over the new one after a crash. */
	r = wipe_slots(bm);
	if (r)
		goto out;
	r = vd_tm_create_with_sm(bm, 1, &pmd->tm, &pmd->msm);
	if (r) {
		pmd->tm = NULL;
		goto out;
	}
	r = vd_sm_data_create(pmd->tm, p->nr_data_blocks, &pmd->dsm);
	if (r) {
		pmd->dsm = NULL;
		goto out;
	}
	setup_infos(pmd);
	for (i = VD_ROOT_VDISKS; i <= VD_ROOT_PENDING_DELETE; i++) {
		struct vd_btree_info *info = i == VD_ROOT_DETAILS ? &pmd->details_info :
			&pmd->top_info;

		r = vd_btree_empty(info, &root);
		if (r)
			goto out;
		vd_pmd_set_tree_root(pmd, i, root);
	}
	sb->version = cpu_to_le32(VD_FORMAT_VERSION);
	sb->metadata_block_size = cpu_to_le32(VD_METADATA_BLOCK_SIZE);
	sb->data_block_size = cpu_to_le32(p->data_block_size);
	sb->nr_data_blocks = cpu_to_le64(p->nr_data_blocks);
	sb->nr_metadata_blocks = cpu_to_le64(vd_bm_nr_blocks(bm));
	/* Identifies the pool in tools and logs (random, like the kernel's). */
	get_random_bytes(sb->uuid, sizeof(sb->uuid));
	/* Two commits: both slots hold a valid pool, so a torn first real
	 * commit falls back to the empty pool rather than to nothing.
	 */
	r = do_commit(pmd);
	if (!r)
		r = do_commit(pmd);
out:
	if (r)
		pr_err("format failed: %d\n", r);
	destroy_internals(pmd);
	kfree(sb);
	kfree(pmd);
	return r;
}

/* ---------------- pool values ---------------- */

int vd_pool_get_transaction_id(struct vd_pool_metadata *pmd, u64 *id)
{
	*id = le64_to_cpu(pmd->sb->transaction_id);
	return 0;
}

int vd_pool_set_transaction_id(struct vd_pool_metadata *pmd, u64 cur, u64 new_id)
{
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	if (le64_to_cpu(pmd->sb->transaction_id) != cur) {
		pr_err("set_transaction_id: current id is %llu, not %llu\n",
		       (unsigned long long)le64_to_cpu(pmd->sb->transaction_id),
		       (unsigned long long)cur);
		return -EINVAL;
	}
	pmd->sb->transaction_id = cpu_to_le64(new_id);
	return 0;
}

int vd_pool_reserve_metadata_snap(struct vd_pool_metadata *pmd)
{
	struct vd_superblock *copy;
	struct vd_block *b;
	int i, r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	if (le64_to_cpu(pmd->sb->held_root.blocknr)) {
		pr_err("a metadata snapshot is already held at block %llu\n",
		       (unsigned long long)le64_to_cpu(pmd->sb->held_root.blocknr));
		return -EBUSY;
	}
	/* The trees must hold every change before they are shared. */
	r = write_back(pmd);
	if (r)
		return vd_pmd_fail(pmd, r, "reserve_metadata_snap", 0);
	r = vd_tm_new_block(pmd->tm, &vd_superblock_validator, &b);
	if (r)
		return vd_pmd_fail(pmd, r, "reserve_metadata_snap", 0);
	copy = vd_block_data(b);
	memcpy(copy, pmd->sb, sizeof(*copy));
	memset(&copy->hdr, 0, sizeof(copy->hdr));
	memset(copy->sm_roots, 0, sizeof(copy->sm_roots));
	memset(&copy->held_root, 0, sizeof(copy->held_root));
	/* Written by this transaction: what the superblock's reference names. */
	copy->hdr.txn = cpu_to_le64(vd_tm_txn(pmd->tm));
	vd_ref_store(&pmd->sb->held_root, vd_tm_block_ref(pmd->tm, b));
	vd_tm_unlock(pmd->tm, b);
	for (i = VD_ROOT_VDISKS; i <= VD_ROOT_PENDING_DELETE && !r; i++)
		r = vd_tm_inc(pmd->tm, vd_pmd_tree_root(pmd, i).nr);
	/* The copy names the name map too (if there is one yet). */
	if (!r && vd_pmd_tree_root(pmd, VD_ROOT_NAME_MAP).nr)
		r = vd_tm_inc(pmd->tm, vd_pmd_tree_root(pmd, VD_ROOT_NAME_MAP).nr);
	return vd_pmd_fail(pmd, r, "reserve_metadata_snap", 0);
}

int vd_pool_release_metadata_snap(struct vd_pool_metadata *pmd)
{
	struct vd_ref held = vd_ref_load(&pmd->sb->held_root), roots[3], names;
	const struct vd_superblock *copy;
	struct vd_block *b;
	int i, r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	if (!held.nr) {
		pr_err("release_metadata_snap: no metadata snapshot is held\n");
		return -EINVAL;
	}
	r = vd_tm_read_lock(pmd->tm, held, &vd_superblock_validator, &b);
	if (r)
		return vd_pmd_fail(pmd, r, "release_metadata_snap", 0);
	copy = vd_block_data(b);
	for (i = 0; i < 3; i++)
		roots[i] = vd_ref_load(&copy->tree_roots[VD_ROOT_VDISKS + i]);
	names = vd_ref_load(&copy->tree_roots[VD_ROOT_NAME_MAP]);
	vd_tm_unlock(pmd->tm, b);
	pmd->drop_subtrees = true;
	r = vd_btree_del(&pmd->top_info, roots[0]);
	if (!r)
		r = vd_btree_del(&pmd->details_info, roots[1]);
	if (!r)
		r = vd_btree_del(&pmd->top_info, roots[2]);
	if (!r && names.nr)
		r = vd_btree_del(&pmd->names_info, names);
	pmd->drop_subtrees = false;
	if (!r)
		r = vd_tm_dec(pmd->tm, held.nr);
	if (!r)
		memset(&pmd->sb->held_root, 0, sizeof(pmd->sb->held_root));
	return vd_pmd_fail(pmd, r, "release_metadata_snap", 0);
}

int vd_pool_get_metadata_snap(struct vd_pool_metadata *pmd, vd_blk_t *blocknr)
{
	*blocknr = le64_to_cpu(pmd->sb->held_root.blocknr);
	return 0;
}

int vd_pool_get_usage(struct vd_pool_metadata *pmd, struct vd_pool_usage *u)
{
	vd_blk_t n;
	int r;

	memset(u, 0, sizeof(*u));
	u->data_block_size = le32_to_cpu(pmd->sb->data_block_size);
	u->nr_data_blocks = le64_to_cpu(pmd->sb->nr_data_blocks);
	u->nr_metadata_blocks = le64_to_cpu(pmd->sb->nr_metadata_blocks);
	u->transaction_id = le64_to_cpu(pmd->sb->transaction_id);
	u->commit_seq = le64_to_cpu(pmd->sb->commit_seq);
	u->held_root = le64_to_cpu(pmd->sb->held_root.blocknr);
	u->needs_check = le32_to_cpu(pmd->sb->flags) & VD_SB_FLAG_NEEDS_CHECK;
	u->read_only = pmd->read_only;
	r = vd_sm_get_nr_free(pmd->dsm, &n);
	if (r)
		return r;
	u->nr_free_data_blocks = n;
	r = vd_sm_get_nr_free(pmd->msm, &n);
	if (r)
		return r;
	u->nr_free_metadata_blocks = n;
	vd_pool_metadata_space(pmd, &u->nr_allocatable_metadata_blocks,
			       &u->metadata_commit_cost);
	/* Empty pending tree = a root leaf without entries: one cheap lookup. */
	{
		u64 k;
		struct vd_block_ref le;

		r = vd_btree_lookup_next(&pmd->top_info,
					 vd_pmd_tree_root(pmd, VD_ROOT_PENDING_DELETE), 0, &k, &le);
		u->deletions_pending = !r;
	}
	return r == -ENODATA ? 0 : r;
}

void vd_pool_metadata_space(struct vd_pool_metadata *pmd, u64 *allocatable, u64 *commit_cost)
{
	vd_blk_t n = 0;

	vd_sm_get_nr_allocatable(pmd->msm, &n);
	*allocatable = n;
	*commit_cost = vd_sm_commit_cost(pmd->msm) + vd_sm_commit_cost(pmd->dsm);
}

/* Grow @sm to @new_nr_blocks (checked by the caller) and record it in @sb_nr. */
static int grow_space_map(struct vd_pool_metadata *pmd, struct vd_space_map *sm,
			  __le64 *sb_nr, u64 new_nr_blocks, const char *what)
{
	int r;

	if (new_nr_blocks == le64_to_cpu(*sb_nr))
		return 0;
	r = vd_sm_extend(sm, new_nr_blocks);
	if (r)
		return vd_pmd_fail(pmd, r, what, 0);
	*sb_nr = cpu_to_le64(new_nr_blocks);
	return 0;
}

int vd_pool_resize_data(struct vd_pool_metadata *pmd, u64 new_nr_blocks)
{
	u64 cur = le64_to_cpu(pmd->sb->nr_data_blocks);
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	if (new_nr_blocks < cur || new_nr_blocks > VD_MAP_BLOCK_MASK + 1) {
		pr_err("resize data: %llu blocks refused (now %llu; shrinking is not supported)\n",
		       (unsigned long long)new_nr_blocks, (unsigned long long)cur);
		return -EINVAL;
	}
	return grow_space_map(pmd, pmd->dsm, &pmd->sb->nr_data_blocks, new_nr_blocks,
			      "resize data");
}

int vd_pool_resize_metadata(struct vd_pool_metadata *pmd, u64 new_nr_blocks)
{
	u64 cur = le64_to_cpu(pmd->sb->nr_metadata_blocks);
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	if (new_nr_blocks < cur || new_nr_blocks > vd_bm_nr_blocks(pmd->bm)) {
		pr_err("resize metadata: %llu blocks refused (now %llu, device %llu)\n",
		       (unsigned long long)new_nr_blocks, (unsigned long long)cur,
		       (unsigned long long)vd_bm_nr_blocks(pmd->bm));
		return -EINVAL;
	}
	return grow_space_map(pmd, pmd->msm, &pmd->sb->nr_metadata_blocks, new_nr_blocks,
			      "resize metadata");
}

int vd_pool_set_needs_check(struct vd_pool_metadata *pmd)
{
	if (pmd->read_only)
		return -EROFS;
	pmd->sb->flags |= cpu_to_le32(VD_SB_FLAG_NEEDS_CHECK);
	return 0;
}

int vd_pool_clear_needs_check(struct vd_pool_metadata *pmd)
{
	if (pmd->read_only)
		return -EROFS;
	pmd->sb->flags &= ~cpu_to_le32(VD_SB_FLAG_NEEDS_CHECK);
	return 0;
}

bool vd_pool_needs_check(struct vd_pool_metadata *pmd)
{
	return le32_to_cpu(pmd->sb->flags) & VD_SB_FLAG_NEEDS_CHECK;
}

int vd_pool_iterate_counts(struct vd_pool_metadata *pmd, bool metadata,
			   int (*fn)(void *context, vd_blk_t b, u32 count), void *context)
{
	struct vd_space_map *sm = metadata ? pmd->msm : pmd->dsm;
	vd_blk_t n;
	int r;

	r = vd_sm_get_nr_blocks(sm, &n);
	return r ? r : vd_sm_iterate_counts(sm, 0, n, fn, context);
}

void vd_pool_get_stats(struct vd_pool_metadata *pmd, struct vd_pool_stats *stats)
{
	struct vd_tm_stats s;

	vd_tm_get_stats(pmd->tm, &s);
	stats->nr_new_blocks = s.nr_new;
	stats->nr_shadow_copies = s.nr_shadow_copies;
	stats->last_commit_allocated = pmd->last_commit_allocated;
}
