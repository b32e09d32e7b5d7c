// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl: pool configuration files, one per pool:
 * $VDISK_CONF_DIR/NAME.conf (default /etc/vdisk/pools/NAME.conf), written by
 * `pool create` and read by `pool activate`, so that a pool comes back after
 * a reboot by name.  "key=value" lines, '#' comments:
 *
 *     metadata=/dev/disk/by-id/...
 *     data=/dev/disk/by-id/...
 *     block_size=8            (data block size, 512-byte sectors)
 *     low_water_mark=0        (data blocks)
 *     error_if_no_space=0
 *
 * Unknown keys are refused (a newer file must not be half understood).
 * Written to a temporary file and renamed, so a crash leaves the old or the
 * new file, never a torn one.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vdiskctl.h"

const char *vc_conf_dir(void)
{
	const char *d = getenv("VDISK_CONF_DIR");

	return d && *d ? d : "/etc/vdisk/pools";
}

static void conf_path(char *buf, size_t len, const char *pool, const char *suffix)
{
	snprintf(buf, len, "%s/%s.conf%s", vc_conf_dir(), pool, suffix);
}

int vc_conf_read(const char *pool, struct vc_pool_conf *c)
{
	char path[512], line[512];
	int lineno = 0;
	FILE *f;

	memset(c, 0, sizeof(*c));
	c->block_sectors = 8;
	conf_path(path, sizeof(path), pool, "");
	f = fopen(path, "r");
	if (!f)
		return errno == ENOENT ? -ENOENT : -errno;
	while (fgets(line, sizeof(line), f)) {
		char *eq, *val;
		uint64_t v = 0;
		int bad = 0;

		lineno++;
		line[strcspn(line, "\r\n")] = 0;
		if (!line[0] || line[0] == '#')
			continue;
		eq = strchr(line, '=');
		if (!eq) {
			bad = 1;
			goto check;
		}
		*eq = 0;
		val = eq + 1;
		if (!strcmp(line, "metadata")) {
			bad = strlen(val) >= sizeof(c->metadata) || val[0] != '/';
			if (!bad)
				memcpy(c->metadata, val, strlen(val) + 1);
		} else if (!strcmp(line, "data")) {
			bad = strlen(val) >= sizeof(c->data) || val[0] != '/';
			if (!bad)
				memcpy(c->data, val, strlen(val) + 1);
		} else if (!strcmp(line, "block_size")) {
			bad = vc_parse_u64(val, &v) || !v || v > 2048;
			c->block_sectors = (uint32_t)v;
		} else if (!strcmp(line, "low_water_mark")) {
			bad = vc_parse_u64(val, &c->low_water);
		} else if (!strcmp(line, "error_if_no_space")) {
			bad = vc_parse_u64(val, &v) || v > 1;
			c->error_if_no_space = v;
		} else {
			bad = 1;
		}
check:
		if (bad) {
			fclose(f);
			vc_err("%s:%d: cannot parse this line: fix or remove the file", path, lineno);
			return -EINVAL;
		}
	}
	fclose(f);
	if (!c->metadata[0] || !c->data[0]) {
		vc_err("%s: metadata= or data= missing: fix or remove the file", path);
		return -EINVAL;
	}
	return 0;
}

static int mkdir_p(const char *dir)
{
	char buf[512], *p;

	snprintf(buf, sizeof(buf), "%s", dir);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return -errno;
	return 0;
}

int vc_conf_write(const char *pool, const struct vc_pool_conf *c)
{
	char path[512], tmp[520];
	FILE *f;
	int r;

	r = mkdir_p(vc_conf_dir());
	if (r) {
		vc_err("cannot create '%s': %s", vc_conf_dir(), strerror(-r));
		return r;
	}
	conf_path(path, sizeof(path), pool, "");
	conf_path(tmp, sizeof(tmp), pool, ".tmp");
	f = fopen(tmp, "w");
	if (!f) {
		r = -errno;
		vc_err("cannot write '%s': %s", tmp, strerror(errno));
		return r;
	}
	fprintf(f, "# dm-vdisk pool '%s', written by vdiskctl; read by 'vdiskctl pool activate'\n"
		"metadata=%s\ndata=%s\nblock_size=%u\nlow_water_mark=%llu\nerror_if_no_space=%d\n",
		pool, c->metadata, c->data, c->block_sectors,
		(unsigned long long)c->low_water, c->error_if_no_space ? 1 : 0);
	if (fflush(f) || fsync(fileno(f)) || fclose(f) || rename(tmp, path)) {
		r = -errno;
		vc_err("cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
		return r;
	}
	return 0;
}

int vc_conf_list(char ***names, size_t *n)
{
	DIR *d = opendir(vc_conf_dir());
	struct dirent *e;
	char **v = NULL;
	size_t cnt = 0;

	*names = NULL;
	*n = 0;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		char **nv;

		if (l <= 5 || strcmp(e->d_name + l - 5, ".conf"))
			continue;
		nv = realloc(v, (cnt + 1) * sizeof(*v));
		if (!nv)
			break;
		v = nv;
		v[cnt] = strndup(e->d_name, l - 5);
		if (v[cnt])
			cnt++;
	}
	closedir(d);
	*names = v;
	*n = cnt;
	return 0;
}
