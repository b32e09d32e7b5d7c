// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk pool metadata: superblock slots, commit, vdisks, snapshots,
 * deletion and mappings on top of the transaction manager, space maps and
 * B+trees.  Design: Documentation/design/metadata.rst ("Pool level").
 */
#define pr_fmt(fmt) "vdisk-metadata: " fmt

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "vd-pool-metadata.h"
#include "vd-btree.h"
#include "vd-space-map.h"
#include "vd-transaction-manager.h"

/*
 * A vdisk changed in the current transaction.  @root and @info are the
 * truth for this vdisk until the commit writes them into the vdisks and
 * details trees; the trees may hold stale values meanwhile.  An entry
 * exists only after the vdisk's leaf in the vdisks tree was made exclusive
 * to the live tree in this transaction (see touch_vdisk()).
 */
struct vd_pool_vdisk {
	struct vd_ref root;
	struct vd_pool_vdisk_info info;
};

struct vd_pool_metadata {
	struct vd_block_manager *bm;
	struct vd_tm *tm;
	struct vd_space_map *msm;
	struct vd_space_map *dsm;
	/* mapping trees: vblock -> VD_MAP_* value counted in dsm */
	struct vd_btree_info map_info;
	/* vdisks and pending trees: values are mapping tree roots */
	struct vd_btree_info top_info;
	struct vd_btree_info details_info;
	/* name map: vdisk id -> struct vd_disk_name (plain values) */
	struct vd_btree_info names_info;
	/* Last committed superblock with this transaction's changes applied. */
	struct vd_superblock *sb;
	bool read_only;
	/* An error left the transaction half done: only abort is allowed. */
	bool broken;
	/*
	 * The top trees' dec() drops a whole mapping tree only while releasing
	 * a metadata snapshot.  In every other case a removed or overwritten
	 * root's reference was handed on (to the pending tree, or consumed by
	 * a shadow or vd_btree_del_step()), so dec() must do nothing.
	 */
	bool drop_subtrees;
	struct vd_pool_vdisk *cache;
	unsigned int nr_cache;
	unsigned int cache_alloc;
	vd_pool_data_freed_fn freed_fn;
	void *freed_context;
};

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

static int map_dec(void *context, const void *value)
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
		.context = pmd, .size = sizeof(__le64), .inc = map_inc, .dec = map_dec,
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

static void info_to_disk(const struct vd_pool_vdisk_info *i, struct vd_disk_details *d)
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

static struct vd_pool_vdisk *cache_find(struct vd_pool_metadata *pmd, u64 id)
{
	unsigned int i;

	for (i = 0; i < pmd->nr_cache; i++)
		if (pmd->cache[i].info.id == id)
			return &pmd->cache[i];
	return NULL;
}

static struct vd_pool_vdisk *cache_add(struct vd_pool_metadata *pmd)
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

static void cache_drop(struct vd_pool_metadata *pmd, struct vd_pool_vdisk *v)
{
	*v = pmd->cache[--pmd->nr_cache];
}

static struct vd_ref tree_root(struct vd_pool_metadata *pmd, int i)
{
	return vd_ref_load(&pmd->sb->tree_roots[i]);
}

static void set_tree_root(struct vd_pool_metadata *pmd, int i, struct vd_ref root)
{
	vd_ref_store(&pmd->sb->tree_roots[i], root);
}

/* Committed (or written-back) root and details of @id, read only. */
static int read_vdisk(struct vd_pool_metadata *pmd, u64 id, struct vd_ref *root,
		      struct vd_pool_vdisk_info *info)
{
	struct vd_pool_vdisk *v = cache_find(pmd, id);
	struct vd_disk_details d;
	struct vd_block_ref le;
	int r;

	if (v) {
		*root = v->root;
		if (info)
			*info = v->info;
		return 0;
	}
	r = vd_btree_lookup(&pmd->top_info, tree_root(pmd, VD_ROOT_VDISKS), id, &le);
	if (r)
		return r;
	*root = vd_ref_load(&le);
	if (!info)
		return 0;
	r = vd_btree_lookup(&pmd->details_info, tree_root(pmd, VD_ROOT_DETAILS), id, &d);
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

	r = vd_btree_insert(&pmd->top_info, tree_root(pmd, VD_ROOT_VDISKS), id, &le,
			    &new_root, NULL);
	if (!r)
		set_tree_root(pmd, VD_ROOT_VDISKS, new_root);
	return r;
}

/* The vdisk's cache entry, creating it (the caller is going to change it). */
static int get_vdisk(struct vd_pool_metadata *pmd, u64 id, struct vd_pool_vdisk **result)
{
	struct vd_pool_vdisk *v = cache_find(pmd, id);
	struct vd_pool_vdisk_info info;
	struct vd_ref root;
	int r;

	if (v) {
		*result = v;
		return 0;
	}
	r = read_vdisk(pmd, id, &root, &info);
	if (r)
		return r;
	if (le64_to_cpu(pmd->sb->held_root.blocknr)) {
		r = touch_vdisk(pmd, id, root);
		if (r) {
			pmd->broken = true;
			return r;
		}
	}
	v = cache_add(pmd);
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
		r = vd_btree_insert(&pmd->top_info, tree_root(pmd, VD_ROOT_VDISKS),
				    v->info.id, &le, &root, NULL);
		if (r)
			return r;
		set_tree_root(pmd, VD_ROOT_VDISKS, root);
		info_to_disk(&v->info, &d);
		r = vd_btree_insert(&pmd->details_info, tree_root(pmd, VD_ROOT_DETAILS),
				    v->info.id, &d, &root, NULL);
		if (r)
			return r;
		set_tree_root(pmd, VD_ROOT_DETAILS, root);
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

static int check_writable(struct vd_pool_metadata *pmd)
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
static int fail(struct vd_pool_metadata *pmd, int r, const char *what, u64 id)
{
	if (r && r != -ENODATA) {
		pmd->broken = true;
		pr_err("%s (vdisk %llu) failed: %d; the transaction must be aborted\n",
		       what, (unsigned long long)id, r);
	}
	return r;
}

static int do_commit(struct vd_pool_metadata *pmd)
{
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
	pmd->sb->commit_seq = cpu_to_le64(seq);
	d = vd_block_data(b);
	memcpy(d, pmd->sb, sizeof(*d));
	memset(&d->hdr, 0, sizeof(d->hdr));
	/* Everything the superblock points to is on stable storage now. */
	return vd_tm_commit(pmd->tm, b);
}

int vd_pool_commit(struct vd_pool_metadata *pmd)
{
	int r = check_writable(pmd);

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

int vd_pool_abort(struct vd_pool_metadata *pmd)
{
	if (pmd->tm)
		vd_tm_abort(pmd->tm);
	destroy_internals(pmd);
	return open_internals(pmd, pmd->read_only);
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
		set_tree_root(pmd, i, root);
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

/* ---------------- names ---------------- */

/*
 * The name map (VD_ROOT_NAME_MAP) is keyed by vdisk id, so getting or
 * changing a vdisk's name is one tree operation; finding a vdisk by name
 * (and the uniqueness check of set_name) scans the map: O(number of names),
 * about 56 names per 4 KiB leaf, fine for pools of hundreds of vdisks.  The
 * map is created by the first name ever set, in the same transaction as the
 * ro_compat feature bit that announces it.
 */
static bool name_char_ok(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '+' ||
	       ch == ':' || ch == '-';
}

bool vd_pool_name_valid(const char *name)
{
	unsigned int i;

	if (!name[0] || name[0] == '-' || name[0] == '.')
		return false;
	for (i = 0; name[i]; i++)
		if (i >= VD_NAME_MAX - 1 || !name_char_ok(name[i]))
			return false;
	return true;
}

/* Copy a stored name into @buf (VD_NAME_MAX bytes); -EILSEQ if it is invalid. */
static int name_load(u64 id, const struct vd_disk_name *n, char *buf)
{
	memcpy(buf, n->name, VD_NAME_MAX);
	if (!buf[VD_NAME_MAX - 1] && vd_pool_name_valid(buf))
		return 0;
	buf[0] = 0;
	pr_err("name map: the entry of vdisk %llu is not a valid name (run vdisk-check)\n",
	       (unsigned long long)id);
	return -EILSEQ;
}

struct find_name_ctx {
	const char *name;
	u64 id;
};

static int find_name_fn(void *context, u64 key, const void *value)
{
	const struct vd_disk_name *n = value;
	struct find_name_ctx *c = context;

	/* @c->name is valid, so shorter than VD_NAME_MAX: a padded entry matches. */
	if (strncmp((const char *)n->name, c->name, VD_NAME_MAX))
		return 0;
	c->id = key;
	return 1;
}

/* The id whose entry is @name (a valid name): 0, -ENOENT or a read error. */
static int lookup_name(struct vd_pool_metadata *pmd, const char *name, u64 *id)
{
	struct find_name_ctx c = { .name = name };
	struct vd_ref root = tree_root(pmd, VD_ROOT_NAME_MAP);
	int r;

	if (!root.nr)
		return -ENOENT;
	r = vd_btree_iterate(&pmd->names_info, root, 0, U64_MAX, find_name_fn, &c);
	if (r < 0)
		return r;
	if (!r)
		return -ENOENT;
	*id = c.id;
	return 0;
}

/* Remove @id's name if it has one (nothing is changed when it has none). */
static int drop_name(struct vd_pool_metadata *pmd, u64 id)
{
	struct vd_ref root = tree_root(pmd, VD_ROOT_NAME_MAP), new_root;
	int r;

	if (!root.nr)
		return 0;
	/* vd_btree_remove() checks the key before it changes anything. */
	r = vd_btree_remove(&pmd->names_info, root, id, &new_root);
	if (r == -ENODATA)
		return 0;
	if (!r)
		set_tree_root(pmd, VD_ROOT_NAME_MAP, new_root);
	return r;
}

int vd_pool_set_name(struct vd_pool_metadata *pmd, u64 id, const char *name)
{
	struct vd_ref root, new_root;
	struct vd_disk_name n;
	u64 other;
	int r = check_writable(pmd);

	if (r)
		return r;
	if (name[0] && !vd_pool_name_valid(name)) {
		pr_err("set_name: vdisk %llu: invalid name (1..%u bytes of A-Z a-z 0-9 _ . + : -, not starting with - or .)\n",
		       (unsigned long long)id, VD_NAME_MAX - 1);
		return -EINVAL;
	}
	r = read_vdisk(pmd, id, &root, NULL);
	if (r) {
		if (r == -ENODATA)
			pr_err("set_name: vdisk %llu does not exist\n", (unsigned long long)id);
		return r == -ENODATA ? -ENOENT : r;
	}
	if (!name[0])
		return fail(pmd, drop_name(pmd, id), "set_name", id);
	/* Only reads so far: a refusal or a read error changes nothing. */
	r = lookup_name(pmd, name, &other);
	if (!r && other == id)
		return 0;
	if (!r) {
		pr_err("set_name: vdisk %llu: the name '%s' belongs to vdisk %llu\n",
		       (unsigned long long)id, name, (unsigned long long)other);
		return -EEXIST;
	}
	if (r != -ENOENT)
		return r;
	root = tree_root(pmd, VD_ROOT_NAME_MAP);
	if (!root.nr) {
		r = vd_btree_empty(&pmd->names_info, &root);
		if (r)
			return fail(pmd, r, "set_name", id);
		set_tree_root(pmd, VD_ROOT_NAME_MAP, root);
		/* Committed together with the root: older code opens read-only. */
		pmd->sb->ro_compat_flags |= cpu_to_le64(VD_FEATURE_RO_COMPAT_NAME_MAP);
	}
	memset(&n, 0, sizeof(n));
	memcpy(n.name, name, strlen(name));
	r = vd_btree_insert(&pmd->names_info, root, id, &n, &new_root, NULL);
	if (r)
		return fail(pmd, r, "set_name", id);
	set_tree_root(pmd, VD_ROOT_NAME_MAP, new_root);
	return 0;
}

int vd_pool_get_name(struct vd_pool_metadata *pmd, u64 id, char *buf)
{
	struct vd_ref root;
	struct vd_disk_name n;
	int r;

	buf[0] = 0;
	r = read_vdisk(pmd, id, &root, NULL);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	root = tree_root(pmd, VD_ROOT_NAME_MAP);
	if (!root.nr)
		return 0;
	r = vd_btree_lookup(&pmd->names_info, root, id, &n);
	if (r)
		return r == -ENODATA ? 0 : r;
	return name_load(id, &n, buf);
}

int vd_pool_find_name(struct vd_pool_metadata *pmd, const char *name, u64 *id)
{
	struct vd_ref root;
	u64 found;
	int r;

	if (!vd_pool_name_valid(name))
		return -EINVAL;
	r = lookup_name(pmd, name, &found);
	if (r)
		return r;
	/* Entries exist for live vdisks only; anything else is damage. */
	r = read_vdisk(pmd, found, &root, NULL);
	if (r == -ENODATA) {
		pr_err("name map: '%s' names vdisk %llu, which does not exist (run vdisk-check)\n",
		       name, (unsigned long long)found);
		return -EILSEQ;
	}
	if (!r)
		*id = found;
	return r;
}

int vd_pool_next_free_id(struct vd_pool_metadata *pmd, u64 *id)
{
	struct vd_disk_details d;
	struct vd_block_ref le;
	u64 k, hi = 0;
	bool any = false;
	int r;

	/* Details hold live vdisks and the tombstones of deleted ones... */
	r = vd_btree_lookup_prev(&pmd->details_info, tree_root(pmd, VD_ROOT_DETAILS), U64_MAX,
				 &k, &d);
	if (!r) {
		hi = k;
		any = true;
	} else if (r != -ENODATA) {
		return r;
	}
	/* ...but a vdisk created in this transaction gets its details at commit. */
	r = vd_btree_lookup_prev(&pmd->top_info, tree_root(pmd, VD_ROOT_VDISKS), U64_MAX,
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
	int r = check_writable(pmd);

	if (r)
		return r;
	if ((set | clear) & ~VD_DISK_FLAG_USER_MASK) {
		pr_err("set_user_flags: vdisk %llu: flags 0x%x are not user flags (mask 0x%x)\n",
		       (unsigned long long)id, (set | clear) & ~VD_DISK_FLAG_USER_MASK,
		       VD_DISK_FLAG_USER_MASK);
		return -EINVAL;
	}
	r = get_vdisk(pmd, id, &v);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	v->info.flags = (v->info.flags | set) & ~clear;
	return 0;
}

/* ---------------- vdisks ---------------- */

static bool vdisk_exists(struct vd_pool_metadata *pmd, u64 id, int *err)
{
	struct vd_ref root;
	int r = read_vdisk(pmd, id, &root, NULL);

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
	r = vd_btree_insert(&pmd->top_info, tree_root(pmd, VD_ROOT_VDISKS), id, &le,
			    &new_root, NULL);
	if (r)
		return r;
	set_tree_root(pmd, VD_ROOT_VDISKS, new_root);
	v = cache_add(pmd);
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
	int r = check_writable(pmd), err;

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
	return fail(pmd, r, "create", id);
}

int vd_pool_create_snaps(struct vd_pool_metadata *pmd,
			 const struct vd_pool_snap_pair *pairs, unsigned int nr)
{
	unsigned int i, j;
	u64 now;
	int r = check_writable(pmd), err;

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

		r = get_vdisk(pmd, pairs[i].origin_id, &o);
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
	return fail(pmd, r, "snapshot", nr ? pairs[i < nr ? i : 0].id : 0);
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
	int r = check_writable(pmd);

	if (r)
		return r;
	r = read_vdisk(pmd, id, &root, &info);
	if (r) {
		if (r == -ENODATA)
			pr_err("delete: vdisk %llu does not exist\n", (unsigned long long)id);
		return r;
	}
	/* The entry's reference on @root moves to the pending tree: no dec. */
	r = vd_btree_remove(&pmd->top_info, tree_root(pmd, VD_ROOT_VDISKS), id, &new_root);
	if (r)
		return fail(pmd, r == -ENODATA ? -EILSEQ : r, "delete", id);
	set_tree_root(pmd, VD_ROOT_VDISKS, new_root);
	v = cache_find(pmd, id);
	if (v)
		cache_drop(pmd, v);
	/* Names belong to live vdisks only: drop it in the same transaction. */
	r = drop_name(pmd, id);
	if (r)
		return fail(pmd, r, "delete", id);
	r = vd_btree_lookup_prev(&pmd->top_info, tree_root(pmd, VD_ROOT_PENDING_DELETE),
				 U64_MAX, &k, &le);
	if (!r)
		key = k + 1;
	else if (r != -ENODATA)
		return fail(pmd, r, "delete", id);
	le = vd_ref_disk(root);
	r = vd_btree_insert(&pmd->top_info, tree_root(pmd, VD_ROOT_PENDING_DELETE), key, &le,
			    &new_root, NULL);
	if (r)
		return fail(pmd, r, "delete", id);
	set_tree_root(pmd, VD_ROOT_PENDING_DELETE, new_root);
	/* A tombstone keeps the snapshot lineage of its children readable. */
	info.flags |= VD_DISK_FLAG_DELETING;
	info.mapped_blocks = 0;
	info.transaction_id = le64_to_cpu(pmd->sb->transaction_id);
	info_to_disk(&info, &d);
	r = vd_btree_insert(&pmd->details_info, tree_root(pmd, VD_ROOT_DETAILS), id, &d,
			    &new_root, NULL);
	if (!r)
		set_tree_root(pmd, VD_ROOT_DETAILS, new_root);
	return fail(pmd, r, "delete", id);
}

int vd_pool_reclaim(struct vd_pool_metadata *pmd, unsigned int budget, bool *more)
{
	struct vd_ref root, new_root, proot;
	struct vd_block_ref le;
	u64 key;
	int r = check_writable(pmd), done = 0;

	*more = false;
	if (r)
		return r;
	proot = tree_root(pmd, VD_ROOT_PENDING_DELETE);
	r = vd_btree_lookup_next(&pmd->top_info, proot, 0, &key, &le);
	if (r == -ENODATA)
		return 0;
	if (r)
		return fail(pmd, r, "reclaim", 0);
	root = vd_ref_load(&le);
	if (le64_to_cpu(pmd->sb->held_root.blocknr)) {
		/* Same as touch_vdisk(): unshare the leaf before using the root. */
		r = vd_btree_insert(&pmd->top_info, proot, key, &le, &proot, NULL);
		if (r)
			return fail(pmd, r, "reclaim", 0);
		set_tree_root(pmd, VD_ROOT_PENDING_DELETE, proot);
	}
	/* del_step consumes the pending entry's reference on @root. */
	r = vd_btree_del_step(&pmd->map_info, root, budget ? budget : 1, &new_root, &done);
	if (r)
		return fail(pmd, r, "reclaim", 0);
	if (done) {
		r = vd_btree_remove(&pmd->top_info, proot, key, &proot);
	} else {
		le = vd_ref_disk(new_root);
		r = vd_btree_insert(&pmd->top_info, proot, key, &le, &proot, NULL);
	}
	if (r)
		return fail(pmd, r, "reclaim", 0);
	set_tree_root(pmd, VD_ROOT_PENDING_DELETE, proot);
	r = vd_btree_lookup_next(&pmd->top_info, proot, 0, &key, &le);
	*more = !r;
	return r == -ENODATA ? 0 : fail(pmd, r, "reclaim", 0);
}

/* ---------------- pool values ---------------- */

int vd_pool_get_transaction_id(struct vd_pool_metadata *pmd, u64 *id)
{
	*id = le64_to_cpu(pmd->sb->transaction_id);
	return 0;
}

int vd_pool_set_transaction_id(struct vd_pool_metadata *pmd, u64 cur, u64 new_id)
{
	int r = check_writable(pmd);

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
	int i, r = check_writable(pmd);

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
		return fail(pmd, r, "reserve_metadata_snap", 0);
	r = vd_tm_new_block(pmd->tm, &vd_superblock_validator, &b);
	if (r)
		return fail(pmd, r, "reserve_metadata_snap", 0);
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
		r = vd_tm_inc(pmd->tm, tree_root(pmd, i).nr);
	/* The copy names the name map too (if there is one yet). */
	if (!r && tree_root(pmd, VD_ROOT_NAME_MAP).nr)
		r = vd_tm_inc(pmd->tm, tree_root(pmd, VD_ROOT_NAME_MAP).nr);
	return fail(pmd, r, "reserve_metadata_snap", 0);
}

int vd_pool_release_metadata_snap(struct vd_pool_metadata *pmd)
{
	struct vd_ref held = vd_ref_load(&pmd->sb->held_root), roots[3], names;
	const struct vd_superblock *copy;
	struct vd_block *b;
	int i, r = check_writable(pmd);

	if (r)
		return r;
	if (!held.nr) {
		pr_err("release_metadata_snap: no metadata snapshot is held\n");
		return -EINVAL;
	}
	r = vd_tm_read_lock(pmd->tm, held, &vd_superblock_validator, &b);
	if (r)
		return fail(pmd, r, "release_metadata_snap", 0);
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
	return fail(pmd, r, "release_metadata_snap", 0);
}

int vd_pool_get_metadata_snap(struct vd_pool_metadata *pmd, vd_blk_t *blocknr)
{
	*blocknr = le64_to_cpu(pmd->sb->held_root.blocknr);
	return 0;
}

/* ---------------- mappings ---------------- */

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

	r = read_vdisk(pmd, id, &root, NULL);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
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
	int r;

	r = read_vdisk(pmd, id, &root, NULL);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	return vd_btree_lookup_prev(&pmd->map_info, root, U64_MAX, vblock, &le);
}

int vd_pool_alloc_data_block(struct vd_pool_metadata *pmd, vd_blk_t *pblock)
{
	int r = check_writable(pmd);

	if (r)
		return r;
	r = vd_sm_new_block(pmd->dsm, pblock);
	if (r == -ENOSPC)
		return r;
	return fail(pmd, r, "allocate data block", 0);
}

int vd_pool_release_data_block(struct vd_pool_metadata *pmd, vd_blk_t pblock)
{
	__le64 le = cpu_to_le64(pblock);
	int r = check_writable(pmd);

	if (r)
		return r;
	return fail(pmd, map_dec(pmd, &le), "release data block", 0);
}

/* Virtual blocks of a vdisk of @sectors (0 = no size yet: no limit). */
static u64 size_blocks(struct vd_pool_metadata *pmd, u64 sectors)
{
	u32 dbs = le32_to_cpu(pmd->sb->data_block_size);

	return sectors ? div_u64(sectors + dbs - 1, dbs) : U64_MAX;
}

int vd_pool_insert(struct vd_pool_metadata *pmd, u64 id, u64 vblock, u64 mapping)
{
	struct vd_pool_vdisk *v;
	__le64 le = cpu_to_le64(mapping);
	struct vd_ref root;
	int r = check_writable(pmd), inserted = 0;

	if (r)
		return r;
	r = check_mapping(pmd, id, vblock, mapping);
	if (r)
		return r;
	r = get_vdisk(pmd, id, &v);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	if (vblock >= size_blocks(pmd, v->info.size_sectors)) {
		pr_err("vdisk %llu: block %llu is beyond its size of %llu sectors\n",
		       (unsigned long long)id, (unsigned long long)vblock,
		       (unsigned long long)v->info.size_sectors);
		return -EINVAL;
	}
	r = vd_btree_insert(&pmd->map_info, v->root, vblock, &le, &root, &inserted);
	if (r)
		return fail(pmd, r, "insert", id);
	v->root = root;
	if (inserted)
		v->info.mapped_blocks++;
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
	int r = check_writable(pmd);

	if (r)
		return r;
	if (nr_removed)
		*nr_removed = 0;
	if (begin >= end)
		return 0;
	r = get_vdisk(pmd, id, &v);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	r = vd_btree_remove_range(&pmd->map_info, v->root, begin, end, &root, &n);
	if (r)
		return fail(pmd, r, "remove_range", id);
	v->root = root;
	if (n > v->info.mapped_blocks) {
		pr_err("vdisk %llu: removed %llu mappings but details counted %llu\n",
		       (unsigned long long)id, (unsigned long long)n,
		       (unsigned long long)v->info.mapped_blocks);
		return fail(pmd, -EILSEQ, "remove_range", id);
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

	r = read_vdisk(pmd, id, &root, NULL);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	r = vd_btree_iterate(&pmd->map_info, root, begin, end, map_iter_fn, &c);
	return r > 0 ? 0 : r;
}

void vd_pool_set_data_freed_fn(struct vd_pool_metadata *pmd, vd_pool_data_freed_fn fn,
			       void *context)
{
	pmd->freed_fn = fn;
	pmd->freed_context = context;
}

/* ---------------- details and usage ---------------- */

int vd_pool_get_details(struct vd_pool_metadata *pmd, u64 id, struct vd_pool_vdisk_info *info)
{
	struct vd_ref root;
	int r = read_vdisk(pmd, id, &root, info);

	return r == -ENODATA ? -ENOENT : r;
}

int vd_pool_set_size(struct vd_pool_metadata *pmd, u64 id, u64 size_sectors)
{
	struct vd_pool_vdisk *v;
	int r = check_writable(pmd);

	if (r)
		return r;
	r = get_vdisk(pmd, id, &v);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	/* Shrinking unmaps what lies beyond the new end. */
	if (size_sectors && size_sectors < v->info.size_sectors) {
		r = vd_pool_remove_range(pmd, id, size_blocks(pmd, size_sectors), U64_MAX, NULL);
		if (r)
			return r;
		v = cache_find(pmd, id);
		if (!v)
			return fail(pmd, -EINVAL, "resize", id);
	}
	v->info.size_sectors = size_sectors;
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
	r = vd_btree_iterate(&pmd->top_info, tree_root(pmd, VD_ROOT_VDISKS), 0, U64_MAX,
			     iter_fn, &c);
	return r > 0 ? 0 : r;
}

/* ---------------- sharing census ---------------- */

/*
 * A mapping is exclusive to its vdisk when nothing else can reach it: every
 * node from the superblock down to its leaf has metadata count 1 and its
 * data block has data count 1.  A node with count > 1 makes everything
 * below it shared, whatever the counts further down say: with O(1)
 * snapshots a data block has count 1 while the leaf naming it is shared.
 * The path starts in the vdisks tree: while a metadata snapshot is held, a
 * shared vdisks-tree leaf names the mapping root with a single reference
 * (see touch_vdisk()), so that root's count of 1 does not make it exclusive.
 * Only read locks and space-map reads (which include the transaction's
 * queued changes): safe under the readers' side of the concurrency contract.
 */
struct census_ctx {
	struct vd_pool_metadata *pmd;
	/* shared_at[d]: the node visited last at depth d, or one above, is shared */
	bool shared_at[VD_BTREE_MAX_DEPTH];
	bool top_shared;
	u64 exclusive, shared;
};

static int census_top_fn(void *context, vd_blk_t b)
{
	struct census_ctx *c = context;
	u32 count;
	int r = vd_sm_get_count(c->pmd->msm, b, &count);

	if (!r && count > 1)
		c->top_shared = true;
	return r;
}

static int census_fn(void *context, const struct vd_btree_walk_node *n)
{
	struct census_ctx *c = context;
	const __le64 *values = n->values;
	u32 count, i;
	bool shared;
	int r;

	r = vd_sm_get_count(c->pmd->msm, n->blocknr, &count);
	if (r)
		return r;
	shared = count > 1 || (n->depth ? c->shared_at[n->depth - 1] : c->top_shared);
	c->shared_at[n->depth] = shared;
	if (!n->is_leaf)
		return 0;
	if (shared) {
		c->shared += n->nr_entries;
		return 0;
	}
	for (i = 0; i < n->nr_entries; i++) {
		u64 v = le64_to_cpu(values[i]);

		if (VD_MAP_BLOCK(v) >= le64_to_cpu(c->pmd->sb->nr_data_blocks)) {
			pr_err("sharing census: mapping leaf %llu names data block %llu, beyond the device\n",
			       (unsigned long long)n->blocknr, (unsigned long long)VD_MAP_BLOCK(v));
			return -EILSEQ;
		}
		r = vd_sm_get_count(c->pmd->dsm, VD_MAP_BLOCK(v), &count);
		if (r)
			return r;
		if (count == 1)
			c->exclusive++;
		else
			c->shared++;
	}
	return 0;
}

int vd_pool_count_sharing(struct vd_pool_metadata *pmd, u64 id, u64 *exclusive,
			  u64 *shared)
{
	struct census_ctx c = { .pmd = pmd };
	struct vd_ref root;
	int r;

	*exclusive = 0;
	*shared = 0;
	r = read_vdisk(pmd, id, &root, NULL);
	if (r)
		return r == -ENODATA ? -ENOENT : r;
	/* The vdisks tree path to @id's entry, then the mapping tree itself. */
	r = vd_btree_walk_path(&pmd->top_info, tree_root(pmd, VD_ROOT_VDISKS), id,
			       census_top_fn, &c);
	if (r)
		return r == -ENODATA ? -EILSEQ : r;
	r = vd_btree_walk(&pmd->map_info, root, census_fn, &c);
	if (r)
		return r;
	*exclusive = c.exclusive;
	*shared = c.shared;
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
	/* Empty pending tree = a root leaf without entries: one cheap lookup. */
	{
		u64 k;
		struct vd_block_ref le;

		r = vd_btree_lookup_next(&pmd->top_info,
					 tree_root(pmd, VD_ROOT_PENDING_DELETE), 0, &k, &le);
		u->deletions_pending = !r;
	}
	return r == -ENODATA ? 0 : r;
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
		return fail(pmd, r, what, 0);
	*sb_nr = cpu_to_le64(new_nr_blocks);
	return 0;
}

int vd_pool_resize_data(struct vd_pool_metadata *pmd, u64 new_nr_blocks)
{
	u64 cur = le64_to_cpu(pmd->sb->nr_data_blocks);
	int r = check_writable(pmd);

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
	int r = check_writable(pmd);

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
}
