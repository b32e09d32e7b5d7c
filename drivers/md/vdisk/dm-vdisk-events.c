// SPDX-License-Identifier: GPL-2.0
/*
 * Multicast events of the "vdisk" generic netlink family (group "events"):
 * low water mark, pool mode changes, vdisks created and deleted (by netlink
 * or by pool messages) and space reclaimed after deletions.  Every event
 * carries VDISK_ATTR_EVENT, VDISK_ATTR_EVENT_SEQ (one module-wide counter,
 * +1 per event, so a listener sees gaps when it lost events), the pool's
 * name and dev_t, and what the event is about.
 *
 * Context: every caller is in process context, but some hold pool->md_lock
 * (mode changes, the low water mark), which the pool's worker needs to
 * complete I/O.  So events allocate with GFP_NOIO: they may sleep (as the
 * dm name lookup does anyway) but memory reclaim never waits for I/O to a
 * vdisk of this pool.  With no listener an event costs one
 * genl_has_listeners() check and the sequence increment.
 */
#include "dm-vdisk.h"

#include <linux/atomic.h>
#include <linux/dm-ioctl.h>
#include <net/genetlink.h>

static atomic64_t vdisk_event_seq = ATOMIC64_INIT(0);

/* A new event message for @pool, or NULL (nobody listens, no memory). */
static struct sk_buff *vdisk_event_new(struct vdisk_pool *pool, u32 event, void **hdr)
{
	u64 seq = atomic64_inc_return(&vdisk_event_seq);
	char *name = NULL;
	struct sk_buff *skb;

	if (!vdisk_netlink_has_listeners())
		return NULL;
	skb = genlmsg_new(NLMSG_GOODSIZE, GFP_NOIO);
	if (!skb)
		goto fail;
	*hdr = vdisk_genlmsg_put(skb, 0, 0, 0, VDISK_CMD_EVENT);
	if (!*hdr)
		goto fail;
	/* The name is gone once the device is being removed: dev_t only. */
	name = kmalloc(DM_NAME_LEN, GFP_NOIO);
	if (name && !dm_copy_name_and_uuid(pool->md, name, NULL) &&
	    nla_put_string(skb, VDISK_ATTR_POOL_NAME, name))
		goto fail;
	if (nla_put_u32(skb, VDISK_ATTR_EVENT, event) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_EVENT_SEQ, seq, VDISK_ATTR_PAD) ||
	    nla_put_u32(skb, VDISK_ATTR_POOL_DEV,
			new_encode_dev(disk_devt(dm_disk(pool->md)))))
		goto fail;
	kfree(name);
	return skb;
fail:
	kfree(name);
	nlmsg_free(skb);
	DMWARN_LIMIT("pool %s: cannot build event %u: a listener misses it",
		     dm_device_name(pool->md), event);
	return NULL;
}

static void vdisk_event_send(struct sk_buff *skb, void *hdr)
{
	genlmsg_end(skb, hdr);
	vdisk_netlink_multicast(skb, GFP_NOIO);
}

/* A put into a fresh NLMSG_GOODSIZE message failed: cannot happen in practice. */
static void vdisk_event_put_failed(struct vdisk_pool *pool, struct sk_buff *skb)
{
	nlmsg_free(skb);
	DMWARN_LIMIT("pool %s: event does not fit a message", dm_device_name(pool->md));
}

void vdisk_event_low_water(struct vdisk_pool *pool, u64 free_blocks)
{
	struct sk_buff *skb;
	void *hdr;

	skb = vdisk_event_new(pool, VDISK_EVENT_LOW_WATER, &hdr);
	if (!skb)
		return;
	if (nla_put_u64_64bit(skb, VDISK_ATTR_POOL_DATA_FREE, free_blocks, VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_LOW_WATER, pool->low_water_blocks,
			      VDISK_ATTR_PAD))
		vdisk_event_put_failed(pool, skb);
	else
		vdisk_event_send(skb, hdr);
}

void vdisk_event_metadata_low_water(struct vdisk_pool *pool, u64 free_blocks)
{
	struct sk_buff *skb;
	void *hdr;

	skb = vdisk_event_new(pool, VDISK_EVENT_METADATA_LOW_WATER, &hdr);
	if (!skb)
		return;
	if (nla_put_u64_64bit(skb, VDISK_ATTR_POOL_META_FREE, free_blocks, VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_META_LOW_WATER, pool->meta_low_water,
			      VDISK_ATTR_PAD))
		vdisk_event_put_failed(pool, skb);
	else
		vdisk_event_send(skb, hdr);
}

void vdisk_event_pool_mode(struct vdisk_pool *pool, enum vdisk_pool_mode mode,
			   const char *reason)
{
	struct sk_buff *skb;
	void *hdr;

	skb = vdisk_event_new(pool, VDISK_EVENT_POOL_MODE, &hdr);
	if (!skb)
		return;
	if (nla_put_u8(skb, VDISK_ATTR_POOL_MODE, vdisk_netlink_pool_mode(mode)) ||
	    nla_put_string(skb, VDISK_ATTR_POOL_MODE_REASON, reason ? reason : ""))
		vdisk_event_put_failed(pool, skb);
	else
		vdisk_event_send(skb, hdr);
}

void vdisk_event_vdisk_created(struct vdisk_pool *pool, u64 id, const char *name,
			       u64 origin_id)
{
	struct sk_buff *skb;
	void *hdr;

	skb = vdisk_event_new(pool, VDISK_EVENT_VDISK_CREATED, &hdr);
	if (!skb)
		return;
	if (nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_ID, id, VDISK_ATTR_PAD) ||
	    (name && name[0] && nla_put_string(skb, VDISK_ATTR_VDISK_NAME, name)) ||
	    (origin_id != VD_DISK_NO_ORIGIN &&
	     nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_ORIGIN_ID, origin_id, VDISK_ATTR_PAD)))
		vdisk_event_put_failed(pool, skb);
	else
		vdisk_event_send(skb, hdr);
}

void vdisk_event_vdisk_deleted(struct vdisk_pool *pool, u64 id, const char *name)
{
	struct sk_buff *skb;
	void *hdr;

	skb = vdisk_event_new(pool, VDISK_EVENT_VDISK_DELETED, &hdr);
	if (!skb)
		return;
	if (nla_put_u64_64bit(skb, VDISK_ATTR_VDISK_ID, id, VDISK_ATTR_PAD) ||
	    (name && name[0] && nla_put_string(skb, VDISK_ATTR_VDISK_NAME, name)))
		vdisk_event_put_failed(pool, skb);
	else
		vdisk_event_send(skb, hdr);
}

void vdisk_event_space_reclaimed(struct vdisk_pool *pool, u64 blocks, u64 free_blocks)
{
	struct sk_buff *skb;
	void *hdr;

	skb = vdisk_event_new(pool, VDISK_EVENT_SPACE_RECLAIMED, &hdr);
	if (!skb)
		return;
	if (nla_put_u64_64bit(skb, VDISK_ATTR_RECLAIMED_BLOCKS, blocks, VDISK_ATTR_PAD) ||
	    nla_put_u64_64bit(skb, VDISK_ATTR_POOL_DATA_FREE, free_blocks, VDISK_ATTR_PAD))
		vdisk_event_put_failed(pool, skb);
	else
		vdisk_event_send(skb, hdr);
}

/*
 * The message was validated, applied and committed (dm-vdisk-messages.c):
 * its arguments parse.  Vdisks made by messages have no name yet.
 */
void vdisk_event_pool_message(struct vdisk_pool *pool, unsigned int argc, char **argv)
{
	unsigned int i;
	u64 a, b;
	char *colon;

	if (!vdisk_netlink_has_listeners())
		return;
	if (!strcasecmp(argv[0], "create_vdisk") && argc == 2 && !kstrtou64(argv[1], 10, &a)) {
		vdisk_event_vdisk_created(pool, a, NULL, VD_DISK_NO_ORIGIN);
	} else if (!strcasecmp(argv[0], "create_snap") && argc == 3 &&
		   !kstrtou64(argv[1], 10, &a) && !kstrtou64(argv[2], 10, &b)) {
		vdisk_event_vdisk_created(pool, a, NULL, b);
	} else if (!strcasecmp(argv[0], "create_group_snap")) {
		for (i = 1; i < argc; i++) {
			colon = strchr(argv[i], ':');
			if (!colon)
				continue;
			*colon = '\0';
			if (!kstrtou64(argv[i], 10, &a) && !kstrtou64(colon + 1, 10, &b))
				vdisk_event_vdisk_created(pool, a, NULL, b);
			*colon = ':';
		}
	} else if (!strcasecmp(argv[0], "delete") && argc == 2 && !kstrtou64(argv[1], 10, &a)) {
		vdisk_event_vdisk_deleted(pool, a, NULL);
	}
}
