// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl: the kernel's replies as C objects: pools (POOL_GET), vdisks
 * (VDISK_GET) and per-vdisk statistics (STATS_GET), and the helpers that
 * read them (mode names, dev_t to path).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <netlink/attr.h>
#include <netlink/genl/genl.h>

#include "vdiskctl.h"

const char *vc_pool_mode_name(uint8_t mode)
{
	switch (mode) {
	case VDISK_POOL_MODE_RW:
		return "rw";
	case VDISK_POOL_MODE_OUT_OF_DATA_SPACE:
		return "out_of_data_space";
	case VDISK_POOL_MODE_OUT_OF_METADATA_SPACE:
		return "out_of_metadata_space";
	case VDISK_POOL_MODE_RO:
		return "ro";
	case VDISK_POOL_MODE_FAIL:
		return "fail";
	default:
		return "unknown";
	}
}

static uint64_t get_u64(struct nlattr *a)
{
	return a && nla_len(a) >= 8 ? nla_get_u64(a) : 0;
}

static uint32_t get_u32(struct nlattr *a)
{
	return a && nla_len(a) >= 4 ? nla_get_u32(a) : 0;
}

static void get_str(struct nlattr *a, char *buf, size_t len)
{
	buf[0] = 0;
	if (a && nla_len(a) > 0)
		snprintf(buf, len, "%.*s", nla_len(a), (const char *)nla_data(a));
}

static void parse_pool(struct nlattr **tb, struct vc_pool *p)
{
	memset(p, 0, sizeof(*p));
	get_str(tb[VDISK_ATTR_POOL_NAME], p->name, sizeof(p->name));
	p->dev = get_u32(tb[VDISK_ATTR_POOL_DEV]);
	p->meta_dev = get_u32(tb[VDISK_ATTR_POOL_METADATA_DEV]);
	p->data_dev = get_u32(tb[VDISK_ATTR_POOL_DATA_DEV]);
	if (tb[VDISK_ATTR_POOL_MODE] && nla_len(tb[VDISK_ATTR_POOL_MODE]) >= 1)
		p->mode = nla_get_u8(tb[VDISK_ATTR_POOL_MODE]);
	get_str(tb[VDISK_ATTR_POOL_MODE_REASON], p->reason, sizeof(p->reason));
	p->transaction_id = get_u64(tb[VDISK_ATTR_POOL_TRANSACTION_ID]);
	p->block_size = get_u32(tb[VDISK_ATTR_POOL_BLOCK_SIZE]);
	p->data_blocks = get_u64(tb[VDISK_ATTR_POOL_DATA_BLOCKS]);
	p->data_free = get_u64(tb[VDISK_ATTR_POOL_DATA_FREE]);
	p->meta_blocks = get_u64(tb[VDISK_ATTR_POOL_META_BLOCKS]);
	p->meta_free = get_u64(tb[VDISK_ATTR_POOL_META_FREE]);
	p->low_water = get_u64(tb[VDISK_ATTR_POOL_LOW_WATER]);
	p->features = get_u32(tb[VDISK_ATTR_POOL_FEATURES]);
	p->needs_check = !!tb[VDISK_ATTR_POOL_NEEDS_CHECK];
	p->deletions_pending = !!tb[VDISK_ATTR_POOL_DELETIONS_PENDING];
}

void vc_parse_vdisk(struct nlattr **tb, struct vc_vdisk *v)
{
	memset(v, 0, sizeof(*v));
	get_str(tb[VDISK_ATTR_POOL_NAME], v->pool, sizeof(v->pool));
	get_str(tb[VDISK_ATTR_VDISK_NAME], v->name, sizeof(v->name));
	v->id = get_u64(tb[VDISK_ATTR_VDISK_ID]);
	v->size = get_u64(tb[VDISK_ATTR_VDISK_SIZE]);
	v->has_origin = !!tb[VDISK_ATTR_VDISK_ORIGIN_ID];
	v->origin_id = get_u64(tb[VDISK_ATTR_VDISK_ORIGIN_ID]);
	v->creation_time = get_u64(tb[VDISK_ATTR_VDISK_CREATION_TIME]);
	v->snapshot_time = get_u64(tb[VDISK_ATTR_VDISK_SNAPSHOT_TIME]);
	v->mapped_blocks = get_u64(tb[VDISK_ATTR_VDISK_MAPPED_BLOCKS]);
	v->flags = get_u32(tb[VDISK_ATTR_VDISK_FLAGS]);
	v->dev = get_u32(tb[VDISK_ATTR_VDISK_DEV]);
	get_str(tb[VDISK_ATTR_VDISK_DM_NAME], v->dm_name, sizeof(v->dm_name));
}

static void parse_hist(struct nlattr *a, uint64_t *hist)
{
	int n = a ? nla_len(a) : 0;

	memset(hist, 0, VDISK_LAT_BUCKETS * sizeof(*hist));
	if (n > (int)(VDISK_LAT_BUCKETS * sizeof(*hist)))
		n = VDISK_LAT_BUCKETS * sizeof(*hist);
	if (n > 0)
		memcpy(hist, nla_data(a), n);
}

static void parse_stats(struct nlattr **tb, struct vc_stats *s)
{
	struct nlattr *st[VDISK_STATS_MAX + 1];

	memset(s, 0, sizeof(*s));
	get_str(tb[VDISK_ATTR_POOL_NAME], s->pool, sizeof(s->pool));
	get_str(tb[VDISK_ATTR_VDISK_NAME], s->name, sizeof(s->name));
	s->id = get_u64(tb[VDISK_ATTR_VDISK_ID]);
	if (!tb[VDISK_ATTR_STATS] ||
	    nla_parse_nested(st, VDISK_STATS_MAX, tb[VDISK_ATTR_STATS], NULL))
		return;
	s->reads = get_u64(st[VDISK_STATS_READS]);
	s->writes = get_u64(st[VDISK_STATS_WRITES]);
	s->read_bytes = get_u64(st[VDISK_STATS_READ_BYTES]);
	s->write_bytes = get_u64(st[VDISK_STATS_WRITE_BYTES]);
	s->discards = get_u64(st[VDISK_STATS_DISCARDS]);
	s->flushes = get_u64(st[VDISK_STATS_FLUSHES]);
	s->in_flight = get_u64(st[VDISK_STATS_IN_FLIGHT]);
	parse_hist(st[VDISK_STATS_READ_LAT_HIST], s->read_lat);
	parse_hist(st[VDISK_STATS_WRITE_LAT_HIST], s->write_lat);
}

static void parse_pool_item(struct nlattr **tb, void *item)
{
	parse_pool(tb, item);
}

static void parse_vdisk_item(struct nlattr **tb, void *item)
{
	vc_parse_vdisk(tb, item);
}

static void parse_stats_item(struct nlattr **tb, void *item)
{
	parse_stats(tb, item);
}

/* A growing array of replies. */
struct collect {
	void *items;
	size_t n, cap, size;
	void (*parse)(struct nlattr **tb, void *item);
};

static int collect_fn(struct nlattr **tb, uint8_t cmd, void *arg)
{
	struct collect *c = arg;

	(void)cmd;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		void *p = realloc(c->items, cap * c->size);

		if (!p)
			return -1;
		c->items = p;
		c->cap = cap;
	}
	c->parse(tb, (char *)c->items + c->n * c->size);
	c->n++;
	return 0;
}

static int query(struct vc_nl *nl, uint8_t cmd, bool dump, const char *pool,
		 const char *vdisk, struct collect *c)
{
	struct nl_msg *msg = vc_nl_new(nl, cmd, dump);
	int r;

	if (!msg)
		return -ENOMEM;
	if ((pool && nla_put_string(msg, VDISK_ATTR_POOL_NAME, pool)) ||
	    (vdisk && nla_put_string(msg, VDISK_ATTR_VDISK_NAME, vdisk))) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r = vc_nl_call(nl, msg, collect_fn, c);
	if (r) {
		free(c->items);
		c->items = NULL;
		c->n = 0;
	}
	return r;
}

int vc_get_pools(struct vc_nl *nl, const char *pool, struct vc_pool **out, size_t *n)
{
	struct collect c = { .size = sizeof(struct vc_pool),
			     .parse = parse_pool_item };
	int r = query(nl, VDISK_CMD_POOL_GET, !pool, pool, NULL, &c);

	*out = c.items;
	*n = c.n;
	return r;
}

int vc_get_pool(struct vc_nl *nl, const char *pool, struct vc_pool *out)
{
	struct vc_pool *p;
	size_t n;
	int r = vc_get_pools(nl, pool, &p, &n);

	if (r)
		return r;
	if (n < 1) {
		free(p);
		return -ENODEV;
	}
	*out = p[0];
	free(p);
	return 0;
}

int vc_get_vdisks(struct vc_nl *nl, const char *pool, struct vc_vdisk **out, size_t *n)
{
	struct collect c = { .size = sizeof(struct vc_vdisk),
			     .parse = parse_vdisk_item };
	int r = query(nl, VDISK_CMD_VDISK_GET, true, pool, NULL, &c);

	*out = c.items;
	*n = c.n;
	return r;
}

int vc_get_vdisk(struct vc_nl *nl, const char *pool, const char *name,
		 struct vc_vdisk *out)
{
	struct collect c = { .size = sizeof(struct vc_vdisk),
			     .parse = parse_vdisk_item };
	int r = query(nl, VDISK_CMD_VDISK_GET, false, pool, name, &c);

	if (r)
		return r;
	if (c.n < 1) {
		free(c.items);
		return -ENOENT;
	}
	*out = ((struct vc_vdisk *)c.items)[0];
	free(c.items);
	return 0;
}

int vc_get_stats(struct vc_nl *nl, const char *pool, const char *vdisk,
		 struct vc_stats **out, size_t *n)
{
	struct collect c = { .size = sizeof(struct vc_stats),
			     .parse = parse_stats_item };
	int r = query(nl, VDISK_CMD_STATS_GET, true, pool, vdisk, &c);

	*out = c.items;
	*n = c.n;
	return r;
}

int vc_devt_path(uint32_t dev, char *buf, size_t len)
{
	/* new_encode_dev(): minor low byte, major, then the minor's high bits. */
	unsigned int major = (dev & 0xfff00) >> 8;
	unsigned int minor = (dev & 0xff) | ((dev >> 12) & 0xfff00);
	char path[96], line[256];
	FILE *f;
	int r = -1;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/uevent", major, minor);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "DEVNAME=", 8)) {
			line[strcspn(line, "\n")] = 0;
			snprintf(buf, len, "/dev/%s", line + 8);
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}
