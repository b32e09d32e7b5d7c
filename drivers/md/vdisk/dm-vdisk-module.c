// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk: per-VM thin virtual disks for device-mapper.
 *
 * Module entry points: register the "vdisk" generic netlink family, then
 * the vdisk-pool and vdisk targets.  The family is there before the first
 * pool can exist (pools send events) and goes after the last one.
 */
#include "dm-vdisk.h"

#include <linux/module.h>

static int __init dm_vdisk_init(void)
{
	int r;

	r = vdisk_fast_write_init();
	if (r)
		return r;
	r = vdisk_netlink_init();
	if (r) {
		DMERR("cannot register the vdisk generic netlink family: %d", r);
		vdisk_fast_write_exit();
		return r;
	}

	r = dm_register_target(&vdisk_pool_target);
	if (r) {
		DMERR("cannot register the vdisk-pool target: %d", r);
		goto bad_netlink;
	}

	r = dm_register_target(&vdisk_target);
	if (r) {
		DMERR("cannot register the vdisk target: %d", r);
		dm_unregister_target(&vdisk_pool_target);
		goto bad_netlink;
	}
	return 0;

bad_netlink:
	vdisk_netlink_exit();
	vdisk_fast_write_exit();
	return r;
}

static void __exit dm_vdisk_exit(void)
{
	/* No table exists any more (each holds a module reference). */
	dm_unregister_target(&vdisk_target);
	dm_unregister_target(&vdisk_pool_target);
	vdisk_netlink_exit();
	vdisk_fast_write_exit();
}

module_init(dm_vdisk_init);
module_exit(dm_vdisk_exit);

MODULE_DESCRIPTION(DM_NAME " per-VM thin virtual disks with snapshots");
MODULE_AUTHOR("The dm-vdisk developers");
MODULE_LICENSE("GPL");
