// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl: device-mapper devices over libdevmapper (never dmsetup).
 * Device nodes follow udev when it runs (a cookie per task, then
 * dm_udev_wait()); with DM_DISABLE_UDEV=1 libdevmapper makes them itself.
 * libdevmapper's own messages are captured (the last error is kept for our
 * messages) and printed only with VDISKCTL_DEBUG set.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libdevmapper.h>
#include <linux/fs.h>

#include "vdiskctl.h"

/* libdevmapper's log levels (syslog numbering; the flag bits above them
 * say "stderr" and "once").
 */
#define DM_LVL_ERR	3
#define DM_LVL_DEBUG	7
#define DM_LVL_MASK	0x0f

static char last_error[512];
static int debug;

static void dm_log(int level, const char *file, int line, int dm_errno_or_class,
		   const char *fmt, ...)
{
	va_list ap;

	(void)file;
	(void)line;
	(void)dm_errno_or_class;
	level &= DM_LVL_MASK;
	if (level <= DM_LVL_ERR) {
		va_start(ap, fmt);
		vsnprintf(last_error, sizeof(last_error), fmt, ap);
		va_end(ap);
	}
	if (debug && level <= DM_LVL_DEBUG) {
		fputs("libdevmapper: ", stderr);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
	}
}

const char *vc_dm_error(void)
{
	return last_error;
}

int vc_dm_init(void)
{
	static int done;

	if (done)
		return 0;
	debug = !!getenv("VDISKCTL_DEBUG");
	dm_log_with_errno_init(dm_log);
	if (access("/dev/mapper/control", R_OK | W_OK) && (errno == EACCES || errno == EPERM))
		return vc_perm_denied();
	if (!dm_driver_version(last_error, sizeof(last_error))) {
		if (errno == EACCES || errno == EPERM || geteuid())
			return vc_perm_denied();
		vc_err("cannot talk to device-mapper: is the dm-mod module loaded?");
		return VC_EXIT_ERR;
	}
	last_error[0] = 0;
	done = 1;
	return 0;
}

static struct dm_task *task(int type, const char *name)
{
	struct dm_task *dmt = dm_task_create(type);

	if (!dmt)
		return NULL;
	if (name && !dm_task_set_name(dmt, name)) {
		dm_task_destroy(dmt);
		return NULL;
	}
	return dmt;
}

/* Run a task that changes device nodes, waiting for udev if it runs. */
static int run_with_cookie(struct dm_task *dmt)
{
	uint32_t cookie = 0;
	int ok;

	last_error[0] = 0;
	if (!dm_task_set_cookie(dmt, &cookie, 0)) {
		dm_task_destroy(dmt);
		return -EIO;
	}
	ok = dm_task_run(dmt);
	dm_udev_wait(cookie);
	dm_task_destroy(dmt);
	return ok ? 0 : -EIO;
}

int vc_dm_info(const char *name, struct vc_dm_info *info)
{
	struct dm_task *dmt = task(DM_DEVICE_INFO, name);
	struct dm_info i;
	int r = -EIO;

	memset(info, 0, sizeof(*info));
	if (!dmt)
		return -ENOMEM;
	if (dm_task_run(dmt) && dm_task_get_info(dmt, &i)) {
		info->exists = i.exists;
		info->suspended = i.suspended;
		info->open_count = i.open_count;
		info->major = i.major;
		info->minor = i.minor;
		r = 0;
	}
	dm_task_destroy(dmt);
	return r;
}

int vc_dm_create(const char *name, uint64_t sectors, const char *target,
		 const char *params)
{
	struct dm_task *dmt = task(DM_DEVICE_CREATE, name);

	if (!dmt)
		return -ENOMEM;
	/* One task creates, loads and resumes; libdevmapper removes the new
	 * device again if the load or the resume fails.
	 */
	if (!dm_task_add_target(dmt, 0, sectors, target, params)) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	return run_with_cookie(dmt);
}

int vc_dm_reload(const char *name, uint64_t sectors, const char *target,
		 const char *params)
{
	struct dm_task *dmt = task(DM_DEVICE_RELOAD, name);
	int ok;

	if (!dmt)
		return -ENOMEM;
	if (!dm_task_add_target(dmt, 0, sectors, target, params)) {
		dm_task_destroy(dmt);
		return -ENOMEM;
	}
	last_error[0] = 0;
	ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	if (!ok)
		return -EIO;
	return vc_dm_resume(name);
}

int vc_dm_suspend(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_SUSPEND, name);
	int ok;

	if (!dmt)
		return -ENOMEM;
	/* A plain suspend: in-flight I/O completes and is flushed first. */
	last_error[0] = 0;
	ok = dm_task_run(dmt);
	dm_task_destroy(dmt);
	return ok ? 0 : -EIO;
}

int vc_dm_resume(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_RESUME, name);

	if (!dmt)
		return -ENOMEM;
	return run_with_cookie(dmt);
}

int vc_dm_remove(const char *name)
{
	struct dm_task *dmt = task(DM_DEVICE_REMOVE, name);

	if (!dmt)
		return -ENOMEM;
	/* Retry while something (blkid, a closing VM) briefly holds it. */
	dm_task_retry_remove(dmt);
	return run_with_cookie(dmt);
}

int vc_dm_table(const char *name, uint64_t *sectors, char *target, size_t tlen,
		char *params, size_t plen)
{
	struct dm_task *dmt = task(DM_DEVICE_TABLE, name);
	uint64_t start, length;
	char *ttype = NULL, *tparams = NULL;
	int r = -EIO;

	if (!dmt)
		return -ENOMEM;
	if (dm_task_run(dmt)) {
		dm_get_next_target(dmt, NULL, &start, &length, &ttype, &tparams);
		if (ttype) {
			*sectors = length;
			snprintf(target, tlen, "%s", ttype);
			snprintf(params, plen, "%s", tparams ? tparams : "");
			r = 0;
		} else {
			r = -ENOENT;
		}
	}
	dm_task_destroy(dmt);
	return r;
}

int vc_blockdev_size(const char *path, uint64_t *bytes)
{
	struct stat st;
	int fd;

	if (stat(path, &st)) {
		vc_err("cannot use '%s': %s", path, strerror(errno));
		return VC_EXIT_ERR;
	}
	if (!S_ISBLK(st.st_mode)) {
		vc_err("'%s' is not a block device", path);
		return VC_EXIT_ERR;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == EACCES || errno == EPERM)
			return vc_perm_denied();
		vc_err("cannot open '%s': %s", path, strerror(errno));
		return VC_EXIT_ERR;
	}
	if (ioctl(fd, BLKGETSIZE64, bytes)) {
		vc_err("cannot read the size of '%s': %s", path, strerror(errno));
		close(fd);
		return VC_EXIT_ERR;
	}
	close(fd);
	return 0;
}
