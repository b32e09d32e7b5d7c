// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk metadata checker: the vdisks' details against their mapping
 * trees, snapshot lineage and the name map, checked on what the walk in
 * vd-check.c collected.
 */
#include <linux/kernel.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "vd-check-internal.h"
#include "vd-pool-metadata.h"

static const struct detail *find_detail(struct checker *c, u64 id)
{
	u64 lo = 0, hi = c->nr_details;

	while (lo < hi) {
		u64 mid = lo + (hi - lo) / 2;

		if (c->details[mid].id == id)
			return &c->details[mid];
		if (c->details[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static void check_vdisk(struct checker *c, const struct root_ref *rr)
{
	struct vd_btree_info info = { .tm = c->tm };
	const struct detail *d = find_detail(c, rr->key);
	u64 count = 0, size_blocks, last;
	u32 dbs = le32_to_cpu(c->sb.data_block_size);
	__le64 le;
	int r;

	vd_btree_vt_plain(&info.vt, 8);
	c->rep->nr_vdisks++;
	if (!d) {
		vd_chk_report(c, VD_CHECK_ERROR,
			      "vdisk %llu (mapping root %llu) has no details entry",
			      (unsigned long long)rr->key, (unsigned long long)rr->root.nr);
		return;
	}
	if (le32_to_cpu(d->d.flags) & VD_DISK_FLAG_DELETING)
		vd_chk_report(c, VD_CHECK_ERROR,
			      "vdisk %llu is live but its details say it is deleted",
			      (unsigned long long)rr->key);
	r = vd_btree_count(&info, rr->root, &count);
	if (r)
		return;		/* already reported by the walk */
	if (count != le64_to_cpu(d->d.mapped_blocks))
		vd_chk_report(c, VD_CHECK_ERROR,
			      "vdisk %llu: details say %llu mapped blocks, its tree (root %llu) has %llu",
			      (unsigned long long)rr->key,
			      (unsigned long long)le64_to_cpu(d->d.mapped_blocks),
			      (unsigned long long)rr->root.nr, (unsigned long long)count);
	size_blocks = DIV_ROUND_UP(le64_to_cpu(d->d.size_sectors), dbs);
	if (size_blocks && !vd_btree_lookup_prev(&info, rr->root, U64_MAX, &last, &le) &&
	    last >= size_blocks)
		vd_chk_report(c, VD_CHECK_ERROR,
			      "vdisk %llu: block %llu is mapped beyond its size of %llu blocks",
			      (unsigned long long)rr->key, (unsigned long long)last,
			      (unsigned long long)size_blocks);
}

static void check_lineage(struct checker *c)
{
	u64 i, t = le64_to_cpu(c->sb.time);

	for (i = 0; i < c->nr_details; i++) {
		const struct detail *d = &c->details[i], *o;
		u64 origin = le64_to_cpu(d->d.origin_id);
		u64 ct = le64_to_cpu(d->d.creation_time);
		u32 flags = le32_to_cpu(d->d.flags);

		if (flags & VD_DISK_FLAG_DELETING)
			c->rep->nr_tombstones++;
		if (ct > t)
			vd_chk_report(c, VD_CHECK_ERROR,
				      "vdisk %llu: creation time %llu is after the pool's time %llu",
				      (unsigned long long)d->id, (unsigned long long)ct,
				      (unsigned long long)t);
		if (flags & ~(VD_DISK_FLAG_SNAPSHOT | VD_DISK_FLAG_DELETING |
			      VD_DISK_FLAG_USER_MASK))
			vd_chk_report(c, VD_CHECK_ERROR, "vdisk %llu: unknown flags 0x%x",
				      (unsigned long long)d->id, flags);
		if (origin == VD_DISK_NO_ORIGIN) {
			if (flags & VD_DISK_FLAG_SNAPSHOT)
				vd_chk_report(c, VD_CHECK_ERROR,
					      "vdisk %llu is a snapshot without an origin",
					      (unsigned long long)d->id);
			continue;
		}
		if (!(flags & VD_DISK_FLAG_SNAPSHOT))
			vd_chk_report(c, VD_CHECK_ERROR,
				      "vdisk %llu has origin %llu but is not flagged a snapshot",
				      (unsigned long long)d->id, (unsigned long long)origin);
		o = find_detail(c, origin);
		if (!o) {
			vd_chk_report(c, VD_CHECK_ERROR,
				      "vdisk %llu: origin %llu is neither a vdisk nor a deleted one",
				      (unsigned long long)d->id, (unsigned long long)origin);
			continue;
		}
		/*
		 * A genuine origin is strictly older.  An origin id created later
		 * than the snapshot was deleted and reused: lineage ends there.
		 * Strictly decreasing times along the chain rule out cycles.
		 */
		if (o == d || le64_to_cpu(o->d.creation_time) == ct)
			vd_chk_report(c, VD_CHECK_ERROR,
				      "vdisk %llu: origin %llu has the same creation time %llu (lineage cycle)",
				      (unsigned long long)d->id, (unsigned long long)origin,
				      (unsigned long long)ct);
		else if (le64_to_cpu(o->d.creation_time) > ct)
			vd_chk_report(c, VD_CHECK_INFO,
				      "vdisk %llu: origin id %llu was deleted and reused",
				      (unsigned long long)d->id, (unsigned long long)origin);
	}
}

void vd_chk_details(struct checker *c)
{
	u64 i, j = 0;

	for (i = 0; i < c->nr_roots; i++) {
		if (c->roots[i].pending) {
			c->rep->nr_pending_deletes++;
			continue;
		}
		check_vdisk(c, &c->roots[i]);
	}
	/* Details without a vdisk must be tombstones (roots are in id order). */
	for (i = 0; i < c->nr_details; i++) {
		u64 id = c->details[i].id;
		bool live = false;

		while (j < c->nr_roots && (c->roots[j].pending || c->roots[j].key < id))
			j++;
		live = j < c->nr_roots && c->roots[j].key == id && !c->roots[j].pending;
		if (!live && !(le32_to_cpu(c->details[i].d.flags) & VD_DISK_FLAG_DELETING))
			vd_chk_report(c, VD_CHECK_ERROR,
				      "details entry for vdisk %llu, which has no mapping tree and is not marked deleted",
				      (unsigned long long)id);
	}
	check_lineage(c);
}

static bool is_live(struct checker *c, u64 id)
{
	u64 lo = 0, hi = c->nr_roots;

	/* Live roots come first, in id order (pending ones follow). */
	while (lo < hi) {
		u64 mid = lo + (hi - lo) / 2;
		const struct root_ref *rr = &c->roots[mid];

		if (!rr->pending && rr->key == id)
			return true;
		if (!rr->pending && rr->key < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static int cmp_names(const void *a, const void *b)
{
	const struct name_entry *x = a, *y = b;
	int r = memcmp(x->n.name, y->n.name, sizeof(x->n.name));

	return r ? r : x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Name map entries: each for a live vdisk, each a valid NUL-padded name, no
 * name twice (found by sorting: O(n log n) for a damaged map of any size).
 */
void vd_chk_names(struct checker *c, const struct vd_block_ref *tree_roots)
{
	bool has_root = le64_to_cpu(tree_roots[VD_ROOT_NAME_MAP].blocknr);
	bool has_flag = le64_to_cpu(c->sb.ro_compat_flags) & VD_FEATURE_RO_COMPAT_NAME_MAP;
	u64 i;

	if (has_root != has_flag)
		vd_chk_report(c, VD_CHECK_ERROR,
			      has_root ?
			      "a name map exists but the superblock lacks its feature flag" :
			      "the name map feature flag is set but there is no name map");
	for (i = 0; i < c->nr_names; i++) {
		const struct name_entry *e = &c->names[i];
		size_t len = strnlen((const char *)e->n.name, sizeof(e->n.name)), j;
		char buf[VD_DISK_NAME_SIZE];
		bool bad = len == sizeof(buf);

		if (!is_live(c, e->id))
			vd_chk_report(c, VD_CHECK_ERROR,
				      "name map: entry for vdisk %llu, which is not a live vdisk",
				      (unsigned long long)e->id);
		/* The padding after the NUL must be zero too (one spelling per name). */
		for (j = len; j < sizeof(buf); j++)
			bad |= e->n.name[j] != 0;
		memcpy(buf, e->n.name, sizeof(buf));
		buf[sizeof(buf) - 1] = 0;
		if (bad || !vd_pool_name_valid(buf))
			vd_chk_report(c, VD_CHECK_ERROR, "name map: vdisk %llu has an invalid name",
				      (unsigned long long)e->id);
	}
	c->rep->nr_names = c->nr_names;
	sort(c->names, c->nr_names, sizeof(*c->names), cmp_names, NULL);
	for (i = 1; i < c->nr_names; i++) {
		const struct name_entry *a = &c->names[i - 1], *b = &c->names[i];
		char buf[VD_DISK_NAME_SIZE];

		if (memcmp(a->n.name, b->n.name, sizeof(a->n.name)))
			continue;
		memcpy(buf, a->n.name, sizeof(buf));
		buf[sizeof(buf) - 1] = 0;
		vd_chk_report(c, VD_CHECK_ERROR,
			      "name map: vdisks %llu and %llu have the same name '%s'",
			      (unsigned long long)a->id, (unsigned long long)b->id,
			      vd_pool_name_valid(buf) ? buf : "(invalid)");
	}
}
