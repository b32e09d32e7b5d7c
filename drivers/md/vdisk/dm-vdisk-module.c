// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk: per-VM thin virtual disks for device-mapper.
 *
 * Module entry points: register the vdisk-pool and vdisk targets.
 */
#include "dm-vdisk.h"

#include <linux/module.h>

static int __init dm_vdisk_init(void)
{
	int r;

	r = dm_register_target(&vdisk_pool_target);
	if (r) {
		DMERR("cannot register the vdisk-pool target: %d", r);
		return r;
	}

	r = dm_register_target(&vdisk_target);
	if (r) {
		DMERR("cannot register the vdisk target: %d", r);
		dm_unregister_target(&vdisk_pool_target);
		return r;
	}
	return 0;
}

static void __exit dm_vdisk_exit(void)
{
	dm_unregister_target(&vdisk_target);
	dm_unregister_target(&vdisk_pool_target);
}

module_init(dm_vdisk_init);
module_exit(dm_vdisk_exit);

MODULE_DESCRIPTION(DM_NAME " per-VM thin virtual disks with snapshots");
MODULE_AUTHOR("The dm-vdisk developers");
MODULE_LICENSE("GPL");
