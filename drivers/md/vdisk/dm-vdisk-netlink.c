// SPDX-License-Identifier: GPL-2.0
/*
 * The "vdisk" generic netlink family: the control plane behind vdiskctl.
 * The contract is include/uapi/linux/dm-vdisk-netlink.h; the reference for
 * operators and tool writers is Documentation/admin-guide/vdisk-netlink.rst.
 *
 * Validation: every command has its own policy listing exactly the
 * attributes it accepts; the family is new (resv_start_op 0), so the core
 * validates strictly: unknown or unlisted attributes, wrong lengths,
 * strings without their NUL or too long, and nests without NLA_F_NESTED are
 * refused before a handler runs.  The handlers check the meaning (names,
 * sizes, flags) and say what is wrong in the extack message.
 *
 * Permissions: GENL_ADMIN_PERM (CAP_NET_ADMIN) on every command, queries
 * included, and on the events group (see the uapi header for why).
 *
 * Pools: a request names a pool by its dm device name.  A handler holds the
 * pool's mapped_device (dm_get_md(), which refuses a device being freed, so
 * a removal waits for us) and a pool reference (vdisk_pool_find_get()), so
 * a pool removed concurrently stays valid until vdnl_pool_put().
 *
 * Changes (VDISK_NEW, SNAPSHOT, VDISK_DEL, VDISK_SET, METADATA_SNAP) are
 * all or nothing, like the pool messages: under md_lock held exclusive
 * every argument is checked first (names valid and free, vdisks existing,
 * sizes sane, the pool writable), then the metadata is changed, then the
 * change is committed before the reply.  A metadata error in the middle
 * of a change rolls the pool back to its last commit and leaves it
 * read-only (vdisk_pool_metadata_error()), as for any metadata error.
 *
 * Dumps (POOL_GET, VDISK_GET, STATS_GET) resume from a cursor of dev_t and
 * vdisk id in cb->ctx, never from an index, so vdisks or pools created or
 * deleted between two parts are neither repeated nor skipped (if they
 * existed for the whole dump).
 */
#include "dm-vdisk.h"

#include <linux/sched/mm.h>

#include <linux/dm-ioctl.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <net/genetlink.h>

/* At most this many snapshots in one SNAPSHOT request (as create_group_snap). */
#define VDNL_MAX_SNAPSHOTS 64
/* Largest vdisk size: a block device's size in bytes must fit a loff_t. */
#define VDNL_MAX_SIZE BIT_ULL(62)

static struct genl_family vdisk_genl_family;

enum { VDNL_MCGRP_EVENTS };

static const struct genl_multicast_group vdnl_mcgrps[] = {
	[VDNL_MCGRP_EVENTS] = {
		.name = VDISK_GENL_MCGRP_EVENTS,
		.flags = GENL_MCAST_CAP_NET_ADMIN,
	},
};

/* ---------------- policies ---------------- */

/* Not const: NLA_POLICY_FULL_RANGE() of 6.1 takes a plain pointer. */
static struct netlink_range_validation vdnl_id_range = {
	.min = 0,
	.max = U64_MAX - 1,	/* U64_MAX means "no vdisk" in the metadata */
};

static const struct nla_policy vdnl_pool_get_policy[VDISK_ATTR_MAX + 1] = {
	[VDISK_ATTR_POOL_NAME] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 },
};

/* VDISK_GET, VDISK_DEL and STATS_GET: a pool and optionally one vdisk. */
static const struct nla_policy vdnl_vdisk_policy[VDISK_ATTR_MAX + 1] = {
	[VDISK_ATTR_POOL_NAME] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 },
	[VDISK_ATTR_VDISK_NAME] = { .type = NLA_NUL_STRING, .len = VDISK_NAME_MAX - 1 },
	[VDISK_ATTR_VDISK_ID] = NLA_POLICY_FULL_RANGE(NLA_U64, &vdnl_id_range),
};

static const struct nla_policy vdnl_vdisk_new_policy[VDISK_ATTR_MAX + 1] = {
	[VDISK_ATTR_POOL_NAME] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 },
	[VDISK_ATTR_VDISK_NAME] = { .type = NLA_NUL_STRING, .len = VDISK_NAME_MAX - 1 },
	[VDISK_ATTR_VDISK_ID] = NLA_POLICY_FULL_RANGE(NLA_U64, &vdnl_id_range),
	[VDISK_ATTR_VDISK_SIZE] = { .type = NLA_U64 },
	[VDISK_ATTR_VDISK_FLAGS] = { .type = NLA_U32 },
};

static const struct nla_policy vdnl_vdisk_set_policy[VDISK_ATTR_MAX + 1] = {
	[VDISK_ATTR_POOL_NAME] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 },
	[VDISK_ATTR_VDISK_NAME] = { .type = NLA_NUL_STRING, .len = VDISK_NAME_MAX - 1 },
	[VDISK_ATTR_VDISK_ID] = NLA_POLICY_FULL_RANGE(NLA_U64, &vdnl_id_range),
	[VDISK_ATTR_VDISK_SIZE] = { .type = NLA_U64 },
	[VDISK_ATTR_VDISK_NEW_NAME] = { .type = NLA_NUL_STRING, .len = VDISK_NAME_MAX - 1 },
	[VDISK_ATTR_VDISK_FLAGS] = { .type = NLA_U32 },
};

/* One SNAPSHOT nest: the origin's name, the snapshot's name and flags. */
static const struct nla_policy vdnl_snap_entry_policy[VDISK_ATTR_MAX + 1] = {
	[VDISK_ATTR_SNAP_ORIGIN] = { .type = NLA_NUL_STRING, .len = VDISK_NAME_MAX - 1 },
	[VDISK_ATTR_VDISK_NAME] = { .type = NLA_NUL_STRING, .len = VDISK_NAME_MAX - 1 },
	[VDISK_ATTR_VDISK_FLAGS] = { .type = NLA_U32 },
};

/* The SNAPSHOTS nest holds SNAPSHOT nests only. */
static const struct nla_policy vdnl_snapshots_policy[VDISK_ATTR_MAX + 1] = {
	[VDISK_ATTR_SNAPSHOT] = NLA_POLICY_NESTED(vdnl_snap_entry_policy),
};

static const struct nla_policy vdnl_snapshot_policy[VDISK_ATTR_MAX + 1] = {
	[VDISK_ATTR_POOL_NAME] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 },
	[VDISK_ATTR_SNAPSHOTS] = NLA_POLICY_NESTED(vdnl_snapshots_policy),
};

static const struct nla_policy vdnl_metadata_snap_policy[VDISK_ATTR_MAX + 1] = {
	[VDISK_ATTR_POOL_NAME] = { .type = NLA_NUL_STRING, .len = DM_NAME_LEN - 1 },
	[VDISK_ATTR_METADATA_SNAP_OP] = NLA_POLICY_RANGE(NLA_U8, VDISK_METADATA_SNAP_RESERVE,
							 VDISK_METADATA_SNAP_RELEASE),
};

/* ---------------- versions ---------------- */

#define VDNL_VERSION_MSG(v) "the request is vdisk API version " #v \
	", this module speaks version " __stringify(VDISK_GENL_VERSION) \
	": use a vdiskctl that matches the module"

/* extack messages are not formatted in 6.1: one per plausible version. */
static const char * const vdnl_version_msgs[] = {
	VDNL_VERSION_MSG(0), VDNL_VERSION_MSG(1), VDNL_VERSION_MSG(2),
	VDNL_VERSION_MSG(3), VDNL_VERSION_MSG(4), VDNL_VERSION_MSG(5),
	VDNL_VERSION_MSG(6), VDNL_VERSION_MSG(7), VDNL_VERSION_MSG(8),
	VDNL_VERSION_MSG(9),
};

static int vdnl_check_version(u8 version, struct netlink_ext_ack *extack)
{
	if (version == VDISK_GENL_VERSION)
		return 0;
	if (version < ARRAY_SIZE(vdnl_version_msgs)) {
		/* What NL_SET_ERR_MSG() does, for a message from the table. */
		if (extack)
			extack->_msg = vdnl_version_msgs[version];
	} else {
		NL_SET_ERR_MSG(extack, VDNL_VERSION_MSG(10 or later));
	}
	return -EPROTONOSUPPORT;
}

/*
 * Every doit: the version first (dumps check it in their first part).  A
 * handler may allocate while holding md_lock, which the pool's own I/O
 * path needs: the whole handler runs in a NOIO scope (restored in
 * vdnl_post_doit()), so reclaim never waits for this pool's I/O.
 */
static int vdnl_pre_doit(const struct genl_ops *ops, struct sk_buff *skb,
			 struct genl_info *info)
{
	int r = vdnl_check_version(info->genlhdr->version, info->extack);

	if (!r)
		info->user_ptr[0] = (void *)(unsigned long)memalloc_noio_save();
	return r;
}

static void vdnl_post_doit(const struct genl_ops *ops, struct sk_buff *skb,
			   struct genl_info *info)
{
	memalloc_noio_restore((unsigned int)(unsigned long)info->user_ptr[0]);
}

void *vdisk_genlmsg_put(struct sk_buff *skb, u32 portid, u32 seq, int flags, u8 cmd)
{
	/* genlmsg_put() stamps vdisk_genl_family.version on every message. */
	return genlmsg_put(skb, portid, seq, &vdisk_genl_family, flags, cmd);
}

bool vdisk_netlink_has_listeners(void)
{
	return genl_has_listeners(&vdisk_genl_family, &init_net, VDNL_MCGRP_EVENTS) > 0;
}

void vdisk_netlink_multicast(struct sk_buff *skb, gfp_t gfp)
{
	/* -ESRCH (nobody listens any more) is not an error for an event. */
	genlmsg_multicast(&vdisk_genl_family, skb, 0, VDNL_MCGRP_EVENTS, gfp);
}

/* ---------------- pools ---------------- */

struct vdnl_pool {
	struct mapped_device *md;
	struct vdisk_pool *pool;
	char name[DM_NAME_LEN];
};

/* The pool of dm device @devt, with references on the device and the pool. */
static int vdnl_pool_get_devt(dev_t devt, struct vdnl_pool *p)
{
	p->md = dm_get_md(devt);
	if (!p->md)
		return -ENODEV;
	p->pool = vdisk_pool_find_get(p->md);
	if (!p->pool) {
		dm_put(p->md);
		return -ENODEV;
	}
	if (dm_copy_name_and_uuid(p->md, p->name, NULL)) {
		vdisk_pool_put(p->pool);
		dm_put(p->md);
		return -ENODEV;
	}
	return 0;
}

static void vdnl_pool_put(struct vdnl_pool *p)
{
	/* The pool first: its last put may still use the device's name. */
	vdisk_pool_put(p->pool);
	dm_put(p->md);
}

static int vdnl_pool_find(const char *name, struct vdnl_pool *p)
{
	dev_t devt = 0;

	while ((devt = vdisk_pool_next_devt(devt))) {
		if (vdnl_pool_get_devt(devt, p))
			continue;
		if (!strcmp(p->name, name))
			return 0;
		vdnl_pool_put(p);
	}
	return -ENODEV;
}

static int vdnl_pool_from_attrs(struct nlattr **attrs, struct netlink_ext_ack *extack,
				struct vdnl_pool *p)
{
	struct nlattr *a = attrs[VDISK_ATTR_POOL_NAME];

	if (!a) {
		NL_SET_ERR_ATTR_MISS(extack, NULL, VDISK_ATTR_POOL_NAME);
		NL_SET_ERR_MSG(extack,
			       "which pool? give VDISK_ATTR_POOL_NAME, the name of its vdisk-pool device");
		return -EINVAL;
	}
	if (vdnl_pool_find(nla_data(a), p)) {
		NL_SET_ERR_MSG_ATTR(extack, a,
				    "no vdisk-pool device has that name (dmsetup ls --target vdisk-pool lists them)");
		return -ENODEV;
	}
	return 0;
}

/* Metadata changes need a pool that is not read-only or failed (md_lock held). */
static int vdnl_writable(struct vdisk_pool *pool, bool frees, struct netlink_ext_ack *extack)
{
	if (pool->mode == VDISK_MODE_FAIL) {
		NL_SET_ERR_MSG(extack,
			       "the pool has failed and refuses every change: see the kernel log, run vdisk-check and reload it");
		return -EROFS;
	}
	if (pool->mode == VDISK_MODE_RO) {
		NL_SET_ERR_MSG(extack,
			       "the pool is read-only and refuses metadata changes: its status line says why (see the kernel log)");
		return -EROFS;
	}
	/* A delete frees metadata: it may use the reserve (dm-vdisk-pool.c). */
	if (!vdisk_pool_metadata_room(pool, VDISK_MESSAGE_METADATA, frees)) {
		NL_SET_ERR_MSG(extack,
			       "the pool is short of metadata space: grow the metadata device (or delete vdisks with the dm message)");
		return -ENOSPC;
	}
	return 0;
}

u8 vdisk_netlink_pool_mode(enum vdisk_pool_mode mode)
{
	switch (mode) {
	case VDISK_MODE_RW:
		return VDISK_POOL_MODE_RW;
	case VDISK_MODE_OUT_OF_DATA_SPACE:
		return VDISK_POOL_MODE_OUT_OF_DATA_SPACE;
	case VDISK_MODE_OUT_OF_METADATA_SPACE:
		return VDISK_POOL_MODE_OUT_OF_METADATA_SPACE;
	case VDISK_MODE_RO:
		return VDISK_POOL_MODE_RO;
	case VDISK_MODE_FAIL:
		break;
	}
	return VDISK_POOL_MODE_FAIL;
}

static u32 vdnl_pool_features(const struct vdisk_pool_features *f)
{
	return (f->error_if_no_space ? VDISK_POOL_F_ERROR_IF_NO_SPACE : 0) |
	       (f->ignore_discard ? VDISK_POOL_F_IGNORE_DISCARD : 0) |
	       (f->no_discard_passdown ? VDISK_POOL_F_NO_DISCARD_PASSDOWN : 0) |
	       (f->read_only ? VDISK_POOL_F_READ_ONLY : 0);
}

static int vdnl_put_pool(struct sk_buff *skb, struct vdnl_pool *p)
{
	struct vdisk_pool *pool = p->pool;
	struct vdisk_pool_features f;
	enum vdisk_pool_mode mode;
	struct vd_pool_usage u;
	const char *reason;
	dev_t meta, data;
	u64 low_water, meta_low_water;
	bool reclaim;
	int r;

	/* The bound table's devices and features change under md_lock. */
	down_read(&pool->md_lock);
	r = vdisk_pool_get_usage(pool, &u);
	mode = pool->mode;
	reason = pool->mode_reason;
	f = pool->features;
	low_water = pool->low_water_blocks;
	meta_low_water = pool->meta_low_water;
	meta = pool->metadata_bdev->bd_dev;
	data = pool->data_bdev->bd_dev;
	reclaim = pool->reclaim_pending;
	up_read(&pool->md_lock);
	if (r)
		return r;

	if (nla_put_string(skb, VDISK_ATTR_POOL_NAME, p->name) ||
	    nla_put_u32(skb, VDISK_ATTR_POOL_DEV, new_encode_dev(disk_devt(dm_disk(p->md)))) ||
	    nla_put_u32(skb, VDISK_ATTR_POOL_METADATA_DEV, new_encode_dev(meta)) ||
	    nla_put_u32(skb, VDISK_ATTR_POOL_DATA_DEV, new_encode_dev(data)) ||
	    nla_put_u8(skb, VDISK_ATTR_POOL_MODE, vdisk_netlink_pool_mode(mode)) ||
	    nla_put_string(skb, VDISK_ATTR_POOL_MODE_REASON, reason ? reason : "") ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_TRANSACTION_ID, u.transaction_id,
			      VDISK_ATTR_PAD) ||
	    nla_put_u32(skb, VDISK_ATTR_POOL_BLOCK_SIZE, u.data_block_size << SECTOR_SHIFT) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_DATA_BLOCKS, u.nr_data_blocks, VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_DATA_FREE, u.nr_free_data_blocks,
			      VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_META_BLOCKS, u.nr_metadata_blocks,
			      VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_META_FREE, u.nr_free_metadata_blocks,
			      VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_LOW_WATER, low_water, VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_META_LOW_WATER, meta_low_water,
			      VDISK_ATTR_PAD) ||
	    nla_put_u32(skb, VDISK_ATTR_POOL_FEATURES, vdnl_pool_features(&f)) ||
	    (u.needs_check && nla_put_flag(skb, VDISK_ATTR_POOL_NEEDS_CHECK)) ||
	    ((u.deletions_pending || reclaim) &&
	     nla_put_flag(skb, VDISK_ATTR_POOL_DELETIONS_PENDING)))
		return -EMSGSIZE;
	return 0;
}

static int vdnl_pool_msg(struct sk_buff *skb, u32 portid, u32 seq, int flags,
			 struct vdnl_pool *p)
{
	void *hdr = vdisk_genlmsg_put(skb, portid, seq, flags, VDISK_CMD_POOL_GET);
	int r;

	if (!hdr)
		return -EMSGSIZE;
	r = vdnl_put_pool(skb, p);
	if (r) {
		genlmsg_cancel(skb, hdr);
		return r;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* ---------------- vdisks ---------------- */

static bool vdnl_name_ok(struct nlattr *a, struct netlink_ext_ack *extack)
{
	BUILD_BUG_ON(VD_NAME_MAX != VDISK_NAME_MAX);
	if (vd_pool_name_valid(nla_data(a)))
		return true;
	NL_SET_ERR_MSG_ATTR(extack, a,
			    "invalid vdisk name: 1 to 63 characters of A-Z a-z 0-9 _ . + : -, not starting with '-' or '.'");
	return false;
}

static bool vdnl_flags_ok(struct nlattr *a, struct netlink_ext_ack *extack)
{
	BUILD_BUG_ON(VDISK_F_AUTO_ACTIVATE != VD_DISK_FLAG_AUTO_ACTIVATE);
	BUILD_BUG_ON(VDISK_F_SETTABLE & ~VD_DISK_FLAG_USER_MASK);
	if (!a || !(nla_get_u32(a) & ~VDISK_F_SETTABLE))
		return true;
	NL_SET_ERR_MSG_ATTR(extack, a, "only VDISK_F_AUTO_ACTIVATE can be set in VDISK_FLAGS");
	return false;
}

static bool vdnl_size_ok(struct nlattr *a, struct netlink_ext_ack *extack)
{
	u64 size = nla_get_u64(a);

	if (size && !(size & (SECTOR_SIZE - 1)) && size <= VDNL_MAX_SIZE)
		return true;
	NL_SET_ERR_MSG_ATTR(extack, a,
			    "invalid vdisk size: give bytes, a non-zero multiple of 512, at most 4 EiB");
	return false;
}

/* The active vdisk table serving @id (md_lock held), or NULL. */
static struct vdisk *vdnl_active(struct vdisk_pool *pool, u64 id)
{
	struct vdisk *vd;

	list_for_each_entry(vd, &pool->vdisks, list)
		if (vd->id == id)
			return vd;
	return NULL;
}

/*
 * The live vdisk a request names by VDISK_NAME or VDISK_ID (exactly one of
 * them), with its details.  md_lock held.
 */
static int vdnl_find_vdisk(struct vdisk_pool *pool, struct nlattr **attrs,
			   struct netlink_ext_ack *extack, struct vd_pool_vdisk_info *info)
{
	struct nlattr *na = attrs[VDISK_ATTR_VDISK_NAME], *ia = attrs[VDISK_ATTR_VDISK_ID];
	u64 id;
	int r;

	if (na && ia) {
		NL_SET_ERR_MSG_ATTR(extack, ia, "give the vdisk's name or its id, not both");
		return -EINVAL;
	}
	if (!na && !ia) {
		NL_SET_ERR_ATTR_MISS(extack, NULL, VDISK_ATTR_VDISK_NAME);
		NL_SET_ERR_MSG(extack,
			       "which vdisk? give VDISK_ATTR_VDISK_NAME or VDISK_ATTR_VDISK_ID");
		return -EINVAL;
	}
	if (na) {
		if (!vdnl_name_ok(na, extack))
			return -EINVAL;
		r = vd_pool_find_name(pool->pmd, nla_data(na), &id);
		if (r == -ENOENT) {
			NL_SET_ERR_MSG_ATTR(extack, na, "the pool has no vdisk of that name");
			return r;
		}
		if (r) {
			NL_SET_ERR_MSG(extack,
				       "reading the pool's name map failed (see the kernel log)");
			return r;
		}
	} else {
		id = nla_get_u64(ia);
	}
	r = vd_pool_get_details(pool->pmd, id, info);
	if (r == -ENODATA || r == -ENOENT || (!r && (info->flags & VD_DISK_FLAG_DELETING))) {
		NL_SET_ERR_MSG_ATTR(extack, na ? na : ia, "the pool has no vdisk with that id");
		return -ENOENT;
	}
	if (r)
		NL_SET_ERR_MSG(extack, "reading the vdisk's details failed (see the kernel log)");
	return r;
}

/* The VDISK_* attributes of one vdisk (md_lock held). */
static int vdnl_put_vdisk(struct sk_buff *skb, struct vdnl_pool *p,
			  const struct vd_pool_vdisk_info *info)
{
	struct vdisk *active = vdnl_active(p->pool, info->id);
	struct mapped_device *md;
	char *buf;
	u32 flags = 0;
	int r;

	buf = kmalloc(DM_NAME_LEN, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	r = vd_pool_get_name(p->pool->pmd, info->id, buf);
	if (r)
		goto out;
	if (info->flags & VD_DISK_FLAG_SNAPSHOT)
		flags |= VDISK_F_SNAPSHOT;
	if (info->flags & VD_DISK_FLAG_AUTO_ACTIVATE)
		flags |= VDISK_F_AUTO_ACTIVATE;
	if (active)
		flags |= VDISK_F_ACTIVE;
	r = -EMSGSIZE;
	if (nla_put_string(skb, VDISK_ATTR_POOL_NAME, p->name) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_ID, info->id, VDISK_ATTR_PAD) ||
	    (buf[0] && nla_put_string(skb, VDISK_ATTR_VDISK_NAME, buf)) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_SIZE, info->size_sectors << SECTOR_SHIFT,
			      VDISK_ATTR_PAD) ||
	    (info->origin_id != VD_DISK_NO_ORIGIN &&
	     nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_ORIGIN_ID, info->origin_id,
			       VDISK_ATTR_PAD)) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_CREATION_TIME, info->creation_time,
			      VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_SNAPSHOT_TIME, info->snapshot_time,
			      VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_MAPPED_BLOCKS, info->mapped_blocks,
			      VDISK_ATTR_PAD) ||
	    nla_put_u32(skb, VDISK_ATTR_VDISK_FLAGS, flags))
		goto out;
	if (active) {
		/* The table is alive while it is on pool->vdisks (md_lock). */
		md = dm_table_get_md(active->ti->table);
		if (nla_put_u32(skb, VDISK_ATTR_VDISK_DEV, new_encode_dev(disk_devt(dm_disk(md)))))
			goto out;
		if (!dm_copy_name_and_uuid(md, buf, NULL) &&
		    nla_put_string(skb, VDISK_ATTR_VDISK_DM_NAME, buf))
			goto out;
	}
	r = 0;
out:
	kfree(buf);
	return r;
}

static int vdnl_vdisk_msg(struct sk_buff *skb, u32 portid, u32 seq, int flags, u8 cmd,
			  struct vdnl_pool *p, const struct vd_pool_vdisk_info *info)
{
	void *hdr = vdisk_genlmsg_put(skb, portid, seq, flags, cmd);
	int r;

	if (!hdr)
		return -EMSGSIZE;
	r = vdnl_put_vdisk(skb, p, info);
	if (r) {
		genlmsg_cancel(skb, hdr);
		return r;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Reply with vdisk @id as it is now; @changed: a committed change precedes. */
static int vdnl_reply_vdisk(struct genl_info *info, struct vdnl_pool *p, u64 id, bool changed)
{
	struct vd_pool_vdisk_info vi;
	struct sk_buff *skb;
	int r;

	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!skb) {
		r = -ENOMEM;
		goto fail;
	}
	down_read(&p->pool->md_lock);
	r = vd_pool_get_details(p->pool->pmd, id, &vi);
	if (!r)
		r = vdnl_vdisk_msg(skb, info->snd_portid, info->snd_seq, 0, info->genlhdr->cmd,
				   p, &vi);
	up_read(&p->pool->md_lock);
	if (r) {
		nlmsg_free(skb);
		goto fail;
	}
	return genlmsg_reply(skb, info);
fail:
	if (changed)
		NL_SET_ERR_MSG(info->extack,
			       "the change is committed, but reading the vdisk back for the reply failed");
	else
		NL_SET_ERR_MSG(info->extack, "reading the vdisk failed (see the kernel log)");
	return r;
}

/* ---------------- changes ---------------- */

/*
 * Errors the metadata layer returns after checking its arguments, with
 * nothing changed (as in dm-vdisk-messages.c).
 */
static bool vdnl_is_refusal(int r)
{
	return r == -EEXIST || r == -ENOENT || r == -ENODATA || r == -EINVAL ||
	       r == -EBUSY || r == -EROFS;
}

/*
 * A metadata call of a change failed (md_lock held exclusive).  Before the
 * first change a refusal leaves everything as it was; anything else may
 * have left the transaction half done: roll back and stop changing.
 */
static int vdnl_change_failed(struct vdisk_pool *pool, struct netlink_ext_ack *extack,
			      const char *op, int r, bool changed)
{
	if (!changed && vdnl_is_refusal(r)) {
		NL_SET_ERR_MSG(extack,
			       "the pool metadata refused the change: nothing changed (see the kernel log)");
		return r;
	}
	vdisk_pool_metadata_error(pool, op, r);
	NL_SET_ERR_MSG(extack,
		       "a metadata error stopped the change: the pool rolled back to its last commit and is read-only now (see the kernel log, run vdisk-check)");
	return r;
}

/*
 * End a change made under md_lock held exclusive: mark the pool dirty (when
 * @changed), drop the lock and commit, so the reply is sent only once the
 * change is on disk.
 */
static int vdnl_finish_change(struct vdisk_pool *pool, bool changed,
			      struct netlink_ext_ack *extack)
{
	int r;

	if (changed)
		pool->dirty = true;
	up_write(&pool->md_lock);
	if (!changed)
		return 0;
	r = vdisk_pool_commit_sync(pool);
	if (r)
		NL_SET_ERR_MSG(extack,
			       "committing the change failed: the pool is read-only now and the change may be lost (see the kernel log)");
	return r;
}

/* md_lock held exclusive: may @name be given to vdisk @id (U64_MAX: a new one)? */
static int vdnl_name_free(struct vdisk_pool *pool, struct nlattr *a, u64 id,
			  struct netlink_ext_ack *extack)
{
	u64 other;
	int r;

	r = vd_pool_find_name(pool->pmd, nla_data(a), &other);
	if (r == -ENOENT)
		return 0;
	if (r) {
		NL_SET_ERR_MSG(extack, "reading the pool's name map failed (see the kernel log)");
		return r;
	}
	if (other == id)
		return 0;
	NL_SET_ERR_MSG_ATTR(extack, a, "another vdisk of this pool has that name");
	return -EEXIST;
}

/* ---------------- commands ---------------- */

static int vdnl_get_info(struct sk_buff *skb, struct genl_info *info)
{
	char version[64];
	struct sk_buff *msg;
	void *hdr;

	snprintf(version, sizeof(version), "vdisk-pool %u.%u.%u, vdisk %u.%u.%u",
		 vdisk_pool_target.version[0], vdisk_pool_target.version[1],
		 vdisk_pool_target.version[2], vdisk_target.version[0],
		 vdisk_target.version[1], vdisk_target.version[2]);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (!msg)
		return -ENOMEM;
	hdr = vdisk_genlmsg_put(msg, info->snd_portid, info->snd_seq, 0, VDISK_CMD_GET_INFO);
	if (!hdr || nla_put_u32(msg, VDISK_ATTR_API_VERSION, VDISK_GENL_VERSION) ||
	    nla_put_string(msg, VDISK_ATTR_MODULE_VERSION, version)) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int vdnl_pool_get(struct sk_buff *skb, struct genl_info *info)
{
	struct vdnl_pool p;
	struct sk_buff *msg;
	int r;

	r = vdnl_pool_from_attrs(info->attrs, info->extack, &p);
	if (r)
		return r;
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	r = msg ? vdnl_pool_msg(msg, info->snd_portid, info->snd_seq, 0, &p) : -ENOMEM;
	vdnl_pool_put(&p);
	if (r) {
		nlmsg_free(msg);
		NL_SET_ERR_MSG(info->extack,
			       "reading the pool's metadata failed (see the kernel log)");
		return r;
	}
	return genlmsg_reply(msg, info);
}

static int vdnl_vdisk_get(struct sk_buff *skb, struct genl_info *info)
{
	struct vd_pool_vdisk_info vi;
	struct vdnl_pool p;
	int r;

	r = vdnl_pool_from_attrs(info->attrs, info->extack, &p);
	if (r)
		return r;
	down_read(&p.pool->md_lock);
	r = vdnl_find_vdisk(p.pool, info->attrs, info->extack, &vi);
	up_read(&p.pool->md_lock);
	if (!r)
		r = vdnl_reply_vdisk(info, &p, vi.id, false);
	vdnl_pool_put(&p);
	return r;
}

static int vdnl_vdisk_new(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *fa = attrs[VDISK_ATTR_VDISK_FLAGS];
	struct vd_pool_vdisk_info vi;
	struct vdisk_pool *pool;
	struct vdnl_pool p;
	const char *name;
	u64 id, size;
	u32 flags;
	int r;

	if (GENL_REQ_ATTR_CHECK(info, VDISK_ATTR_VDISK_NAME) ||
	    GENL_REQ_ATTR_CHECK(info, VDISK_ATTR_VDISK_SIZE)) {
		NL_SET_ERR_MSG(extack,
			       "a new vdisk needs VDISK_ATTR_VDISK_NAME and VDISK_ATTR_VDISK_SIZE");
		return -EINVAL;
	}
	if (!vdnl_name_ok(attrs[VDISK_ATTR_VDISK_NAME], extack) ||
	    !vdnl_size_ok(attrs[VDISK_ATTR_VDISK_SIZE], extack) || !vdnl_flags_ok(fa, extack))
		return -EINVAL;
	name = nla_data(attrs[VDISK_ATTR_VDISK_NAME]);
	size = nla_get_u64(attrs[VDISK_ATTR_VDISK_SIZE]);
	flags = fa ? nla_get_u32(fa) : 0;
	r = vdnl_pool_from_attrs(attrs, extack, &p);
	if (r)
		return r;
	pool = p.pool;

	vdisk_md_lock(pool);
	r = vdnl_writable(pool, false, extack);
	if (!r)
		r = vdnl_name_free(pool, attrs[VDISK_ATTR_VDISK_NAME], U64_MAX, extack);
	if (r)
		goto unlock;
	if (attrs[VDISK_ATTR_VDISK_ID]) {
		id = nla_get_u64(attrs[VDISK_ATTR_VDISK_ID]);
		r = vd_pool_get_details(pool->pmd, id, &vi);
		if (!r) {
			NL_SET_ERR_MSG_ATTR(extack, attrs[VDISK_ATTR_VDISK_ID],
					    "that vdisk id is taken (by a vdisk, or a deleted one kept for snapshot lineage): leave the id out to get a free one");
			r = -EEXIST;
			goto unlock;
		}
		if (r != -ENODATA && r != -ENOENT) {
			NL_SET_ERR_MSG(extack,
				       "reading the vdisk details failed (see the kernel log)");
			goto unlock;
		}
	} else {
		r = vd_pool_next_free_id(pool->pmd, &id);
		if (!r && id == U64_MAX)
			r = -ENOSPC;
		if (r) {
			NL_SET_ERR_MSG(extack, "cannot find a free vdisk id (see the kernel log)");
			goto unlock;
		}
	}
	r = vd_pool_create_vdisk(pool->pmd, id, size >> SECTOR_SHIFT);
	if (r) {
		vdnl_change_failed(pool, extack, "create vdisk", r, false);
		goto unlock;
	}
	r = vd_pool_set_name(pool->pmd, id, name);
	if (!r && flags)
		r = vd_pool_set_user_flags(pool->pmd, id, flags, 0);
	if (r) {
		vdnl_change_failed(pool, extack, "name a new vdisk", r, true);
		goto unlock;
	}
	r = vdnl_finish_change(pool, true, extack);
	if (!r) {
		vdisk_event_vdisk_created(pool, id, name, VD_DISK_NO_ORIGIN);
		r = vdnl_reply_vdisk(info, &p, id, true);
	}
	vdnl_pool_put(&p);
	return r;
unlock:
	up_write(&pool->md_lock);
	vdnl_pool_put(&p);
	return r;
}

struct vdnl_snap {
	struct nlattr *origin_attr;
	struct nlattr *name_attr;
	u32 flags;
};

/* Parse and check the SNAPSHOTS nest into @snaps; returns how many, or < 0. */
static int vdnl_parse_snaps(struct nlattr *snapshots, struct vdnl_snap *snaps,
			    struct netlink_ext_ack *extack)
{
	struct nlattr *tb[VDISK_ATTR_MAX + 1];
	struct nlattr *a;
	int n = 0, i, rem, r;

	nla_for_each_nested(a, snapshots, rem) {
		if (n == VDNL_MAX_SNAPSHOTS) {
			NL_SET_ERR_MSG_ATTR(extack, a, "at most 64 snapshots in one request");
			return -EINVAL;
		}
		/* The policy admits SNAPSHOT nests only; parse one. */
		r = nla_parse_nested(tb, VDISK_ATTR_MAX, a, vdnl_snap_entry_policy, extack);
		if (r)
			return r;
		if (!tb[VDISK_ATTR_SNAP_ORIGIN] || !tb[VDISK_ATTR_VDISK_NAME]) {
			NL_SET_ERR_MSG_ATTR(extack, a,
					    "each SNAPSHOT needs SNAP_ORIGIN (the vdisk to snapshot) and VDISK_NAME (the snapshot's name)");
			return -EINVAL;
		}
		if (!vdnl_name_ok(tb[VDISK_ATTR_SNAP_ORIGIN], extack) ||
		    !vdnl_name_ok(tb[VDISK_ATTR_VDISK_NAME], extack) ||
		    !vdnl_flags_ok(tb[VDISK_ATTR_VDISK_FLAGS], extack))
			return -EINVAL;
		for (i = 0; i < n; i++) {
			if (!strcmp(nla_data(snaps[i].name_attr),
				    nla_data(tb[VDISK_ATTR_VDISK_NAME]))) {
				NL_SET_ERR_MSG_ATTR(extack, tb[VDISK_ATTR_VDISK_NAME],
						    "two snapshots of the request have the same name");
				return -EINVAL;
			}
		}
		snaps[n].origin_attr = tb[VDISK_ATTR_SNAP_ORIGIN];
		snaps[n].name_attr = tb[VDISK_ATTR_VDISK_NAME];
		snaps[n].flags = tb[VDISK_ATTR_VDISK_FLAGS] ?
				 nla_get_u32(tb[VDISK_ATTR_VDISK_FLAGS]) : 0;
		n++;
	}
	if (!n) {
		NL_SET_ERR_MSG_ATTR(extack, snapshots,
				    "SNAPSHOTS is empty: name at least one snapshot");
		return -EINVAL;
	}
	return n;
}

static int vdnl_snapshot(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct vd_pool_snap_pair *pairs = NULL;
	struct vdnl_snap *snaps = NULL;
	struct vdisk_pool *pool;
	struct vdnl_pool p;
	int i, n, r;
	u64 base;

	if (GENL_REQ_ATTR_CHECK(info, VDISK_ATTR_SNAPSHOTS)) {
		NL_SET_ERR_MSG(extack, "which snapshots? give VDISK_ATTR_SNAPSHOTS");
		return -EINVAL;
	}
	snaps = kcalloc(VDNL_MAX_SNAPSHOTS, sizeof(*snaps), GFP_KERNEL);
	pairs = kcalloc(VDNL_MAX_SNAPSHOTS, sizeof(*pairs), GFP_KERNEL);
	if (!snaps || !pairs) {
		r = -ENOMEM;
		goto out_free;
	}
	n = vdnl_parse_snaps(info->attrs[VDISK_ATTR_SNAPSHOTS], snaps, extack);
	if (n < 0) {
		r = n;
		goto out_free;
	}
	r = vdnl_pool_from_attrs(info->attrs, extack, &p);
	if (r)
		goto out_free;
	pool = p.pool;

	vdisk_md_lock(pool);
	r = vdnl_writable(pool, false, extack);
	if (!r)
		r = vd_pool_next_free_id(pool->pmd, &base);
	if (!r && base > U64_MAX - 1 - n)
		r = -ENOSPC;
	for (i = 0; !r && i < n; i++) {
		r = vd_pool_find_name(pool->pmd, nla_data(snaps[i].origin_attr),
				      &pairs[i].origin_id);
		if (r == -ENOENT)
			NL_SET_ERR_MSG_ATTR(extack, snaps[i].origin_attr,
					    "the pool has no vdisk of that name to snapshot");
		else if (r)
			NL_SET_ERR_MSG(extack,
				       "reading the pool's name map failed (see the kernel log)");
		if (!r)
			r = vdnl_name_free(pool, snaps[i].name_attr, U64_MAX, extack);
		pairs[i].id = base + i;
	}
	if (r)
		goto unlock;
	r = vd_pool_create_snaps(pool->pmd, pairs, n);
	if (r) {
		vdnl_change_failed(pool, extack, "create snapshots", r, false);
		goto unlock;
	}
	for (i = 0; i < n; i++)
		vdisk_pool_forget_vdisk(pool, pairs[i].origin_id);
	for (i = 0; !r && i < n; i++) {
		r = vd_pool_set_name(pool->pmd, pairs[i].id, nla_data(snaps[i].name_attr));
		if (!r && snaps[i].flags)
			r = vd_pool_set_user_flags(pool->pmd, pairs[i].id, snaps[i].flags, 0);
	}
	if (r) {
		vdnl_change_failed(pool, extack, "name snapshots", r, true);
		goto unlock;
	}
	r = vdnl_finish_change(pool, true, extack);
	for (i = 0; !r && i < n; i++)
		vdisk_event_vdisk_created(pool, pairs[i].id, nla_data(snaps[i].name_attr),
					  pairs[i].origin_id);
	/* One reply per snapshot, in request order, then the ACK. */
	for (i = 0; !r && i < n; i++)
		r = vdnl_reply_vdisk(info, &p, pairs[i].id, true);
	vdnl_pool_put(&p);
	goto out_free;
unlock:
	up_write(&pool->md_lock);
	vdnl_pool_put(&p);
out_free:
	kfree(pairs);
	kfree(snaps);
	return r;
}

static int vdnl_vdisk_del(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct vd_pool_vdisk_info vi;
	struct vdisk_pool *pool;
	struct vdnl_pool p;
	char *name;
	int r;

	name = kzalloc(VDISK_NAME_MAX, GFP_KERNEL);
	if (!name)
		return -ENOMEM;
	r = vdnl_pool_from_attrs(info->attrs, extack, &p);
	if (r)
		goto out_free;
	pool = p.pool;

	vdisk_md_lock(pool);
	r = vdnl_writable(pool, true, extack);
	if (!r)
		r = vdnl_find_vdisk(pool, info->attrs, extack, &vi);
	if (r)
		goto unlock;
	if (vdnl_active(pool, vi.id)) {
		NL_SET_ERR_MSG(extack,
			       "the vdisk is active (VDISK_GET names its dm device): remove that device first");
		r = -EBUSY;
		goto unlock;
	}
	r = vd_pool_get_name(pool->pmd, vi.id, name);
	if (r) {
		NL_SET_ERR_MSG(extack, "reading the pool's name map failed (see the kernel log)");
		goto unlock;
	}
	r = vd_pool_delete_vdisk(pool->pmd, vi.id);
	if (r) {
		vdnl_change_failed(pool, extack, "delete vdisk", r, false);
		goto unlock;
	}
	r = vdnl_finish_change(pool, true, extack);
	if (!r) {
		vdisk_event_vdisk_deleted(pool, vi.id, name);
		vdisk_pool_start_reclaim(pool);
	}
	vdnl_pool_put(&p);
	goto out_free;
unlock:
	up_write(&pool->md_lock);
	vdnl_pool_put(&p);
out_free:
	kfree(name);
	return r;
}

static int vdnl_vdisk_set(struct sk_buff *skb, struct genl_info *info)
{
	struct nlattr **attrs = info->attrs;
	struct netlink_ext_ack *extack = info->extack;
	struct nlattr *sa = attrs[VDISK_ATTR_VDISK_SIZE];
	struct nlattr *na = attrs[VDISK_ATTR_VDISK_NEW_NAME];
	struct nlattr *fa = attrs[VDISK_ATTR_VDISK_FLAGS];
	struct vd_pool_vdisk_info vi;
	struct vdisk_pool *pool;
	struct vdnl_pool p;
	bool changed = false;
	u32 user, want;
	char *old;
	int r;

	if (!sa && !na && !fa) {
		NL_SET_ERR_MSG(extack,
			       "nothing to change: give VDISK_SIZE, VDISK_NEW_NAME or VDISK_FLAGS");
		return -EINVAL;
	}
	if ((sa && !vdnl_size_ok(sa, extack)) || (na && !vdnl_name_ok(na, extack)) ||
	    !vdnl_flags_ok(fa, extack))
		return -EINVAL;
	old = kzalloc(VDISK_NAME_MAX, GFP_KERNEL);
	if (!old)
		return -ENOMEM;
	r = vdnl_pool_from_attrs(attrs, extack, &p);
	if (r)
		goto out_free;
	pool = p.pool;

	vdisk_md_lock(pool);
	r = vdnl_writable(pool, false, extack);
	if (!r)
		r = vdnl_find_vdisk(pool, attrs, extack, &vi);
	if (!r && na)
		r = vdnl_name_free(pool, na, vi.id, extack);
	if (!r && na)
		r = vd_pool_get_name(pool->pmd, vi.id, old);
	if (r)
		goto unlock;
	if (sa && (nla_get_u64(sa) >> SECTOR_SHIFT) < vi.size_sectors) {
		NL_SET_ERR_MSG_ATTR(extack, sa,
				    "shrinking a vdisk is refused (its data beyond the new end would be lost): give at least its current size");
		r = -EINVAL;
		goto unlock;
	}
	/* Checked: now change, each step only if it changes something. */
	if (sa && (nla_get_u64(sa) >> SECTOR_SHIFT) > vi.size_sectors) {
		r = vd_pool_set_size(pool->pmd, vi.id, nla_get_u64(sa) >> SECTOR_SHIFT);
		if (r)
			goto failed;
		changed = true;
	}
	if (na && strcmp(old, nla_data(na))) {
		r = vd_pool_set_name(pool->pmd, vi.id, nla_data(na));
		if (r)
			goto failed;
		changed = true;
	}
	user = vi.flags & VD_DISK_FLAG_USER_MASK;
	want = fa ? nla_get_u32(fa) : user;
	if (want != user) {
		r = vd_pool_set_user_flags(pool->pmd, vi.id, want & ~user, user & ~want);
		if (r)
			goto failed;
		changed = true;
	}
	r = vdnl_finish_change(pool, changed, extack);
	if (!r)
		r = vdnl_reply_vdisk(info, &p, vi.id, changed);
	vdnl_pool_put(&p);
	goto out_free;
failed:
	vdnl_change_failed(pool, extack, "change vdisk", r, changed);
unlock:
	up_write(&pool->md_lock);
	vdnl_pool_put(&p);
out_free:
	kfree(old);
	return r;
}

static int vdnl_metadata_snap(struct sk_buff *skb, struct genl_info *info)
{
	struct netlink_ext_ack *extack = info->extack;
	struct vdisk_pool *pool;
	struct vdnl_pool p;
	struct sk_buff *msg;
	vd_blk_t held = 0;
	void *hdr;
	u8 op;
	int r;

	if (GENL_REQ_ATTR_CHECK(info, VDISK_ATTR_METADATA_SNAP_OP)) {
		NL_SET_ERR_MSG(extack, "give VDISK_ATTR_METADATA_SNAP_OP: reserve or release");
		return -EINVAL;
	}
	op = nla_get_u8(info->attrs[VDISK_ATTR_METADATA_SNAP_OP]);
	r = vdnl_pool_from_attrs(info->attrs, extack, &p);
	if (r)
		return r;
	pool = p.pool;

	vdisk_md_lock(pool);
	r = vdnl_writable(pool, false, extack);
	if (r)
		goto unlock;
	if (op == VDISK_METADATA_SNAP_RESERVE)
		r = vd_pool_reserve_metadata_snap(pool->pmd);
	else
		r = vd_pool_release_metadata_snap(pool->pmd);
	if (r == -EBUSY && op == VDISK_METADATA_SNAP_RESERVE) {
		NL_SET_ERR_MSG(extack, "a metadata snapshot is already held: release it first");
		goto unlock;
	}
	if (r == -EINVAL && op == VDISK_METADATA_SNAP_RELEASE) {
		NL_SET_ERR_MSG(extack, "no metadata snapshot is held");
		goto unlock;
	}
	if (r) {
		vdnl_change_failed(pool, extack, "metadata snapshot", r, false);
		goto unlock;
	}
	r = vdnl_finish_change(pool, true, extack);
	if (r)
		goto put;
	down_read(&pool->md_lock);
	r = vd_pool_get_metadata_snap(pool->pmd, &held);
	up_read(&pool->md_lock);
	msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	if (r || !msg) {
		nlmsg_free(msg);
		NL_SET_ERR_MSG(extack, "the change is committed, but building the reply failed");
		r = r ?: -ENOMEM;
		goto put;
	}
	hdr = vdisk_genlmsg_put(msg, info->snd_portid, info->snd_seq, 0,
				VDISK_CMD_METADATA_SNAP);
	if (!hdr || nla_put_string(msg, VDISK_ATTR_POOL_NAME, p.name) ||
	    nla_put_u64_64bit(msg, VDISK_ATTR_METADATA_SNAP_BLOCK, held, VDISK_ATTR_PAD)) {
		nlmsg_free(msg);
		r = -EMSGSIZE;
		goto put;
	}
	genlmsg_end(msg, hdr);
	r = genlmsg_reply(msg, info);
	goto put;
unlock:
	up_write(&pool->md_lock);
put:
	vdnl_pool_put(&p);
	return r;
}

/* ---------------- dumps ---------------- */

/* Dump cursor, in cb->ctx (zeroed when the dump starts). */
struct vdnl_dump {
	bool started;
	bool one_pool;		/* POOL_NAME given: only the pool devt */
	bool one_vdisk;		/* STATS_GET of vdisk_id only */
	dev_t devt;		/* pool being dumped, 0: pick the next one */
	dev_t done_devt;	/* every pool up to this dev_t is done */
	u64 next_id;		/* in devt: the vdisks below this id are done */
	u64 vdisk_id;
};

static struct vdnl_dump *vdnl_dump_state(struct netlink_callback *cb)
{
	BUILD_BUG_ON(sizeof(struct vdnl_dump) > sizeof(cb->ctx));
	return (struct vdnl_dump *)cb->ctx;
}

/*
 * First part of a dump: check the version and the optional filters (the
 * extack of the first part reaches the caller in NLMSG_DONE).
 */
static int vdnl_dump_begin(struct netlink_callback *cb, bool vdisk_filter)
{
	struct vdnl_dump *st = vdnl_dump_state(cb);
	const struct genlmsghdr *gh = nlmsg_data(cb->nlh);
	struct nlattr **attrs = genl_dumpit_info(cb)->attrs;
	struct vd_pool_vdisk_info vi;
	struct vdnl_pool p;
	int r;

	if (st->started)
		return 0;
	st->started = true;
	r = vdnl_check_version(gh->version, cb->extack);
	if (r)
		return r;
	if (!vdisk_filter && (attrs[VDISK_ATTR_VDISK_NAME] || attrs[VDISK_ATTR_VDISK_ID])) {
		NL_SET_ERR_MSG(cb->extack,
			       "a dump lists every vdisk: ask for one without NLM_F_DUMP");
		return -EINVAL;
	}
	if (!attrs[VDISK_ATTR_POOL_NAME]) {
		if (attrs[VDISK_ATTR_VDISK_NAME] || attrs[VDISK_ATTR_VDISK_ID]) {
			NL_SET_ERR_MSG(cb->extack,
				       "a vdisk is named inside its pool: give VDISK_ATTR_POOL_NAME too");
			return -EINVAL;
		}
		return 0;
	}
	r = vdnl_pool_from_attrs(attrs, cb->extack, &p);
	if (r)
		return r;
	st->one_pool = true;
	st->devt = disk_devt(dm_disk(p.md));
	if (attrs[VDISK_ATTR_VDISK_NAME] || attrs[VDISK_ATTR_VDISK_ID]) {
		down_read(&p.pool->md_lock);
		r = vdnl_find_vdisk(p.pool, attrs, cb->extack, &vi);
		if (!r && !vdnl_active(p.pool, vi.id)) {
			NL_SET_ERR_MSG(cb->extack,
				       "the vdisk is not active: statistics exist while a dm table maps it");
			r = -ENODEV;
		}
		up_read(&p.pool->md_lock);
		st->one_vdisk = true;
		st->vdisk_id = r ? 0 : vi.id;
	}
	vdnl_pool_put(&p);
	return r;
}

/*
 * Walk the pools of a dump from the cursor, calling @fn for each: @fn
 * returns 0 when it finished the pool, 1 when the message is full.
 */
static int vdnl_dump_pools(struct sk_buff *skb, struct netlink_callback *cb,
			   int (*fn)(struct sk_buff *skb, struct netlink_callback *cb,
				     struct vdnl_pool *p, struct vdnl_dump *st))
{
	struct vdnl_dump *st = vdnl_dump_state(cb);
	struct vdnl_pool p;
	int r;

	for (;;) {
		if (!st->devt) {
			if (st->one_pool)
				break;
			st->devt = vdisk_pool_next_devt(st->done_devt);
			if (!st->devt)
				break;
			st->next_id = 0;
		}
		r = 0;
		/* A pool that went away since the last part is skipped. */
		if (!vdnl_pool_get_devt(st->devt, &p)) {
			r = fn(skb, cb, &p, st);
			vdnl_pool_put(&p);
		}
		if (r < 0)
			return r;
		if (r > 0)
			break;
		st->done_devt = st->devt;
		st->devt = 0;
		if (st->one_pool)
			break;
	}
	return skb->len;
}

static int vdnl_dump_one_pool(struct sk_buff *skb, struct netlink_callback *cb,
			      struct vdnl_pool *p, struct vdnl_dump *st)
{
	int r = vdnl_pool_msg(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
			      NLM_F_MULTI, p);

	return r == -EMSGSIZE ? 1 : r;
}

static int vdnl_pool_dump_noio(struct sk_buff *skb, struct netlink_callback *cb)
{
	int r = vdnl_dump_begin(cb, false);

	return r ?: vdnl_dump_pools(skb, cb, vdnl_dump_one_pool);
}

/* In a NOIO scope, like every doit (see vdnl_pre_doit()). */
static int vdnl_pool_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned int noio = memalloc_noio_save();
	int r = vdnl_pool_dump_noio(skb, cb);

	memalloc_noio_restore(noio);
	return r;
}

/* A batch of live vdisk ids from a cursor (vd_pool_iterate_vdisks callback). */
struct vdnl_ids {
	u64 from;
	unsigned int n;
	u64 id[32];
};

static int vdnl_collect_id(void *context, u64 id)
{
	struct vdnl_ids *ids = context;

	if (id < ids->from)
		return 0;
	ids->id[ids->n++] = id;
	return ids->n == ARRAY_SIZE(ids->id);
}

static int vdnl_dump_pool_vdisks(struct sk_buff *skb, struct netlink_callback *cb,
				 struct vdnl_pool *p, struct vdnl_dump *st)
{
	struct vdisk_pool *pool = p->pool;
	struct vd_pool_vdisk_info vi;
	struct vdnl_ids *ids;
	unsigned int i;
	int r;

	ids = kmalloc(sizeof(*ids), GFP_KERNEL);
	if (!ids)
		return -ENOMEM;
	down_read(&pool->md_lock);
	for (;;) {
		/* Collect first: no metadata reads inside the tree walk. */
		ids->from = st->next_id;
		ids->n = 0;
		r = vd_pool_iterate_vdisks(pool->pmd, vdnl_collect_id, ids);
		if (r < 0 || !ids->n)
			break;
		for (i = 0; i < ids->n; i++) {
			r = vd_pool_get_details(pool->pmd, ids->id[i], &vi);
			if (!r && !(vi.flags & VD_DISK_FLAG_DELETING))
				r = vdnl_vdisk_msg(skb, NETLINK_CB(cb->skb).portid,
						   cb->nlh->nlmsg_seq, NLM_F_MULTI,
						   VDISK_CMD_VDISK_GET, p, &vi);
			else if (r == -ENODATA || r == -ENOENT)
				r = 0;
			if (r == -EMSGSIZE) {
				r = 1;
				goto out;
			}
			if (r)
				goto out;
			/* Ids are below U64_MAX (vdnl_id_range, the metadata). */
			st->next_id = ids->id[i] + 1;
		}
	}
out:
	up_read(&pool->md_lock);
	kfree(ids);
	if (r < 0)
		NL_SET_ERR_MSG(cb->extack, "reading the pool's vdisks failed (see the kernel log)");
	return r;
}

static int vdnl_vdisk_dump_noio(struct sk_buff *skb, struct netlink_callback *cb)
{
	int r = vdnl_dump_begin(cb, false);

	return r ?: vdnl_dump_pools(skb, cb, vdnl_dump_pool_vdisks);
}

/* In a NOIO scope, like every doit (see vdnl_pre_doit()). */
static int vdnl_vdisk_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned int noio = memalloc_noio_save();
	int r = vdnl_vdisk_dump_noio(skb, cb);

	memalloc_noio_restore(noio);
	return r;
}

static int vdnl_put_stats(struct sk_buff *skb, struct vdisk *vd, struct vdisk_stats_sum *s)
{
	struct nlattr *nest = nla_nest_start(skb, VDISK_ATTR_STATS);

	if (!nest ||
	    nla_put_u64_64bit(skb, VDISK_STATS_READS, s->reads, VDISK_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_STATS_WRITES, s->writes, VDISK_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_STATS_READ_BYTES, s->read_bytes, VDISK_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_STATS_WRITE_BYTES, s->write_bytes, VDISK_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_STATS_DISCARDS, s->discards, VDISK_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_STATS_FLUSHES, s->flushes, VDISK_STATS_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_STATS_IN_FLIGHT, s->in_flight, VDISK_STATS_PAD) ||
	    nla_put(skb, VDISK_STATS_READ_LAT_HIST, sizeof(s->lat[0]), s->lat[0]) ||
	    nla_put(skb, VDISK_STATS_WRITE_LAT_HIST, sizeof(s->lat[1]), s->lat[1]))
		return -EMSGSIZE;
	nla_nest_end(skb, nest);
	return 0;
}

static int vdnl_stats_msg(struct sk_buff *skb, struct netlink_callback *cb,
			  struct vdnl_pool *p, struct vdisk *vd, struct vdisk_stats_sum *s,
			  char *name)
{
	void *hdr;
	int r;

	r = vd_pool_get_name(p->pool->pmd, vd->id, name);
	if (r)
		return r;
	hdr = vdisk_genlmsg_put(skb, NETLINK_CB(cb->skb).portid, cb->nlh->nlmsg_seq,
				NLM_F_MULTI, VDISK_CMD_STATS_GET);
	if (!hdr)
		return -EMSGSIZE;
	if (nla_put_string(skb, VDISK_ATTR_POOL_NAME, p->name) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_ID, vd->id, VDISK_ATTR_PAD) ||
	    (name[0] && nla_put_string(skb, VDISK_ATTR_VDISK_NAME, name)) ||
	    vdnl_put_stats(skb, vd, s)) {
		genlmsg_cancel(skb, hdr);
		return -EMSGSIZE;
	}
	genlmsg_end(skb, hdr);
	return 0;
}

/* Active vdisks in id order from the cursor (pool->vdisks is unordered). */
static int vdnl_dump_pool_stats(struct sk_buff *skb, struct netlink_callback *cb,
				struct vdnl_pool *p, struct vdnl_dump *st)
{
	struct vdisk_pool *pool = p->pool;
	struct vdisk_stats_sum *sum;
	struct vdisk *vd, *best;
	char *name;
	int r = 0;

	sum = kmalloc(sizeof(*sum), GFP_KERNEL);
	name = kmalloc(VDISK_NAME_MAX, GFP_KERNEL);
	if (!sum || !name) {
		r = -ENOMEM;
		goto out_free;
	}
	/* A vdisk's stats live while it is on pool->vdisks (md_lock). */
	down_read(&pool->md_lock);
	for (;;) {
		best = NULL;
		list_for_each_entry(vd, &pool->vdisks, list) {
			if (vd->id < st->next_id || (st->one_vdisk && vd->id != st->vdisk_id))
				continue;
			if (!best || vd->id < best->id)
				best = vd;
		}
		if (!best)
			break;
		vdisk_stats_sum(best, sum, true);
		r = vdnl_stats_msg(skb, cb, p, best, sum, name);
		if (r == -EMSGSIZE)
			r = 1;
		if (r)
			break;
		st->next_id = best->id + 1;
	}
	up_read(&pool->md_lock);
	if (r < 0)
		NL_SET_ERR_MSG(cb->extack,
			       "reading the pool's name map failed (see the kernel log)");
out_free:
	kfree(name);
	kfree(sum);
	return r;
}

static int vdnl_stats_dump_noio(struct sk_buff *skb, struct netlink_callback *cb)
{
	int r = vdnl_dump_begin(cb, true);

	return r ?: vdnl_dump_pools(skb, cb, vdnl_dump_pool_stats);
}

/* In a NOIO scope, like every doit (see vdnl_pre_doit()). */
static int vdnl_stats_dump(struct sk_buff *skb, struct netlink_callback *cb)
{
	unsigned int noio = memalloc_noio_save();
	int r = vdnl_stats_dump_noio(skb, cb);

	memalloc_noio_restore(noio);
	return r;
}

/* ---------------- the family ---------------- */

static const struct genl_ops vdnl_ops[] = {
	{
		.cmd = VDISK_CMD_GET_INFO,
		.flags = GENL_ADMIN_PERM,
		.doit = vdnl_get_info,
		/* No policy: the core refuses any attribute. */
	},
	{
		.cmd = VDISK_CMD_POOL_GET,
		.flags = GENL_ADMIN_PERM,
		.doit = vdnl_pool_get,
		.dumpit = vdnl_pool_dump,
		.policy = vdnl_pool_get_policy,
		.maxattr = VDISK_ATTR_MAX,
	},
	{
		.cmd = VDISK_CMD_VDISK_GET,
		.flags = GENL_ADMIN_PERM,
		.doit = vdnl_vdisk_get,
		.dumpit = vdnl_vdisk_dump,
		.policy = vdnl_vdisk_policy,
		.maxattr = VDISK_ATTR_MAX,
	},
	{
		.cmd = VDISK_CMD_VDISK_NEW,
		.flags = GENL_ADMIN_PERM,
		.doit = vdnl_vdisk_new,
		.policy = vdnl_vdisk_new_policy,
		.maxattr = VDISK_ATTR_MAX,
	},
	{
		.cmd = VDISK_CMD_SNAPSHOT,
		.flags = GENL_ADMIN_PERM,
		.doit = vdnl_snapshot,
		.policy = vdnl_snapshot_policy,
		.maxattr = VDISK_ATTR_MAX,
	},
	{
		.cmd = VDISK_CMD_VDISK_DEL,
		.flags = GENL_ADMIN_PERM,
		.doit = vdnl_vdisk_del,
		.policy = vdnl_vdisk_policy,
		.maxattr = VDISK_ATTR_MAX,
	},
	{
		.cmd = VDISK_CMD_VDISK_SET,
		.flags = GENL_ADMIN_PERM,
		.doit = vdnl_vdisk_set,
		.policy = vdnl_vdisk_set_policy,
		.maxattr = VDISK_ATTR_MAX,
	},
	{
		.cmd = VDISK_CMD_STATS_GET,
		.flags = GENL_ADMIN_PERM,
		.dumpit = vdnl_stats_dump,
		.policy = vdnl_vdisk_policy,
		.maxattr = VDISK_ATTR_MAX,
	},
	{
		.cmd = VDISK_CMD_METADATA_SNAP,
		.flags = GENL_ADMIN_PERM,
		.doit = vdnl_metadata_snap,
		.policy = vdnl_metadata_snap_policy,
		.maxattr = VDISK_ATTR_MAX,
	},
};

static struct genl_family vdisk_genl_family __ro_after_init = {
	.name = VDISK_GENL_NAME,
	.version = VDISK_GENL_VERSION,
	.maxattr = VDISK_ATTR_MAX,
	.module = THIS_MODULE,
	/* Handlers take pool locks themselves; do not serialise on genl_mutex. */
	.parallel_ops = true,
	.pre_doit = vdnl_pre_doit,
	.post_doit = vdnl_post_doit,
	.ops = vdnl_ops,
	.n_ops = ARRAY_SIZE(vdnl_ops),
	.mcgrps = vdnl_mcgrps,
	.n_mcgrps = ARRAY_SIZE(vdnl_mcgrps),
	/* resv_start_op 0: strict validation of every command (new family). */
};

int __init vdisk_netlink_init(void)
{
	return genl_register_family(&vdisk_genl_family);
}

void vdisk_netlink_exit(void)
{
	genl_unregister_family(&vdisk_genl_family);
}
