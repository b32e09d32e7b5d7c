// SPDX-License-Identifier: GPL-2.0
/*
 * Pool messages (dmsetup message <pool> 0 <message>):
 *   create_vdisk <id>
 *   create_snap <id> <origin id>
 *   create_group_snap <id>:<origin id> [<id>:<origin id>]...
 *   delete <id>
 *   set_transaction_id <current id> <new id>
 *   reserve_metadata_snap
 *   release_metadata_snap
 *
 * Every argument is checked before anything changes; a refused message logs
 * one line saying why and leaves the metadata as it was.  A successful one is
 * committed before the message returns.
 */
#include "dm-vdisk.h"

#include <linux/sched/mm.h>
#include <linux/slab.h>

#define VDISK_MAX_GROUP_SNAP 64

static int parse_id(const char *msg, const char *what, const char *arg, u64 *id)
{
	if (kstrtou64(arg, 10, id) || *id == U64_MAX) {
		DMERR("%s: invalid %s '%s': expected a decimal number below 2^64 - 1",
		      msg, what, arg);
		return -EINVAL;
	}
	return 0;
}

static int check_argc(const char *msg, unsigned int argc, unsigned int want,
		      const char *usage)
{
	if (argc != want) {
		DMERR("%s: wrong number of arguments; usage: %s", msg, usage);
		return -EINVAL;
	}
	return 0;
}

static struct vdisk *find_active(struct vdisk_pool *pool, u64 id)
{
	struct vdisk *vd;

	list_for_each_entry(vd, &pool->vdisks, list)
		if (vd->id == id)
			return vd;
	return NULL;
}

/*
 * Errors the metadata layer returns after validating its arguments, with
 * nothing changed.  Anything else may have left the transaction half done.
 */
static bool is_refusal(int r)
{
	return r == -EEXIST || r == -ENOENT || r == -ENODATA || r == -EINVAL ||
	       r == -EBUSY || r == -EROFS;
}

static int group_snap(struct vdisk_pool *pool, unsigned int argc, char **argv, bool *refused)
{
	struct vd_pool_snap_pair *pairs;
	unsigned int i, j;
	int r = 0;

	if (argc < 2 || argc - 1 > VDISK_MAX_GROUP_SNAP) {
		DMERR("create_group_snap: need 1 to %u <id>:<origin id> pairs",
		      VDISK_MAX_GROUP_SNAP);
		return -EINVAL;
	}
	pairs = kcalloc(argc - 1, sizeof(*pairs), GFP_NOIO);
	if (!pairs) {
		DMERR("create_group_snap: out of memory");
		*refused = true;
		return -ENOMEM;
	}
	for (i = 1; i < argc && !r; i++) {
		char *colon = strchr(argv[i], ':');

		if (!colon) {
			DMERR("create_group_snap: '%s' is not <id>:<origin id>", argv[i]);
			r = -EINVAL;
			break;
		}
		*colon = '\0';
		r = parse_id("create_group_snap", "snapshot id", argv[i], &pairs[i - 1].id);
		if (!r)
			r = parse_id("create_group_snap", "origin id", colon + 1,
				     &pairs[i - 1].origin_id);
		*colon = ':';
		for (j = 0; !r && j + 1 < i; j++) {
			if (pairs[j].id == pairs[i - 1].id) {
				DMERR("create_group_snap: snapshot id %llu given twice",
				      pairs[j].id);
				r = -EINVAL;
			}
		}
	}
	if (!r) {
		r = vd_pool_create_snaps(pool->pmd, pairs, argc - 1);
		if (!r) {
			for (i = 0; i < argc - 1; i++)
				vdisk_pool_forget_vdisk(pool, pairs[i].origin_id);
		}
	}
	kfree(pairs);
	return r;
}

/*
 * Called with md_lock held exclusive.  *refused is set for a failure before
 * anything changed that is_refusal() cannot tell from its errno (ENOMEM).
 */
static int dispatch(struct vdisk_pool *pool, unsigned int argc, char **argv, bool *refused)
{
	const char *m = argv[0];
	u64 a, b;
	int r;

	if (!strcasecmp(m, "create_vdisk")) {
		r = check_argc(m, argc, 2, "create_vdisk <id>");
		if (!r)
			r = parse_id(m, "vdisk id", argv[1], &a);
		if (!r)
			r = vd_pool_create_vdisk(pool->pmd, a, 0);
		if (r == -EEXIST)
			DMERR("create_vdisk: vdisk %llu already exists", a);
		return r;
	}
	if (!strcasecmp(m, "create_snap")) {
		r = check_argc(m, argc, 3, "create_snap <id> <origin id>");
		if (!r)
			r = parse_id(m, "snapshot id", argv[1], &a);
		if (!r)
			r = parse_id(m, "origin id", argv[2], &b);
		if (!r)
			r = vd_pool_create_snap(pool->pmd, a, b);
		if (!r)
			vdisk_pool_forget_vdisk(pool, b);
		else if (r == -EEXIST)
			DMERR("create_snap: vdisk %llu already exists", a);
		else if (r == -ENOENT || r == -ENODATA)
			DMERR("create_snap: origin vdisk %llu does not exist", b);
		return r;
	}
	if (!strcasecmp(m, "create_group_snap"))
		return group_snap(pool, argc, argv, refused);
	if (!strcasecmp(m, "delete")) {
		r = check_argc(m, argc, 2, "delete <id>");
		if (!r)
			r = parse_id(m, "vdisk id", argv[1], &a);
		if (r)
			return r;
		if (find_active(pool, a)) {
			DMERR("delete: vdisk %llu is active: remove its device first", a);
			return -EBUSY;
		}
		r = vd_pool_delete_vdisk(pool->pmd, a);
		if (r == -ENOENT || r == -ENODATA)
			DMERR("delete: vdisk %llu does not exist", a);
		/* Reclaim starts once the deletion is committed and announced. */
		return r;
	}
	if (!strcasecmp(m, "set_transaction_id")) {
		r = check_argc(m, argc, 3, "set_transaction_id <current id> <new id>");
		if (!r && kstrtou64(argv[1], 10, &a)) {
			DMERR("set_transaction_id: invalid current id '%s'", argv[1]);
			r = -EINVAL;
		}
		if (!r && kstrtou64(argv[2], 10, &b)) {
			DMERR("set_transaction_id: invalid new id '%s'", argv[2]);
			r = -EINVAL;
		}
		if (!r)
			r = vd_pool_set_transaction_id(pool->pmd, a, b);
		return r;
	}
	if (!strcasecmp(m, "reserve_metadata_snap")) {
		r = check_argc(m, argc, 1, "reserve_metadata_snap");
		if (!r)
			r = vd_pool_reserve_metadata_snap(pool->pmd);
		if (r == -EBUSY)
			DMERR("reserve_metadata_snap: a metadata snapshot is already held");
		return r;
	}
	if (!strcasecmp(m, "release_metadata_snap")) {
		r = check_argc(m, argc, 1, "release_metadata_snap");
		if (!r)
			r = vd_pool_release_metadata_snap(pool->pmd);
		return r;
	}
	DMERR("unknown pool message '%s'", m);
	return -EINVAL;
}

static int vdisk_pool_message_noio(struct vdisk_pool *pool, unsigned int argc, char **argv)
{
	bool refused = false;
	int r;

	if (!argc)
		return -EINVAL;
	vdisk_md_lock(pool);
	if (pool->mode >= VDISK_MODE_RO) {
		DMERR("pool %s is %s (%s): message '%s' refused",
		      dm_device_name(pool->md), vdisk_pool_mode_name(pool->mode),
		      pool->mode_reason ? pool->mode_reason : "-", argv[0]);
		up_write(&pool->md_lock);
		return -EROFS;
	}
	/* A delete frees metadata: it may use the reserve (dm-vdisk-pool.c). */
	if (!vdisk_pool_metadata_room(pool, VDISK_MESSAGE_METADATA,
				      !strcasecmp(argv[0], "delete"))) {
		DMERR("pool %s: metadata space low: message '%s' refused, nothing changed",
		      dm_device_name(pool->md), argv[0]);
		up_write(&pool->md_lock);
		return -ENOSPC;
	}
	r = dispatch(pool, argc, argv, &refused);
	if (!r)
		pool->dirty = true;
	else if (refused || is_refusal(r))
		DMERR("pool %s: message '%s' refused (%d): nothing changed",
		      dm_device_name(pool->md), argv[0], r);
	else
		vdisk_pool_metadata_error(pool, argv[0], r);
	up_write(&pool->md_lock);
	if (!r) {
		r = vdisk_pool_commit_sync(pool);
		if (!r)
			vdisk_event_pool_message(pool, argc, argv);
		if (!r && !strcasecmp(argv[0], "delete"))
			vdisk_pool_start_reclaim(pool);
	}
	return r;
}

/* Under md_lock the pool's writes wait: no allocation may wait for them. */
int vdisk_pool_message(struct vdisk_pool *pool, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen)
{
	unsigned int noio = memalloc_noio_save();
	int r = vdisk_pool_message_noio(pool, argc, argv);

	memalloc_noio_restore(noio);
	return r;
}
