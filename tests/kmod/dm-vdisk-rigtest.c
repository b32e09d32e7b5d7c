// SPDX-License-Identifier: GPL-2.0
/*
 * dm-vdisk-rigtest: a test-only module that misbehaves on purpose.
 *
 * The VM rig's self-test (scripts/vm/rig-selftest.sh) loads it to prove that
 * the rig notices kernel problems even when every test line says "ok":
 *
 *   modprobe dm-vdisk-rigtest trigger=none   loads cleanly, does nothing
 *   modprobe dm-vdisk-rigtest trigger=warn   WARN()s once from module init
 *   modprobe dm-vdisk-rigtest trigger=oops   dereferences NULL in a work item
 *
 * Never install or load it outside the test VM.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/workqueue.h>

static char *trigger = "none";
module_param(trigger, charp, 0444);
MODULE_PARM_DESC(trigger, "what to do on load: none, warn or oops");

/*
 * Read through READ_ONCE() so the compiler cannot prove the pointer is NULL
 * and drop the access; the kernel also builds with
 * -fno-delete-null-pointer-checks.
 */
static int *rigtest_null_ptr;

static void rigtest_oops_fn(struct work_struct *work)
{
	int *p = READ_ONCE(rigtest_null_ptr);

	pr_info("dereferencing NULL on purpose\n");
	pr_info("read %d\n", READ_ONCE(*p));
}

static DECLARE_WORK(rigtest_oops_work, rigtest_oops_fn);

/*
 * The oops runs in a kworker rather than in init_module() so that modprobe
 * returns normally and the guest keeps running long enough for the rig to
 * see the report on the console.
 */
static bool rigtest_oops_queued;

static int __init rigtest_init(void)
{
	if (sysfs_streq(trigger, "none")) {
		pr_info("loaded, doing nothing\n");
		return 0;
	}
	if (sysfs_streq(trigger, "warn")) {
		WARN(1, "dm-vdisk-rigtest: deliberate warning for the rig self-test\n");
		return 0;
	}
	if (sysfs_streq(trigger, "oops")) {
		rigtest_oops_queued = true;
		schedule_work(&rigtest_oops_work);
		return 0;
	}
	pr_err("unknown trigger '%s' (want none, warn or oops)\n", trigger);
	return -EINVAL;
}

static void __exit rigtest_exit(void)
{
	if (rigtest_oops_queued)
		cancel_work_sync(&rigtest_oops_work);
	pr_info("unloaded\n");
}

module_init(rigtest_init);
module_exit(rigtest_exit);

MODULE_DESCRIPTION("dm-vdisk VM rig self-test: deliberate WARN and oops");
MODULE_AUTHOR("dm-vdisk developers");
MODULE_LICENSE("GPL");
