// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl: the generic netlink client of the "vdisk" family, over libnl-3
 * and libnl-genl-3.  One request at a time on one socket; replies are handed
 * to a callback as parsed top-level attributes.  The kernel's extended ack
 * message (extack) is kept so that errors can quote it.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <linux/genetlink.h>
#include <linux/netlink.h>
#include <netlink/genl/ctrl.h>
#include <netlink/genl/family.h>
#include <netlink/genl/genl.h>
#include <netlink/netlink.h>

#include "vdiskctl.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

struct vc_nl {
	struct nl_sock *sk;
	int family;
	uint32_t version;
	char extack[256];
};

/* State of one request while its replies arrive. */
struct call {
	struct vc_nl *nl;
	vc_nl_fn fn;
	void *arg;
	int err;
	int done;
};

uint32_t vc_nl_family_version(struct vc_nl *nl)
{
	return nl ? nl->version : 0;
}

const char *vc_nl_extack(struct vc_nl *nl)
{
	return nl->extack;
}

int vc_nl_open(struct vc_nl **nlp, bool check_version)
{
	struct genl_family *fam = NULL;
	struct nl_cache *cache = NULL;
	struct vc_nl *nl;
	int one = 1;

	*nlp = NULL;
	nl = calloc(1, sizeof(*nl));
	if (!nl)
		return VC_EXIT_ERR;
	nl->sk = nl_socket_alloc();
	if (!nl->sk || genl_connect(nl->sk)) {
		vc_err("cannot open a generic netlink socket");
		goto fail;
	}
	/* Best effort: without extack the errors are only less precise. */
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
	setsockopt(nl_socket_get_fd(nl->sk), SOL_NETLINK, NETLINK_CAP_ACK, &one, sizeof(one));
	if (genl_ctrl_alloc_cache(nl->sk, &cache) == 0)
		fam = genl_ctrl_search_by_name(cache, VDISK_GENL_NAME);
	if (!fam) {
		vc_err("the dm-vdisk module is not loaded, or it has no netlink interface");
		vc_hint("load it with 'modprobe dm-vdisk' (as root)");
		goto fail;
	}
	nl->family = genl_family_get_id(fam);
	nl->version = genl_family_get_version(fam);
	genl_family_put(fam);
	nl_cache_free(cache);
	cache = NULL;
	if (check_version && nl->version != VDISK_GENL_VERSION) {
		vc_err("version mismatch: this vdiskctl speaks netlink API version %d, "
		       "the loaded dm-vdisk module speaks version %u",
		       VDISK_GENL_VERSION, nl->version);
		vc_hint("install the vdiskctl built with that module ('make install'), "
			"or load the matching module");
		goto fail;
	}
	*nlp = nl;
	return VC_EXIT_OK;
fail:
	if (cache)
		nl_cache_free(cache);
	if (nl->sk)
		nl_socket_free(nl->sk);
	free(nl);
	return VC_EXIT_ERR;
}

void vc_nl_close(struct vc_nl *nl)
{
	if (!nl)
		return;
	nl_socket_free(nl->sk);
	free(nl);
}

struct nl_msg *vc_nl_new(struct vc_nl *nl, uint8_t cmd, bool dump)
{
	struct nl_msg *msg = nlmsg_alloc();

	if (!msg)
		return NULL;
	if (!genlmsg_put(msg, NL_AUTO_PORT, NL_AUTO_SEQ, nl->family, 0,
			 dump ? NLM_F_DUMP : 0, cmd, VDISK_GENL_VERSION)) {
		nlmsg_free(msg);
		return NULL;
	}
	return msg;
}

/* The extack TLVs after an error (or a dump's DONE status). */
static void keep_extack(struct vc_nl *nl, struct nlmsghdr *nlh, void *tlvs)
{
	struct nlattr *tb[NLMSGERR_ATTR_MAX + 1];
	int len = (int)((char *)nlh + nlh->nlmsg_len - (char *)tlvs);

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS) || len <= 0)
		return;
	if (nla_parse(tb, NLMSGERR_ATTR_MAX, tlvs, len, NULL))
		return;
	if (tb[NLMSGERR_ATTR_MSG])
		snprintf(nl->extack, sizeof(nl->extack), "%s",
			 nla_get_string(tb[NLMSGERR_ATTR_MSG]));
}

static int on_error(struct sockaddr_nl *who, struct nlmsgerr *e, void *arg)
{
	struct call *c = arg;
	struct nlmsghdr *nlh = (struct nlmsghdr *)((char *)e - NLMSG_HDRLEN);
	size_t off = sizeof(*e);

	(void)who;
	/* Without NLM_F_CAPPED the whole request is echoed before the TLVs. */
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - NLMSG_HDRLEN;
	keep_extack(c->nl, nlh, (char *)e + NLMSG_ALIGN(off));
	c->err = e->error ? e->error : -EIO;
	c->done = 1;
	return NL_STOP;
}

static int on_ack(struct nl_msg *msg, void *arg)
{
	struct call *c = arg;

	(void)msg;
	c->done = 1;
	return NL_STOP;
}

static int on_finish(struct nl_msg *msg, void *arg)
{
	struct call *c = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);

	/* A dump that failed part way says so in its DONE message. */
	if (nlh->nlmsg_len >= NLMSG_HDRLEN + sizeof(int)) {
		int status = *(int *)nlmsg_data(nlh);

		if (status < 0) {
			keep_extack(c->nl, nlh, (char *)nlmsg_data(nlh) + NLMSG_ALIGN(sizeof(int)));
			c->err = status;
		}
	}
	c->done = 1;
	return NL_STOP;
}

static int on_valid(struct nl_msg *msg, void *arg)
{
	struct call *c = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[VDISK_ATTR_MAX + 1];

	/* Unknown attributes (newer module) are ignored by the parse. */
	if (genlmsg_parse(nlh, 0, tb, VDISK_ATTR_MAX, NULL))
		return NL_SKIP;
	if (c->fn && c->fn(tb, gh->cmd, c->arg)) {
		c->err = -ECANCELED;
		return NL_STOP;
	}
	return NL_OK;
}

static struct nl_cb *make_cb(struct call *c)
{
	struct nl_cb *cb = nl_cb_alloc(NL_CB_DEFAULT);

	if (!cb)
		return NULL;
	nl_cb_set(cb, NL_CB_VALID, NL_CB_CUSTOM, on_valid, c);
	nl_cb_set(cb, NL_CB_ACK, NL_CB_CUSTOM, on_ack, c);
	nl_cb_set(cb, NL_CB_FINISH, NL_CB_CUSTOM, on_finish, c);
	nl_cb_err(cb, NL_CB_CUSTOM, on_error, c);
	return cb;
}

int vc_nl_call(struct vc_nl *nl, struct nl_msg *msg, vc_nl_fn fn, void *arg)
{
	struct call c = { .nl = nl, .fn = fn, .arg = arg };
	struct nl_cb *cb;
	int r;

	nl->extack[0] = 0;
	if (!msg)
		return -ENOMEM;
	cb = make_cb(&c);
	if (!cb) {
		nlmsg_free(msg);
		return -ENOMEM;
	}
	r = nl_send_auto(nl->sk, msg);
	nlmsg_free(msg);
	if (r < 0) {
		nl_cb_put(cb);
		return -EIO;
	}
	while (!c.done) {
		r = nl_recvmsgs(nl->sk, cb);
		if (r < 0 && !c.err) {
			/* NLE_PERM and friends when the error came as a libnl code. */
			c.err = r == -NLE_PERM ? -EPERM : -EIO;
			break;
		}
		if (c.err)
			break;
	}
	nl_cb_put(cb);
	return c.err;
}

int vc_nl_fail(struct vc_nl *nl, int err, const char *pool, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	if (err == -EPERM || err == -EACCES)
		return vc_perm_denied();
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	vc_err("%s: %s", what, nl && nl->extack[0] ? nl->extack : strerror(-err));
	switch (-err) {
	case ENOSPC:
		if (pool)
			vc_hint("pool '%s' is out of data space: grow the data device or delete snapshots",
				pool);
		break;
	case ENODEV:
		if (pool)
			vc_hint("is pool '%s' active? 'vdiskctl pool list' shows the pools, "
				"'vdiskctl pool activate %s' starts it", pool, pool);
		break;
	case ENOENT:
		if (pool)
			vc_hint("'vdiskctl list %s' shows the vdisks of pool '%s'", pool, pool);
		break;
	case EEXIST:
		if (pool)
			vc_hint("choose another name ('vdiskctl list %s' shows the names in use)",
				pool);
		break;
	case EROFS:
		if (pool)
			vc_hint("pool '%s' is read-only: 'vdiskctl pool status %s' says why", pool, pool);
		break;
	case EPROTONOSUPPORT:
		vc_hint("vdiskctl and the dm-vdisk module speak different API versions: "
			"install matching versions");
		break;
	default:
		break;
	}
	return VC_EXIT_ERR;
}

struct listen {
	vc_nl_fn fn;
	void *arg;
	int stop;
};

static int on_event(struct nl_msg *msg, void *arg)
{
	struct listen *l = arg;
	struct nlmsghdr *nlh = nlmsg_hdr(msg);
	struct genlmsghdr *gh = nlmsg_data(nlh);
	struct nlattr *tb[VDISK_ATTR_MAX + 1];

	if (genlmsg_parse(nlh, 0, tb, VDISK_ATTR_MAX, NULL))
		return NL_SKIP;
	if (l->fn(tb, gh->cmd, l->arg)) {
		l->stop = 1;
		return NL_STOP;
	}
	return NL_OK;
}

int vc_nl_listen(struct vc_nl *nl, vc_nl_fn fn, void *arg)
{
	struct listen l = { .fn = fn, .arg = arg };
	int grp, r;

	grp = genl_ctrl_resolve_grp(nl->sk, VDISK_GENL_NAME, VDISK_GENL_MCGRP_EVENTS);
	if (grp < 0)
		return -ENOENT;
	nl_socket_disable_seq_check(nl->sk);
	r = nl_socket_add_membership(nl->sk, grp);
	if (r < 0)
		return r == -NLE_PERM ? -EPERM : -EIO;
	nl_socket_modify_cb(nl->sk, NL_CB_VALID, NL_CB_CUSTOM, on_event, &l);
	while (!l.stop) {
		r = nl_recvmsgs_default(nl->sk);
		/* A burst larger than the socket buffer is lost, not fatal. */
		if (r == -NLE_NOMEM || r == -NLE_MSG_OVERFLOW)
			continue;
		if (r < 0)
			return -EIO;
	}
	return 0;
}
