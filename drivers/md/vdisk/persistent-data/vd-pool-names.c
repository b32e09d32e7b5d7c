// SPDX-License-Identifier: GPL-2.0
/* dm-vdisk pool metadata: the vdisk name map (VD_ROOT_NAME_MAP). */
#define pr_fmt(fmt) "vdisk-metadata: " fmt

#include <linux/errno.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "vd-pool-metadata-internal.h"

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
	struct vd_ref root = vd_pmd_tree_root(pmd, VD_ROOT_NAME_MAP);
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
int vd_pmd_drop_name(struct vd_pool_metadata *pmd, u64 id)
{
	struct vd_ref root = vd_pmd_tree_root(pmd, VD_ROOT_NAME_MAP), new_root;
	int r;

	if (!root.nr)
		return 0;
	/* vd_btree_remove() checks the key before it changes anything. */
	r = vd_btree_remove(&pmd->names_info, root, id, &new_root);
	if (r == -ENODATA)
		return 0;
	if (!r)
		vd_pmd_set_tree_root(pmd, VD_ROOT_NAME_MAP, new_root);
	return r;
}

int vd_pool_set_name(struct vd_pool_metadata *pmd, u64 id, const char *name)
{
	struct vd_ref root, new_root;
	struct vd_disk_name n;
	u64 other;
	int r = vd_pmd_check_writable(pmd);

	if (r)
		return r;
	if (name[0] && !vd_pool_name_valid(name)) {
		pr_err("set_name: vdisk %llu: invalid name (1..%u bytes of A-Z a-z 0-9 _ . + : -, not starting with - or .)\n",
		       (unsigned long long)id, VD_NAME_MAX - 1);
		return -EINVAL;
	}
	r = vd_pmd_read_vdisk(pmd, id, &root, NULL);
	if (r) {
		if (r == -ENODATA)
			pr_err("set_name: vdisk %llu does not exist\n", (unsigned long long)id);
		return r == -ENODATA ? -ENOENT : r;
	}
	if (!name[0])
		return vd_pmd_fail(pmd, vd_pmd_drop_name(pmd, id), "set_name", id);
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
	root = vd_pmd_tree_root(pmd, VD_ROOT_NAME_MAP);
	if (!root.nr) {
		r = vd_btree_empty(&pmd->names_info, &root);
		if (r)
			return vd_pmd_fail(pmd, r, "set_name", id);
		vd_pmd_set_tree_root(pmd, VD_ROOT_NAME_MAP, root);
		/* Committed together with the root: older code opens read-only. */
		pmd->sb->ro_compat_flags |= cpu_to_le64(VD_FEATURE_RO_COMPAT_NAME_MAP);
	}
	memset(&n, 0, sizeof(n));
	memcpy(n.name, name, strlen(name));
	r = vd_btree_insert(&pmd->names_info, root, id, &n, &new_root, NULL);
	if (r)
		return vd_pmd_fail(pmd, r, "set_name", id);
	vd_pmd_set_tree_root(pmd, VD_ROOT_NAME_MAP, new_root);
	return 0;
}

int vd_pool_get_name(struct vd_pool_metadata *pmd, u64 id, char *buf)
{
	struct vd_ref root;
	struct vd_disk_name n;
	int r;

	buf[0] = 0;
	r = vd_pmd_live_vdisk(pmd, id, &root, NULL);
	if (r)
		return r;
	root = vd_pmd_tree_root(pmd, VD_ROOT_NAME_MAP);
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
	r = vd_pmd_read_vdisk(pmd, found, &root, NULL);
	if (r == -ENODATA) {
		pr_err("name map: '%s' names vdisk %llu, which does not exist (run vdisk-check)\n",
		       name, (unsigned long long)found);
		return -EILSEQ;
	}
	if (!r)
		*id = found;
	return r;
}
