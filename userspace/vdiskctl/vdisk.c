// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl create, snapshot, clone, group-snapshot, resize, remove.
 *
 * A vdisk NAME of pool POOL is active as the dm device POOL-NAME with the
 * table "0 <sectors> vdisk /dev/mapper/POOL <id>".  Snapshots are taken
 * with the active origins suspended (a libdevmapper suspend flushes them),
 * and the origins are resumed whatever happened, so a failed snapshot never
 * leaves a VM frozen.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "vdiskctl.h"

int vc_activate_vdisk(const char *pool, const struct vc_vdisk *v)
{
	char dm[VC_DM_NAME_MAX], params[VC_DM_NAME_MAX + 64];

	if (!v->name[0] || vc_dm_vdisk_name(dm, sizeof(dm), pool, v->name)) {
		vc_err("vdisk %llu of pool '%s' has no usable name: not activated",
		       (unsigned long long)v->id, pool);
		return VC_EXIT_ERR;
	}
	snprintf(params, sizeof(params), "/dev/mapper/%s %llu", pool, (unsigned long long)v->id);
	if (vc_dm_create(dm, v->size / 512, "vdisk", params)) {
		vc_err("cannot activate vdisk '%s' as /dev/mapper/%s: %s", v->name, dm,
		       vc_dm_error()[0] ? vc_dm_error() : "device-mapper error");
		vc_hint("'dmesg | tail' shows the kernel's reason");
		return VC_EXIT_ERR;
	}
	return 0;
}

void vc_vdisk_dm_name(struct vc_vdisk *v, const char *pool, const char *name)
{
	if (!v->dm_name[0])
		vc_dm_vdisk_name(v->dm_name, sizeof(v->dm_name), pool, name);
}

static int del_vdisk(struct vc_nl *nl, const char *pool, const char *name)
{
	struct nl_msg *msg = vc_nl_new(nl, VDISK_CMD_VDISK_DEL, false);

	if (!msg || nla_put_string(msg, VDISK_ATTR_POOL_NAME, pool) ||
	    nla_put_string(msg, VDISK_ATTR_VDISK_NAME, name)) {
		if (msg)
			nlmsg_free(msg);
		return -ENOMEM;
	}
	return vc_nl_call(nl, msg, NULL, NULL);
}

/* The --size of create and resize: given, and a usable vdisk size. */
static int parse_size_arg(const char *usage, const char *arg, uint64_t *bytes)
{
	const char *why;

	if (!arg)
		return vc_usage_err(usage, "--size is required");
	if (vc_parse_size(arg, bytes, &why))
		return vc_usage_err(usage, "bad size '%s': %s", arg, why);
	if (!*bytes)
		return vc_usage_err(usage, "bad size '%s': a vdisk cannot be empty", arg);
	if (*bytes % 512)
		return vc_usage_err(usage, "bad size '%s': not a multiple of 512 bytes", arg);
	/* dm table lengths are sectors; keep clear of u64 sector overflow. */
	if (*bytes > (1ULL << 60))
		return vc_usage_err(usage, "bad size '%s': at most 1024P", arg);
	return 0;
}

static int size_opt(int opt, const char *arg, void *ctx)
{
	const char **size = ctx;

	if (opt != 's')
		return VC_EXIT_USAGE;
	*size = arg;
	return 0;
}

static const struct option size_options[] = {
	{ "size", required_argument, NULL, 's' },
	{ NULL, 0, NULL, 0 }
};

static int check_names(const char *usage, const char *pool, const char *const *names, int n)
{
	const char *why = vc_pool_name_invalid(pool);
	int i;

	if (why)
		return vc_usage_err(usage, "bad pool name '%s': %s", pool, why);
	for (i = 0; i < n; i++) {
		why = vc_vdisk_name_invalid(names[i]);
		if (why)
			return vc_usage_err(usage, "bad vdisk name '%s': %s", names[i], why);
	}
	return 0;
}

/*
 * The operands "POOL NAME..." after the options: exactly @n vdisk names
 * (@expected says which, for the usage error), all valid.  0 or an exit
 * status (the usage error printed).
 */
static int pool_and_names(int argc, char **argv, const char *usage, const char *expected,
			  const char **pool, const char **names, int n)
{
	int i;

	*pool = NULL;
	if (argc - optind != n + 1)
		return vc_usage_err(usage, "expected %s", expected);
	*pool = argv[optind];
	for (i = 0; i < n; i++)
		names[i] = argv[optind + 1 + i];
	return check_names(usage, *pool, names, n);
}

/* Look vdisk @name up; a missing one is reported.  0 or an exit status. */
static int find_vdisk(struct vc_nl *nl, const char *pool, const char *name, struct vc_vdisk *v)
{
	int r = vc_get_vdisk(nl, pool, name, v);

	if (r)
		return vc_nl_fail(nl, r, pool, "no vdisk '%s' in pool '%s'", name, pool);
	return 0;
}

/* dm init + netlink, the start of every state-changing command. */
static int open_all(struct vc_nl **nl)
{
	int rc = vc_dm_init();

	if (rc)
		return rc;
	return vc_nl_open(nl, true);
}

static int no_dm_device(const char *pool, const char *name)
{
	char dm[VC_DM_NAME_MAX];
	struct vc_dm_info info;

	vc_dm_vdisk_name(dm, sizeof(dm), pool, name);
	if (!vc_dm_info(dm, &info) && info.exists) {
		vc_err("a dm device named '%s' already exists: choose another name", dm);
		return VC_EXIT_ERR;
	}
	return 0;
}

int vc_cmd_create(int argc, char **argv)
{
	static const char usage[] = "vdiskctl create POOL NAME --size SIZE";
	static const char help[] =
		"Create an empty vdisk of SIZE (K, M, G, T suffixes) in POOL and\n"
		"activate it as /dev/mapper/POOL-NAME.  It is thin: space is taken on\n"
		"first write.  'pool activate' brings it back after a reboot.\n";
	const char *size_arg = NULL, *pool, *name;
	struct vc_vdisk v;
	struct vc_nl *nl = NULL;
	struct nl_msg *msg;
	uint64_t size;
	int done, rc, r;

	rc = vc_getopt(argc, argv, usage, help, size_options, size_opt, &size_arg, &done);
	if (rc || done)
		return rc;
	rc = pool_and_names(argc, argv, usage, "POOL and NAME", &pool, &name, 1);
	if (rc)
		return rc;
	rc = parse_size_arg(usage, size_arg, &size);
	if (rc)
		return rc;
	rc = open_all(&nl);
	if (rc)
		return rc;
	rc = no_dm_device(pool, name);
	if (rc)
		goto out;
	msg = vc_nl_new(nl, VDISK_CMD_VDISK_NEW, false);
	if (!msg || nla_put_string(msg, VDISK_ATTR_POOL_NAME, pool) ||
	    nla_put_string(msg, VDISK_ATTR_VDISK_NAME, name) ||
	    nla_put_u64(msg, VDISK_ATTR_VDISK_SIZE, size) ||
	    nla_put_u32(msg, VDISK_ATTR_VDISK_FLAGS, VDISK_F_AUTO_ACTIVATE)) {
		rc = VC_EXIT_ERR;
		goto out;
	}
	r = vc_nl_call(nl, msg, NULL, NULL);
	if (r) {
		rc = vc_nl_fail(nl, r, pool, "cannot create vdisk '%s' in pool '%s'", name, pool);
		goto out;
	}
	r = vc_get_vdisk(nl, pool, name, &v);
	if (r) {
		rc = vc_nl_fail(nl, r, pool, "vdisk '%s' created but cannot be read back", name);
		goto out;
	}
	if (vc_activate_vdisk(pool, &v)) {
		/* Undo: the command changes nothing when it fails. */
		del_vdisk(nl, pool, name);
		rc = VC_EXIT_ERR;
		goto out;
	}
	if (!vc_json_output) {
		char s[32];

		printf("vdisk '%s' created in pool '%s': /dev/mapper/%s-%s (%s)\n", name, pool,
		       pool, name, vc_format_size(size, s, sizeof(s)));
	}
out:
	vc_nl_close(nl);
	return rc;
}

/* One snapshot of a SNAPSHOT request. */
struct snap_req {
	const char *origin, *name;
	struct vc_vdisk result;
};

struct snap_reply {
	struct snap_req *req;
	int n, got;
};

static int snap_reply_fn(struct nlattr **tb, uint8_t cmd, void *arg)
{
	struct snap_reply *r = arg;

	(void)cmd;
	if (r->got < r->n)
		vc_parse_vdisk(tb, &r->req[r->got].result);
	r->got++;
	return 0;
}

/*
 * Suspend the active origins, send one SNAPSHOT request for all @n
 * snapshots (each with @flags), resume the origins.  0 or an exit status
 * (the error printed).
 */
static int take_snapshots(struct vc_nl *nl, const char *pool, struct snap_req *req, int n,
			  uint32_t flags)
{
	char (*susp)[VC_DM_NAME_MAX] = calloc(n, sizeof(*susp));
	struct snap_reply reply = { .req = req, .n = n };
	struct nlattr *all, *one;
	struct nl_msg *msg = NULL;
	int nsusp = 0, i, k, r, rc = VC_EXIT_ERR;

	if (!susp)
		return VC_EXIT_ERR;
	/* Look every origin up first: a typo changes nothing. */
	for (i = 0; i < n; i++) {
		struct vc_vdisk o;

		if (find_vdisk(nl, pool, req[i].origin, &o))
			goto out;
		if (!(o.flags & VDISK_F_ACTIVE))
			continue;
		vc_vdisk_dm_name(&o, pool, o.name);
		for (k = 0; k < nsusp; k++)
			if (!strcmp(susp[k], o.dm_name))
				break;
		if (k == nsusp)
			snprintf(susp[nsusp++], VC_DM_NAME_MAX, "%s", o.dm_name);
	}
	msg = vc_nl_new(nl, VDISK_CMD_SNAPSHOT, false);
	if (!msg || nla_put_string(msg, VDISK_ATTR_POOL_NAME, pool))
		goto out;
	/* The family validates strictly: nests must carry NLA_F_NESTED, which
	 * not every libnl version sets by itself.
	 */
	all = nla_nest_start(msg, VDISK_ATTR_SNAPSHOTS | NLA_F_NESTED);
	if (!all)
		goto out;
	for (i = 0; i < n; i++) {
		one = nla_nest_start(msg, VDISK_ATTR_SNAPSHOT | NLA_F_NESTED);
		if (!one || nla_put_string(msg, VDISK_ATTR_SNAP_ORIGIN, req[i].origin) ||
		    nla_put_string(msg, VDISK_ATTR_VDISK_NAME, req[i].name) ||
		    (flags && nla_put_u32(msg, VDISK_ATTR_VDISK_FLAGS, flags)))
			goto out;
		nla_nest_end(msg, one);
	}
	nla_nest_end(msg, all);

	/* Suspending flushes each origin: the snapshot holds every write
	 * completed before it.  On a suspend failure resume what was
	 * suspended and give up.
	 */
	for (k = 0; k < nsusp; k++) {
		if (vc_dm_suspend(susp[k])) {
			vc_err("cannot suspend /dev/mapper/%s: %s", susp[k], vc_dm_error());
			nsusp = k;
			goto resume;
		}
	}
	r = vc_nl_call(nl, msg, snap_reply_fn, &reply);
	msg = NULL;
	if (r && n == 1)
		vc_nl_fail(nl, r, pool, "cannot snapshot '%s' as '%s' in pool '%s'", req[0].origin,
			   req[0].name, pool);
	else if (r)
		vc_nl_fail(nl, r, pool, "cannot take the %d snapshots (%s, ...) in pool '%s'", n,
			   req[0].name, pool);
	else
		rc = 0;
resume:
	for (k = nsusp - 1; k >= 0; k--) {
		if (vc_dm_resume(susp[k])) {
			vc_err("cannot resume /dev/mapper/%s: %s", susp[k], vc_dm_error());
			vc_hint("resume it by hand: dmsetup resume %s", susp[k]);
			rc = VC_EXIT_ERR;
		}
	}
out:
	if (msg)
		nlmsg_free(msg);
	free(susp);
	return rc;
}

/* One snapshot @names[1] of @names[0], as snapshot and clone take it. */
static int take_snapshot(struct vc_nl *nl, const char *pool, struct snap_req *req,
			 const char *const *names, uint32_t flags)
{
	memset(req, 0, sizeof(*req));
	req->origin = names[0];
	req->name = names[1];
	return take_snapshots(nl, pool, req, 1, flags);
}

int vc_cmd_snapshot(int argc, char **argv)
{
	static const char usage[] = "vdiskctl snapshot POOL SRC NAME";
	static const char help[] =
		"Take an instant snapshot NAME of vdisk SRC (itself possibly a\n"
		"snapshot).  SRC's device is suspended (flushed) for the moment of the\n"
		"snapshot.  The snapshot is not activated; 'vdiskctl clone' makes a\n"
		"writable device from it.\n";
	const char *pool, *names[2];
	struct snap_req req;
	struct vc_nl *nl = NULL;
	int done, rc;

	rc = vc_getopt(argc, argv, usage, help, NULL, NULL, NULL, &done);
	if (rc || done)
		return rc;
	rc = pool_and_names(argc, argv, usage, "POOL, SRC and NAME", &pool, names, 2);
	if (rc)
		return rc;
	rc = open_all(&nl);
	if (rc)
		return rc;
	rc = take_snapshot(nl, pool, &req, names, 0);
	if (!rc && !vc_json_output)
		printf("snapshot '%s' of '%s' created in pool '%s'\n", req.name, req.origin,
		       pool);
	vc_nl_close(nl);
	return rc;
}

int vc_cmd_clone(int argc, char **argv)
{
	static const char usage[] = "vdiskctl clone POOL SNAP NAME";
	static const char help[] =
		"Make a writable vdisk NAME from snapshot (or vdisk) SNAP, instantly,\n"
		"and activate it as /dev/mapper/POOL-NAME.  It shares SNAP's blocks until\n"
		"written.  'pool activate' brings it back after a reboot.\n";
	const char *pool, *names[2];
	struct snap_req req;
	struct vc_nl *nl = NULL;
	int done, rc;

	rc = vc_getopt(argc, argv, usage, help, NULL, NULL, NULL, &done);
	if (rc || done)
		return rc;
	rc = pool_and_names(argc, argv, usage, "POOL, SNAP and NAME", &pool, names, 2);
	if (rc)
		return rc;
	rc = open_all(&nl);
	if (rc)
		return rc;
	rc = no_dm_device(pool, names[1]);
	if (rc)
		goto out;
	rc = take_snapshot(nl, pool, &req, names, VDISK_F_AUTO_ACTIVATE);
	if (rc)
		goto out;
	/* The reply carries the clone; read it back if the module did not. */
	if (!req.result.id && !req.result.name[0] &&
	    vc_get_vdisk(nl, pool, req.name, &req.result)) {
		rc = vc_nl_fail(nl, -ENOENT, pool, "clone '%s' cannot be read back", req.name);
		goto out;
	}
	if (!req.result.name[0])
		snprintf(req.result.name, sizeof(req.result.name), "%s", req.name);
	if (vc_activate_vdisk(pool, &req.result)) {
		del_vdisk(nl, pool, req.name);
		rc = VC_EXIT_ERR;
		goto out;
	}
	if (!vc_json_output)
		printf("clone '%s' of '%s' created in pool '%s': /dev/mapper/%s-%s\n", req.name,
		       req.origin, pool, pool, req.name);
out:
	vc_nl_close(nl);
	return rc;
}

static int tag_opt(int opt, const char *arg, void *ctx)
{
	const char **tag = ctx;

	if (opt != 't')
		return VC_EXIT_USAGE;
	*tag = arg;
	return 0;
}

int vc_cmd_group_snapshot(int argc, char **argv)
{
	static const char usage[] = "vdiskctl group-snapshot POOL --tag TAG VDISK...";
	static const char help[] =
		"Snapshot several vdisks (the disks of one VM) at one instant: all their\n"
		"devices are suspended, one request makes every snapshot (all or none),\n"
		"then they are resumed.  The snapshot of VDISK is named VDISK:TAG.\n";
	static const struct option opts[] = {
		{ "tag", required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	const char *tag = NULL, *pool, *why;
	struct snap_req *req = NULL;
	char (*names)[VDISK_NAME_MAX] = NULL;
	struct vc_nl *nl = NULL;
	int done, rc, n, i, k;

	rc = vc_getopt(argc, argv, usage, help, opts, tag_opt, &tag, &done);
	if (rc || done)
		return rc;
	if (argc - optind < 2)
		return vc_usage_err(usage, "expected POOL and at least one VDISK");
	if (!tag)
		return vc_usage_err(usage, "--tag is required");
	why = vc_vdisk_name_invalid(tag);
	if (why)
		return vc_usage_err(usage, "bad tag '%s': %s", tag, why);
	pool = argv[optind];
	n = argc - optind - 1;
	if (n > 64)
		return vc_usage_err(usage, "at most 64 vdisks in one group");
	rc = check_names(usage, pool, (const char *const *)argv + optind + 1, n);
	if (rc)
		return rc;
	req = calloc(n, sizeof(*req));
	names = calloc(n, sizeof(*names));
	if (!req || !names) {
		rc = VC_EXIT_ERR;
		goto out;
	}
	for (i = 0; i < n; i++) {
		const char *src = argv[optind + 1 + i];

		for (k = 0; k < i; k++)
			if (!strcmp(req[k].origin, src)) {
				rc = vc_usage_err(usage, "vdisk '%s' given twice", src);
				goto out;
			}
		if ((size_t)snprintf(names[i], sizeof(names[i]), "%s:%s", src, tag) >=
		    sizeof(names[i])) {
			rc = vc_usage_err(usage, "'%s:%s' is longer than %d characters", src, tag,
					  VC_NAME_LEN_MAX);
			goto out;
		}
		req[i].origin = src;
		req[i].name = names[i];
	}
	rc = open_all(&nl);
	if (rc)
		goto out;
	rc = take_snapshots(nl, pool, req, n, 0);
	if (!rc && !vc_json_output)
		for (i = 0; i < n; i++)
			printf("snapshot '%s' of '%s' created in pool '%s'\n", req[i].name,
			       req[i].origin, pool);
out:
	vc_nl_close(nl);
	free(req);
	free(names);
	return rc;
}

int vc_cmd_resize(int argc, char **argv)
{
	static const char usage[] = "vdiskctl resize POOL NAME --size SIZE";
	static const char help[] =
		"Grow vdisk NAME to SIZE.  An active vdisk is grown online (its dm table\n"
		"is reloaded); the guest sees the new size after a rescan.  Shrinking is\n"
		"refused: it would cut off data.\n";
	const char *size_arg = NULL, *pool, *name;
	struct vc_nl *nl = NULL;
	struct vc_vdisk v;
	uint64_t size;
	char a[32], b[32];
	int done, rc, r;

	rc = vc_getopt(argc, argv, usage, help, size_options, size_opt, &size_arg, &done);
	if (rc || done)
		return rc;
	rc = pool_and_names(argc, argv, usage, "POOL and NAME", &pool, &name, 1);
	if (rc)
		return rc;
	rc = parse_size_arg(usage, size_arg, &size);
	if (rc)
		return rc;
	rc = open_all(&nl);
	if (rc)
		return rc;
	rc = find_vdisk(nl, pool, name, &v);
	if (rc)
		goto out;
	if (size < v.size) {
		vc_err("vdisk '%s' is %s: shrinking to %s is not supported (it would cut off data)",
		       name, vc_format_size(v.size, a, sizeof(a)),
		       vc_format_size(size, b, sizeof(b)));
		rc = VC_EXIT_ERR;
		goto out;
	}
	if (size == v.size)
		goto done;
	if (v.flags & VDISK_F_ACTIVE) {
		char target[32], params[256];
		uint64_t len;

		vc_vdisk_dm_name(&v, pool, name);
		if (vc_dm_table(v.dm_name, &len, target, sizeof(target), params, sizeof(params)) ||
		    strcmp(target, "vdisk")) {
			vc_err("cannot read the table of /dev/mapper/%s", v.dm_name);
			rc = VC_EXIT_ERR;
			goto out;
		}
		/* The pool records the longer table's size in its metadata. */
		if (vc_dm_reload(v.dm_name, size / 512, "vdisk", params)) {
			vc_err("cannot grow /dev/mapper/%s: %s", v.dm_name, vc_dm_error());
			vc_hint("'dmesg | tail' shows the kernel's reason");
			rc = VC_EXIT_ERR;
			goto out;
		}
	} else {
		struct nl_msg *msg = vc_nl_new(nl, VDISK_CMD_VDISK_SET, false);

		if (!msg || nla_put_string(msg, VDISK_ATTR_POOL_NAME, pool) ||
		    nla_put_string(msg, VDISK_ATTR_VDISK_NAME, name) ||
		    nla_put_u64(msg, VDISK_ATTR_VDISK_SIZE, size)) {
			rc = VC_EXIT_ERR;
			goto out;
		}
		r = vc_nl_call(nl, msg, NULL, NULL);
		if (r) {
			rc = vc_nl_fail(nl, r, pool, "cannot resize vdisk '%s'", name);
			goto out;
		}
	}
done:
	if (!vc_json_output)
		printf("vdisk '%s' is %s\n", name, vc_format_size(size, a, sizeof(a)));
out:
	vc_nl_close(nl);
	return rc;
}

int vc_cmd_remove(int argc, char **argv)
{
	static const char usage[] = "vdiskctl remove POOL NAME";
	static const char help[] =
		"Delete vdisk (or snapshot) NAME: its dm device is removed, then the vdisk\n"
		"is deleted from the pool and its space reclaimed in the background.\n"
		"Refused while the device is open (a VM runs on it).  Snapshots and\n"
		"clones of NAME are not affected.  This cannot be undone.\n";
	const char *pool, *name;
	struct vc_nl *nl = NULL;
	struct vc_dm_info info;
	struct vc_vdisk v;
	int done, rc, r;

	rc = vc_getopt(argc, argv, usage, help, NULL, NULL, NULL, &done);
	if (rc || done)
		return rc;
	rc = pool_and_names(argc, argv, usage, "POOL and NAME", &pool, &name, 1);
	if (rc)
		return rc;
	rc = open_all(&nl);
	if (rc)
		return rc;
	rc = find_vdisk(nl, pool, name, &v);
	if (rc)
		goto out;
	if (v.flags & VDISK_F_ACTIVE) {
		vc_vdisk_dm_name(&v, pool, name);
		if (!vc_dm_info(v.dm_name, &info) && info.exists && info.open_count > 0) {
			vc_err("vdisk '%s' is in use (/dev/mapper/%s is open): stop the VM "
			       "(or unmount) first", name, v.dm_name);
			rc = VC_EXIT_ERR;
			goto out;
		}
		if (vc_dm_remove(v.dm_name)) {
			vc_err("cannot remove /dev/mapper/%s: %s", v.dm_name, vc_dm_error());
			rc = VC_EXIT_ERR;
			goto out;
		}
	}
	r = del_vdisk(nl, pool, name);
	if (r) {
		rc = vc_nl_fail(nl, r, pool, "cannot delete vdisk '%s'", name);
		if (v.flags & VDISK_F_ACTIVE && vc_activate_vdisk(pool, &v))
			vc_hint("its device was removed; 'vdiskctl pool activate %s' brings it back",
				pool);
		goto out;
	}
	if (!vc_json_output)
		printf("vdisk '%s' removed from pool '%s'\n", name, pool);
out:
	vc_nl_close(nl);
	return rc;
}
