// SPDX-License-Identifier: GPL-2.0
/*
 * vdiskctl stats [POOL [VDISK]] [--watch [SECONDS]]: per-VM I/O, like
 * iostat.  Without --watch: the counters since each vdisk's table was
 * loaded.  With --watch: every SECONDS, the rates over the interval (IOPS,
 * MB/s), the bios in flight and the p50/p99 latencies of the interval from
 * the difference of the log2 latency histograms (upper bucket edges, so a
 * p99 of 2ms means "under 2 ms").
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "vdiskctl.h"

struct stats_opts {
	const char *usage;
	uint64_t interval, count;
	bool watch;
};

static int stats_opt(int opt, const char *arg, void *ctx)
{
	struct stats_opts *o = ctx;

	switch (opt) {
	case 'w':
		o->watch = true;
		if (arg && (vc_parse_u64(arg, &o->interval) || !o->interval || o->interval > 86400))
			return vc_usage_err(o->usage, "bad --watch interval '%s': 1..86400 seconds",
					    arg);
		return 0;
	case 'c':
		if (vc_parse_u64(arg, &o->count) || !o->count)
			return vc_usage_err(o->usage, "bad --count '%s'", arg);
		return 0;
	}
	return VC_EXIT_USAGE;
}

static char *fmt_lat(uint64_t us, char *buf, size_t len)
{
	if (!us)
		snprintf(buf, len, "-");
	else if (us < 1000)
		snprintf(buf, len, "%lluus", (unsigned long long)us);
	else if (us < 1000000)
		snprintf(buf, len, "%llums", (unsigned long long)(us / 1000));
	else
		snprintf(buf, len, "%llus", (unsigned long long)(us / 1000000));
	return buf;
}

static const struct vc_stats *find_prev(const struct vc_stats *prev, size_t n,
					const struct vc_stats *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (prev[i].id == s->id && !strcmp(prev[i].pool, s->pool))
			return &prev[i];
	return NULL;
}

static uint64_t delta(uint64_t now, uint64_t then)
{
	return now >= then ? now - then : now;	/* a reloaded table restarts at 0 */
}

/* @d holds the interval's differences (or the totals when @secs is 0). */
static void print_one(struct vc_json *j, const struct vc_stats *s, const struct vc_stats *d,
		      double secs)
{
	uint64_t rp50 = vc_hist_quantile(d->read_lat, VDISK_LAT_BUCKETS, 0.5);
	uint64_t rp99 = vc_hist_quantile(d->read_lat, VDISK_LAT_BUCKETS, 0.99);
	uint64_t wp50 = vc_hist_quantile(d->write_lat, VDISK_LAT_BUCKETS, 0.5);
	uint64_t wp99 = vc_hist_quantile(d->write_lat, VDISK_LAT_BUCKETS, 0.99);
	char name[160], a[16], b[16], c[16], e[16], x[32], y[32];

	if (j) {
		vc_json_obj_begin(j, NULL);
		vc_json_str(j, "pool", s->pool);
		vc_json_str(j, "name", s->name);
		vc_json_u64(j, "id", s->id);
		vc_json_u64(j, "reads", d->reads);
		vc_json_u64(j, "writes", d->writes);
		vc_json_u64(j, "read_bytes", d->read_bytes);
		vc_json_u64(j, "write_bytes", d->write_bytes);
		vc_json_u64(j, "discards", d->discards);
		vc_json_u64(j, "flushes", d->flushes);
		vc_json_u64(j, "in_flight", s->in_flight);
		if (secs > 0) {
			vc_json_double(j, "read_iops", d->reads / secs);
			vc_json_double(j, "write_iops", d->writes / secs);
			vc_json_double(j, "read_bytes_per_sec", d->read_bytes / secs);
			vc_json_double(j, "write_bytes_per_sec", d->write_bytes / secs);
		}
		vc_json_u64(j, "read_p50_us", rp50);
		vc_json_u64(j, "read_p99_us", rp99);
		vc_json_u64(j, "write_p50_us", wp50);
		vc_json_u64(j, "write_p99_us", wp99);
		vc_json_obj_end(j);
		return;
	}
	snprintf(name, sizeof(name), "%s/%s", s->pool, s->name[0] ? s->name : "?");
	if (secs > 0)
		printf("%-28s %9.1f %9.1f %9.2f %9.2f %6llu %6s %6s %6s %6s\n", name,
		       d->reads / secs, d->writes / secs, d->read_bytes / secs / 1048576.0,
		       d->write_bytes / secs / 1048576.0, (unsigned long long)s->in_flight,
		       fmt_lat(rp50, a, sizeof(a)), fmt_lat(rp99, b, sizeof(b)),
		       fmt_lat(wp50, c, sizeof(c)), fmt_lat(wp99, e, sizeof(e)));
	else
		printf("%-28s %9llu %9llu %9s %9s %6llu %6s %6s %6s %6s\n", name,
		       (unsigned long long)d->reads, (unsigned long long)d->writes,
		       vc_format_size(d->read_bytes, x, sizeof(x)),
		       vc_format_size(d->write_bytes, y, sizeof(y)),
		       (unsigned long long)s->in_flight,
		       fmt_lat(rp50, a, sizeof(a)), fmt_lat(rp99, b, sizeof(b)),
		       fmt_lat(wp50, c, sizeof(c)), fmt_lat(wp99, e, sizeof(e)));
}

static void print_sample(const struct vc_stats *s, size_t n, const struct vc_stats *prev,
			 size_t nprev, double secs)
{
	struct vc_json j, *jp = NULL;
	size_t i;
	int b;

	if (vc_json_output) {
		vc_json_init(&j, stdout);
		jp = &j;
		vc_json_obj_begin(jp, NULL);
		if (secs > 0)
			vc_json_double(jp, "interval", secs);
		else
			vc_json_null(jp, "interval");
		vc_json_arr_begin(jp, "vdisks");
	} else if (secs > 0) {
		printf("%-28s %9s %9s %9s %9s %6s %6s %6s %6s %6s\n", "POOL/VDISK", "r/s", "w/s",
		       "rMB/s", "wMB/s", "inflt", "r_p50", "r_p99", "w_p50", "w_p99");
	} else {
		printf("%-28s %9s %9s %9s %9s %6s %6s %6s %6s %6s\n", "POOL/VDISK", "reads",
		       "writes", "read", "written", "inflt", "r_p50", "r_p99", "w_p50", "w_p99");
	}
	for (i = 0; i < n; i++) {
		const struct vc_stats *p = prev ? find_prev(prev, nprev, &s[i]) : NULL;
		struct vc_stats d = s[i];

		if (secs > 0) {
			d.reads = delta(s[i].reads, p ? p->reads : 0);
			d.writes = delta(s[i].writes, p ? p->writes : 0);
			d.read_bytes = delta(s[i].read_bytes, p ? p->read_bytes : 0);
			d.write_bytes = delta(s[i].write_bytes, p ? p->write_bytes : 0);
			d.discards = delta(s[i].discards, p ? p->discards : 0);
			d.flushes = delta(s[i].flushes, p ? p->flushes : 0);
			for (b = 0; b < VDISK_LAT_BUCKETS; b++) {
				d.read_lat[b] = delta(s[i].read_lat[b], p ? p->read_lat[b] : 0);
				d.write_lat[b] = delta(s[i].write_lat[b], p ? p->write_lat[b] : 0);
			}
		}
		print_one(jp, &s[i], &d, secs);
	}
	if (jp) {
		vc_json_arr_end(jp);
		vc_json_obj_end(jp);
	} else if (secs > 0) {
		printf("\n");
	}
	fflush(stdout);
}

static double now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int vc_cmd_stats(int argc, char **argv)
{
	static const char usage[] =
		"vdiskctl stats [POOL [VDISK]] [--watch [SECONDS]] [--count N] [--json]";
	static const char help[] =
		"Per-vdisk I/O of the active vdisks (of POOL, of VDISK).\n"
		"Without --watch: counters since each vdisk was activated.  With --watch:\n"
		"every SECONDS (default 1) the rates of the interval: r/s, w/s, rMB/s,\n"
		"wMB/s, bios in flight, and p50/p99 read and write latency (the upper\n"
		"edge of the log2 histogram bucket).  --count N stops after N intervals.\n";
	static const struct option opts[] = {
		{ "watch", optional_argument, NULL, 'w' },
		{ "count", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 }
	};
	struct stats_opts o = { .usage = usage, .interval = 1 };
	struct vc_stats *s = NULL, *prev = NULL;
	const char *pool = NULL, *vdisk = NULL;
	char **av, wbuf[64];
	struct vc_nl *nl = NULL;
	size_t n = 0, nprev = 0;
	uint64_t rounds = 0;
	double t0, t1;
	int done, rc, r, i, k;

	/* "--watch 5": take a number after --watch as its value. */
	av = calloc(argc + 1, sizeof(*av));
	if (!av)
		return VC_EXIT_ERR;
	for (i = 0, k = 0; i < argc; i++) {
		uint64_t v;

		if ((!strcmp(argv[i], "--watch") || !strcmp(argv[i], "-w")) && i + 1 < argc &&
		    !vc_parse_u64(argv[i + 1], &v)) {
			snprintf(wbuf, sizeof(wbuf), "--watch=%s", argv[i + 1]);
			av[k++] = wbuf;
			i++;
			continue;
		}
		av[k++] = argv[i];
	}
	rc = vc_getopt(k, av, usage, help, opts, stats_opt, &o, &done);
	if (rc || done)
		goto out;
	if (k - optind > 2) {
		rc = vc_usage_err(usage, "unexpected argument '%s'", av[optind + 2]);
		goto out;
	}
	if (k - optind >= 1)
		pool = av[optind];
	if (k - optind == 2)
		vdisk = av[optind + 1];
	rc = vc_nl_open(&nl, true);
	if (rc)
		goto out;
	r = vc_get_stats(nl, pool, vdisk, &s, &n);
	if (r) {
		rc = vc_nl_fail(nl, r, pool, "cannot read the statistics");
		goto out;
	}
	if (vdisk && !n) {
		vc_err("vdisk '%s' of pool '%s' is not active (or does not exist)", vdisk, pool);
		rc = VC_EXIT_ERR;
		goto out;
	}
	if (!o.watch) {
		print_sample(s, n, NULL, 0, 0);
		goto out;
	}
	t0 = now_sec();
	for (;;) {
		free(prev);
		prev = s;
		nprev = n;
		s = NULL;
		sleep((unsigned int)o.interval);
		t1 = now_sec();
		r = vc_get_stats(nl, pool, vdisk, &s, &n);
		if (r) {
			rc = vc_nl_fail(nl, r, pool, "cannot read the statistics");
			goto out;
		}
		print_sample(s, n, prev, nprev, t1 - t0 > 0 ? t1 - t0 : 1e-9);
		t0 = t1;
		if (o.count && ++rounds >= o.count)
			break;
	}
out:
	free(prev);
	free(s);
	free(av);
	vc_nl_close(nl);
	return rc;
}
