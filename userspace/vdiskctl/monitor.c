// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl monitor: the kernel's event stream (multicast group "events"),
 * one line per event; --json one object per line.  Events carry a
 * per-module-load sequence number, so a gap shows a lost event (the socket
 * buffer overflowed).
 */
#include <getopt.h>
#include <string.h>

#include <netlink/attr.h>

#include "vdiskctl.h"

static const char *event_name(uint32_t e)
{
	switch (e) {
	case VDISK_EVENT_LOW_WATER:
		return "low_water";
	case VDISK_EVENT_POOL_MODE:
		return "pool_mode";
	case VDISK_EVENT_VDISK_CREATED:
		return "vdisk_created";
	case VDISK_EVENT_VDISK_DELETED:
		return "vdisk_deleted";
	case VDISK_EVENT_SPACE_RECLAIMED:
		return "space_reclaimed";
	case VDISK_EVENT_METADATA_LOW_WATER:
		return "metadata_low_water";
	default:
		return "unknown";
	}
}

struct mon {
	uint64_t count, seen;
};

static uint64_t u64_of(struct nlattr *a)
{
	return a && nla_len(a) >= 8 ? nla_get_u64(a) : 0;
}

static int on_event(struct nlattr **tb, uint8_t cmd, void *arg)
{
	struct mon *m = arg;
	uint32_t ev = tb[VDISK_ATTR_EVENT] && nla_len(tb[VDISK_ATTR_EVENT]) >= 4 ?
		      nla_get_u32(tb[VDISK_ATTR_EVENT]) : 0;
	char pool[VC_DM_NAME_MAX] = "", name[VDISK_NAME_MAX] = "", reason[64] = "";
	uint8_t mode = 0;

	if (cmd != VDISK_CMD_EVENT)
		return 0;
	if (tb[VDISK_ATTR_POOL_NAME])
		snprintf(pool, sizeof(pool), "%s", nla_get_string(tb[VDISK_ATTR_POOL_NAME]));
	if (tb[VDISK_ATTR_VDISK_NAME])
		snprintf(name, sizeof(name), "%s", nla_get_string(tb[VDISK_ATTR_VDISK_NAME]));
	if (tb[VDISK_ATTR_POOL_MODE_REASON])
		snprintf(reason, sizeof(reason), "%s",
			 nla_get_string(tb[VDISK_ATTR_POOL_MODE_REASON]));
	if (tb[VDISK_ATTR_POOL_MODE] && nla_len(tb[VDISK_ATTR_POOL_MODE]) >= 1)
		mode = nla_get_u8(tb[VDISK_ATTR_POOL_MODE]);

	if (vc_json_output) {
		struct vc_json j;

		vc_json_init(&j, stdout);
		vc_json_obj_begin(&j, NULL);
		vc_json_u64(&j, "seq", u64_of(tb[VDISK_ATTR_EVENT_SEQ]));
		vc_json_str(&j, "event", event_name(ev));
		vc_json_str(&j, "pool", pool);
		if (tb[VDISK_ATTR_VDISK_ID])
			vc_json_u64(&j, "id", u64_of(tb[VDISK_ATTR_VDISK_ID]));
		if (tb[VDISK_ATTR_VDISK_NAME])
			vc_json_str(&j, "name", name);
		if (tb[VDISK_ATTR_VDISK_ORIGIN_ID])
			vc_json_u64(&j, "origin_id", u64_of(tb[VDISK_ATTR_VDISK_ORIGIN_ID]));
		if (tb[VDISK_ATTR_POOL_MODE])
			vc_json_str(&j, "mode", vc_pool_mode_name(mode));
		if (tb[VDISK_ATTR_POOL_MODE_REASON])
			vc_json_str(&j, "reason", reason);
		if (tb[VDISK_ATTR_RECLAIMED_BLOCKS])
			vc_json_u64(&j, "reclaimed_blocks", u64_of(tb[VDISK_ATTR_RECLAIMED_BLOCKS]));
		if (tb[VDISK_ATTR_POOL_DATA_FREE])
			vc_json_u64(&j, "data_free_blocks", u64_of(tb[VDISK_ATTR_POOL_DATA_FREE]));
		vc_json_obj_end(&j);
	} else {
		printf("%llu %s pool=%s", (unsigned long long)u64_of(tb[VDISK_ATTR_EVENT_SEQ]),
		       event_name(ev), pool);
		if (tb[VDISK_ATTR_VDISK_NAME])
			printf(" name=%s", name);
		if (tb[VDISK_ATTR_VDISK_ID])
			printf(" id=%llu", (unsigned long long)u64_of(tb[VDISK_ATTR_VDISK_ID]));
		if (tb[VDISK_ATTR_VDISK_ORIGIN_ID])
			printf(" origin_id=%llu",
			       (unsigned long long)u64_of(tb[VDISK_ATTR_VDISK_ORIGIN_ID]));
		if (tb[VDISK_ATTR_POOL_MODE])
			printf(" mode=%s", vc_pool_mode_name(mode));
		if (tb[VDISK_ATTR_POOL_MODE_REASON] && reason[0])
			printf(" reason=%s", reason);
		if (tb[VDISK_ATTR_RECLAIMED_BLOCKS])
			printf(" reclaimed_blocks=%llu",
			       (unsigned long long)u64_of(tb[VDISK_ATTR_RECLAIMED_BLOCKS]));
		if (tb[VDISK_ATTR_POOL_DATA_FREE])
			printf(" data_free_blocks=%llu",
			       (unsigned long long)u64_of(tb[VDISK_ATTR_POOL_DATA_FREE]));
		if (tb[VDISK_ATTR_POOL_META_FREE])
			printf(" metadata_free_blocks=%llu",
			       (unsigned long long)u64_of(tb[VDISK_ATTR_POOL_META_FREE]));
		if (ev == VDISK_EVENT_LOW_WATER)
			printf(" (grow the data device or delete snapshots)");
		if (ev == VDISK_EVENT_METADATA_LOW_WATER)
			printf(" (grow the metadata device)");
		printf("\n");
		fflush(stdout);
	}
	m->seen++;
	return m->count && m->seen >= m->count;
}

static int count_opt(int opt, const char *arg, void *ctx)
{
	uint64_t *count = ctx;

	if (opt != 'c' || vc_parse_u64(arg, count) || !*count)
		return vc_usage_err("vdiskctl monitor [--count N] [--json]", "bad --count '%s'",
				    arg);
	return 0;
}

int vc_cmd_monitor(int argc, char **argv)
{
	static const char usage[] = "vdiskctl monitor [--count N] [--json]";
	static const char help[] =
		"Print the events of every pool as they happen, one line each:\n"
		"SEQ EVENT pool=POOL [name=... id=... origin_id=... mode=... reason=...\n"
		"reclaimed_blocks=... data_free_blocks=...].  Events: vdisk_created,\n"
		"vdisk_deleted, space_reclaimed, low_water, pool_mode.  --json prints\n"
		"one object per line.  --count N exits after N events.\n";
	static const struct option opts[] = {
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct mon m = { 0 };
	struct vc_nl *nl = NULL;
	int done, rc, r;

	rc = vc_getopt(argc, argv, usage, help, opts, count_opt, &m.count, &done);
	if (rc || done)
		return rc;
	if (optind != argc)
		return vc_usage_err(usage, "unexpected argument '%s'", argv[optind]);
	rc = vc_nl_open(&nl, true);
	if (rc)
		return rc;
	r = vc_nl_listen(nl, on_event, &m);
	if (r)
		rc = vc_nl_fail(nl, r, NULL, "cannot listen to the dm-vdisk events");
	vc_nl_close(nl);
	return rc;
}
