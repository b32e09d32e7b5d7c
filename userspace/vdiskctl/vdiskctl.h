/* SPDX-License-Identifier: GPL-2.0 */
/*
 * vdiskctl: the operator's tool for dm-vdisk pools and vdisks.  Declarations
 * shared by its files; one concept per file:
 *
 *   main.c       command table, global options, messages, `version`
 *   size.c       size parsing and formatting (pure)
 *   names.c      pool/vdisk name rules and the dm naming scheme (pure)
 *   json.c       the JSON writer (pure)
 *   nl.c         the generic netlink client (libnl-3, libnl-genl-3)
 *   objects.c    kernel replies parsed into pools, vdisks and statistics
 *   hist.c       latency histogram quantiles (pure)
 *   dm.c         dm devices over libdevmapper
 *   conf.c       the pool configuration files (VDISK_CONF_DIR)
 *   pool.c       pool create/activate/list/status/remove
 *   vdisk.c      create, snapshot, clone, group-snapshot, resize, remove
 *   list.c       list (the snapshot lineage tree)
 *   stats.c      stats (per-VM I/O)
 *   monitor.c    monitor (the event stream)
 *   check.c      check (vdisk-check on a held metadata snapshot)
 */
#ifndef VDISKCTL_H
#define VDISKCTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <linux/dm-vdisk-netlink.h>

#define VC_EXIT_OK	0
#define VC_EXIT_ERR	1
#define VC_EXIT_USAGE	2

/* Longest pool or vdisk name (VDISK_NAME_MAX includes the NUL). */
#define VC_NAME_LEN_MAX	(VDISK_NAME_MAX - 1)
#define VC_DM_NAME_MAX	128	/* DM_NAME_LEN */

/* ---- size.c ------------------------------------------------------------ */
/* "20G" -> bytes.  On error returns -EINVAL/-ERANGE and sets *why. */
int vc_parse_size(const char *s, uint64_t *bytes, const char **why);
/* bytes -> "20G", "1.5G", "512B" in @buf. */
char *vc_format_size(uint64_t bytes, char *buf, size_t len);
/* A plain decimal u64: -EINVAL (not a number) or -ERANGE. */
int vc_parse_u64(const char *s, uint64_t *v);

/* ---- names.c ----------------------------------------------------------- */
/* NULL if valid, else why not (a sentence fragment). */
const char *vc_vdisk_name_invalid(const char *name);
const char *vc_pool_name_invalid(const char *name);
/* The dm device name of a vdisk: "POOL-NAME".  -1 if it does not fit. */
int vc_dm_vdisk_name(char *buf, size_t len, const char *pool, const char *vdisk);
/* The reverse; -1 if @dm_name is not of that form. */
int vc_split_dm_vdisk_name(const char *dm_name, char *pool, size_t plen,
			   char *vdisk, size_t vlen);

/* ---- json.c ------------------------------------------------------------ */
#define VC_JSON_DEPTH 16
struct vc_json {
	FILE *f;
	int depth;
	unsigned char need_comma[VC_JSON_DEPTH];
};
void vc_json_escape(FILE *f, const char *s);
void vc_json_init(struct vc_json *j, FILE *f);
/* @key is NULL inside arrays and for the top-level value. */
void vc_json_obj_begin(struct vc_json *j, const char *key);
void vc_json_obj_end(struct vc_json *j);
void vc_json_arr_begin(struct vc_json *j, const char *key);
void vc_json_arr_end(struct vc_json *j);
void vc_json_str(struct vc_json *j, const char *key, const char *val);
void vc_json_u64(struct vc_json *j, const char *key, uint64_t v);
void vc_json_double(struct vc_json *j, const char *key, double v);
void vc_json_bool(struct vc_json *j, const char *key, int v);
void vc_json_null(struct vc_json *j, const char *key);

/* ---- main.c ------------------------------------------------------------ */
extern int vc_json_output;	/* --json given */
extern const char *vc_argv0_dir;	/* directory of the vdiskctl binary */
void vc_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void vc_hint(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints the message and the command's usage line; returns VC_EXIT_USAGE. */
int vc_usage_err(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int vc_perm_denied(void);

/*
 * Common option parsing for a command: --help prints @help and returns 0
 * through *done; --json sets vc_json_output.  Other options are described
 * by @opts (getopt_long) and handed to @fn one by one.
 */
struct option;
int vc_getopt(int argc, char **argv, const char *usage, const char *help,
	      const struct option *opts,
	      int (*fn)(int opt, const char *arg, void *ctx), void *ctx,
	      int *done);

/* ---- nl.c -------------------------------------------------------------- */
struct nl_msg;
struct nlattr;
struct vc_nl;
/* Connect and resolve the family; prints what to do on failure. */
int vc_nl_open(struct vc_nl **nlp, bool check_version);
void vc_nl_close(struct vc_nl *nl);
uint32_t vc_nl_family_version(struct vc_nl *nl);
/* A new request; @dump sets NLM_F_DUMP. */
struct nl_msg *vc_nl_new(struct vc_nl *nl, uint8_t cmd, bool dump);
/* Called per reply message with the top-level attributes (VDISK_ATTR_MAX+1). */
typedef int (*vc_nl_fn)(struct nlattr **tb, uint8_t cmd, void *arg);
/* Send, collect replies until the ack or the dump's end; frees @msg.
 * 0 or -errno (the kernel's, or -EIO for a transport failure).
 */
int vc_nl_call(struct vc_nl *nl, struct nl_msg *msg, vc_nl_fn fn, void *arg);
/* The kernel's extack message of the last failed call, "" if none. */
const char *vc_nl_extack(struct vc_nl *nl);
/*
 * Report a failed call: "vdiskctl: WHAT: <extack or strerror>" and a hint
 * saying what to do (naming @pool when given).  Returns VC_EXIT_ERR.
 */
int vc_nl_fail(struct vc_nl *nl, int err, const char *pool, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Events: join the multicast group, then call @fn for each event forever
 * (until @fn returns non-zero or an error).
 */
int vc_nl_listen(struct vc_nl *nl, vc_nl_fn fn, void *arg);

/* ---- objects.c --------------------------------------------------------- */
struct vc_pool {
	char name[VC_DM_NAME_MAX];
	uint32_t dev, meta_dev, data_dev;
	uint8_t mode;
	char reason[64];
	uint64_t transaction_id;
	uint32_t block_size;		/* bytes */
	uint64_t data_blocks, data_free, meta_blocks, meta_free, low_water;
	uint32_t features;
	bool needs_check, deletions_pending;
};

struct vc_vdisk {
	char pool[VC_DM_NAME_MAX];
	char name[VDISK_NAME_MAX];
	uint64_t id, size, origin_id, creation_time, snapshot_time, mapped_blocks;
	bool has_origin;
	uint32_t flags, dev;
	char dm_name[VC_DM_NAME_MAX];
};

struct vc_stats {
	char pool[VC_DM_NAME_MAX];
	char name[VDISK_NAME_MAX];
	uint64_t id;
	uint64_t reads, writes, read_bytes, write_bytes, discards, flushes, in_flight;
	uint64_t read_lat[VDISK_LAT_BUCKETS], write_lat[VDISK_LAT_BUCKETS];
};

const char *vc_pool_mode_name(uint8_t mode);
/* Kernel queries.  Lists are malloc'ed arrays (free()); 0 or -errno. */
int vc_get_pools(struct vc_nl *nl, const char *pool, struct vc_pool **out, size_t *n);
int vc_get_pool(struct vc_nl *nl, const char *pool, struct vc_pool *out);
int vc_get_vdisks(struct vc_nl *nl, const char *pool, struct vc_vdisk **out, size_t *n);
int vc_get_vdisk(struct vc_nl *nl, const char *pool, const char *name,
		 struct vc_vdisk *out);
int vc_get_stats(struct vc_nl *nl, const char *pool, const char *vdisk,
		 struct vc_stats **out, size_t *n);
void vc_parse_vdisk(struct nlattr **tb, struct vc_vdisk *v);
/* hist.c: the quantile q (0..1) of a latency histogram, in microseconds (the upper
 * edge of the bucket it falls into); 0 for an empty histogram.  Pure.
 */
uint64_t vc_hist_quantile(const uint64_t *hist, unsigned int n, double q);
/* A new_encode_dev() number as /dev/NAME (via sysfs); -1 if unknown. */
int vc_devt_path(uint32_t dev, char *buf, size_t len);

/* ---- dm.c -------------------------------------------------------------- */
struct vc_dm_info {
	bool exists, suspended;
	int open_count;
	uint32_t major, minor;
};
/* Check access to the dm control device; prints the reason on failure. */
int vc_dm_init(void);
/* The last libdevmapper error message, "" if none. */
const char *vc_dm_error(void);
int vc_dm_info(const char *name, struct vc_dm_info *info);
/* Create @name with one target and activate it (nothing left on failure). */
int vc_dm_create(const char *name, uint64_t sectors, const char *target,
		 const char *params);
/* Load a new table into @name and resume it. */
int vc_dm_reload(const char *name, uint64_t sectors, const char *target,
		 const char *params);
int vc_dm_suspend(const char *name);
int vc_dm_resume(const char *name);
int vc_dm_remove(const char *name);
/* The first target line of @name's live table. */
int vc_dm_table(const char *name, uint64_t *sectors, char *target, size_t tlen,
		char *params, size_t plen);
/* Size of a block device in bytes; prints why on failure. */
int vc_blockdev_size(const char *path, uint64_t *bytes);

/* ---- conf.c ------------------------------------------------------------ */
struct vc_pool_conf {
	char metadata[256];
	char data[256];
	uint32_t block_sectors;
	uint64_t low_water;
	bool error_if_no_space;
};
const char *vc_conf_dir(void);
/* 0, -ENOENT (no file) or -EINVAL (bad file, message printed). */
int vc_conf_read(const char *pool, struct vc_pool_conf *c);
int vc_conf_write(const char *pool, const struct vc_pool_conf *c);
/* Names of the configured pools (malloc'ed array of malloc'ed strings). */
int vc_conf_list(char ***names, size_t *n);

/* ---- commands ---------------------------------------------------------- */
int vc_cmd_pool(int argc, char **argv);
int vc_cmd_create(int argc, char **argv);
int vc_cmd_snapshot(int argc, char **argv);
int vc_cmd_clone(int argc, char **argv);
int vc_cmd_group_snapshot(int argc, char **argv);
int vc_cmd_resize(int argc, char **argv);
int vc_cmd_remove(int argc, char **argv);
int vc_cmd_list(int argc, char **argv);
int vc_cmd_stats(int argc, char **argv);
int vc_cmd_monitor(int argc, char **argv);
int vc_cmd_check(int argc, char **argv);

/* vdisk.c, shared with pool activate: bring up POOL-NAME for @v. */
int vc_activate_vdisk(const char *pool, const struct vc_vdisk *v);
/*
 * vdisk.c, shared with pool remove: the dm device of active vdisk @v (named
 * @name) is the one the module reports, else the default POOL-NAME; fills
 * it into @v->dm_name.
 */
void vc_vdisk_dm_name(struct vc_vdisk *v, const char *pool, const char *name);

#endif /* VDISKCTL_H */
