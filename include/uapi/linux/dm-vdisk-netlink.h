/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * dm-vdisk generic netlink API: the control plane behind vdiskctl.
 *
 * Family "vdisk", multicast group "events".  The reference for every command
 * and attribute is Documentation/admin-guide/vdisk-netlink.rst.
 *
 * Versioning.  The family version (CTRL_ATTR_VERSION, and genlmsghdr.version
 * of every message) is VDISK_GENL_VERSION.  The module answers a request whose
 * genlmsghdr.version it does not speak with -EPROTONOSUPPORT and an extack
 * message naming both versions, so an old tool never misparses a new module
 * (or the reverse).  Within one version, commands and attributes are only
 * ever appended; the module validates strictly (unknown attributes are
 * refused with -EINVAL and an extack pointing at them), so a newer tool that
 * sends something an older module does not know gets an error, never a
 * silently ignored request.  Tools must ignore unknown attributes in replies.
 *
 * Objects are named, not numbered: a pool is the name of its vdisk-pool dm
 * device (VDISK_ATTR_POOL_NAME); a vdisk is a name inside its pool
 * (VDISK_ATTR_VDISK_NAME, kept in the pool's metadata) or its numeric id
 * (VDISK_ATTR_VDISK_ID, the one dm tables and messages use).
 *
 * Permissions: every command needs CAP_NET_ADMIN (GENL_ADMIN_PERM), queries
 * included: names, sizes and per-VM I/O statistics of other tenants are not
 * for unprivileged users, and the dm ioctls behind dmsetup need
 * CAP_SYS_ADMIN for the same reason.
 */
#ifndef _UAPI_LINUX_DM_VDISK_NETLINK_H
#define _UAPI_LINUX_DM_VDISK_NETLINK_H

#include <linux/types.h>

#define VDISK_GENL_NAME			"vdisk"
#define VDISK_GENL_VERSION		1
#define VDISK_GENL_MCGRP_EVENTS		"events"

/* A vdisk name: 1..VDISK_NAME_MAX-1 bytes of [A-Za-z0-9_.+:-], not starting
 * with '-' or '.'.  Unique among the live vdisks of a pool.
 */
#define VDISK_NAME_MAX			64

/* Latency histograms: bucket i counts I/Os that took [2^i, 2^(i+1)) us;
 * bucket 0 also counts anything under 1 us, the last bucket everything
 * from 2^(VDISK_LAT_BUCKETS-1) us up.
 */
#define VDISK_LAT_BUCKETS		32

enum vdisk_cmd {
	VDISK_CMD_UNSPEC,
	/* -> API_VERSION, MODULE_VERSION. */
	VDISK_CMD_GET_INFO,
	/* doit: POOL_NAME -> one pool; dumpit: every pool.  Reply: POOL_* */
	VDISK_CMD_POOL_GET,
	/*
	 * doit: POOL_NAME + (VDISK_NAME | VDISK_ID) -> one vdisk;
	 * dumpit: every live vdisk (of POOL_NAME if given), snapshots
	 * included, with its lineage (ORIGIN_ID).  Reply: POOL_NAME, VDISK_*
	 */
	VDISK_CMD_VDISK_GET,
	/* POOL_NAME, VDISK_NAME, VDISK_SIZE [, VDISK_ID] [, VDISK_FLAGS]
	 * -> the new vdisk
	 */
	VDISK_CMD_VDISK_NEW,
	/*
	 * POOL_NAME, SNAPSHOTS (nest of SNAPSHOT nests, each SNAP_ORIGIN +
	 * VDISK_NAME [+ VDISK_FLAGS]): every snapshot in one transaction, all or none.  The
	 * caller suspends the origins (see the admin guide).  Reply: one
	 * VDISK_GET-style message per snapshot, in request order.
	 */
	VDISK_CMD_SNAPSHOT,
	/* POOL_NAME + (VDISK_NAME | VDISK_ID).  Refused (-EBUSY) while active. */
	VDISK_CMD_VDISK_DEL,
	/* POOL_NAME + (VDISK_NAME | VDISK_ID) [, VDISK_SIZE (grow only)]
	 * [, VDISK_NEW_NAME] [, VDISK_FLAGS] -> the vdisk after the change.
	 */
	VDISK_CMD_VDISK_SET,
	/* dumpit: active vdisks (of POOL_NAME / VDISK_NAME if given):
	 * POOL_NAME, VDISK_NAME, VDISK_ID, STATS.
	 */
	VDISK_CMD_STATS_GET,
	/* POOL_NAME, METADATA_SNAP_OP -> METADATA_SNAP_BLOCK (reserve). */
	VDISK_CMD_METADATA_SNAP,
	/* Multicast only: EVENT, EVENT_SEQ, POOL_NAME and what the event names. */
	VDISK_CMD_EVENT,

	__VDISK_CMD_MAX,
	VDISK_CMD_MAX = __VDISK_CMD_MAX - 1
};

enum vdisk_attr {
	VDISK_ATTR_UNSPEC,
	VDISK_ATTR_PAD,
	VDISK_ATTR_API_VERSION,		/* u32: VDISK_GENL_VERSION */
	VDISK_ATTR_MODULE_VERSION,	/* string */

	VDISK_ATTR_POOL_NAME,		/* string: the pool's dm device name */
	VDISK_ATTR_POOL_DEV,		/* u32: its dev_t (new_encode_dev) */
	VDISK_ATTR_POOL_METADATA_DEV,	/* u32: dev_t */
	VDISK_ATTR_POOL_DATA_DEV,	/* u32: dev_t */
	VDISK_ATTR_POOL_MODE,		/* u8: enum vdisk_pool_mode */
	VDISK_ATTR_POOL_MODE_REASON,	/* string, empty in rw */
	VDISK_ATTR_POOL_TRANSACTION_ID,	/* u64 */
	VDISK_ATTR_POOL_BLOCK_SIZE,	/* u32: data block size, bytes */
	VDISK_ATTR_POOL_DATA_BLOCKS,	/* u64: total */
	VDISK_ATTR_POOL_DATA_FREE,	/* u64 */
	VDISK_ATTR_POOL_META_BLOCKS,	/* u64: total (4 KiB blocks) */
	VDISK_ATTR_POOL_META_FREE,	/* u64 */
	VDISK_ATTR_POOL_LOW_WATER,	/* u64: blocks */
	VDISK_ATTR_POOL_FEATURES,	/* u32: VDISK_POOL_F_* */
	VDISK_ATTR_POOL_NEEDS_CHECK,	/* flag */
	VDISK_ATTR_POOL_DELETIONS_PENDING,	/* flag: reclaim is running */

	VDISK_ATTR_VDISK_ID,		/* u64 */
	VDISK_ATTR_VDISK_NAME,		/* string, see VDISK_NAME_MAX */
	VDISK_ATTR_VDISK_NEW_NAME,	/* string: rename (VDISK_SET) */
	VDISK_ATTR_VDISK_SIZE,		/* u64: bytes, a multiple of 512 */
	VDISK_ATTR_VDISK_ORIGIN_ID,	/* u64: parent of a snapshot; absent if none */
	VDISK_ATTR_VDISK_CREATION_TIME,	/* u64: pool snapshot-time counter */
	VDISK_ATTR_VDISK_SNAPSHOT_TIME,	/* u64: time of its last snapshot */
	VDISK_ATTR_VDISK_MAPPED_BLOCKS,	/* u64 */
	VDISK_ATTR_VDISK_FLAGS,		/* u32: VDISK_F_* */
	VDISK_ATTR_VDISK_DEV,		/* u32: dev_t of the active dm device */
	VDISK_ATTR_VDISK_DM_NAME,	/* string: name of that dm device */

	VDISK_ATTR_SNAPSHOTS,		/* nest of VDISK_ATTR_SNAPSHOT */
	VDISK_ATTR_SNAPSHOT,		/* nest: SNAP_ORIGIN, VDISK_NAME */
	VDISK_ATTR_SNAP_ORIGIN,		/* string: origin vdisk name */

	VDISK_ATTR_STATS,		/* nest: enum vdisk_stats_attr */

	VDISK_ATTR_METADATA_SNAP_OP,	/* u8: enum vdisk_metadata_snap_op */
	VDISK_ATTR_METADATA_SNAP_BLOCK,	/* u64: block of the held copy */

	VDISK_ATTR_EVENT,		/* u32: enum vdisk_event */
	VDISK_ATTR_EVENT_SEQ,		/* u64: per module load, +1 per event */
	VDISK_ATTR_RECLAIMED_BLOCKS,	/* u64: data blocks freed by a deletion */
	VDISK_ATTR_POOL_META_LOW_WATER,	/* u64: metadata low water mark, blocks */

	__VDISK_ATTR_MAX,
	VDISK_ATTR_MAX = __VDISK_ATTR_MAX - 1
};

/* Inside VDISK_ATTR_STATS (counters since the vdisk's table was loaded). */
enum vdisk_stats_attr {
	VDISK_STATS_UNSPEC,
	VDISK_STATS_PAD,
	VDISK_STATS_READS,		/* u64 */
	VDISK_STATS_WRITES,		/* u64 */
	VDISK_STATS_READ_BYTES,		/* u64 */
	VDISK_STATS_WRITE_BYTES,	/* u64 */
	VDISK_STATS_DISCARDS,		/* u64 */
	VDISK_STATS_FLUSHES,		/* u64 */
	VDISK_STATS_IN_FLIGHT,		/* u64: bios not yet completed */
	VDISK_STATS_READ_LAT_HIST,	/* binary: VDISK_LAT_BUCKETS x __u64 */
	VDISK_STATS_WRITE_LAT_HIST,	/* binary: VDISK_LAT_BUCKETS x __u64 */

	__VDISK_STATS_MAX,
	VDISK_STATS_MAX = __VDISK_STATS_MAX - 1
};

/* VDISK_ATTR_POOL_MODE; the same words as the vdisk-pool status line. */
enum vdisk_pool_mode_uapi {
	VDISK_POOL_MODE_RW = 0,
	VDISK_POOL_MODE_OUT_OF_DATA_SPACE = 1,
	VDISK_POOL_MODE_RO = 2,
	VDISK_POOL_MODE_FAIL = 3,
	VDISK_POOL_MODE_OUT_OF_METADATA_SPACE = 4,
};

/* VDISK_ATTR_POOL_FEATURES: the table's feature arguments. */
#define VDISK_POOL_F_ERROR_IF_NO_SPACE		(1U << 0)
#define VDISK_POOL_F_IGNORE_DISCARD		(1U << 1)
#define VDISK_POOL_F_NO_DISCARD_PASSDOWN	(1U << 2)
#define VDISK_POOL_F_READ_ONLY			(1U << 3)

/* VDISK_ATTR_VDISK_FLAGS */
#define VDISK_F_SNAPSHOT	(1U << 0)	/* made by a snapshot */
#define VDISK_F_ACTIVE		(1U << 1)	/* a vdisk table maps it */
/*
 * Stored in the metadata; the only flag a request may set (VDISK_NEW,
 * SNAPSHOT nests, VDISK_SET): "vdiskctl pool activate" brings up a dm device
 * for every vdisk that has it (disks and clones; plain snapshots do not).
 */
#define VDISK_F_AUTO_ACTIVATE	(1U << 2)
#define VDISK_F_SETTABLE	(VDISK_F_AUTO_ACTIVATE)

enum vdisk_metadata_snap_op {
	VDISK_METADATA_SNAP_RESERVE = 1,
	VDISK_METADATA_SNAP_RELEASE = 2,
};

/* VDISK_ATTR_EVENT */
enum vdisk_event {
	VDISK_EVENT_UNSPEC,
	VDISK_EVENT_LOW_WATER,		/* free data blocks fell to the mark */
	VDISK_EVENT_POOL_MODE,		/* POOL_MODE, POOL_MODE_REASON */
	VDISK_EVENT_VDISK_CREATED,	/* VDISK_ID [, VDISK_NAME, ORIGIN_ID] */
	VDISK_EVENT_VDISK_DELETED,	/* VDISK_ID [, VDISK_NAME] */
	VDISK_EVENT_SPACE_RECLAIMED,	/* RECLAIMED_BLOCKS, POOL_DATA_FREE */
	VDISK_EVENT_METADATA_LOW_WATER,	/* POOL_META_FREE, POOL_META_LOW_WATER */
};

#endif /* _UAPI_LINUX_DM_VDISK_NETLINK_H */
