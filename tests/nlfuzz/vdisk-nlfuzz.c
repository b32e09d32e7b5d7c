// SPDX-License-Identifier: GPL-2.0
/*
 * vdisk-nlfuzz: a raw-netlink client of the "vdisk" generic netlink family
 * for the VM selftests: a seeded fuzzer and a scripted test client.
 *
 *   vdisk-nlfuzz fuzz --pool NAME [--seed N] [--count N]
 *       Resolve the family, then send N random messages: random commands
 *       (out-of-range ones included), versions, flags, attribute types,
 *       lengths, nesting and padding, truncated headers and attributes, and
 *       well-formed commands with bogus or real pools, names and ids.
 *       Every message must be answered (an error or a well-formed reply,
 *       within 20 s).  Prints TAP-friendly "# ..." summary lines; exit 0 if
 *       every message was answered well.  The same seed sends the same
 *       messages.
 *
 *   vdisk-nlfuzz [--unpriv] [--version V] req CMD [--dump] [KEY=VALUE]...
 *       One request.  CMD: info, pool, vdisk, new, snap, del, set, stats,
 *       msnap, or a number.  KEYs: pool, name, id, size, flags, newname,
 *       op (reserve|release), snap=ORIGIN:NAME (repeatable).  Prints every
 *       reply message as "msg N: key=value ..." and a last line
 *       "parts=P msgs=M" (P: recv calls); on error prints
 *       "error: ERRNO-NAME (N): extack message" and exits 1.
 *       --unpriv: drop to uid/gid 65534 (no capabilities) first.
 *       --version: the genlmsghdr version to send (default the API's).
 *
 *   vdisk-nlfuzz [--unpriv] listen [--count N] [--timeout S]
 *       Join the events group and print one line per event until N events
 *       or S seconds without one.  Prints "ready" once subscribed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../../include/uapi/linux/dm-vdisk-netlink.h"

#define BUF_SIZE (64 * 1024)
#define REPLY_TIMEOUT_S 20

static int nl_fd = -1;
static uint16_t family_id;
static uint32_t family_version;
static uint32_t events_group;
static uint32_t seq_no = 1;
static int genl_version = VDISK_GENL_VERSION;
/* While resolving, replies come from the controller, not the family. */
static bool resolving;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "vdisk-nlfuzz: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

/* ---------------- message building ---------------- */

struct msg {
	unsigned char buf[BUF_SIZE];
	size_t len;
	size_t nest[8];
	int depth;
};

static struct nlmsghdr *msg_start(struct msg *m, uint16_t type, uint16_t flags, uint8_t cmd,
				  uint8_t version)
{
	struct nlmsghdr *nlh = (struct nlmsghdr *)m->buf;
	struct genlmsghdr *g;

	memset(m->buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq_no++;
	g = (struct genlmsghdr *)(m->buf + NLMSG_HDRLEN);
	g->cmd = cmd;
	g->version = version;
	m->len = NLMSG_HDRLEN + GENL_HDRLEN;
	m->depth = 0;
	return nlh;
}

static void put_attr(struct msg *m, uint16_t type, const void *data, size_t len)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->len);
	size_t total = NLA_ALIGN(NLA_HDRLEN + len);

	if (m->len + total > sizeof(m->buf))
		die("message too large");
	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	if (len)
		memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
	memset((unsigned char *)a + NLA_HDRLEN + len, 0, total - NLA_HDRLEN - len);
	m->len += total;
}

static void put_u8(struct msg *m, uint16_t t, uint8_t v) { put_attr(m, t, &v, 1); }
static void put_u32(struct msg *m, uint16_t t, uint32_t v) { put_attr(m, t, &v, 4); }
static void put_u64(struct msg *m, uint16_t t, uint64_t v) { put_attr(m, t, &v, 8); }
static void put_str(struct msg *m, uint16_t t, const char *s) { put_attr(m, t, s, strlen(s) + 1); }

static void nest_start(struct msg *m, uint16_t type)
{
	if (m->depth == 8)
		die("nesting too deep");
	m->nest[m->depth++] = m->len;
	put_attr(m, type | NLA_F_NESTED, NULL, 0);
}

static void nest_end(struct msg *m)
{
	struct nlattr *a = (struct nlattr *)(m->buf + m->nest[--m->depth]);

	a->nla_len = m->len - m->nest[m->depth];
}

static int msg_send(struct msg *m)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	struct nlmsghdr *nlh = (struct nlmsghdr *)m->buf;

	nlh->nlmsg_len = m->len;
	if (sendto(nl_fd, m->buf, m->len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return 0;
}

/* ---------------- replies ---------------- */

struct reply {
	int error;		/* 0, or the negative errno of the answer */
	char extack[512];
	int msgs;		/* data messages */
	int parts;		/* recv() calls that returned data */
	bool bad;		/* a reply was malformed */
	char why[256];
};

typedef void (*msg_fn)(struct nlmsghdr *nlh, int n, void *ctx);

static const char *attr_names[VDISK_ATTR_MAX + 1] = {
	[VDISK_ATTR_API_VERSION] = "api_version",
	[VDISK_ATTR_MODULE_VERSION] = "module_version",
	[VDISK_ATTR_POOL_NAME] = "pool",
	[VDISK_ATTR_POOL_DEV] = "pool_dev",
	[VDISK_ATTR_POOL_METADATA_DEV] = "metadata_dev",
	[VDISK_ATTR_POOL_DATA_DEV] = "data_dev",
	[VDISK_ATTR_POOL_MODE] = "mode",
	[VDISK_ATTR_POOL_MODE_REASON] = "mode_reason",
	[VDISK_ATTR_POOL_TRANSACTION_ID] = "transaction_id",
	[VDISK_ATTR_POOL_BLOCK_SIZE] = "block_size",
	[VDISK_ATTR_POOL_DATA_BLOCKS] = "data_blocks",
	[VDISK_ATTR_POOL_DATA_FREE] = "data_free",
	[VDISK_ATTR_POOL_META_BLOCKS] = "meta_blocks",
	[VDISK_ATTR_POOL_META_FREE] = "meta_free",
	[VDISK_ATTR_POOL_LOW_WATER] = "low_water",
	[VDISK_ATTR_POOL_FEATURES] = "features",
	[VDISK_ATTR_POOL_NEEDS_CHECK] = "needs_check",
	[VDISK_ATTR_POOL_DELETIONS_PENDING] = "deletions_pending",
	[VDISK_ATTR_VDISK_ID] = "id",
	[VDISK_ATTR_VDISK_NAME] = "name",
	[VDISK_ATTR_VDISK_NEW_NAME] = "new_name",
	[VDISK_ATTR_VDISK_SIZE] = "size",
	[VDISK_ATTR_VDISK_ORIGIN_ID] = "origin",
	[VDISK_ATTR_VDISK_CREATION_TIME] = "ctime",
	[VDISK_ATTR_VDISK_SNAPSHOT_TIME] = "stime",
	[VDISK_ATTR_VDISK_MAPPED_BLOCKS] = "mapped",
	[VDISK_ATTR_VDISK_FLAGS] = "flags",
	[VDISK_ATTR_VDISK_DEV] = "dev",
	[VDISK_ATTR_VDISK_DM_NAME] = "dm_name",
	[VDISK_ATTR_STATS] = "stats",
	[VDISK_ATTR_METADATA_SNAP_BLOCK] = "metadata_snap",
	[VDISK_ATTR_EVENT] = "event",
	[VDISK_ATTR_EVENT_SEQ] = "seq",
	[VDISK_ATTR_RECLAIMED_BLOCKS] = "reclaimed",
};

static const char *stats_names[VDISK_STATS_MAX + 1] = {
	[VDISK_STATS_READS] = "reads",
	[VDISK_STATS_WRITES] = "writes",
	[VDISK_STATS_READ_BYTES] = "read_bytes",
	[VDISK_STATS_WRITE_BYTES] = "write_bytes",
	[VDISK_STATS_DISCARDS] = "discards",
	[VDISK_STATS_FLUSHES] = "flushes",
	[VDISK_STATS_IN_FLIGHT] = "in_flight",
	[VDISK_STATS_READ_LAT_HIST] = "read_lat",
	[VDISK_STATS_WRITE_LAT_HIST] = "write_lat",
};

static const char *event_names[] = {
	[VDISK_EVENT_LOW_WATER] = "low_water",
	[VDISK_EVENT_POOL_MODE] = "pool_mode",
	[VDISK_EVENT_VDISK_CREATED] = "vdisk_created",
	[VDISK_EVENT_VDISK_DELETED] = "vdisk_deleted",
	[VDISK_EVENT_SPACE_RECLAIMED] = "space_reclaimed",
};

/* Check that attributes fill [p, p + len) exactly (4-byte aligned). */
static bool attrs_well_formed(const unsigned char *p, size_t len, int depth)
{
	while (len >= NLA_HDRLEN) {
		const struct nlattr *a = (const struct nlattr *)p;
		size_t al = NLA_ALIGN(a->nla_len);

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return false;
		if ((a->nla_type & NLA_F_NESTED) && depth < 4 &&
		    !attrs_well_formed(p + NLA_HDRLEN, a->nla_len - NLA_HDRLEN, depth + 1))
			return false;
		if (al > len)
			al = len;
		p += al;
		len -= al;
	}
	return len == 0;
}

static uint64_t attr_uint(const struct nlattr *a)
{
	const unsigned char *d = (const unsigned char *)a + NLA_HDRLEN;
	size_t n = a->nla_len - NLA_HDRLEN;
	uint64_t v = 0;

	if (n == 1)
		v = *d;
	else if (n == 4)
		memcpy(&v, d, 4), v &= 0xffffffffu;
	else if (n == 8)
		memcpy(&v, d, 8);
	return v;
}

static bool attr_is_string(int type)
{
	return type == VDISK_ATTR_MODULE_VERSION || type == VDISK_ATTR_POOL_NAME ||
	       type == VDISK_ATTR_POOL_MODE_REASON || type == VDISK_ATTR_VDISK_NAME ||
	       type == VDISK_ATTR_VDISK_DM_NAME || type == VDISK_ATTR_VDISK_NEW_NAME;
}

/* Print one reply or event as key=value words. */
static void print_msg(struct nlmsghdr *nlh, int n, void *ctx)
{
	struct genlmsghdr *g = NLMSG_DATA(nlh);
	unsigned char *p = (unsigned char *)g + GENL_HDRLEN;
	size_t len = nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;
	const char *prefix = ctx;

	printf("%s %d: cmd=%u version=%u", prefix, n, g->cmd, g->version);
	while (len >= NLA_HDRLEN) {
		struct nlattr *a = (struct nlattr *)p;
		int type = a->nla_type & NLA_TYPE_MASK;
		const char *name = type <= VDISK_ATTR_MAX && attr_names[type] ?
				   attr_names[type] : NULL;
		size_t al = NLA_ALIGN(a->nla_len);

		if (type == VDISK_ATTR_PAD) {
			/* padding */
		} else if (!name) {
			printf(" attr%d", type);
		} else if (attr_is_string(type)) {
			printf(" %s=%.*s", name, (int)strnlen((char *)a + NLA_HDRLEN,
							      a->nla_len - NLA_HDRLEN),
			       (char *)a + NLA_HDRLEN);
		} else if (type == VDISK_ATTR_POOL_NEEDS_CHECK ||
			   type == VDISK_ATTR_POOL_DELETIONS_PENDING) {
			printf(" %s=1", name);
		} else if (type == VDISK_ATTR_EVENT) {
			uint64_t e = attr_uint(a);

			printf(" event=%s", e < sizeof(event_names) / sizeof(event_names[0]) &&
			       event_names[e] ? event_names[e] : "unknown");
		} else if (type == VDISK_ATTR_STATS) {
			unsigned char *q = p + NLA_HDRLEN;
			size_t ql = a->nla_len - NLA_HDRLEN;

			while (ql >= NLA_HDRLEN) {
				struct nlattr *s = (struct nlattr *)q;
				int st = s->nla_type & NLA_TYPE_MASK;

				if (st == VDISK_STATS_READ_LAT_HIST || st == VDISK_STATS_WRITE_LAT_HIST) {
					uint64_t h[VDISK_LAT_BUCKETS], sum = 0;
					int i;

					memcpy(h, q + NLA_HDRLEN, sizeof(h));
					for (i = 0; i < VDISK_LAT_BUCKETS; i++)
						sum += h[i];
					printf(" %s=%" PRIu64, stats_names[st], sum);
				} else if (st > VDISK_STATS_PAD && st <= VDISK_STATS_MAX) {
					printf(" %s=%" PRIu64, stats_names[st], attr_uint(s));
				}
				if ((size_t)NLA_ALIGN(s->nla_len) >= ql)
					break;
				ql -= NLA_ALIGN(s->nla_len);
				q += NLA_ALIGN(s->nla_len);
			}
		} else {
			printf(" %s=%" PRIu64, name, attr_uint(a));
		}
		if (al >= len)
			break;
		p += al;
		len -= al;
	}
	printf("\n");
}

/* Validate a data message of our family. */
static bool check_msg(struct nlmsghdr *nlh, struct reply *r)
{
	struct genlmsghdr *g;

	if (resolving)
		return nlh->nlmsg_type == GENL_ID_CTRL;
	if (nlh->nlmsg_type != family_id) {
		snprintf(r->why, sizeof(r->why), "reply of type %u, not the family's %u",
			 nlh->nlmsg_type, family_id);
		return false;
	}
	if (nlh->nlmsg_len < NLMSG_HDRLEN + GENL_HDRLEN) {
		snprintf(r->why, sizeof(r->why), "reply shorter than the genl header");
		return false;
	}
	g = NLMSG_DATA(nlh);
	if (g->version != VDISK_GENL_VERSION || g->cmd == 0 || g->cmd > VDISK_CMD_MAX) {
		snprintf(r->why, sizeof(r->why), "reply with version %u cmd %u", g->version, g->cmd);
		return false;
	}
	if (!attrs_well_formed((unsigned char *)g + GENL_HDRLEN,
			       nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN, 0)) {
		snprintf(r->why, sizeof(r->why), "reply attributes are malformed");
		return false;
	}
	return true;
}

/* The extack message of an NLMSG_ERROR or NLMSG_DONE carrying TLVs. */
static void get_extack(struct nlmsghdr *nlh, size_t off, struct reply *r)
{
	unsigned char *p = (unsigned char *)nlh + off;
	size_t len = nlh->nlmsg_len > off ? nlh->nlmsg_len - off : 0;

	while (len >= NLA_HDRLEN) {
		struct nlattr *a = (struct nlattr *)p;

		if (a->nla_len < NLA_HDRLEN || a->nla_len > len)
			return;
		if ((a->nla_type & NLA_TYPE_MASK) == NLMSGERR_ATTR_MSG)
			snprintf(r->extack, sizeof(r->extack), "%.*s",
				 (int)strnlen((char *)a + NLA_HDRLEN, a->nla_len - NLA_HDRLEN),
				 (char *)a + NLA_HDRLEN);
		if ((size_t)NLA_ALIGN(a->nla_len) >= len)
			return;
		len -= NLA_ALIGN(a->nla_len);
		p += NLA_ALIGN(a->nla_len);
	}
}

/*
 * Receive until the answer to @seq is complete: an ACK or error, or
 * NLMSG_DONE of a dump.  Returns -ETIMEDOUT if nothing came in time.
 */
static int recv_reply(uint32_t seq, bool dump, struct reply *r, msg_fn fn, void *ctx)
{
	static unsigned char buf[BUF_SIZE];

	(void)dump;	/* a dump ends with NLMSG_DONE, a request with its ACK */
	memset(r, 0, sizeof(*r));
	for (;;) {
		struct pollfd pfd = { .fd = nl_fd, .events = POLLIN };
		struct nlmsghdr *nlh;
		ssize_t n;
		int len;

		if (poll(&pfd, 1, REPLY_TIMEOUT_S * 1000) <= 0)
			return -ETIMEDOUT;
		n = recv(nl_fd, buf, sizeof(buf), 0);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			if (errno == ENOBUFS) {
				snprintf(r->why, sizeof(r->why), "socket overrun");
				r->bad = true;
				return 0;
			}
			return -errno;
		}
		len = n;
		r->parts++;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (unsigned int)len);
		     nlh = NLMSG_NEXT(nlh, len)) {
			if (nlh->nlmsg_seq != seq)
				continue;	/* a late answer to an earlier message */
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(nlh);
				size_t off = NLMSG_HDRLEN + sizeof(*e);

				if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
					off += e->msg.nlmsg_len - NLMSG_HDRLEN;
				r->error = e->error;
				if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
					get_extack(nlh, NLMSG_ALIGN(off), r);
				return 0;
			}
			if (nlh->nlmsg_type == NLMSG_DONE) {
				if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int))
					memcpy(&r->error, NLMSG_DATA(nlh), sizeof(int));
				if (nlh->nlmsg_flags & NLM_F_ACK_TLVS)
					get_extack(nlh, NLMSG_HDRLEN + sizeof(int), r);
				return 0;
			}
			if (!check_msg(nlh, r))
				r->bad = true;
			else if (fn)
				fn(nlh, r->msgs, ctx);
			r->msgs++;
		}
	}
}

/* ---------------- family resolution ---------------- */

static void nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int one = 1, rcvbuf = 4 << 20;

	nl_fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (nl_fd < 0)
		die("netlink socket: %s", strerror(errno));
	if (bind(nl_fd, (struct sockaddr *)&sa, sizeof(sa)))
		die("bind: %s", strerror(errno));
	setsockopt(nl_fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_fd, SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	setsockopt(nl_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
}

static void parse_family(struct nlmsghdr *nlh, int n, void *ctx)
{
	struct genlmsghdr *g = NLMSG_DATA(nlh);
	unsigned char *p = (unsigned char *)g + GENL_HDRLEN;
	int len = nlh->nlmsg_len - NLMSG_HDRLEN - GENL_HDRLEN;

	(void)n;
	(void)ctx;
	while (len >= NLA_HDRLEN) {
		struct nlattr *a = (struct nlattr *)p;
		int type = a->nla_type & NLA_TYPE_MASK;

		if (type == CTRL_ATTR_FAMILY_ID)
			memcpy(&family_id, p + NLA_HDRLEN, 2);
		else if (type == CTRL_ATTR_VERSION)
			memcpy(&family_version, p + NLA_HDRLEN, 4);
		else if (type == CTRL_ATTR_MCAST_GROUPS) {
			unsigned char *q = p + NLA_HDRLEN;
			int ql = a->nla_len - NLA_HDRLEN;

			while (ql >= NLA_HDRLEN) {
				struct nlattr *grp = (struct nlattr *)q;
				unsigned char *r = q + NLA_HDRLEN;
				int rl = grp->nla_len - NLA_HDRLEN;
				uint32_t id = 0;
				bool events = false;

				while (rl >= NLA_HDRLEN) {
					struct nlattr *b = (struct nlattr *)r;

					if ((b->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GRP_ID)
						memcpy(&id, r + NLA_HDRLEN, 4);
					if ((b->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_MCAST_GRP_NAME &&
					    !strcmp((char *)r + NLA_HDRLEN, VDISK_GENL_MCGRP_EVENTS))
						events = true;
					rl -= NLA_ALIGN(b->nla_len);
					r += NLA_ALIGN(b->nla_len);
				}
				if (events)
					events_group = id;
				ql -= NLA_ALIGN(grp->nla_len);
				q += NLA_ALIGN(grp->nla_len);
			}
		}
		len -= NLA_ALIGN(a->nla_len);
		p += NLA_ALIGN(a->nla_len);
	}
}

static void resolve_family(void)
{
	static struct msg m;
	struct nlmsghdr *nlh;
	struct reply r;
	int err;

	nlh = msg_start(&m, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, CTRL_CMD_GETFAMILY, 1);
	put_str(&m, CTRL_ATTR_FAMILY_NAME, VDISK_GENL_NAME);
	if (msg_send(&m))
		die("send: %s", strerror(errno));
	resolving = true;
	err = recv_reply(nlh->nlmsg_seq, false, &r, parse_family, NULL);
	resolving = false;
	if (err || r.error || !family_id)
		die("cannot resolve the '%s' family (%s): is dm-vdisk loaded?", VDISK_GENL_NAME,
		    strerror(err ? -err : r.error ? -r.error : ENOENT));
	if (family_version != VDISK_GENL_VERSION)
		die("the module speaks vdisk API version %u, this program version %d",
		    family_version, VDISK_GENL_VERSION);
}

/* ---------------- req ---------------- */

static const struct {
	const char *name;
	int cmd;
} cmd_names[] = {
	{ "info", VDISK_CMD_GET_INFO }, { "pool", VDISK_CMD_POOL_GET },
	{ "vdisk", VDISK_CMD_VDISK_GET }, { "new", VDISK_CMD_VDISK_NEW },
	{ "snap", VDISK_CMD_SNAPSHOT }, { "del", VDISK_CMD_VDISK_DEL },
	{ "set", VDISK_CMD_VDISK_SET }, { "stats", VDISK_CMD_STATS_GET },
	{ "msnap", VDISK_CMD_METADATA_SNAP },
};

static uint64_t num(const char *s)
{
	char *end;
	uint64_t v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end || !*s)
		die("not a number: '%s'", s);
	return v;
}

static int do_req(int argc, char **argv)
{
	static struct msg m;
	struct nlmsghdr *nlh;
	bool dump = false, snaps = false;
	struct reply r;
	int cmd = -1, i, err;
	size_t k;

	if (argc < 1)
		die("req: which command?");
	for (k = 0; k < sizeof(cmd_names) / sizeof(cmd_names[0]); k++)
		if (!strcmp(argv[0], cmd_names[k].name))
			cmd = cmd_names[k].cmd;
	if (cmd < 0)
		cmd = num(argv[0]);
	for (i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--dump"))
			dump = true;
	nlh = msg_start(&m, family_id, NLM_F_REQUEST | NLM_F_ACK | (dump ? NLM_F_DUMP : 0), cmd,
			genl_version);
	for (i = 1; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		const char *k2, *v;

		if (!strcmp(argv[i], "--dump"))
			continue;
		if (!eq)
			die("req: expected KEY=VALUE, not '%s'", argv[i]);
		*eq = '\0';
		k2 = argv[i];
		v = eq + 1;
		if (!strcmp(k2, "pool"))
			put_str(&m, VDISK_ATTR_POOL_NAME, v);
		else if (!strcmp(k2, "name"))
			put_str(&m, VDISK_ATTR_VDISK_NAME, v);
		else if (!strcmp(k2, "newname"))
			put_str(&m, VDISK_ATTR_VDISK_NEW_NAME, v);
		else if (!strcmp(k2, "id"))
			put_u64(&m, VDISK_ATTR_VDISK_ID, num(v));
		else if (!strcmp(k2, "size"))
			put_u64(&m, VDISK_ATTR_VDISK_SIZE, num(v));
		else if (!strcmp(k2, "flags"))
			put_u32(&m, VDISK_ATTR_VDISK_FLAGS, num(v));
		else if (!strcmp(k2, "op"))
			put_u8(&m, VDISK_ATTR_METADATA_SNAP_OP,
			       !strcmp(v, "reserve") ? VDISK_METADATA_SNAP_RESERVE :
			       !strcmp(v, "release") ? VDISK_METADATA_SNAP_RELEASE : num(v));
		else if (!strcmp(k2, "attr"))	/* attr=TYPE: an empty attribute */
			put_attr(&m, num(v), NULL, 0);
		else if (!strcmp(k2, "snap")) {
			char *colon = strchr(v, ':');

			if (!colon)
				die("snap=ORIGIN:NAME");
			*colon = '\0';
			if (!snaps)
				nest_start(&m, VDISK_ATTR_SNAPSHOTS);
			snaps = true;
			nest_start(&m, VDISK_ATTR_SNAPSHOT);
			put_str(&m, VDISK_ATTR_SNAP_ORIGIN, v);
			put_str(&m, VDISK_ATTR_VDISK_NAME, colon + 1);
			nest_end(&m);
		} else {
			die("req: unknown key '%s'", k2);
		}
	}
	if (snaps)
		nest_end(&m);
	err = msg_send(&m);
	if (err)
		die("send: %s", strerror(-err));
	err = recv_reply(nlh->nlmsg_seq, dump, &r, print_msg, "msg");
	if (err) {
		printf("error: %s (%d): no answer\n", strerrorname_np(-err), err);
		return 1;
	}
	if (r.bad) {
		printf("error: malformed reply: %s\n", r.why);
		return 1;
	}
	printf("parts=%d msgs=%d\n", r.parts, r.msgs);
	if (r.error) {
		printf("error: %s (%d): %s\n", strerrorname_np(-r.error), r.error, r.extack);
		return 1;
	}
	return 0;
}

/* ---------------- listen ---------------- */

static int do_listen(int argc, char **argv)
{
	static unsigned char buf[BUF_SIZE];
	int count = 0, timeout = 10, i, n = 0;

	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--count") && i + 1 < argc)
			count = num(argv[++i]);
		else if (!strcmp(argv[i], "--timeout") && i + 1 < argc)
			timeout = num(argv[++i]);
		else
			die("listen: unknown argument '%s'", argv[i]);
	}
	if (!events_group)
		die("the family has no '%s' group", VDISK_GENL_MCGRP_EVENTS);
	if (setsockopt(nl_fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &events_group,
		       sizeof(events_group))) {
		printf("error: %s (%d): cannot join the events group\n",
		       strerrorname_np(errno), -errno);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	while (!count || n < count) {
		struct pollfd pfd = { .fd = nl_fd, .events = POLLIN };
		struct nlmsghdr *nlh;
		struct reply r;
		ssize_t len;
		int l;

		if (poll(&pfd, 1, timeout * 1000) <= 0)
			break;
		len = recv(nl_fd, buf, sizeof(buf), 0);
		if (len < 0)
			die("recv: %s", strerror(errno));
		l = len;
		for (nlh = (struct nlmsghdr *)buf; NLMSG_OK(nlh, (unsigned int)l);
		     nlh = NLMSG_NEXT(nlh, l)) {
			memset(&r, 0, sizeof(r));
			if (!check_msg(nlh, &r)) {
				printf("error: malformed event: %s\n", r.why);
				return 1;
			}
			print_msg(nlh, n++, "event");
		}
		fflush(stdout);
	}
	printf("events=%d\n", n);
	return 0;
}

/* ---------------- fuzz ---------------- */

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ULL;
}

static unsigned int below(unsigned int n)
{
	return n ? rnd() % n : 0;
}

static const char *fuzz_pool;

static void fuzz_name(char *buf, size_t size)
{
	static const char chars[] =
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.+:-";
	unsigned int len, i;

	switch (below(6)) {
	case 0:		/* a plausible, valid name */
		snprintf(buf, size, "fz%u", below(40));
		return;
	case 1:		/* bad characters */
		snprintf(buf, size, "%c%s", "-./ \x01"[below(5)], below(2) ? "x" : "");
		return;
	case 2:		/* long: around the limit */
		len = VDISK_NAME_MAX - 3 + below(6);
		break;
	default:
		len = below(12);
		break;
	}
	if (len >= size)
		len = size - 1;
	for (i = 0; i < len; i++)
		buf[i] = chars[below(sizeof(chars) - 1)];
	buf[len] = '\0';
}

/* A payload for attribute @type: mostly of the right shape. */
static void fuzz_attr(struct msg *m, int type, int depth);

static void fuzz_nest(struct msg *m, int type, int depth)
{
	int i, n = below(5);

	if (depth > 3 || m->len > BUF_SIZE - 4096) {
		put_attr(m, type, NULL, 0);
		return;
	}
	m->nest[m->depth++] = m->len;
	/* Sometimes without NLA_F_NESTED (the core must refuse it). */
	put_attr(m, below(8) ? (type | NLA_F_NESTED) : type, NULL, 0);
	for (i = 0; i < n; i++) {
		int t = below(4) ? VDISK_ATTR_SNAPSHOT : below(4) ? VDISK_ATTR_SNAP_ORIGIN :
			below(VDISK_ATTR_MAX + 4);

		if (type == VDISK_ATTR_SNAPSHOT)
			t = below(3) ? (below(2) ? VDISK_ATTR_SNAP_ORIGIN : VDISK_ATTR_VDISK_NAME) :
			    below(VDISK_ATTR_MAX + 4);
		fuzz_attr(m, t, depth + 1);
	}
	nest_end(m);
}

static void fuzz_attr(struct msg *m, int type, int depth)
{
	unsigned char junk[160];
	char name[VDISK_NAME_MAX + 8];
	unsigned int i, len;

	if (m->len > BUF_SIZE - 1024)
		return;
	switch (below(10) ? type : -1) {
	case VDISK_ATTR_POOL_NAME:
		if (below(3))
			put_str(m, type, fuzz_pool);
		else
			put_str(m, type, below(2) ? "no-such-pool" : "");
		return;
	case VDISK_ATTR_VDISK_NAME:
	case VDISK_ATTR_VDISK_NEW_NAME:
	case VDISK_ATTR_SNAP_ORIGIN:
		fuzz_name(name, sizeof(name));
		if (below(8))
			put_str(m, type, name);
		else
			put_attr(m, type, name, strlen(name));	/* no NUL */
		return;
	case VDISK_ATTR_VDISK_ID:
		put_u64(m, type, below(3) ? below(50) : below(2) ? UINT64_MAX : rnd());
		return;
	case VDISK_ATTR_VDISK_SIZE:
		put_u64(m, type, below(2) ? (uint64_t)(1 + below(64)) << 20 :
				 below(2) ? rnd() : below(2) ? 511 : 0);
		return;
	case VDISK_ATTR_VDISK_FLAGS:
		put_u32(m, type, below(2) ? VDISK_F_AUTO_ACTIVATE : (uint32_t)rnd());
		return;
	case VDISK_ATTR_METADATA_SNAP_OP:
		put_u8(m, type, below(4));
		return;
	case VDISK_ATTR_SNAPSHOTS:
	case VDISK_ATTR_SNAPSHOT:
	case VDISK_ATTR_STATS:
		fuzz_nest(m, type, depth);
		return;
	default:
		break;
	}
	/* Random type, length and bytes (sometimes a nest). */
	if (!below(6)) {
		fuzz_nest(m, below(VDISK_ATTR_MAX + 8), depth);
		return;
	}
	len = below(4) ? below(9) : below(sizeof(junk));
	for (i = 0; i < len; i++)
		junk[i] = rnd();
	put_attr(m, type < 0 ? below(0x7fff) : (unsigned int)type, junk, len);
}

struct fuzz_stats {
	unsigned long sent, ok, replies, errors[256], timeouts, bad, send_errors;
};

/* The attributes each command accepts (its policy), for valid-looking requests. */
static const int cmd_attrs[VDISK_CMD_MAX + 1][7] = {
	[VDISK_CMD_POOL_GET] = { VDISK_ATTR_POOL_NAME },
	[VDISK_CMD_VDISK_GET] = { VDISK_ATTR_POOL_NAME, VDISK_ATTR_VDISK_NAME, VDISK_ATTR_VDISK_ID },
	[VDISK_CMD_VDISK_NEW] = { VDISK_ATTR_POOL_NAME, VDISK_ATTR_VDISK_NAME, VDISK_ATTR_VDISK_SIZE,
				  VDISK_ATTR_VDISK_ID, VDISK_ATTR_VDISK_FLAGS },
	[VDISK_CMD_SNAPSHOT] = { VDISK_ATTR_POOL_NAME, VDISK_ATTR_SNAPSHOTS },
	[VDISK_CMD_VDISK_DEL] = { VDISK_ATTR_POOL_NAME, VDISK_ATTR_VDISK_NAME, VDISK_ATTR_VDISK_ID },
	[VDISK_CMD_VDISK_SET] = { VDISK_ATTR_POOL_NAME, VDISK_ATTR_VDISK_NAME, VDISK_ATTR_VDISK_ID,
				  VDISK_ATTR_VDISK_SIZE, VDISK_ATTR_VDISK_NEW_NAME,
				  VDISK_ATTR_VDISK_FLAGS },
	[VDISK_CMD_STATS_GET] = { VDISK_ATTR_POOL_NAME, VDISK_ATTR_VDISK_NAME, VDISK_ATTR_VDISK_ID },
	[VDISK_CMD_METADATA_SNAP] = { VDISK_ATTR_POOL_NAME, VDISK_ATTR_METADATA_SNAP_OP },
};

/*
 * A request that passes the policy: a real command with its own
 * attributes, mostly well-formed values (they still name missing vdisks,
 * taken names, bad sizes...), so the handlers' checks are exercised.
 */
static struct nlmsghdr *fuzz_valid(struct msg *m, uint8_t *cmd, uint16_t *flags)
{
	struct nlmsghdr *nlh;
	int i, j, n;

	*cmd = 1 + below(VDISK_CMD_MAX - 1);	/* not VDISK_CMD_EVENT */
	*flags = NLM_F_REQUEST | NLM_F_ACK;
	if (*cmd == VDISK_CMD_STATS_GET ||
	    ((*cmd == VDISK_CMD_POOL_GET || *cmd == VDISK_CMD_VDISK_GET) && below(2)))
		*flags |= NLM_F_DUMP;
	nlh = msg_start(m, family_id, *flags, *cmd, VDISK_GENL_VERSION);
	for (i = 0; i < 7 && cmd_attrs[*cmd][i]; i++) {
		int type = cmd_attrs[*cmd][i];

		if (type != VDISK_ATTR_POOL_NAME && below(3) == 0)
			continue;
		if (type == VDISK_ATTR_POOL_NAME && below(10) == 0)
			continue;
		if (type == VDISK_ATTR_SNAPSHOTS) {
			nest_start(m, VDISK_ATTR_SNAPSHOTS);
			n = 1 + below(4);
			for (j = 0; j < n; j++) {
				char name[16];

				nest_start(m, VDISK_ATTR_SNAPSHOT);
				snprintf(name, sizeof(name), "fz%u", below(40));
				put_str(m, VDISK_ATTR_SNAP_ORIGIN, name);
				snprintf(name, sizeof(name), "fz%u", below(40));
				put_str(m, VDISK_ATTR_VDISK_NAME, name);
				if (!below(3))
					put_u32(m, VDISK_ATTR_VDISK_FLAGS, VDISK_F_AUTO_ACTIVATE);
				nest_end(m);
			}
			nest_end(m);
			continue;
		}
		if (type == VDISK_ATTR_POOL_NAME) {
			put_str(m, type, below(8) ? fuzz_pool : "no-such-pool");
			continue;
		}
		if (type == VDISK_ATTR_VDISK_NAME || type == VDISK_ATTR_VDISK_NEW_NAME) {
			char name[16];

			snprintf(name, sizeof(name), "fz%u", below(40));
			put_str(m, type, name);
			continue;
		}
		fuzz_attr(m, type, 0);
	}
	return nlh;
}

static int fuzz_one(struct fuzz_stats *fs)
{
	static struct msg m;
	struct nlmsghdr *nlh;
	struct reply r;
	uint16_t flags = NLM_F_REQUEST | NLM_F_ACK;
	uint8_t cmd, version = VDISK_GENL_VERSION;
	int i, n, err;
	bool dump = false, expect_answer = true;

	if (below(5) < 2) {
		nlh = fuzz_valid(&m, &cmd, &flags);
		dump = flags & NLM_F_DUMP;
		goto send;
	}
	cmd = below(8) ? 1 + below(VDISK_CMD_MAX) : below(256);
	if (!below(12))
		version = below(256);
	if (!below(5)) {
		flags |= NLM_F_DUMP;
		dump = true;
	}
	if (!below(30))
		flags |= 1 << (4 + below(8));	/* reserved or conflicting bits */
	nlh = msg_start(&m, family_id, flags, cmd, version);
	if (!below(40))
		((struct genlmsghdr *)NLMSG_DATA(nlh))->reserved = rnd();
	n = below(7);
	for (i = 0; i < n; i++) {
		int type;

		if (below(4))	/* the attributes the command knows */
			type = (int[]){ VDISK_ATTR_POOL_NAME, VDISK_ATTR_VDISK_NAME,
					VDISK_ATTR_VDISK_ID, VDISK_ATTR_VDISK_SIZE,
					VDISK_ATTR_VDISK_FLAGS, VDISK_ATTR_SNAPSHOTS,
					VDISK_ATTR_VDISK_NEW_NAME,
					VDISK_ATTR_METADATA_SNAP_OP }[below(8)];
		else
			type = below(VDISK_ATTR_MAX + 6);
		fuzz_attr(&m, type, 0);
	}
	switch (below(25)) {
	case 0:		/* cut inside the genl header */
		m.len = NLMSG_HDRLEN + below(GENL_HDRLEN);
		break;
	case 1:		/* cut inside the attributes */
		if (m.len > NLMSG_HDRLEN + GENL_HDRLEN + 1)
			m.len -= 1 + below(m.len - NLMSG_HDRLEN - GENL_HDRLEN - 1);
		break;
	case 2:		/* an attribute claiming more than is there */
		if (m.len > NLMSG_HDRLEN + GENL_HDRLEN + NLA_HDRLEN)
			((struct nlattr *)(m.buf + NLMSG_HDRLEN + GENL_HDRLEN))->nla_len +=
				4 + below(200);
		break;
	case 3:		/* trailing garbage shorter than an attribute header */
		for (i = 0; i < 3; i++)
			m.buf[m.len++] = rnd();
		break;
	default:
		break;
	}
send:
	fs->sent++;
	err = msg_send(&m);
	if (err) {
		fs->send_errors++;
		return 0;
	}
	if (!expect_answer)
		return 0;
	err = recv_reply(nlh->nlmsg_seq, dump, &r, NULL, NULL);
	if (err == -ETIMEDOUT) {
		fs->timeouts++;
		printf("# message %lu (cmd %u, flags %#x, %zu bytes): no answer in %d s\n",
		       fs->sent, cmd, flags, m.len, REPLY_TIMEOUT_S);
		return -1;
	}
	if (err)
		die("recv: %s", strerror(-err));
	if (r.bad) {
		fs->bad++;
		printf("# message %lu (cmd %u): %s\n", fs->sent, cmd, r.why);
		return -1;
	}
	fs->replies += r.msgs;
	if (r.error)
		fs->errors[-r.error & 0xff]++;
	else
		fs->ok++;
	return 0;
}

static int do_fuzz(int argc, char **argv)
{
	struct fuzz_stats fs;
	unsigned long count = 3000, i;
	uint64_t seed = time(NULL);
	int e, failed = 0;

	for (i = 0; i < (unsigned long)argc; i++) {
		if (!strcmp(argv[i], "--seed") && i + 1 < (unsigned long)argc)
			seed = num(argv[++i]);
		else if (!strcmp(argv[i], "--count") && i + 1 < (unsigned long)argc)
			count = num(argv[++i]);
		else if (!strcmp(argv[i], "--pool") && i + 1 < (unsigned long)argc)
			fuzz_pool = argv[++i];
		else
			die("fuzz: unknown argument '%s'", argv[i]);
	}
	if (!fuzz_pool)
		die("fuzz: --pool NAME is needed");
	printf("# seed %" PRIu64 "\n", seed);
	rng_state = seed * 0x9e3779b97f4a7c15ULL + 1;
	memset(&fs, 0, sizeof(fs));
	for (i = 0; i < count; i++) {
		if (fuzz_one(&fs)) {
			failed = 1;
			break;
		}
	}
	printf("# sent %lu: %lu accepted, %lu reply messages, %lu send errors, %lu timeouts, %lu malformed\n",
	       fs.sent, fs.ok, fs.replies, fs.send_errors, fs.timeouts, fs.bad);
	for (e = 0; e < 256; e++)
		if (fs.errors[e])
			printf("#   %-16s %lu\n", strerrorname_np(e) ?: "?", fs.errors[e]);
	return failed;
}

/* ---------------- main ---------------- */

static void drop_privileges(void)
{
	if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
		die("cannot drop privileges: %s", strerror(errno));
	if (!setuid(0))
		die("still privileged after dropping");
}

int main(int argc, char **argv)
{
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--unpriv"))
			drop_privileges();
		else if (!strcmp(argv[i], "--version") && i + 1 < argc)
			genl_version = num(argv[++i]);
		else
			die("unknown option '%s' (see the comment at the top of vdisk-nlfuzz.c)",
			    argv[i]);
	}
	if (i >= argc)
		die("usage: vdisk-nlfuzz [--unpriv] [--version V] fuzz|req|listen ...");
	nl_open();
	resolve_family();
	if (!strcmp(argv[i], "fuzz"))
		return do_fuzz(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "req"))
		return do_req(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "listen"))
		return do_listen(argc - i - 1, argv + i + 1);
	die("unknown mode '%s'", argv[i]);
	return 2;
}
