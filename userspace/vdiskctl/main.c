// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl: command dispatch, global options, messages and `version`.
 * Exit status: 0 ok, 1 error, 2 usage.  See Documentation/man/vdiskctl.8.
 */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <netlink/attr.h>

#include "vdiskctl.h"

#define VDISKCTL_VERSION "0.1"

int vc_json_output;
const char *vc_argv0_dir = ".";

void vc_err(const char *fmt, ...)
{
	va_list ap;

	fputs("vdiskctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void vc_hint(const char *fmt, ...)
{
	va_list ap;

	fputs("  ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

int vc_usage_err(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("vdiskctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", usage);
	return VC_EXIT_USAGE;
}

int vc_perm_denied(void)
{
	vc_err("permission denied: run as root (CAP_NET_ADMIN and CAP_SYS_ADMIN needed)");
	return VC_EXIT_ERR;
}

int vc_getopt(int argc, char **argv, const char *usage, const char *help,
	      const struct option *opts,
	      int (*fn)(int opt, const char *arg, void *ctx), void *ctx,
	      int *done)
{
	struct option all[24];
	char shortopts[64] = ":h";
	int n = 0, c, rc;

	*done = 0;
	for (; opts && opts[n].name && n < 20; n++) {
		all[n] = opts[n];
		if (opts[n].val < 256 && opts[n].val > 0) {
			size_t l = strlen(shortopts);

			shortopts[l] = (char)opts[n].val;
			shortopts[l + 1] = 0;
			if (opts[n].has_arg == required_argument)
				strcat(shortopts, ":");
			else if (opts[n].has_arg == optional_argument)
				strcat(shortopts, "::");
		}
	}
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	all[n++] = (struct option){ "json", no_argument, NULL, 0x1000 };
	all[n] = (struct option){ NULL, 0, NULL, 0 };
	/* Options may follow the operands (getopt permutes); rescan from
	 * scratch for every command.
	 */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: %s\n\n%s", usage, help);
			*done = 1;
			return VC_EXIT_OK;
		}
		if (c == 0x1000) {
			vc_json_output = 1;
			continue;
		}
		if (c == '?')
			return vc_usage_err(usage, "unknown option '%s'", argv[optind - 1]);
		if (c == ':')
			return vc_usage_err(usage, "option '%s' needs a value", argv[optind - 1]);
		rc = fn ? fn(c, optarg, ctx) : VC_EXIT_USAGE;
		if (rc)
			return rc;
	}
	return VC_EXIT_OK;
}

static int module_version_fn(struct nlattr **tb, uint8_t cmd, void *arg)
{
	char *buf = arg;

	(void)cmd;
	if (tb[VDISK_ATTR_MODULE_VERSION])
		snprintf(buf, 64, "%s", nla_get_string(tb[VDISK_ATTR_MODULE_VERSION]));
	return 0;
}

static int cmd_version(int argc, char **argv)
{
	static const char usage[] = "vdiskctl version [--json]";
	static const char help[] =
		"Print the versions of vdiskctl, of the netlink API it speaks and of\n"
		"the API of the loaded dm-vdisk module.\n";
	struct vc_nl *nl = NULL;
	char modver[64] = "";
	uint32_t kver = 0;
	int done, rc;

	rc = vc_getopt(argc, argv, usage, help, NULL, NULL, NULL, &done);
	if (rc || done)
		return rc;
	if (optind != argc)
		return vc_usage_err(usage, "unexpected argument '%s'", argv[optind]);
	rc = vc_nl_open(&nl, false);
	if (!rc) {
		kver = vc_nl_family_version(nl);
		/* Only a module of our API version answers GET_INFO. */
		if (kver == VDISK_GENL_VERSION)
			vc_nl_call(nl, vc_nl_new(nl, VDISK_CMD_GET_INFO, false), module_version_fn,
				   modver);
	}
	if (vc_json_output) {
		struct vc_json j;

		vc_json_init(&j, stdout);
		vc_json_obj_begin(&j, NULL);
		vc_json_str(&j, "vdiskctl", VDISKCTL_VERSION);
		vc_json_u64(&j, "api_version", VDISK_GENL_VERSION);
		if (kver)
			vc_json_u64(&j, "kernel_api_version", kver);
		else
			vc_json_null(&j, "kernel_api_version");
		vc_json_str(&j, "module_version", modver[0] ? modver : NULL);
		vc_json_obj_end(&j);
	} else {
		printf("vdiskctl %s, netlink API version %d\n", VDISKCTL_VERSION,
		       VDISK_GENL_VERSION);
		if (kver)
			printf("dm-vdisk module%s%s: netlink API version %u%s\n",
			       modver[0] ? " " : "", modver, kver,
			       kver == VDISK_GENL_VERSION ? "" :
			       " (MISMATCH: install a vdiskctl built with this module)");
		else
			printf("dm-vdisk module: not available\n");
	}
	vc_nl_close(nl);
	return rc;
}

struct command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "pool", vc_cmd_pool, "pool create|activate|list|status|remove ..." },
	{ "create", vc_cmd_create, "create POOL NAME --size SIZE" },
	{ "snapshot", vc_cmd_snapshot, "snapshot POOL SRC NAME" },
	{ "clone", vc_cmd_clone, "clone POOL SNAP NAME" },
	{ "group-snapshot", vc_cmd_group_snapshot, "group-snapshot POOL --tag TAG VDISK..." },
	{ "list", vc_cmd_list, "list [POOL]" },
	{ "resize", vc_cmd_resize, "resize POOL NAME --size SIZE" },
	{ "remove", vc_cmd_remove, "remove POOL NAME" },
	{ "stats", vc_cmd_stats, "stats [POOL [VDISK]] [--watch [SECONDS]]" },
	{ "monitor", vc_cmd_monitor, "monitor" },
	{ "check", vc_cmd_check, "check POOL" },
	{ "version", cmd_version, "version" },
	{ NULL, NULL, NULL }
};

static void usage(FILE *f)
{
	const struct command *c;

	fprintf(f, "usage: vdiskctl [--json] COMMAND [ARGS]\n\n"
		"Manage dm-vdisk pools and the virtual disks of VMs.  Commands:\n");
	for (c = commands; c->name; c++)
		fprintf(f, "  vdiskctl %s\n", c->summary);
	fprintf(f, "\n'vdiskctl COMMAND --help' describes each command.  Sizes take K, M,\n"
		"G, T suffixes (powers of 1024).  --json makes read commands print JSON.\n"
		"Exit status: 0 ok, 1 error, 2 usage.  See vdiskctl(8).\n");
}

int main(int argc, char **argv)
{
	static char self[PATH_MAX];
	const struct command *c;
	ssize_t n;
	int i = 1;

	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = 0;
		vc_argv0_dir = dirname(self);
	}
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--json")) {
			vc_json_output = 1;
		} else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			usage(stdout);
			return VC_EXIT_OK;
		} else if (!strcmp(argv[i], "--version")) {
			return cmd_version(1, (char *[]){ "version", NULL });
		} else {
			fprintf(stderr, "vdiskctl: unknown option '%s'\n", argv[i]);
			usage(stderr);
			return VC_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return VC_EXIT_USAGE;
	}
	for (c = commands; c->name; c++)
		if (!strcmp(c->name, argv[i]))
			return c->fn(argc - i, argv + i);
	fprintf(stderr, "vdiskctl: unknown command '%s'\n", argv[i]);
	usage(stderr);
	return VC_EXIT_USAGE;
}
