// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl pool create|activate|list|status|remove.
 *
 * A pool is the dm device NAME with a vdisk-pool table; its devices and
 * options are kept in a configuration file (conf.c) so that `pool activate
 * NAME` needs no arguments after a reboot.  `pool remove` only deactivates:
 * the metadata keeps every vdisk, `pool activate` brings them back.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/dm-vdisk-format.h>

#include "vdiskctl.h"

struct pool_opts {
	const char *metadata, *data;
	const char *usage;
	uint32_t block_sectors;
	uint64_t low_water;
	bool low_water_set, block_set, error_if_no_space;
};

static const struct option pool_options[] = {
	{ "metadata", required_argument, NULL, 'm' },
	{ "data", required_argument, NULL, 'd' },
	{ "block-size", required_argument, NULL, 'b' },
	{ "low-water-mark", required_argument, NULL, 'l' },
	{ "error-if-no-space", no_argument, NULL, 'e' },
	{ NULL, 0, NULL, 0 }
};

static int pool_opt(int opt, const char *arg, void *ctx)
{
	struct pool_opts *o = ctx;
	const char *why;
	uint64_t v;

	switch (opt) {
	case 'm':
		o->metadata = arg;
		return 0;
	case 'd':
		o->data = arg;
		return 0;
	case 'b':
		if (vc_parse_size(arg, &v, &why))
			return vc_usage_err(o->usage, "bad --block-size '%s': %s", arg, why);
		if (v < 4096 || v > (1 << 20) || (v & (v - 1)))
			return vc_usage_err(o->usage, "bad --block-size '%s': a power of two from 4K to 1M",
					    arg);
		o->block_sectors = (uint32_t)(v / 512);
		o->block_set = true;
		return 0;
	case 'l':
		if (vc_parse_u64(arg, &o->low_water))
			return vc_usage_err(o->usage,
					    "bad --low-water-mark '%s': a number of data blocks", arg);
		o->low_water_set = true;
		return 0;
	case 'e':
		o->error_if_no_space = true;
		return 0;
	}
	return VC_EXIT_USAGE;
}

/*
 * The configuration given by --metadata and --data (both set) and the
 * other options, into @c (zeroed by the caller).  0 or the usage error.
 */
static int conf_from_opts(const struct pool_opts *o, struct vc_pool_conf *c)
{
	if (strlen(o->metadata) >= sizeof(c->metadata) || strlen(o->data) >= sizeof(c->data) ||
	    o->metadata[0] != '/' || o->data[0] != '/')
		return vc_usage_err(o->usage, "devices are absolute paths (/dev/...)");
	snprintf(c->metadata, sizeof(c->metadata), "%s", o->metadata);
	snprintf(c->data, sizeof(c->data), "%s", o->data);
	c->block_sectors = o->block_sectors;
	c->low_water = o->low_water;
	c->error_if_no_space = o->error_if_no_space;
	return 0;
}

/*
 * The one operand of "pool CMD NAME"; @validate checks it is a usable pool
 * name (for the commands that make a pool of it).  0 or the usage error.
 */
static int pool_name_operand(int argc, char **argv, const char *usage, bool validate,
			     const char **name)
{
	const char *why;

	if (argc - optind != 1)
		return vc_usage_err(usage, "expected one pool NAME");
	*name = argv[optind];
	why = validate ? vc_pool_name_invalid(*name) : NULL;
	if (why)
		return vc_usage_err(usage, "bad pool name '%s': %s", *name, why);
	return 0;
}

/* Does the device start with a dm-vdisk superblock (either slot)? */
static int holds_vdisk_metadata(const char *path)
{
	unsigned char buf[8192];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	int slot;

	if (fd < 0)
		return 0;
	n = pread(fd, buf, sizeof(buf), 0);
	close(fd);
	for (slot = 0; slot < 2; slot++) {
		const unsigned char *m = buf + slot * 4096 + 4;

		if (n < (slot + 1) * 4096)
			break;
		/* struct vd_block_header.magic, little-endian */
		if ((uint32_t)(m[0] | m[1] << 8 | m[2] << 16 | (uint32_t)m[3] << 24) ==
		    VD_MAGIC_SUPERBLOCK)
			return 1;
	}
	return 0;
}

static int check_devices(const struct vc_pool_conf *c, uint64_t *data_bytes)
{
	struct stat a, b;
	uint64_t meta_bytes;
	int rc;

	rc = vc_blockdev_size(c->metadata, &meta_bytes);
	if (rc)
		return rc;
	rc = vc_blockdev_size(c->data, data_bytes);
	if (rc)
		return rc;
	if (!stat(c->metadata, &a) && !stat(c->data, &b) && a.st_rdev == b.st_rdev) {
		vc_err("the metadata and data devices must differ ('%s', '%s')", c->metadata,
		       c->data);
		return VC_EXIT_ERR;
	}
	if (*data_bytes < (uint64_t)c->block_sectors * 512) {
		vc_err("data device '%s' is smaller than one data block", c->data);
		return VC_EXIT_ERR;
	}
	return 0;
}

/* Load the vdisk-pool table for @name from @c. */
static int load_pool(const char *name, const struct vc_pool_conf *c)
{
	uint64_t data_bytes;
	char params[700];
	int rc;

	rc = check_devices(c, &data_bytes);
	if (rc)
		return rc;
	snprintf(params, sizeof(params), "%s %s %u %llu%s", c->metadata, c->data,
		 c->block_sectors, (unsigned long long)c->low_water,
		 c->error_if_no_space ? " 1 error_if_no_space" : "");
	if (vc_dm_create(name, data_bytes / 512, "vdisk-pool", params)) {
		vc_err("the kernel refused pool '%s' (%s)", name,
		       vc_dm_error()[0] ? vc_dm_error() : "device-mapper error");
		vc_hint("'dmesg | tail' shows the reason (for example foreign metadata on '%s',"
			" or the dm-vdisk module not loaded)", c->metadata);
		return VC_EXIT_ERR;
	}
	return 0;
}

static int pool_create(int argc, char **argv)
{
	static const char usage[] =
		"vdiskctl pool create NAME --metadata DEV --data DEV [--block-size SIZE]\n"
		"       [--low-water-mark BLOCKS] [--error-if-no-space]";
	static const char help[] =
		"Create a pool over a metadata device and a data device and activate it\n"
		"as the dm device NAME.  A zeroed metadata device is formatted by the\n"
		"kernel; a device that already holds dm-vdisk metadata is refused (use\n"
		"'pool activate' for it).  The devices and options are recorded in\n"
		"$VDISK_CONF_DIR/NAME.conf (default /etc/vdisk/pools) for 'pool activate'.\n"
		"\n"
		"  --block-size SIZE       data block size, a power of two from 4K to 1M\n"
		"                          (default 4K)\n"
		"  --low-water-mark N      raise a low-water event when N data blocks are\n"
		"                          left (default 0: never)\n"
		"  --error-if-no-space     fail writes at once when the data device is full\n"
		"                          (default: queue them for up to 60 s)\n";
	struct pool_opts o = { .usage = usage, .block_sectors = 8 };
	struct vc_pool_conf c = { 0 };
	struct vc_dm_info info;
	uint64_t data_bytes;
	const char *name;
	char path[512];
	int done, rc;

	rc = vc_getopt(argc, argv, usage, help, pool_options, pool_opt, &o, &done);
	if (rc || done)
		return rc;
	rc = pool_name_operand(argc, argv, usage, true, &name);
	if (rc)
		return rc;
	if (!o.metadata || !o.data)
		return vc_usage_err(usage, "--metadata DEV and --data DEV are required");
	rc = conf_from_opts(&o, &c);
	if (rc)
		return rc;
	rc = vc_dm_init();
	if (rc)
		return rc;

	if (!vc_dm_info(name, &info) && info.exists) {
		vc_err("a dm device named '%s' already exists: choose another pool name", name);
		return VC_EXIT_ERR;
	}
	snprintf(path, sizeof(path), "%s/%s.conf", vc_conf_dir(), name);
	if (!access(path, F_OK)) {
		vc_err("pool '%s' already exists (%s): start it with 'vdiskctl pool activate %s'",
		       name, path, name);
		return VC_EXIT_ERR;
	}
	rc = check_devices(&c, &data_bytes);
	if (rc)
		return rc;
	if (holds_vdisk_metadata(c.metadata)) {
		vc_err("'%s' already holds dm-vdisk metadata (an existing pool)", c.metadata);
		vc_hint("to use that pool: vdiskctl pool activate %s --metadata %s --data %s",
			name, c.metadata, c.data);
		return VC_EXIT_ERR;
	}
	if (c.low_water > data_bytes / ((uint64_t)c.block_sectors * 512)) {
		vc_err("--low-water-mark %llu is more than the data device's %llu blocks",
		       (unsigned long long)c.low_water,
		       (unsigned long long)(data_bytes / ((uint64_t)c.block_sectors * 512)));
		return VC_EXIT_ERR;
	}
	/* The file first: a pool that exists without it could not be
	 * activated by name; a file without a pool is removed below.
	 */
	if (vc_conf_write(name, &c)) {
		if (errno == EACCES || errno == EPERM)
			return vc_perm_denied();
		return VC_EXIT_ERR;
	}
	rc = load_pool(name, &c);
	if (rc) {
		unlink(path);
		return rc;
	}
	if (!vc_json_output)
		printf("pool '%s' created: /dev/mapper/%s\n", name, name);
	return VC_EXIT_OK;
}

static int pool_activate(int argc, char **argv)
{
	static const char usage[] =
		"vdiskctl pool activate NAME [--metadata DEV --data DEV [--block-size SIZE]\n"
		"       [--low-water-mark BLOCKS] [--error-if-no-space]]";
	static const char help[] =
		"Activate pool NAME from its configuration file (written by 'pool create')\n"
		"and bring up the dm device POOL-VDISK of every vdisk created by 'create'\n"
		"or 'clone' (snapshots stay inactive).  With --metadata and --data, use\n"
		"those devices (and record them), e.g. for a pool moved to another host.\n"
		"Activating an active pool only brings up the missing vdisk devices.\n";
	struct pool_opts o = { .usage = usage, .block_sectors = 8 };
	struct vc_pool_conf c;
	struct vc_dm_info info;
	struct vc_vdisk *v = NULL;
	struct vc_nl *nl = NULL;
	const char *name;
	size_t n, i, up = 0;
	int done, rc, r;

	rc = vc_getopt(argc, argv, usage, help, pool_options, pool_opt, &o, &done);
	if (rc || done)
		return rc;
	rc = pool_name_operand(argc, argv, usage, true, &name);
	if (rc)
		return rc;
	if (!o.metadata != !o.data)
		return vc_usage_err(usage, "give both --metadata and --data, or neither");
	rc = vc_dm_init();
	if (rc)
		return rc;
	if (o.metadata) {
		memset(&c, 0, sizeof(c));
		rc = conf_from_opts(&o, &c);
		if (rc)
			return rc;
	} else {
		r = vc_conf_read(name, &c);
		if (r == -ENOENT) {
			vc_err("pool '%s' is not configured (no %s/%s.conf)", name, vc_conf_dir(), name);
			vc_hint("give its devices: vdiskctl pool activate %s --metadata DEV --data DEV",
				name);
			return VC_EXIT_ERR;
		}
		if (r == -EACCES || r == -EPERM)
			return vc_perm_denied();
		if (r)
			return VC_EXIT_ERR;
		if (o.block_set || o.low_water_set || o.error_if_no_space)
			return vc_usage_err(usage, "options need --metadata and --data");
	}
	if (!vc_dm_info(name, &info) && info.exists) {
		uint64_t len;
		char target[32], params[256];

		if (vc_dm_table(name, &len, target, sizeof(target), params, sizeof(params)) ||
		    strcmp(target, "vdisk-pool")) {
			vc_err("dm device '%s' exists but is not a vdisk-pool", name);
			return VC_EXIT_ERR;
		}
	} else {
		rc = load_pool(name, &c);
		if (rc)
			return rc;
	}
	if (o.metadata && vc_conf_write(name, &c))
		vc_err("warning: pool '%s' is active but its configuration was not saved", name);

	rc = vc_nl_open(&nl, true);
	if (rc)
		return rc;
	r = vc_get_vdisks(nl, name, &v, &n);
	if (r) {
		rc = vc_nl_fail(nl, r, name, "cannot list the vdisks of pool '%s'", name);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!(v[i].flags & VDISK_F_AUTO_ACTIVATE) || (v[i].flags & VDISK_F_ACTIVE))
			continue;
		if (vc_activate_vdisk(name, &v[i]))
			rc = VC_EXIT_ERR;
		else
			up++;
	}
	if (!vc_json_output)
		printf("pool '%s' active; %zu vdisk device%s activated\n", name, up,
		       up == 1 ? "" : "s");
out:
	free(v);
	vc_nl_close(nl);
	return rc;
}

static uint64_t used(uint64_t total, uint64_t free_)
{
	return total > free_ ? total - free_ : 0;
}

static void pool_json(struct vc_json *j, const struct vc_pool *p, size_t nvd, size_t nactive,
		      bool detail)
{
	char path[256];

	vc_json_obj_begin(j, NULL);
	vc_json_str(j, "name", p->name);
	vc_json_bool(j, "active", 1);
	vc_json_str(j, "mode", vc_pool_mode_name(p->mode));
	vc_json_str(j, "mode_reason", p->reason);
	vc_json_u64(j, "block_size", p->block_size);
	vc_json_u64(j, "data_blocks", p->data_blocks);
	vc_json_u64(j, "data_free_blocks", p->data_free);
	vc_json_u64(j, "data_used_bytes", used(p->data_blocks, p->data_free) * p->block_size);
	vc_json_u64(j, "data_size_bytes", p->data_blocks * p->block_size);
	vc_json_u64(j, "metadata_blocks", p->meta_blocks);
	vc_json_u64(j, "metadata_free_blocks", p->meta_free);
	vc_json_u64(j, "low_water_mark", p->low_water);
	vc_json_bool(j, "error_if_no_space", !!(p->features & VDISK_POOL_F_ERROR_IF_NO_SPACE));
	vc_json_bool(j, "needs_check", p->needs_check);
	if (detail) {
		vc_json_u64(j, "transaction_id", p->transaction_id);
		vc_json_bool(j, "deletions_pending", p->deletions_pending);
		vc_json_bool(j, "read_only", !!(p->features & VDISK_POOL_F_READ_ONLY));
		vc_json_str(j, "metadata_device",
			    vc_devt_path(p->meta_dev, path, sizeof(path)) ? NULL : path);
		vc_json_str(j, "data_device",
			    vc_devt_path(p->data_dev, path, sizeof(path)) ? NULL : path);
		vc_json_u64(j, "vdisks", nvd);
		vc_json_u64(j, "active_vdisks", nactive);
	}
	vc_json_obj_end(j);
}

static int pool_list(int argc, char **argv)
{
	static const char usage[] = "vdiskctl pool list [--json]";
	static const char help[] =
		"List the pools: active ones (from the kernel) and configured but\n"
		"inactive ones (from the configuration files).\n";
	struct vc_pool *p = NULL;
	struct vc_nl *nl = NULL;
	char **conf = NULL;
	size_t n = 0, nconf = 0, i, k;
	struct vc_json j;
	int done, rc, r;

	rc = vc_getopt(argc, argv, usage, help, NULL, NULL, NULL, &done);
	if (rc || done)
		return rc;
	if (optind != argc)
		return vc_usage_err(usage, "unexpected argument '%s'", argv[optind]);
	rc = vc_nl_open(&nl, true);
	if (rc)
		return rc;
	r = vc_get_pools(nl, NULL, &p, &n);
	if (r) {
		rc = vc_nl_fail(nl, r, NULL, "cannot list the pools");
		goto out;
	}
	vc_conf_list(&conf, &nconf);
	if (vc_json_output) {
		vc_json_init(&j, stdout);
		vc_json_obj_begin(&j, NULL);
		vc_json_arr_begin(&j, "pools");
	} else {
		printf("%-16s %-18s %8s %8s %6s %8s\n", "NAME", "MODE", "USED", "SIZE", "USE%",
		       "BLOCK");
	}
	for (i = 0; i < n; i++) {
		char a[32], b[32], c[32];
		uint64_t u = used(p[i].data_blocks, p[i].data_free);

		if (vc_json_output) {
			pool_json(&j, &p[i], 0, 0, false);
			continue;
		}
		printf("%-16s %-18s %8s %8s %5llu%% %8s\n", p[i].name,
		       vc_pool_mode_name(p[i].mode),
		       vc_format_size(u * p[i].block_size, a, sizeof(a)),
		       vc_format_size(p[i].data_blocks * p[i].block_size, b, sizeof(b)),
		       (unsigned long long)(p[i].data_blocks ? u * 100 / p[i].data_blocks : 0),
		       vc_format_size(p[i].block_size, c, sizeof(c)));
	}
	for (k = 0; k < nconf; k++) {
		for (i = 0; i < n; i++)
			if (!strcmp(p[i].name, conf[k]))
				break;
		if (i < n)
			continue;
		if (vc_json_output) {
			vc_json_obj_begin(&j, NULL);
			vc_json_str(&j, "name", conf[k]);
			vc_json_bool(&j, "active", 0);
			vc_json_obj_end(&j);
		} else {
			printf("%-16s %-18s %8s %8s %6s %8s\n", conf[k], "inactive", "-", "-", "-",
			       "-");
		}
	}
	if (vc_json_output) {
		vc_json_arr_end(&j);
		vc_json_obj_end(&j);
	}
out:
	for (k = 0; k < nconf; k++)
		free(conf[k]);
	free(conf);
	free(p);
	vc_nl_close(nl);
	return rc;
}

static int pool_status(int argc, char **argv)
{
	static const char usage[] = "vdiskctl pool status NAME [--json]";
	static const char help[] =
		"Show an active pool: mode (and why it is not rw), space, options,\n"
		"devices, vdisk counts.\n";
	struct vc_vdisk *v = NULL;
	struct vc_nl *nl = NULL;
	struct vc_pool p;
	size_t n = 0, i, nactive = 0;
	const char *name;
	char a[32], b[32], path[256];
	int done, rc, r;

	rc = vc_getopt(argc, argv, usage, help, NULL, NULL, NULL, &done);
	if (rc || done)
		return rc;
	rc = pool_name_operand(argc, argv, usage, false, &name);
	if (rc)
		return rc;
	rc = vc_nl_open(&nl, true);
	if (rc)
		return rc;
	r = vc_get_pool(nl, name, &p);
	if (!r)
		r = vc_get_vdisks(nl, name, &v, &n);
	if (r) {
		rc = vc_nl_fail(nl, r, name, "cannot read pool '%s'", name);
		goto out;
	}
	for (i = 0; i < n; i++)
		nactive += !!(v[i].flags & VDISK_F_ACTIVE);
	if (vc_json_output) {
		struct vc_json j;

		vc_json_init(&j, stdout);
		pool_json(&j, &p, n, nactive, true);
		goto out;
	}
	printf("pool:            %s (/dev/mapper/%s)\n", p.name, p.name);
	printf("mode:            %s%s%s\n", vc_pool_mode_name(p.mode),
	       p.reason[0] && strcmp(p.reason, "-") ? ", " : "",
	       p.reason[0] && strcmp(p.reason, "-") ? p.reason : "");
	printf("data:            %s used of %s (%llu of %llu blocks of %s)\n",
	       vc_format_size(used(p.data_blocks, p.data_free) * p.block_size, a, sizeof(a)),
	       vc_format_size(p.data_blocks * p.block_size, b, sizeof(b)),
	       (unsigned long long)used(p.data_blocks, p.data_free),
	       (unsigned long long)p.data_blocks, vc_format_size(p.block_size, path, sizeof(path)));
	printf("metadata:        %llu of %llu blocks of 4K used\n",
	       (unsigned long long)used(p.meta_blocks, p.meta_free),
	       (unsigned long long)p.meta_blocks);
	printf("low water mark:  %llu blocks\n", (unsigned long long)p.low_water);
	printf("when full:       %s\n", p.features & VDISK_POOL_F_ERROR_IF_NO_SPACE ?
	       "fail writes (error_if_no_space)" : "queue writes for up to 60 s");
	printf("vdisks:          %zu (%zu active)\n", n, nactive);
	printf("metadata device: %s\n",
	       vc_devt_path(p.meta_dev, path, sizeof(path)) ? "?" : path);
	printf("data device:     %s\n",
	       vc_devt_path(p.data_dev, path, sizeof(path)) ? "?" : path);
	printf("transaction id:  %llu\n", (unsigned long long)p.transaction_id);
	if (p.deletions_pending)
		printf("reclaim:         deleted vdisks are being reclaimed\n");
	if (p.needs_check)
		printf("needs check:     yes: run 'vdiskctl check %s'\n", p.name);
	if (p.mode == VDISK_POOL_MODE_OUT_OF_DATA_SPACE)
		printf("pool '%s' is out of data space: grow the data device or delete snapshots\n",
		       p.name);
	if (p.mode == VDISK_POOL_MODE_OUT_OF_METADATA_SPACE)
		printf("pool '%s' is out of metadata space: grow the metadata device (writes to new blocks wait)\n",
		       p.name);
out:
	free(v);
	vc_nl_close(nl);
	return rc;
}

static int pool_remove(int argc, char **argv)
{
	static const char usage[] = "vdiskctl pool remove NAME";
	static const char help[] =
		"Deactivate pool NAME: remove the dm devices of its vdisks, then the\n"
		"pool's.  Refused while any vdisk device is open (a VM runs on it).\n"
		"Nothing is deleted: the metadata keeps every vdisk and snapshot, the\n"
		"configuration file stays, and 'vdiskctl pool activate NAME' brings\n"
		"the pool and its vdisks back.\n";
	struct vc_vdisk *v = NULL;
	struct vc_nl *nl = NULL;
	struct vc_dm_info info;
	const char *name;
	size_t n = 0, i;
	int done, rc, r, busy = 0;

	rc = vc_getopt(argc, argv, usage, help, NULL, NULL, NULL, &done);
	if (rc || done)
		return rc;
	rc = pool_name_operand(argc, argv, usage, false, &name);
	if (rc)
		return rc;
	rc = vc_dm_init();
	if (rc)
		return rc;
	if (vc_dm_info(name, &info) || !info.exists) {
		vc_err("no active pool '%s' ('vdiskctl pool list' shows the pools)", name);
		return VC_EXIT_ERR;
	}
	rc = vc_nl_open(&nl, true);
	if (rc)
		return rc;
	r = vc_get_vdisks(nl, name, &v, &n);
	if (r) {
		rc = vc_nl_fail(nl, r, name, "cannot list the vdisks of pool '%s'", name);
		goto out;
	}
	/* Check every device before removing any: all or nothing. */
	for (i = 0; i < n; i++) {
		if (!(v[i].flags & VDISK_F_ACTIVE))
			continue;
		vc_vdisk_dm_name(&v[i], name, v[i].name);
		if (!vc_dm_info(v[i].dm_name, &info) && info.exists && info.open_count > 0) {
			vc_err("vdisk '%s' is in use (/dev/mapper/%s is open)", v[i].name,
			       v[i].dm_name);
			busy = 1;
		}
	}
	if (busy) {
		vc_hint("stop the VMs (or unmount) using them, then run 'vdiskctl pool remove %s' again",
			name);
		rc = VC_EXIT_ERR;
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!(v[i].flags & VDISK_F_ACTIVE))
			continue;
		if (vc_dm_remove(v[i].dm_name)) {
			vc_err("cannot remove /dev/mapper/%s: %s", v[i].dm_name, vc_dm_error());
			rc = VC_EXIT_ERR;
			goto out;
		}
	}
	if (vc_dm_remove(name)) {
		vc_err("cannot remove pool device '%s': %s", name, vc_dm_error());
		vc_hint("is it open, or are there vdisk devices not made by vdiskctl? "
			"('dmsetup ls --tree')");
		rc = VC_EXIT_ERR;
		goto out;
	}
	if (!vc_json_output)
		printf("pool '%s' deactivated (data kept: 'vdiskctl pool activate %s' brings it back)\n",
		       name, name);
out:
	free(v);
	vc_nl_close(nl);
	return rc;
}

int vc_cmd_pool(int argc, char **argv)
{
	static const char usage[] =
		"vdiskctl pool create|activate|list|status|remove ... (--help for each)";

	if (argc < 2) {
		return vc_usage_err(usage, "pool: which subcommand?");
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		printf("usage: %s\n", usage);
		return VC_EXIT_OK;
	}
	if (!strcmp(argv[1], "create"))
		return pool_create(argc - 1, argv + 1);
	if (!strcmp(argv[1], "activate"))
		return pool_activate(argc - 1, argv + 1);
	if (!strcmp(argv[1], "list"))
		return pool_list(argc - 1, argv + 1);
	if (!strcmp(argv[1], "status"))
		return pool_status(argc - 1, argv + 1);
	if (!strcmp(argv[1], "remove"))
		return pool_remove(argc - 1, argv + 1);
	return vc_usage_err(usage, "unknown pool subcommand '%s'", argv[1]);
}
