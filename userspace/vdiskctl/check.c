// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl check POOL: check a live pool's metadata.  The pool is asked to
 * hold a consistent copy of its metadata (METADATA_SNAP reserve), then
 * vdisk-check --use-metadata-snap reads that copy from the metadata device,
 * and the copy is released again whatever happened (SIGINT/SIGTERM are
 * ignored by vdiskctl meanwhile, so an interrupted check still releases).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "vdiskctl.h"

static int metadata_snap(struct vc_nl *nl, const char *pool, uint8_t op)
{
	struct nl_msg *msg = vc_nl_new(nl, VDISK_CMD_METADATA_SNAP, false);

	if (!msg || nla_put_string(msg, VDISK_ATTR_POOL_NAME, pool) ||
	    nla_put_u8(msg, VDISK_ATTR_METADATA_SNAP_OP, op)) {
		if (msg)
			nlmsg_free(msg);
		return -ENOMEM;
	}
	return vc_nl_call(nl, msg, NULL, NULL);
}

/* vdisk-check next to vdiskctl (the build tree, /usr/local/sbin), else $PATH. */
static int run_check(const char *dev)
{
	char path[4096];
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_term;
	int status = 0;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/vdisk-check", vc_argv0_dir);
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGTERM, &ign, &old_term);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		char *args[] = { path, (char *)dev, "--use-metadata-snap",
				 vc_json_output ? "--json" : NULL, NULL };

		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGTERM, &old_term, NULL);
		if (access(path, X_OK))
			args[0] = "vdisk-check";
		execvp(args[0], args);
		fprintf(stderr, "vdiskctl: cannot run vdisk-check: %s (is it installed?)\n",
			strerror(errno));
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		status = -1;
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	if (status < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

int vc_cmd_check(int argc, char **argv)
{
	static const char usage[] = "vdiskctl check POOL [--json]";
	static const char help[] =
		"Check the metadata of active pool POOL while it runs: reserve a\n"
		"metadata snapshot, run vdisk-check --use-metadata-snap on the pool's\n"
		"metadata device, release the snapshot.  Exit status 0 clean, 1 damaged\n"
		"or the check could not run.  (Reference counts are compared only by an\n"
		"offline vdisk-check of an inactive pool.)\n";
	struct vc_nl *nl = NULL;
	struct vc_pool p;
	const char *pool;
	char dev[256];
	int done, rc, r, st;

	rc = vc_getopt(argc, argv, usage, help, NULL, NULL, NULL, &done);
	if (rc || done)
		return rc;
	if (argc - optind != 1)
		return vc_usage_err(usage, "expected one POOL");
	pool = argv[optind];
	rc = vc_nl_open(&nl, true);
	if (rc)
		return rc;
	r = vc_get_pool(nl, pool, &p);
	if (r) {
		rc = vc_nl_fail(nl, r, pool, "cannot read pool '%s'", pool);
		goto out;
	}
	if (vc_devt_path(p.meta_dev, dev, sizeof(dev))) {
		vc_err("cannot find the metadata device of pool '%s'", pool);
		rc = VC_EXIT_ERR;
		goto out;
	}
	r = metadata_snap(nl, pool, VDISK_METADATA_SNAP_RESERVE);
	if (r) {
		rc = vc_nl_fail(nl, r, pool, "cannot reserve a metadata snapshot of pool '%s'", pool);
		if (r == -EBUSY || r == -EEXIST)
			vc_hint("one is already held (another check running?); "
				"'dmsetup message %s 0 release_metadata_snap' drops it", pool);
		goto out;
	}
	/* vdisk-check reads a block device with O_DIRECT: it sees what the
	 * pool wrote with bios, never a stale page cache.
	 */
	st = run_check(dev);
	r = metadata_snap(nl, pool, VDISK_METADATA_SNAP_RELEASE);
	if (r) {
		vc_nl_fail(nl, r, pool, "cannot release the metadata snapshot of pool '%s'", pool);
		vc_hint("release it by hand: dmsetup message %s 0 release_metadata_snap", pool);
		rc = VC_EXIT_ERR;
	}
	if (st == 0) {
		if (!vc_json_output)
			printf("pool '%s': metadata clean\n", pool);
	} else if (st == 1) {
		vc_err("pool '%s': the metadata is damaged (report above)", pool);
		vc_hint("deactivate the pool ('vdiskctl pool remove %s') and keep a copy of "
			"the metadata device before any repair", pool);
		rc = VC_EXIT_ERR;
	} else {
		vc_err("pool '%s': vdisk-check could not run (status %d)", pool, st);
		rc = VC_EXIT_ERR;
	}
out:
	vc_nl_close(nl);
	return rc;
}
