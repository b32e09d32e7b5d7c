// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl list [POOL]: every vdisk and snapshot, as a tree of snapshot
 * lineage (a snapshot or clone under the vdisk it was taken of).  A vdisk
 * whose origin was deleted becomes a root.  --json prints a flat list with
 * "origin_id"/"origin" instead of the tree.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "vdiskctl.h"

static const char *vdisk_type(const struct vc_vdisk *v)
{
	if (!(v->flags & VDISK_F_SNAPSHOT))
		return "disk";
	return v->flags & VDISK_F_AUTO_ACTIVATE ? "clone" : "snapshot";
}

static uint32_t block_size_of(const struct vc_pool *p, size_t np, const char *pool)
{
	size_t i;

	for (i = 0; i < np; i++)
		if (!strcmp(p[i].name, pool))
			return p[i].block_size;
	return 0;
}

static const struct vc_vdisk *find_id(const struct vc_vdisk *v, size_t n, const char *pool,
				      uint64_t id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (v[i].id == id && !strcmp(v[i].pool, pool))
			return &v[i];
	return NULL;
}

static void print_tree(const struct vc_vdisk *v, size_t n, const struct vc_vdisk *me,
		       uint32_t bs, char *prefix, size_t plen, int last, int depth)
{
	char label[160], size[32], used[32], dev[VC_DM_NAME_MAX + 16];
	size_t i, nkids = 0, k = 0, l = strlen(prefix);

	snprintf(label, sizeof(label), "%s%s%s", prefix,
		 depth ? (last ? "`- " : "|- ") : "", me->name[0] ? me->name : "(unnamed)");
	if (me->flags & VDISK_F_ACTIVE)
		snprintf(dev, sizeof(dev), "/dev/mapper/%s", me->dm_name[0] ? me->dm_name : "?");
	else
		snprintf(dev, sizeof(dev), "-");
	printf("%-40s %6llu %8s %8s %-9s %s\n", label, (unsigned long long)me->id,
	       vc_format_size(me->size, size, sizeof(size)),
	       bs ? vc_format_size(me->mapped_blocks * bs, used, sizeof(used)) : "?",
	       vdisk_type(me), dev);
	for (i = 0; i < n; i++)
		if (v[i].has_origin && v[i].origin_id == me->id && !strcmp(v[i].pool, me->pool))
			nkids++;
	/* Lineage is a tree (an origin is older than its snapshots); the depth
	 * bound only guards against a malformed reply.
	 */
	if (depth > 200)
		return;
	if (depth && l + 4 < plen)
		strcat(prefix, last ? "   " : "|  ");
	for (i = 0; i < n; i++) {
		if (!v[i].has_origin || v[i].origin_id != me->id || strcmp(v[i].pool, me->pool))
			continue;
		k++;
		print_tree(v, n, &v[i], bs, prefix, plen, k == nkids, depth + 1);
	}
	prefix[l] = 0;
}

int vc_cmd_list(int argc, char **argv)
{
	static const char usage[] = "vdiskctl list [POOL] [--json]";
	static const char help[] =
		"List the vdisks, snapshots and clones of every active pool (or of\n"
		"POOL) as a tree of snapshot lineage: ID, SIZE (virtual), USED (data\n"
		"blocks mapped), TYPE (disk, snapshot, clone) and the active device.\n";
	const char *pool = NULL;
	struct vc_pool *p = NULL;
	struct vc_vdisk *v = NULL;
	struct vc_nl *nl = NULL;
	size_t np = 0, n = 0, i, k;
	int done, rc, r;

	rc = vc_getopt(argc, argv, usage, help, NULL, NULL, NULL, &done);
	if (rc || done)
		return rc;
	if (argc - optind > 1)
		return vc_usage_err(usage, "unexpected argument '%s'", argv[optind + 1]);
	if (argc - optind == 1)
		pool = argv[optind];
	rc = vc_nl_open(&nl, true);
	if (rc)
		return rc;
	r = vc_get_pools(nl, pool, &p, &np);
	if (!r)
		r = vc_get_vdisks(nl, pool, &v, &n);
	if (r) {
		rc = pool ? vc_nl_fail(nl, r, pool, "cannot list pool '%s'", pool) :
			    vc_nl_fail(nl, r, NULL, "cannot list the vdisks");
		goto out;
	}
	/* A module that leaves POOL_NAME out of filtered replies. */
	for (i = 0; pool && i < n; i++)
		if (!v[i].pool[0])
			snprintf(v[i].pool, sizeof(v[i].pool), "%s", pool);
	if (vc_json_output) {
		struct vc_json j;

		vc_json_init(&j, stdout);
		vc_json_obj_begin(&j, NULL);
		vc_json_arr_begin(&j, "vdisks");
		for (i = 0; i < n; i++) {
			const struct vc_vdisk *o = v[i].has_origin ?
				find_id(v, n, v[i].pool, v[i].origin_id) : NULL;
			uint32_t bs = block_size_of(p, np, v[i].pool);
			char path[VC_DM_NAME_MAX + 16];

			vc_json_obj_begin(&j, NULL);
			vc_json_str(&j, "pool", v[i].pool);
			vc_json_str(&j, "name", v[i].name);
			vc_json_u64(&j, "id", v[i].id);
			vc_json_str(&j, "type", vdisk_type(&v[i]));
			vc_json_u64(&j, "size", v[i].size);
			vc_json_u64(&j, "mapped_blocks", v[i].mapped_blocks);
			vc_json_u64(&j, "used_bytes", v[i].mapped_blocks * bs);
			if (v[i].has_origin)
				vc_json_u64(&j, "origin_id", v[i].origin_id);
			else
				vc_json_null(&j, "origin_id");
			vc_json_str(&j, "origin", o ? o->name : NULL);
			vc_json_bool(&j, "snapshot", !!(v[i].flags & VDISK_F_SNAPSHOT));
			vc_json_bool(&j, "auto_activate", !!(v[i].flags & VDISK_F_AUTO_ACTIVATE));
			vc_json_bool(&j, "active", !!(v[i].flags & VDISK_F_ACTIVE));
			snprintf(path, sizeof(path), "/dev/mapper/%s", v[i].dm_name);
			vc_json_str(&j, "device",
				    (v[i].flags & VDISK_F_ACTIVE) && v[i].dm_name[0] ? path : NULL);
			vc_json_u64(&j, "creation_time", v[i].creation_time);
			vc_json_u64(&j, "snapshot_time", v[i].snapshot_time);
			vc_json_obj_end(&j);
		}
		vc_json_arr_end(&j);
		vc_json_obj_end(&j);
		goto out;
	}
	printf("%-40s %6s %8s %8s %-9s %s\n", "POOL / NAME", "ID", "SIZE", "USED", "TYPE",
	       "DEVICE");
	for (k = 0; k < np; k++) {
		char prefix[256] = "  ";

		printf("%s\n", p[k].name);
		for (i = 0; i < n; i++) {
			if (strcmp(v[i].pool, p[k].name))
				continue;
			if (v[i].has_origin && find_id(v, n, v[i].pool, v[i].origin_id))
				continue;
			print_tree(v, n, &v[i], p[k].block_size, prefix, sizeof(prefix), 1, 0);
		}
	}
out:
	free(p);
	free(v);
	vc_nl_close(nl);
	return rc;
}
